"""DurableFunction: a handler made durable. Calling it enqueues a job and returns a JobHandle."""

from __future__ import annotations

import sys
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    Generic,
    Optional,
    Sequence,
    TypeVar,
    Union,
)

if sys.version_info >= (3, 10):
    from typing import ParamSpec
else:  # pragma: no cover
    from typing_extensions import ParamSpec

from ._sync import run_sync
from .errors import InvalidArgumentError
from .handle import JobHandle
from .schedules import Missed, Overlap, ScheduleHandle, declare, defaults_of

if TYPE_CHECKING:
    from .client import Reseolio

P = ParamSpec("P")
R = TypeVar("R")

Handler = Union[Callable[P, Awaitable[R]], Callable[P, R]]


class DurableFunction(Generic[P, R]):
    """A durable function. ``await f(*args)`` writes a job and returns its ``JobHandle`` once the
    job is durable; the handler runs later in a worker. Arguments are positional and must be
    JSON values (args cross languages as a JSON array)."""

    def __init__(
        self,
        reseolio: "Reseolio",
        name: str,
        handler: Callable[P, Any],
        options: Dict[str, Any],
    ) -> None:
        self._reseolio = reseolio
        self.name = name
        self.handler = handler
        self.default_options = dict(options)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle[R]:
        return await self._enqueue(self.default_options, args, kwargs)

    def options(self, **options: Any) -> "BoundCall[P, R]":
        """Per-call options without touching the handler's arguments, e.g.
        ``send_email.options(idempotency_key=k)(to, body)``."""
        return BoundCall(self, {**self.default_options, **options})

    def enqueue_sync(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle[R]:
        """The call, for code without an event loop."""
        return run_sync(self._enqueue(self.default_options, args, kwargs))

    async def schedule(
        self,
        cron: str,
        *,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        name: Optional[str] = None,
        missed: Missed = "run_latest",
        overlap: Overlap = "allow",
        **options: Any,
    ) -> ScheduleHandle[R]:
        """Declares a cron schedule of this function now (see ``Reseolio.schedule``) and returns
        its handle, bound to the schedule's id. ``args`` are the positional arguments of every
        job (JSON values); the job options default to this function's own (all but ``delay``,
        ``run_at`` and ``idempotency_key``, which a schedule sets itself) and may be overridden.
        Declaring a name that exists updates that schedule. Errors: InvalidArgumentError naming
        the token of a bad expression, the zone or the option; nothing is stored then."""
        s = await declare(
            self._reseolio,
            self.name,
            cron,
            timezone=timezone,
            args=args,
            name=name,
            missed=missed,
            overlap=overlap,
            options={**defaults_of(self.default_options), **options},
        )
        return ScheduleHandle(self._reseolio, s.id)

    async def _enqueue(
        self, options: Dict[str, Any], args: Any, kwargs: Dict[str, Any]
    ) -> JobHandle[R]:
        if kwargs:
            raise InvalidArgumentError(
                f"{self.name!r} was called with keyword arguments ({', '.join(kwargs)}); durable "
                "functions take positional arguments only (args are stored as a JSON array)"
            )
        return await self._reseolio._enqueue_handle(self.name, args, options)


class BoundCall(Generic[P, R]):
    """A durable function with per-call options."""

    def __init__(self, function: DurableFunction[P, R], options: Dict[str, Any]) -> None:
        self._function = function
        self._options = options

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle[R]:
        return await self._function._enqueue(self._options, args, kwargs)

    def enqueue_sync(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle[R]:
        return run_sync(self._function._enqueue(self._options, args, kwargs))
