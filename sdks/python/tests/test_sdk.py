"""The Python SDK on both transports: lifecycle, retries and each backoff, DEAD after max
attempts, idempotency, timeouts, cancel, retry, results from a second process, bad input."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

import pytest

import reseolio
from reseolio import (
    InvalidArgumentError,
    JobCancelledError,
    JobFailedError,
    NonRetryable,
    NotFoundError,
    Reseolio,
    current_job,
)


def test_lifecycle_async_handler(url: str) -> None:
    r = Reseolio(url, poll_interval=0.05)

    @r.durable("test:math:add", max_attempts=2)
    async def add(a: int, b: int) -> int:
        return a + b

    async def main() -> None:
        async with r:
            job = await add(2, 3)
            assert await job.result(timeout=10) == 5
            assert await job.status() == "SUCCESS"
            d = await job.details()
            assert (d.name, d.attempt, d.max_attempts, d.args) == ("test:math:add", 1, 2, b"[2,3]")
            assert d.result == b"5" and d.completed_at is not None
            attempts = await job.attempts()
            assert [a.outcome for a in attempts] == ["success"]

    asyncio.run(main())


def test_sync_handler_runs_in_a_thread_and_sees_its_context(url: str) -> None:
    r = Reseolio(url, poll_interval=0.05)
    seen: Dict[str, Any] = {}

    @r.durable("test:ctx")
    def where(x: str) -> str:
        ctx = current_job()
        assert ctx is not None
        seen.update(job_id=ctx.job_id, attempt=ctx.attempt, thread=threading.current_thread().name)
        return x.upper()

    async def main() -> None:
        async with r:
            job = await where("hi")
            assert await job.result(timeout=10) == "HI"
            assert seen["job_id"] == job.job_id and seen["attempt"] == 1
            assert seen["thread"].startswith("reseolio-handler")
            assert current_job() is None

    asyncio.run(main())


@pytest.mark.parametrize("backoff", ["fixed", "linear", "exponential"])
def test_retries_follow_each_backoff(url: str, backoff: str) -> None:
    r = Reseolio(url, poll_interval=0.05)
    runs: List[float] = []

    @r.durable("test:flaky", max_attempts=3, backoff=backoff, initial_delay=0.1, jitter=0)
    async def flaky() -> str:
        runs.append(time.monotonic())
        if len(runs) < 3:
            raise RuntimeError(f"failure {len(runs)}")
        return "ok"

    async def main() -> None:
        async with r:
            job = await flaky()
            assert await job.result(timeout=15) == "ok"
            d = await job.details()
            assert (d.attempt, d.backoff) == (3, backoff)
            attempts = await job.attempts()
            assert [a.outcome for a in attempts] == ["failure", "failure", "success"]
            assert attempts[0].error == "RuntimeError: failure 1"

    asyncio.run(main())
    gap1, gap2 = runs[1] - runs[0], runs[2] - runs[1]
    # fixed: 0.1 s, 0.1 s; linear: 0.1 s, 0.2 s; exponential: 0.1 s, 0.2 s.
    assert gap1 >= 0.09, gap1
    assert gap2 >= (0.09 if backoff == "fixed" else 0.19), gap2


def test_dead_after_max_attempts_and_non_retryable(url: str) -> None:
    r = Reseolio(url, poll_interval=0.05)

    @r.durable("test:always-fails", max_attempts=2, initial_delay=0.01)
    async def always_fails() -> None:
        raise ValueError("nope")

    @r.durable("test:fatal", max_attempts=5)
    async def fatal() -> None:
        raise NonRetryable("card declined")

    async def main() -> None:
        async with r:
            job = await always_fails()
            with pytest.raises(JobFailedError) as e:
                await job.result(timeout=10)
            assert e.value.error == "ValueError: nope"
            assert (await job.details()).attempt == 2
            job = await fatal()
            with pytest.raises(JobFailedError, match="card declined"):
                await job.result(timeout=10)
            assert (await job.details()).attempt == 1

    asyncio.run(main())


def test_idempotency_key_per_call(url: str) -> None:
    r = Reseolio(url)

    @r.durable("test:charge")
    async def charge(amount: int) -> int:
        return amount

    async def main() -> None:
        a = await charge.options(idempotency_key="order-1")(10)
        b = await charge.options(idempotency_key="order-1")(99)
        assert a.job_id == b.job_id and not a.deduplicated and b.deduplicated
        assert (await b.details()).args == b"[10]"
        await r.close()

    asyncio.run(main())


def test_timeout_cancels_an_async_handler(url: str) -> None:
    r = Reseolio(url, poll_interval=0.05)
    cancelled = threading.Event()

    @r.durable("test:slow", timeout=0.3, max_attempts=1)
    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> None:
        async with r:
            job = await slow()
            with pytest.raises(JobFailedError, match="timed out"):
                await job.result(timeout=10)
            assert cancelled.is_set()

    asyncio.run(main())


def test_cancel_and_retry(url: str) -> None:
    r = Reseolio(url, poll_interval=0.05)
    calls: List[int] = []

    @r.durable("test:once-bad", max_attempts=1)
    async def once_bad() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        return "second run"

    async def main() -> None:
        pending = await r.enqueue("test:nobody", 1, delay=60)
        assert await pending.cancel() is True
        with pytest.raises(JobCancelledError):
            await pending.result(timeout=5)
        assert await pending.cancel() is False
        async with r:
            job = await once_bad()
            with pytest.raises(JobFailedError):
                await job.result(timeout=10)
            back = await r.retry_job(job.job_id)
            # PENDING with its attempts reset; through a sidecar the worker may have claimed it
            # again by the time the job is read back.
            assert (back.status, back.attempt) in {("PENDING", 0), ("RUNNING", 1), ("SUCCESS", 1)}
            assert await r.handle(job.job_id).result(timeout=10) == "second run"

    asyncio.run(main())


def test_result_timeout_is_a_builtin_timeout_error(url: str) -> None:
    r = Reseolio(url)

    async def main() -> None:
        job = await r.enqueue("test:nobody-runs-this", 1)
        with pytest.raises(TimeoutError):
            await job.result(timeout=0.2)
        with pytest.raises(reseolio.TimeoutError):
            await job.result(timeout=0.2)
        await r.close()

    asyncio.run(main())


def test_bad_input_is_refused_by_name(url: str) -> None:
    r = Reseolio(url)

    @r.durable("test:bad")
    async def bad(x: Any) -> None:
        return None

    async def main() -> None:
        with pytest.raises(InvalidArgumentError, match="JSON"):
            await bad(object())
        with pytest.raises(InvalidArgumentError, match="max_attempts"):
            await bad.options(max_attempts=0)(1)
        with pytest.raises(InvalidArgumentError, match="jitter"):
            await bad.options(jitter=3)(1)
        with pytest.raises(InvalidArgumentError, match="unknown job option"):
            await bad.options(retries=3)(1)
        with pytest.raises(InvalidArgumentError, match="keyword"):
            await bad(x=1)
        with pytest.raises(InvalidArgumentError, match="name"):
            await r.enqueue("", 1)
        with pytest.raises(NotFoundError):
            await r.get_job("no-such-job")
        jobs, total = await r.list_jobs()
        assert total == 0 and jobs == []
        await r.close()

    asyncio.run(main())
    with pytest.raises(InvalidArgumentError, match="unknown job option"):
        r.durable("test:x", retries=1)


def test_sync_api_and_a_result_awaited_from_a_second_process(url: str) -> None:
    producer = Reseolio(url, poll_interval=0.05)
    worker = Reseolio(url, poll_interval=0.05)

    @worker.durable("test:square")
    def square(x: int) -> int:
        return x * x

    stop = threading.Event()

    def serve() -> None:
        async def main() -> None:
            async with worker:
                while not stop.is_set():
                    await asyncio.sleep(0.02)

        asyncio.run(main())

    t = threading.Thread(target=serve)
    t.start()
    try:
        handle = producer.durable("test:square")(lambda x: x).enqueue_sync(7)
        script = (
            "import sys, reseolio\n"
            f"r = reseolio.Reseolio({url!r}, poll_interval=0.05)\n"
            "print(r.handle(sys.argv[1]).result_sync(timeout=20))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script, handle.job_id],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "49"
        assert handle.result_sync(timeout=5) == 49
        assert handle.status_sync() == "SUCCESS"
    finally:
        stop.set()
        t.join()


def test_hooks_see_start_success_and_failure(url: str) -> None:
    events: List[str] = []
    r = Reseolio(
        url,
        poll_interval=0.05,
        on_start=lambda c: events.append(f"start {c.attempt}"),
        on_success=lambda c: events.append("success"),
        on_failure=lambda c, e: events.append(f"failure {type(e).__name__}"),
    )

    @r.durable("test:hooked", max_attempts=2, initial_delay=0.01)
    async def hooked() -> int:
        job = current_job()
        assert job is not None
        if job.attempt == 1:
            raise KeyError("x")
        return 1

    async def main() -> None:
        async with r:
            await (await hooked()).result(timeout=10)

    asyncio.run(main())
    assert events == ["start 1", "failure KeyError", "start 2", "success"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_use_after_fork_raises_a_clear_error(tmp_path: Any) -> None:
    r = Reseolio(f"sqlite://{tmp_path / 'fork.db'}")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            asyncio.run(r.get_job("x"))
        except reseolio.ReseolioError as e:
            os._exit(0 if "fork" in str(e) else 1)
        os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_the_sync_api_does_not_leak_loops_or_pipes(url: str) -> None:
    import gc

    r = Reseolio(url)
    handle = r.durable("test:leak")(lambda: None).enqueue_sync()
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(300):
        assert handle.status_sync() == "PENDING"
    gc.collect()
    grown = len(os.listdir("/proc/self/fd")) - fds
    # Each asyncio.run makes a loop; its pipe goes back to the pool when the loop is gone.
    assert grown < 20, f"{grown} file descriptors more after 300 blocking calls"
    asyncio.run(r.close())


def test_a_cancelled_wait_stops_and_the_worker_keeps_every_job(url: str) -> None:
    r = Reseolio(url, poll_interval=0.05, concurrency=1)
    ran: List[int] = []

    @r.durable("test:later")
    async def later(x: int) -> int:
        ran.append(x)
        return x

    async def main() -> None:
        job = await later(1)
        # Gives up on a wait before any worker runs: the engine-side wait stops with it.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(job.result(), timeout=0.2)
        async with r:
            assert await job.result(timeout=10) == 1
            second = await later(2)
            assert await second.result(timeout=10) == 2
        assert ran == [1, 2]

    asyncio.run(main())
