"""A worker process for the durable-step crash tests (test_steps.py): it runs the functions below
until it is killed. Usage: python steps_app.py URL LOG. Every step appends its name to LOG, so
that the test counts how often each one ran. With STEPS_BLOCK=1, ``steps:three`` blocks after its
second step (having touched LOG.after-two) for the test to SIGKILL the process there. The test
enqueues the jobs, with their options."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import time
from typing import Dict, List

from reseolio import Reseolio, current_job


def append(log: str, line: str) -> str:
    with open(log, "a") as f:
        f.write(line + "\n")
    return line


def main() -> None:
    url, log = sys.argv[1], sys.argv[2]
    block = os.environ.get("STEPS_BLOCK") == "1"
    r = Reseolio(url, poll_interval=0.05)

    @r.durable("steps:three")
    async def three() -> List[str]:
        ctx = current_job()
        assert ctx is not None
        one = await ctx.step("one", append, log, "one")
        two = await ctx.step("two", append, log, "two")
        if block:
            pathlib.Path(log + ".after-two").touch()
            await asyncio.sleep(3600)
        return [one, two, await ctx.step("three", append, log, "three")]

    @r.durable("steps:nap")
    async def nap(seconds: float) -> Dict[str, int]:
        ctx = current_job()
        assert ctx is not None
        await ctx.step("before", append, log, "before")
        await ctx.sleep(seconds)
        return {"resumed_at": int(time.time() * 1000)}

    print("ready", flush=True)
    r.run()


if __name__ == "__main__":
    main()
