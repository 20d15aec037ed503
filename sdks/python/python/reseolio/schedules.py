"""Cron schedules: a schedule starts a job of a durable function at every tick of a cron
expression, in an IANA time zone (docs/schedules.md: expressions, daylight saving, policies).
The engine stores and fires them (on the leader node only); this module is the Python face:
``Schedule`` (what is stored), ``SchedulePage`` (a page of a listing), ``ScheduleHandle``
(operations on one schedule) and the calls behind ``Reseolio``'s schedule methods.

Times are Unix milliseconds, as on ``Job`` and ``LeaderInfo``; durations in job options are
seconds, as everywhere in the package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Generic,
    List,
    Literal,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    TypeVar,
)

from . import _bridge, _json, _native, _options
from .errors import InvalidArgumentError
from .handle import JobHandle

if TYPE_CHECKING:
    from .client import Reseolio

R = TypeVar("R")

Missed = Literal["run_latest", "skip"]
"""Ticks that passed while no leader ran: ``run_latest`` starts one catch-up job for the latest of
them; ``skip`` starts none for a tick more than 60 s late."""

Overlap = Literal["allow", "skip"]
"""``skip`` starts nothing while the schedule's previous job is PENDING, RUNNING or FAILED
(waiting for a retry); ``allow`` starts the tick's job anyway."""

ScheduleStatus = Literal["active", "paused"]

#: The job options a schedule carries. A delay, a run time or an idempotency key are the
#: schedule's to set for each tick and are refused.
SCHEDULE_OPTION_NAMES = frozenset(
    {"max_attempts", "backoff", "initial_delay", "max_delay", "jitter", "timeout", "priority"}
)


def job_options(options: Mapping[str, Any]) -> Dict[str, Any]:
    """Checks the names of a schedule's job options. Errors: InvalidArgumentError naming the
    option (nothing is stored)."""
    for refused in ("delay", "run_at", "idempotency_key"):
        if refused in options:
            raise InvalidArgumentError(
                f"a schedule's job options cannot set {refused}: the schedule sets it for each tick"
            )
    _options.to_native(dict(options))  # unknown names are refused here, by name
    return dict(options)


def defaults_of(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The options of a durable function that its schedules inherit: all but the per-call ones
    (delay, run_at, idempotency_key), which a schedule sets itself."""
    return {k: v for k, v in options.items() if k in SCHEDULE_OPTION_NAMES}


def _seconds(ms: Optional[int]) -> Optional[float]:
    return None if ms is None else ms / 1000


@dataclass(frozen=True)
class ScheduleOptions:
    """The job options of a schedule's jobs, as the job options of a call are given: durations in
    seconds. None leaves the engine's default (3 attempts, exponential backoff from 1 s capped at
    60 s, jitter 0.1, timeout 30 s, priority 0)."""

    max_attempts: Optional[int] = None
    backoff: Optional[str] = None
    initial_delay: Optional[float] = None
    max_delay: Optional[float] = None
    jitter: Optional[float] = None
    timeout: Optional[float] = None
    priority: Optional[int] = None

    def as_kwargs(self) -> Dict[str, Any]:
        """The options that are set, as keyword arguments of ``schedule`` / ``update``."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Schedule:
    """A schedule as stored. Times are Unix milliseconds."""

    id: str
    """Its id (a UUIDv7); kept when the schedule is declared again."""
    name: str
    """Its unique name (by default the function's name)."""
    function: str
    """The durable function its jobs run."""
    cron: str
    """The cron expression as declared."""
    timezone: str
    """The IANA time zone its ticks are computed in."""
    status: ScheduleStatus
    """``active`` or ``paused``."""
    args: List[Any]
    """The positional arguments of every job it starts."""
    options: ScheduleOptions
    """The job options of every job it starts."""
    missed: Missed
    overlap: Overlap
    next_run_at: int
    """The next tick it fires (while active)."""
    last_run_at: Optional[int]
    """The tick of the last job it started, None before the first."""
    last_job_id: Optional[str]
    """The last job it started (a tick's; a trigger's job is not recorded here)."""
    created_at: int
    """When it was first declared."""
    updated_at: int
    """When its definition or status last changed."""

    @staticmethod
    def _from_native(s: _native.Schedule) -> "Schedule":
        args: Any = _json.decode(s.args)
        return Schedule(
            id=s.id,
            name=s.name,
            function=s.function,
            cron=s.cron,
            timezone=s.timezone,
            status="paused" if s.status == "PAUSED" else "active",
            args=list(args) if isinstance(args, list) else [args],
            options=ScheduleOptions(
                max_attempts=s.max_attempts,
                backoff=s.backoff,
                initial_delay=_seconds(s.initial_delay_ms),
                max_delay=_seconds(s.max_delay_ms),
                jitter=s.jitter,
                timeout=_seconds(s.timeout_ms),
                priority=s.priority,
            ),
            missed="skip" if s.missed == "skip" else "run_latest",
            overlap="skip" if s.overlap == "skip" else "allow",
            next_run_at=s.next_run_at,
            last_run_at=s.last_run_at,
            last_job_id=s.last_job_id,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class SchedulePage(NamedTuple):
    """A page of schedules ordered by name, and how many match in all. Unpacks like the
    ``(jobs, total)`` of ``list_jobs``."""

    schedules: List[Schedule]
    total: int


def encode_args(name: str, args: Sequence[Any]) -> bytes:
    if isinstance(args, (str, bytes)):
        raise InvalidArgumentError(
            f"args of schedule {name!r} must be a list of the function's positional arguments, "
            f"got {type(args).__name__}"
        )
    return _json.encode_args(name, args)


async def declare(
    reseolio: "Reseolio",
    function: str,
    cron: str,
    *,
    timezone: str,
    args: Sequence[Any],
    name: Optional[str],
    missed: str,
    overlap: str,
    options: Mapping[str, Any],
) -> Schedule:
    """Creates the schedule, or updates the one of that name (its id, status and history stay)."""
    native = _options.to_native(job_options(options))
    n: _native.Schedule = await _bridge.call(
        reseolio._native().schedule_declare,
        name or "",
        function,
        cron,
        timezone,
        encode_args(name or function, args),
        native,
        missed,
        overlap,
    )
    return Schedule._from_native(n)


async def get(reseolio: "Reseolio", id_or_name: str) -> Schedule:
    n: _native.Schedule = await _bridge.call(reseolio._native().schedule_get, id_or_name)
    return Schedule._from_native(n)


async def list_page(
    reseolio: "Reseolio", status: Optional[str], limit: int, offset: int
) -> SchedulePage:
    found: Any = await _bridge.call(reseolio._native().schedule_list, status, limit, offset)
    schedules, total = found
    return SchedulePage([Schedule._from_native(s) for s in schedules], total)


async def update(
    reseolio: "Reseolio",
    id_or_name: str,
    *,
    cron: Optional[str],
    timezone: Optional[str],
    args: Optional[Sequence[Any]],
    missed: Optional[str],
    overlap: Optional[str],
    options: Mapping[str, Any],
) -> Schedule:
    """None keeps a value. Job options given are merged over the stored ones (an option given as
    None goes back to the engine's default); with none given the stored ones stay."""
    native: Optional[Dict[str, Any]] = None
    if options:
        given = job_options(options)
        current = await get(reseolio, id_or_name)
        native = _options.to_native({**current.options.as_kwargs(), **given})
    n: _native.Schedule = await _bridge.call(
        reseolio._native().schedule_update,
        id_or_name,
        cron,
        timezone,
        None if args is None else encode_args(id_or_name, args),
        native,
        missed,
        overlap,
    )
    return Schedule._from_native(n)


async def set_paused(reseolio: "Reseolio", id_or_name: str, paused: bool) -> Schedule:
    c = reseolio._native()
    n: _native.Schedule = await _bridge.call(
        c.schedule_pause if paused else c.schedule_resume, id_or_name
    )
    return Schedule._from_native(n)


async def delete(reseolio: "Reseolio", id_or_name: str) -> None:
    await _bridge.call(reseolio._native().schedule_delete, id_or_name)


async def trigger(reseolio: "Reseolio", id_or_name: str) -> JobHandle[Any]:
    job_id, deduplicated = await _bridge.call(reseolio._native().schedule_trigger, id_or_name)
    return JobHandle(reseolio, job_id, deduplicated)


class ScheduleHandle(Generic[R]):
    """A schedule, by id or by name. Cheap; holds only the key and the client, and reads or
    changes the stored schedule on every call. ``R`` is the result type of the jobs it starts when
    it came from a durable function. Errors of every call: NotFoundError once the schedule is
    deleted; UnavailableError."""

    def __init__(self, reseolio: "Reseolio", id_or_name: str) -> None:
        self._reseolio = reseolio
        #: The id or name the handle is bound to. A handle returned by a declaration is bound to
        #: the schedule's id.
        self.id_or_name = id_or_name

    def __repr__(self) -> str:
        return f"ScheduleHandle({self.id_or_name!r})"

    async def details(self) -> Schedule:
        """Everything the engine stores about the schedule."""
        return await get(self._reseolio, self.id_or_name)

    async def status(self) -> ScheduleStatus:
        """``active`` or ``paused``."""
        return (await self.details()).status

    async def next_run_at(self) -> int:
        """The next tick, Unix ms (while active)."""
        return (await self.details()).next_run_at

    async def last_run_at(self) -> Optional[int]:
        """The tick of the last job the schedule started, Unix ms; None before the first."""
        return (await self.details()).last_run_at

    async def pause(self) -> Schedule:
        """No tick fires until resumed. Pausing a paused schedule changes nothing."""
        return await set_paused(self._reseolio, self.id_or_name, True)

    async def resume(self) -> Schedule:
        """Fires again from the first tick after now: the ticks that passed while it was paused
        start nothing."""
        return await set_paused(self._reseolio, self.id_or_name, False)

    async def update(
        self,
        *,
        cron: Optional[str] = None,
        timezone: Optional[str] = None,
        args: Optional[Sequence[Any]] = None,
        missed: Optional[Missed] = None,
        overlap: Optional[Overlap] = None,
        **options: Any,
    ) -> Schedule:
        """See ``Reseolio.update_schedule``."""
        return await update(
            self._reseolio,
            self.id_or_name,
            cron=cron,
            timezone=timezone,
            args=args,
            missed=missed,
            overlap=overlap,
            options=options,
        )

    async def delete(self) -> None:
        """Deletes the schedule; the jobs it started stay."""
        await delete(self._reseolio, self.id_or_name)

    async def trigger(self) -> JobHandle[R]:
        """Starts a job now, outside the ticks (paused or not), with the schedule's args and job
        options; its ticks are unaffected."""
        h: JobHandle[Any] = await trigger(self._reseolio, self.id_or_name)
        return h
