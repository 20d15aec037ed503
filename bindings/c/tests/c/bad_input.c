/*
 * Bad input through the C ABI, from C: every case must come back as a status code and a message
 * naming what was wrong, and the process must live to run the next case (run by
 * tests/c_programs.rs, also under valgrind). argv[1] is a storage URL for a fresh database.
 * Prints one line per case and exits with the number of failed cases.
 */
#include "reseolio.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

/* Checks a call's status and that its message contains `needle`, then frees the error. */
static void expect(const char *what, reseolio_status got, reseolio_error *err, reseolio_status want,
                   const char *needle) {
  const char *message = err ? reseolio_error_message(err) : "";
  int ok = got == want && (got == RESEOLIO_OK ? err == NULL : err != NULL) &&
           (err == NULL || reseolio_error_code(err) == got) && strstr(message, needle) != NULL;
  printf("%s - %s: %s %s\n", ok ? "ok" : "FAIL", what, reseolio_status_name(got), message);
  if (!ok) {
    printf("    wanted %s with a message containing '%s'\n", reseolio_status_name(want), needle);
    failures++;
  }
  if (err && reseolio_error_free(err) != RESEOLIO_OK) {
    printf("FAIL - freeing the error of '%s'\n", what);
    failures++;
  }
}

/* Runs `call` with the shared `err` cleared first: C does not fix the order in which a function's
 * arguments are evaluated, so the error must be read after the call, not beside it. */
#define EXPECT(what, call, want, needle)      \
  do {                                        \
    err = NULL;                               \
    reseolio_status got_ = (call);            \
    expect(what, got_, err, want, needle);    \
    err = NULL;                               \
  } while (0)

static reseolio_error *err = NULL;

/* For the calls that take no error out-parameter: only the code is checked. */
#define EXPECT_CODE(what, call, want, unused)                                                      \
  do {                                                                                            \
    reseolio_status got_ = (call);                                                                \
    int ok_ = got_ == (want);                                                                     \
    printf("%s - %s: %s\n", ok_ ? "ok" : "FAIL", what, reseolio_status_name(got_));               \
    failures += !ok_;                                                                             \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  reseolio_client client, zero = {0};
  reseolio_enqueued enqueued;
  reseolio_job *job = NULL;

  /* Connecting. */
  EXPECT("NULL url", reseolio_connect(NULL, NULL, &client, &err), RESEOLIO_INVALID_ARGUMENT,
         "url is NULL");
  EXPECT("NULL out", reseolio_connect(argv[1], NULL, NULL, &err), RESEOLIO_INVALID_ARGUMENT,
         "out is NULL");
  EXPECT("url not UTF-8", reseolio_connect("sqlite://\xff\xfe.db", NULL, &client, &err),
         RESEOLIO_INVALID_ARGUMENT, "url is not valid UTF-8");
  EXPECT("unsupported scheme", reseolio_connect("mysql://x", NULL, &client, &err),
         RESEOLIO_INVALID_ARGUMENT, "mysql");
  reseolio_connect_options copts = reseolio_connect_options_default();
  copts.poll_interval_ms = -5;
  EXPECT("negative option", reseolio_connect(argv[1], &copts, &client, &err),
         RESEOLIO_INVALID_ARGUMENT, "poll_interval_ms must be >= 0, got -5");
  copts.poll_interval_ms = 0;
  EXPECT("zero poll interval", reseolio_connect(argv[1], &copts, &client, &err),
         RESEOLIO_INVALID_ARGUMENT, "poll_interval_ms");
  EXPECT("connect", reseolio_connect(argv[1], NULL, &client, &err), RESEOLIO_OK, "");

  /* Enqueueing. */
  EXPECT("NULL name", reseolio_enqueue(client, NULL, NULL, 0, NULL, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "name is NULL");
  EXPECT("name not UTF-8", reseolio_enqueue(client, "bad\xc3(", NULL, 0, NULL, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "name is not valid UTF-8 (bad byte at offset 3)");
  EXPECT("empty name", reseolio_enqueue(client, "", NULL, 0, NULL, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "name");
  EXPECT("NULL args with a length", reseolio_enqueue(client, "job", NULL, 5, NULL, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "args is NULL but its length is 5");
  reseolio_enqueue_options opts = reseolio_enqueue_options_default();
  opts.backoff = 99;
  EXPECT("unknown backoff", reseolio_enqueue(client, "job", NULL, 0, &opts, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "got 99");
  reseolio_enqueue_options zeroed;
  memset(&zeroed, 0, sizeof zeroed);
  EXPECT("options never initialised", reseolio_enqueue(client, "job", NULL, 0, &zeroed, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "options.size is 0, not sizeof(reseolio_enqueue_options)");
  copts = reseolio_connect_options_default();
  copts.size = 8;
  reseolio_client spare;
  EXPECT("options of another size", reseolio_connect(argv[1], &copts, &spare, &err),
         RESEOLIO_INVALID_ARGUMENT, "options.size is 8, not sizeof(reseolio_connect_options)");
  opts = reseolio_enqueue_options_default();
  opts.max_attempts = 0;
  EXPECT("zero max_attempts", reseolio_enqueue(client, "job", NULL, 0, &opts, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "max_attempts");
  opts = reseolio_enqueue_options_default();
  opts.idempotency_key = "\x80";
  EXPECT("key not UTF-8", reseolio_enqueue(client, "job", NULL, 0, &opts, &enqueued, &err),
         RESEOLIO_INVALID_ARGUMENT, "idempotency_key is not valid UTF-8");
  EXPECT("NULL enqueue out", reseolio_enqueue(client, "job", NULL, 0, NULL, NULL, &err),
         RESEOLIO_INVALID_ARGUMENT, "out is NULL");
  EXPECT("enqueue", reseolio_enqueue(client, "job", (const uint8_t *)"[]", 2, NULL, &enqueued, &err),
         RESEOLIO_OK, "");

  /* Unknown ids and states. */
  EXPECT("unknown id", reseolio_get(client, "no-such-job", &job, &err), RESEOLIO_NOT_FOUND,
         "no-such-job");
  EXPECT("NULL id", reseolio_get(client, NULL, &job, &err), RESEOLIO_INVALID_ARGUMENT, "id is NULL");
  EXPECT("retry a pending job", reseolio_retry(client, enqueued.job_id, &job, &err),
         RESEOLIO_CONFLICT, "");
  EXPECT("await times out", reseolio_await_result(client, enqueued.job_id, 50, &job, &err),
         RESEOLIO_TIMEOUT, "");

  /* Jobs and errors freed twice, and pointers that were never ours. */
  EXPECT("get", reseolio_get(client, enqueued.job_id, &job, &err), RESEOLIO_OK, "");
  EXPECT("free a job", reseolio_job_free(job), RESEOLIO_OK, "");
  EXPECT_CODE("free a job twice", reseolio_job_free(job), RESEOLIO_INVALID_HANDLE, "");
  int not_a_job = 0;
  EXPECT_CODE("free a stray pointer as a job", reseolio_job_free((reseolio_job *)&not_a_job),
         RESEOLIO_INVALID_HANDLE, "");
  reseolio_get(client, "missing", &job, &err);
  reseolio_error *kept = err;
  EXPECT("free an error", reseolio_error_free(kept), RESEOLIO_OK, "");
  EXPECT_CODE("free an error twice", reseolio_error_free(kept), RESEOLIO_INVALID_HANDLE, "");
  EXPECT_CODE("code of a freed error", reseolio_error_code(kept), RESEOLIO_INVALID_HANDLE, "");
  EXPECT("message of a freed error", RESEOLIO_OK, RESEOLIO_OK, "");
  if (strstr(reseolio_error_message(kept), "not a live reseolio_error") == NULL) {
    printf("FAIL - the message of a freed error is the placeholder\n");
    failures++;
  }
  EXPECT("free NULL", reseolio_error_free(NULL), RESEOLIO_OK, "");

  /* Workers and tasks. */
  reseolio_worker worker, other;
  const char *bad_names[] = {"ok", NULL};
  EXPECT("a NULL name in names", reseolio_worker_start(client, bad_names, 2, 1, &worker, &err),
         RESEOLIO_INVALID_ARGUMENT, "names[1] is NULL");
  EXPECT("names NULL with a length", reseolio_worker_start(client, NULL, 3, 1, &worker, &err),
         RESEOLIO_INVALID_ARGUMENT, "names is NULL but names_len is 3");
  EXPECT("zero concurrency", reseolio_worker_start(client, NULL, 0, 0, &worker, &err),
         RESEOLIO_INVALID_ARGUMENT, "concurrency");
  const char *names[] = {"job"};
  EXPECT("worker", reseolio_worker_start(client, names, 1, 2, &worker, &err), RESEOLIO_OK, "");
  EXPECT("second worker", reseolio_worker_start(client, names, 1, 1, &other, &err), RESEOLIO_OK, "");
  reseolio_task task, zero_task = {0};
  reseolio_claimed_job claimed;
  EXPECT("poll", reseolio_worker_poll(worker, 10000, &task, &claimed, &err), RESEOLIO_OK, "");
  EXPECT("NULL task_out", reseolio_worker_poll(worker, 0, NULL, NULL, &err),
         RESEOLIO_INVALID_ARGUMENT, "task_out is NULL");
  EXPECT("poll times out", reseolio_worker_poll(worker, 20, &task + 0, NULL, &err), RESEOLIO_TIMEOUT,
         "no job was claimed within 20 ms");
  EXPECT("complete through another worker", reseolio_worker_complete_success(other, task, NULL, 0, NULL, &err),
         RESEOLIO_INVALID_ARGUMENT, "was polled from reseolio_worker");
  EXPECT("NULL failure message", reseolio_worker_complete_failure(worker, task, NULL, true, NULL, &err),
         RESEOLIO_INVALID_ARGUMENT, "error is NULL");
  EXPECT("NULL result with a length", reseolio_worker_complete_success(worker, task, NULL, 3, NULL, &err),
         RESEOLIO_INVALID_ARGUMENT, "result is NULL but its length is 3");
  EXPECT("zero task", reseolio_worker_heartbeat(worker, zero_task, NULL, &err),
         RESEOLIO_INVALID_HANDLE, "zero handle");
  EXPECT("complete", reseolio_worker_complete_success(worker, task, (const uint8_t *)"1", 1, NULL, &err),
         RESEOLIO_OK, "");
  EXPECT("complete twice (stale lease)",
         reseolio_worker_complete_success(worker, task, (const uint8_t *)"1", 1, NULL, &err),
         RESEOLIO_CONFLICT, "");
  EXPECT("cancel a finished job", reseolio_cancel(client, claimed.job_id, &job, &err),
         RESEOLIO_CONFLICT, "");
  EXPECT("free the task", reseolio_task_free(task, &err), RESEOLIO_OK, "");
  EXPECT("free the task twice", reseolio_task_free(task, &err), RESEOLIO_INVALID_HANDLE, "freed already");
  EXPECT("heartbeat a freed task", reseolio_worker_heartbeat(worker, task, NULL, &err),
         RESEOLIO_INVALID_HANDLE, "reseolio_task");
  bool cancelled;
  EXPECT("is_cancelled of a freed task", reseolio_task_is_cancelled(task, &cancelled, &err),
         RESEOLIO_INVALID_HANDLE, "");
  reseolio_worker never = {worker.id + 1000000};
  EXPECT("a worker never made", reseolio_worker_poll(never, 0, &task, NULL, &err),
         RESEOLIO_INVALID_HANDLE, "never made");
  EXPECT("shutdown", reseolio_worker_shutdown(worker, 1000, &err), RESEOLIO_OK, "");
  EXPECT("poll after shutdown", reseolio_worker_poll(worker, 1000, &task, NULL, &err),
         RESEOLIO_SHUT_DOWN, "");
  EXPECT("free the worker", reseolio_worker_free(worker, &err), RESEOLIO_OK, "");
  EXPECT("free the worker twice", reseolio_worker_free(worker, &err), RESEOLIO_INVALID_HANDLE, "");
  EXPECT("poll a freed worker", reseolio_worker_poll(worker, 0, &task, NULL, &err),
         RESEOLIO_INVALID_HANDLE, "freed already");
  EXPECT("free the other worker", reseolio_worker_free(other, &err), RESEOLIO_OK, "");

  /* Clients. */
  EXPECT("zero client", reseolio_get(zero, enqueued.job_id, &job, &err), RESEOLIO_INVALID_HANDLE,
         "zero handle");
  EXPECT("close", reseolio_client_free(client, &err), RESEOLIO_OK, "");
  EXPECT("use a freed client", reseolio_enqueue(client, "job", NULL, 0, NULL, &enqueued, &err),
         RESEOLIO_INVALID_HANDLE, "freed already");
  EXPECT("free a client twice", reseolio_client_free(client, &err), RESEOLIO_INVALID_HANDLE, "");
  EXPECT_CODE("a NULL err is allowed", reseolio_client_free(client, NULL), RESEOLIO_INVALID_HANDLE, "");
  if (strcmp(reseolio_status_name(12345), "unknown") != 0) {
    printf("FAIL - the name of an unknown status\n");
    failures++;
  }

  /* The data written before all this is intact: reopen and read the completed job. */
  EXPECT("reopen", reseolio_connect(argv[1], NULL, &client, &err), RESEOLIO_OK, "");
  EXPECT("the job is intact", reseolio_get(client, enqueued.job_id, &job, &err), RESEOLIO_OK, "");
  if (job == NULL || job->status != RESEOLIO_JOB_SUCCESS || job->result_len != 1 || job->result[0] != '1') {
    printf("FAIL - the completed job reads back SUCCESS with its result\n");
    failures++;
  }
  reseolio_job_free(job);
  reseolio_client_free(client, NULL);

  printf("%d failed\n", failures);
  return failures;
}
