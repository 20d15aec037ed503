/**
 * The types a user sees: `durable()` keeps the handler's parameter and result types through to
 * `result()`. Checked by the compiler (the `@ts-expect-error` lines must be errors, or the type
 * check fails); the one run-time assertion keeps the file an honest test.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Reseolio, type DurableFunction, type JobHandle, type Schedule, type ScheduleHandle } from 'reseolio';

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
}

it('the typed calls run', async () => {
  assert.equal(typeof compileOnly, 'function');
  const h = await add(2, 2);
  await r.start();
  assert.deepEqual(await h.result(10_000), { sum: 4 });
  await r.stop();
});
