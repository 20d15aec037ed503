"""Enqueueing inside the application's own PostgreSQL transaction, through psycopg and the
``enqueue()`` SQL function the migrations install: the job exists if and only if the
transaction commits, and a worker runs it once it does. Needs RESEOLIO_TEST_POSTGRES_URL."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import psycopg
import pytest

import reseolio

SERVER = os.environ.get("RESEOLIO_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(
    not SERVER, reason="RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)"
)


def test_a_job_enqueued_in_a_transaction_exists_only_if_it_commits() -> None:
    schema = f"t_{uuid.uuid4().hex}"
    sep = "&" if "?" in SERVER else "?"
    app = reseolio.Reseolio(f"{SERVER}{sep}schema={schema}")

    @app.durable("orders:confirm")
    async def confirm(order_id: int) -> str:
        return f"confirmed {order_id}"

    def enqueue_in_transaction(order_id: int, commit: bool) -> str:
        # What an application does with its own driver and connection.
        with psycopg.connect(SERVER) as conn:
            with conn.transaction(force_rollback=not commit):
                row = conn.execute(
                    f"SELECT {schema}.enqueue(%s, %s::jsonb, %s::jsonb, %s)",
                    ("orders:confirm", json.dumps([order_id]), json.dumps({"max_attempts": 5}), f"order:{order_id}"),
                ).fetchone()
                assert row is not None
                return str(row[0])

    async def main() -> None:
        async with app:  # migrates the schema (installing enqueue()) and starts the worker
            gone = await asyncio.to_thread(enqueue_in_transaction, 1, False)
            with pytest.raises(reseolio.errors.NotFoundError):
                await app.get_job(gone)
            kept = await asyncio.to_thread(enqueue_in_transaction, 2, True)
            assert await app.handle(kept).result(timeout=10) == "confirmed 2"
            job = await app.get_job(kept)
            assert (job.max_attempts, job.idempotency_key) == (5, "order:2")

    asyncio.run(main())
