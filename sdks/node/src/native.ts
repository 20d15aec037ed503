/**
 * The addon's surface (`bindings/node`), typed by hand beside the Rust glue. A test loads the
 * addon and checks that every function and method named here exists, so the two cannot drift
 * apart unnoticed.
 *
 * Every method returns a Promise that settles on the JS thread; a rejection's message starts with
 * the error kind's code (`NOT_FOUND: ...`), which `errors.ts` turns into an error class.
 */
import * as path from 'node:path';

/** Job options in the engine's units (ms); absent fields take the engine's defaults. */
export interface NativeJobOptions {
  maxAttempts?: number;
  backoff?: string;
  initialDelayMs?: number;
  maxDelayMs?: number;
  jitter?: number;
  timeoutMs?: number;
  delayMs?: number;
  runAtMs?: number;
  priority?: number;
  idempotencyKey?: string;
}

export interface NativeConnectOptions {
  pollIntervalMs?: number;
  maxPayloadBytes?: number;
  retentionSecs?: number;
  token?: string;
}

export interface NativeJob {
  id: string;
  name: string;
  status: string;
  priority: number;
  attempt: number;
  maxAttempts: number;
  backoff: string;
  initialDelayMs: number;
  maxDelayMs: number;
  jitter: number;
  timeoutMs: number;
  idempotencyKey?: string | null;
  lastError?: string | null;
  createdAt: number;
  runAt: number;
  startedAt?: number | null;
  completedAt?: number | null;
  leaseExpiresAt?: number | null;
  workerId?: string | null;
  args: Buffer;
  result?: Buffer | null;
}

export interface NativeAttempt {
  jobId: string;
  attempt: number;
  lease: number;
  workerId: string;
  nodeId: string;
  startedAt: number;
  finishedAt?: number | null;
  outcome?: string | null;
  error?: string | null;
}

/** Who leads the store's nodes; the leader fields are absent before the first election. */
export interface NativeLeaderInfo {
  nodeId: string;
  leaderNodeId?: string | null;
  electedAt?: number | null;
  expiresAt?: number | null;
  isLeader: boolean;
}

export interface NativeListParams {
  statuses?: string[];
  names?: string[];
  limit?: number;
  offset?: number;
  orderBy?: 'createdAt' | 'runAt';
  ascending?: boolean;
}

/** What `scheduleDeclare` takes; absent fields take the engine's defaults. */
export interface NativeScheduleSpec {
  /** Absent or empty: the function's name. */
  name?: string;
  function: string;
  cron: string;
  /** Absent: UTC. */
  timezone?: string;
  /** The UTF-8 JSON array of the jobs' arguments; absent: `[]`. */
  args?: string;
  /** Retries, timeout and priority only. */
  options?: NativeJobOptions;
  /** `run_latest` (default) or `skip`. */
  missed?: string;
  /** `allow` (default) or `skip`. */
  overlap?: string;
}

/** What `scheduleUpdate` takes: absent fields are kept; `options` replace the job options whole. */
export interface NativeScheduleChange {
  cron?: string;
  timezone?: string;
  args?: string;
  options?: NativeJobOptions;
  missed?: string;
  overlap?: string;
}

/** A schedule as stored; the job options are absent where the engine's defaults apply. */
export interface NativeSchedule {
  id: string;
  name: string;
  function: string;
  cron: string;
  timezone: string;
  /** `ACTIVE` or `PAUSED`. */
  status: string;
  missed: string;
  overlap: string;
  nextRunAt: number;
  lastRunAt?: number | null;
  lastJobId?: string | null;
  createdAt: number;
  updatedAt: number;
  maxAttempts?: number | null;
  backoff?: string | null;
  initialDelayMs?: number | null;
  maxDelayMs?: number | null;
  jitter?: number | null;
  timeoutMs?: number | null;
  priority?: number | null;
  args: Buffer;
}

export interface NativeScheduleListParams {
  /** `ACTIVE` or `PAUSED`, any case; absent for both. */
  status?: string;
  /** 1 to 1000 (default 100). */
  limit?: number;
  offset?: number;
}

/** A recorded step of a job. `kind`: run, sleep, event, child; `status`: WAITING, SUCCESS, FAILED. */
export interface NativeStep {
  jobId: string;
  seq: number;
  name: string;
  kind: string;
  status: string;
  /** A SUCCESS step's value as stored (by convention UTF-8 JSON; empty for a sleep). */
  result?: Buffer | null;
  error?: string | null;
  attempts: number;
  startedAt: number;
  completedAt?: number | null;
  waitKey?: string | null;
  wakeAt?: number | null;
}

/** A run step's outcome: `result` (UTF-8 JSON) for a success, else `error`. */
export interface NativeStepRecord {
  seq: number;
  name: string;
  result?: string;
  error?: string;
  /** How many times the code ran, at least 1. */
  attempts: number;
  /** When its first try started, Unix ms. */
  startedAt: number;
}

/** What a wait step waits for. Times are Unix ms; an event wait without `timeoutAtMs` waits forever. */
export type NativeStepWait =
  | { kind: 'sleep'; untilMs: number }
  | { kind: 'event'; key: string; timeoutAtMs?: number }
  | { kind: 'child'; jobId: string };

/** How a wait ended: the finished step, or `suspended` (the job was handed back until `wakeAt`). */
export interface NativeStepWaitResult {
  suspended: boolean;
  step?: NativeStep | null;
  wakeAt?: number | null;
}

export interface NativeTask {
  readonly jobId: string;
  readonly token: string;
  readonly name: string;
  readonly args: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly createdAt: number;
  isCancelled(): boolean;
}

export interface NativeWorker {
  poll(): Promise<NativeTask>;
  /** At least one task, and up to `max` that are claimed already. */
  pollMany(max: number): Promise<NativeTask[]>;
  complete(token: string, result?: string | null, error?: string | null, retryable?: boolean): Promise<string>;
  heartbeat(token: string): Promise<boolean>;
  /** Reports an attempt that a step wait suspended: frees the slot, writes nothing. */
  suspend(token: string): Promise<void>;
  shutdown(graceMs: number): Promise<void>;
}

export interface NativeClient {
  enqueue(name: string, args: string, options?: NativeJobOptions): Promise<{ jobId: string; deduplicated: boolean }>;
  get(jobId: string): Promise<NativeJob>;
  list(params?: NativeListParams): Promise<{ jobs: NativeJob[]; total: number }>;
  attempts(jobId: string): Promise<NativeAttempt[]>;
  cancel(jobId: string): Promise<NativeJob>;
  retry(jobId: string): Promise<NativeJob>;
  awaitResult(jobId: string, timeoutMs?: number | null): Promise<NativeJob>;
  leader(): Promise<NativeLeaderInfo>;
  scheduleDeclare(spec: NativeScheduleSpec): Promise<NativeSchedule>;
  scheduleGet(idOrName: string): Promise<NativeSchedule>;
  scheduleList(params?: NativeScheduleListParams): Promise<{ schedules: NativeSchedule[]; total: number }>;
  scheduleUpdate(idOrName: string, change: NativeScheduleChange): Promise<NativeSchedule>;
  schedulePause(idOrName: string): Promise<NativeSchedule>;
  scheduleResume(idOrName: string): Promise<NativeSchedule>;
  scheduleDelete(idOrName: string): Promise<void>;
  scheduleTrigger(idOrName: string): Promise<{ jobId: string; deduplicated: boolean }>;
  /** Every recorded step of a job, in call order; NOT_FOUND for an unknown job. */
  steps(jobId: string): Promise<NativeStep[]>;
  /** Records a run step's outcome while `token` holds the job; resolves to the record (an earlier finished one wins). */
  stepRecord(token: string, record: NativeStepRecord): Promise<NativeStep>;
  /** A wait step while `token` holds the job: the finished step, or suspended. */
  stepWait(token: string, seq: number, name: string, wait: NativeStepWait): Promise<NativeStepWaitResult>;
  /** Stores an event's payload (UTF-8 JSON) under `key` and wakes its waiters; resolves to how many were woken. */
  eventSend(key: string, payload: string): Promise<number>;
  worker(names: string[], concurrency: number): Promise<NativeWorker>;
  close(): Promise<void>;
}

/** Where and how `uiServe` serves the dashboard. */
export interface NativeUiOptions {
  host?: string;
  port?: number;
  token?: string;
  readOnly?: boolean;
}

/** A dashboard being served. */
export interface NativeUiServer {
  /** `host:port` it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

export interface NativeAddon {
  version(): string;
  connect(url: string, options?: NativeConnectOptions): Promise<NativeClient>;
  uiServe(db: string, options?: NativeUiOptions): Promise<NativeUiServer>;
}

/** The names the addon must export, checked by the tests against the loaded addon. */
export const NATIVE_SURFACE = {
  addon: ['version', 'connect', 'uiServe'],
  Client: [
    'enqueue',
    'get',
    'list',
    'attempts',
    'cancel',
    'retry',
    'awaitResult',
    'leader',
    'scheduleDeclare',
    'scheduleGet',
    'scheduleList',
    'scheduleUpdate',
    'schedulePause',
    'scheduleResume',
    'scheduleDelete',
    'scheduleTrigger',
    'steps',
    'stepRecord',
    'stepWait',
    'eventSend',
    'worker',
    'close',
  ],
  Worker: ['poll', 'pollMany', 'complete', 'heartbeat', 'suspend', 'shutdown'],
  Task: ['jobId', 'token', 'name', 'args', 'attempt', 'maxAttempts', 'timeoutMs', 'deadlineMs', 'createdAt', 'isCancelled'],
} as const;

let loaded: NativeAddon | undefined;

/**
 * Loads the addon once: `RESEOLIO_NODE_ADDON` when set, else `reseolio.node` at the package's
 * root, where the install script puts it.
 */
export function native(): NativeAddon {
  if (loaded === undefined) {
    const file = process.env.RESEOLIO_NODE_ADDON ?? path.join(__dirname, '..', 'reseolio.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as NativeAddon;
  }
  return loaded;
}
