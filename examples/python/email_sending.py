"""Durable email sending with Reseolio, embedded on SQLite.

The durable function sends one message with smtplib. The SMTP server greylists, as many real
ones do: it answers the first delivery to each recipient with 451 "try again later", so the job
fails once and the retry delivers it. Kill the process at any moment and run it again: the
enqueue is deduplicated by its idempotency key, the job resumes from storage, and the message
arrives once.

    python email_sending.py --serve-smtp          # also runs a local SMTP server (aiosmtpd)
    python email_sending.py --smtp-port 2525      # uses a server that is already running
"""

from __future__ import annotations

import argparse
import asyncio
import os
import smtplib
from email.message import EmailMessage
from typing import Any, Dict, List, Optional

import reseolio

SMTP_HOST = "127.0.0.1"


def make_app(url: str, smtp_port: int) -> "tuple[reseolio.Reseolio, Any]":
    app = reseolio.Reseolio(url, poll_interval=0.1)

    @app.durable(
        "notifications:email:send",
        max_attempts=5,
        backoff="exponential",
        initial_delay=float(os.environ.get("EMAIL_RETRY_DELAY", "0.5")),
        timeout=10,
    )
    def send_email(to: str, subject: str, body: str) -> Dict[str, Any]:
        job = reseolio.current_job()
        msg = EmailMessage()
        msg["From"] = "noreply@example.com"
        msg["To"] = to
        msg["Subject"] = subject
        msg["X-Reseolio-Job"] = job.job_id if job else "-"
        msg.set_content(body)
        with smtplib.SMTP(SMTP_HOST, smtp_port, timeout=5) as smtp:
            # A 4xx answer raises: the attempt fails and the job is retried with backoff.
            smtp.send_message(msg)
        return {"to": to, "attempt": job.attempt if job else 0}

    return app, send_email


class Greylisting:
    """An aiosmtpd handler: 451 for the first delivery to a recipient, then accept. Delivered
    messages are appended to `mailbox`, one line per message."""

    def __init__(self, mailbox: str) -> None:
        self.mailbox = mailbox
        self.seen: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: List[str]) -> str:
        if address not in self.seen:
            self.seen.add(address)
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content.decode("utf8", errors="replace")
        job = next((line.split(":", 1)[1].strip() for line in content.splitlines() if line.startswith("X-Reseolio-Job:")), "-")
        with open(self.mailbox, "a") as f:
            for rcpt in envelope.rcpt_tos:
                f.write(f"{rcpt} {job}\n")
        return "250 Message accepted for delivery"


def serve_smtp(port: int, mailbox: str) -> Any:
    from aiosmtpd.controller import Controller

    controller = Controller(Greylisting(mailbox), hostname=SMTP_HOST, port=port)
    controller.start()
    return controller


async def main(args: argparse.Namespace) -> int:
    app, send_email = make_app(args.db, args.smtp_port)
    async with app:
        job = await send_email.options(idempotency_key=f"welcome:{args.to}")(
            args.to, "Welcome", "Thanks for signing up."
        )
        print(f"job {job.job_id} enqueued{' (already there: resumed)' if job.deduplicated else ''}", flush=True)
        result = await job.result(timeout=60)
        details = await job.details()
        print(f"job {job.job_id} {details.status} after {details.attempt} attempt(s): {result}", flush=True)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default=os.environ.get("RESEOLIO_DB", "sqlite:///./reseolio-email.db"))
    p.add_argument("--to", default="alice@example.com")
    p.add_argument("--smtp-port", type=int, default=int(os.environ.get("SMTP_PORT", "8025")))
    p.add_argument("--serve-smtp", action="store_true", help="run a local greylisting SMTP server too")
    p.add_argument("--mailbox", default="mailbox.txt", help="where --serve-smtp records deliveries")
    a = p.parse_args()
    controller: Optional[Any] = serve_smtp(a.smtp_port, a.mailbox) if a.serve_smtp else None
    try:
        code = asyncio.run(main(a))
        if controller is not None:
            with open(a.mailbox) as f:
                print(f"mailbox {a.mailbox}: {sum(1 for _ in f)} message(s) delivered")
    finally:
        if controller is not None:
            controller.stop()
    raise SystemExit(code)
