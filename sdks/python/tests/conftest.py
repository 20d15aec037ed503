"""One fixture runs the SDK suite against the embedded engine on SQLite and on PostgreSQL
(RESEOLIO_TEST_POSTGRES_URL; skipped without it) and against a sidecar.

The sidecar is the `reseolio` binary: RESEOLIO_SIDECAR_BIN, else the workspace's
target/debug/reseolio. Without it the sidecar half says it was skipped."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import uuid
from typing import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def sidecar_binary() -> pathlib.Path:
    env = os.environ.get("RESEOLIO_SIDECAR_BIN")
    if env:
        return pathlib.Path(env)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "reseolio"


@pytest.fixture(params=["embedded", "postgres", "sidecar"])
def url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    if request.param == "embedded":
        yield f"sqlite://{tmp_path / 'sdk.db'}"
        return
    if request.param == "postgres":
        # The engine on PostgreSQL, in a schema of its own per test.
        server = os.environ.get("RESEOLIO_TEST_POSTGRES_URL")
        if not server:
            pytest.skip("RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)")
        sep = "&" if "?" in server else "?"
        yield f"{server}{sep}schema=t_{uuid.uuid4().hex}"
        return
    binary = sidecar_binary()
    if not binary.exists():
        pytest.skip(f"no sidecar binary at {binary} (build it with cargo build -p reseolio-sidecar)")
    proc = subprocess.Popen(
        [str(binary), "--addr", "127.0.0.1:0", "--db", str(tmp_path / "sidecar.db"), "--shutdown-grace", "1"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    ready = proc.stderr.readline()
    assert ready.startswith("reseolio ready on "), ready
    addr = ready.split()[3]
    try:
        yield f"grpc://{addr}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
