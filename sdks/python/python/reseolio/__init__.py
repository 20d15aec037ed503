"""Reseolio: durable functions. A call is written to storage before it returns; a worker runs it
with retries, backoff and a per-attempt timeout; its result can be awaited even if every process
was killed in between."""

from ._native import Attempt, Job
from .client import Reseolio
from .context import JobContext, current_job
from .details import JobDetails, Step
from .durable import BoundCall, DurableFunction
from .errors import (
    AlreadyExistsError,
    ConflictError,
    EventTimeoutError,
    InternalError,
    InvalidArgumentError,
    JobCancelledError,
    JobFailedError,
    NonRetryable,
    NotFoundError,
    ReseolioError,
    ShutDownError,
    StepError,
    StepOrderError,
    TimeoutError,
    UnavailableError,
)
from .handle import JobHandle
from .leader import LeaderInfo
from .schedules import Schedule, ScheduleHandle, ScheduleOptions, SchedulePage
from .steps import ChildHandle

__all__ = [
    "AlreadyExistsError",
    "Attempt",
    "BoundCall",
    "ChildHandle",
    "ConflictError",
    "DurableFunction",
    "EventTimeoutError",
    "InternalError",
    "InvalidArgumentError",
    "Job",
    "JobCancelledError",
    "JobContext",
    "JobDetails",
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
    "Step",
    "StepError",
    "StepOrderError",
    "TimeoutError",
    "UnavailableError",
    "current_job",
]
