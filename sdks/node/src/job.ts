/** Jobs as Node code sees them, and the handle a durable call returns. */
import { call, InternalError, JobCancelledError, JobFailedError } from './errors';
import type { NativeAttempt, NativeClient, NativeJob, NativeStep } from './native';

/** Lower-case status names, as the published 0.1.x client gave them. */
export type JobStatus = 'pending' | 'running' | 'success' | 'failed' | 'dead' | 'cancelled';

/** A job as stored. Times are Unix ms. */
export interface Job {
  id: string;
  name: string;
  status: JobStatus;
  /** The args as stored: a UTF-8 JSON array. */
  args: Uint8Array;
  /** The result of the successful attempt: UTF-8 JSON. */
  result?: Uint8Array;
  /** The last failed attempt's error. */
  error?: string;
  /** Attempts started so far. */
  attempt: number;
  maxAttempts: number;
  priority: number;
  timeoutMs: number;
  backoff: string;
  initialDelayMs: number;
  maxDelayMs: number;
  jitter: number;
  idempotencyKey?: string;
  createdAt: number;
  /** When the next (or current) attempt is due. */
  runAt: number;
  /** Same as `runAt` (the published 0.1.x name). */
  scheduledAt: number;
  startedAt?: number;
  completedAt?: number;
  /** While running: when the lease lapses unless renewed; else 0. */
  deadlineMs: number;
  workerId?: string;
}

/** A job as its worker's events show it: what the claim carries, without another read. */
export type ClaimedJob = Pick<Job, 'id' | 'name' | 'status' | 'args' | 'attempt' | 'maxAttempts' | 'timeoutMs' | 'createdAt' | 'deadlineMs'> & {
  /** On `job:error`: this attempt's error. */
  error?: string;
};

/** A job as stored, with its recorded durable steps (`details()`, `getJob()`). */
export interface JobDetails extends Job {
  /** Its durable steps in call order (see `jobContext().step`). */
  steps: Step[];
}

export type StepKind = 'run' | 'sleep' | 'event' | 'child';
/** Lower-case, as job statuses are. */
export type StepStatus = 'waiting' | 'success' | 'failed';

/** A recorded durable step of a job. Times are Unix ms. */
export interface Step {
  /** Its place in the function's call order, from 0. */
  seq: number;
  /** The name given to `step()`, or `sleep`, `event:<key>`, `start:<fn>`, `join:<fn>`. */
  name: string;
  kind: StepKind;
  status: StepStatus;
  /** A SUCCESS step's value (decoded JSON: a run step's result, an event's payload, a child's result); else null. */
  result: unknown;
  /** A FAILED step's error. */
  error: string | null;
  /** How many times a run step's code ran. */
  attempts: number;
  startedAt: number;
  completedAt: number | null;
  /** What a waiting step waits for: the event key or the child job id. */
  waitKey: string | null;
  /** When a sleep ends or an event wait times out. */
  wakeAt: number | null;
}

/** Decodes a stored JSON value (empty: null; not JSON: the text). */
export function decodeJson(b: Buffer | null | undefined): unknown {
  if (b == null || b.length === 0) return null;
  const text = b.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function toStep(n: NativeStep): Step {
  return {
    seq: n.seq,
    name: n.name,
    kind: n.kind as StepKind,
    status: n.status.toLowerCase() as StepStatus,
    result: n.status === 'SUCCESS' ? decodeJson(n.result) : null,
    error: n.error ?? null,
    attempts: n.attempts,
    startedAt: n.startedAt,
    completedAt: n.completedAt ?? null,
    waitKey: n.waitKey ?? null,
    wakeAt: n.wakeAt ?? null,
  };
}

/** The job and its steps, read together. */
export async function jobDetails(c: NativeClient, jobId: string): Promise<JobDetails> {
  const [job, steps] = await Promise.all([call(c.get(jobId)), call(c.steps(jobId))]);
  return { ...toJob(job), steps: steps.map(toStep) };
}

/** One attempt of a job. */
export interface Attempt {
  attempt: number;
  workerId: string;
  nodeId: string;
  startedAt: number;
  finishedAt?: number;
  /** How it ended; absent while it runs. */
  outcome?: string;
  error?: string;
}

export function toJob(n: NativeJob): Job {
  const job: Job = {
    id: n.id,
    name: n.name,
    status: n.status.toLowerCase() as JobStatus,
    args: new Uint8Array(n.args),
    attempt: n.attempt,
    maxAttempts: n.maxAttempts,
    priority: n.priority,
    timeoutMs: n.timeoutMs,
    backoff: n.backoff,
    initialDelayMs: n.initialDelayMs,
    maxDelayMs: n.maxDelayMs,
    jitter: n.jitter,
    createdAt: n.createdAt,
    runAt: n.runAt,
    scheduledAt: n.runAt,
    deadlineMs: n.leaseExpiresAt ?? 0,
  };
  if (n.result != null) job.result = new Uint8Array(n.result);
  if (n.lastError != null) job.error = n.lastError;
  if (n.idempotencyKey != null) job.idempotencyKey = n.idempotencyKey;
  if (n.startedAt != null) job.startedAt = n.startedAt;
  if (n.completedAt != null) job.completedAt = n.completedAt;
  if (n.workerId != null) job.workerId = n.workerId;
  return job;
}

export function toAttempt(a: NativeAttempt): Attempt {
  const out: Attempt = { attempt: a.attempt, workerId: a.workerId, nodeId: a.nodeId, startedAt: a.startedAt };
  if (a.finishedAt != null) out.finishedAt = a.finishedAt;
  if (a.outcome != null) out.outcome = a.outcome;
  if (a.error != null) out.error = a.error;
  return out;
}

/** The value of a finished job, or the error that says why there is none. */
export function outcomeOf<T>(n: NativeJob): T {
  switch (n.status) {
    case 'SUCCESS':
      return (n.result == null || n.result.length === 0 ? null : JSON.parse(n.result.toString('utf8'))) as T;
    case 'DEAD':
      throw new JobFailedError(n.id, n.lastError ?? 'unknown error');
    case 'CANCELLED':
      throw new JobCancelledError(n.id);
    default:
      throw new InternalError(`job ${n.id} is ${n.status}, not finished`);
  }
}

/** What a JobHandle needs of its client. */
export interface HandleHost {
  native(): Promise<NativeClient>;
}

/**
 * A handle to a job: its id, and calls that read or steer it. Cheap: holds only the id, so
 * `reseolio.job(id)` makes one for a job started by another process.
 */
export class JobHandle<TResult = unknown> {
  readonly jobId: string;
  readonly #host: HandleHost;

  constructor(jobId: string, host: HandleHost) {
    this.jobId = jobId;
    this.#host = host;
  }

  /** The job's current status. */
  async status(): Promise<JobStatus> {
    return (await this.details()).status;
  }

  /** The job as stored, with its durable steps. */
  async details(): Promise<JobDetails> {
    return jobDetails(await this.#host.native(), this.jobId);
  }

  /** The job's durable steps, in call order. */
  async steps(): Promise<Step[]> {
    const c = await this.#host.native();
    return (await call(c.steps(this.jobId))).map(toStep);
  }

  /** Every attempt so far, oldest first. */
  async attempts(): Promise<Attempt[]> {
    const c = await this.#host.native();
    return (await call(c.attempts(this.jobId))).map(toAttempt);
  }

  /**
   * Waits for the job to finish and resolves to its result. Rejects with JobFailedError (code
   * JOB_FAILED) when it is DEAD, JobCancelledError when cancelled, and TimeoutError (TIMEOUT)
   * when `timeoutMs` passes first (0 or absent: no limit). Works for a job enqueued by any
   * process, before or after it finished.
   */
  async result(timeoutMs = 0): Promise<TResult> {
    const c = await this.#host.native();
    const job = await call(c.awaitResult(this.jobId, timeoutMs > 0 ? timeoutMs : null));
    return outcomeOf<TResult>(job);
  }

  /**
   * Cancels the job: true when it is now CANCELLED (it was pending, waiting for a retry or
   * running: a running handler's AbortSignal fires), false when it had already finished.
   */
  async cancel(): Promise<boolean> {
    const c = await this.#host.native();
    try {
      await call(c.cancel(this.jobId));
      return true;
    } catch (e) {
      if (e instanceof Error && (e as { code?: string }).code === 'CONFLICT') return false;
      throw e;
    }
  }

  /** Runs a DEAD or CANCELLED job again from its first attempt; CONFLICT otherwise. */
  async retry(): Promise<void> {
    const c = await this.#host.native();
    await call(c.retry(this.jobId));
  }
}
