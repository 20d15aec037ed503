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
import type { NativeClient, NativeStep, NativeStepRecord, NativeStepWait } from './native';
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
export type JoinResults<H extends readonly ChildHandle<unknown>[]> = {
  -readonly [K in keyof H]: H[K] extends ChildHandle<infer R> ? R : never;
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

interface RetryPolicy {
  maxAttempts: number;
  backoff: BackoffStrategy;
  initialDelayMs: number;
  maxDelayMs: number;
}

function retryPolicy(name: string, o: StepOptions): RetryPolicy {
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

function checkName(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty string`);
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

function checkChild(h: unknown): asserts h is ChildHandle<unknown> {
  if (!(h instanceof ChildHandle)) throw new InvalidArgumentError('join() needs a handle returned by startChild()');
}

/** What a step context needs of its worker. */
export interface StepHost {
  /** The native client: the step calls. */
  client: NativeClient;
  /** What child handles use to read their jobs. */
  handles: HandleHost;
  /** The attempt's lease token. */
  token: string;
  /** Called once when a wait suspended the job: the worker frees the slot at once. */
  onSuspend(): void;
}

/**
 * One attempt's job context with its step methods. Created by the worker for each attempt;
 * handlers reach it through `jobContext()`.
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
    return this.#run(this.#seq++, name, fn, options);
  }

  sleep(ms: number): Promise<void> {
    const seq = this.#seq++;
    const until = Date.now() + ms;
    return (async () => {
      checkMs('sleep(ms)', ms);
      await this.#wait(seq, 'sleep', 'sleep', () => ({ kind: 'sleep', untilMs: Math.ceil(until) }));
    })();
  }

  sleepUntil(when: Date | number): Promise<void> {
    const seq = this.#seq++;
    return (async () => {
      const until = when instanceof Date ? when.getTime() : when;
      if (typeof until !== 'number' || !Number.isFinite(until)) {
        throw new InvalidArgumentError(`sleepUntil() needs a Date or Unix ms, got ${String(when)}`);
      }
      await this.#wait(seq, 'sleep', 'sleep', () => ({ kind: 'sleep', untilMs: Math.ceil(until) }));
    })();
  }

  waitForEvent<T = unknown>(key: string, options: WaitForEventOptions = {}): Promise<T> {
    const seq = this.#seq++;
    const now = Date.now();
    return (async () => {
      checkName('an event key', key);
      const wait: NativeStepWait = { kind: 'event', key };
      if (options.timeoutMs !== undefined) {
        checkMs('timeoutMs', options.timeoutMs);
        wait.timeoutAtMs = Math.ceil(now + options.timeoutMs);
      }
      const step = await this.#wait(seq, `event:${key}`, 'event', () => wait);
      if (step.status === 'SUCCESS') return decode(step.result) as T;
      throw new TimeoutError(step.error ?? `timed out waiting for event '${key}'`);
    })();
  }

  startChild<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: NoInfer<A>): Promise<ChildHandle<R>> {
    return this.#start(this.#seq++, fn as unknown as DurableFunction<unknown[], unknown>, args) as Promise<ChildHandle<R>>;
  }

  join<R>(handle: ChildHandle<R>): Promise<R> {
    return this.#join(this.#seq++, handle);
  }

  joinAll<const H extends readonly ChildHandle<unknown>[]>(handles: H): Promise<JoinResults<H>> {
    if (!Array.isArray(handles)) return Promise.reject(new InvalidArgumentError('joinAll() needs an array of child handles'));
    // Every join's place is taken now, so that steps called meanwhile come after all of them.
    const first = this.#seq;
    this.#seq += handles.length;
    return (async () => {
      const out: unknown[] = [];
      for (const [i, h] of handles.entries()) out.push(await this.#join(first + i, h));
      return out as JoinResults<H>;
    })();
  }

  child<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: NoInfer<A>): Promise<R> {
    // Both places are taken now: concurrent child() calls number their steps in call order.
    const start = this.#seq++;
    const join = this.#seq++;
    return (async () => {
      const h = await this.#start(start, fn as unknown as DurableFunction<unknown[], unknown>, args);
      return (await this.#join(join, h)) as R;
    })();
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

  /** An engine step call: its order error as StepOrderError, a lost lease after a suspension as the signal. */
  async #engine<T>(p: Promise<T>): Promise<T> {
    try {
      return await call(p);
    } catch (e) {
      if (e instanceof Error && (e as { code?: string }).code === 'CONFLICT') {
        if (e.message.startsWith('step order changed')) throw this.#orderChanged(e.message);
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

  async #run<T>(seq: number, name: string, fn: () => T | Promise<T>, options: StepOptions): Promise<T> {
    checkName('a step name', name);
    if (typeof fn !== 'function') throw new InvalidArgumentError(`step '${name}' needs a function to run`);
    const policy = retryPolicy(name, options);
    const recorded = await this.#begin(seq, name, 'run');
    if (recorded?.status === 'SUCCESS') return decode(recorded.result) as T;
    if (recorded?.status === 'FAILED') throw new StepError(name, recorded.error ?? 'unknown error');

    const startedAt = Date.now();
    let attempts = 0;
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    for (;;) {
      attempts++;
      try {
        outcome = { ok: true, value: await fn() };
        break;
      } catch (e) {
        if (e instanceof Suspension) throw e;
        outcome = { ok: false, error: e };
      }
      if (attempts >= policy.maxAttempts || outcome.error instanceof NonRetryableError) break;
      await abortableDelay(retryDelay(policy, attempts), this.signal);
      if (this.suspended) throw SUSPENDED;
    }
    // The attempt is over (a parallel wait suspended the job, or it timed out): record nothing.
    if (this.suspended) throw SUSPENDED;
    if (this.signal.aborted) throw this.signal.reason;

    const record: NativeStepRecord = { seq, name, attempts, startedAt };
    if (outcome.ok) {
      try {
        record.result = JSON.stringify(outcome.value === undefined ? null : outcome.value);
      } catch (e) {
        outcome = { ok: false, error: new InvalidArgumentError(`the result of step '${name}' cannot be stored as JSON: ${describeError(e)}`) };
      }
    }
    if (!outcome.ok) record.error = describeError(outcome.error);
    const step = await this.#engine(this.#host.client.stepRecord(this.#host.token, record));
    // The record returned is the one that counts: an earlier run's, when this place was already finished.
    if (step.status === 'SUCCESS') {
      if (outcome.ok && step.result != null && step.result.toString('utf8') === record.result) return outcome.value;
      return decode(step.result) as T;
    }
    const error = step.error ?? 'unknown error';
    throw new StepError(name, error, !outcome.ok && error === record.error ? { cause: outcome.error } : undefined);
  }

  /** A wait step: the finished step, or the job is suspended and the signal thrown. */
  async #wait(seq: number, name: string, kind: StepKind, wait: () => NativeStepWait): Promise<NativeStep> {
    const recorded = await this.#begin(seq, name, kind);
    if (recorded !== undefined && recorded.status !== 'WAITING') return recorded;
    const r = await this.#engine(this.#host.client.stepWait(this.#host.token, seq, name, wait()));
    if (r.suspended || r.step == null) this.#suspend();
    return r.step;
  }

  async #start(seq: number, fn: DurableFunction<unknown[], unknown>, args: unknown[]): Promise<ChildHandle<unknown>> {
    checkDurable(fn);
    // The idempotency key finds the same child again when a crash fell between its enqueue and
    // the record of this step.
    const key = `${this.jobId}/${seq}`;
    const id = await this.#run(seq, `start:${fn.functionName}`, async () => (await fn.withOptions({ idempotencyKey: key })(...args)).jobId, {});
    return new ChildHandle(String(id), fn.functionName, this.#host.handles);
  }

  async #join<R>(seq: number, handle: ChildHandle<R>): Promise<R> {
    checkChild(handle);
    const step = await this.#wait(seq, `join:${handle.functionName}`, 'child', () => ({ kind: 'child', jobId: handle.jobId }));
    if (step.status === 'SUCCESS') return decode(step.result) as R;
    const error = step.error ?? 'unknown error';
    if (error.startsWith(`child job '${handle.jobId}' was cancelled`)) throw new JobCancelledError(handle.jobId);
    throw new JobFailedError(handle.jobId, error);
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
