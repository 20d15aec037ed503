"""The running job's context, readable from a handler without changing its signature."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class JobContext:
    """What a handler may know about the attempt it runs."""

    job_id: str
    name: str
    attempt: int
    max_attempts: int
    deadline_ms: int
    """When the lease lapses unless heartbeated, Unix milliseconds."""


_current: contextvars.ContextVar[Optional[JobContext]] = contextvars.ContextVar(
    "reseolio_job", default=None
)


def current_job() -> Optional[JobContext]:
    """The context of the job this code runs in, or None outside a handler."""
    return _current.get()
