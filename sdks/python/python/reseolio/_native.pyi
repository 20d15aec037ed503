"""Types of the compiled module (bindings/python)."""

from typing import Any, Dict, List, Optional, Tuple

__version__: str

class Job:
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
    @property
    def args(self) -> bytes: ...
    @property
    def result(self) -> Optional[bytes]: ...

class Attempt:
    job_id: str
    attempt: int
    lease: int
    worker_id: str
    node_id: str
    started_at: int
    finished_at: Optional[int]
    outcome: Optional[str]
    error: Optional[str]

class Step:
    job_id: str
    seq: int
    name: str
    kind: str
    status: str
    error: Optional[str]
    attempts: int
    started_at: int
    completed_at: Optional[int]
    wait_key: Optional[str]
    wake_at: Optional[int]
    @property
    def result(self) -> Optional[bytes]: ...

class LeaderInfo:
    node_id: str
    leader_node_id: Optional[str]
    elected_at: Optional[int]
    expires_at: Optional[int]
    is_leader: bool

class Schedule:
    id: str
    name: str
    function: str
    cron: str
    timezone: str
    status: str
    missed: str
    overlap: str
    next_run_at: int
    last_run_at: Optional[int]
    last_job_id: Optional[str]
    created_at: int
    updated_at: int
    max_attempts: Optional[int]
    backoff: Optional[str]
    initial_delay_ms: Optional[int]
    max_delay_ms: Optional[int]
    jitter: Optional[float]
    timeout_ms: Optional[int]
    priority: Optional[int]
    @property
    def args(self) -> bytes: ...

class Task:
    @property
    def job_id(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def args(self) -> bytes: ...
    @property
    def attempt(self) -> int: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def timeout_ms(self) -> int: ...
    @property
    def deadline_ms(self) -> int: ...
    def is_cancelled(self) -> bool: ...

class Worker:
    def poll(self, fd: int, id: int) -> None: ...
    def complete(
        self,
        fd: int,
        id: int,
        token: str,
        result: Optional[bytes] = None,
        error: Optional[str] = None,
        retryable: bool = True,
    ) -> None: ...
    # After a step wait suspended the job: frees the slot, writes nothing.
    def suspend(self, fd: int, id: int, token: str) -> None: ...
    def heartbeat(self, fd: int, id: int, token: str) -> None: ...
    def shutdown(self, fd: int, id: int, grace: float) -> None: ...

# Engine calls take the event loop's pipe fd and a call id and return at once; results come
# back through drain(fd) (see reseolio/_bridge.py).
class Client:
    @staticmethod
    def connect(
        url: str,
        *,
        poll_interval_ms: Optional[int] = None,
        max_payload_bytes: Optional[int] = None,
        retention_secs: Optional[int] = None,
        token: Optional[str] = None,
    ) -> Client: ...
    def enqueue(
        self, fd: int, id: int, name: str, args: bytes, options: Optional[Dict[str, Any]] = None
    ) -> None: ...
    def get(self, fd: int, id: int, job_id: str) -> None: ...
    def list(
        self,
        fd: int,
        id: int,
        statuses: List[str],
        names: List[str],
        limit: int,
        offset: int,
        order_by: str,
        ascending: bool,
    ) -> None: ...
    def attempts(self, fd: int, id: int, job_id: str) -> None: ...
    def cancel(self, fd: int, id: int, job_id: str) -> None: ...
    def retry(self, fd: int, id: int, job_id: str) -> None: ...
    def await_result(self, fd: int, id: int, job_id: str, timeout: Optional[float] = None) -> None: ...
    def leader(self, fd: int, id: int) -> None: ...
    def schedule_declare(
        self,
        fd: int,
        id: int,
        name: str,
        function: str,
        cron: str,
        timezone: Optional[str],
        args: bytes,
        options: Optional[Dict[str, Any]],
        missed: str,
        overlap: str,
    ) -> None: ...
    def schedule_get(self, fd: int, id: int, id_or_name: str) -> None: ...
    def schedule_list(
        self, fd: int, id: int, status: Optional[str], limit: int, offset: int
    ) -> None: ...
    def schedule_update(
        self,
        fd: int,
        id: int,
        id_or_name: str,
        cron: Optional[str],
        timezone: Optional[str],
        args: Optional[bytes],
        options: Optional[Dict[str, Any]],
        missed: Optional[str],
        overlap: Optional[str],
    ) -> None: ...
    def schedule_pause(self, fd: int, id: int, id_or_name: str) -> None: ...
    def schedule_resume(self, fd: int, id: int, id_or_name: str) -> None: ...
    def schedule_delete(self, fd: int, id: int, id_or_name: str) -> None: ...
    def schedule_trigger(self, fd: int, id: int, id_or_name: str) -> None: ...
    # Resolves to List[Step].
    def steps(self, fd: int, id: int, job_id: str) -> None: ...
    # Resolves to the recorded Step (an earlier finished record when there is one).
    def step_record(
        self,
        fd: int,
        id: int,
        token: str,
        seq: int,
        name: str,
        result: Optional[bytes],
        error: Optional[str],
        attempts: int,
        started_at: int,
    ) -> None: ...
    # kind "sleep" (at_ms: until), "event" (key, at_ms: timeout or None), "child" (key: job id).
    # Resolves to the finished Step, or to an int (wake_at, Unix ms) when the job was suspended.
    def step_wait(
        self,
        fd: int,
        id: int,
        token: str,
        seq: int,
        name: str,
        kind: str,
        key: Optional[str],
        at_ms: Optional[int],
    ) -> None: ...
    # Resolves to the number of jobs woken.
    def event_send(self, fd: int, id: int, key: str, payload: bytes) -> None: ...
    def worker(self, fd: int, id: int, names: List[str], concurrency: int) -> None: ...
    def close(self, fd: int, id: int) -> None: ...

def drain(fd: int) -> List[Tuple[int, Any, bool]]: ...
def cancel(id: int) -> None: ...


class UiServer:
    """A dashboard being served (``reseolio ui``)."""

    @property
    def address(self) -> str: ...
    def close(self) -> None: ...

def ui_serve(
    db: str,
    host: str = "127.0.0.1",
    port: int = 7780,
    token: Optional[str] = None,
    read_only: bool = False,
) -> UiServer: ...
