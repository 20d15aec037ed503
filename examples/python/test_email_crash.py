"""The email example survives SIGKILL in the middle of a retry: after a restart the message
arrives once and the job ends SUCCESS. A real SMTP server (aiosmtpd) runs in the test process."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from email_sending import serve_smtp  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_example(db: str, port: int, delay: str) -> "subprocess.Popen[str]":
    env = dict(os.environ, EMAIL_RETRY_DELAY=delay)
    return subprocess.Popen(
        [sys.executable, str(HERE / "email_sending.py"), "--db", db, "--smtp-port", str(port), "--to", "bob@example.com"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_killed_mid_retry_then_restarted_delivers_once(tmp_path: pathlib.Path) -> None:
    mailbox = tmp_path / "mailbox.txt"
    port = free_port()
    smtp = serve_smtp(port, str(mailbox))
    db = f"sqlite://{tmp_path / 'email.db'}"
    try:
        # The first attempt is greylisted; the retry waits 3 s: kill the process while it waits.
        first = run_example(db, port, "3")
        assert first.stdout is not None
        line = first.stdout.readline()
        assert "enqueued" in line, line
        job_id = line.split()[1]
        handler = smtp.handler
        deadline = time.monotonic() + 20
        while "bob@example.com" not in handler.seen:
            assert time.monotonic() < deadline, "the first attempt never reached the SMTP server"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert not mailbox.exists(), "nothing was delivered before the kill"

        second = run_example(db, port, "0.2")
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 0, out
        assert f"job {job_id} enqueued (already there: resumed)" in out, out
        assert f"job {job_id} SUCCESS" in out, out
        delivered = mailbox.read_text().splitlines()
        assert delivered == [f"bob@example.com {job_id}"], delivered
    finally:
        smtp.stop()
