"""The processes the chaos orchestrator starts (and kills): workers and producers.

``chaos_roles.py worker --url URL --effects PATH --mode remote|embedded --concurrency N``
    Runs ``chaos:work`` jobs through the Python SDK on ``URL`` (``grpc://`` for a sidecar, a
    ``postgres://`` URL to embed the engine). The handler appends a start line to the side-effect
    log, sleeps for the job's ``sleep_ms``, fails deliberately on attempt 1 when the job says
    ``fail_first``, appends a finish line and returns ``{"job", "attempt", "pid"}``: the result
    names the attempt (and process) it ran as, so the verifier can tell a completion from a
    stale attempt. It exits 3 if the SDK's worker loop ever stops on its own (a worker must
    survive a sidecar restart), 0 on SIGTERM after a graceful stop.

``chaos_roles.py producer --url URL --log PATH --name NAME --rate R --until EPOCH_S --seed S``
    Enqueues ``chaos:work`` jobs at about ``R`` per second until ``EPOCH_S``. Each job has a
    unique idempotency key; an enqueue that fails (the sidecar is being killed) is retried with
    the same key until it returns, so a commit whose reply was lost is found again rather than
    duplicated. Only then is the ``E`` line written: every line is a job that exists for sure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from typing import Any, Dict, List

import reseolio
from reseolio import ReseolioError
from reseolio.errors import InvalidArgumentError

from chaos_common import FUNCTION, append_line, open_append

# Retries with a small backoff and a short per-attempt lease, so that work lost to a SIGKILL
# comes back within seconds: a killed embedded worker is found dead by pid at the next
# maintenance pass (~1 s), a killed sidecar's jobs are rescued by its successor's first pass,
# and a killed remote worker's jobs wait for their lease (timeout) to lapse.
JOB_OPTIONS: Dict[str, Any] = {
    "max_attempts": 100,
    "backoff": "exponential",
    "initial_delay": 0.1,
    "max_delay": 1.0,
    "jitter": 0.2,
    "timeout": 3.0,
}


async def run_worker(url: str, effects: str, mode: str, concurrency: int) -> int:
    fd = open_append(effects)
    pid = os.getpid()
    r = reseolio.Reseolio(url, concurrency=concurrency, shutdown_grace=1.0)

    @r.durable(FUNCTION, **JOB_OPTIONS)
    async def work(sleep_ms: int, fail_first: bool) -> Dict[str, Any]:
        ctx = reseolio.current_job()
        assert ctx is not None
        append_line(fd, f"S {ctx.job_id} {ctx.attempt} {pid} {time.time_ns()} {mode}")
        await asyncio.sleep(sleep_ms / 1000.0)
        if fail_first and ctx.attempt == 1:
            append_line(fd, f"F {ctx.job_id} {ctx.attempt} {pid} {time.time_ns()} {mode} raised")
            raise RuntimeError("deliberate failure of attempt 1")
        append_line(fd, f"F {ctx.job_id} {ctx.attempt} {pid} {time.time_ns()} {mode} ok")
        return {"job": ctx.job_id, "attempt": ctx.attempt, "pid": pid}

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await r.start()
    print(f"worker {pid} ({mode}) started on {url}", flush=True)
    code = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except asyncio.TimeoutError:
            pass
        task = r._loop_task
        if task is not None and task.done():
            print(f"worker {pid}: the SDK worker loop stopped on its own", flush=True)
            code = 3
            break
    await r.close()
    return code


async def run_producer(url: str, log: str, name: str, rate: float, until: float, seed: int) -> int:
    fd = open_append(log)
    rng = random.Random(seed)
    r = reseolio.Reseolio(url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    seq = 0
    retries = 0
    period = 1.0 / rate
    next_at = time.monotonic()
    while time.time() < until and not stop.is_set():
        seq += 1
        key = f"{name}-{seq}"
        args: List[Any] = [rng.randint(20, 300), rng.random() < 0.1]
        while True:
            try:
                h = await r.enqueue(FUNCTION, *args, idempotency_key=key, **JOB_OPTIONS)
                break
            except InvalidArgumentError:
                raise
            except ReseolioError as e:
                # The sidecar is down or restarting: the same key again finds a committed job.
                retries += 1
                if retries % 20 == 1:
                    print(f"producer {name}: enqueue of {key} failed ({type(e).__name__}); retrying", flush=True)
                await asyncio.sleep(0.2)
        append_line(fd, f"E {h.job_id} {key} {1 if h.deduplicated else 0} {time.time_ns()} {name}")
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            next_at = time.monotonic()
    print(f"producer {name}: {seq} jobs enqueued, {retries} failed calls retried", flush=True)
    await r.close()
    return 0


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--url", required=True)
    w.add_argument("--effects", required=True)
    w.add_argument("--mode", choices=["remote", "embedded"], required=True)
    w.add_argument("--concurrency", type=int, default=4)
    pr = sub.add_parser("producer")
    pr.add_argument("--url", required=True)
    pr.add_argument("--log", required=True)
    pr.add_argument("--name", required=True)
    pr.add_argument("--rate", type=float, default=10.0)
    pr.add_argument("--until", type=float, required=True)
    pr.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.role == "worker":
        return asyncio.run(run_worker(a.url, a.effects, a.mode, a.concurrency))
    return asyncio.run(run_producer(a.url, a.log, a.name, a.rate, a.until, a.seed))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
