"""Reseolio: durable functions. A call is written to storage before it returns; a worker runs it
with retries, backoff and a per-attempt timeout; its result can be awaited even if every process
was killed in between."""

from ._native import Attempt, Job
from .client import Reseolio
from .context import JobContext, current_job
from .durable import BoundCall, DurableFunction
from .errors import (
    AlreadyExistsError,
    ConflictError,
    InternalError,
    InvalidArgumentError,
    JobCancelledError,
    JobFailedError,
    NonRetryable,
    NotFoundError,
    ReseolioError,
    ShutDownError,
    TimeoutError,
    UnavailableError,
)
from .handle import JobHandle
from .leader import LeaderInfo
from .schedules import Schedule, ScheduleHandle, ScheduleOptions, SchedulePage

__all__ = [
    "AlreadyExistsError",
    "Attempt",
    "BoundCall",
    "ConflictError",
    "DurableFunction",
    "InternalError",
    "InvalidArgumentError",
    "Job",
    "JobCancelledError",
    "JobContext",
    "JobFailedError",
    "JobHandle",
    "LeaderInfo",
    "NonRetryable",
    "NotFoundError",
    "Reseolio",
    "ReseolioError",
    "Schedule",
    "ScheduleHandle",
    "ScheduleOptions",
    "SchedulePage",
    "ShutDownError",
    "TimeoutError",
    "UnavailableError",
    "current_job",
]
