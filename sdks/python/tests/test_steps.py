"""Durable steps: recorded steps replay after a SIGKILL, a durable sleep across a restart, events
sent before and after the wait and a wait that times out, a fan-out to 100 child jobs with
worker concurrency 2, a changed step order ending DEAD, in-process step retries. The basic test
runs on every transport; the rest on the embedded engine (SQLite)."""

from __future__ import annotations

import asyncio
import datetime
import gc
import logging
import os
import pathlib
import subprocess
import sys
import time
from typing import Any, Callable, Coroutine, Dict, Iterator, List, Optional

import pytest

import reseolio
from reseolio import (
    JobContext,
    JobFailedError,
    NonRetryable,
    Reseolio,
    StepError,
    StepOrderError,
    current_job,
)

APP = pathlib.Path(__file__).resolve().parent / "steps_app.py"


def ctx() -> JobContext:
    c = current_job()
    assert c is not None
    return c


def append(log: pathlib.Path, line: str) -> str:
    with open(log, "a") as f:
        f.write(line + "\n")
    return line


def lines(log: pathlib.Path) -> List[str]:
    return log.read_text().splitlines() if log.exists() else []


async def until(what: str, check: Any, timeout: float = 20.0) -> None:
    """Polls the async predicate ``check`` until it is true."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
def db(tmp_path: pathlib.Path) -> str:
    return f"sqlite://{tmp_path / 'steps.db'}"


# --- every transport ------------------------------------------------------------------------------


def test_steps_sleep_event_and_child_on_every_transport(url: str, tmp_path: pathlib.Path) -> None:
    # One slot: the parent's child runs while the parent is suspended on its join.
    r = Reseolio(url, poll_interval=0.05, concurrency=1)
    log = tmp_path / "log"

    @r.durable("steps:double")
    async def double(x: int) -> int:
        return 2 * x

    @r.durable("steps:basic")
    async def basic(key: str) -> Dict[str, Any]:
        c = ctx()
        a = await c.step("a", append, log, "a")
        await c.sleep(0.3)
        event = await c.wait_for_event(key)
        doubled = await c.child(double, 21)
        return {"a": a, "event": event, "child": doubled}

    async def main() -> None:
        async with r:
            assert await r.send_event("basic-key", {"n": 1}) == 0
            job = await basic("basic-key")
            assert await job.result(timeout=20) == {"a": "a", "event": {"n": 1}, "child": 42}
            d = await job.details()
            assert [(s.seq, s.name, s.kind, s.status) for s in d.steps] == [
                (0, "a", "run", "SUCCESS"),
                (1, "sleep", "sleep", "SUCCESS"),
                (2, "event:basic-key", "event", "SUCCESS"),
                (3, "start:steps:double", "run", "SUCCESS"),
                (4, "join:steps:double", "child", "SUCCESS"),
            ]
            child_id = d.steps[3].result
            assert d.steps[4].wait_key == child_id and d.steps[4].result == 42
            assert d.steps[2].result == {"n": 1} and d.steps[0].attempts == 1
            assert (await r.get_job(child_id)).idempotency_key == f"{job.job_id}/3"
            assert await r.steps(job.job_id) == d.steps
            # Suspended runs are not counted as attempts (the sleep suspended it, so may the join).
            assert d.attempt == 1 and d.status == "SUCCESS"
            outcomes = [a.outcome for a in await job.attempts()]
            assert outcomes[-1] == "success" and outcomes.count("suspended") >= 1, outcomes
        assert lines(log) == ["a"]

    asyncio.run(main())


# --- crashes and restarts (worker processes) ------------------------------------------------------


@pytest.fixture
def processes() -> Iterator[List["subprocess.Popen[str]"]]:
    started: List["subprocess.Popen[str]"] = []
    yield started
    for p in started:
        p.kill()
        p.wait()
        if p.stdout is not None:
            p.stdout.close()


def start_app(
    started: List["subprocess.Popen[str]"], db: str, log: pathlib.Path, block: bool
) -> "subprocess.Popen[str]":
    env = dict(os.environ, STEPS_BLOCK="1" if block else "0")
    p = subprocess.Popen(
        [sys.executable, str(APP), db, str(log)], env=env, stdout=subprocess.PIPE, text=True
    )
    started.append(p)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def test_a_process_killed_after_step_two_resumes_without_rerunning_steps(
    db: str, tmp_path: pathlib.Path, processes: List["subprocess.Popen[str]"]
) -> None:
    log = tmp_path / "log"
    r = Reseolio(db, poll_interval=0.05)

    async def main() -> None:
        job = await r.enqueue("steps:three", max_attempts=3, initial_delay=0.1)
        first = start_app(processes, db, log, block=True)
        marker = pathlib.Path(str(log) + ".after-two")

        async def blocked() -> bool:
            return marker.exists()

        await until("step two", blocked)
        first.kill()
        first.wait()
        assert lines(log) == ["one", "two"]
        steps = await r.steps(job.job_id)
        assert [(s.name, s.status, s.result) for s in steps] == [
            ("one", "SUCCESS", "one"),
            ("two", "SUCCESS", "two"),
        ]
        start_app(processes, db, log, block=False)
        assert await job.result(timeout=30) == ["one", "two", "three"]
        assert lines(log) == ["one", "two", "three"]
        d = await job.details()
        assert [s.name for s in d.steps] == ["one", "two", "three"]
        # The first attempt was lost with its process; the second replayed steps one and two.
        assert [a.outcome for a in await job.attempts()] == ["worker_lost", "success"]
        await r.close()

    asyncio.run(main())


def test_a_durable_sleep_survives_a_restart(
    db: str, tmp_path: pathlib.Path, processes: List["subprocess.Popen[str]"]
) -> None:
    log = tmp_path / "log"
    r = Reseolio(db, poll_interval=0.05)

    async def main() -> None:
        job = await r.enqueue("steps:nap", 3)
        first = start_app(processes, db, log, block=False)

        async def sleeping() -> bool:
            steps = await r.steps(job.job_id)
            return len(steps) == 2 and steps[1].status == "WAITING"

        await until("the sleep", sleeping)
        # Suspended: PENDING until the wake time, no lease, no worker slot.
        d = await job.details()
        assert d.status == "PENDING" and d.lease_expires_at is None and d.worker_id is None
        wake_at = d.steps[1].wake_at
        assert wake_at is not None and d.run_at == wake_at
        assert [a.outcome for a in await job.attempts()] == ["suspended"]
        first.kill()
        first.wait()
        start_app(processes, db, log, block=False)
        out = await job.result(timeout=30)
        assert out["resumed_at"] >= wake_at, (out, wake_at)
        assert lines(log) == ["before"]
        d = await job.details()
        assert [(s.name, s.status) for s in d.steps] == [("before", "SUCCESS"), ("sleep", "SUCCESS")]
        assert d.attempt == 1
        await r.close()

    asyncio.run(main())


# --- events ---------------------------------------------------------------------------------------


def test_events_before_and_after_the_wait_and_a_wait_that_times_out(
    db: str, tmp_path: pathlib.Path
) -> None:
    hooks: List[str] = []
    # One slot: a suspended run that kept its slot would stop the job for good.
    r = Reseolio(
        db,
        poll_interval=0.05,
        concurrency=1,
        on_start=lambda c: hooks.append("start"),
        on_success=lambda c: hooks.append("success"),
        on_failure=lambda c, e: hooks.append(f"failure {type(e).__name__}"),
    )
    log = tmp_path / "log"
    runs: List[int] = []

    @r.durable("steps:events")
    async def events() -> Dict[str, Any]:
        runs.append(1)
        c = ctx()
        early = await c.wait_for_event("order-1:paid")
        await c.step("between", append, log, "between")
        late = await c.wait_for_event("order-1:shipped")
        try:
            await c.wait_for_event("order-1:never", timeout=1)
            missed = "no timeout"
        except reseolio.TimeoutError as e:
            missed = f"{type(e).__name__}: {e}"
        return {"early": early, "late": late, "missed": missed}

    async def main() -> None:
        async with r:
            assert await r.send_event("order-1:paid", {"amount": 10}) == 0
            job = await events()

            async def waiting() -> bool:
                steps = await r.steps(job.job_id)
                return len(steps) == 3 and steps[2].status == "WAITING"

            await until("the second wait", waiting)
            assert await job.status() == "PENDING"
            assert await r.send_event("order-1:shipped", ["box", 2]) == 1
            assert await job.result(timeout=20) == {
                "early": {"amount": 10},
                "late": ["box", 2],
                "missed": "EventTimeoutError: timed out waiting for event 'order-1:never'",
            }
            steps = await r.steps(job.job_id)
            assert [(s.name, s.status, s.wait_key) for s in steps] == [
                ("event:order-1:paid", "SUCCESS", "order-1:paid"),
                ("between", "SUCCESS", None),
                ("event:order-1:shipped", "SUCCESS", "order-1:shipped"),
                ("event:order-1:never", "FAILED", "order-1:never"),
            ]
            assert steps[3].error == "timed out waiting for event 'order-1:never'"
            assert steps[3].wake_at is not None
        # Ran, suspended on "shipped", resumed, suspended on "never", resumed after its timeout.
        assert len(runs) == 3 and lines(log) == ["between"]
        # A suspension is not an end: no success or failure hook until the job finishes.
        assert hooks == ["start", "start", "start", "success"]

    asyncio.run(main())


# --- child jobs -----------------------------------------------------------------------------------


def test_a_parent_fans_out_to_100_children_with_concurrency_2(db: str) -> None:
    r = Reseolio(db, poll_interval=0.05, concurrency=2)
    children: List[int] = []

    @r.durable("steps:square")
    async def square(x: int) -> int:
        children.append(x)
        return x * x

    @r.durable("steps:fanout")
    async def fanout(n: int) -> List[int]:
        c = ctx()
        handles = await asyncio.gather(*(c.start_child(square, i) for i in range(n)))
        return await c.join_all(handles)

    async def main() -> None:
        async with r:
            # Two parents: were a waiting parent to hold its slot, no child could ever run.
            parents = [await fanout(100), await fanout(100)]
            for p in parents:
                assert await p.result(timeout=60) == [i * i for i in range(100)]
            d = await parents[0].details()
            assert len(d.steps) == 200
            assert all(s.name == "start:steps:square" for s in d.steps[:100])
            assert all(s.name == "join:steps:square" for s in d.steps[100:])
            _, total = await r.list_jobs(names=["steps:square"], limit=1)
            assert total == 200
        assert sorted(children) == sorted(list(range(100)) * 2)

    asyncio.run(main())


def test_a_failed_or_cancelled_child_raises_in_the_parent(db: str) -> None:
    r = Reseolio(db, poll_interval=0.05, concurrency=4)

    @r.durable("steps:broken", max_attempts=1)
    async def broken() -> None:
        raise ValueError("no luck")

    @r.durable("steps:parked")
    async def parked() -> None:
        await ctx().wait_for_event("never-sent")

    @r.durable("steps:parent")
    async def parent() -> List[str]:
        c = ctx()
        out = []
        try:
            await c.child(broken)
        except JobFailedError as e:
            out.append(f"failed: {e.error}")
        h = await c.start_child(parked)
        try:
            await c.join(r.handle(h.job_id))  # any job handle: the step is named after its job
        except reseolio.JobCancelledError as e:
            out.append(f"cancelled: {e.job_id == h.job_id}")
        return out

    async def main() -> None:
        async with r:
            job = await parent()

            async def joining() -> bool:
                steps = await r.steps(job.job_id)
                return len(steps) == 4 and steps[3].status == "WAITING"

            await until("the join of the parked child", joining)
            assert (await r.steps(job.job_id))[3].name == "join:steps:parked"
            await r.cancel_job((await r.steps(job.job_id))[2].result)
            assert await job.result(timeout=20) == ["failed: ValueError: no luck", "cancelled: True"]

    asyncio.run(main())


# --- order changes, retries -----------------------------------------------------------------------


def test_a_changed_step_order_ends_dead(db: str, tmp_path: pathlib.Path) -> None:
    r = Reseolio(db, poll_interval=0.05)
    log = tmp_path / "log"

    @r.durable("steps:reorder", max_attempts=3, initial_delay=0.05)
    async def reorder() -> str:
        c = ctx()
        if c.attempt == 1:
            await c.step("a", append, log, "a")
            await c.step("b", append, log, "b")
            raise RuntimeError("deliberate failure")
        try:
            await c.step("b", append, log, "b again")
        except StepOrderError:
            return "caught"  # too late: the job ends DEAD anyway
        return "unreachable"

    async def main() -> None:
        async with r:
            job = await reorder()
            with pytest.raises(JobFailedError) as e:
                await job.result(timeout=20)
            assert e.value.error == (
                f"step order changed in job '{job.job_id}': step 0 was recorded as 'a (run)' but "
                "this run calls 'b (run)' there; a durable function must call its steps in the "
                "same order on every run"
            )
            d = await job.details()
            # DEAD at once (not retryable): 2 of 3 attempts used.
            assert (d.status, d.attempt) == ("DEAD", 2)
        assert lines(log) == ["a", "b"]

    asyncio.run(main())


def test_the_engines_order_check_raises_the_same_error(db: str) -> None:
    r = Reseolio(db, poll_interval=0.05)
    seen: List[str] = []

    @r.durable("steps:engine-order", max_attempts=2)
    async def engine_order() -> None:
        c = ctx()
        await c.step("a", lambda: 1)
        # The engine's own check (the SDK's is skipped by a direct call): place 0 is "a".
        steps = c._steps
        assert steps is not None
        from reseolio import _bridge

        try:
            await steps._engine(
                _bridge.call(r._native().step_record, steps._token, 0, "z", b"1", None, 1, 0)
            )
        except StepOrderError as e:
            seen.append(str(e))
            assert isinstance(e, reseolio.ConflictError) and isinstance(e, NonRetryable)

    async def main() -> None:
        async with r:
            job = await engine_order()
            with pytest.raises(JobFailedError, match="step order changed"):
                await job.result(timeout=10)
            assert (await job.details()).attempt == 1

    asyncio.run(main())
    assert len(seen) == 1 and seen[0].startswith(
        "step order changed in job '"
    ) and "recorded as 'a (run)' but this run calls 'z (run)'" in seen[0]


def test_a_step_retries_in_process_and_records_its_attempts(db: str) -> None:
    r = Reseolio(db, poll_interval=0.05)
    tries: Dict[str, List[float]] = {"flaky": [], "doomed": [], "fatal": []}

    async def flaky() -> str:
        tries["flaky"].append(time.monotonic())
        if len(tries["flaky"]) < 3:
            raise ConnectionError(f"try {len(tries['flaky'])}")
        return "ok"

    def doomed() -> None:  # a plain function: runs in a thread
        tries["doomed"].append(time.monotonic())
        raise ValueError("bad input")

    def fatal() -> None:
        tries["fatal"].append(time.monotonic())
        raise NonRetryable("stop now")

    @r.durable("steps:retry", max_attempts=1)
    async def retrying() -> List[Optional[str]]:
        c = ctx()
        out: List[Optional[str]] = [
            await c.step("flaky", flaky, max_attempts=4, backoff="fixed", initial_delay_ms=50)
        ]
        for name, fn in (("doomed", doomed), ("fatal", fatal)):
            try:
                await c.step(name, fn, max_attempts=3, backoff="linear", initial_delay_ms=20)
            except StepError as e:
                out.append(f"{e.step}: {e.error} ({type(e.__cause__).__name__})")
        return out

    async def main() -> None:
        async with r:
            job = await retrying()
            assert await job.result(timeout=20) == [
                "ok",
                "doomed: ValueError: bad input (ValueError)",
                "fatal: NonRetryable: stop now (NonRetryable)",
            ]
            steps = await job.steps()
            assert [(s.name, s.status, s.attempts, s.result, s.error) for s in steps] == [
                ("flaky", "SUCCESS", 3, "ok", None),
                ("doomed", "FAILED", 3, None, "ValueError: bad input"),
                ("fatal", "FAILED", 1, None, "NonRetryable: stop now"),
            ]
            assert (await job.details()).attempt == 1

    asyncio.run(main())
    f, d = tries["flaky"], tries["doomed"]
    assert len(f) == 3 and len(d) == 3 and len(tries["fatal"]) == 1
    assert f[1] - f[0] >= 0.045 and f[2] - f[1] >= 0.045  # fixed 50 ms
    assert d[1] - d[0] >= 0.015 and d[2] - d[1] >= 0.035  # linear 20 ms, 40 ms


def test_recorded_steps_replay_and_parallel_steps_keep_call_order(db: str, tmp_path: pathlib.Path) -> None:
    r = Reseolio(db, poll_interval=0.05)
    log = tmp_path / "log"

    @r.durable("steps:replay", max_attempts=2, initial_delay=0.05)
    async def replay() -> List[Any]:
        c = ctx()

        async def slow(name: str) -> str:
            await asyncio.sleep(0.1)
            return append(log, name)

        # Placed in call order (0: slow, 1: quick) whatever order they finish in.
        both = await asyncio.gather(c.step("slow", slow, "slow"), c.step("quick", append, log, "quick"))
        caught = None
        try:
            await c.step("fails", lambda: 1 / 0)
        except StepError as e:
            caught = e.error
        if c.attempt == 1:
            raise RuntimeError("retry me")  # steps 0 and 1 are kept; the failed one re-runs
        return [*both, caught, c.suspended]

    async def main() -> None:
        async with r:
            job = await replay()
            assert await job.result(timeout=20) == [
                "slow",
                "quick",
                "ZeroDivisionError: division by zero",
                False,
            ]
            steps = await job.steps()
            assert [(s.seq, s.name) for s in steps] == [(0, "slow"), (1, "quick"), (2, "fails")]
        assert sorted(lines(log)) == ["quick", "slow"]

    asyncio.run(main())


def test_a_recorded_failure_replays_and_parallel_steps_survive_a_suspension(
    db: str, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    r = Reseolio(db, poll_interval=0.05, concurrency=1)
    log = tmp_path / "log"
    runs: List[bool] = []

    def fail() -> None:
        append(log, "fail")
        raise KeyError("gone")

    async def slow() -> str:
        await asyncio.sleep(0.2)
        return append(log, "slow")

    @r.durable("steps:parallel", max_attempts=1)
    async def parallel() -> List[Any]:
        c = ctx()
        runs.append(c.suspended)
        try:
            await c.step("fail", fail)
        except StepError as e:
            failed = e.error
        # The sleep suspends the job while "slow" runs: "slow" stops unrecorded (its record would
        # be refused) and runs again after the sleep.
        done = await asyncio.gather(c.step("quick", append, log, "quick"), c.sleep(0.3), c.step("slow", slow))
        return [failed, *done]

    async def main() -> None:
        async with r:
            job = await parallel()
            assert await job.result(timeout=20) == ["KeyError: 'gone'", "quick", None, "slow"]
            steps = await job.steps()
            assert [(s.name, s.status) for s in steps] == [
                ("fail", "FAILED"),
                ("quick", "SUCCESS"),
                ("sleep", "SUCCESS"),
                ("slow", "SUCCESS"),
            ]
            assert [a.outcome for a in await job.attempts()][-1] == "success"
        got = lines(log)
        # The recorded failure was raised again on the resume without running "fail".
        assert got.count("fail") == 1 and got.count("quick") in (1, 2), got
        assert got.count("slow") in (1, 2) and len(runs) >= 2 and not any(runs)

    asyncio.run(main())
    # The siblings that raised the suspension signal after it were retrieved (by the gather).
    gc.collect()
    assert not [m.getMessage() for m in caplog.records if "never retrieved" in m.getMessage()]


def test_steps_refuse_bad_input_and_need_an_async_handler(db: str) -> None:
    r = Reseolio(db, poll_interval=0.05)

    @r.durable("steps:sync-handler", max_attempts=1)
    def sync_handler() -> None:
        ctx().sleep(1).close()  # raises first: a plain def handler has no event loop

    @r.durable("steps:bad", max_attempts=1)
    async def bad() -> List[str]:
        c = ctx()
        out = []
        for call in (
            lambda: c.step("", lambda: 1),
            lambda: c.step("x", lambda: 1, max_attempts=0),
            lambda: c.step("x", lambda: 1, backoff="random"),  # type: ignore[call-overload]
            lambda: c.sleep(-1),
            lambda: c.wait_for_event(""),
        ):
            try:
                call()
            except reseolio.InvalidArgumentError as e:
                out.append(str(e))
        # Nothing took a place: the next step is step 0.
        await c.step("ok", lambda: 1)
        return out

    async def main() -> None:
        async with r:
            with pytest.raises(JobFailedError, match="async def handler"):
                await (await sync_handler()).result(timeout=10)
            job = await bad()
            out = await job.result(timeout=10)
            assert len(out) == 5, out
            assert [s.seq for s in await job.steps()] == [0]
            with pytest.raises(reseolio.InvalidArgumentError, match="JSON"):
                await r.send_event("k", object())
            with pytest.raises(reseolio.InvalidArgumentError, match="key"):
                await r.send_event("", 1)

    asyncio.run(main())


# --- review fixes: joins of pruned jobs, nesting, name limits, long errors, refused suspensions ---


PRUNE = """
import sqlite3, sys

con = sqlite3.connect(sys.argv[1], timeout=10)
with con:
    for table, column in (("reseolio_attempts", "job_id"), ("reseolio_steps", "job_id"), ("reseolio_jobs", "id")):
        con.execute(f"DELETE FROM {table} WHERE {column} = ?", (sys.argv[2],))
con.close()
"""


def prune(db_file: pathlib.Path, job_id: str) -> None:
    """Deletes a finished job as the engine's pruning does (its attempts, steps and row). In
    another process: a second SQLite library in this one would drop the engine's file locks."""
    subprocess.run([sys.executable, "-c", PRUNE, str(db_file), job_id], check=True, timeout=30)


def test_a_recorded_join_replays_without_reading_the_pruned_job(tmp_path: pathlib.Path) -> None:
    db_file = tmp_path / "steps.db"
    r = Reseolio(f"sqlite://{db_file}", poll_interval=0.05, concurrency=2)
    runs: List[int] = []

    @r.durable("steps:leaf")
    async def leaf(x: int) -> int:
        return x + 1

    @r.durable("steps:join-by-id")
    async def join_by_id() -> List[Any]:
        runs.append(1)
        c = ctx()
        h = await c.start_child(leaf, 1)
        # A plain handle: the step is named after the job, read on the first run only.
        joined = await c.join(r.handle(h.job_id))
        event = await c.wait_for_event("join-by-id:go")
        return [joined, event]

    async def main() -> None:
        async with r:
            job = await join_by_id()

            async def waiting() -> bool:
                steps = await r.steps(job.job_id)
                return len(steps) == 3 and steps[2].status == "WAITING"

            await until("the event wait after the join", waiting)
            steps = await r.steps(job.job_id)
            assert (steps[1].name, steps[1].status, steps[1].result) == ("join:steps:leaf", "SUCCESS", 2)
            child_id = steps[0].result
            prune(db_file, child_id)
            with pytest.raises(reseolio.NotFoundError):
                await r.get_job(child_id)
            assert await r.send_event("join-by-id:go", "go") == 1
            # The resume replays the join from the journal: no read of the (gone) child.
            assert await job.result(timeout=20) == [2, "go"]
            assert (await job.details()).attempt == 1
        assert len(runs) >= 2

    asyncio.run(main())


def test_steps_cannot_nest(db: str, tmp_path: pathlib.Path) -> None:
    r = Reseolio(db, poll_interval=0.05)
    log = tmp_path / "log"

    @r.durable("steps:nest-leaf")
    async def nest_leaf() -> None:
        pass

    def refused(c: JobContext) -> List[str]:
        out = []
        calls: List[Callable[[], Coroutine[Any, Any, Any]]] = [
            lambda: c.step("x", append, log, "x"),
            lambda: c.sleep(1),
            lambda: c.sleep_until(datetime.datetime.now(datetime.timezone.utc)),
            lambda: c.wait_for_event("k"),
            lambda: c.start_child(nest_leaf),
            lambda: c.join(r.handle("some-job")),
            lambda: c.join_all([]),
            lambda: c.child(nest_leaf),
        ]
        for call in calls:
            try:
                call().close()
                out.append("not refused")
            except reseolio.InvalidArgumentError as e:
                out.append(str(e))
        return out

    @r.durable("steps:nested", max_attempts=1)
    async def nested() -> None:
        c = ctx()

        async def in_loop() -> List[str]:
            return refused(c)

        def in_thread() -> List[str]:  # a plain function: its thread gets the step's context
            return refused(c)

        seen = [await c.step("loop", in_loop), await c.step("thread", in_thread)]
        append(log, repr(seen))

        async def outer() -> str:
            append(log, "outer")
            return await c.step("inner", append, log, "inner")

        await c.step("after", lambda: "after")  # nothing took a place: this is step 2
        await c.step("outer", outer)

    async def main() -> None:
        async with r:
            job = await nested()
            with pytest.raises(JobFailedError) as e:
                await job.result(timeout=20)
            assert e.value.error.startswith(
                "StepError: step 'outer' failed: InvalidArgumentError: ctx.step was called "
                "inside the code of step 'outer'; steps cannot nest"
            ), e.value.error
            steps = await job.steps()
            assert [(s.seq, s.name, s.status) for s in steps] == [
                (0, "loop", "SUCCESS"),
                (1, "thread", "SUCCESS"),
                (2, "after", "SUCCESS"),
                (3, "outer", "FAILED"),
            ]
            for step, outer in ((steps[0], "loop"), (steps[1], "thread")):
                calls = ["step", "sleep", "sleep_until", "wait_for_event", "start_child", "join", "join_all", "child"]
                assert isinstance(step.result, list) and len(step.result) == len(calls)
                for call, message in zip(calls, step.result):
                    assert message.startswith(
                        f"ctx.{call} was called inside the code of step '{outer}'; steps cannot nest"
                    ), message
            _, children = await r.list_jobs(names=["steps:nest-leaf"], limit=1)
            assert children == 0
        got = lines(log)
        assert got[1:] == ["outer"] and "x" not in got and "inner" not in got, got

    asyncio.run(main())


def test_over_long_step_names_fail_before_the_code_runs(db: str, tmp_path: pathlib.Path) -> None:
    r = Reseolio(db, poll_interval=0.05)
    log = tmp_path / "log"
    long_fn = "f" * 250  # a valid function name; "start:" + it is 256 bytes

    @r.durable(long_fn)
    async def long_named() -> None:
        append(log, "long child ran")

    @r.durable("steps:long-names", max_attempts=1)
    async def long_names() -> List[str]:
        c = ctx()
        out = []
        for call in (
            lambda: c.step("s" * 256, append, log, "step ran"),
            lambda: c.step("é" * 128, append, log, "step ran"),  # 128 characters, 256 bytes
            lambda: c.start_child(long_named),
            lambda: c.child(long_named),
            lambda: c.wait_for_event("k" * 201),
        ):
            try:
                call().close()
                out.append("not refused")
            except reseolio.InvalidArgumentError as e:
                out.append(str(e))
        # Nothing took a place: the next step is step 0. The longest names pass.
        await c.step("s" * 255, append, log, "255")
        await c.step("é" * 127 + "e", append, log, "255 bytes")
        return out

    async def main() -> None:
        async with r:
            job = await long_names()
            out = await job.result(timeout=20)
            assert len(out) == 5 and not any(o == "not refused" for o in out), out
            assert all("bytes; the limit is 255" in o for o in out[:4]), out
            assert "is 201 bytes; the limit is 200" in out[4], out
            assert [s.seq for s in await job.steps()] == [0, 1]
            _, children = await r.list_jobs(names=[long_fn], limit=1)
            assert children == 0
        assert lines(log) == ["255", "255 bytes"]

    asyncio.run(main())


def test_an_over_long_step_error_is_recorded_cut(tmp_path: pathlib.Path) -> None:
    runs: List[str] = []

    def huge(size: int) -> None:
        runs.append("ran")
        raise ValueError("é" * (size // 2))

    async def run(db_file: pathlib.Path, size: int, **options: Any) -> List[Any]:
        r = Reseolio(f"sqlite://{db_file}", poll_interval=0.05, **options)

        @r.durable("steps:huge-error", max_attempts=1)
        async def huge_error() -> List[Any]:
            try:
                await ctx().step("huge", huge, size)
            except StepError as e:
                return [len(e.error.encode("utf-8")), e.error[-60:], type(e.__cause__).__name__]
            return []

        async with r:
            job = await huge_error()
            out: List[Any] = await job.result(timeout=20)
            steps = await job.steps()
            assert steps[0].status == "FAILED" and steps[0].error is not None
            assert len(steps[0].error.encode("utf-8")) == out[0]
            return out

    # The default limit (1 MiB): the error is cut to 64 KiB.
    out = asyncio.run(run(tmp_path / "a.db", 2 * 1024 * 1024))
    assert out[0] <= 64 * 1024 and out[0] > 60 * 1024, out
    assert out[1].endswith(f"[... truncated: {len('ValueError: ') + 2 * 1024 * 1024} bytes in all]")
    assert out[2] == "ValueError"
    # A lower limit refuses 64 KiB too: cut to 4 KiB.
    out = asyncio.run(run(tmp_path / "b.db", 20_000, max_payload_bytes=8192))
    assert 4000 < out[0] <= 4096 and "truncated" in out[1] and out[2] == "ValueError", out
    assert runs == ["ran", "ran"]  # once each: recorded, never run again


def test_a_suspension_the_engine_refuses_frees_the_slot(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    # One slot: were the refused suspension to keep it, the second attempt could never run.
    r = Reseolio(db, poll_interval=0.05, concurrency=1)

    @r.durable("steps:fake-suspension", max_attempts=2, initial_delay=0.05, timeout=600)
    async def fake_suspension() -> str:
        c = ctx()
        if c.attempt == 1:
            steps = c._steps
            assert steps is not None
            steps.suspended = True  # no wait suspended the job: the engine refuses the report
        return "second"

    async def main() -> None:
        async with r:
            job = await fake_suspension()
            assert await job.result(timeout=20) == "second"
            attempts = await job.attempts()
            assert [a.outcome for a in attempts] == ["failure", "success"], attempts
            assert attempts[0].error is not None
            assert "a suspension the engine did not make" in attempts[0].error

    asyncio.run(main())
    refused = [m for m in caplog.records if "could not be reported as suspended" in m.getMessage()]
    assert len(refused) == 1 and refused[0].name == "reseolio", caplog.records
