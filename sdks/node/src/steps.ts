/**
 * Durable steps: the step methods of the job context (`jobContext().step(...)`, `sleep`,
 * `waitForEvent`, child jobs). Each step call takes the next place `seq` in call order at the
 * moment it is called (before its first await, so `Promise.all` of steps numbers them in call
 * order); its first run records its outcome, and every later run of the job (a retry, a crash, a
 * resume after a sleep) gets the recorded outcome back instead of running it again.
 *
 * A wait (sleep, event, child) that is not over suspends the job: the engine hands it back until
 * it is due, the handler is unwound by a private signal, and the worker frees the slot without
 * reporting an outcome. The same spec as the Python package (`reseolio.current_job()`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DurableFunction } from './client';
import type { JobContext } from './context';
import {
  call,
  describeError,
  InvalidArgumentError,
  JobCancelledError,
  JobFailedError,
  NonRetryableError,
  StepError,
  StepOrderError,
  TimeoutError,
} from './errors';
import { decodeJson as decode, JobHandle, type HandleHost, type StepKind } from './job';
import type { NativeClient, NativeStep, NativeStepRecord, NativeStepWait, NativeStepWaitResult } from './native';
import type { BackoffStrategy } from './options';

/** In-process retries of a step's code (the job's own retries come after these). */
export interface StepOptions {
  /** Runs of the code before the step fails, at least 1 (default 1: just once). */
  maxAttempts?: number;
  /** How the delay between runs grows (default 'exponential'). */
  backoff?: BackoffStrategy;
  /** The first delay in ms (default 100). */
  initialDelayMs?: number;
  /** The cap on the delay in ms (default 10000). */
  maxDelayMs?: number;
}

/** Options of `waitForEvent`. */
export interface WaitForEventOptions {
  /** Give up after this many ms from the first call (the wait throws a TimeoutError); absent: wait forever. */
  timeoutMs?: number;
}

/** A child job started by `startChild`: a JobHandle that also knows its function's name. */
export class ChildHandle<TResult = unknown> extends JobHandle<TResult> {
  /** The child's durable function. */
  readonly functionName: string;
  constructor(jobId: string, functionName: string, host: HandleHost) {
    super(jobId, host);
    this.functionName = functionName;
  }
}

/** The results of `joinAll`, position by position. */
export type JoinResults<H extends readonly JobHandle<unknown>[]> = {
  -readonly [K in keyof H]: H[K] extends JobHandle<infer R> ? R : never;
};

/**
 * The signal that unwinds a handler whose job was suspended. Not an Error, and private: only
 * the worker needs to know it (it looks at the context's `suspended` flag, not at what the
 * handler threw).
 */
class Suspension {
  readonly message = 'the job was suspended on a durable wait; the handler must not go on';
}
const SUSPENDED = new Suspension();

/**
 * The step whose code is running, in that code's async context: a step call made there is
 * refused (a nested step would take a place on the first run only, since a replay does not run
 * the outer step's code, and every later place would move).
 */
const runningStep = new AsyncLocalStorage<{ ctx: StepContext; name: string }>();

/** The longest step name, prefix included, in UTF-8 bytes (the engine's limit). */
const MAX_NAME_BYTES = 255;
/** The longest event key in UTF-8 bytes (the engine's limit). */
const MAX_EVENT_KEY_BYTES = 200;
/** A step's error longer than this (UTF-8 bytes) is cut, with a marker, so that it can be recorded. */
const MAX_STEP_ERROR_BYTES = 64 * 1024;
/** The shorter cut of a step error that the engine still refused (a payload limit under 64 KiB). */
const SHORT_STEP_ERROR_BYTES = 4096;

interface RetryPolicy {
  maxAttempts: number;
  backoff: BackoffStrategy;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** The code of `startChild`'s step (the enqueue) runs once: its idempotency key makes it safe anyway. */
const ONCE: RetryPolicy = { maxAttempts: 1, backoff: 'fixed', initialDelayMs: 0, maxDelayMs: 0 };

function checkOptions(what: string, o: unknown): void {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError(`the options of ${what} must be an object, got ${String(o)}`);
}

function retryPolicy(name: string, o: StepOptions): RetryPolicy {
  checkOptions(`step '${name}'`, o);
  const p: RetryPolicy = {
    maxAttempts: o.maxAttempts ?? 1,
    backoff: o.backoff ?? 'exponential',
    initialDelayMs: o.initialDelayMs ?? 100,
    maxDelayMs: o.maxDelayMs ?? 10_000,
  };
  if (!Number.isSafeInteger(p.maxAttempts) || p.maxAttempts < 1) {
    throw new InvalidArgumentError(`maxAttempts of step '${name}' must be an integer >= 1, got ${String(o.maxAttempts)}`);
  }
  if (!['fixed', 'linear', 'exponential'].includes(p.backoff)) {
    throw new InvalidArgumentError(`backoff of step '${name}' must be 'fixed', 'linear' or 'exponential', got ${String(o.backoff)}`);
  }
  for (const f of ['initialDelayMs', 'maxDelayMs'] as const) {
    if (typeof p[f] !== 'number' || !Number.isFinite(p[f]) || p[f] < 0) {
      throw new InvalidArgumentError(`${f} of step '${name}' must be a number of ms >= 0, got ${String(o[f])}`);
    }
  }
  return p;
}

/** The delay after the `n`th failed run (from 1): fixed d, linear d*n, exponential d*2^(n-1), capped. */
function retryDelay(p: RetryPolicy, n: number): number {
  const d = p.initialDelayMs;
  const raw = p.backoff === 'fixed' ? d : p.backoff === 'linear' ? d * n : d * 2 ** (n - 1);
  return Math.min(raw, p.maxDelayMs);
}

/** A long name in an error message: its first 60 characters. */
function preview(name: string): string {
  return name.length > 60 ? `${name.slice(0, 60)}…` : name;
}

/** A step name as the engine takes it: non-empty, at most 255 UTF-8 bytes with its prefix. */
function checkStepName(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty string`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) {
    throw new InvalidArgumentError(`${what} '${preview(name)}' is ${bytes} bytes in UTF-8; the limit is ${MAX_NAME_BYTES}`);
  }
}

function checkEventKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('an event key must be a non-empty string');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_EVENT_KEY_BYTES) {
    throw new InvalidArgumentError(`the event key '${preview(key)}' is ${bytes} bytes in UTF-8; the limit is ${MAX_EVENT_KEY_BYTES}`);
  }
}

function checkMs(what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(`${what} must be a number of ms >= 0, got ${String(v)}`);
  }
}

function checkDurable(fn: unknown): asserts fn is DurableFunction<unknown[], unknown> {
  const f = fn as { functionName?: unknown; withOptions?: unknown };
  if (typeof fn !== 'function' || typeof f.functionName !== 'string' || typeof f.withOptions !== 'function') {
    throw new InvalidArgumentError('a child job needs a durable function (made by durable())');
  }
}

function checkHandle(h: unknown): asserts h is JobHandle<unknown> {
  if (!(h instanceof JobHandle)) throw new InvalidArgumentError('join() needs a job handle (startChild() returns one)');
}

/** The name of `startChild`'s step, after checking the function, the name's length and the args. */
function startName(fn: unknown, args: unknown[]): string {
  checkDurable(fn);
  const name = `start:${fn.functionName}`;
  checkStepName('the step name', name);
  try {
    JSON.stringify(args);
  } catch (e) {
    throw new InvalidArgumentError(`the args of '${fn.functionName}' cannot be stored as JSON: ${describeError(e)}`);
  }
  return name;
}

/** The name of a join step when the handle knows its function (a ChildHandle), checked; else undefined. */
function joinName(h: JobHandle<unknown>): string | undefined {
  if (!(h instanceof ChildHandle)) return undefined;
  const name = `join:${h.functionName}`;
  checkStepName('the step name', name);
  return name;
}

function isSuspended(r: NativeStepWaitResult): boolean {
  return r.suspended || r.step == null;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes (on a character boundary), with a marker that says so. */
function cutError(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  const marker = ` … [cut: the error was ${buf.length} bytes]`;
  let n = Math.max(0, maxBytes - Buffer.byteLength(marker, 'utf8'));
  // Back to the first byte of the character at n, which is left out whole.
  while (n > 0 && ((buf[n] ?? 0) & 0xc0) === 0x80) n--;
  return buf.subarray(0, n).toString('utf8') + marker;
}

/** What a step context needs of its worker. */
export interface StepHost {
  /** The native client: the step calls. */
  client: NativeClient;
  /** What child handles use to read their jobs. */
  handles: HandleHost;
  /** The attempt's lease token. */
  token: string;
  /** Called once when a wait suspended the job: the worker frees the slot at once and fires the attempt's signal. */
  onSuspend(): void;
}

/**
 * One attempt's job context with its step methods. Created by the worker for each attempt;
 * handlers reach it through `jobContext()`.
 *
 * Every step method checks its arguments first, and takes its place only when they are good: a
 * refused call (a bad name, a bad duration, a step called inside another step's code) throws
 * without moving the places of the calls after it.
 */
export class StepContext implements JobContext {
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  /** True once a wait suspended the job: the attempt is over and nothing is reported. */
  suspended = false;
  /** The order error raised in this attempt, if any: the job ends DEAD with it whatever the handler does. */
  orderError: StepOrderError | undefined;
  readonly #host: StepHost;
  #seq = 0;
  /** The job's recorded steps by place, loaded on the first step call of the attempt. */
  #history: Promise<Map<number, NativeStep>> | undefined;
  /** The engine calls of the waits in flight: a lost lease seen meanwhile may be their suspension. */
  readonly #waits = new Set<Promise<NativeStepWaitResult>>();

  constructor(
    job: { jobId: string; name: string; attempt: number; maxAttempts: number; deadlineMs: number },
    signal: AbortSignal,
    host: StepHost,
  ) {
    this.jobId = job.jobId;
    this.name = job.name;
    this.attempt = job.attempt;
    this.maxAttempts = job.maxAttempts;
    this.deadlineMs = job.deadlineMs;
    this.signal = signal;
    this.#host = host;
  }

  step<T>(name: string, fn: () => T | Promise<T>, options: StepOptions = {}): Promise<T> {
    return this.#call('step', () => {
      checkStepName('a step name', name);
      if (typeof fn !== 'function') throw new InvalidArgumentError(`step '${name}' needs a function to run`);
      const policy = retryPolicy(name, options);
      return this.#run(this.#seq++, name, fn, policy);
    });
  }

  sleep(ms: number): Promise<void> {
    return this.#call('sleep', () => {
      checkMs('sleep(ms)', ms);
      const until = Math.ceil(Date.now() + ms);
      return this.#sleep(this.#seq++, until);
    });
  }

  sleepUntil(when: Date | number): Promise<void> {
    return this.#call('sleepUntil', () => {
      const until: unknown = when instanceof Date ? when.getTime() : when;
      if (typeof until !== 'number' || !Number.isFinite(until)) {
        throw new InvalidArgumentError(`sleepUntil() needs a Date or Unix ms, got ${String(when)}`);
      }
      return this.#sleep(this.#seq++, Math.ceil(until));
    });
  }

  waitForEvent<T = unknown>(key: string, options: WaitForEventOptions = {}): Promise<T> {
    return this.#call('waitForEvent', () => {
      checkEventKey(key);
      checkOptions('waitForEvent', options);
      const wait: NativeStepWait = { kind: 'event', key };
      if (options.timeoutMs !== undefined) {
        checkMs('timeoutMs', options.timeoutMs);
        wait.timeoutAtMs = Math.ceil(Date.now() + options.timeoutMs);
      }
      return this.#event<T>(this.#seq++, key, wait);
    });
  }

  startChild<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: NoInfer<A>): Promise<ChildHandle<R>> {
    return this.#call('startChild', () => {
      const name = startName(fn, args);
      return this.#start(this.#seq++, fn as unknown as DurableFunction<unknown[], unknown>, name, args);
    }) as Promise<ChildHandle<R>>;
  }

  join<R>(handle: JobHandle<R>): Promise<R> {
    return this.#call('join', () => {
      checkHandle(handle);
      const name = joinName(handle);
      return this.#join(this.#seq++, handle, name);
    });
  }

  joinAll<const H extends readonly JobHandle<unknown>[]>(handles: H): Promise<JoinResults<H>> {
    return this.#call('joinAll', () => {
      if (!Array.isArray(handles)) throw new InvalidArgumentError('joinAll() needs an array of job handles');
      const list: readonly unknown[] = handles;
      const names = list.map((h) => {
        checkHandle(h);
        return joinName(h);
      });
      // Every join's place is taken now, so that steps called meanwhile come after all of them.
      const first = this.#seq;
      this.#seq += list.length;
      return (async () => {
        const out: unknown[] = [];
        for (const [i, h] of list.entries()) out.push(await this.#join(first + i, h as JobHandle<unknown>, names[i]));
        return out as JoinResults<H>;
      })();
    });
  }

  child<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: NoInfer<A>): Promise<R> {
    return this.#call('child', () => {
      const name = startName(fn, args);
      const join = `join:${fn.functionName}`;
      checkStepName('the step name', join);
      // Both places are taken now: concurrent child() calls number their steps in call order.
      const startSeq = this.#seq++;
      const joinSeq = this.#seq++;
      return (async () => {
        const h = await this.#start(startSeq, fn as unknown as DurableFunction<unknown[], unknown>, name, args);
        return (await this.#join(joinSeq, h, join)) as R;
      })();
    });
  }

  /**
   * A step call: refused inside another step's code, else `start` checks the arguments, then
   * takes the place(s) and starts the step. A refusal rejects the promise and takes no place.
   */
  #call<T>(method: string, start: () => Promise<T>): Promise<T> {
    try {
      const outer = runningStep.getStore();
      if (outer !== undefined && outer.ctx === this) {
        throw new InvalidArgumentError(
          `ctx.${method} was called inside the code of step '${outer.name}'; steps cannot nest (a replay does not run ` +
            `the outer step's code, so the places of the steps after it would change): call it from the handler, ` +
            `before or after that step`,
        );
      }
      return start();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** The recorded steps, loaded once per attempt (a failed load is tried again by the next call). */
  #recorded(): Promise<Map<number, NativeStep>> {
    if (this.#history === undefined) {
      const loading = call(this.#host.client.steps(this.jobId)).then((list) => new Map(list.map((s) => [s.seq, s])));
      this.#history = loading;
      loading.catch(() => {
        if (this.#history === loading) this.#history = undefined;
      });
    }
    return this.#history;
  }

  /** The recorded step at `seq`, after checking that it is this call's; throws once suspended. */
  async #begin(seq: number, name: string, kind: StepKind): Promise<NativeStep | undefined> {
    if (this.suspended) throw SUSPENDED;
    const history = await this.#recorded();
    if (this.suspended) throw SUSPENDED;
    const s = history.get(seq);
    if (s !== undefined && (s.name !== name || s.kind !== kind)) {
      throw this.#orderChanged(
        `step order changed in job '${this.jobId}': step ${seq} was recorded as '${s.name} (${s.kind})' but this run calls ` +
          `'${name} (${kind})' there; a durable function must call its steps in the same order on every run`,
      );
    }
    return s;
  }

  #orderChanged(message: string): StepOrderError {
    const e = new StepOrderError(message);
    this.orderError ??= e;
    return e;
  }

  /**
   * An engine step call: its order error as StepOrderError; a lost lease while the job is (being)
   * suspended as the signal. A wait that suspends the job ends its lease, so a call that meets
   * the stale lease first waits for the waits in flight before it decides.
   */
  async #engine<T>(p: Promise<T>): Promise<T> {
    try {
      return await call(p);
    } catch (e) {
      if (e instanceof Error && (e as { code?: string }).code === 'CONFLICT') {
        if (e.message.startsWith('step order changed')) throw this.#orderChanged(e.message);
        if (e.message.startsWith('stale lease token') && this.#waits.size > 0) {
          const waits = await Promise.allSettled([...this.#waits]);
          if (waits.some((w) => w.status === 'fulfilled' && isSuspended(w.value))) this.#suspend();
        }
        if (this.suspended) throw SUSPENDED;
      }
      throw e;
    }
  }

  #suspend(): never {
    if (!this.suspended) {
      this.suspended = true;
      this.#host.onSuspend();
    }
    throw SUSPENDED;
  }

  async #run<T>(seq: number, name: string, fn: () => T | Promise<T>, policy: RetryPolicy): Promise<T> {
    const recorded = await this.#begin(seq, name, 'run');
    if (recorded?.status === 'SUCCESS') return decode(recorded.result) as T;
    if (recorded?.status === 'FAILED') throw new StepError(name, recorded.error ?? 'unknown error');

    const startedAt = Date.now();
    const scope = { ctx: this, name };
    let attempts = 0;
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    for (;;) {
      attempts++;
      try {
        // In the scope of this step: a step called by its code is refused.
        outcome = { ok: true, value: await runningStep.run(scope, fn) };
        break;
      } catch (e) {
        if (e instanceof Suspension) throw e;
        outcome = { ok: false, error: e };
      }
      if (attempts >= policy.maxAttempts || outcome.error instanceof NonRetryableError) break;
      try {
        await abortableDelay(retryDelay(policy, attempts), this.signal);
      } catch (e) {
        if (this.suspended) throw SUSPENDED;
        throw e;
      }
      if (this.suspended) throw SUSPENDED;
    }
    // The attempt is over (a parallel wait suspended the job, or it timed out): record nothing.
    if (this.suspended) throw SUSPENDED;
    if (this.signal.aborted) throw this.signal.reason;

    const record: NativeStepRecord = { seq, name, attempts, startedAt };
    // The error this run failed with, for the StepError's cause when its record is the one kept.
    let failure: { cause: unknown } | undefined;
    if (outcome.ok) {
      try {
        // JSON.stringify gives undefined for a function or a symbol: stored as null, like undefined.
        record.result = (JSON.stringify(outcome.value === undefined ? null : outcome.value) as string | undefined) ?? 'null';
      } catch (e) {
        const error = new InvalidArgumentError(`the result of step '${name}' cannot be stored as JSON: ${describeError(e)}`);
        failure = { cause: error };
        record.error = describeError(error);
      }
    } else {
      failure = { cause: outcome.error };
      record.error = cutError(describeError(outcome.error), MAX_STEP_ERROR_BYTES);
    }
    let step: NativeStep;
    try {
      step = await this.#engine(this.#host.client.stepRecord(this.#host.token, record));
    } catch (e) {
      // Over the payload limit: a result is recorded as the step's failure, an error cut shorter.
      if (!(e instanceof Error) || (e as { code?: string }).code !== 'INVALID_ARGUMENT') throw e;
      if (record.result !== undefined) {
        failure = { cause: e };
        delete record.result;
        record.error = `the result of step '${name}' could not be stored: ${e.message}`.slice(0, 4096);
      } else if (record.error !== undefined && Buffer.byteLength(record.error, 'utf8') > SHORT_STEP_ERROR_BYTES) {
        record.error = cutError(record.error, SHORT_STEP_ERROR_BYTES);
      } else {
        throw e;
      }
      step = await this.#engine(this.#host.client.stepRecord(this.#host.token, record));
    }
    // The record returned is the one that counts (an earlier run's, when this place was already
    // finished), and the value is always what was recorded: a Date comes back as its JSON string
    // on this run as on every replay, so the function cannot take another path after a resume.
    if (step.status === 'SUCCESS') return decode(step.result) as T;
    const error = step.error ?? 'unknown error';
    throw new StepError(name, error, failure !== undefined && error === record.error ? failure : undefined);
  }

  /** A wait step: the finished step, or the job is suspended and the signal thrown. */
  async #wait(seq: number, name: string, kind: StepKind, wait: NativeStepWait): Promise<NativeStep> {
    const recorded = await this.#begin(seq, name, kind);
    if (recorded !== undefined && recorded.status !== 'WAITING') return recorded;
    const pending = this.#host.client.stepWait(this.#host.token, seq, name, wait);
    this.#waits.add(pending);
    let r: NativeStepWaitResult;
    try {
      r = await this.#engine(pending);
    } finally {
      this.#waits.delete(pending);
    }
    if (isSuspended(r) || r.step == null) this.#suspend();
    return r.step;
  }

  async #sleep(seq: number, untilMs: number): Promise<void> {
    await this.#wait(seq, 'sleep', 'sleep', { kind: 'sleep', untilMs });
  }

  async #event<T>(seq: number, key: string, wait: NativeStepWait): Promise<T> {
    const step = await this.#wait(seq, `event:${key}`, 'event', wait);
    if (step.status === 'SUCCESS') return decode(step.result) as T;
    throw new TimeoutError(step.error ?? `timed out waiting for event '${key}'`);
  }

  async #start(seq: number, fn: DurableFunction<unknown[], unknown>, name: string, args: unknown[]): Promise<ChildHandle<unknown>> {
    // The idempotency key finds the same child again when a crash fell between its enqueue and
    // the record of this step.
    const key = `${this.jobId}/${seq}`;
    const id = await this.#run(seq, name, async () => (await fn.withOptions({ idempotencyKey: key })(...args)).jobId, ONCE);
    return new ChildHandle(String(id), fn.functionName, this.#host.handles);
  }

  async #join<R>(seq: number, handle: JobHandle<R>, known: string | undefined): Promise<R> {
    const name = known ?? (await this.#joinName(seq, handle));
    const step = await this.#wait(seq, name, 'child', { kind: 'child', jobId: handle.jobId });
    if (step.status === 'SUCCESS') return decode(step.result) as R;
    const error = step.error ?? 'unknown error';
    if (error.startsWith(`child job '${handle.jobId}' was cancelled`)) throw new JobCancelledError(handle.jobId);
    // The child's own error, as `result()` gives it for that job.
    const prefix = `child job '${handle.jobId}' failed: `;
    throw new JobFailedError(handle.jobId, error.startsWith(prefix) ? error.slice(prefix.length) : error);
  }

  /**
   * The join step name for a handle that does not know its function: the recorded one when this
   * place holds a join of that job (the child is not read: it may have been pruned since), else
   * `join:<the job's function>`.
   */
  async #joinName(seq: number, handle: JobHandle<unknown>): Promise<string> {
    if (this.suspended) throw SUSPENDED;
    const s = (await this.#recorded()).get(seq);
    if (s !== undefined && s.kind === 'child' && s.waitKey === handle.jobId) return s.name;
    if (this.suspended) throw SUSPENDED;
    const job = await call(this.#host.client.get(handle.jobId));
    const name = `join:${job.name}`;
    checkStepName('the step name', name);
    return name;
  }
}

/** Waits `ms`, or until `signal` fires (then rejects with its reason). */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason as unknown);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
