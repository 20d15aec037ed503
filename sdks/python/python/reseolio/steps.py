"""Durable steps: the step context of one attempt of a job.

A handler calls steps through its ``JobContext`` (``reseolio.current_job()``): run code once
(``step``), sleep (``sleep``, ``sleep_until``), wait for an event (``wait_for_event``), start and
join child jobs (``start_child``, ``join``, ``join_all``, ``child``). Each call takes the next
place ``seq`` (from 0, in call order) when it is made, before it is awaited, so that
``asyncio.gather`` of steps gives them places in call order. The first run of a place records
its outcome; every later run of the job (a retry, a restart, a resume after a sleep) gets the
recorded outcome back instead of running the code again.

A wait that is not over suspends the job: the engine hands it back (PENDING until it wakes, no
worker slot held) and the call raises ``Suspended``, a ``BaseException`` that unwinds the handler
past ``except Exception``. The worker then reports the suspension and runs no hook; the job runs
again from the top when the wait is over, replaying the recorded steps.

Steps do not nest: while a step's code runs, every step call raises ``InvalidArgumentError``
(a replay skips the code of a recorded step, so a step inside it would lose its place and shift
every later one)."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as _dt
import inspect
import math
import time
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    List,
    Literal,
    Optional,
    Sequence,
    Set,
    TypeVar,
)

from . import _bridge, _json
from .durable import DurableFunction, P
from .errors import (
    ConflictError,
    EventTimeoutError,
    InvalidArgumentError,
    JobCancelledError,
    JobFailedError,
    NonRetryable,
    StepError,
    StepOrderError,
)
from .handle import JobHandle

if TYPE_CHECKING:
    from . import _native
    from .client import Reseolio

R = TypeVar("R")

Backoff = Literal["exponential", "linear", "fixed"]
BACKOFFS = ("exponential", "linear", "fixed")

# The engine's limits (reseolio-core): a step name is a name (at most 255 bytes), an event key is
# at most 200 bytes (room for the "event:" of its step name).
MAX_STEP_NAME_BYTES = 255
MAX_EVENT_KEY_BYTES = 200
# A step's recorded error is cut to this (the engine's default payload limit is 1 MiB) and, if the
# engine still refuses it (a smaller limit), to the short size, as the worker does with job errors.
MAX_STEP_ERROR_BYTES = 64 * 1024
SHORT_STEP_ERROR_BYTES = 4096

#: The name of the step whose code runs in this context (a task, or a thread it started), if any.
_running_step: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar(
    "reseolio_running_step", default=None
)


class Suspended(BaseException):
    """Raised by a step call when the job was suspended (a sleep, an event or a child job that
    is not over): the engine already handed the job back, and the handler must stop. A
    ``BaseException``, so that ``except Exception`` does not catch it; code that catches
    ``BaseException`` must raise it again (the worker knows of the suspension anyway)."""


class ChildHandle(JobHandle[R]):
    """The handle of a child job started with ``start_child``: a ``JobHandle`` that also knows
    the durable function's name (its ``join`` step is named after it)."""

    def __init__(self, reseolio: "Reseolio", job_id: str, function: str) -> None:
        super().__init__(reseolio, job_id)
        self.function = function

    def __repr__(self) -> str:
        return f"ChildHandle({self.job_id!r}, {self.function!r})"


@dataclass(frozen=True)
class _Retry:
    max_attempts: int
    backoff: str
    initial_delay_ms: int
    max_delay_ms: int

    @classmethod
    def of(cls, max_attempts: int, backoff: str, initial_delay_ms: int, max_delay_ms: int) -> "_Retry":
        for field, value, least in (
            ("max_attempts", max_attempts, 1),
            ("initial_delay_ms", initial_delay_ms, 0),
            ("max_delay_ms", max_delay_ms, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidArgumentError(f"step {field} must be an integer >= {least}, got {value!r}")
        if backoff not in BACKOFFS:
            raise InvalidArgumentError(
                f"step backoff must be one of {', '.join(BACKOFFS)}; got {backoff!r}"
            )
        return cls(max_attempts, backoff, initial_delay_ms, max_delay_ms)

    def delay_ms(self, failed: int) -> int:
        """The wait after the ``failed``-th try (from 1), as the engine's job backoff."""
        d = self.initial_delay_ms
        if self.backoff == "linear":
            d *= failed
        elif self.backoff == "exponential":
            d *= 2 ** min(failed - 1, 62)
        return min(d, self.max_delay_ms)


_ONCE = _Retry(1, "fixed", 0, 0)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _order_changed(job_id: str, seq: int, recorded: str, called: str) -> StepOrderError:
    # The engine's text (reseolio-core job/step.rs), word for word.
    return StepOrderError(
        f"step order changed in job '{job_id}': step {seq} was recorded as '{recorded}' but this "
        f"run calls '{called}' there; a durable function must call its steps in the same order "
        "on every run"
    )


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {name!r}")


def _check_step_name(name: str) -> None:
    """Refuses a step name the engine would refuse, before the step takes a place or runs code."""
    size = len(name.encode("utf-8"))
    if size > MAX_STEP_NAME_BYTES:
        raise InvalidArgumentError(
            f"step name '{name[:40]}...' is {size} bytes; the limit is {MAX_STEP_NAME_BYTES}"
        )


def _not_nested(call: str) -> None:
    """Refuses a step call made while a step's code runs (see the module docstring)."""
    outer = _running_step.get()
    if outer is not None:
        raise InvalidArgumentError(
            f"ctx.{call} was called inside the code of step '{outer}'; steps cannot nest (a "
            "replay skips the code of a recorded step, so the inner call would lose its place "
            f"and shift every later step): call it from the handler, before or after step '{outer}'"
        )


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, with a marker when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = f" [... truncated: {len(data)} bytes in all]"
    return data[: limit - len(marker)].decode("utf-8", errors="ignore") + marker


def _seconds(what: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidArgumentError(f"{what} must be a number of seconds >= 0, got {value!r}")
    return float(value)


async def _invoke(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    """Runs a step's code: a coroutine function on the loop, a plain function in a thread (so
    that it does not stall the loop and the leases it keeps alive)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    value = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(value):
        value = await value
    return value


async def _run_as_step(name: str, body: Callable[[], Awaitable[R]]) -> R:
    """Runs a step's code with the step's name in ``_running_step`` (a thread it runs in gets a
    copy of the context), so that a step call from inside it is refused."""
    running = _running_step.set(name)
    try:
        return await body()
    finally:
        _running_step.reset(running)


async def _in_order(calls: List[Coroutine[Any, Any, R]]) -> List[R]:
    out: List[R] = []
    try:
        for c in calls:
            out.append(await c)
        return out
    finally:
        for c in calls:
            c.close()  # the ones never started (after a suspension or an error)


class StepContext:
    """The steps of one attempt of a job: the place counter, the recorded steps (read once, on
    the first step call), and the suspension flag the worker reads when the handler ends.
    ``JobContext`` delegates its step methods here."""

    def __init__(self, reseolio: "Reseolio", job_id: str, token: str) -> None:
        self._reseolio = reseolio
        self.job_id = job_id
        self._token = token
        self._seq = 0
        self._recorded: Optional["asyncio.Future[Dict[int, _native.Step]]"] = None
        self._waits: Set["asyncio.Future[Any]"] = set()
        #: True once a wait suspended the job: the handler must stop.
        self.suspended = False
        #: The first step order error of the attempt: the job ends DEAD with it, whatever the
        #: handler did with the error.
        self.order_error: Optional[StepOrderError] = None

    # --- places and the recorded history -----------------------------------------------------

    def _next_seq(self) -> int:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "durable steps are awaited: call them from an async def handler (a plain def "
                "handler runs in a thread without an event loop)"
            ) from None
        seq = self._seq
        self._seq += 1
        return seq

    def _raise_if_suspended(self) -> None:
        if self.suspended:
            raise Suspended(f"job {self.job_id} is suspended")

    async def _load(self) -> Dict[int, "_native.Step"]:
        steps: List["_native.Step"] = await _bridge.call(
            self._reseolio._native().steps, self.job_id
        )
        return {s.seq: s for s in steps}

    async def _journal(self) -> Dict[int, "_native.Step"]:
        """The recorded steps by place, read on the first call of the attempt (parallel first
        calls share the read)."""
        self._raise_if_suspended()
        loading = self._recorded
        if loading is None:
            loading = self._recorded = asyncio.ensure_future(self._load())
        try:
            recorded = await asyncio.shield(loading)
        except Exception:
            if self._recorded is loading and loading.done():
                self._recorded = None  # the next call reads again
            raise
        self._raise_if_suspended()  # a parallel call suspended the job meanwhile
        return recorded

    async def _replay(self, seq: int, name: str, kind: str) -> Optional["_native.Step"]:
        """The step recorded at ``seq``, after checking that it is this call (name and kind)."""
        s = (await self._journal()).get(seq)
        if s is not None and (s.name != name or s.kind != kind):
            raise self._order_changed(
                _order_changed(self.job_id, seq, f"{s.name} ({s.kind})", f"{name} ({kind})")
            )
        return s

    def _order_changed(self, e: StepOrderError) -> StepOrderError:
        if self.order_error is None:
            self.order_error = e
        return e

    async def _engine(self, call: "Awaitable[Any]") -> Any:
        """Awaits a step call to the engine. A stale lease while the job is (being) suspended by
        a parallel wait counts as the suspension; otherwise it means the lease was lost."""
        try:
            return await call
        except StepOrderError as e:
            self._order_changed(e)
            raise
        except ConflictError as e:
            if not str(e).startswith("stale lease token"):
                raise
            if self._waits:
                await asyncio.wait(set(self._waits))
            self._raise_if_suspended()
            raise

    async def _wait(self, seq: int, name: str, kind: str, key: Optional[str], at_ms: Optional[int]) -> "_native.Step":
        self._raise_if_suspended()
        call = asyncio.ensure_future(
            _bridge.call(
                self._reseolio._native().step_wait, self._token, seq, name, kind, key, at_ms
            )
        )
        self._waits.add(call)
        try:
            r = await self._engine(call)
        finally:
            self._waits.discard(call)
        if isinstance(r, int):  # suspended until r (Unix ms)
            self.suspended = True
            self._raise_if_suspended()
        step: "_native.Step" = r
        return step

    # --- run steps ------------------------------------------------------------------------------

    def step(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        max_attempts: int = 1,
        backoff: str = "exponential",
        initial_delay_ms: int = 100,
        max_delay_ms: int = 10_000,
    ) -> Coroutine[Any, Any, Any]:
        _not_nested("step")
        _check_name("step name", name)
        _check_step_name(name)
        if not callable(fn):
            raise TypeError(f"step {name!r} takes a function to run, got {fn!r}")
        retry = _Retry.of(max_attempts, backoff, initial_delay_ms, max_delay_ms)
        seq = self._next_seq()
        return self._run(seq, name, lambda: _invoke(fn, args), retry)

    async def _run(
        self, seq: int, name: str, body: Callable[[], Awaitable[Any]], retry: _Retry
    ) -> Any:
        recorded = await self._replay(seq, name, "run")
        if recorded is not None and recorded.status != "WAITING":
            return _outcome(name, recorded, None)
        started_at = _now_ms()
        tries = 0
        cause: Optional[BaseException] = None
        result: Optional[bytes] = None
        error: Optional[str] = None
        while True:
            tries += 1
            try:
                value = await _run_as_step(name, body)
            except Exception as e:  # noqa: BLE001 - the code's failure is data
                if isinstance(e, NonRetryable) or tries >= retry.max_attempts:
                    cause, error = e, _error_text(e)
                    break
                await asyncio.sleep(retry.delay_ms(tries) / 1000)
                self._raise_if_suspended()  # a parallel wait suspended the job meanwhile
                continue
            try:
                result = _json.encode_result(value)
            except (TypeError, ValueError) as e:
                cause, error = e, f"the result of step {name!r} cannot be stored as JSON: {e}"
            break
        self._raise_if_suspended()
        if error is not None:
            error = _truncate(error, MAX_STEP_ERROR_BYTES)
        native = self._reseolio._native()

        def record(result: Optional[bytes], error: Optional[str]) -> "Awaitable[Any]":
            return self._engine(
                _bridge.call(
                    native.step_record, self._token, seq, name, result, error, tries, started_at
                )
            )

        try:
            step = await record(result, error)
        except InvalidArgumentError as e:
            # Over the payload limit (the engine's may be set lower; a sidecar's is not known
            # here). A step left unrecorded would run again on every run of the job: a result is
            # recorded as the step's failure instead, an error is cut shorter.
            if result is not None:
                error = f"the result of step {name!r} could not be stored: {e}"
            elif error is None or len(error.encode("utf-8")) <= SHORT_STEP_ERROR_BYTES:
                raise
            result, error = None, _truncate(error, SHORT_STEP_ERROR_BYTES)
            step = await record(None, error)
        # The cause is this run's exception only when the record is this run's failure.
        return _outcome(name, step, cause if step.error == error else None)

    # --- sleeps ----------------------------------------------------------------------------------

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]:
        _not_nested("sleep")
        until = _now_ms() + int(round(_seconds("sleep", seconds) * 1000))
        return self._sleep(self._next_seq(), until)

    def sleep_until(self, when: _dt.datetime) -> Coroutine[Any, Any, None]:
        _not_nested("sleep_until")
        if not isinstance(when, _dt.datetime) or when.tzinfo is None:
            raise InvalidArgumentError(
                f"sleep_until takes a timezone-aware datetime, got {when!r}"
            )
        return self._sleep(self._next_seq(), int(when.timestamp() * 1000))

    async def _sleep(self, seq: int, until_ms: int) -> None:
        recorded = await self._replay(seq, "sleep", "sleep")
        if recorded is None or recorded.status == "WAITING":
            await self._wait(seq, "sleep", "sleep", None, until_ms)

    # --- events ----------------------------------------------------------------------------------

    def wait_for_event(self, key: str, timeout: Optional[float] = None) -> Coroutine[Any, Any, Any]:
        _not_nested("wait_for_event")
        _check_name("event key", key)
        size = len(key.encode("utf-8"))
        if size > MAX_EVENT_KEY_BYTES:
            raise InvalidArgumentError(
                f"event key '{key[:40]}...' is {size} bytes; the limit is {MAX_EVENT_KEY_BYTES}"
            )
        timeout_at = None
        if timeout is not None:
            timeout_at = _now_ms() + int(round(_seconds("timeout", timeout) * 1000))
        return self._event(self._next_seq(), key, timeout_at)

    async def _event(self, seq: int, key: str, timeout_at_ms: Optional[int]) -> Any:
        name = f"event:{key}"
        s = await self._replay(seq, name, "event")
        if s is None or s.status == "WAITING":
            s = await self._wait(seq, name, "event", key, timeout_at_ms)
        if s.status == "SUCCESS":
            return _json.decode(s.result or b"")
        raise EventTimeoutError(key, s.error or f"timed out waiting for event '{key}'")

    # --- child jobs ------------------------------------------------------------------------------

    def start_child(
        self, fn: DurableFunction[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, ChildHandle[R]]:
        _not_nested("start_child")
        return self._start_child_call(fn, args, kwargs)

    def _start_child_call(
        self, fn: DurableFunction[P, R], args: Sequence[Any], kwargs: Dict[str, Any]
    ) -> Coroutine[Any, Any, ChildHandle[R]]:
        if not isinstance(fn, DurableFunction):
            raise TypeError(f"start_child takes a durable function (made by durable()), got {fn!r}")
        if kwargs:
            raise InvalidArgumentError(
                f"{fn.name!r} was called with keyword arguments ({', '.join(kwargs)}); durable "
                "functions take positional arguments only (args are stored as a JSON array)"
            )
        _json.encode_args(fn.name, args)  # refused now, before the step takes a place
        _check_step_name(f"start:{fn.name}")  # and its join's "join:" is shorter
        return self._start_child(self._next_seq(), fn, tuple(args))

    async def _start_child(
        self, seq: int, fn: DurableFunction[Any, R], args: Sequence[Any]
    ) -> ChildHandle[R]:
        # The key makes a re-run (after a crash between the enqueue and the record) find the
        # child it started.
        options = {**fn.default_options, "idempotency_key": f"{self.job_id}/{seq}"}

        async def enqueue() -> str:
            return (await fn._enqueue(options, args, {})).job_id

        child_id: str = await self._run(seq, f"start:{fn.name}", enqueue, _ONCE)
        return ChildHandle(self._reseolio, child_id, fn.name)

    def join(self, handle: JobHandle[R]) -> Coroutine[Any, Any, R]:
        _not_nested("join")
        return self._join_call(handle)

    def _join_call(self, handle: JobHandle[R]) -> Coroutine[Any, Any, R]:
        if not isinstance(handle, JobHandle):
            raise TypeError(f"join takes a job handle, got {handle!r}")
        if isinstance(handle, ChildHandle):
            _check_step_name(f"join:{handle.function}")
        return self._join(self._next_seq(), handle)

    async def _join(self, seq: int, handle: JobHandle[R]) -> R:
        if isinstance(handle, ChildHandle):
            name = f"join:{handle.function}"
        else:
            name = await self._join_name(seq, handle.job_id)
        s = await self._replay(seq, name, "child")
        if s is None or s.status == "WAITING":
            s = await self._wait(seq, name, "child", handle.job_id, None)
        if s.status == "SUCCESS":
            value: Any = _json.decode(s.result or b"")
            return value  # type: ignore[no-any-return]
        error = s.error or "no error recorded"
        if error.startswith(f"child job '{handle.job_id}' was cancelled"):
            raise JobCancelledError(handle.job_id)
        prefix = f"child job '{handle.job_id}' failed: "
        raise JobFailedError(handle.job_id, error[len(prefix):] if error.startswith(prefix) else error)

    async def _join_name(self, seq: int, job_id: str) -> str:
        """The step name of a join of a job known by its id only: ``join:<its function>``. The
        journal comes first: when this place holds the join of that job, its recorded name is
        the one, and the job is not read (it may have been pruned since the first run)."""
        s = (await self._journal()).get(seq)
        if s is not None and s.kind == "child" and s.wait_key == job_id:
            return s.name
        job: "_native.Job" = await _bridge.call(self._reseolio._native().get, job_id)
        self._raise_if_suspended()
        name = f"join:{job.name}"
        _check_step_name(name)
        return name

    def join_all(self, handles: Sequence[JobHandle[R]]) -> Coroutine[Any, Any, List[R]]:
        _not_nested("join_all")
        # Every join takes its place now, in order; they are awaited one after the other.
        joins: List[Coroutine[Any, Any, R]] = []
        try:
            for h in handles:
                joins.append(self._join_call(h))
        except BaseException:
            for j in joins:
                j.close()
            raise
        return _in_order(joins)

    def child(self, fn: DurableFunction[P, R], *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        _not_nested("child")
        start = self._start_child_call(fn, args, kwargs)
        return self._child(start, self._next_seq())

    async def _child(self, start: Coroutine[Any, Any, ChildHandle[R]], join_seq: int) -> R:
        return await self._join(join_seq, await start)


def _outcome(name: str, step: "_native.Step", cause: Optional[BaseException]) -> Any:
    """The value of a finished run step, or its StepError."""
    if step.status == "SUCCESS":
        return _json.decode(step.result or b"")
    raise StepError(name, step.error or "no error recorded") from cause
