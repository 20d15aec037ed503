"""JobHandle: what a call to a durable function returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, List, Optional, TypeVar

from . import _bridge, _json
from . import details as _details
from ._sync import run_sync
from .errors import JobCancelledError, JobFailedError

if TYPE_CHECKING:
    from ._native import Attempt, Job
    from .details import JobDetails, Step
    from .client import Reseolio

R = TypeVar("R")


class JobHandle(Generic[R]):
    """A durable job. Cheap; holds only the id and the client. Safe to keep after a restart:
    ``reseolio.handle(job_id)`` makes an equal one."""

    def __init__(self, reseolio: "Reseolio", job_id: str, deduplicated: bool = False) -> None:
        self._reseolio = reseolio
        self.job_id = job_id
        #: True when an earlier job with the same idempotency key was returned.
        self.deduplicated = deduplicated

    def __repr__(self) -> str:
        return f"JobHandle({self.job_id!r})"

    async def status(self) -> str:
        """PENDING, RUNNING, FAILED, SUCCESS, DEAD or CANCELLED."""
        job: "Job" = await _bridge.call(self._reseolio._native().get, self.job_id)
        return job.status

    async def details(self) -> "JobDetails":
        """Everything the engine stores about the job, with its durable steps."""
        return await _details.details(self._reseolio, self.job_id)

    async def steps(self) -> List["Step"]:
        """The job's durable steps, in call order."""
        return await _details.steps(self._reseolio, self.job_id)

    async def attempts(self) -> List["Attempt"]:
        """Every attempt, oldest first."""
        return await _bridge.call(self._reseolio._native().attempts, self.job_id)  # type: ignore[no-any-return]

    async def result(self, timeout: Optional[float] = None) -> R:
        """Waits for the job to finish and returns its result. Raises ``JobFailedError`` (with the
        last error) when it is DEAD, ``JobCancelledError`` when cancelled, and
        ``reseolio.TimeoutError`` (a builtin ``TimeoutError``) when ``timeout`` seconds pass
        first. Works across restarts: the result is read from storage."""
        job: "Job" = await _bridge.call(
            self._reseolio._native().await_result, self.job_id, timeout
        )
        if job.status == "SUCCESS":
            value: Any = _json.decode(job.result or b"")
            return value  # type: ignore[no-any-return]
        if job.status == "CANCELLED":
            raise JobCancelledError(self.job_id)
        raise JobFailedError(self.job_id, job.last_error or "no error recorded")

    async def cancel(self) -> bool:
        """Cancels the job; False when it had already finished."""
        from .errors import ConflictError

        try:
            await _bridge.call(self._reseolio._native().cancel, self.job_id)
            return True
        except ConflictError:
            return False

    def result_sync(self, timeout: Optional[float] = None) -> R:
        """``result`` for code without an event loop."""
        return run_sync(self.result(timeout))

    def status_sync(self) -> str:
        """``status`` for code without an event loop."""
        return run_sync(self.status())
