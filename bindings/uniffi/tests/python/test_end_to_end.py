"""End to end through the UniFFI-generated Python bindings of reseolio-uniffi.

Run by bindings/uniffi/tests/generated.rs with PYTHONPATH set to a directory holding the
generated `reseolio_uniffi.py` and `libreseolio_uniffi.so`. Prints one line per check and exits
non-zero when any check failed.

By hand:
    PYTHONPATH=<out-dir> python3 bindings/uniffi/tests/python/test_end_to_end.py [DB_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path
from typing import Callable, List, Optional, Type, TypeVar

from reseolio_uniffi import (
    Backoff,
    Client,
    ConnectOptions,
    EnqueueOptions,
    Job,
    JobStatus,
    ReseolioError,
    ClaimedTask,
    Worker,
)

T = TypeVar("T")


def error_variant(name: str) -> Type[ReseolioError]:
    """The ReseolioError variant `name`. Looked up by name: the generated module attaches the
    variants to the class at import, which a type checker does not see."""
    variant = getattr(ReseolioError, name, None)
    if not (isinstance(variant, type) and issubclass(variant, ReseolioError)):
        raise AssertionError(f"the generated module has no ReseolioError.{name}")
    return variant


INVALID_ARGUMENT = error_variant("InvalidArgument")
NOT_FOUND = error_variant("NotFound")
CONFLICT = error_variant("Conflict")
TIMEOUT = error_variant("Timeout")
SHUT_DOWN = error_variant("ShutDown")
for _kind in ("AlreadyExists", "Unavailable", "Internal"):
    error_variant(_kind)

# Long enough for a loaded CI machine; a poll returns as soon as a job is claimed.
WAIT_MS = 15_000

failures: List[str] = []
checks = 0


def check(name: str, ok: bool, detail: str = "") -> None:
    """Records one check and prints its line."""
    global checks
    checks += 1
    if ok:
        print(f"ok   - {name}")
    else:
        failures.append(name)
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""))


def expect_error(
    name: str,
    call: Callable[[], object],
    variant: Type[BaseException],
    message: Optional[str] = None,
    message_prefix: Optional[str] = None,
) -> None:
    """Checks that `call` raises the ReseolioError `variant` with the engine's message."""
    try:
        got = call()
    except ReseolioError as e:
        if not isinstance(e, variant):
            check(name, False, f"expected {variant.__name__}, got {e!r}")
            return
        text = str(e)
        if message is not None and text != message:
            check(name, False, f"message {text!r}, expected {message!r}")
            return
        if message_prefix is not None and not text.startswith(message_prefix):
            check(name, False, f"message {text!r}, expected to start with {message_prefix!r}")
            return
        check(name, True)
        return
    except Exception as e:  # anything else is a failure of the mapping
        check(name, False, f"expected ReseolioError.{variant.__name__}, got {e!r}")
        return
    check(name, False, f"expected ReseolioError.{variant.__name__}, returned {got!r}")


def poll_task(worker: Worker, what: str) -> ClaimedTask:
    """Polls one task, or raises with `what` in the message when none came in time."""
    task = worker.poll(WAIT_MS)
    if task is None:
        raise AssertionError(f"no task within {WAIT_MS} ms for {what}")
    return task


def run(db_dir: Path) -> None:
    url = f"sqlite://{db_dir / 'jobs.db'}"
    client = Client.connect(url, ConnectOptions(poll_interval_ms=20))
    check("connect to a fresh sqlite file", (db_dir / "jobs.db").exists(), url)

    # Enqueue with args and options; a second enqueue with the same key deduplicates.
    args = b'["hello", 42]'
    options = EnqueueOptions(
        max_attempts=3,
        backoff=Backoff.FIXED,
        initial_delay_ms=0,
        jitter=0.0,
        idempotency_key="order-1",
    )
    first = client.enqueue("send_email", args, options)
    check("enqueue returns a job id", len(first.job_id) > 0 and not first.deduplicated, str(first))
    second = client.enqueue("send_email", b"[]", options)
    check(
        "same idempotency key deduplicates",
        second.deduplicated and second.job_id == first.job_id,
        str(second),
    )
    job: Job = client.get(first.job_id)
    check(
        "get returns the job as enqueued",
        job.status == JobStatus.PENDING
        and job.name == "send_email"
        and job.args == args
        and job.max_attempts == 3
        and job.idempotency_key == "order-1"
        and job.attempt == 0
        and job.result is None,
        str(job),
    )

    # A worker claims it; the first attempt fails retryably.
    worker = client.worker(["send_email"], 2)
    task = poll_task(worker, "the first attempt")
    check(
        "poll returns the task with name, args and attempt 1",
        task.job_id() == first.job_id
        and task.name() == "send_email"
        and task.args() == args
        and task.attempt() == 1
        and task.max_attempts() == 3
        and task.timeout_ms() > 0
        and not task.is_cancelled(),
        f"{task.job_id()} {task.name()} {task.args()!r} attempt {task.attempt()}",
    )
    worker.heartbeat(task)
    check("heartbeat of a held task", True)
    check("job is RUNNING while held", client.get(first.job_id).status == JobStatus.RUNNING)
    worker.complete_failure(task, "smtp timeout", True)
    failed = client.get(first.job_id)
    # With a delay of 0 the retry may already be claimed again by the time we read.
    check(
        "a retryable failure schedules a retry",
        failed.status in (JobStatus.FAILED, JobStatus.PENDING, JobStatus.RUNNING)
        and failed.last_error == "smtp timeout"
        and failed.attempt >= 1,
        str(failed),
    )
    expect_error(
        "completing a completed task is a Conflict",
        lambda: worker.complete_success(task, b"late"),
        CONFLICT,
    )

    # The retry comes as attempt 2 and succeeds.
    retry_task = poll_task(worker, "the retry")
    check(
        "the retry is attempt 2 of the same job",
        retry_task.job_id() == first.job_id and retry_task.attempt() == 2,
        f"{retry_task.job_id()} attempt {retry_task.attempt()}",
    )
    worker.complete_success(retry_task, b'{"sent": true}')
    done = client.await_result(first.job_id, WAIT_MS)
    check(
        "await_result returns SUCCESS with the result bytes",
        done.status == JobStatus.SUCCESS
        and done.result == b'{"sent": true}'
        and done.attempt == 2
        and done.completed_at_ms is not None,
        str(done),
    )

    # Bad input: the engine's own checks, mapped to the right variant with its message.
    unknown = "00000000-0000-0000-0000-000000000000"
    expect_error(
        "unknown id -> NotFound",
        lambda: client.get(unknown),
        NOT_FOUND,
        message=f"no job with id '{unknown}'",
    )
    expect_error(
        "await_result of an unknown id -> NotFound",
        lambda: client.await_result(unknown, 100),
        NOT_FOUND,
        message=f"no job with id '{unknown}'",
    )
    expect_error(
        "bad URL -> InvalidArgument",
        lambda: Client.connect("mysql://nowhere", ConnectOptions()),
        INVALID_ARGUMENT,
        message_prefix="storage URL 'mysql://nowhere' has an unsupported scheme 'mysql'",
    )
    expect_error(
        "zero concurrency -> InvalidArgument",
        lambda: client.worker(["send_email"], 0),
        INVALID_ARGUMENT,
        message="concurrency must be >= 1, got 0",
    )
    expect_error(
        "empty name -> InvalidArgument",
        lambda: client.enqueue("", b"[]", EnqueueOptions()),
        INVALID_ARGUMENT,
        message="name must not be empty",
    )
    expect_error(
        "zero max_attempts -> InvalidArgument",
        lambda: client.enqueue("send_email", b"[]", EnqueueOptions(max_attempts=0)),
        INVALID_ARGUMENT,
    )
    expect_error(
        "cancel of a finished job -> Conflict",
        lambda: client.cancel(first.job_id),
        CONFLICT,
    )

    # A job nobody polls: await_result times out, cancel and retry work.
    parked = client.enqueue("parked", b"[]", EnqueueOptions(delay_ms=3_600_000))
    expect_error(
        "await_result past its timeout -> Timeout",
        lambda: client.await_result(parked.job_id, 50),
        TIMEOUT,
    )
    check("cancel", client.cancel(parked.job_id).status == JobStatus.CANCELLED)
    check("retry of a cancelled job", client.retry(parked.job_id).status == JobStatus.PENDING)

    # Nothing left for this worker: a short poll returns None.
    check("poll with a short timeout returns None", worker.poll(100) is None)

    worker.shutdown(1_000)
    expect_error(
        "poll after shutdown -> ShutDown",
        lambda: worker.poll(100),
        SHUT_DOWN,
    )
    client.close()
    check("shutdown and close", True)


def main() -> int:
    db_dir: Optional[Path] = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    try:
        if db_dir is None:
            with tempfile.TemporaryDirectory(prefix="reseolio-uniffi-") as d:
                run(Path(d))
        else:
            db_dir.mkdir(parents=True, exist_ok=True)
            run(db_dir)
    except Exception:
        traceback.print_exc()
        check("no unexpected exception", False)
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
