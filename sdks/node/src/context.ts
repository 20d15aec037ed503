/**
 * The job context: which job and attempt a handler is running, an AbortSignal that fires when
 * the attempt times out or the job is cancelled, and the durable step methods (`steps.ts`).
 * Reached through AsyncLocalStorage, so a handler's own signature stays what its callers see.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DurableFunction } from './client';
import { ReseolioError } from './errors';
import type { JobHandle } from './job';
import type { ChildHandle, JoinResults, StepOptions, WaitForEventOptions } from './steps';

export interface JobContext {
  readonly jobId: string;
  /** The durable function's name. */
  readonly name: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** When this attempt's lease lapses unless renewed (the worker renews it), Unix ms. */
  readonly deadlineMs: number;
  /**
   * Fires when the attempt's timeout passes (reason: a TimeoutError), the job is cancelled
   * (reason: a ReseolioError with code CONFLICT) or a durable wait suspended the job (reason: a
   * ReseolioError with code CONFLICT saying so). The attempt is over either way: whatever the
   * handler returns afterwards is ignored.
   */
  readonly signal: AbortSignal;

  /**
   * A durable step: runs `fn` once and records its result (JSON), or its error after
   * `options.maxAttempts` runs in process; every later run of the job (a retry, a resume, a
   * crash) gets the recorded value back, or a StepError (STEP_FAILED) with the recorded error,
   * without calling `fn`. The value is always the recorded JSON decoded, on the first run too: a
   * Date comes back as its ISO string, undefined as null, a Map as {}. Steps are matched by their
   * place in call order, which is taken when the method is called: a function must call its
   * steps in the same order on every run (else a StepOrderError, CONFLICT, and the job is DEAD).
   * `fn` must not call step methods itself (they throw INVALID_ARGUMENT: steps cannot nest).
   */
  step<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<T>;
  /**
   * A durable sleep of `ms` from the first run that reached it. Not over: the job is suspended
   * (PENDING, holding no worker slot) and its handler runs again from the top when it is due,
   * its finished steps returning their records.
   */
  sleep(ms: number): Promise<void>;
  /** A durable sleep until a time (a Date or Unix ms). */
  sleepUntil(when: Date | number): Promise<void>;
  /**
   * Waits for the event `key` (sent by `reseolio.sendEvent`, before or after the wait started)
   * and resolves to its payload; suspends the job meanwhile. With `timeoutMs` (from the first
   * run that reached it), throws a TimeoutError (TIMEOUT) that the function may catch.
   */
  waitForEvent<T = unknown>(key: string, options?: WaitForEventOptions): Promise<T>;
  /**
   * Starts a child job of a durable function: a step named `start:<fn>` whose recorded result is
   * the child's id (enqueued with the idempotency key `<this job id>/<seq>`, so a crash cannot
   * start it twice).
   */
  startChild<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: NoInfer<A>): Promise<ChildHandle<R>>;
  /**
   * Waits for a job (a step named `join:<fn>`; the job is suspended meanwhile, holding no slot)
   * and resolves to its result; throws JobFailedError (its `error`: the child's own error, as
   * `result()` gives it) when it ended DEAD, JobCancelledError when cancelled. Any JobHandle
   * will do: one that is not a ChildHandle has its function's name read from the job.
   */
  join<R>(handle: JobHandle<R>): Promise<R>;
  /** Joins each job in order; resolves to their results. */
  joinAll<const H extends readonly JobHandle<unknown>[]>(handles: H): Promise<JoinResults<H>>;
  /** `startChild` then `join`. */
  child<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: NoInfer<A>): Promise<R>;
}

export const storage = new AsyncLocalStorage<JobContext>();

/** The context of the job whose handler is running, or undefined outside a handler. */
export function currentJob(): JobContext | undefined {
  return storage.getStore();
}

/** The context of the job whose handler is running; throws outside a handler. */
export function jobContext(): JobContext {
  const ctx = storage.getStore();
  if (ctx === undefined) {
    throw new ReseolioError('INVALID_ARGUMENT', 'jobContext() was called outside a durable function handler');
  }
  return ctx;
}
