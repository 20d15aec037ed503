/**
 * The SDK suite, run against the embedded engine and against a sidecar: the same assertions,
 * the same error codes, whichever transport is underneath.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConflictError,
  InvalidArgumentError,
  JobCancelledError,
  JobFailedError,
  jobContext,
  NonRetryableError,
  NotFoundError,
  Reseolio,
  ReseolioError,
  TimeoutError,
  type ClaimedJob,
} from 'reseolio';
import { sleep, TRANSPORTS, waitFor } from './helpers';

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<ReseolioError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ReseolioError, `expected a ReseolioError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a rejection with code ${code}`);
}

for (const transport of TRANSPORTS) {
  describe(`SDK over the ${transport.name} transport`, { skip: transport.skip ?? false }, () => {
    let url: string;
    let close: () => Promise<void>;
    const clients: Reseolio[] = [];
    const client = (concurrency = 4): Reseolio => {
      const r = new Reseolio({ storage: url, workerConcurrency: concurrency, shutdownGraceMs: 200 });
      clients.push(r);
      return r;
    };

    before(async () => {
      ({ url, close } = await transport.open());
    });
    after(async () => {
      for (const r of clients) await r.stop();
      await close();
    });

    it('runs a job: result, status, details, events in order', async () => {
      const r = client();
      const seen: string[] = [];
      const add = r.durable('life:add', async (a: number, b: number) => ({ sum: a + b, attempt: jobContext().attempt }));
      r.on('job:start', (job: ClaimedJob) => seen.push(`start:${job.name}:${job.attempt}`));
      r.on('job:success', (job: ClaimedJob, value: unknown) => seen.push(`success:${job.id === h.jobId}:${JSON.stringify(value)}`));
      await r.start();
      const h = await add(2, 3);
      const value: { sum: number; attempt: number } = await h.result(10_000);
      assert.deepEqual(value, { sum: 5, attempt: 1 });
      assert.equal(await h.status(), 'success');
      const d = await h.details();
      assert.equal(d.name, 'life:add');
      assert.equal(Buffer.from(d.args).toString(), '[2,3]');
      assert.equal(Buffer.from(d.result!).toString(), '{"sum":5,"attempt":1}');
      await waitFor(() => seen.length === 2, 5000, 'events');
      assert.deepEqual(seen, ['start:life:add:1', 'success:true:{"sum":5,"attempt":1}']);
      const attempts = await h.attempts();
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.outcome, 'success');
    });

    it('retries a failing handler with backoff, then succeeds', async () => {
      const r = client();
      let calls = 0;
      const errors: string[] = [];
      const flaky = r.durable(
        'retry:flaky',
        async () => {
          calls += 1;
          if (calls < 3) throw new Error(`failure ${calls}`);
          return calls;
        },
        { maxAttempts: 5, backoff: 'fixed', initialDelayMs: 50, jitter: 0 },
      );
      r.on('job:error', (_job: ClaimedJob, e: string) => errors.push(e));
      await r.start();
      const h = await flaky();
      assert.equal(await h.result(10_000), 3);
      assert.deepEqual(errors, ['failure 1', 'failure 2']);
      const attempts = await h.attempts();
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.outcome, a.error ?? null]),
        [
          [1, 'failure', 'failure 1'],
          [2, 'failure', 'failure 2'],
          [3, 'success', null],
        ],
      );
      // The fixed backoff of 50 ms separates the attempts.
      assert.ok(attempts[1]!.startedAt - attempts[0]!.finishedAt! >= 45, 'backoff delay');
    });

    it('ends DEAD after maxAttempts; result() rejects with JOB_FAILED and the last error', async () => {
      const r = client();
      const doomed = r.durable('dead:always', async () => {
        throw new TypeError('bad thing');
      }, { maxAttempts: 2, initialDelayMs: 10 });
      await r.start();
      const h = await doomed();
      const e = await rejectsWith(h.result(10_000), 'JOB_FAILED', /TypeError: bad thing/);
      assert.ok(e instanceof JobFailedError);
      assert.equal(e.jobId, h.jobId);
      assert.equal(await h.status(), 'dead');
      assert.equal((await h.details()).attempt, 2);
    });

    it('a NonRetryableError ends the job DEAD after one attempt', async () => {
      const r = client();
      const giveUp = r.durable('dead:nonretryable', async () => {
        throw new NonRetryableError('card declined');
      }, { maxAttempts: 5 });
      await r.start();
      const h = await giveUp();
      await rejectsWith(h.result(10_000), 'JOB_FAILED', /card declined/);
      assert.equal((await h.details()).attempt, 1);
    });

    it('deduplicates by idempotency key, with withOptions and with a trailing options object', async () => {
      const r = client();
      let runs = 0;
      const send = r.durable('idem:send', async (to: string) => {
        runs += 1;
        return to;
      });
      const dedups: string[] = [];
      r.on('deduplicated', (id: string) => dedups.push(id));
      const a = await send.withOptions({ idempotencyKey: 'welcome:ann' })('ann');
      const b = await send('ann', { idempotencyKey: 'welcome:ann' });
      const c = await send('bob', { idempotencyKey: 'welcome:bob' });
      assert.equal(a.jobId, b.jobId);
      assert.notEqual(a.jobId, c.jobId);
      assert.deepEqual(dedups, [a.jobId]);
      await r.start();
      assert.equal(await a.result(10_000), 'ann');
      assert.equal(await c.result(10_000), 'bob');
      assert.equal(runs, 2);
      // An object argument that is not options stays an argument.
      const echo = r.durable('idem:echo', async (o: { idempotencyKey: string; extra: number }) => o);
      assert.deepEqual(await (await echo({ idempotencyKey: 'x', extra: 1 })).result(10_000), { idempotencyKey: 'x', extra: 1 });
    });

    it('times an attempt out: its AbortSignal fires and it fails even if the handler ignores it', async () => {
      const r = client();
      const reasons: unknown[] = [];
      let calls = 0;
      const slow = r.durable(
        'timeout:slow',
        async () => {
          calls += 1;
          const { signal } = jobContext();
          signal.addEventListener('abort', () => reasons.push(signal.reason));
          if (calls === 1) await sleep(1500); // ignores the signal
          return calls;
        },
        { timeoutMs: 300, maxAttempts: 2, initialDelayMs: 10 },
      );
      await r.start();
      const h = await slow();
      assert.equal(await h.result(10_000), 2);
      const attempts = await h.attempts();
      assert.equal(attempts[0]!.outcome, 'failure');
      assert.match(attempts[0]!.error!, /timed out after \d+ ms \(timeout 300 ms\)/);
      assert.ok(attempts[0]!.finishedAt! - attempts[0]!.startedAt < 1200, 'failed at the timeout, not when the handler ended');
      assert.equal(reasons.length, 1);
      assert.ok(reasons[0] instanceof TimeoutError);
    });

    it('cancels a pending job and a running one (its signal fires); a finished job cannot be', async () => {
      const r = client();
      let aborted: unknown;
      const started: string[] = [];
      const wait = r.durable(
        'cancel:wait',
        async () => {
          const { signal, jobId } = jobContext();
          started.push(jobId);
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          aborted = signal.reason;
          return 'never stored';
        },
        { timeoutMs: 600 },
      );
      const later = await wait.withOptions({ delayMs: 60_000 })();
      assert.equal(await r.cancelJob(later.jobId), true);
      assert.equal(await later.status(), 'cancelled');
      const e = await rejectsWith(later.result(1000), 'JOB_CANCELLED');
      assert.ok(e instanceof JobCancelledError);

      await r.start();
      const running = await wait();
      await waitFor(() => started.includes(running.jobId), 5000, 'the handler to start');
      assert.equal(await running.cancel(), true);
      await waitFor(() => aborted !== undefined, 5000, 'the signal to fire');
      assert.ok(aborted instanceof ConflictError);
      await rejectsWith(running.result(5000), 'JOB_CANCELLED');
      assert.equal(await running.cancel(), false);
    });

    it('retries a DEAD job by id; delays and orders by priority', async () => {
      const r = client(1);
      let fail = true;
      const order: number[] = [];
      const job = r.durable('steer:job', async (n: number) => {
        if (n === 0 && fail) throw new NonRetryableError('not yet');
        order.push(n);
        return n;
      });
      const first = await job(0);
      const low = await job.withOptions({ priority: 1 })(1);
      const high = await job.withOptions({ priority: 9 })(2);
      const delayed = await job.withOptions({ delayMs: 400 })(3);
      const enqueuedAt = Date.now();
      await r.start();
      await rejectsWith(first.result(10_000), 'JOB_FAILED');
      await Promise.all([low.result(10_000), high.result(10_000)]);
      assert.deepEqual(order.slice(0, 2), [2, 1], 'higher priority first');
      fail = false;
      const again = await r.retryJob(first.jobId);
      assert.notEqual(again.status, 'dead');
      assert.equal(await first.result(10_000), 0);
      assert.equal(await delayed.result(10_000), 3);
      const d = await delayed.details();
      assert.ok(d.startedAt! - enqueuedAt >= 350, `delayed job started after ${d.startedAt! - enqueuedAt} ms`);
      await rejectsWith(r.retryJob(first.jobId), 'CONFLICT');
    });

    it('lists jobs with filters, paging and totals', async () => {
      const r = client();
      const a = r.durable('list:a', async () => 1);
      const b = r.durable('list:b', async () => 2);
      for (let i = 0; i < 5; i++) await a.withOptions({ delayMs: 60_000 })();
      for (let i = 0; i < 3; i++) await b.withOptions({ delayMs: 60_000 })();
      const page = await r.listJobs({ name: 'list:a', status: 'pending', limit: 2 });
      assert.equal(page.total, 5);
      assert.equal(page.jobs.length, 2);
      assert.ok(page.jobs.every((j) => j.name === 'list:a' && j.status === 'pending'));
      const both = await r.listJobs({ name: ['list:a', 'list:b'], limit: 100, ascending: true });
      assert.equal(both.total, 8);
      assert.ok(both.jobs[0]!.createdAt <= both.jobs[7]!.createdAt);
      await rejectsWith(r.listJobs({ status: 'sleeping' as never }), 'INVALID_ARGUMENT', /sleeping/i);
    });

    it('awaits a job from another client, and times the wait out with TIMEOUT', async () => {
      const producer = client();
      const worker = client();
      const square = producer.durable('other:square', async (n: number) => n * n);
      worker.durable('other:square', async (n: number) => n * n);
      const h = await square(7);
      await rejectsWith(h.result(100), 'TIMEOUT');
      await worker.start();
      assert.equal(await producer.job<number>(h.jobId).result(10_000), 49);
    });

    it('runs a function declared after start(), and starts again after stop()', async () => {
      const r = client();
      await r.start();
      const late = r.durable('late:fn', async (s: string) => s + '!');
      assert.equal(await (await late('hi')).result(10_000), 'hi!');
      await r.stop();
      await r.start();
      assert.equal(await (await late('again')).result(10_000), 'again!');
    });

    it('refuses bad input with a code and a message naming what was wrong', async () => {
      const r = client();
      const fn = r.durable('bad:fn', async (x: unknown) => x);
      await rejectsWith(fn.withOptions({ maxAttempts: 0 })(1), 'INVALID_ARGUMENT', /max_attempts/);
      await rejectsWith(fn.withOptions({ jitter: 2 })(1), 'INVALID_ARGUMENT', /jitter/);
      await rejectsWith(fn.withOptions({ backoff: 'sometimes' as never })(1), 'INVALID_ARGUMENT', /backoff/);
      await rejectsWith(fn.withOptions({ delayMs: 10, runAt: Date.now() })(1), 'INVALID_ARGUMENT', /delay/);
      assert.throws(() => fn.withOptions({ retries: 3 } as never), (e: unknown) => e instanceof InvalidArgumentError && /retries/.test(e.message));
      assert.throws(() => r.durable('bad:opts', async () => 1, { idempotencyKey: 'k' } as never), /idempotencyKey/);
      assert.throws(() => r.durable('bad:fn', async () => 1), (e: unknown) => e instanceof ReseolioError && e.code === 'ALREADY_EXISTS');
      await rejectsWith(r.enqueue('bad:fn', [10n]), 'INVALID_ARGUMENT', /JSON/);
      await rejectsWith(fn('x'.repeat(2 * 1024 * 1024)), 'INVALID_ARGUMENT', /args/);
      await rejectsWith(r.enqueue('', []), 'INVALID_ARGUMENT', /name/);
      const nf = await rejectsWith(r.getJob('no-such-job'), 'NOT_FOUND', /no-such-job/);
      assert.ok(nf instanceof NotFoundError);
      await rejectsWith(r.cancelJob('no-such-job'), 'NOT_FOUND');
      await rejectsWith(r.job('no-such-job').result(100), 'NOT_FOUND');
      assert.throws(() => r.namespace('a:b'), /cannot contain/);
      assert.equal(r.namespace('billing', 'invoice', 'send'), 'billing:invoice:send');
      // Nothing was stored by the refused calls.
      assert.equal((await r.listJobs({ name: 'bad:fn' })).total, 0);
    });

    it('stop() hands back a job whose handler outlives the grace period, and fires its signal', async () => {
      const r = client();
      let signalled: unknown;
      const stuck = r.durable('stop:stuck', async () => {
        const { signal } = jobContext();
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        signalled = signal.reason;
      }, { timeoutMs: 1000, maxAttempts: 3 });
      await r.start();
      const h = await stuck();
      await waitFor(async () => (await h.status()) === 'running', 5000, 'the job to run');
      await r.stop();
      assert.ok(signalled instanceof ReseolioError && signalled.code === 'SHUT_DOWN');
      const other = client();
      if (transport.name !== 'sidecar') {
        assert.equal(await other.job(h.jobId).status(), 'pending');
      } else {
        // The v1 wire has no "release": a sidecar's job comes back when its lease lapses.
        await waitFor(async () => ['pending', 'failed'].includes(await other.job(h.jobId).status()), 5000, 'the lease to lapse');
      }
    });
  });
}
