"""The Python benchmark: the engine workloads through the Python package, embedded SQLite in the
default durability mode. Prints one JSON line per figure (run by ci/bench, which compares them
with the Rust figures of the same run). RESEOLIO_BENCH_SCALE shrinks the counts."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from typing import List

from reseolio import JobContext, Reseolio

SCALE = float(os.environ.get("RESEOLIO_BENCH_SCALE", "1"))
CORES = os.cpu_count() or 1


def n(count: int) -> int:
    return max(10, int(count * SCALE))


def emit(figure: str, value: float, unit: str) -> None:
    print(json.dumps({"figure": figure, "transport": "python", "value": round(value, 3), "unit": unit, "cores": CORES}), flush=True)


def pct(values: List[float], p: float) -> float:
    s = sorted(values)
    return s[round((len(s) - 1) * p)]


async def sequential_enqueue(url: str) -> None:
    r = Reseolio(url)
    lat: List[float] = []
    count = n(2000)
    start = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        await r.enqueue("bench:noop")
        lat.append((time.perf_counter() - t) * 1e6)
    emit("python_sequential_enqueue_p50", pct(lat, 0.5), "us")
    emit("python_sequential_enqueue_p99", pct(lat, 0.99), "us")
    emit("python_sequential_enqueue_jobs_per_s", count / (time.perf_counter() - start), "jobs/s")
    await r.close()


async def drain(url: str, concurrency: int) -> None:
    count = n(10_000)
    producer = Reseolio(url)
    for i in range(0, count, 500):
        await asyncio.gather(*(producer.enqueue("bench:drain") for _ in range(min(500, count - i))))
    await producer.close()
    done = 0
    finished = asyncio.Event()

    def on_success(_: JobContext) -> None:
        nonlocal done
        done += 1
        if done == count:
            finished.set()

    r = Reseolio(url, concurrency=concurrency, on_success=on_success)

    @r.durable("bench:drain")
    async def noop() -> None:
        return None

    start = time.perf_counter()
    async with r:
        await finished.wait()
        rate = count / (time.perf_counter() - start)
    emit(f"python_drain_concurrency_{concurrency}_jobs_per_s", rate, "jobs/s")


async def round_trip(url: str) -> None:
    r = Reseolio(url, concurrency=1)

    @r.durable("bench:echo")
    async def echo(x: int) -> int:
        return x

    lat: List[float] = []
    async with r:
        await asyncio.sleep(0.2)
        for i in range(n(1000)):
            t = time.perf_counter()
            job = await echo(i)
            await job.result()
            lat.append((time.perf_counter() - t) * 1e6)
    emit("python_round_trip_p50", statistics.median(lat), "us")
    emit("python_round_trip_p99", pct(lat, 0.99), "us")


async def main() -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("RESEOLIO_BENCH_DIR")) as d:
        await sequential_enqueue(f"sqlite://{d}/enqueue.db")
        await drain(f"sqlite://{d}/drain10.db", 10)
        await drain(f"sqlite://{d}/drain100.db", 100)
        await round_trip(f"sqlite://{d}/roundtrip.db")


if __name__ == "__main__":
    asyncio.run(main())
