"""The running job's context, readable from a handler without changing its signature. Its step
methods (durable steps, sleeps, events, child jobs) are described in ``reseolio.steps``."""

from __future__ import annotations

import contextvars
import datetime as _dt
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    List,
    Optional,
    Sequence,
    TypeVar,
    overload,
)

if TYPE_CHECKING:
    from .durable import DurableFunction, P
    from .handle import JobHandle
    from .steps import Backoff, ChildHandle, StepContext

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class JobContext:
    """What a handler may know about the attempt it runs, and its durable steps.

    The step methods are plain methods that take the step's place in call order at once and
    return a coroutine to await (so ``asyncio.gather`` of steps keeps their order); they need an
    ``async def`` handler. A step call may raise ``reseolio.steps.Suspended`` (a
    ``BaseException``): let it propagate, the job resumes later."""

    job_id: str
    name: str
    attempt: int
    max_attempts: int
    deadline_ms: int
    """When the lease lapses unless heartbeated, Unix milliseconds."""
    _steps: Optional["StepContext"] = field(default=None, repr=False, compare=False)

    @property
    def suspended(self) -> bool:
        """True once a step wait suspended the job in this attempt (the handler must stop)."""
        return self._steps is not None and self._steps.suspended

    def _ctx(self) -> "StepContext":
        if self._steps is None:
            raise RuntimeError("durable steps are only available inside a running job's handler")
        return self._steps

    @overload
    def step(
        self,
        name: str,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        max_attempts: int = 1,
        backoff: "Backoff" = "exponential",
        initial_delay_ms: int = 100,
        max_delay_ms: int = 10_000,
    ) -> Coroutine[Any, Any, T]: ...

    @overload
    def step(
        self,
        name: str,
        fn: Callable[..., T],
        *args: Any,
        max_attempts: int = 1,
        backoff: "Backoff" = "exponential",
        initial_delay_ms: int = 100,
        max_delay_ms: int = 10_000,
    ) -> Coroutine[Any, Any, T]: ...

    def step(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        max_attempts: int = 1,
        backoff: "Backoff" = "exponential",
        initial_delay_ms: int = 100,
        max_delay_ms: int = 10_000,
    ) -> Coroutine[Any, Any, Any]:
        """Runs ``fn(*args)`` (a coroutine function on the loop, a plain function in a thread)
        once for the job and records its JSON result; a later run of the job returns the recorded
        value without calling ``fn``. ``fn`` is tried up to ``max_attempts`` times in this
        process, waiting ``initial_delay_ms`` after the first failure and then more by
        ``backoff`` (capped at ``max_delay_ms``); a ``NonRetryable`` stops at once. Its final
        failure is recorded too and raised as ``StepError`` (``__cause__`` the original
        exception), now and on later runs. ``fn`` must not call steps itself: steps do not nest
        (a step call from inside it raises ``InvalidArgumentError``)."""
        return self._ctx().step(
            name,
            fn,
            *args,
            max_attempts=max_attempts,
            backoff=backoff,
            initial_delay_ms=initial_delay_ms,
            max_delay_ms=max_delay_ms,
        )

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]:
        """Sleeps durably: the job is suspended (no worker slot held, it survives restarts) until
        ``seconds`` after the first run reached this step."""
        return self._ctx().sleep(seconds)

    def sleep_until(self, when: _dt.datetime) -> Coroutine[Any, Any, None]:
        """Sleeps durably until a timezone-aware datetime."""
        return self._ctx().sleep_until(when)

    def wait_for_event(self, key: str, timeout: Optional[float] = None) -> Coroutine[Any, Any, Any]:
        """Waits durably for ``Reseolio.send_event(key, payload)`` and returns the payload. An
        event sent before the wait is received at once. Past ``timeout`` seconds (counted from
        the first run that reached this step; None waits for ever) raises
        ``EventTimeoutError``."""
        return self._ctx().wait_for_event(key, timeout)

    def start_child(
        self, fn: "DurableFunction[P, R]", *args: "P.args", **kwargs: "P.kwargs"
    ) -> "Coroutine[Any, Any, ChildHandle[R]]":
        """Starts a child job of a durable function, once for the job (a re-run finds the same
        child); returns its handle."""
        return self._ctx().start_child(fn, *args, **kwargs)

    def join(self, handle: "JobHandle[R]") -> Coroutine[Any, Any, R]:
        """Waits durably for a job (a child) to finish and returns its result; raises
        ``JobFailedError`` when it ended DEAD, ``JobCancelledError`` when cancelled."""
        return self._ctx().join(handle)

    def join_all(self, handles: "Sequence[JobHandle[R]]") -> Coroutine[Any, Any, List[R]]:
        """``join`` of each handle, in order; returns the results."""
        return self._ctx().join_all(handles)

    def child(
        self, fn: "DurableFunction[P, R]", *args: "P.args", **kwargs: "P.kwargs"
    ) -> Coroutine[Any, Any, R]:
        """``start_child`` then ``join``: runs a child job and returns its result."""
        return self._ctx().child(fn, *args, **kwargs)


_current: contextvars.ContextVar[Optional[JobContext]] = contextvars.ContextVar(
    "reseolio_job", default=None
)


def current_job() -> Optional[JobContext]:
    """The context of the job this code runs in, or None outside a handler."""
    return _current.get()
