"""The worker loop: polls the engine, runs handlers, reports outcomes, keeps leases alive."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional, Set

from . import _bridge, _json
from .context import JobContext, _current
from .steps import StepContext
from .errors import (
    ConflictError,
    InvalidArgumentError,
    NonRetryable,
    NotFoundError,
    ReseolioError,
    ShutDownError,
    UnavailableError,
)

if TYPE_CHECKING:
    from ._native import Task, Worker
    from .client import Reseolio

Hook = Callable[[JobContext], Any]
FailureHook = Callable[[JobContext, BaseException], Any]


_log = logging.getLogger("reseolio")


def _safe_hook(hook: Optional[Callable[..., Any]], *args: Any) -> None:
    """Runs an observer hook; a hook that raises is logged, never allowed to hold a job."""
    if hook is None:
        return
    try:
        hook(*args)
    except Exception:  # noqa: BLE001
        _log.exception("a reseolio hook raised")


def _settle(running: "asyncio.Future[Any]") -> None:
    """Ends a handler whose outcome no longer counts: cancels it if it still runs (past its
    timeout, or one that caught the suspension signal and went on), else retrieves what it
    raised (the signal) so that asyncio does not log it."""
    if not running.done():
        running.cancel()
    elif not running.cancelled():
        running.exception()


class WorkerLoop:
    """Runs the handlers of one native worker.

    Async handlers run as asyncio tasks and are cancelled when their attempt's timeout passes.
    Plain ``def`` handlers run in a thread pool; Python cannot stop a thread, so a sync handler
    past its timeout is reported as failed but its thread runs on to its end.

    An attempt whose handler suspended the job on a durable step (a sleep, an event, a child) is
    reported as suspended, whatever the handler did after, and runs neither success nor failure
    hook: the job is not finished."""

    def __init__(
        self,
        reseolio: "Reseolio",
        worker: "Worker",
        handlers: Dict[str, Callable[..., Any]],
        threads: int,
        on_start: Optional[Hook],
        on_success: Optional[Hook],
        on_failure: Optional[FailureHook],
    ) -> None:
        self._reseolio = reseolio
        self._worker = worker
        self._handlers = handlers
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="reseolio-handler"
        )
        self._on_start = on_start
        self._on_success = on_success
        self._on_failure = on_failure
        self._running: Set["asyncio.Task[None]"] = set()
        # Tasks that are reporting their outcome (and then calling a hook): the job is done, so
        # a stop lets them finish instead of cancelling them between the report and the hook.
        self._reporting: Set["asyncio.Task[Any]"] = set()

    async def run(self) -> None:
        while True:
            try:
                task: "Task" = await _bridge.call(self._worker.poll)
            except ShutDownError:
                break
            except ReseolioError:
                # The worker's source failed (a sidecar gone away); it does not come back.
                _log.exception("reseolio worker stopped polling")
                break
            t = asyncio.ensure_future(self._execute(task))
            self._running.add(t)
            t.add_done_callback(self._running.discard)

    async def finish(self) -> None:
        """After the native worker shut down (held jobs completed or handed back): cancels what
        still runs, whose jobs were handed back, and releases the thread pool."""
        for t in set(self._running):
            if t not in self._reporting:
                t.cancel()
        if self._running:
            await asyncio.wait(set(self._running))
        self._pool.shutdown(wait=False)

    async def _heartbeat(self, task: "Task", handler_task: "asyncio.Future[Any]") -> None:
        # Keeps the lease of a job whose handler runs long, and learns of a cancellation.
        period = max(task.timeout_ms / 3000.0, 0.05)
        while True:
            await asyncio.sleep(period)
            try:
                if await _bridge.call(self._worker.heartbeat, task.token):
                    handler_task.cancel()
                    return
            except (ConflictError, NotFoundError):
                handler_task.cancel()
                return
            except ReseolioError:
                _log.warning("heartbeat of job %s failed; retrying", task.job_id, exc_info=True)

    def _call(self, fn: Callable[..., Any], args: Any, job: JobContext) -> "asyncio.Future[Any]":
        if inspect.iscoroutinefunction(fn):

            async def in_context() -> Any:
                # A task runs in a copy of the context it was created in: set it inside.
                _current.set(job)
                return await fn(*args)

            return asyncio.ensure_future(in_context())
        ctx = contextvars.copy_context()
        ctx.run(_current.set, job)
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._pool, functools.partial(ctx.run, fn, *args))

    async def _execute(self, task: "Task") -> None:
        steps = StepContext(self._reseolio, task.job_id, task.token)
        ctx_value = JobContext(
            job_id=task.job_id,
            name=task.name,
            attempt=task.attempt,
            max_attempts=task.max_attempts,
            deadline_ms=task.deadline_ms,
            _steps=steps,
        )
        fn = self._handlers.get(task.name)
        if fn is None:
            await self._complete(task, error=f"no handler for {task.name!r} in this worker", retryable=True)
            return
        _safe_hook(self._on_start, ctx_value)
        timeout = task.timeout_ms / 1000.0
        started = time.monotonic()
        try:
            try:
                args = _json.decode(task.args)
            except ValueError as e:
                raise NonRetryable(f"args of {task.name!r} are not valid JSON: {e}") from None
            if not isinstance(args, list):
                raise NonRetryable(f"args of {task.name!r} are not a JSON array")
            running = self._call(fn, args, ctx_value)
            beat = asyncio.ensure_future(self._heartbeat(task, running))
            try:
                # Past the timeout the attempt is over: an async handler is cancelled. (Not
                # wait_for: a handler's own TimeoutError must stay the handler's failure.)
                done, _ = await asyncio.wait({running}, timeout=timeout)
            finally:
                beat.cancel()
            if steps.suspended:
                await self._suspend(task, running)
                return
            if steps.order_error is not None:
                # The function changed its step order: DEAD at once, even if it caught the error.
                _settle(running)
                order = steps.order_error
                await self._fail(task, ctx_value, order, str(order), retryable=False)
                return
            if not done:
                running.cancel()
                elapsed = time.monotonic() - started
                await self._fail(task, ctx_value, asyncio.TimeoutError(), f"attempt timed out after {elapsed:.1f} s (timeout {timeout:g} s)", True)
                return
            value = running.result()
            try:
                result = _json.encode_result(value)
            except (TypeError, ValueError) as e:
                raise NonRetryable(f"the result of {task.name!r} cannot be stored as JSON: {e}") from None
        except NonRetryable as e:
            await self._fail(task, ctx_value, e, str(e) or type(e).__name__, retryable=False)
            return
        except asyncio.CancelledError:
            if task.is_cancelled():
                # The job was cancelled: report anyway, so that the refusal frees the slot.
                await self._complete(task, error="cancelled", retryable=False)
                return
            raise
        except Exception as e:  # noqa: BLE001 - a handler's failure is data
            await self._fail(task, ctx_value, e, f"{type(e).__name__}: {e}", retryable=True)
            return
        with self._report():
            if await self._complete(task, result=result):
                _safe_hook(self._on_success, ctx_value)

    async def _suspend(self, task: "Task", running: "asyncio.Future[Any]") -> None:
        """Frees the slot of a job a step wait suspended (the engine already handed it back)."""
        _settle(running)
        with self._report():
            await self._complete(task, suspended=True)

    async def _fail(
        self, task: "Task", ctx: JobContext, exc: BaseException, error: str, retryable: bool
    ) -> None:
        with self._report():
            if await self._complete(task, error=error, retryable=retryable):
                _safe_hook(self._on_failure, ctx, exc)

    @contextlib.contextmanager
    def _report(self) -> Iterator[None]:
        """Marks the current task as reporting its outcome (see ``finish``)."""
        me = asyncio.current_task()
        if me is not None:
            self._reporting.add(me)
        try:
            yield
        finally:
            if me is not None:
                self._reporting.discard(me)

    async def _complete(
        self,
        task: "Task",
        result: Optional[bytes] = None,
        error: Optional[str] = None,
        retryable: bool = True,
        suspended: bool = False,
    ) -> bool:
        """Reports the attempt; True when the engine applied it. Never leaves the job held: a
        payload over the limit is reported as a failure instead, a busy store is retried, and a
        suspension the engine refuses (the job is still held) is reported as a failure."""
        for attempt in range(5):
            try:
                if suspended:
                    await _bridge.call(self._worker.suspend, task.token)
                else:
                    await _bridge.call(
                        self._worker.complete, task.token, result, error, retryable
                    )
                return True
            except (ConflictError, NotFoundError):
                # The lease was lost (timed out, cancelled, rescued): the engine moved on.
                return False
            except InvalidArgumentError as e:
                if suspended:
                    # Final: the engine still holds the job under this lease (no step wait
                    # suspended it), and the refusal kept the slot. A failure frees it; the job
                    # runs again (a retry replays its journal) or, out of attempts, ends DEAD.
                    _log.error(
                        "job %s could not be reported as suspended (%s); reporting a failure "
                        "to let go of it",
                        task.job_id,
                        e,
                    )
                    suspended, result, retryable = False, None, True
                    error = (
                        f"the attempt of {task.name!r} ended on a suspension the engine did "
                        f"not make: {e}"
                    )[:4096]
                    continue
                result, retryable = None, False
                error = f"the outcome of {task.name!r} could not be stored: {e}"[:4096]
            except UnavailableError:
                await asyncio.sleep(0.1 * 2**attempt)
        _log.error("could not report job %s; its lease will lapse", task.job_id)
        return False
