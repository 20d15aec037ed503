"""Shared pieces of the chaos harness: log line formats, process spawning, PostgreSQL helpers.

Every log the harness writes is append-only text, one event per line, each written with one
``os.write`` on a descriptor opened with ``O_APPEND`` (small writes on a local file are atomic,
so lines from concurrent processes never interleave; a SIGKILL can only prevent a line, and
the parsers count any malformed line, which the verifier treats as a violation).

Line formats (space separated, times are ``time.time_ns()`` of the writing process):

- side effects (``effects.log``, written by handlers):
  ``S <job_id> <attempt> <pid> <t_ns> <mode>`` when an execution starts, and
  ``F <job_id> <attempt> <pid> <t_ns> <mode> <ok|raised>`` when it ends (``raised``: a deliberate
  failure). ``mode`` is ``remote`` (a worker connected to the sidecar) or ``embedded`` (a worker
  that embeds the engine on the database).
- enqueued jobs (``enqueued.log``, written by producers only after ``enqueue`` returned):
  ``E <job_id> <idempotency_key> <deduplicated 0|1> <t_ns> <producer>``.
- kills (``kills.log``, written by the orchestrator just before ``SIGKILL``):
  ``K <kind> <name> <pid> <t_ns>`` with kind ``sidecar``, ``worker-remote`` or
  ``worker-embedded``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from typing import IO, Dict, List, Optional, Sequence, Tuple

FUNCTION = "chaos:work"

_PR_SET_PDEATHSIG = 1


def append_line(fd: int, line: str) -> None:
    """One small ``O_APPEND`` write: the line lands whole or not at all."""
    os.write(fd, (line + "\n").encode())


def open_append(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def _child_setup() -> None:
    # Own session: a Ctrl-C on the terminal reaches only the orchestrator, which then kills
    # every child itself. PDEATHSIG: a child dies with the orchestrator even if that is SIGKILLed.
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def spawn(
    cmd: Sequence[str], log_path: str, env: Optional[Dict[str, str]] = None
) -> "subprocess.Popen[bytes]":
    """Starts ``cmd`` with stdout and stderr appended to ``log_path``."""
    log: IO[bytes] = open(log_path, "ab")
    try:
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup,
            env=env,
        )
    finally:
        log.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_text(path: str, text: str, since: int, proc: "subprocess.Popen[bytes]", timeout: float) -> bool:
    """Waits until ``text`` appears in ``path`` after byte offset ``since`` (or the process
    exits, or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                f.seek(since)
                if text.encode() in f.read():
                    return True
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def kill_and_reap(proc: "subprocess.Popen[bytes]", term_grace: float = 0.0) -> None:
    """SIGTERM (if a grace is given) then SIGKILL; always reaps."""
    if proc.poll() is None and term_grace > 0:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=term_grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if proc.poll() is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# --- PostgreSQL ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTarget:
    """A PostgreSQL database and a schema of this run: ``engine_url`` for reseolio (with
    ``?schema=``), ``psql_url`` without reseolio's own parameters."""

    engine_url: str
    psql_url: str
    schema: str


def pg_target(base_url: str, schema: str) -> PgTarget:
    parts = urllib.parse.urlsplit(base_url)
    query = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if k not in ("schema", "max_connections")
    ]
    psql_url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    engine_q = urllib.parse.urlencode(query + [("schema", schema)])
    engine_url = urllib.parse.urlunsplit(parts._replace(query=engine_q))
    return PgTarget(engine_url=engine_url, psql_url=psql_url, schema=schema)


def psql(url: str, sql: str, timeout: float = 30.0) -> List[List[str]]:
    """Runs ``sql`` with psql and returns the rows as lists of text fields (tab separated, so
    the queries must not return tabs or newlines: encode payloads as hex). Raises
    RuntimeError with psql's message on failure."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    p = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if p.returncode != 0:
        raise RuntimeError(f"psql failed ({p.returncode}): {p.stderr.strip()}")
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- log parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    job_id: str
    attempt: int
    pid: int
    t_ns: int
    mode: str


@dataclass(frozen=True)
class Finish:
    job_id: str
    attempt: int
    pid: int
    t_ns: int
    mode: str
    outcome: str


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    key: str
    deduplicated: bool
    t_ns: int
    producer: str


@dataclass(frozen=True)
class Kill:
    kind: str
    name: str
    pid: int
    t_ns: int


def _lines(path: str) -> List[List[str]]:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in text.split("\n"):
        if line.strip():
            out.append(line.split(" "))
    return out


def read_effects(path: str) -> Tuple[List[Start], List[Finish], int]:
    """The starts, the finishes, and the number of malformed lines (must be 0)."""
    starts: List[Start] = []
    finishes: List[Finish] = []
    bad = 0
    for f in _lines(path):
        try:
            if f[0] == "S" and len(f) == 6:
                starts.append(Start(f[1], int(f[2]), int(f[3]), int(f[4]), f[5]))
            elif f[0] == "F" and len(f) == 7:
                finishes.append(Finish(f[1], int(f[2]), int(f[3]), int(f[4]), f[5], f[6]))
            else:
                bad += 1
        except ValueError:
            bad += 1
    return starts, finishes, bad


def read_enqueued(path: str) -> Tuple[List[Enqueued], int]:
    out: List[Enqueued] = []
    bad = 0
    for f in _lines(path):
        try:
            if f[0] == "E" and len(f) == 6:
                out.append(Enqueued(f[1], f[2], f[3] == "1", int(f[4]), f[5]))
            else:
                bad += 1
        except ValueError:
            bad += 1
    return out, bad


def read_kills(path: str) -> Tuple[List[Kill], int]:
    out: List[Kill] = []
    bad = 0
    for f in _lines(path):
        try:
            if f[0] == "K" and len(f) == 5:
                out.append(Kill(f[1], f[2], int(f[3]), int(f[4])))
            else:
                bad += 1
        except ValueError:
            bad += 1
    return out, bad
