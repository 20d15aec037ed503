/**
 * Durable steps: recorded outcomes survive a SIGKILL, a durable sleep survives a full restart,
 * events are received whether sent before or after the wait, a parent fans out to 100 child
 * jobs without holding a worker slot, a changed step order ends the job DEAD, and a step retries
 * in process. The basic step test also runs over a sidecar.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ChildHandle,
  JobFailedError,
  jobContext,
  NonRetryableError,
  Reseolio,
  ReseolioError,
  StepError,
  type Step,
} from 'reseolio';
import { exited, tempDir, TRANSPORTS, waitFor } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'steps-worker.js');

function workerProcess(url: string, mode: 'hang' | 'finish', log: string): ChildProcess {
  return spawn(process.execPath, [FIXTURE, url, mode, log], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function stopProcess(p: ChildProcess): Promise<void> {
  p.kill('SIGTERM');
  await exited(p);
}

const lines = (log: string): string[] => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0);
const count = (log: string, line: string): number => lines(log).filter((l) => l === line).length;
const shape = (steps: Step[]): string[] => steps.map((s) => `${s.seq} ${s.name} ${s.kind} ${s.status}`);

for (const transport of TRANSPORTS) {
  describe(`durable steps over the ${transport.name} transport`, { skip: transport.skip ?? false }, () => {
    it('replays recorded steps after a suspension: each step body runs once, in call order', async () => {
      const { url, close } = await transport.open();
      const r = new Reseolio({ storage: url, workerConcurrency: 2, pollIntervalMs: 50 });
      const calls: string[] = [];
      const flow = r.durable('steps:basic', async (x: number) => {
        const ctx = jobContext();
        const a = await ctx.step('a', () => {
          calls.push('a');
          return { v: x + 1 };
        });
        // Places are taken at call time: b then c, whichever finishes first.
        const [b, c] = await Promise.all([
          ctx.step('b', async () => {
            await new Promise((res) => setTimeout(res, 30));
            calls.push('b');
            return 'b';
          }),
          ctx.step('c', () => {
            calls.push('c');
            return 'c';
          }),
        ]);
        let failed = '';
        try {
          await ctx.step('boom', () => {
            calls.push('boom');
            throw new TypeError('bad input');
          });
        } catch (e) {
          assert.ok(e instanceof StepError);
          failed = `${e.code}: ${e.message}`;
        }
        await ctx.sleep(300);
        const d = await ctx.step('d', () => {
          calls.push('d');
          return a.v * 10;
        });
        return { a: a.v, b, c, d, failed };
      });
      await r.start();
      try {
        const h = await flow(4);
        assert.deepEqual(await h.result(15_000), { a: 5, b: 'b', c: 'c', d: 50, failed: 'STEP_FAILED: TypeError: bad input' });
        // Every body ran once although the handler ran twice (before and after the sleep).
        assert.deepEqual([...calls].sort(), ['a', 'b', 'boom', 'c', 'd']);
        const details = await h.details();
        assert.equal(details.status, 'success');
        assert.deepEqual(shape(details.steps), [
          '0 a run success',
          '1 b run success',
          '2 c run success',
          '3 boom run failed',
          '4 sleep sleep success',
          '5 d run success',
        ]);
        assert.deepEqual(details.steps[0]!.result, { v: 5 });
        assert.equal(details.steps[3]!.error, 'TypeError: bad input');
        assert.equal(details.steps[3]!.result, null);
        const nap = details.steps[4]!;
        // Until = the call's time + 300 ms; the step starts when the engine first sees it, a little later.
        assert.ok(nap.wakeAt! - nap.startedAt > 200 && nap.wakeAt! - nap.startedAt <= 300, `${nap.startedAt} -> ${nap.wakeAt}`);
        assert.ok(nap.completedAt! >= nap.wakeAt!, `completed ${nap.completedAt} before waking at ${nap.wakeAt}`);
        assert.deepEqual(await r.getSteps(h.jobId), details.steps);
        const outcomes = (await h.attempts()).map((a) => a.outcome);
        assert.deepEqual(outcomes, ['suspended', 'success']);
      } finally {
        await r.stop();
        await close();
      }
    });
  });
}

describe('durable steps on the embedded engine', () => {
  let url: string;
  let dir: string;
  const clients: Reseolio[] = [];
  const client = (concurrency = 4): Reseolio => {
    const r = new Reseolio({ storage: url, workerConcurrency: concurrency, pollIntervalMs: 50, shutdownGraceMs: 200 });
    clients.push(r);
    return r;
  };

  before(() => {
    dir = tempDir();
    url = `sqlite://${path.join(dir, 'steps.db')}`;
  });
  after(async () => {
    for (const r of clients) await r.stop();
  });

  it('a process SIGKILLed after step two: a new process runs step three only', async () => {
    const log = path.join(dir, 'three.log');
    fs.writeFileSync(log, '');
    const producer = client();
    const id = await producer.enqueue('steps:three', [], { timeoutMs: 60_000 });
    const victim = workerProcess(url, 'hang', log);
    try {
      await waitFor(() => count(log, `blocked ${id}`) === 1, 15_000, 'the marker after step two');
    } finally {
      victim.kill('SIGKILL');
      await exited(victim);
    }
    const survivor = workerProcess(url, 'finish', log);
    try {
      assert.deepEqual(await producer.job(id).result(20_000), [1, 2, 3]);
    } finally {
      await stopProcess(survivor);
    }
    assert.equal(count(log, `one ${id}`), 1, 'step one ran once');
    assert.equal(count(log, `two ${id}`), 1, 'step two ran once');
    assert.equal(count(log, `three ${id}`), 1, 'step three ran once');
    const steps = await producer.getSteps(id);
    assert.deepEqual(shape(steps), ['0 one run success', '1 two run success', '2 three run success']);
    assert.deepEqual(steps.map((s) => s.attempts), [1, 1, 1]);
  });

  it('a durable sleep across a full restart: the job waits PENDING, resumes after its wake time, and the code before it ran once', async () => {
    const log = path.join(dir, 'nap.log');
    fs.writeFileSync(log, '');
    const producer = client();
    const id = await producer.enqueue('steps:nap', []);
    const first = workerProcess(url, 'finish', log);
    let wakeAt = 0;
    try {
      await waitFor(
        async () => {
          const d = await producer.getJob(id);
          if (d.status !== 'pending' || d.steps[1]?.status !== 'waiting') return false;
          wakeAt = d.steps[1].wakeAt!;
          return true;
        },
        15_000,
        'the job to sleep',
      );
    } finally {
      first.kill('SIGKILL');
      await exited(first);
    }
    assert.ok(wakeAt > Date.now(), 'killed before the wake time');
    const second = workerProcess(url, 'finish', log);
    try {
      const value = (await producer.job<{ sleptAt: number; resumedAt: number }>(id).result(20_000));
      assert.ok(value.resumedAt >= wakeAt, `resumed at ${value.resumedAt}, before the wake time ${wakeAt}`);
      assert.ok(value.resumedAt - value.sleptAt >= 3000);
    } finally {
      await stopProcess(second);
    }
    assert.equal(count(log, `before ${id}`), 1, 'the step before the sleep ran once');
    const d = await producer.getJob(id);
    assert.deepEqual(shape(d.steps), ['0 before run success', '1 sleep sleep success']);
    assert.equal(d.steps[1]!.wakeAt, wakeAt, 'the recorded wake time was kept');
  });

  it('events: sent before the wait, sent while waiting, and a wait that times out', async () => {
    const r = client();
    const waits = r.durable('steps:event', async (key: string, timeoutMs: number | null) => {
      const ctx = jobContext();
      try {
        const payload = await ctx.waitForEvent<{ n: number }>(key, timeoutMs === null ? {} : { timeoutMs });
        return { got: payload };
      } catch (e) {
        assert.ok(e instanceof ReseolioError);
        return { caught: e.code, message: e.message };
      }
    });
    assert.equal(await r.sendEvent('ev:early', { n: 1 }), 0, 'nobody waits yet');
    await r.start();

    const early = await waits('ev:early', null);
    assert.deepEqual(await early.result(10_000), { got: { n: 1 } });
    assert.deepEqual((await early.attempts()).map((a) => a.outcome), ['success'], 'received without suspending');

    const late = await waits('ev:late', null);
    await waitFor(async () => (await late.details()).steps[0]?.status === 'waiting', 10_000, 'the wait to start');
    assert.equal(await late.status(), 'pending', 'a waiting job holds no worker');
    assert.equal(await r.sendEvent('ev:late', { n: 2 }), 1, 'one job woken');
    assert.deepEqual(await late.result(10_000), { got: { n: 2 } });

    const started = Date.now();
    const lonely = await waits('ev:never', 1000);
    const out = (await lonely.result(10_000)) as { caught: string; message: string };
    assert.deepEqual(out, { caught: 'TIMEOUT', message: "timed out waiting for event 'ev:never'" });
    assert.ok(Date.now() - started >= 1000);
    const steps = await lonely.steps();
    assert.deepEqual(shape(steps), ['0 event:ev:never event failed']);
    assert.equal(steps[0]!.waitKey, 'ev:never');
  });

  it('a parent fans out to 100 children with worker concurrency 2: it holds no slot while it waits', async () => {
    const r = client(2);
    const square = r.durable('steps:square', async (n: number) => n * n);
    const parent = r.durable('steps:fanout', async (n: number) => {
      const ctx = jobContext();
      const handles = await Promise.all(Array.from({ length: n }, (_, i) => ctx.startChild(square, i)));
      return ctx.joinAll(handles);
    });
    await r.start();
    const h = await parent(100);
    const results = await h.result(60_000);
    assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i * i));
    const steps = await h.steps();
    assert.equal(steps.length, 200);
    assert.ok(steps.slice(0, 100).every((s) => s.name === 'start:steps:square' && s.kind === 'run' && s.status === 'success'));
    assert.ok(steps.slice(100).every((s) => s.name === 'join:steps:square' && s.kind === 'child' && s.status === 'success'));
    // One child per start step, each started once (idempotency keys '<parent>/<seq>').
    const children = new Set(steps.slice(0, 100).map((s) => s.result as string));
    assert.equal(children.size, 100);
    assert.deepEqual(steps.slice(100).map((s) => s.waitKey), steps.slice(0, 100).map((s) => s.result));
    const { total } = await r.listJobs({ name: 'steps:square', limit: 1 });
    assert.equal(total, 100);
    const outcomes = (await h.attempts()).map((a) => a.outcome);
    assert.ok(outcomes.includes('suspended'), `the parent suspended: ${outcomes.join(',')}`);
    assert.equal(outcomes[outcomes.length - 1], 'success');
  });

  it("a failing child: join throws JobFailedError with the child's own error, which the parent can catch", async () => {
    const r = client();
    const broken = r.durable('steps:broken', async () => {
      throw new NonRetryableError('no luck');
    });
    const parent = r.durable('steps:parent', async () => {
      try {
        return await jobContext().child(broken);
      } catch (e) {
        assert.ok(e instanceof JobFailedError);
        return `${e.code} ${e.error}`;
      }
    });
    // join() takes any JobHandle: its function's name is read from the job.
    const byHandle = r.durable('steps:parent-by-handle', async () => {
      const ctx = jobContext();
      const id = await ctx.step('enqueue', async () => (await broken()).jobId);
      try {
        return await ctx.join(r.job(id));
      } catch (e) {
        assert.ok(e instanceof JobFailedError);
        assert.equal(e.jobId, id);
        return `${e.code} ${e.error}`;
      }
    });
    await r.start();
    const h = await parent();
    // As result() gives it for the child: without the "child job '<id>' failed: " of the record.
    assert.equal(await h.result(15_000), 'JOB_FAILED NonRetryableError: no luck');
    const steps = await h.steps();
    assert.deepEqual(shape(steps), ['0 start:steps:broken run success', '1 join:steps:broken child failed']);
    assert.equal(steps[1]!.error, `child job '${String(steps[0]!.result)}' failed: NonRetryableError: no luck`);
    const h2 = await byHandle();
    assert.equal(await h2.result(15_000), 'JOB_FAILED NonRetryableError: no luck');
    assert.deepEqual(shape(await h2.steps()), ['0 enqueue run success', '1 join:steps:broken child failed']);
  });

  it('a step resolves to its JSON round trip on the first run as on a replay', async () => {
    const r = client();
    const seen: string[] = [];
    const flow = r.durable('steps:json', async () => {
      const ctx = jobContext();
      const when = await ctx.step('when', () => new Date(0));
      const nothing = await ctx.step('nothing', () => undefined);
      const map = await ctx.step('map', () => new Map([[1, 2]]));
      seen.push(`${typeof when} ${String(when)} ${String(nothing)} ${JSON.stringify(map)} ${String(map instanceof Map)}`);
      // The second run replays the three steps.
      await ctx.sleep(100);
      return when;
    });
    await r.start();
    const h = await flow();
    assert.equal(await h.result(10_000), '1970-01-01T00:00:00.000Z');
    const same = 'string 1970-01-01T00:00:00.000Z null {} false';
    assert.deepEqual(seen, [same, same], 'the same values on the first run and on the replay');
    assert.deepEqual((await h.attempts()).map((a) => a.outcome), ['suspended', 'success']);
  });

  it("after a suspension the attempt's signal fires: a handler that caught the signal can tell it must stop", async () => {
    const r = client();
    const seen: string[] = [];
    const flow = r.durable('steps:signal', async () => {
      const ctx = jobContext();
      const aborted = new Promise<unknown>((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
      try {
        await ctx.sleep(200);
      } catch {
        const reason = (await aborted) as ReseolioError;
        assert.ok(reason instanceof ReseolioError);
        seen.push(`${String(ctx.signal.aborted)} ${reason.code} ${reason.message}`);
        return 'swallowed';
      }
      seen.push(`resumed ${String(ctx.signal.aborted)}`);
      return 'done';
    });
    await r.start();
    const h = await flow();
    assert.equal(await h.result(10_000), 'done');
    assert.equal(seen.length, 2);
    assert.match(seen[0]!, /^true CONFLICT job \S+ was suspended on a durable wait: this attempt is over/);
    assert.equal(seen[1], 'resumed false');
  });

  it("a step called inside another step's code is refused without taking a place", async () => {
    const r = client();
    const nest = r.durable(
      'steps:nest',
      async (method: 'step' | 'sleep' | 'startChild') => {
        const ctx = jobContext();
        await ctx.step('outer', async () => {
          if (method === 'step') await ctx.step('inner', () => 1);
          else if (method === 'sleep') await ctx.sleep(10);
          else await ctx.startChild(nest, 'step');
          return 'outer';
        });
        return 'not reached';
      },
      { maxAttempts: 1 },
    );
    const caught = r.durable('steps:nest-caught', async () => {
      const ctx = jobContext();
      const code = await ctx.step('outer', async () => {
        try {
          await ctx.waitForEvent('never');
          return 'accepted';
        } catch (e) {
          return e instanceof ReseolioError ? e.code : String(e);
        }
      });
      return [code, await ctx.step('next', () => 2)];
    });
    await r.start();
    for (const method of ['step', 'sleep', 'startChild'] as const) {
      const h = await nest(method);
      await assert.rejects(h.result(15_000), (e: unknown) => {
        assert.ok(e instanceof JobFailedError);
        assert.match(
          e.error,
          new RegExp(`^StepError: InvalidArgumentError: ctx\\.${method} was called inside the code of step 'outer'; steps cannot nest`),
        );
        return true;
      });
      assert.deepEqual(shape(await h.steps()), ['0 outer run failed'], `${method}: the inner call took no place`);
    }
    const { total } = await r.listJobs({ name: 'steps:nest', limit: 1 });
    assert.equal(total, 3, 'no child was started');
    const h = await caught();
    assert.deepEqual(await h.result(10_000), ['INVALID_ARGUMENT', 2]);
    assert.deepEqual(shape(await h.steps()), ['0 outer run success', '1 next run success']);
  });

  it('bad arguments are refused before the call takes a place: a name over 255 bytes runs no code', async () => {
    const r = client();
    let ran = 0;
    // A valid function name (250 bytes) whose step names, 'start:' or 'join:' added, are too long.
    const longName = 'f'.repeat(250);
    const long = r.durable(longName, async () => {
      ran++;
      return 1;
    });
    const flow = r.durable(
      'steps:refused',
      async () => {
        const ctx = jobContext();
        const refusals: string[] = [];
        const refused = async (p: Promise<unknown>): Promise<void> => {
          try {
            await p;
            refusals.push('accepted');
          } catch (e) {
            refusals.push(e instanceof ReseolioError ? `${e.code}: ${e.message}` : String(e));
          }
        };
        // 128 two-byte characters: 256 bytes in UTF-8.
        await refused(ctx.step('é'.repeat(128), () => void ran++));
        await refused(ctx.startChild(long));
        await refused(ctx.child(long));
        await refused(ctx.join(new ChildHandle('some-id', 'f'.repeat(251), r)));
        await refused(ctx.step('bad options', () => void ran++, { maxAttempts: 0 }));
        await refused(ctx.sleep(-1));
        await refused(ctx.sleepUntil(Number.NaN));
        await refused(ctx.waitForEvent('k'.repeat(201)));
        await ctx.step('after', () => 'ok');
        return refusals;
      },
      { maxAttempts: 1 },
    );
    await r.start();
    const h = await flow();
    const refusals = await h.result(10_000);
    assert.equal(refusals.length, 8);
    assert.ok(refusals.every((x) => x.startsWith('INVALID_ARGUMENT: ')), refusals.join('\n'));
    assert.match(refusals[0]!, /^INVALID_ARGUMENT: a step name 'é+…' is 256 bytes in UTF-8; the limit is 255$/);
    assert.match(refusals[1]!, /the step name 'start:f+…' is 256 bytes in UTF-8; the limit is 255$/);
    assert.match(refusals[2]!, /the step name 'start:f+…' is 256 bytes/);
    assert.match(refusals[3]!, /the step name 'join:f+…' is 256 bytes/);
    assert.equal(ran, 0, 'no step code ran');
    const { total } = await r.listJobs({ name: longName, limit: 1 });
    assert.equal(total, 0, 'no child was enqueued');
    // The refused calls took no place: the next step is the first.
    assert.deepEqual(shape(await h.steps()), ['0 after run success']);
  });

  it('over-size payloads: a result over the limit is recorded as a failed step, an error over it is cut to 64 KiB', async () => {
    const r = client();
    const big = 2 * 1024 * 1024;
    const flow = r.durable('steps:big', async () => {
      const ctx = jobContext();
      const out: string[] = [];
      for (const [name, fn] of [
        ['big result', () => 'x'.repeat(big)],
        [
          'big error',
          () => {
            throw new Error('y'.repeat(big));
          },
        ],
      ] as const) {
        try {
          await ctx.step(name, fn);
          out.push('accepted');
        } catch (e) {
          assert.ok(e instanceof StepError);
          out.push(`${e.stepName}: ${Buffer.byteLength(e.message)}`);
        }
      }
      return out;
    });
    await r.start();
    const h = await flow();
    const out = await h.result(15_000);
    const steps = await h.steps();
    assert.deepEqual(shape(steps), ['0 big result run failed', '1 big error run failed']);
    assert.match(steps[0]!.error!, /^the result of step 'big result' could not be stored: .*\b1048576\b/);
    const cut = steps[1]!.error!;
    assert.ok(Buffer.byteLength(cut) <= 64 * 1024 && Buffer.byteLength(cut) > 60 * 1024, `${Buffer.byteLength(cut)} bytes`);
    assert.match(cut, new RegExp(`^y+ … \\[cut: the error was ${big} bytes\\]$`));
    assert.deepEqual(out, [`big result: ${Buffer.byteLength(steps[0]!.error!)}`, `big error: ${Buffer.byteLength(cut)}`]);
  });

  it('a handler that swallows the suspension: what it returns is ignored, and the job resumes', async () => {
    const r = client();
    let runs = 0;
    const stubborn = r.durable('steps:stubborn', async () => {
      const ctx = jobContext();
      const run = ++runs;
      try {
        await ctx.sleep(200);
      } catch {
        // Swallowed: the attempt is over anyway; later step calls throw again without a call.
        await assert.rejects(ctx.step('after', () => 'never'), (e: unknown) => !(e instanceof Error));
        return `swallowed in run ${run}`;
      }
      return `resumed in run ${run}`;
    });
    await r.start();
    const h = await stubborn();
    assert.equal(await h.result(10_000), 'resumed in run 2');
    assert.deepEqual(shape(await h.steps()), ['0 sleep sleep success']);
    assert.deepEqual((await h.attempts()).map((a) => a.outcome), ['suspended', 'success']);
  });

  it('a step order that changes between runs ends the job DEAD at once, even when the handler catches it', async () => {
    const r = client();
    const runs = { plain: 0, caught: 0 };
    const fickle = r.durable(
      'steps:fickle',
      async (which: 'plain' | 'caught') => {
        const ctx = jobContext();
        runs[which]++;
        if (ctx.attempt === 1) {
          await ctx.step('first', () => 1);
          throw new Error('fail the first attempt');
        }
        if (which === 'caught') {
          try {
            await ctx.step('second', () => 2);
          } catch {
            return 'swallowed';
          }
        }
        await ctx.step('second', () => 2);
        return 'done';
      },
      { maxAttempts: 5, initialDelayMs: 10, jitter: 0 },
    );
    await r.start();
    for (const which of ['plain', 'caught'] as const) {
      const h = await fickle(which);
      await assert.rejects(h.result(15_000), (e: unknown) => {
        assert.ok(e instanceof JobFailedError);
        assert.match(
          e.error,
          /^StepOrderError: step order changed in job '[^']+': step 0 was recorded as 'first \(run\)' but this run calls 'second \(run\)' there/,
        );
        return true;
      });
      const d = await h.details();
      assert.equal(d.status, 'dead');
      assert.equal(d.attempt, 2, 'no attempt after the order error');
      assert.equal(runs[which], 2);
      assert.deepEqual(shape(d.steps), ['0 first run success']);
    }
  });

  it('a step retries in process: its attempts are stored; a step out of attempts raises StepError with its cause', async () => {
    const r = client();
    let tries = 0;
    let hopeless = 0;
    const flaky = r.durable('steps:flaky', async () => {
      const ctx = jobContext();
      const started = Date.now();
      const v = await ctx.step(
        'flaky',
        () => {
          if (++tries < 3) throw new Error(`try ${tries}`);
          return tries;
        },
        { maxAttempts: 5, backoff: 'fixed', initialDelayMs: 50 },
      );
      const waited = Date.now() - started;
      let error = '';
      try {
        await ctx.step(
          'hopeless',
          () => {
            hopeless++;
            throw new RangeError('never');
          },
          { maxAttempts: 2, initialDelayMs: 1 },
        );
      } catch (e) {
        assert.ok(e instanceof StepError);
        assert.ok(e.cause instanceof RangeError);
        error = `${e.code} ${e.stepName} ${e.message}`;
      }
      return { v, waited, error };
    });
    await r.start();
    const h = await flaky();
    const out = await h.result(15_000);
    assert.equal(out.v, 3);
    assert.ok(out.waited >= 100, `two fixed delays of 50 ms, waited ${out.waited}`);
    assert.equal(out.error, 'STEP_FAILED hopeless RangeError: never');
    assert.equal(tries, 3);
    assert.equal(hopeless, 2);
    const steps = await h.steps();
    assert.deepEqual(shape(steps), ['0 flaky run success', '1 hopeless run failed']);
    assert.deepEqual(steps.map((s) => s.attempts), [3, 2]);
    assert.equal(steps[0]!.result, 3);
    assert.equal((await h.attempts()).length, 1, 'one job attempt');
  });
});
