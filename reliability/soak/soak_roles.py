"""The processes of the soak test: workers and the producer.

``soak_roles.py worker --url URL [--leak]``
    Runs the soak functions through the Python SDK on ``URL`` (``grpc://`` for the sidecar, a
    storage URL to embed the engine): ``soak:ok`` (returns its input), ``soak:flaky`` (fails its
    first attempt, then succeeds), ``soak:idem`` (enqueued with recurring idempotency keys),
    ``soak:delayed`` (enqueued with a delay) and ``soak:tick`` (a cron schedule's job). ``--leak``
    makes the handlers leak memory and descriptors on purpose, to show that the soak rule fails.

``soak_roles.py producer --url URL --rate R --until EPOCH_S --stats PATH``
    Declares the cron schedule, then enqueues the mix at about ``R`` jobs per second until
    ``EPOCH_S`` and awaits every result (at most 500 outstanding awaits); then writes one JSON
    object of counts to ``PATH``: enqueued per kind, deduplicated enqueues, results ok, results
    failed, results wrong, await timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from typing import Any, Dict, List, Set

import reseolio

CRON = "*/2 * * * * *"  # every 2 seconds (6 fields, seconds first)
FAST: Dict[str, Any] = {"max_attempts": 5, "backoff": "fixed", "initial_delay": 0.2, "timeout": 10.0}


def _register(r: reseolio.Reseolio, leak: bool) -> None:
    hoard: List[bytes] = []
    fds: List[int] = []

    def maybe_leak() -> None:
        if leak:
            hoard.append(os.urandom(64 * 1024))
            if len(hoard) % 5 == 0:
                fds.append(os.open("/dev/null", os.O_RDONLY))

    @r.durable("soak:ok", **FAST)
    async def ok(n: int, pad: str) -> int:
        maybe_leak()
        await asyncio.sleep(random.uniform(0.002, 0.03))
        return n

    @r.durable("soak:flaky", **FAST)
    async def flaky(n: int) -> int:
        ctx = reseolio.current_job()
        maybe_leak()
        if ctx is not None and ctx.attempt == 1:
            raise RuntimeError("first attempt fails on purpose")
        return n

    @r.durable("soak:idem", **FAST)
    async def idem(key: str) -> str:
        maybe_leak()
        return key

    @r.durable("soak:delayed", **FAST)
    async def delayed(n: int) -> int:
        maybe_leak()
        return n

    @r.durable("soak:tick", **FAST)
    async def tick() -> str:
        maybe_leak()
        return "tick"


async def run_worker(url: str, leak: bool, concurrency: int) -> int:
    r = reseolio.Reseolio(url, concurrency=concurrency, shutdown_grace=2.0)
    _register(r, leak)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await r.start()
    print(f"soak worker {os.getpid()} on {url}", flush=True)
    await stop.wait()
    await r.close()
    return 0


async def run_producer(url: str, rate: float, until: float, stats_path: str, seed: int) -> int:
    rng = random.Random(seed)
    r = reseolio.Reseolio(url)
    await r.schedule("soak:tick", CRON, name="soak-tick", missed="skip", overlap="allow", **{
        k: v for k, v in FAST.items()
    })
    counts: Dict[str, int] = {
        "enqueued": 0, "ok": 0, "flaky": 0, "idem": 0, "delayed": 0, "deduplicated": 0,
        "results_ok": 0, "results_failed": 0, "results_wrong": 0, "await_timeouts": 0,
    }
    pending: Set["asyncio.Task[None]"] = set()
    sem = asyncio.Semaphore(500)

    async def await_result(h: reseolio.JobHandle[Any], expect: Any) -> None:
        try:
            v = await h.result(timeout=60)
            counts["results_ok" if v == expect else "results_wrong"] += 1
        except reseolio.TimeoutError:
            counts["await_timeouts"] += 1
        except reseolio.JobFailedError:
            counts["results_failed"] += 1
        finally:
            sem.release()

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    period = 1.0 / rate
    next_at = time.monotonic()
    seq = 0
    while time.time() < until and not stop.is_set():
        seq += 1
        x = rng.random()
        expect: Any
        if x < 0.7:
            kind = "ok"
            h = await r.enqueue("soak:ok", seq, "x" * rng.randint(0, 2000), **FAST)
            expect = seq
        elif x < 0.8:
            kind = "flaky"
            h = await r.enqueue("soak:flaky", seq, **FAST)
            expect = seq
        elif x < 0.9:
            kind = "idem"
            key = f"k{rng.randrange(20)}-{seq // 400}"  # keys recur for a while, then move on
            h = await r.enqueue("soak:idem", key, idempotency_key=key, **FAST)
            expect = key
        else:
            kind = "delayed"
            h = await r.enqueue("soak:delayed", seq, delay=rng.uniform(0.5, 3.0), **FAST)
            expect = seq
        counts["enqueued"] += 1
        counts[kind] += 1
        counts["deduplicated"] += 1 if h.deduplicated else 0
        await sem.acquire()
        t = asyncio.ensure_future(await_result(h, expect))
        pending.add(t)
        t.add_done_callback(pending.discard)
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            next_at = time.monotonic()
    if pending:
        await asyncio.wait(set(pending))
    _, counts["ticks_succeeded"] = await r.list_jobs(statuses=["SUCCESS"], names=["soak:tick"], limit=1)
    try:
        await r.delete_schedule("soak-tick")
    except reseolio.ReseolioError:
        pass
    with open(stats_path, "w") as f:
        json.dump(counts, f)
    print(f"soak producer: {json.dumps(counts)}", flush=True)
    await r.close()
    return 0


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--url", required=True)
    w.add_argument("--leak", action="store_true")
    w.add_argument("--concurrency", type=int, default=8)
    pr = sub.add_parser("producer")
    pr.add_argument("--url", required=True)
    pr.add_argument("--rate", type=float, default=20.0)
    pr.add_argument("--until", type=float, required=True)
    pr.add_argument("--stats", required=True)
    pr.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.role == "worker":
        return asyncio.run(run_worker(a.url, a.leak, a.concurrency))
    return asyncio.run(run_producer(a.url, a.rate, a.until, a.stats, a.seed))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
