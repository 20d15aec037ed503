/**
 * Cron schedules on every transport: a seconds-level schedule fires in real time and its jobs run
 * until it is paused; the shortcuts, the handle and the client calls; re-declaring is idempotent;
 * bad input is refused with the engine's message and nothing is stored.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError, Reseolio, ReseolioError, type Schedule } from 'reseolio';
import { sleep, TRANSPORTS, waitFor } from './helpers';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The first instant after `t` whose UTC day (when given) and hour are these, on the hour. */
function nextUtc(t: number, hour: number, day?: number): number {
  const d = new Date(t);
  let c = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour);
  while (c <= t || (day !== undefined && new Date(c).getUTCDay() !== day % 7)) c += DAY;
  return c;
}

/** The local wall time of `ms` in `timeZone`, as 'HH:MM'. */
function wallTime(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

function isCode(code: string, ...parts: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof ReseolioError, `not a ReseolioError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' does not name ${p}`);
    return true;
  };
}

for (const transport of TRANSPORTS) {
  describe(`schedules over the ${transport.name} transport`, { skip: transport.skip ?? false }, () => {
    const clients: Reseolio[] = [];
    const closers: (() => Promise<void>)[] = [];

    /** A client on storage of its own (a fresh database, schema or sidecar). */
    async function fresh(): Promise<Reseolio> {
      const { url, close } = await transport.open();
      closers.push(close);
      const r = new Reseolio({ storage: url, pollIntervalMs: 100 });
      clients.push(r);
      return r;
    }

    after(async () => {
      for (const r of clients) await r.stop();
      for (const close of closers) await close();
    });

    it('a seconds-level schedule fires and its jobs run; pause stops it', async () => {
      const r = await fresh();
      const seen: number[] = [];
      const tick = r.durable('sched:tick', async (n: number) => {
        seen.push(n);
        return n;
      });
      await r.start();
      const handle = await tick.schedule({ cron: '* * * * * *', args: [7] });
      await waitFor(() => seen.length >= 2, 5_000, 'two runs of a seconds-level schedule');
      assert.deepEqual(seen.slice(0, 2), [7, 7], 'each job carries the schedule\'s args');

      const d = await handle.details();
      assert.ok(d.lastRunAt !== null && d.lastRunAt % 1000 === 0, `lastRunAt is a tick: ${String(d.lastRunAt)}`);
      assert.equal((await handle.lastRunAt())?.getTime(), d.lastRunAt);
      assert.equal((await r.getJob(d.lastJobId!)).name, 'sched:tick');

      const paused = await handle.pause();
      assert.equal(paused.status, 'paused');
      const { total } = await r.listJobs({ name: 'sched:tick' });
      await sleep(2_200);
      assert.equal((await r.listJobs({ name: 'sched:tick' })).total, total, 'no job starts while paused');
      await waitFor(() => seen.length === total, 5_000, 'the jobs started before the pause to run');
    });

    it('the shortcuts set the expression and the next tick; handlerOptions default to the function\'s', async () => {
      const r = await fresh();
      const report = r.durable('sched:report', async () => 'ok', { maxAttempts: 4, timeoutMs: 5_000 });
      const before = Date.now();
      const cases = [
        [await report.everyMinute({ name: 'sched:minute' }), '* * * * *', (t: number) => Math.floor(t / MINUTE) * MINUTE + MINUTE],
        [await report.hourly({ name: 'sched:hourly' }), '0 * * * *', (t: number) => Math.floor(t / HOUR) * HOUR + HOUR],
        [await report.daily(9, { name: 'sched:daily' }), '0 9 * * *', (t: number) => nextUtc(t, 9)],
        [await report.weekly(1, 3, { name: 'sched:weekly' }), '0 3 * * 1', (t: number) => nextUtc(t, 3, 1)],
      ] as const;
      const afterMs = Date.now();
      for (const [handle, cron, next] of cases) {
        const d = await handle.details();
        assert.deepEqual(
          [d.cron, d.cronExpression, d.timezone, d.status, d.functionName, d.args, d.missed, d.overlap],
          [cron, cron, 'UTC', 'active', 'sched:report', [], 'run_latest', 'allow'],
        );
        assert.deepEqual(d.handlerOptions, { maxAttempts: 4, timeoutMs: 5_000 });
        assert.equal(await handle.status(), 'active');
        assert.equal(await handle.lastRunAt(), null);
        const at = (await handle.nextRunAt()).getTime();
        assert.ok([next(before), next(afterMs)].includes(at), `${cron}: next run ${new Date(at).toISOString()}`);
      }

      // Weekly on day 7 is Sunday too; a zone moves the ticks to its wall clock.
      const sunday = await report.weekly(7, 0, { name: 'sched:sunday' });
      assert.equal(new Date((await sunday.details()).nextRunAt).getUTCDay(), 0);
      const paris = await report.daily(9, { name: 'sched:paris', timezone: 'Europe/Paris' });
      const parisNext = await paris.nextRunAt();
      assert.equal(wallTime(parisNext.getTime(), 'Europe/Paris'), '09:00');
      assert.ok(parisNext.getTime() > before && parisNext.getTime() <= afterMs + DAY + HOUR);

      // Without a name, the schedule is named after the function; handlerOptions override its options.
      const own = await report.hourly({ handlerOptions: { timeoutMs: 9_000, priority: 2 } });
      assert.equal(own.name, 'sched:report');
      assert.deepEqual((await own.details()).handlerOptions, { maxAttempts: 4, timeoutMs: 9_000, priority: 2 });
    });

    it('a handle reads, changes, pauses, resumes, triggers and deletes its schedule', async () => {
      const r = await fresh();
      const add = r.durable('sched:add', async (a: number, b: number) => a + b, { maxAttempts: 2 });
      await r.start();
      const h = await add.schedule({
        name: 'sched:steer',
        cron: '0 8 * * *',
        args: [1, 2],
        handlerOptions: { priority: 3 },
        missed: 'skip',
        overlap: 'skip',
      });
      assert.deepEqual([h.name, h.functionName], ['sched:steer', 'sched:add']);
      let d: Schedule = await h.details();
      assert.equal(d.id, h.id);
      assert.deepEqual([d.args, d.handlerOptions, d.missed, d.overlap], [[1, 2], { maxAttempts: 2, priority: 3 }, 'skip', 'skip']);
      assert.ok(d.createdAt <= d.updatedAt && d.nextRunAt > d.createdAt);

      assert.equal((await h.pause()).status, 'paused');
      assert.equal(await h.status(), 'paused');
      assert.equal((await h.pause()).status, 'paused', 'pausing a paused schedule changes nothing');
      const resumed = await h.resume();
      assert.equal(resumed.status, 'active');
      assert.ok(resumed.nextRunAt > Date.now() - 1_000);

      d = await h.update({
        cron: '30 6 * * *',
        timezone: 'Asia/Tokyo',
        args: [5, 6],
        handlerOptions: { timeoutMs: 2_000 },
        missed: 'run_latest',
      });
      assert.deepEqual(
        [d.id, d.cron, d.timezone, d.args, d.missed, d.overlap, d.status],
        [h.id, '30 6 * * *', 'Asia/Tokyo', [5, 6], 'run_latest', 'skip', 'active'],
      );
      // The new job options are merged over the current ones: priority 3 stays.
      assert.deepEqual(d.handlerOptions, { maxAttempts: 2, priority: 3, timeoutMs: 2_000 });
      assert.equal(wallTime(d.nextRunAt, 'Asia/Tokyo'), '06:30');
      assert.equal((await h.nextRunAt()).getTime(), d.nextRunAt);

      const job = await h.trigger();
      assert.equal(await job.result(10_000), 11);
      const j = await job.details();
      assert.deepEqual([j.name, j.maxAttempts, j.timeoutMs, JSON.parse(Buffer.from(j.args).toString())], ['sched:add', 2, 2_000, [5, 6]]);
      assert.equal(await h.lastRunAt(), null, 'a trigger is not a tick');

      assert.equal(await h.delete(), true);
      await assert.rejects(h.details(), isCode('NOT_FOUND'));
      assert.equal(await h.delete(), false, 'already gone');
      assert.equal((await job.details()).status, 'success', 'its jobs stay');
    });

    it('the client gets, lists, changes and deletes schedules by id and name; re-declaring is idempotent', async () => {
      const r = await fresh();
      const work = r.durable('sched:work', async (label: string) => label);
      const made = [];
      for (const name of ['sched:c', 'sched:a', 'sched:e', 'sched:b']) {
        made.push(await work.schedule({ name, cron: '0 0 1 1 *', args: [name] }));
      }
      // The published client form, for a function this client does not declare.
      const other = await r.schedule('sched:elsewhere', { cron: '@daily', name: 'sched:d' });
      assert.equal(other.functionName, 'sched:elsewhere');
      await r.pauseSchedule('sched:a');
      await r.pauseSchedule(made[2]!.id);

      const byId = await r.getSchedule(other.id);
      assert.deepEqual(await r.getSchedule('sched:d'), byId);
      assert.deepEqual([byId.cron, byId.args, byId.handlerOptions], ['@daily', [], {}]);
      await assert.rejects(r.getSchedule('sched:nope'), isCode('NOT_FOUND', 'sched:nope'));

      const all = await r.listSchedules();
      assert.equal(all.total, 5);
      assert.deepEqual(all.schedules.map((s) => s.name), ['sched:a', 'sched:b', 'sched:c', 'sched:d', 'sched:e']);
      const paused = await r.listSchedules({ status: 'paused' });
      assert.deepEqual([paused.total, paused.schedules.map((s) => s.name)], [2, ['sched:a', 'sched:e']]);
      assert.equal((await r.listSchedules({ status: 'active' })).total, 3);
      const page = await r.listSchedules({ limit: 2, offset: 1 });
      assert.deepEqual([page.total, page.schedules.map((s) => s.name)], [5, ['sched:b', 'sched:c']]);
      const last = await r.listSchedules({ limit: 2, offset: 4 });
      assert.deepEqual([last.total, last.schedules.map((s) => s.name)], [5, ['sched:e']]);
      await assert.rejects(r.listSchedules({ limit: 0 }), isCode('INVALID_ARGUMENT'));

      // Re-declaring (an app's next start) updates in place: same id, same status, no new schedule.
      const again = await work.schedule({ name: 'sched:a', cron: '0 12 * * *', args: ['again'] });
      assert.equal(again.id, made[1]!.id);
      const a = await r.getSchedule('sched:a');
      assert.deepEqual([a.cron, a.args, a.status], ['0 12 * * *', ['again'], 'paused']);
      const same = await work.schedule({ name: 'sched:c', cron: '0 0 1 1 *', args: ['sched:c'] });
      assert.equal(same.id, made[0]!.id);
      assert.equal((await r.getSchedule('sched:c')).nextRunAt, (await made[0]!.details()).nextRunAt, 'the next tick is kept');
      assert.equal((await r.listSchedules()).total, 5);

      const updated = await r.updateSchedule('sched:b', { cron: '15 * * * *', overlap: 'skip' });
      assert.deepEqual([updated.name, updated.cron, updated.overlap, updated.args], ['sched:b', '15 * * * *', 'skip', ['sched:b']]);
      assert.equal((await r.updateSchedule(made[3]!.id, { handlerOptions: { maxAttempts: 9 } })).handlerOptions.maxAttempts, 9);
      assert.equal((await r.resumeSchedule(made[1]!.id)).status, 'active');
      assert.equal((await r.pauseSchedule('sched:b')).status, 'paused');

      const job = await r.triggerSchedule<string>('sched:e');
      const j = await r.getJob(job.jobId);
      assert.deepEqual([j.name, j.status, JSON.parse(Buffer.from(j.args).toString())], ['sched:work', 'pending', ['sched:e']]);

      assert.equal(await r.deleteSchedule('sched:e'), true);
      assert.equal(await r.deleteSchedule(other.id), true);
      assert.equal(await r.deleteSchedule('sched:e'), false);
      assert.equal((await r.listSchedules()).total, 3);
      await assert.rejects(r.pauseSchedule('sched:e'), isCode('NOT_FOUND'));
      await assert.rejects(r.triggerSchedule('sched:e'), isCode('NOT_FOUND'));
      await r.start();
      assert.equal(await job.result(10_000), 'sched:e', 'a triggered job of a deleted schedule still runs');
    });

    it('refuses bad input, naming it, and stores nothing', async () => {
      const r = await fresh();
      const f = r.durable('sched:bad', async () => null);
      const refusal = (...parts: string[]) => (e: unknown) =>
        isCode('INVALID_ARGUMENT', ...parts)(e) && e instanceof InvalidArgumentError;

      await assert.rejects(f.schedule({ cron: '61 * * * *' }), refusal('"61" is out of range for minute'));
      await assert.rejects(f.schedule({ cron: '0 9 * * *', timezone: 'Mars/Olympus' }), refusal('Mars/Olympus'));
      await assert.rejects(f.schedule({ cron: '* * *' }), refusal('* * *'));
      await assert.rejects(f.daily(9, { missed: 'sometimes' as 'skip' }), refusal('missed', 'sometimes'));
      await assert.rejects(f.hourly({ overlap: 'never' as 'skip' }), refusal('overlap', 'never'));
      await assert.rejects(f.daily(24), refusal('hour', '24'));
      await assert.rejects(f.weekly(8, 0), refusal('day', '8'));
      await assert.rejects(f.everyMinute({ cron: '* * * * *' } as object), refusal('cron'));
      await assert.rejects(f.schedule({ cron: '* * * * *', handlerOptions: { idempotencyKey: 'k' } as object }), refusal('idempotencyKey'));
      await assert.rejects(f.schedule({ cron: '* * * * *', handlerOptions: { maxAttempts: 0 } }), refusal('max_attempts'));
      await assert.rejects(f.schedule({ cron: '* * * * *', args: 'x' as unknown as [] }), refusal('args'));
      await assert.rejects(f.schedule({ cron: '* * * * *', args: [] }, ...([1] as unknown as [])), refusal('twice'));
      await assert.rejects(r.schedule('', { cron: '* * * * *' }), refusal('durable function'));
      assert.equal((await r.listSchedules()).total, 0, 'nothing stored');
      await assert.rejects(r.getSchedule('sched:bad'), isCode('NOT_FOUND'));

      // A refused change leaves the schedule as it was.
      const h = await f.hourly();
      const before = await h.details();
      await assert.rejects(h.update({ cron: '61 * * * *' }), refusal('"61" is out of range for minute'));
      await assert.rejects(r.updateSchedule('sched:bad', { timezone: 'Mars/Olympus' }), refusal('Mars/Olympus'));
      await assert.rejects(r.updateSchedule('sched:bad', { every: 'minute' } as object), refusal('every'));
      assert.deepEqual(await h.details(), before);
      await assert.rejects(r.updateSchedule('sched:nope', { cron: '* * * * *' }), isCode('NOT_FOUND', 'sched:nope'));
    });
  });
}
