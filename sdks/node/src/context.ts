/**
 * The job context: which job and attempt a handler is running, and an AbortSignal that fires
 * when the attempt times out or the job is cancelled. Reached through AsyncLocalStorage, so a
 * handler's own signature stays what its callers see.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ReseolioError } from './errors';

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
   * Fires when the attempt's timeout passes (reason: a TimeoutError) or the job is cancelled
   * (reason: a ReseolioError with code CONFLICT). The attempt is over either way: whatever the
   * handler returns afterwards is ignored.
   */
  readonly signal: AbortSignal;
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
