"""Reseolio: the client, the registry of durable functions and the worker."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Literal,
    Protocol,
    Union,
    cast,
    overload,
)

from . import _bridge, _json, _native, _options, schedules
from . import details as _details
from ._sync import run_sync
from ._worker import FailureHook, Hook, WorkerLoop
from .details import JobDetails, Step
from .durable import DurableFunction, P, R
from .errors import InvalidArgumentError, ReseolioError
from .handle import JobHandle
from .leader import LeaderInfo
from .schedules import Missed, Overlap, Schedule, ScheduleHandle, SchedulePage

if TYPE_CHECKING:
    from ._native import Job

T = TypeVar("T")

DEFAULT_URL = "sqlite:///./reseolio.db"


class DurableDecorator(Protocol):
    """What ``Reseolio.durable(name)`` returns: applied to a handler, a DurableFunction with the
    handler's parameters and (awaited) return type."""

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> DurableFunction[P, R]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> DurableFunction[P, R]: ...


class ScheduleDecorator(Protocol):
    """What ``Reseolio.schedule(cron, ...)`` returns: applied to a DurableFunction (placed above
    ``@r.durable(...)``), records the schedule and returns the function unchanged."""

    def __call__(self, fn: DurableFunction[P, R]) -> DurableFunction[P, R]: ...


@dataclass(frozen=True)
class _Declaration:
    """A schedule recorded by the ``@r.schedule`` decorator, declared by ``start()``."""

    function: str
    cron: str
    timezone: str
    args: Tuple[Any, ...]
    name: Optional[str]
    missed: str
    overlap: str
    options: Dict[str, Any]


class Reseolio:
    """A Reseolio client: ``Reseolio("sqlite:///./reseolio.db")`` (embedded engine, the
    default), ``"postgres://user:pass@host/db"`` (``?schema=name``, default ``reseolio``) or
    ``"grpc://host:port"`` (a sidecar).

    Declare durable functions with :meth:`durable`; :meth:`start` (or ``async with``) starts the
    worker that runs them. One client per process: after ``fork()`` create a new one."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        concurrency: int = 10,
        token: Optional[str] = None,
        poll_interval: Optional[float] = None,
        max_payload_bytes: Optional[int] = None,
        retention: Optional[float] = None,
        shutdown_grace: float = 10.0,
        threads: Optional[int] = None,
        on_start: Optional[Hook] = None,
        on_success: Optional[Hook] = None,
        on_failure: Optional[FailureHook] = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidArgumentError(f"concurrency must be >= 1, got {concurrency}")
        self.url = url
        self._pid = os.getpid()
        self._client = _native.Client.connect(
            url,
            poll_interval_ms=None if poll_interval is None else int(poll_interval * 1000),
            max_payload_bytes=max_payload_bytes,
            retention_secs=None if retention is None else (0 if retention <= 0 else max(1, int(retention))),
            token=token,
        )
        self._concurrency = concurrency
        self._threads = threads or concurrency
        self._shutdown_grace = shutdown_grace
        self._hooks = (on_start, on_success, on_failure)
        self._functions: Dict[str, DurableFunction[Any, Any]] = {}
        self._schedules: Dict[str, _Declaration] = {}
        self._worker: Optional[_native.Worker] = None
        self._loop: Optional[WorkerLoop] = None
        self._loop_task: Optional["asyncio.Task[None]"] = None

    def _native(self) -> _native.Client:
        if os.getpid() != self._pid:
            raise ReseolioError(
                f"this Reseolio client was created in process {self._pid} and cannot be used "
                f"after fork() in process {os.getpid()}; create a new client in the child"
            )
        return self._client

    # --- durable functions -------------------------------------------------------------------

    def durable(self, name: str, **options: Any) -> "DurableDecorator":
        """Makes a function durable under ``name`` (namespace it, e.g. ``"billing:invoice:send"``).
        Options: ``max_attempts``, ``backoff`` ("fixed" | "linear" | "exponential"),
        ``initial_delay``, ``max_delay``, ``timeout`` (seconds), ``jitter`` (0 to 1),
        ``priority``. ``async def`` handlers run on the event loop; plain ``def`` ones in a
        thread pool."""
        _options.to_native(options)  # unknown names fail here, at declaration

        def wrap(fn: Callable[..., Any]) -> DurableFunction[Any, Any]:
            if name in self._functions:
                raise InvalidArgumentError(f"a durable function named {name!r} is already registered")
            f: DurableFunction[Any, Any] = DurableFunction(self, name, fn, options)
            self._functions[name] = f
            return f

        return cast(DurableDecorator, wrap)

    async def _enqueue_handle(
        self, name: str, args: Sequence[Any], options: Dict[str, Any]
    ) -> JobHandle[Any]:
        payload = _json.encode_args(name, args)
        job_id, deduplicated = await _bridge.call(
            self._native().enqueue, name, payload, _options.to_native(options)
        )
        return JobHandle(self, job_id, deduplicated)

    async def enqueue(self, name: str, *args: Any, **options: Any) -> JobHandle[Any]:
        """Enqueues a job for a function by name (it may be declared in another process or
        language)."""
        return await self._enqueue_handle(name, args, options)

    def handle(self, job_id: str) -> JobHandle[Any]:
        """A handle for a job id kept from earlier (another process, before a restart)."""
        return JobHandle(self, job_id)

    # --- jobs ---------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobDetails:
        """The job with its durable steps. Errors: NotFoundError."""
        return await _details.details(self, job_id)

    async def steps(self, job_id: str) -> List[Step]:
        """Every recorded durable step of a job, in call order. Errors: NotFoundError."""
        return await _details.steps(self, job_id)

    # --- events -------------------------------------------------------------------------------

    async def send_event(self, key: str, payload: Any = None) -> int:
        """Sends an event: stores the JSON ``payload`` under ``key`` (a later send replaces it)
        and resumes every job waiting for it in ``wait_for_event``; a wait that starts later
        receives it at once. Durable when it returns; returns how many waiting jobs were woken.
        Usable anywhere, also from a handler (where it is not a step: a re-run sends again).
        Errors: InvalidArgumentError for an empty key, a key over 200 bytes, a payload JSON
        cannot carry or one over the size limit."""
        try:
            data = _json.encode_result(payload)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(
                f"the payload of event {key!r} cannot be stored as JSON: {e}"
            ) from None
        woken: int = await _bridge.call(self._native().event_send, key, data)
        return woken

    async def list_jobs(
        self,
        *,
        statuses: Sequence[str] = (),
        names: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
        order_by: str = "created_at",
        ascending: bool = False,
    ) -> Tuple[List["Job"], int]:
        """A page of jobs and the total number that match."""
        page: Tuple[List["Job"], int] = await _bridge.call(
            self._native().list, list(statuses), list(names), limit, offset, order_by, ascending
        )
        return page

    async def cancel_job(self, job_id: str) -> "Job":
        job: "Job" = await _bridge.call(self._native().cancel, job_id)
        return job

    async def retry_job(self, job_id: str) -> "Job":
        job: "Job" = await _bridge.call(self._native().retry, job_id)
        return job

    # --- nodes ----------------------------------------------------------------------------------

    async def leader(self) -> LeaderInfo:
        """Who leads the nodes sharing the store (runs the rescuer, the pruner and the scheduler
        for all), and which node this client talks to: the embedded engine, or the sidecar's
        engine. A read; the first maintenance pass of a node, right at its start, elects one when
        there is none."""
        n: _native.LeaderInfo = await _bridge.call(self._native().leader)
        return LeaderInfo._from_native(n)

    # --- schedules ----------------------------------------------------------------------------

    @overload
    def schedule(
        self,
        cron: str,
        /,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        name: Optional[str] = None,
        missed: Missed = "run_latest",
        overlap: Overlap = "allow",
        **options: Any,
    ) -> ScheduleDecorator: ...

    @overload
    def schedule(
        self,
        function: DurableFunction[P, R],
        cron: str,
        /,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        name: Optional[str] = None,
        missed: Missed = "run_latest",
        overlap: Overlap = "allow",
        **options: Any,
    ) -> Awaitable[ScheduleHandle[R]]: ...

    @overload
    def schedule(
        self,
        function: str,
        cron: str,
        /,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        name: Optional[str] = None,
        missed: Missed = "run_latest",
        overlap: Overlap = "allow",
        **options: Any,
    ) -> Awaitable[ScheduleHandle[Any]]: ...

    def schedule(
        self,
        first: Any,
        cron: Optional[str] = None,
        /,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        name: Optional[str] = None,
        missed: str = "run_latest",
        overlap: str = "allow",
        **options: Any,
    ) -> Union[ScheduleDecorator, Awaitable[ScheduleHandle[Any]]]:
        """A cron schedule: a job of a durable function at every tick of ``cron`` (5 fields, 6
        with seconds first, or ``@daily`` and the like) in the IANA ``timezone``, with the
        positional ``args`` and the job options given (``max_attempts``, ``backoff``,
        ``initial_delay``, ``max_delay``, ``jitter``, ``timeout``, ``priority``; for a durable
        function its own options are the defaults). ``name`` is unique per store (default: the
        function's name); ``missed`` and ``overlap`` are the policies of docs/schedules.md.

        Two forms:

        - ``await r.schedule(fn_or_name, cron, ...)`` declares now and returns a
          ``ScheduleHandle`` bound to the schedule's id.
        - ``@r.schedule(cron, ...)`` above ``@r.durable(...)`` records the schedule; ``start()``
          (and ``async with r``, ``run()``) declares every recorded one, before starting the
          worker. A decorator run after ``start()`` is declared at the next ``start()``, as a
          durable function declared after ``start()`` is run by the next worker; declare at
          once with ``await fn.schedule(...)``.

        Declaring a name that exists updates that schedule (its id, status and history stay), so
        declaring at every start of an app neither duplicates nor skips a tick. Errors:
        InvalidArgumentError naming the token of a bad expression, the zone, the option, or a
        per-call option (``delay``, ``run_at``, ``idempotency_key``); nothing is stored then. The
        decorator checks the option names and the args at once, the rest at ``start()``."""
        if cron is None:
            if not isinstance(first, str):
                raise TypeError(
                    "@schedule takes the cron expression, e.g. @r.schedule(\"0 8 * * *\"); "
                    f"got {first!r}"
                )
            return self._schedule_decorator(first, timezone, args, name, missed, overlap, options)
        if isinstance(first, DurableFunction):
            return first.schedule(
                cron,
                timezone=timezone,
                args=args,
                name=name,
                missed=cast(Missed, missed),
                overlap=cast(Overlap, overlap),
                **options,
            )
        return self._declare_schedule(
            first,
            cron,
            timezone=timezone,
            args=args,
            name=name,
            missed=missed,
            overlap=overlap,
            options=options,
        )

    async def _declare_schedule(
        self,
        function: str,
        cron: str,
        *,
        timezone: str,
        args: Sequence[Any],
        name: Optional[str],
        missed: str,
        overlap: str,
        options: Dict[str, Any],
    ) -> ScheduleHandle[Any]:
        s = await schedules.declare(
            self,
            function,
            cron,
            timezone=timezone,
            args=args,
            name=name,
            missed=missed,
            overlap=overlap,
            options=options,
        )
        return ScheduleHandle(self, s.id)

    def _schedule_decorator(
        self,
        cron: str,
        timezone: str,
        args: Sequence[Any],
        name: Optional[str],
        missed: str,
        overlap: str,
        options: Dict[str, Any],
    ) -> ScheduleDecorator:
        # Unknown or per-call option names and args JSON cannot carry fail at decoration.
        schedules.job_options(options)

        def record(fn: DurableFunction[P, R]) -> DurableFunction[P, R]:
            if not isinstance(fn, DurableFunction):
                raise TypeError(
                    f"@schedule({cron!r}) goes above @durable(...): it takes a durable function, "
                    f"got {fn!r}"
                )
            key = name or fn.name
            schedules.encode_args(key, args)
            if key in self._schedules:
                raise InvalidArgumentError(
                    f"a schedule named {key!r} is already recorded on this client; give the "
                    "other one a name=..."
                )
            self._schedules[key] = _Declaration(
                function=fn.name,
                cron=cron,
                timezone=timezone,
                args=tuple(args),
                name=name,
                missed=missed,
                overlap=overlap,
                options={**schedules.defaults_of(fn.default_options), **options},
            )
            return fn

        return record

    async def _declare_recorded(self) -> None:
        for key, d in self._schedules.items():
            try:
                await schedules.declare(
                    self,
                    d.function,
                    d.cron,
                    timezone=d.timezone,
                    args=d.args,
                    name=d.name,
                    missed=d.missed,
                    overlap=d.overlap,
                    options=d.options,
                )
            except InvalidArgumentError as e:
                raise InvalidArgumentError(f"schedule {key!r}: {e}") from e

    def schedule_handle(self, id_or_name: str) -> ScheduleHandle[Any]:
        """A handle for a schedule by id or name (no call is made until it is used)."""
        return ScheduleHandle(self, id_or_name)

    async def get_schedule(self, id_or_name: str) -> Schedule:
        """The schedule with that id or name. Errors: NotFoundError naming it."""
        return await schedules.get(self, id_or_name)

    async def list_schedules(
        self,
        *,
        status: Optional[Literal["active", "paused"]] = None,
        limit: int = 100,
        offset: int = 0,
    ) -> SchedulePage:
        """A page of schedules ordered by name (``limit`` 1 to 1000), only those with ``status``
        when given, and the total number that match."""
        return await schedules.list_page(self, status, limit, offset)

    async def update_schedule(
        self,
        id_or_name: str,
        *,
        cron: Optional[str] = None,
        timezone: Optional[str] = None,
        args: Optional[Sequence[Any]] = None,
        missed: Optional[Missed] = None,
        overlap: Optional[Overlap] = None,
        **options: Any,
    ) -> Schedule:
        """Changes a schedule; None keeps a value. A new expression or zone starts from the first
        tick after now. Job options given are merged over the stored ones (one given as None goes
        back to the engine's default). Errors: NotFoundError; InvalidArgumentError as for a
        declaration (nothing is changed then)."""
        return await schedules.update(
            self,
            id_or_name,
            cron=cron,
            timezone=timezone,
            args=args,
            missed=missed,
            overlap=overlap,
            options=options,
        )

    async def pause_schedule(self, id_or_name: str) -> Schedule:
        """No tick fires until resumed. Errors: NotFoundError."""
        return await schedules.set_paused(self, id_or_name, True)

    async def resume_schedule(self, id_or_name: str) -> Schedule:
        """Fires again from the first tick after now. Errors: NotFoundError."""
        return await schedules.set_paused(self, id_or_name, False)

    async def delete_schedule(self, id_or_name: str) -> None:
        """Deletes a schedule; the jobs it started stay. Errors: NotFoundError."""
        await schedules.delete(self, id_or_name)

    async def trigger_schedule(self, id_or_name: str) -> JobHandle[Any]:
        """Starts a job of the schedule now, outside its ticks, with its args and job options.
        Errors: NotFoundError."""
        return await schedules.trigger(self, id_or_name)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Declares the schedules recorded by ``@schedule`` (a bad one raises
        ``InvalidArgumentError`` naming it, and no worker starts), then starts the worker for the
        declared durable functions (nothing to run: no worker)."""
        if self._loop_task is not None:
            return
        await self._declare_recorded()
        if not self._functions:
            return
        self._worker = await _bridge.call(
            self._native().worker, list(self._functions), self._concurrency
        )
        on_start, on_success, on_failure = self._hooks
        self._loop = WorkerLoop(
            self,
            self._worker,
            {n: f.handler for n, f in self._functions.items()},
            self._threads,
            on_start,
            on_success,
            on_failure,
        )
        self._loop_task = asyncio.ensure_future(self._loop.run())

    async def stop(self) -> None:
        """Stops the worker: no new jobs; running handlers get ``shutdown_grace`` seconds, then
        their jobs are handed back to run again."""
        worker, loop, loop_task = self._worker, self._loop, self._loop_task
        self._worker = self._loop = self._loop_task = None
        if worker is not None and loop is not None and loop_task is not None:
            try:
                # The native worker stops claiming at once, waits the grace period for held jobs
                # to be completed, then hands back the rest; that ends the poll loop too.
                await _bridge.call(worker.shutdown, self._shutdown_grace)
                await loop_task
            finally:
                await loop.finish()

    async def close(self) -> None:
        """Stops the worker and closes the engine."""
        await self.stop()
        await _bridge.call(self._native().close)

    async def __aenter__(self) -> "Reseolio":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def run(self, main: Optional[Callable[[], Awaitable[T]]] = None) -> Optional[T]:
        """For scripts and services: starts the worker, runs ``main()`` if given (else runs until
        interrupted), then stops."""

        async def go() -> Optional[T]:
            async with self:
                if main is not None:
                    return await main()
                await asyncio.Event().wait()
                return None

        try:
            return run_sync(go())
        except KeyboardInterrupt:
            return None
