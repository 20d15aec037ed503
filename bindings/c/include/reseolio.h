/*
 * reseolio.h: the C ABI of Reseolio, durable jobs from any language.
 *
 * Generated from bindings/c/src by cbindgen; do not edit by hand. CI fails when it differs
 * from what the sources generate. Ownership, threading and error rules: docs/other-languages.md.
 */

#ifndef RESEOLIO_H
#define RESEOLIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * The room for a job id in [`reseolio_enqueued`], NUL included. Ids are UUIDs (36 bytes).
 */
#define RESEOLIO_JOB_ID_SIZE 64

/**
 * An integer option left unset: the engine's default applies.
 */
#define RESEOLIO_UNSET INT64_MIN

/**
 * A timeout that never ends (any negative timeout waits without limit).
 */
#define RESEOLIO_WAIT_FOREVER -1

/**
 * `backoff`: the engine's default (exponential).
 */
#define RESEOLIO_BACKOFF_DEFAULT 0

/**
 * `backoff`: the same delay every time.
 */
#define RESEOLIO_BACKOFF_FIXED 1

/**
 * `backoff`: the delay times the attempt number.
 */
#define RESEOLIO_BACKOFF_LINEAR 2

/**
 * `backoff`: the delay doubled each attempt.
 */
#define RESEOLIO_BACKOFF_EXPONENTIAL 3

/**
 * What a call answers. `RESEOLIO_OK` is 0; every other value comes with an error object when
 * the caller passed a non-NULL `err`. New codes may be added: treat an unknown one like
 * `RESEOLIO_INTERNAL`.
 */
enum reseolio_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  RESEOLIO_OK = 0,
  /**
   * A bad argument: a NULL pointer, invalid UTF-8, an option out of range. The message names
   * it. Nothing was changed.
   */
  RESEOLIO_INVALID_ARGUMENT = 1,
  /**
   * No job (or schedule) has that id.
   */
  RESEOLIO_NOT_FOUND = 2,
  /**
   * The entity exists already.
   */
  RESEOLIO_ALREADY_EXISTS = 3,
  /**
   * The job's state forbids the call (cancelling a finished job, completing with a lease that
   * was lost). Nothing was changed.
   */
  RESEOLIO_CONFLICT = 4,
  /**
   * The storage or the sidecar cannot be reached, or is busy: the call may be retried.
   */
  RESEOLIO_UNAVAILABLE = 5,
  /**
   * A wait ended at its timeout before the awaited thing happened.
   */
  RESEOLIO_TIMEOUT = 6,
  /**
   * The client or worker was shut down.
   */
  RESEOLIO_SHUT_DOWN = 7,
  /**
   * A bug or an unexpected storage failure (the message says which); also a Rust panic,
   * caught before it reached the caller.
   */
  RESEOLIO_INTERNAL = 8,
  /**
   * A client, worker or task handle that was freed or never made, or a job or error pointer
   * that is not live. Nothing was done.
   */
  RESEOLIO_INVALID_HANDLE = 9,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum reseolio_status reseolio_status;
#else
typedef int32_t reseolio_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A job's status.
 */
enum reseolio_job_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Waiting until `run_at_ms`.
   */
  RESEOLIO_JOB_PENDING = 0,
  /**
   * Claimed by a worker under a lease.
   */
  RESEOLIO_JOB_RUNNING = 1,
  /**
   * An attempt failed; the next is due at `run_at_ms`.
   */
  RESEOLIO_JOB_FAILED = 2,
  /**
   * Done; `result` holds the result. Terminal.
   */
  RESEOLIO_JOB_SUCCESS = 3,
  /**
   * Attempts exhausted or the error was not retryable. Terminal until retried.
   */
  RESEOLIO_JOB_DEAD = 4,
  /**
   * Cancelled. Terminal until retried.
   */
  RESEOLIO_JOB_CANCELLED = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum reseolio_job_status reseolio_job_status;
#else
typedef int32_t reseolio_job_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * An error: a status code and a message for people. Owned by the caller once a call returns it;
 * free it with [`reseolio_error_free`].
 */
typedef struct reseolio_error reseolio_error;

/**
 * Options of `reseolio_connect`. Initialise with [`reseolio_connect_options_default`].
 */
typedef struct reseolio_connect_options {
  /**
   * `sizeof(reseolio_connect_options)`, set by [`reseolio_connect_options_default`].
   */
  uint32_t size;
  /**
   * Embedded: how often idle workers and waiters look for other processes' writes, in ms (at
   * least 1; default 100).
   */
  int64_t poll_interval_ms;
  /**
   * Embedded: the largest args, result or error in bytes (default 1 MiB).
   */
  int64_t max_payload_bytes;
  /**
   * Embedded: finished jobs older than this many seconds are pruned; 0 keeps them (default 7
   * days).
   */
  int64_t retention_secs;
  /**
   * A sidecar's bearer token (`grpc://` only), or NULL. Read during the call only.
   */
  const char *token;
} reseolio_connect_options;

/**
 * A connection to Reseolio (the embedded engine or a sidecar). Made by `reseolio_connect`,
 * freed by `reseolio_client_free`. The zero value is never a live client.
 */
typedef struct reseolio_client {
  /**
   * Opaque; 0 is never a live client.
   */
  uint64_t id;
} reseolio_client;

/**
 * Options of `reseolio_enqueue`. Initialise with [`reseolio_enqueue_options_default`].
 */
typedef struct reseolio_enqueue_options {
  /**
   * `sizeof(reseolio_enqueue_options)`, set by [`reseolio_enqueue_options_default`].
   */
  uint32_t size;
  /**
   * Attempts before the job is DEAD, at least 1 (default 3).
   */
  int64_t max_attempts;
  /**
   * One of `RESEOLIO_BACKOFF_*`.
   */
  int32_t backoff;
  /**
   * Base retry delay in ms, at least 0 (default 1000).
   */
  int64_t initial_delay_ms;
  /**
   * Cap on the retry delay in ms, at least 0 (default 60000).
   */
  int64_t max_delay_ms;
  /**
   * Spread of the retry delay, 0.0 to 1.0; NaN keeps the default (0.1).
   */
  double jitter;
  /**
   * Per-attempt timeout in ms, the lease length, at least 1 (default 30000).
   */
  int64_t timeout_ms;
  /**
   * Not due before this many ms from now, at least 0. Exclusive with `run_at_ms`.
   */
  int64_t delay_ms;
  /**
   * Not due before this Unix time in ms. Exclusive with `delay_ms`.
   */
  int64_t run_at_ms;
  /**
   * Higher runs first among due jobs (default 0).
   */
  int32_t priority;
  /**
   * A second enqueue with the same name and key returns the first job; NULL for none. Read
   * during the call only.
   */
  const char *idempotency_key;
} reseolio_enqueue_options;

/**
 * What `reseolio_enqueue` answers: caller storage, nothing to free.
 */
typedef struct reseolio_enqueued {
  /**
   * The job's id, NUL-terminated (the earlier job's when deduplicated).
   */
  char job_id[RESEOLIO_JOB_ID_SIZE];
  /**
   * True when an earlier job with the same name and idempotency key was returned.
   */
  bool deduplicated;
} reseolio_enqueued;

/**
 * A job as stored. Owned by the caller: free it with [`reseolio_job_free`]; every pointer in it
 * is owned by the job and valid until then. Optional strings and bytes are NULL when absent;
 * optional times are 0.
 */
typedef struct reseolio_job {
  /**
   * The job id.
   */
  const char *id;
  /**
   * The durable function's name.
   */
  const char *name;
  /**
   * The status.
   */
  reseolio_job_status status;
  /**
   * The args, as enqueued.
   */
  const uint8_t *args;
  /**
   * Length of `args`.
   */
  size_t args_len;
  /**
   * The result of the successful attempt; NULL unless SUCCESS.
   */
  const uint8_t *result;
  /**
   * Length of `result`.
   */
  size_t result_len;
  /**
   * The error of the last failed attempt, or NULL.
   */
  const char *last_error;
  /**
   * The idempotency key given at enqueue, or NULL.
   */
  const char *idempotency_key;
  /**
   * Attempts started so far.
   */
  uint32_t attempt;
  /**
   * Attempts allowed.
   */
  uint32_t max_attempts;
  /**
   * Claim priority; higher first.
   */
  int32_t priority;
  /**
   * Per-attempt timeout in ms.
   */
  uint64_t timeout_ms;
  /**
   * When it was enqueued, Unix ms.
   */
  int64_t created_at_ms;
  /**
   * When the next (or current) attempt is due, Unix ms.
   */
  int64_t run_at_ms;
  /**
   * When the latest attempt started, Unix ms; 0 before the first.
   */
  int64_t started_at_ms;
  /**
   * When it reached SUCCESS, DEAD or CANCELLED, Unix ms; 0 before.
   */
  int64_t completed_at_ms;
} reseolio_job;

/**
 * A worker claiming jobs for a client. Made by `reseolio_worker_start`, freed by
 * `reseolio_worker_free`. The zero value is never a live worker.
 */
typedef struct reseolio_worker {
  /**
   * Opaque; 0 is never a live worker.
   */
  uint64_t id;
} reseolio_worker;

/**
 * A job claimed by a worker: complete it, then free it. Made by `reseolio_worker_poll`, freed
 * by `reseolio_task_free`. The zero value is never a live task.
 */
typedef struct reseolio_task {
  /**
   * Opaque; 0 is never a live task.
   */
  uint64_t id;
} reseolio_task;

/**
 * A claimed job as C reads it. Every pointer is owned by the task and valid until
 * `reseolio_task_free`.
 */
typedef struct reseolio_claimed_job {
  /**
   * The job id.
   */
  const char *job_id;
  /**
   * The durable function's name: which handler to run.
   */
  const char *name;
  /**
   * The args, as enqueued.
   */
  const uint8_t *args;
  /**
   * Length of `args`.
   */
  size_t args_len;
  /**
   * This attempt's number, 1-based.
   */
  uint32_t attempt;
  /**
   * Attempts allowed.
   */
  uint32_t max_attempts;
  /**
   * The attempt's timeout in ms: heartbeat more often than this for a longer run.
   */
  uint64_t timeout_ms;
  /**
   * When the lease lapses unless heartbeated, Unix ms.
   */
  int64_t deadline_ms;
} reseolio_claimed_job;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library's version, for example `"0.2.0"`. A static string: never free it.
 */
const char *reseolio_version(void);

/**
 * Opens a client on a storage URL: `sqlite://PATH`, `sqlite::memory:` or `postgres://...` run
 * the engine in this process; `grpc://HOST:PORT` talks to a `reseolio` sidecar. `options` may
 * be NULL. On success `*out` is a client the caller owns: free it with
 * [`reseolio_client_free`].
 *
 * Blocks while the database is opened and migrated (a sidecar is connected on first use).
 *
 * Errors: INVALID_ARGUMENT for a NULL or malformed URL (named in the message), an option out of
 * range, a file that is not a database; UNAVAILABLE when the database stays locked or cannot
 * be reached.
 */
reseolio_status reseolio_connect(const char *url,
                                 const struct reseolio_connect_options *options,
                                 struct reseolio_client *out,
                                 struct reseolio_error **err);

/**
 * Closes the client and frees its handle; later uses of it answer INVALID_HANDLE. Embedded:
 * maintenance stops and the database closes, so shut the client's workers down first.
 *
 * Blocks until closed. Errors: INVALID_HANDLE when it was freed already or never made.
 */
reseolio_status reseolio_client_free(struct reseolio_client client, struct reseolio_error **err);

/**
 * Writes a job: durable once this returns OK. `args` are opaque bytes (by convention UTF-8
 * JSON), NULL with `args_len` 0 for none; `options` may be NULL. `*out` is caller storage.
 *
 * Blocks until the job is stored. Errors: INVALID_ARGUMENT naming the field (an empty or
 * over-long name, an option out of range, args over the size limit); UNAVAILABLE (retry the
 * call; with an idempotency key a retry cannot make a second job).
 */
reseolio_status reseolio_enqueue(struct reseolio_client client,
                                 const char *name,
                                 const uint8_t *args,
                                 size_t args_len,
                                 const struct reseolio_enqueue_options *options,
                                 struct reseolio_enqueued *out,
                                 struct reseolio_error **err);

/**
 * Reads a job. On success `*out` is a job the caller owns ([`crate::reseolio_job_free`]).
 *
 * Blocks for one read. Errors: NOT_FOUND for an unknown id; INVALID_ARGUMENT for a NULL id.
 */
reseolio_status reseolio_get(struct reseolio_client client,
                             const char *id,
                             struct reseolio_job **out,
                             struct reseolio_error **err);

/**
 * Cancels a job that has not finished; a running attempt learns it at its next heartbeat.
 * `*out` is the job after the call, owned by the caller.
 *
 * Blocks for one write. Errors: NOT_FOUND; CONFLICT when the job already finished.
 */
reseolio_status reseolio_cancel(struct reseolio_client client,
                                const char *id,
                                struct reseolio_job **out,
                                struct reseolio_error **err);

/**
 * Runs a DEAD or CANCELLED job again with a fresh set of attempts. `*out` is the job after the
 * call, owned by the caller.
 *
 * Blocks for one write. Errors: NOT_FOUND; CONFLICT when the job is not DEAD or CANCELLED.
 */
reseolio_status reseolio_retry(struct reseolio_client client,
                               const char *id,
                               struct reseolio_job **out,
                               struct reseolio_error **err);

/**
 * Waits until the job is SUCCESS, DEAD or CANCELLED and hands it to the caller (`*out`, owned
 * by the caller). `timeout_ms` < 0 (`RESEOLIO_WAIT_FOREVER`) waits without limit; 0 answers at
 * once. Works across restarts: the job is read from storage.
 *
 * Blocks until then. Errors: TIMEOUT when the time ran out first (the job is unchanged);
 * NOT_FOUND.
 */
reseolio_status reseolio_await_result(struct reseolio_client client,
                                      const char *id,
                                      int64_t timeout_ms,
                                      struct reseolio_job **out,
                                      struct reseolio_error **err);

/**
 * The error's status code; `RESEOLIO_INVALID_HANDLE` for NULL or a pointer that is not a live
 * error. Never blocks.
 */
reseolio_status reseolio_error_code(const struct reseolio_error *err);

/**
 * The error's message, UTF-8, owned by the error: valid until [`reseolio_error_free`]. A static
 * placeholder for NULL or a pointer that is not a live error. Never blocks.
 */
const char *reseolio_error_message(const struct reseolio_error *err);

/**
 * Frees an error. NULL is a no-op (`RESEOLIO_OK`); a pointer that is not a live error (freed
 * already) answers `RESEOLIO_INVALID_HANDLE` and frees nothing.
 */
reseolio_status reseolio_error_free(struct reseolio_error *err);

/**
 * The stable lower-case name of a status code (`"ok"`, `"not_found"`, ...), `"unknown"` for a
 * value that is not one. A static string: never free it.
 */
const char *reseolio_status_name(int32_t code);

/**
 * Frees a job and everything its pointers point to. NULL is a no-op (`RESEOLIO_OK`); a pointer
 * that is not a live job (freed already) answers `RESEOLIO_INVALID_HANDLE` and frees nothing.
 * Never blocks.
 */
reseolio_status reseolio_job_free(struct reseolio_job *job);

/**
 * Connect options with every field unset. Never fails, never blocks.
 */
struct reseolio_connect_options reseolio_connect_options_default(void);

/**
 * Enqueue options with every field unset. Never fails, never blocks.
 */
struct reseolio_enqueue_options reseolio_enqueue_options_default(void);

/**
 * Starts a worker that claims jobs named in `names` (`names_len` strings; NULL and 0 for every
 * name), at most `concurrency` at a time. On success `*out` is a worker the caller owns: shut
 * it down with [`reseolio_worker_shutdown`] and free it with [`reseolio_worker_free`].
 *
 * Blocks until the worker runs (for a sidecar: until its stream is open). Errors:
 * INVALID_ARGUMENT for a concurrency of 0, a NULL or bad name; UNAVAILABLE when a sidecar cannot
 * be reached; INVALID_HANDLE for a freed client.
 */
reseolio_status reseolio_worker_start(struct reseolio_client client,
                                      const char *const *names,
                                      size_t names_len,
                                      uint32_t concurrency,
                                      struct reseolio_worker *out,
                                      struct reseolio_error **err);

/**
 * Waits for the next claimed job, at most `timeout_ms` (negative: without limit; 0: only a job
 * already claimed). On success `*task_out` is a task the caller owns (complete it, then free
 * it with [`reseolio_task_free`]) and, when `job_out` is not NULL, `*job_out` describes the job.
 * Nothing is lost when the wait times out: a job claimed later goes to the next poll.
 *
 * Blocks until then. Errors: TIMEOUT when no job came in time; SHUT_DOWN after
 * [`reseolio_worker_shutdown`] (a poll blocked on another thread also returns); INVALID_HANDLE.
 */
reseolio_status reseolio_worker_poll(struct reseolio_worker worker,
                                     int64_t timeout_ms,
                                     struct reseolio_task *task_out,
                                     struct reseolio_claimed_job *job_out,
                                     struct reseolio_error **err);

/**
 * Reports that the task's attempt succeeded with `result` (bytes; NULL and 0 for none) and
 * frees its slot. When `status_out` is not NULL it gets the job's status after the call.
 *
 * Blocks for one write. Errors: CONFLICT when the lease was lost (the job was rescued or
 * cancelled: nothing is written, the slot is freed); INVALID_ARGUMENT for a result over the
 * size limit (the job stays held); UNAVAILABLE (the job stays held: call again).
 */
reseolio_status reseolio_worker_complete_success(struct reseolio_worker worker,
                                                 struct reseolio_task task,
                                                 const uint8_t *result,
                                                 size_t result_len,
                                                 reseolio_job_status *status_out,
                                                 struct reseolio_error **err);

/**
 * Reports that the task's attempt failed with the message `error`. With `retryable` another
 * attempt follows after the backoff while attempts remain (status FAILED), else the job is
 * DEAD. When `status_out` is not NULL it gets the job's status after the call.
 *
 * Blocks for one write. Errors: as [`reseolio_worker_complete_success`]; INVALID_ARGUMENT for a
 * NULL or non-UTF-8 message.
 */
reseolio_status reseolio_worker_complete_failure(struct reseolio_worker worker,
                                                 struct reseolio_task task,
                                                 const char *error,
                                                 bool retryable,
                                                 reseolio_job_status *status_out,
                                                 struct reseolio_error **err);

/**
 * Extends the task's lease by its timeout, for a run longer than one timeout. When
 * `cancelled_out` is not NULL it says whether the job was cancelled meanwhile (stop the work;
 * its completion will be refused).
 *
 * Blocks for one write. Errors: CONFLICT when the lease was lost; INVALID_HANDLE.
 */
reseolio_status reseolio_worker_heartbeat(struct reseolio_worker worker,
                                          struct reseolio_task task,
                                          bool *cancelled_out,
                                          struct reseolio_error **err);

/**
 * Stops claiming; hands back jobs no poll took; waits up to `grace_ms` for tasks still held to
 * be completed, then hands those back for another worker. Polls blocked on other threads return
 * SHUT_DOWN. The handle stays valid until [`reseolio_worker_free`].
 *
 * Blocks until done (at most about `grace_ms`). Errors: INVALID_HANDLE.
 */
reseolio_status reseolio_worker_shutdown(struct reseolio_worker worker,
                                         uint64_t grace_ms,
                                         struct reseolio_error **err);

/**
 * Frees a worker handle; later uses answer INVALID_HANDLE. A worker not shut down is shut down
 * first with no grace (jobs it holds are handed back).
 *
 * Blocks until then. Errors: INVALID_HANDLE when freed already or never made.
 */
reseolio_status reseolio_worker_free(struct reseolio_worker worker, struct reseolio_error **err);

/**
 * Whether the task's job was cancelled, or its lease lost (as learned from the last heartbeat
 * or the engine), into `*out`. Never blocks. Errors: INVALID_HANDLE; INVALID_ARGUMENT for a
 * NULL `out`.
 */
reseolio_status reseolio_task_is_cancelled(struct reseolio_task task,
                                           bool *out,
                                           struct reseolio_error **err);

/**
 * Frees a task and the `reseolio_claimed_job` strings and bytes it owns. Complete it first: a
 * task freed uncompleted keeps its job held until the lease lapses, then the job is retried.
 *
 * Never blocks. Errors: INVALID_HANDLE when freed already or never made.
 */
reseolio_status reseolio_task_free(struct reseolio_task task, struct reseolio_error **err);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* RESEOLIO_H */
