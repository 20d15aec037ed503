"""Python job options (seconds, datetimes) to the engine's millisecond options."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Dict, Optional, Union

from .errors import InvalidArgumentError

Number = Union[int, float]

#: The option names a durable function and a call accept.
OPTION_NAMES = frozenset(
    {
        "max_attempts",
        "backoff",
        "initial_delay",
        "max_delay",
        "jitter",
        "timeout",
        "delay",
        "run_at",
        "priority",
        "idempotency_key",
    }
)


def _ms(name: str, seconds: Optional[Number]) -> Optional[int]:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise InvalidArgumentError(f"{name} must be a number of seconds, got {seconds!r}")
    return int(round(seconds * 1000))


def to_native(options: Dict[str, Any]) -> Dict[str, Any]:
    """Checks the names and converts units; the engine checks the values and their limits."""
    unknown = set(options) - OPTION_NAMES
    if unknown:
        raise InvalidArgumentError(
            f"unknown job option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(OPTION_NAMES))}"
        )
    run_at = options.get("run_at")
    run_at_ms: Optional[int] = None
    if run_at is not None:
        if isinstance(run_at, _dt.datetime):
            if run_at.tzinfo is None:
                raise InvalidArgumentError("run_at must be a timezone-aware datetime")
            run_at_ms = int(run_at.timestamp() * 1000)
        else:
            raise InvalidArgumentError(f"run_at must be a datetime, got {run_at!r}")
    return {
        "max_attempts": options.get("max_attempts"),
        "backoff": options.get("backoff"),
        "initial_delay_ms": _ms("initial_delay", options.get("initial_delay")),
        "max_delay_ms": _ms("max_delay", options.get("max_delay")),
        "jitter": options.get("jitter"),
        "timeout_ms": _ms("timeout", options.get("timeout")),
        "delay_ms": _ms("delay", options.get("delay")),
        "run_at_ms": run_at_ms,
        "priority": options.get("priority"),
        "idempotency_key": options.get("idempotency_key"),
    }
