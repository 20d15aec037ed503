"""The exception hierarchy: one class per engine error kind, identical for the embedded engine and
a sidecar, plus the errors a job's result can raise and the one a handler raises to give up."""

from __future__ import annotations

import builtins


class ReseolioError(Exception):
    """Root of every error Reseolio raises."""


class InvalidArgumentError(ReseolioError, ValueError):
    """Something given to Reseolio was refused; the message names the field and the limit.
    Nothing was stored."""


class NotFoundError(ReseolioError, LookupError):
    """No job has that id."""


class AlreadyExistsError(ReseolioError):
    """The thing to create exists already."""


class ConflictError(ReseolioError):
    """The job's state forbids the call (cancelling a finished job, completing with a stale
    lease). Nothing was changed."""


class UnavailableError(ReseolioError, ConnectionError):
    """The storage or the sidecar could not be reached or stayed busy; the call may be retried."""


class TimeoutError(ReseolioError, builtins.TimeoutError):
    """A wait ended before what it waited for happened (the job is not affected). Also a builtin
    ``TimeoutError``."""


class ShutDownError(ReseolioError):
    """The client or worker was shut down."""


class InternalError(ReseolioError):
    """A bug or an unexpected storage failure; the message says which."""


class JobFailedError(ReseolioError):
    """The awaited job is DEAD: its attempts are exhausted or it failed without retry."""

    def __init__(self, job_id: str, error: str) -> None:
        super().__init__(f"job {job_id} failed: {error}")
        self.job_id = job_id
        self.error = error


class JobCancelledError(ReseolioError):
    """The awaited job was cancelled."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} was cancelled")
        self.job_id = job_id


class NonRetryable(Exception):
    """Raise from a handler to end the job as DEAD at once, without further attempts."""


class StepError(ReseolioError):
    """A durable step failed: its code raised on every one of its tries, now or on an earlier run
    of the job (the recorded failure is raised again without running the code). ``__cause__`` is
    the original exception when the code ran in this attempt."""

    code = "STEP_FAILED"

    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"step {step!r} failed: {error}")
        self.step = step
        self.error = error


class StepOrderError(ConflictError, NonRetryable):
    """The function called its durable steps in another order (or with other names) than the
    recorded history of the job. Not retryable: the job ends DEAD at once."""


class EventTimeoutError(TimeoutError):
    """``wait_for_event`` reached its timeout before the event was sent. A function may catch it
    (it is a ``reseolio.TimeoutError`` and a builtin ``TimeoutError``)."""

    def __init__(self, key: str, error: str) -> None:
        super().__init__(error)
        self.key = key
