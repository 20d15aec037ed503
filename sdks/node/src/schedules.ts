/**
 * Cron schedules: a schedule starts a job of a durable function at every tick of a cron
 * expression, in an IANA time zone. Schedules live in the engine (see docs/schedules.md), so they
 * fire while any process of the app runs (the leader fires them) and survive restarts.
 *
 * Declared on a durable function (`fn.schedule({ cron })`, `fn.everyMinute()`, `fn.hourly()`,
 * `fn.daily(hour)`, `fn.weekly(day, hour)`) or on the client by function name
 * (`reseolio.schedule(name, { cron })`), the published 0.1.x forms. Declaring a name that exists
 * updates that schedule (same id; a paused schedule stays paused), so an app may declare its
 * schedules at every start.
 */
import { InternalError, InvalidArgumentError } from './errors';
import type { JobHandle } from './job';
import type { NativeJobOptions, NativeSchedule, NativeScheduleChange, NativeScheduleSpec } from './native';
import { toNativeOptions, type BackoffStrategy, type DurableOptions } from './options';

/** Whether a schedule fires. */
export type ScheduleStatus = 'active' | 'paused';

/**
 * Ticks that passed while no process ran: `run_latest` (default) starts one catch-up job for the
 * latest of them; `skip` starts none for a tick more than 60 s late.
 */
export type MissedPolicy = 'run_latest' | 'skip';

/**
 * A tick while the previous tick's job is pending, running or waiting for a retry: `allow`
 * (default) starts its job anyway; `skip` starts nothing.
 */
export type OverlapPolicy = 'allow' | 'skip';

/** A schedule as stored. Times are Unix ms, as on `Job`. */
export interface Schedule {
  id: string;
  /** Unique among the store's schedules; by default the function's name. */
  name: string;
  /** The durable function its jobs run. */
  functionName: string;
  /** The cron expression as declared. */
  cron: string;
  /** Same as `cron` (the published 0.1.x name). */
  cronExpression: string;
  /** The IANA time zone its ticks are computed in. */
  timezone: string;
  status: ScheduleStatus;
  /** The arguments of every job it starts. */
  args: unknown[];
  /** The options of every job it starts; absent fields take the engine's defaults. */
  handlerOptions: DurableOptions;
  missed: MissedPolicy;
  overlap: OverlapPolicy;
  /**
   * Its next tick. While paused, the tick that was next when it was paused: it does not fire
   * then, and `resume()` starts from the first tick after the resume.
   */
  nextRunAt: number;
  /** The tick of the last job it started (a trigger is not a tick); null before the first. */
  lastRunAt: number | null;
  /** The last job a tick started; null before the first. */
  lastJobId: string | null;
  createdAt: number;
  /** When its definition or status last changed. */
  updatedAt: number;
}

/** What a declaration sets besides the expression and the args. */
export interface ScheduleSettings {
  /** An IANA time zone such as 'Europe/Paris' (default 'UTC'). */
  timezone?: string;
  /**
   * The options of every job it starts: retries, backoff, timeout, priority. Layered over the
   * options of the durable function (when it is declared on this client): `{ ...fn.options,
   * ...handlerOptions }`. An idempotency key, delay or run time are the schedule's to set.
   */
  handlerOptions?: DurableOptions;
  missed?: MissedPolicy;
  overlap?: OverlapPolicy;
}

/** A declaration: the expression, an optional name, and settings. */
export interface ScheduleDeclaration extends ScheduleSettings {
  /** Five fields (`minute hour day-of-month month day-of-week`), six with seconds first, or a macro such as '@daily'. */
  cron: string;
  /** The schedule's name (default: the function's name); give one for a second schedule of a function. */
  name?: string;
}

/** The args of a schedule's jobs, typed by the handler's parameters: required when it has required ones. */
export type ScheduleArgs<TArgs extends unknown[]> = [] extends TArgs ? { args?: TArgs } : { args: TArgs };

/** The options of `fn.schedule(...)` and `reseolio.schedule(name, ...)`. */
export type ScheduleOptions<TArgs extends unknown[] = unknown[]> = ScheduleDeclaration & ScheduleArgs<TArgs>;

/** The options of the shortcuts (`everyMinute`, `hourly`, `daily`, `weekly`), which set the expression. */
export type ShortcutOptions<TArgs extends unknown[] = unknown[]> = Omit<ScheduleDeclaration, 'cron'> & ScheduleArgs<TArgs>;

/** The trailing options of a shortcut: optional unless the handler has required parameters. */
export type ShortcutRest<TArgs extends unknown[]> = [] extends TArgs
  ? [options?: ShortcutOptions<TArgs>]
  : [options: ShortcutOptions<TArgs>];

/**
 * A change to a schedule; absent fields are kept. A new expression or zone starts from the first
 * tick after now. `handlerOptions` are merged over the schedule's current job options: an
 * option left out keeps its value.
 */
export interface ScheduleUpdate<TArgs extends unknown[] = unknown[]> extends ScheduleSettings {
  cron?: string;
  args?: TArgs;
}

/** Filter and paging of `listSchedules`. Schedules come in name order. */
export interface ListSchedulesOptions {
  status?: ScheduleStatus;
  /** Page size, 1 to 1000 (default 100). */
  limit?: number;
  offset?: number;
}

/** The schedule methods of a durable function; each declares (or re-declares) a schedule of it. */
export interface ScheduleMethods<TArgs extends unknown[], TResult> {
  /** Declares a schedule of this function: `fn.schedule({ cron: '0 8 * * *', timezone: 'Europe/Paris' })`. */
  schedule(options: ScheduleOptions<TArgs>): Promise<ScheduleHandle<TArgs, TResult>>;
  /** The published example's form: the jobs' arguments after the options. */
  schedule(options: ScheduleDeclaration & { args?: never }, ...args: TArgs): Promise<ScheduleHandle<TArgs, TResult>>;
  /** Every minute, at second 0: `* * * * *`. */
  everyMinute(...options: ShortcutRest<TArgs>): Promise<ScheduleHandle<TArgs, TResult>>;
  /** Every hour, on the hour: `0 * * * *`. */
  hourly(...options: ShortcutRest<TArgs>): Promise<ScheduleHandle<TArgs, TResult>>;
  /** Every day at `hour`:00 (0-23) in the zone: `0 <hour> * * *`. */
  daily(hour: number, ...options: ShortcutRest<TArgs>): Promise<ScheduleHandle<TArgs, TResult>>;
  /** Every week on `day` (0-7, 0 and 7 Sunday, 1 Monday) at `hour`:00: `0 <hour> * * <day>`. */
  weekly(day: number, hour: number, ...options: ShortcutRest<TArgs>): Promise<ScheduleHandle<TArgs, TResult>>;
}

/** What a ScheduleHandle needs of its client (the `Reseolio` client is one). */
export interface ScheduleHost {
  getSchedule(idOrName: string): Promise<Schedule>;
  updateSchedule(idOrName: string, change: ScheduleUpdate): Promise<Schedule>;
  pauseSchedule(idOrName: string): Promise<Schedule>;
  resumeSchedule(idOrName: string): Promise<Schedule>;
  deleteSchedule(idOrName: string): Promise<boolean>;
  triggerSchedule<T = unknown>(idOrName: string): Promise<JobHandle<T>>;
}

/**
 * A handle to a schedule: its id and name, and calls that read or steer it (by id, so a schedule
 * deleted and declared again under the same name is another schedule). Every call reads or writes
 * the store; nothing is cached.
 */
export class ScheduleHandle<TArgs extends unknown[] = unknown[], TResult = unknown> {
  readonly id: string;
  readonly name: string;
  /** The durable function its jobs run. */
  readonly functionName: string;
  readonly #host: ScheduleHost;

  constructor(id: string, name: string, functionName: string, host: ScheduleHost) {
    this.id = id;
    this.name = name;
    this.functionName = functionName;
    this.#host = host;
  }

  /** The schedule as stored; NOT_FOUND once deleted. */
  details(): Promise<Schedule> {
    return this.#host.getSchedule(this.id);
  }

  async status(): Promise<ScheduleStatus> {
    return (await this.details()).status;
  }

  /** Stops its ticks until `resume()`; pausing a paused schedule changes nothing. */
  pause(): Promise<Schedule> {
    return this.#host.pauseSchedule(this.id);
  }

  /** Fires again from the first tick after now: the ticks that passed while paused start nothing. */
  resume(): Promise<Schedule> {
    return this.#host.resumeSchedule(this.id);
  }

  /** Changes the expression, zone, args, job options or policies (see `ScheduleUpdate`). */
  update(change: ScheduleUpdate<TArgs>): Promise<Schedule> {
    return this.#host.updateSchedule(this.id, change);
  }

  /** Deletes it (the jobs it started stay): true, or false when it was already gone. */
  delete(): Promise<boolean> {
    return this.#host.deleteSchedule(this.id);
  }

  /** Its next tick (while paused: see `Schedule.nextRunAt`). */
  async nextRunAt(): Promise<Date> {
    return new Date((await this.details()).nextRunAt);
  }

  /** The tick of the last job it started, or null before the first. */
  async lastRunAt(): Promise<Date | null> {
    const last = (await this.details()).lastRunAt;
    return last === null ? null : new Date(last);
  }

  /** Starts a job now, outside the ticks (paused or not), with the schedule's args and options. */
  trigger(): Promise<JobHandle<TResult>> {
    return this.#host.triggerSchedule<TResult>(this.id);
  }
}

const DECLARATION_KEYS = ['cron', 'name', 'timezone', 'handlerOptions', 'args', 'missed', 'overlap'];
const UPDATE_KEYS = ['cron', 'timezone', 'handlerOptions', 'args', 'missed', 'overlap'];
const PER_CALL_OPTIONS = ['idempotencyKey', 'delayMs', 'runAt'];

/** `x` as a plain object whose keys are all in `keys` (any keys when null). */
function plainObject(what: string, x: unknown, keys: readonly string[] | null): Record<string, unknown> {
  const proto = x !== null && typeof x === 'object' ? (Object.getPrototypeOf(x) as unknown) : undefined;
  if (x === null || typeof x !== 'object' || Array.isArray(x) || (proto !== Object.prototype && proto !== null)) {
    throw new InvalidArgumentError(`${what} must be an object`);
  }
  if (keys === null) return x as Record<string, unknown>;
  const unknown = Object.keys(x).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`unknown ${what} field(s): ${unknown.join(', ')}; known: ${keys.join(', ')}`);
  }
  return x as Record<string, unknown>;
}

function optionalString(field: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${field} must be a string, got ${typeof v}`);
  return v;
}

function argsJson(v: unknown): string {
  if (!Array.isArray(v)) throw new InvalidArgumentError('a schedule\'s args must be an array of the function arguments');
  try {
    return JSON.stringify(v);
  } catch (e) {
    throw new InvalidArgumentError(`a schedule's args cannot be stored as JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The job options of a schedule: `handlerOptions` over the function's own options. Refuses the
 * per-call options (the schedule sets the idempotency key and run time of each tick's job).
 */
export function scheduleJobOptions(defaults: DurableOptions | undefined, handlerOptions: unknown): NativeJobOptions {
  if (handlerOptions === undefined || handlerOptions === null) return toNativeOptions(defaults, 'durable');
  const o = plainObject('handlerOptions', handlerOptions, null);
  const perCall = PER_CALL_OPTIONS.filter((k) => o[k] !== undefined);
  if (perCall.length > 0) {
    throw new InvalidArgumentError(
      `handlerOptions cannot set ${perCall.join(', ')}: the schedule sets the idempotency key and run time of each tick's job`,
    );
  }
  toNativeOptions(o, 'durable'); // names and types of the user's own options, before the merge
  return toNativeOptions({ ...defaults, ...o }, 'durable');
}

/**
 * A declaration in the addon's form. `args` after the options are the published example's way to
 * give the jobs' arguments; giving both is refused.
 */
export function toNativeSpec(
  functionName: string,
  defaults: DurableOptions | undefined,
  options: unknown,
  trailingArgs: unknown[],
): NativeScheduleSpec {
  if (typeof functionName !== 'string' || functionName.length === 0) {
    throw new InvalidArgumentError('a schedule needs the non-empty name of a durable function');
  }
  const o = plainObject('schedule option', options, DECLARATION_KEYS);
  if (typeof o.cron !== 'string') throw new InvalidArgumentError('a schedule needs a cron expression (a string) in `cron`');
  if (o.args !== undefined && trailingArgs.length > 0) {
    throw new InvalidArgumentError('the jobs\' arguments are given twice: in `args` and after the options');
  }
  const spec: NativeScheduleSpec = {
    function: functionName,
    cron: o.cron,
    args: argsJson(o.args ?? trailingArgs),
    options: scheduleJobOptions(defaults, o.handlerOptions),
  };
  const name = optionalString('name', o.name);
  const timezone = optionalString('timezone', o.timezone);
  const missed = optionalString('missed', o.missed);
  const overlap = optionalString('overlap', o.overlap);
  if (name !== undefined) spec.name = name;
  if (timezone !== undefined) spec.timezone = timezone;
  if (missed !== undefined) spec.missed = missed;
  if (overlap !== undefined) spec.overlap = overlap;
  return spec;
}

/**
 * A change in the addon's form. `handlerOptions` are checked here; the client layers them over
 * the function's options (`scheduleJobOptions`) once it knows the function.
 */
export function toNativeChange(change: unknown): NativeScheduleChange {
  const o = plainObject('schedule update', change, UPDATE_KEYS);
  const out: NativeScheduleChange = {};
  const cron = optionalString('cron', o.cron);
  const timezone = optionalString('timezone', o.timezone);
  const missed = optionalString('missed', o.missed);
  const overlap = optionalString('overlap', o.overlap);
  if (cron !== undefined) out.cron = cron;
  if (timezone !== undefined) out.timezone = timezone;
  if (missed !== undefined) out.missed = missed;
  if (overlap !== undefined) out.overlap = overlap;
  if (o.args !== undefined) out.args = argsJson(o.args);
  if (o.handlerOptions !== undefined) out.options = scheduleJobOptions(undefined, o.handlerOptions);
  return out;
}

export function toSchedule(n: NativeSchedule): Schedule {
  let args: unknown;
  try {
    args = JSON.parse(n.args.toString('utf8'));
  } catch {
    args = undefined;
  }
  if (!Array.isArray(args)) throw new InternalError(`the args of schedule '${n.name}' are not a JSON array`);
  const handlerOptions: DurableOptions = {};
  if (n.maxAttempts != null) handlerOptions.maxAttempts = n.maxAttempts;
  if (n.backoff != null) handlerOptions.backoff = n.backoff as BackoffStrategy;
  if (n.initialDelayMs != null) handlerOptions.initialDelayMs = n.initialDelayMs;
  if (n.maxDelayMs != null) handlerOptions.maxDelayMs = n.maxDelayMs;
  if (n.timeoutMs != null) handlerOptions.timeoutMs = n.timeoutMs;
  if (n.jitter != null) handlerOptions.jitter = n.jitter;
  if (n.priority != null) handlerOptions.priority = n.priority;
  return {
    id: n.id,
    name: n.name,
    functionName: n.function,
    cron: n.cron,
    cronExpression: n.cron,
    timezone: n.timezone,
    status: n.status.toLowerCase() as ScheduleStatus,
    args,
    handlerOptions,
    missed: n.missed as MissedPolicy,
    overlap: n.overlap as OverlapPolicy,
    nextRunAt: n.nextRunAt,
    lastRunAt: n.lastRunAt ?? null,
    lastJobId: n.lastJobId ?? null,
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
  };
}

function inRange(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

/** The shortcuts' expressions; `day` 0-7 (0 and 7 Sunday), `hour` 0-23. */
export const CRON = {
  everyMinute: (): string => '* * * * *',
  hourly: (): string => '0 * * * *',
  daily: (hour: number): string => `0 ${inRange('daily(hour): hour', hour, 0, 23)} * * *`,
  weekly: (day: number, hour: number): string =>
    `0 ${inRange('weekly(day, hour): hour', hour, 0, 23)} * * ${inRange('weekly(day, hour): day', day, 0, 7)}`,
} as const;

/** What the schedule methods of a durable function call: the client's declaration by function name. */
export type Declare = (options: unknown, trailingArgs: unknown[]) => Promise<ScheduleHandle>;

/** The schedule methods of a durable function, as property descriptors for `Object.defineProperties`. */
export function scheduleMethods(declare: Declare): PropertyDescriptorMap {
  const shortcut = (name: string, cron: string, options: unknown): Promise<ScheduleHandle> => {
    const o = options === undefined ? {} : plainObject(`${name}() option`, options, DECLARATION_KEYS.filter((k) => k !== 'cron'));
    return declare({ ...o, cron }, []);
  };
  // Arguments are checked inside the async functions, so a bad one rejects rather than throws.
  return {
    schedule: { value: async (options: unknown, ...args: unknown[]) => declare(options, args) },
    everyMinute: { value: async (options?: unknown) => shortcut('everyMinute', CRON.everyMinute(), options) },
    hourly: { value: async (options?: unknown) => shortcut('hourly', CRON.hourly(), options) },
    daily: { value: async (hour: number, options?: unknown) => shortcut('daily', CRON.daily(hour), options) },
    weekly: {
      value: async (day: number, hour: number, options?: unknown) => shortcut('weekly', CRON.weekly(day, hour), options),
    },
  };
}
