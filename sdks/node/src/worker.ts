/** The worker loop: polls the engine, runs handlers, reports outcomes, keeps leases alive. */
import { call, ConflictError, describeError, fromNative, NonRetryableError, ReseolioError, StepOrderError, TimeoutError } from './errors';
import { storage } from './context';
import type { HandleHost } from './job';
import type { NativeClient, NativeTask, NativeWorker } from './native';
import { StepContext } from './steps';

/** A handler: any function of JSON-able args to a JSON-able value (or a Promise of one). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (...args: any[]) => unknown;

/** What a worker tells its client about each attempt (the client turns it into events). */
export interface WorkerEvents {
  start(task: NativeTask): void;
  success(task: NativeTask, value: unknown): void;
  failure(task: NativeTask, error: string): void;
  workerError(error: Error): void;
}

type Ending =
  | { kind: 'value'; value: unknown }
  | { kind: 'thrown'; error: unknown }
  | { kind: 'aborted'; reason: 'timeout' | 'cancelled' | 'stopped' }
  | { kind: 'suspended' };

/** Node's timers hold at most 2^31-1 ms (longer ones fire after 1 ms); timeouts reach 30 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `setTimeout` for any length: a long wait is a chain of shorter timers. */
export function longTimeout(fn: () => void, ms: number): { cancel(): void } {
  let handle: NodeJS.Timeout;
  const deadline = Date.now() + ms;
  const arm = (left: number): void => {
    handle = setTimeout(() => {
      const rest = deadline - Date.now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.min(left, MAX_TIMER_MS));
  };
  arm(ms);
  return { cancel: () => clearTimeout(handle) };
}

/**
 * Runs the handlers of one native worker. The native worker holds the concurrency limit: `poll`
 * resolves only when a slot is free, so this loop never runs more than that many handlers.
 *
 * JavaScript cannot stop a function: at its timeout an attempt's AbortSignal fires and the
 * attempt is reported as failed at once; the handler's promise is left to settle on its own and
 * whatever it settles to is ignored.
 */
export class WorkerLoop {
  readonly #worker: NativeWorker;
  readonly #client: NativeClient;
  readonly #handles: HandleHost;
  readonly #handlers: ReadonlyMap<string, AnyHandler>;
  readonly #events: WorkerEvents;
  /** The most tasks one poll takes: the worker's concurrency. */
  readonly #batch: number;
  readonly #running = new Set<Promise<void>>();
  /** The running attempts' abort functions, for `stop()`. */
  readonly #aborts = new Set<(error: Error) => void>();
  #done: Promise<void> | undefined;

  constructor(
    worker: NativeWorker,
    client: NativeClient,
    handles: HandleHost,
    handlers: ReadonlyMap<string, AnyHandler>,
    events: WorkerEvents,
    batch: number,
  ) {
    this.#worker = worker;
    this.#client = client;
    this.#handles = handles;
    this.#batch = batch;
    this.#handlers = handlers;
    this.#events = events;
  }

  /** Starts polling; the loop ends when the native worker is shut down. */
  start(): void {
    this.#done = this.#run();
  }

  async #run(): Promise<void> {
    for (;;) {
      let tasks: NativeTask[];
      try {
        // Every crossing from Rust to JS costs a thread hop and a loop wake-up: take every job
        // that is claimed already, not just one.
        tasks = await call(this.#worker.pollMany(this.#batch));
      } catch (e) {
        const err = fromNative(e);
        // SHUT_DOWN is the normal end; anything else (a sidecar gone for good) ends it too.
        if (err.code !== 'SHUT_DOWN') this.#events.workerError(err);
        return;
      }
      for (const task of tasks) {
        const p = this.#execute(task).catch((e: unknown) => this.#events.workerError(fromNative(e)));
        this.#running.add(p);
        void p.finally(() => this.#running.delete(p));
      }
    }
  }

  /**
   * Stops: no new jobs; running handlers get `graceMs` to finish and report, then their jobs are
   * handed back to the queue (their signals fire) and the loop ends.
   */
  async stop(graceMs: number): Promise<void> {
    await call(this.#worker.shutdown(graceMs));
    for (const abort of this.#aborts) abort(new ReseolioError('SHUT_DOWN', 'the worker stopped; the job was handed back'));
    await this.#done;
    await Promise.allSettled([...this.#running]);
  }

  async #execute(task: NativeTask): Promise<void> {
    const handler = this.#handlers.get(task.name);
    if (handler === undefined) {
      await this.#complete(task, undefined, `no handler for '${task.name}' in this worker`, true);
      return;
    }
    const controller = new AbortController();
    let onSuspend = (): void => {};
    const ctx = new StepContext(task, controller.signal, {
      client: this.#client,
      handles: this.#handles,
      token: task.token,
      onSuspend: () => onSuspend(),
    });
    this.#events.start(task);
    const started = Date.now();
    let args: unknown;
    try {
      args = JSON.parse(task.args);
    } catch (e) {
      await this.#fail(task, `args of '${task.name}' are not valid JSON: ${describeError(e)}`, false);
      return;
    }
    if (!Array.isArray(args)) {
      await this.#fail(task, `args of '${task.name}' are not a JSON array`, false);
      return;
    }

    let timer: { cancel(): void } | undefined;
    let beat: NodeJS.Timeout | undefined;
    let onStop: ((error: Error) => void) | undefined;
    const ending = await new Promise<Ending>((resolve) => {
      const abort = (reason: 'timeout' | 'cancelled' | 'stopped', error: Error): void => {
        // A suspended attempt is over already: its lease is gone on purpose.
        if (ctx.suspended) return;
        if (!controller.signal.aborted) controller.abort(error);
        resolve({ kind: 'aborted', reason });
      };
      onStop = (error) => abort('stopped', error);
      // A wait suspended the job: the engine has it back already; whatever the handler does
      // after is ignored. The signal tells code that caught the suspension to stop.
      onSuspend = () => {
        resolve({ kind: 'suspended' });
        if (!controller.signal.aborted) {
          controller.abort(
            new ConflictError(
              `job ${task.jobId} was suspended on a durable wait: this attempt is over, and the job runs again ` +
                'from the top when the wait is over',
            ),
          );
        }
      };
      this.#aborts.add(onStop);
      timer = longTimeout(
        () => abort('timeout', new TimeoutError(`attempt ${task.attempt} of job ${task.jobId} timed out after ${task.timeoutMs} ms`)),
        task.timeoutMs,
      );
      // Renews the lease of a long handler, and learns of a cancellation.
      const period = Math.max(Math.floor(task.timeoutMs / 3), 50);
      beat = setInterval(() => {
        this.#worker.heartbeat(task.token).then(
          (cancelled) => {
            if (cancelled) abort('cancelled', new ConflictError(`job ${task.jobId} was cancelled`));
          },
          (e: unknown) => {
            const err = fromNative(e);
            // The lease is gone (rescued, finished elsewhere): the attempt is over.
            if (err.code === 'CONFLICT' || err.code === 'NOT_FOUND') abort('cancelled', err);
          },
        );
      }, period);
      storage
        .run(ctx, async () => handler(...(args as unknown[])))
        .then(
          (value) => resolve({ kind: 'value', value }),
          (error: unknown) => resolve({ kind: 'thrown', error }),
        );
    });
    timer?.cancel();
    clearInterval(beat);
    if (onStop) this.#aborts.delete(onStop);

    if (ending.kind === 'suspended' || ctx.suspended) {
      // Not finished: no outcome, no events; this only frees the slot.
      await this.#suspend(task);
      return;
    }
    if (ctx.orderError !== undefined && ending.kind !== 'aborted') {
      // A changed step order cannot be fixed by a retry, even if the handler caught the error.
      await this.#fail(task, describeError(ctx.orderError), false);
      return;
    }
    if (ending.kind === 'aborted') {
      if (ending.reason === 'stopped') {
        // The worker stopped past its grace period and handed the job back: nothing to report.
        return;
      }
      if (ending.reason === 'timeout') {
        await this.#fail(task, `attempt timed out after ${Date.now() - started} ms (timeout ${task.timeoutMs} ms)`, true);
      } else {
        // Report anyway: the engine refuses it, which frees the worker's slot.
        await this.#complete(task, undefined, 'cancelled', false);
      }
      return;
    }
    if (ending.kind === 'thrown') {
      const fatal = ending.error instanceof NonRetryableError || ending.error instanceof StepOrderError;
      await this.#fail(task, describeError(ending.error), !fatal);
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(ending.value === undefined ? null : ending.value);
    } catch (e) {
      await this.#fail(task, `the result of '${task.name}' cannot be stored as JSON: ${describeError(e)}`, false);
      return;
    }
    if (await this.#complete(task, json, undefined, true)) this.#events.success(task, ending.value);
  }

  /**
   * Frees the slot of an attempt that a step wait suspended (the engine has the job back
   * already). A busy store is retried as for `#complete`; INVALID_ARGUMENT (the engine says this
   * lease still holds the job: no wait suspended it) is final.
   */
  async #suspend(task: NativeTask): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await call(this.#worker.suspend(task.token));
        return;
      } catch (e) {
        const err = fromNative(e);
        // The lease was lost meanwhile (the engine moved on), or the worker stopped.
        if (err.code === 'CONFLICT' || err.code === 'NOT_FOUND' || err.code === 'SHUT_DOWN') return;
        if (err.code === 'UNAVAILABLE') {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          continue;
        }
        this.#events.workerError(err);
        return;
      }
    }
    this.#events.workerError(new ReseolioError('UNAVAILABLE', `could not report the suspension of job ${task.jobId}; its lease will lapse`));
  }

  async #fail(task: NativeTask, error: string, retryable: boolean): Promise<void> {
    if (await this.#complete(task, undefined, error, retryable)) this.#events.failure(task, error);
  }

  /**
   * Reports the attempt; true when the engine applied it. Never leaves the job held: an outcome
   * over the payload limit is reported as a failure instead, a busy store is retried.
   */
  async #complete(task: NativeTask, result: string | undefined, error: string | undefined, retryable: boolean): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await call(this.#worker.complete(task.token, result ?? null, error ?? null, retryable));
        return true;
      } catch (e) {
        const err = fromNative(e);
        if (err.code === 'CONFLICT' || err.code === 'NOT_FOUND') return false;
        if (err.code === 'INVALID_ARGUMENT') {
          result = undefined;
          retryable = false;
          error = `the outcome of '${task.name}' could not be stored: ${err.message}`.slice(0, 4096);
          continue;
        }
        if (err.code === 'UNAVAILABLE') {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          continue;
        }
        this.#events.workerError(err);
        return false;
      }
    }
    this.#events.workerError(new ReseolioError('UNAVAILABLE', `could not report job ${task.jobId}; its lease will lapse`));
    return false;
  }
}
