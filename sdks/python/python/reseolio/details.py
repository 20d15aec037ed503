"""What a job lookup returns: the stored job and its durable steps (``JobHandle.details()``,
``Reseolio.get_job()``, ``Reseolio.steps()``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, List, Optional

from . import _bridge, _json

if TYPE_CHECKING:
    from . import _native
    from .client import Reseolio


@dataclass(frozen=True)
class Step:
    """One recorded step of a job. Times are Unix milliseconds."""

    seq: int
    """Its place in the function's call order, from 0."""
    name: str
    """The name the function gave it (``sleep``, ``event:<key>``, ``start:<fn>`` and
    ``join:<fn>`` for the built-in ones)."""
    kind: str
    """``run``, ``sleep``, ``event`` or ``child``."""
    status: str
    """``WAITING``, ``SUCCESS`` or ``FAILED``."""
    result: Any
    """The JSON-decoded value of a SUCCESS step (None when empty; the raw bytes when not JSON)."""
    error: Optional[str]
    """The error of a FAILED step."""
    attempts: int
    """How many times a run step's code ran before its outcome was recorded."""
    started_at: int
    completed_at: Optional[int]
    wait_key: Optional[str]
    """What a waiting step waits for: the event key, or the child job id."""
    wake_at: Optional[int]
    """When a sleep ends, or an event wait times out."""

    @classmethod
    def _from_native(cls, s: "_native.Step") -> "Step":
        raw = s.result
        try:
            result: Any = _json.decode(raw or b"")
        except ValueError:
            result = raw
        return cls(
            seq=s.seq,
            name=s.name,
            kind=s.kind,
            status=s.status,
            result=result,
            error=s.error,
            attempts=s.attempts,
            started_at=s.started_at,
            completed_at=s.completed_at,
            wait_key=s.wait_key,
            wake_at=s.wake_at,
        )


@dataclass(frozen=True)
class JobDetails:
    """Everything the engine stores about a job: the fields of ``reseolio.Job`` (times in Unix
    milliseconds, ``args`` and ``result`` as stored bytes) and its durable ``steps`` in call
    order."""

    id: str
    name: str
    status: str
    priority: int
    attempt: int
    max_attempts: int
    backoff: str
    initial_delay_ms: int
    max_delay_ms: int
    jitter: float
    timeout_ms: int
    idempotency_key: Optional[str]
    last_error: Optional[str]
    created_at: int
    run_at: int
    started_at: Optional[int]
    completed_at: Optional[int]
    lease_expires_at: Optional[int]
    worker_id: Optional[str]
    args: bytes
    result: Optional[bytes]
    steps: List[Step] = field(default_factory=list)

    @classmethod
    def _from_native(cls, j: "_native.Job", steps: List[Step]) -> "JobDetails":
        return cls(
            id=j.id,
            name=j.name,
            status=j.status,
            priority=j.priority,
            attempt=j.attempt,
            max_attempts=j.max_attempts,
            backoff=j.backoff,
            initial_delay_ms=j.initial_delay_ms,
            max_delay_ms=j.max_delay_ms,
            jitter=j.jitter,
            timeout_ms=j.timeout_ms,
            idempotency_key=j.idempotency_key,
            last_error=j.last_error,
            created_at=j.created_at,
            run_at=j.run_at,
            started_at=j.started_at,
            completed_at=j.completed_at,
            lease_expires_at=j.lease_expires_at,
            worker_id=j.worker_id,
            args=j.args,
            result=j.result,
            steps=steps,
        )


async def steps(reseolio: "Reseolio", job_id: str) -> List[Step]:
    """Every recorded step of a job, in call order. Errors: NotFoundError."""
    native: List["_native.Step"] = await _bridge.call(reseolio._native().steps, job_id)
    return [Step._from_native(s) for s in native]


async def details(reseolio: "Reseolio", job_id: str) -> JobDetails:
    """The job and its steps (two reads, made together). Errors: NotFoundError."""
    job: "_native.Job"
    found: List[Step]
    job, found = await asyncio.gather(
        _bridge.call(reseolio._native().get, job_id), steps(reseolio, job_id)
    )
    return JobDetails._from_native(job, found)
