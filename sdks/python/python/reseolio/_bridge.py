"""Awaiting engine calls without engine threads touching Python.

An engine call gets this event loop's pipe and a call id, starts its work and returns at once.
When the work is done, the engine writes a byte to the pipe; the loop's reader callback, on the
loop thread, drains the finished results from the native module and resolves their futures.
(Engine threads that took the GIL could crash the process while Python shuts down.)

Pipes are never closed: a pipe whose loop is gone goes back to a pool for the next loop, so a
late write from the engine can never reach an unrelated file."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import weakref
from typing import Any, Callable, Dict, List, Tuple

from . import _native

_lock = threading.Lock()
_free_pipes: List[Tuple[int, int]] = []
_ids = itertools.count(1)


def _after_fork_in_child() -> None:
    # The parent's pipes carry the parent's wake-ups: a child starts with none of them.
    global _lock
    _lock = threading.Lock()
    _free_pipes.clear()
    _bridges.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _LoopBridge:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        with _lock:
            pipe = _free_pipes.pop() if _free_pipes else None
        if pipe is None:
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            pipe = (r, w)
        self.read_fd, self.write_fd = pipe
        self.pending: Dict[int, "asyncio.Future[Any]"] = {}
        # No reference to the loop here: the bridge is the value of a WeakKeyDictionary keyed by
        # the loop, and a strong reference would keep both (and the pipe) alive for ever.
        loop.add_reader(self.read_fd, self._on_ready)
        weakref.finalize(loop, _release, pipe)

    def call(
        self, loop: asyncio.AbstractEventLoop, method: Callable[..., None], *args: Any
    ) -> "asyncio.Future[Any]":
        fut: "asyncio.Future[Any]" = loop.create_future()
        call_id = next(_ids)
        self.pending[call_id] = fut
        # A caller that stops waiting drops its entry and stops the engine work behind it.
        def forget_if_cancelled(f: "asyncio.Future[Any]") -> None:
            if f.cancelled():
                self.pending.pop(call_id, None)
                _native.cancel(call_id)

        fut.add_done_callback(forget_if_cancelled)
        try:
            method(self.write_fd, call_id, *args)
        except BaseException:
            del self.pending[call_id]
            raise
        return fut

    def _on_ready(self) -> None:
        try:
            while os.read(self.read_fd, 4096):
                pass
        except BlockingIOError:
            pass
        for call_id, value, is_error in _native.drain(self.write_fd):
            fut = self.pending.pop(call_id, None)
            if fut is None or fut.done():
                continue  # the caller stopped waiting
            if is_error:
                fut.set_exception(value)
            else:
                fut.set_result(value)


def _release(pipe: Tuple[int, int]) -> None:
    # Results still queued for the dead loop are dropped with it.
    _native.drain(pipe[1])
    with _lock:
        _free_pipes.append(pipe)


_bridges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopBridge]" = (
    weakref.WeakKeyDictionary()
)


async def call(method: Callable[..., None], *args: Any) -> Any:
    """Runs a native engine call and awaits its result on the running loop."""
    loop = asyncio.get_running_loop()
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = _bridges[loop] = _LoopBridge(loop)
    return await bridge.call(loop, method, *args)
