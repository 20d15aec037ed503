/** Job options as Node users write them, checked by name and type, then handed to the engine in ms. */
import { InvalidArgumentError } from './errors';
import type { NativeJobOptions } from './native';

export type BackoffStrategy = 'fixed' | 'exponential' | 'linear';

/** Options of a durable function: the defaults of every job it starts. */
export interface DurableOptions {
  /** Attempts before the job is DEAD, at least 1 (default 3). */
  maxAttempts?: number;
  /** How the delay between attempts grows (default 'exponential'). */
  backoff?: BackoffStrategy;
  /** The first retry delay in ms (default 1000). */
  initialDelayMs?: number;
  /** The cap on the retry delay in ms (default 60000). */
  maxDelayMs?: number;
  /** Per-attempt timeout in ms (default 30000): the handler's AbortSignal fires then and the attempt fails. */
  timeoutMs?: number;
  /** Random spread of the retry delay, 0 to 1 (default 0.1). */
  jitter?: number;
  /** Higher runs first among due jobs (default 0). */
  priority?: number;
}

/** Options of one call: a durable function's options, plus what only makes sense per job. */
export interface JobOptions extends DurableOptions {
  /** A second call with the same function name and key returns the first job instead of a new one. */
  idempotencyKey?: string;
  /** Not run before this many ms from now. Exclusive with `runAt`. */
  delayMs?: number;
  /** Not run before this time (a Date or Unix ms). Exclusive with `delayMs`. */
  runAt?: Date | number;
}

/** Every option name a call accepts. */
export const JOB_OPTION_NAMES: readonly string[] = [
  'maxAttempts',
  'backoff',
  'initialDelayMs',
  'maxDelayMs',
  'timeoutMs',
  'jitter',
  'priority',
  'idempotencyKey',
  'delayMs',
  'runAt',
];

const DURABLE_OPTION_NAMES = JOB_OPTION_NAMES.filter(
  (n) => n !== 'idempotencyKey' && n !== 'delayMs' && n !== 'runAt',
);

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The published 0.1.x rule for a trailing per-call options argument, made stricter: a plain
 * object with at least one key, every key an option name. A handler argument that is such an
 * object is taken for options; `fn.withOptions(...)` is the unambiguous way.
 */
export function looksLikeJobOptions(x: unknown): x is JobOptions {
  if (!isPlainObject(x)) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => JOB_OPTION_NAMES.includes(k));
}

function integer(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(`${name} must be an integer, got ${describe(v)}`);
  }
  return v;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

/**
 * Checks option names and types and converts to the engine's form. The engine checks values
 * against its limits (at least 1 attempt, jitter within 0..1, ...) and names the field it refuses.
 */
export function toNativeOptions(options: JobOptions | undefined, what: 'durable' | 'job' = 'job'): NativeJobOptions {
  const out: NativeJobOptions = {};
  if (options === undefined || options === null) return out;
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(`options must be an object, got ${describe(options)}`);
  }
  const known = what === 'durable' ? DURABLE_OPTION_NAMES : JOB_OPTION_NAMES;
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown ${what === 'durable' ? 'durable function' : 'job'} option(s): ${unknown.join(', ')}; known: ${known.join(', ')}`,
    );
  }
  const o = options;
  const set = <K extends keyof NativeJobOptions>(k: K, v: NativeJobOptions[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('maxAttempts', integer('maxAttempts', o.maxAttempts));
  if (o.backoff !== undefined && o.backoff !== null) {
    if (typeof o.backoff !== 'string') {
      throw new InvalidArgumentError(`backoff must be 'fixed', 'linear' or 'exponential', got ${describe(o.backoff)}`);
    }
    out.backoff = o.backoff;
  }
  set('initialDelayMs', integer('initialDelayMs', o.initialDelayMs));
  set('maxDelayMs', integer('maxDelayMs', o.maxDelayMs));
  set('timeoutMs', integer('timeoutMs', o.timeoutMs));
  if (o.jitter !== undefined && o.jitter !== null) {
    if (typeof o.jitter !== 'number' || !Number.isFinite(o.jitter)) {
      throw new InvalidArgumentError(`jitter must be a number from 0 to 1, got ${describe(o.jitter)}`);
    }
    out.jitter = o.jitter;
  }
  set('priority', integer('priority', o.priority));
  set('delayMs', integer('delayMs', o.delayMs));
  if (o.runAt !== undefined && o.runAt !== null) {
    const ms = o.runAt instanceof Date ? o.runAt.getTime() : o.runAt;
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) {
      throw new InvalidArgumentError(`runAt must be a valid Date or Unix ms, got ${describe(o.runAt)}`);
    }
    out.runAtMs = ms;
  }
  if (o.idempotencyKey !== undefined && o.idempotencyKey !== null) {
    if (typeof o.idempotencyKey !== 'string') {
      throw new InvalidArgumentError(`idempotencyKey must be a string, got ${describe(o.idempotencyKey)}`);
    }
    out.idempotencyKey = o.idempotencyKey;
  }
  return out;
}
