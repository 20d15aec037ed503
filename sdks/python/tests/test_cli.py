"""``reseolio ui`` from the Python package: the console script serves the dashboard of a
database through the native module, stops on SIGTERM, and refuses bad input with exit code 2."""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request

import reseolio


def _script() -> list[str]:
    # The console script pip installed beside this interpreter.
    return [str(pathlib.Path(sys.executable).parent / "reseolio")]


def test_ui_serves_the_dashboard_and_metrics_until_sigterm(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "ui.db"
    r = reseolio.Reseolio(f"sqlite://{db}")

    @r.durable("cli:mail")
    async def mail() -> int:
        return 1

    async def fill() -> None:
        await mail()
        await mail()
        await r.close()

    asyncio.run(fill())
    child = subprocess.Popen(
        [*_script(), "ui", "--db", str(db), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        line = child.stderr.readline()
        m = re.search(r"dashboard on http://(\S+)", line)
        assert m, line
        address = m.group(1)
        with urllib.request.urlopen(f"http://{address}/api/stats", timeout=10) as resp:
            stats = json.load(resp)
        assert stats["counts"]["PENDING"] == 2
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as resp:
            assert 'reseolio_jobs{status="PENDING"} 2' in resp.read().decode()
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_ui_refuses_a_missing_database_and_bad_flags(tmp_path: pathlib.Path) -> None:
    started = time.monotonic()
    missing = subprocess.run(
        [*_script(), "ui", "--db", str(tmp_path / "typo.db"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 2
    assert "no database at" in missing.stderr
    assert not (tmp_path / "typo.db").exists()
    flag = subprocess.run([*_script(), "ui", "--colour"], capture_output=True, text=True, timeout=30)
    assert flag.returncode == 2
    assert "--colour" in flag.stderr
    open_host = subprocess.run(
        [sys.executable, "-m", "reseolio.cli", "ui", "--db", "sqlite::memory:", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert open_host.returncode == 2
    assert "token" in open_host.stderr
    assert time.monotonic() - started < 30
