/**
 * The error classes: one per engine error kind, each with a stable `code`, identical for the
 * embedded engine and a sidecar; plus the errors `result()` raises for a job that did not
 * succeed, and the one a handler throws to give up without further attempts.
 */

/** The stable codes of `ReseolioError.code`. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'SHUT_DOWN'
  | 'INTERNAL'
  | 'JOB_FAILED'
  | 'JOB_CANCELLED'
  | 'STEP_FAILED';

/** Root of every error Reseolio raises. */
export class ReseolioError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Something given to Reseolio was refused; the message names the field and the limit. Nothing was stored. */
export class InvalidArgumentError extends ReseolioError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
/** No job has that id. */
export class NotFoundError extends ReseolioError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}
/** The thing to create exists already (a second durable function of the same name). */
export class AlreadyExistsError extends ReseolioError {
  constructor(message: string) {
    super('ALREADY_EXISTS', message);
  }
}
/** The job's state forbids the call (cancelling a finished job, retrying a running one). Nothing was changed. */
export class ConflictError extends ReseolioError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}
/** The storage or the sidecar could not be reached or stayed busy; the call may be retried. */
export class UnavailableError extends ReseolioError {
  constructor(message: string) {
    super('UNAVAILABLE', message);
  }
}
/** A wait ended before what it waited for happened (the job is not affected). */
export class TimeoutError extends ReseolioError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}
/** The client or its worker was stopped. */
export class ShutDownError extends ReseolioError {
  constructor(message: string) {
    super('SHUT_DOWN', message);
  }
}
/** A bug or an unexpected storage failure; the message says which. */
export class InternalError extends ReseolioError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** `result()` of a job that is DEAD: its attempts are exhausted or it failed without retry. */
export class JobFailedError extends ReseolioError {
  readonly jobId: string;
  /** The last attempt's error, as the handler reported it. */
  readonly error: string;
  constructor(jobId: string, error: string) {
    // "Job failed: ..." is the message the published 0.1.x client gave; kept for its users.
    super('JOB_FAILED', `Job failed: ${error}`);
    this.jobId = jobId;
    this.error = error;
  }
}

/** `result()` of a job that was cancelled. */
export class JobCancelledError extends ReseolioError {
  readonly jobId: string;
  constructor(jobId: string) {
    super('JOB_CANCELLED', `job ${jobId} was cancelled`);
    this.jobId = jobId;
  }
}

/**
 * A durable step's code failed (after the step's own retries), now or on an earlier run whose
 * outcome was recorded. `cause` is the original error when the code failed in this run.
 */
export class StepError extends ReseolioError {
  /** The step's name. */
  readonly stepName: string;
  constructor(stepName: string, message: string, options?: { cause?: unknown }) {
    super('STEP_FAILED', message, options);
    this.stepName = stepName;
  }
}

/**
 * A durable function called its steps in another order than its recorded history (its code
 * changed between runs, or it branches on something that is not a step's result). Code
 * CONFLICT; the job ends DEAD at once (no retry could fix it), even if the handler caught it.
 */
export class StepOrderError extends ConflictError {}

/** Throw from a handler to end the job as DEAD at once, without further attempts. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

const BY_CODE: Record<string, new (message: string) => ReseolioError> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  CONFLICT: ConflictError,
  UNAVAILABLE: UnavailableError,
  TIMEOUT: TimeoutError,
  SHUT_DOWN: ShutDownError,
  INTERNAL: InternalError,
};

/** How an attempt's or a step's error is stored: `Type: message`, or the message of a plain Error. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

/** The error class for a rejection of the addon (`CODE: message`); anything else is INTERNAL. */
export function fromNative(e: unknown): ReseolioError {
  if (e instanceof ReseolioError) return e;
  const text = e instanceof Error ? e.message : String(e);
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(text);
  const cls = m ? BY_CODE[m[1]!] : undefined;
  if (m && cls) return new cls(m[2]!);
  return new InternalError(text);
}

/** Awaits an addon call, turning its rejection into the error class of its kind. */
export async function call<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw fromNative(e);
  }
}
