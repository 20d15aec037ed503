/**
 * Enqueueing inside the application's own PostgreSQL transaction, through `pg` and the
 * `enqueue()` SQL function the migrations install: the job exists if and only if the transaction
 * commits, and a worker runs it once it does. Needs RESEOLIO_TEST_POSTGRES_URL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import pg from 'pg';
import { NotFoundError, Reseolio } from 'reseolio';

const server = process.env.RESEOLIO_TEST_POSTGRES_URL;

it('a job enqueued in a transaction exists only if it commits', { skip: server ? false : 'RESEOLIO_TEST_POSTGRES_URL is not set' }, async () => {
  const schema = `t_${process.pid}_${Date.now()}`;
  const reseolio = new Reseolio({ storage: `${server}${server!.includes('?') ? '&' : '?'}schema=${schema}` });
  reseolio.durable('orders:confirm', async (orderId: number) => `confirmed ${orderId}`);
  await reseolio.start(); // migrates the schema (installing enqueue()) and starts the worker

  // What an application does with its own driver and connection.
  const db = new pg.Client({ connectionString: server });
  await db.connect();
  const enqueueIn = async (orderId: number, commit: boolean): Promise<string> => {
    await db.query('BEGIN');
    const { rows } = await db.query<{ id: string }>(`SELECT ${schema}.enqueue($1, $2::jsonb, $3::jsonb, $4) AS id`, [
      'orders:confirm',
      JSON.stringify([orderId]),
      JSON.stringify({ max_attempts: 5 }),
      `order:${orderId}`,
    ]);
    await db.query(commit ? 'COMMIT' : 'ROLLBACK');
    return rows[0]!.id;
  };
  try {
    const gone = await enqueueIn(1, false);
    await assert.rejects(reseolio.getJob(gone), (e: unknown) => e instanceof NotFoundError);
    const kept = await enqueueIn(2, true);
    assert.equal(await reseolio.job<string>(kept).result(10_000), 'confirmed 2');
    const job = await reseolio.getJob(kept);
    assert.deepEqual([job.maxAttempts, job.idempotencyKey], [5, 'order:2']);
  } finally {
    await db.end();
    await reseolio.stop();
  }
});
