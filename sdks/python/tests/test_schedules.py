"""Cron schedules on every transport (embedded SQLite, embedded PostgreSQL, a sidecar): a
seconds-level schedule fires in a running app and pausing stops it; the whole API (decorator,
``fn.schedule``, ``r.schedule``, get, list, update, pause, resume, trigger, delete, idempotent
re-declaration); bad input is refused naming the token and stores nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from typing import List
from zoneinfo import ZoneInfo

import pytest

from reseolio import (
    InvalidArgumentError,
    JobHandle,
    NotFoundError,
    Reseolio,
    Schedule,
    ScheduleHandle,
    ScheduleOptions,
    SchedulePage,
)


def now_ms() -> int:
    return int(time.time() * 1000)


def next_local(hour: int, zone: str) -> int:
    """The next hh:00:00 in ``zone`` after now, Unix ms (for hours that exist on every day)."""
    tz = ZoneInfo(zone)
    local = dt.datetime.now(tz)
    day = local.date()
    tick = dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz)
    if tick <= local:
        day += dt.timedelta(days=1)
        tick = dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz)
    return int(tick.timestamp() * 1000)


def test_a_seconds_schedule_fires_in_a_running_app_and_pause_stops_it(url: str) -> None:
    async def main() -> None:
        r = Reseolio(url)
        runs: List[float] = []

        @r.schedule("* * * * * *", args=["tick"])
        @r.durable("sched:tick", timeout=5)
        async def tick(label: str) -> str:
            runs.append(time.monotonic())
            return label

        async with r:
            deadline = time.monotonic() + 5
            while len(runs) < 2:
                assert time.monotonic() < deadline, f"{len(runs)} run(s) in 5 s, 2 expected"
                await asyncio.sleep(0.05)

            s = await r.get_schedule("sched:tick")
            assert s.status == "active" and s.last_run_at is not None and s.last_job_id
            assert s.last_run_at % 1000 == 0, "a tick of a seconds schedule is a whole second"
            done: JobHandle[str] = r.handle(s.last_job_id)
            assert await done.result(timeout=5) == "tick"
            jobs, total = await r.list_jobs(names=["sched:tick"])
            assert total >= 2 and all(j.args == b'["tick"]' for j in jobs)

            await r.pause_schedule("sched:tick")
            await asyncio.sleep(0.5)  # a job started just before the pause may still run
            settled_runs, settled_jobs = len(runs), (await r.list_jobs(names=["sched:tick"]))[1]
            await asyncio.sleep(2.2)
            assert len(runs) == settled_runs, "a paused schedule started a job"
            assert (await r.list_jobs(names=["sched:tick"]))[1] == settled_jobs

    asyncio.run(main())


def test_the_schedule_api(url: str) -> None:
    async def main() -> None:
        r = Reseolio(url)
        calls: List[str] = []

        @r.schedule("0 8 * * *", timezone="Europe/Paris", args=["daily"], name="daily-report")
        @r.durable("sched:report", max_attempts=4, timeout=20, delay=3)
        async def report(label: str) -> str:
            calls.append(label)
            return label

        async with r:
            start_ms = now_ms()

            # Declared by start(): by name and by id, with the durable function's job options
            # (not its per-call delay).
            s = await r.get_schedule("daily-report")
            assert isinstance(s, Schedule)
            assert (s.name, s.function, s.cron, s.timezone) == (
                "daily-report",
                "sched:report",
                "0 8 * * *",
                "Europe/Paris",
            )
            assert (s.status, s.args, s.missed, s.overlap) == ("active", ["daily"], "run_latest", "allow")
            assert s.options == ScheduleOptions(max_attempts=4, timeout=20.0)
            assert s.next_run_at == next_local(8, "Europe/Paris")
            assert s.last_run_at is None and s.last_job_id is None
            assert s.created_at <= s.updated_at <= now_ms()
            assert await r.get_schedule(s.id) == s
            with pytest.raises(dataclasses.FrozenInstanceError):
                s.cron = "x"  # type: ignore[misc]

            # On a durable function: its options are the defaults, overridable.
            every5 = await report.schedule(
                "*/5 * * * *", name="every-5", args=["five"], missed="skip", overlap="skip", priority=3
            )
            assert isinstance(every5, ScheduleHandle)
            e = await every5.details()
            assert every5.id_or_name == e.id
            assert (e.function, e.args, e.missed, e.overlap) == ("sched:report", ["five"], "skip", "skip")
            assert e.options == ScheduleOptions(max_attempts=4, timeout=20.0, priority=3)
            assert e.next_run_at % 300_000 == 0 and start_ms < e.next_run_at <= now_ms() + 300_000

            # On the client, by function name: no defaults.
            hourly = await r.schedule("sched:report", "@hourly", name="hourly")
            h = await hourly.details()
            assert (h.name, h.timezone, h.options) == ("hourly", "UTC", ScheduleOptions())
            assert await hourly.next_run_at() == h.next_run_at and h.next_run_at % 3_600_000 == 0

            # List: ordered by name, paged, filtered, with a total.
            page = await r.list_schedules()
            assert isinstance(page, SchedulePage)
            assert [x.name for x in page.schedules] == ["daily-report", "every-5", "hourly"]
            assert page.total == 3
            first, total = await r.list_schedules(limit=2)
            assert [x.name for x in first] == ["daily-report", "every-5"] and total == 3
            rest = await r.list_schedules(limit=2, offset=2)
            assert [x.name for x in rest.schedules] == ["hourly"] and rest.total == 3

            # Pause and resume.
            paused = await hourly.pause()
            assert paused.status == "paused" and await hourly.status() == "paused"
            only = await r.list_schedules(status="paused")
            assert [x.name for x in only.schedules] == ["hourly"] and only.total == 1
            assert (await r.list_schedules(status="active")).total == 2
            assert (await hourly.resume()).status == "active"
            assert (await r.list_schedules(status="paused")).total == 0

            # Update: a new expression or zone moves the next tick; options merge.
            daily = r.schedule_handle("daily-report")
            u = await daily.update(cron="0 9 * * *")
            assert u.next_run_at == next_local(9, "Europe/Paris") and u.id == s.id
            u = await r.update_schedule("daily-report", timezone="America/New_York")
            assert u.next_run_at == next_local(9, "America/New_York")
            assert (u.cron, u.timezone) == ("0 9 * * *", "America/New_York")
            u = await daily.update(args=["updated"], max_attempts=7, overlap="skip")
            assert u.args == ["updated"] and u.overlap == "skip"
            assert u.options == ScheduleOptions(max_attempts=7, timeout=20.0)
            assert u.next_run_at == next_local(9, "America/New_York"), "no new expression, same tick"

            # Trigger: a job now, with the schedule's args and options.
            job = await daily.trigger()
            assert await job.result(timeout=10) == "updated"
            assert "updated" in calls
            j = await job.details()
            assert (j.name, j.max_attempts, j.timeout_ms) == ("sched:report", 7, 20_000)
            trig = await r.trigger_schedule("every-5")
            assert await trig.result(timeout=10) == "five"

            # A decorator run while the client runs is declared at the next start().
            @r.schedule("@weekly", name="late")
            @r.durable("sched:late")
            def late() -> None: ...

            with pytest.raises(NotFoundError):
                await r.get_schedule("late")

            # Re-declaring is idempotent: same id, no new schedule; a paused one stays paused.
            await r.pause_schedule("daily-report")
            await r.stop()
            await r.start()  # declares the recorded schedules again
            again = await r.get_schedule("daily-report")
            assert again.id == s.id and again.status == "paused"
            assert (again.cron, again.timezone, again.args) == ("0 8 * * *", "Europe/Paris", ["daily"])
            assert again.options == ScheduleOptions(max_attempts=4, timeout=20.0)
            assert (await r.get_schedule("late")).function == "sched:late"
            assert (await r.list_schedules()).total == 4, "the late one only"
            redeclared = await report.schedule(
                "*/5 * * * *", name="every-5", args=["five"], missed="skip", overlap="skip", priority=3
            )
            assert redeclared.id_or_name == e.id
            # The stored tick is kept (unless the tick passed meanwhile and fired).
            assert (await redeclared.details()).next_run_at in (e.next_run_at, e.next_run_at + 300_000)
            assert (await r.list_schedules()).total == 4

            # Delete: NotFound after; the jobs it started stay.
            await hourly.delete()
            with pytest.raises(NotFoundError, match="hourly"):
                await r.get_schedule("hourly")
            with pytest.raises(NotFoundError):
                await hourly.delete()
            await r.delete_schedule(e.id)
            with pytest.raises(NotFoundError):
                await every5.details()
            with pytest.raises(NotFoundError):
                await r.trigger_schedule("every-5")
            assert [x.name for x in (await r.list_schedules()).schedules] == ["daily-report", "late"]
            assert (await trig.details()).status == "SUCCESS"

    asyncio.run(main())


def test_bad_input_is_refused_and_nothing_is_stored(url: str) -> None:
    async def main() -> None:
        r = Reseolio(url)

        @r.durable("sched:bad")
        def bad(n: int) -> int:
            return n

        kept = await bad.schedule("0 0 * * *", args=[1])
        before = await kept.details()

        with pytest.raises(InvalidArgumentError, match='"61" is out of range for minute'):
            await bad.schedule("61 * * * *", name="bad-minute")
        with pytest.raises(InvalidArgumentError, match="Mars/Olympus"):
            await r.schedule("sched:bad", "0 8 * * *", name="bad-zone", timezone="Mars/Olympus")
        with pytest.raises(InvalidArgumentError, match="found 3"):
            await bad.schedule("* * *", name="bad-fields")
        with pytest.raises(InvalidArgumentError, match="delay"):
            await bad.schedule("@daily", name="bad-delay", delay=5)
        with pytest.raises(InvalidArgumentError, match="idempotency_key"):
            await bad.schedule("@daily", name="bad-key", idempotency_key="k")
        with pytest.raises(InvalidArgumentError, match="colour"):
            await bad.schedule("@daily", name="bad-option", colour="red")
        with pytest.raises(InvalidArgumentError, match="missed"):
            await bad.schedule("@daily", name="bad-missed", missed="sometimes")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="list of the function's positional"):
            await bad.schedule("@daily", name="bad-args", args="1")
        with pytest.raises(InvalidArgumentError, match="JSON"):
            await bad.schedule("@daily", name="bad-json", args=[object()])

        # An update refused changes nothing.
        with pytest.raises(InvalidArgumentError, match='"61" is out of range for minute'):
            await kept.update(cron="61 * * * *")
        with pytest.raises(InvalidArgumentError, match="Mars/Olympus"):
            await r.update_schedule("sched:bad", timezone="Mars/Olympus")
        assert await kept.details() == before
        with pytest.raises(NotFoundError, match="no-such-schedule"):
            await r.update_schedule("no-such-schedule", cron="@daily")

        # The decorator: a bad expression fails start(), naming the schedule and the token.
        r2 = Reseolio(url)
        with pytest.raises(TypeError, match="above @durable"):

            @r2.durable("sched:bad2")
            @r2.schedule("@daily")  # type: ignore[arg-type]
            def wrong_order() -> None: ...

        @r2.schedule("61 * * * *")
        @r2.durable("sched:bad3")
        def bad3() -> None: ...

        with pytest.raises(InvalidArgumentError, match='"61" is out of range for minute') as err:
            await r2.start()
        assert "sched:bad3" in str(err.value)

        page = await r.list_schedules()
        assert page.total == 1 and [s.name for s in page.schedules] == ["sched:bad"]
        await r2.close()
        await r.close()

    asyncio.run(main())
