/** The Reseolio client: the registry of durable functions, the worker, and calls on jobs. */
import { EventEmitter } from 'node:events';
import { AlreadyExistsError, call, InvalidArgumentError, ReseolioError, type ErrorCode } from './errors';
import {
  JobHandle,
  jobDetails,
  toAttempt,
  toJob,
  toStep,
  type Attempt,
  type ClaimedJob,
  type Job,
  type JobDetails,
  type JobStatus,
  type Step,
} from './job';
import { native, type NativeClient, type NativeTask } from './native';
import { looksLikeJobOptions, toNativeOptions, type DurableOptions, type JobOptions } from './options';
import {
  ScheduleHandle,
  scheduleJobOptions,
  scheduleMethods,
  toNativeChange,
  toNativeSpec,
  toSchedule,
  type ListSchedulesOptions,
  type Schedule,
  type ScheduleMethods,
  type ScheduleOptions,
  type ScheduleUpdate,
} from './schedules';
import { WorkerLoop, type AnyHandler } from './worker';

export interface ReseolioConfig {
  /**
   * Where jobs live: `sqlite://./file.db` (the embedded engine; the default is
   * `sqlite://./reseolio.db`), `sqlite::memory:`, `postgres://user:pass@host:5432/db` (the
   * embedded engine on PostgreSQL; `?schema=name` picks the schema, default `reseolio`), or a
   * reseolio sidecar as `grpc://host:port` or a bare `host:port`.
   */
  storage?: string;
  /** A sidecar's `host:port`, used when `autoStart` is false and no `storage` is given (0.1.x). */
  address?: string;
  /** Jobs this client runs at once (default 10). */
  workerConcurrency?: number;
  /**
   * 0.1.x started a separate engine process unless this was false, and otherwise connected to
   * `address`. The engine is now in-process, so only the second half remains: false with no
   * `storage` means "use the sidecar at `address`".
   */
  autoStart?: boolean;
  /** Accepted for 0.1.x compatibility and ignored: there is no engine binary to find. */
  coreBinaryPath?: string;
  /** How long `stop()` lets running handlers finish before their jobs are handed back (default 5000 ms). */
  shutdownGraceMs?: number;
  /** How often an idle embedded worker looks for due jobs when no wake-up came (default 1000 ms). */
  pollIntervalMs?: number;
  /** The bearer token a sidecar started with `--token` requires. */
  token?: string;
}

/** The handler's own result, unwrapped from a Promise. */
type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/**
 * A durable function: calling it writes a job and resolves to its handle once the job is durable.
 * Its schedule methods (`schedule`, `everyMinute`, `hourly`, `daily`, `weekly`) declare cron
 * schedules that start its jobs.
 */
export interface DurableFunction<TArgs extends unknown[], TResult> extends ScheduleMethods<TArgs, TResult> {
  (...args: TArgs): Promise<JobHandle<TResult>>;
  /** The published 0.1.x form: a trailing plain object of job options (see `looksLikeJobOptions`). */
  (...args: [...TArgs, JobOptions]): Promise<JobHandle<TResult>>;
  /** The unambiguous form: `fn.withOptions({ idempotencyKey: 'k' })(...args)`. */
  withOptions(options: JobOptions): (...args: TArgs) => Promise<JobHandle<TResult>>;
  /** The registered name. */
  readonly functionName: string;
  /** The defaults of every job it starts. */
  readonly options: DurableOptions;
}

/** Filters and paging of `listJobs`. */
export interface ListJobsOptions {
  status?: JobStatus | JobStatus[];
  name?: string | string[];
  /** Page size (default 100). */
  limit?: number;
  offset?: number;
  orderBy?: 'createdAt' | 'runAt';
  /** Oldest first (default newest first). */
  ascending?: boolean;
}

/**
 * Who leads the nodes sharing the store (the leader runs the rescuer, the pruner and the
 * scheduler for all of them), as the node this client talks to sees it. Times are Unix ms, as on
 * `Job`.
 */
export interface LeaderInfo {
  /** The node this client talks to: the embedded engine's, or the sidecar's engine's. */
  nodeId: string;
  /**
   * The leading node; null before the first election and after a leader resigned (a clean stop)
   * until the next maintenance pass of a node elects one.
   */
  leaderNodeId: string | null;
  /** When the leader's current term began. */
  electedAt: number | null;
  /**
   * When its term lapses unless renewed; a leader that died keeps the row until another node
   * takes over, so this may be past.
   */
  expiresAt: number | null;
  /** Whether `nodeId` is the leader. */
  isLeader: boolean;
}

export interface ReseolioEvents {
  ready: [];
  stopped: [];
  /** A call with an idempotency key found the job of an earlier call. */
  deduplicated: [jobId: string];
  'job:start': [job: ClaimedJob];
  'job:success': [job: ClaimedJob, result: unknown];
  /** An attempt failed (thrown, timed out); the job retries or is DEAD. */
  'job:error': [job: ClaimedJob, error: string];
  /** The worker could not poll or report (a sidecar gone away). */
  'worker:error': [error: Error];
}

const NAME_PART = /^[^:/]+$/;

function storageUrl(config: ReseolioConfig): string {
  let s = config.storage;
  if (s === undefined && config.autoStart === false && config.address !== undefined) s = config.address;
  s ??= 'sqlite://./reseolio.db';
  if (typeof s !== 'string' || s.length === 0) {
    throw new InvalidArgumentError(`storage must be a storage URL string, got ${JSON.stringify(s)}`);
  }
  // A bare host:port (the 0.1.x address form) is a sidecar.
  if (/^[A-Za-z0-9.\-]+:\d+$/.test(s) || /^\[[0-9a-fA-F:]+\]:\d+$/.test(s)) return `grpc://${s}`;
  return s;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1, got ${String(v)}`);
  return v;
}

/**
 * The client. One per process is the usual shape; it is an EventEmitter of `job:start`,
 * `job:success`, `job:error`, `deduplicated`, `ready`, `stopped` and `worker:error`.
 *
 * Calls made before `start()` connect on first use; `start()` also starts the worker that runs
 * this client's durable functions. After `stop()` nothing keeps the process alive.
 */
export class Reseolio extends EventEmitter {
  readonly #url: string;
  readonly #concurrency: number;
  readonly #graceMs: number;
  readonly #connect: { pollIntervalMs?: number; token?: string };
  readonly #handlers = new Map<string, AnyHandler>();
  /** The options of each durable function: the defaults of its schedules' job options too. */
  readonly #defaults = new Map<string, DurableOptions>();
  #client: Promise<NativeClient> | undefined;
  #loops: WorkerLoop[] = [];
  #started = false;

  constructor(config: ReseolioConfig = {}) {
    super();
    this.#url = storageUrl(config);
    this.#concurrency = positiveInt('workerConcurrency', config.workerConcurrency, 10);
    this.#graceMs = config.shutdownGraceMs ?? 5000;
    if (!Number.isFinite(this.#graceMs) || this.#graceMs < 0) {
      throw new InvalidArgumentError(`shutdownGraceMs must be a number of ms >= 0, got ${String(config.shutdownGraceMs)}`);
    }
    this.#connect = {};
    if (config.pollIntervalMs !== undefined) this.#connect.pollIntervalMs = positiveInt('pollIntervalMs', config.pollIntervalMs, 1000);
    if (config.token !== undefined) this.#connect.token = config.token;
  }

  /** The storage URL this client uses. */
  get storage(): string {
    return this.#url;
  }

  /** The native client, connecting on first use. */
  native(): Promise<NativeClient> {
    if (this.#client === undefined) {
      const opening = (async () => {
        let addon;
        try {
          addon = native();
        } catch (e) {
          throw new ReseolioError(
            'INTERNAL',
            `the reseolio native addon could not be loaded (npm install builds it with cargo): ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        return call(addon.connect(this.#url, this.#connect));
      })();
      this.#client = opening;
      // A failed connection is not remembered: the next call tries again.
      opening.catch(() => {
        if (this.#client === opening) this.#client = undefined;
      });
    }
    return this.#client;
  }

  /** Connects (opening and migrating an embedded database) and starts the worker of the declared durable functions. */
  async start(): Promise<void> {
    if (this.#started) return;
    await this.native();
    this.#started = true;
    if (this.#handlers.size > 0) await this.#startWorker([...this.#handlers.keys()]);
    this.emit('ready');
  }

  /**
   * Stops the worker (running handlers get `shutdownGraceMs`, then their jobs are handed back and
   * their AbortSignals fire) and closes the connection. Pending calls of other code reject with
   * SHUT_DOWN. The client can be started again.
   */
  async stop(): Promise<void> {
    const loops = this.#loops;
    this.#loops = [];
    this.#started = false;
    await Promise.all(loops.map((l) => l.stop(this.#graceMs)));
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) {
      const c = await client.catch(() => undefined);
      if (c !== undefined) await call(c.close());
    }
    this.emit('stopped');
  }

  async #startWorker(names: string[]): Promise<void> {
    const c = await this.native();
    const worker = await call(c.worker(names, this.#concurrency));
    const loop = new WorkerLoop(worker, c, this, this.#handlers, {
      start: (t) => this.emit('job:start', taskJob(t)),
      success: (t, value) => this.emit('job:success', taskJob(t, 'success'), value),
      failure: (t, error) => this.emit('job:error', taskJob(t, 'failed', error), error),
      workerError: (e) => {
        // An EventEmitter throws an 'error'-like event nobody listens to; this one is only logged.
        if (this.listenerCount('worker:error') > 0) this.emit('worker:error', e);
        else console.error('[reseolio] worker error:', e);
      },
    }, this.#concurrency);
    this.#loops.push(loop);
    loop.start();
  }

  /** `namespace('billing', 'invoice', 'send')` is `'billing:invoice:send'`; parts may not contain ':' or '/'. */
  namespace(...parts: string[]): string {
    if (parts.length === 0) throw new InvalidArgumentError('namespace() needs at least one part');
    for (const p of parts) {
      if (typeof p !== 'string' || p.length === 0) throw new InvalidArgumentError('namespace parts must be non-empty strings');
      if (!NAME_PART.test(p)) throw new InvalidArgumentError(`namespace part '${p}' cannot contain ':' or '/'`);
    }
    return parts.join(':');
  }

  /**
   * Declares a durable function. The returned function writes a job (args as a JSON array) and
   * resolves to its JobHandle once the job is durable; this client's worker runs `handler` for it.
   * A name can be declared once per client (ALREADY_EXISTS); options are checked here.
   * Declared after `start()`, the function gets a worker of its own.
   */
  durable<F extends AnyHandler>(name: string, handler: F, options: DurableOptions = {}): DurableFunction<Parameters<F>, ResultOf<F>> {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('a durable function needs a non-empty name');
    if (typeof handler !== 'function') throw new InvalidArgumentError(`the handler of '${name}' must be a function`);
    if (this.#handlers.has(name)) throw new AlreadyExistsError(`a durable function named '${name}' is already declared on this client`);
    toNativeOptions(options, 'durable');
    this.#handlers.set(name, handler);
    const defaults = Object.freeze({ ...options });
    this.#defaults.set(name, defaults);
    if (this.#started) {
      void this.#startWorker([name]).catch((e: unknown) => this.emit('worker:error', e instanceof Error ? e : new Error(String(e))));
    }
    type Args = Parameters<F>;
    type Result = ResultOf<F>;
    const enqueueWith = async (args: unknown[], perCall: JobOptions | undefined): Promise<JobHandle<Result>> => {
      const jobId = await this.enqueue(name, args, { ...options, ...perCall });
      return new JobHandle<Result>(jobId, this);
    };
    const fn = ((...args: unknown[]) => {
      const last = args[args.length - 1];
      if (args.length > 0 && looksLikeJobOptions(last)) return enqueueWith(args.slice(0, -1), last);
      return enqueueWith(args, undefined);
    }) as unknown as DurableFunction<Args, Result>;
    Object.defineProperties(fn, {
      functionName: { value: name, enumerable: true },
      options: { value: defaults, enumerable: true },
      withOptions: {
        value: (perCall: JobOptions) => {
          toNativeOptions(perCall);
          return (...args: Args) => enqueueWith(args, perCall);
        },
      },
      ...scheduleMethods((opts, args) => this.schedule(name, opts as ScheduleOptions, ...args)),
    });
    return fn;
  }

  /**
   * Writes a job for the function `name` with `args` (JSON-able) and resolves to its id once it
   * is durable. With an `idempotencyKey` already used for `name`, resolves to the first job's id
   * (and emits `deduplicated`).
   */
  async enqueue(name: string, args: unknown[], options: JobOptions = {}): Promise<string> {
    if (!Array.isArray(args)) throw new InvalidArgumentError('args must be an array of the function arguments');
    let json: string;
    try {
      json = JSON.stringify(args);
    } catch (e) {
      throw new InvalidArgumentError(`the args of '${name}' cannot be stored as JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const opts = toNativeOptions(options);
    const c = await this.native();
    const r = await call(c.enqueue(name, json, opts));
    if (r.deduplicated) this.emit('deduplicated', r.jobId);
    return r.jobId;
  }

  /** A handle for a job by id (no call is made). */
  job<T = unknown>(jobId: string): JobHandle<T> {
    return new JobHandle<T>(jobId, this);
  }

  /** The job as stored, with its durable steps; NOT_FOUND for an unknown id. */
  async getJob(jobId: string): Promise<JobDetails> {
    return jobDetails(await this.native(), jobId);
  }

  /** A job's durable steps in call order; NOT_FOUND for an unknown id. */
  async getSteps(jobId: string): Promise<Step[]> {
    const c = await this.native();
    return (await call(c.steps(jobId))).map(toStep);
  }

  /**
   * Sends an event: stores `payload` (JSON-able) under `key` (a later send replaces it) and
   * resumes every job waiting for it in `waitForEvent(key)`; a wait that starts later receives
   * it at once. Durable once it resolves; resolves to how many waiting jobs were woken. Not a
   * step: called from a handler, it sends again when the handler runs again.
   */
  async sendEvent(key: string, payload: unknown = null): Promise<number> {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('an event key must be a non-empty string');
    let json: string;
    try {
      json = JSON.stringify(payload === undefined ? null : payload);
    } catch (e) {
      throw new InvalidArgumentError(`the payload of event '${key}' cannot be stored as JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const c = await this.native();
    return call(c.eventSend(key, json));
  }

  /** Cancels a job: true when it is now CANCELLED, false when it had already finished. */
  async cancelJob(jobId: string): Promise<boolean> {
    return this.job(jobId).cancel();
  }

  /** Runs a DEAD or CANCELLED job again from its first attempt; resolves to it as stored after. */
  async retryJob(jobId: string): Promise<Job> {
    const c = await this.native();
    return toJob(await call(c.retry(jobId)));
  }

  /** Every attempt of a job, oldest first. */
  async getAttempts(jobId: string): Promise<Attempt[]> {
    const c = await this.native();
    return (await call(c.attempts(jobId))).map(toAttempt);
  }

  /**
   * Who leads the nodes sharing the store, and which node this client talks to. A read; the first
   * maintenance pass of a node, right at its start, elects one when there is none.
   */
  async leader(): Promise<LeaderInfo> {
    const c = await this.native();
    const n = await call(c.leader());
    return {
      nodeId: n.nodeId,
      leaderNodeId: n.leaderNodeId ?? null,
      electedAt: n.electedAt ?? null,
      expiresAt: n.expiresAt ?? null,
      isLeader: n.isLeader,
    };
  }

  /**
   * Declares a schedule of the durable function `functionName` (the published 0.1.x client form;
   * `fn.schedule(options)` is the same on a durable function): creates it, or updates the one of
   * that name, keeping its id and status. `handlerOptions` are layered over the function's options
   * when it is declared on this client. Rejects with INVALID_ARGUMENT naming what is wrong (for an
   * expression, the token and the field: `"61" is out of range for minute (0-59)`; for a zone,
   * the zone); nothing is stored then.
   */
  async schedule(functionName: string, options: ScheduleOptions, ...args: unknown[]): Promise<ScheduleHandle> {
    const spec = toNativeSpec(functionName, this.#defaults.get(functionName), options, args);
    const c = await this.native();
    const s = await call(c.scheduleDeclare(spec));
    return new ScheduleHandle(s.id, s.name, s.function, this);
  }

  /** The schedule with that id or name; NOT_FOUND names it. */
  async getSchedule(idOrName: string): Promise<Schedule> {
    const c = await this.native();
    return toSchedule(await call(c.scheduleGet(idOrName)));
  }

  /** A page of schedules in name order, and how many match in all. */
  async listSchedules(options: ListSchedulesOptions = {}): Promise<{ schedules: Schedule[]; total: number }> {
    const params: Parameters<NativeClient['scheduleList']>[0] = {};
    if (options.status !== undefined) params.status = options.status;
    if (options.limit !== undefined) params.limit = options.limit;
    if (options.offset !== undefined) params.offset = options.offset;
    const c = await this.native();
    const r = await call(c.scheduleList(params));
    return { schedules: r.schedules.map(toSchedule), total: r.total };
  }

  /**
   * Changes a schedule by id or name (see `ScheduleUpdate`); resolves to it as changed. With
   * `handlerOptions`, reads it first to merge them over its current job options (the same rule
   * as the Python package: an option left out keeps its value). Two concurrent option updates of
   * one schedule can overwrite each other.
   */
  async updateSchedule(idOrName: string, change: ScheduleUpdate): Promise<Schedule> {
    const native = toNativeChange(change);
    const c = await this.native();
    if (native.options !== undefined) {
      const current = toSchedule(await call(c.scheduleGet(idOrName)));
      native.options = scheduleJobOptions(current.handlerOptions, change.handlerOptions);
    }
    return toSchedule(await call(c.scheduleUpdate(idOrName, native)));
  }

  /** Pauses a schedule by id or name: no tick fires until it is resumed. */
  async pauseSchedule(idOrName: string): Promise<Schedule> {
    const c = await this.native();
    return toSchedule(await call(c.schedulePause(idOrName)));
  }

  /** Resumes a schedule by id or name from the first tick after now. */
  async resumeSchedule(idOrName: string): Promise<Schedule> {
    const c = await this.native();
    return toSchedule(await call(c.scheduleResume(idOrName)));
  }

  /** Deletes a schedule by id or name (its jobs stay): true, or false when there was none. */
  async deleteSchedule(idOrName: string): Promise<boolean> {
    const c = await this.native();
    try {
      await call(c.scheduleDelete(idOrName));
      return true;
    } catch (e) {
      if (e instanceof ReseolioError && e.code === 'NOT_FOUND') return false;
      throw e;
    }
  }

  /** Starts a job of a schedule now, outside its ticks, with its args and options. */
  async triggerSchedule<T = unknown>(idOrName: string): Promise<JobHandle<T>> {
    const c = await this.native();
    const r = await call(c.scheduleTrigger(idOrName));
    return new JobHandle<T>(r.jobId, this);
  }

  /** A page of jobs, newest first unless `ascending`, and how many match in all. */
  async listJobs(options: ListJobsOptions = {}): Promise<{ jobs: Job[]; total: number }> {
    const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const params: Parameters<NativeClient['list']>[0] = {
      statuses: list(options.status),
      names: list(options.name),
    };
    if (options.limit !== undefined) params.limit = options.limit;
    if (options.offset !== undefined) params.offset = options.offset;
    if (options.orderBy !== undefined) params.orderBy = options.orderBy;
    if (options.ascending !== undefined) params.ascending = options.ascending;
    const c = await this.native();
    const r = await call(c.list(params));
    return { jobs: r.jobs.map(toJob), total: r.total };
  }
}

// Typed events for TypeScript users, without changing EventEmitter at run time.
export interface Reseolio {
  on<E extends keyof ReseolioEvents>(event: E, listener: (...args: ReseolioEvents[E]) => void): this;
  once<E extends keyof ReseolioEvents>(event: E, listener: (...args: ReseolioEvents[E]) => void): this;
  off<E extends keyof ReseolioEvents>(event: E, listener: (...args: ReseolioEvents[E]) => void): this;
  emit<E extends keyof ReseolioEvents>(event: E, ...args: ReseolioEvents[E]): boolean;
}

/** The job a task is, as the events show it (from the claim; no extra read). */
function taskJob(t: NativeTask, status: JobStatus = 'running', error?: string): ClaimedJob {
  const args = Buffer.from(t.args, 'utf8');
  const job: ClaimedJob = {
    id: t.jobId,
    name: t.name,
    status,
    args: new Uint8Array(args.buffer, args.byteOffset, args.byteLength),
    attempt: t.attempt,
    maxAttempts: t.maxAttempts,
    timeoutMs: t.timeoutMs,
    createdAt: t.createdAt,
    deadlineMs: t.deadlineMs,
  };
  if (error !== undefined) job.error = error;
  return job;
}

export type { ErrorCode };
