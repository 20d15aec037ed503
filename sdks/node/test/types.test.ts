/**
 * The types a user sees: `durable()` keeps the handler's parameter and result types through to
 * `result()`. Checked by the compiler (the `@ts-expect-error` lines must be errors, or the type
 * check fails); the one run-time assertion keeps the file an honest test.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  jobContext,
  Reseolio,
  type ChildHandle,
  type DurableFunction,
  type JobDetails,
  type JobHandle,
  type Schedule,
  type ScheduleHandle,
  type Step,
} from 'reseolio';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeIs = <T extends true>(_: T): void => {};

const r = new Reseolio({ storage: 'sqlite::memory:' });
const add = r.durable('types:add', async (a: number, b: number) => ({ sum: a + b }));
const sync = r.durable('types:sync', (s: string) => s.length);

typeIs<Equal<typeof add, DurableFunction<[a: number, b: number], { sum: number }>>>(true);
typeIs<Equal<ReturnType<typeof sync>, Promise<JobHandle<number>>>>(true);
typeIs<Equal<Awaited<ReturnType<Awaited<ReturnType<typeof add>>['result']>>, { sum: number }>>(true);

async function compileOnly(): Promise<void> {
  await add(1, 2);
  await add(1, 2, { idempotencyKey: 'k' });
  await add.withOptions({ priority: 3, runAt: new Date() })(1, 2);
  // @ts-expect-error: a string is not a number
  await add('1', 2);
  // @ts-expect-error: a missing argument
  await add(1);
  // @ts-expect-error: not a job option
  await add.withOptions({ retries: 3 });
  const total: number = (await (await add(1, 2)).result()).sum;
  // @ts-expect-error: the result is { sum }, not a string
  const wrong: string = await (await add(1, 2)).result();
  void total;
  void wrong;

  // Schedules: args typed by the handler's parameters, the result by its result.
  const daily = await add.daily(9, { args: [1, 2], timezone: 'Europe/Paris' });
  typeIs<Equal<typeof daily, ScheduleHandle<[a: number, b: number], { sum: number }>>>(true);
  typeIs<Equal<Awaited<ReturnType<typeof daily.trigger>>, JobHandle<{ sum: number }>>>(true);
  typeIs<Equal<Awaited<ReturnType<typeof daily.nextRunAt>>, Date>>(true);
  typeIs<Equal<Awaited<ReturnType<typeof daily.lastRunAt>>, Date | null>>(true);
  await add.schedule({ cron: '0 8 * * *', args: [1, 2], handlerOptions: { maxAttempts: 5 }, missed: 'skip' });
  await add.schedule({ cron: '0 8 * * *' }, 1, 2);
  await daily.update({ cron: '0 9 * * *', args: [3, 4] });
  // @ts-expect-error: add needs its arguments
  await add.everyMinute();
  // @ts-expect-error: a string is not a number
  await add.schedule({ cron: '* * * * *', args: ['1', 2] });
  // @ts-expect-error: a string is not a number
  await daily.update({ args: ['1', 2] });
  const tick = r.durable('types:tick', async () => 1);
  await tick.everyMinute();
  await tick.hourly({ name: 'types:tick:hourly' });
  await tick.weekly(1, 3);
  // @ts-expect-error: the schedule sets the idempotency key of each tick's job
  await tick.schedule({ cron: '* * * * *', handlerOptions: { idempotencyKey: 'k' } });
  // @ts-expect-error: not a policy
  await tick.schedule({ cron: '* * * * *', overlap: 'queue' });
  const listed: Schedule[] = (await r.listSchedules({ status: 'paused', limit: 10 })).schedules;
  // @ts-expect-error: not a status
  await r.listSchedules({ status: 'deleted' });
  void listed;

  // Durable steps keep their result types; child jobs keep their function's types.
  const ctx = jobContext();
  const n: number = await ctx.step('n', () => 1);
  const o: { sum: number } = await ctx.step('o', async () => ({ sum: 1 }), { maxAttempts: 3, backoff: 'linear' });
  // @ts-expect-error: the step returns a number
  const s: string = await ctx.step('s', async () => 1);
  // @ts-expect-error: not a step option
  await ctx.step('x', () => 1, { retries: 3 });
  const child = await ctx.startChild(add, 1, 2);
  typeIs<Equal<typeof child, ChildHandle<{ sum: number }>>>(true);
  const joined: { sum: number } = await ctx.join(child);
  // @ts-expect-error: join keeps the child's result type
  const notJoined: string = await ctx.join(child);
  // @ts-expect-error: the child's arguments are typed by its function
  await ctx.startChild(add, '1', 2);
  // @ts-expect-error: a missing argument
  await ctx.child(add, 1);
  const length: number = await ctx.child(sync, 'abc');
  const both = await ctx.joinAll([child, await ctx.startChild(sync, 'x')]);
  typeIs<Equal<typeof both, [{ sum: number }, number]>>(true);
  const payload = await ctx.waitForEvent<{ ok: boolean }>('k', { timeoutMs: 1000 });
  typeIs<Equal<typeof payload, { ok: boolean }>>(true);
  await ctx.sleep(1000);
  await ctx.sleepUntil(new Date());
  const woken: number = await r.sendEvent('k', { ok: true });
  const details: JobDetails = await (await add(1, 2)).details();
  const steps: Step[] = details.steps;
  void [n, o, s, joined, notJoined, length, woken, steps];
}

it('the typed calls run', async () => {
  assert.equal(typeof compileOnly, 'function');
  const h = await add(2, 2);
  await r.start();
  assert.deepEqual(await h.result(10_000), { sum: 4 });
  await r.stop();
});
