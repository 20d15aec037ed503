"""DurableFunction: a handler made durable. Calling it enqueues a job and returns a JobHandle."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Generic, TypeVar, Union

if sys.version_info >= (3, 10):
    from typing import ParamSpec
else:  # pragma: no cover
    from typing_extensions import ParamSpec

from ._sync import run_sync
from .errors import InvalidArgumentError
from .handle import JobHandle

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
