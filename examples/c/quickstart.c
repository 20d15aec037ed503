/*
 * Reseolio from C: a durable job, run by a worker loop on its own thread, its result awaited.
 *
 *   make -C examples/c run          (builds libreseolio, then this program, then runs it)
 *
 * The job adds two numbers. Its first attempt fails on purpose, so the run shows a retry after
 * the backoff; the second attempt succeeds. Pass a storage URL as the first argument to use
 * another database (default: sqlite://reseolio-c-example.db, made fresh for each run by make).
 */
#include "reseolio.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints a failed call with its code and message, and frees the error. It takes the error's
 * address, not its value, so that `failed(call(..., &err), &err, ...)` reads the error after the
 * call wrote it (C leaves the order of a call's arguments open). */
static int failed(reseolio_status status, reseolio_error **err, const char *what) {
  if (status == RESEOLIO_OK) return 0;
  fprintf(stderr, "%s: %s: %s\n", what, reseolio_status_name(status), reseolio_error_message(*err));
  reseolio_error_free(*err);
  *err = NULL;
  return 1;
}

/* The handler: args are a JSON array of two integers, the result is their sum. */
static int add(const reseolio_claimed_job *job, char *result, size_t result_size) {
  char args[64];
  int a, b;
  if (job->args_len >= sizeof args) return -1;
  memcpy(args, job->args, job->args_len);
  args[job->args_len] = '\0';
  if (sscanf(args, "[%d , %d]", &a, &b) != 2) return -1;
  snprintf(result, result_size, "%d", a + b);
  return 0;
}

/* The worker loop: poll, run, complete, free; until the worker is shut down. */
static void *worker_loop(void *arg) {
  reseolio_worker worker = *(reseolio_worker *)arg;
  for (;;) {
    reseolio_task task;
    reseolio_claimed_job job;
    reseolio_error *err = NULL;
    reseolio_status status = reseolio_worker_poll(worker, 1000, &task, &job, &err);
    if (status == RESEOLIO_TIMEOUT) { /* nothing due yet: poll again */
      reseolio_error_free(err);
      continue;
    }
    if (status == RESEOLIO_SHUT_DOWN) {
      reseolio_error_free(err);
      return NULL;
    }
    if (failed(status, &err, "poll")) return NULL;

    char result[32];
    reseolio_job_status after;
    if (job.attempt == 1) {
      /* Fail the first attempt on purpose: the engine schedules a retry after the backoff. */
      status = reseolio_worker_complete_failure(worker, task, "the first attempt fails, to show a retry",
                                                true, &after, &err);
      printf("attempt %u of %s failed; the job is now %s\n", job.attempt, job.name,
             after == RESEOLIO_JOB_FAILED ? "FAILED (a retry is scheduled)" : "?");
    } else if (add(&job, result, sizeof result) == 0) {
      status = reseolio_worker_complete_success(worker, task, (const uint8_t *)result, strlen(result),
                                                &after, &err);
      printf("attempt %u of %s succeeded\n", job.attempt, job.name);
    } else {
      status = reseolio_worker_complete_failure(worker, task, "args are not [a, b]", false, NULL, &err);
    }
    failed(status, &err, "complete");
    reseolio_task_free(task, NULL);
  }
}

int main(int argc, char **argv) {
  const char *url = argc > 1 ? argv[1] : "sqlite://reseolio-c-example.db";
  reseolio_error *err = NULL;
  int exit_code = 1;
  printf("reseolio %s on %s\n", reseolio_version(), url);

  reseolio_client client;
  if (failed(reseolio_connect(url, NULL, &client, &err), &err, "connect")) return 1;

  /* Enqueue: durable once this returns. Retries come quickly here to keep the example short. */
  reseolio_enqueue_options options = reseolio_enqueue_options_default();
  options.max_attempts = 3;
  options.initial_delay_ms = 200;
  const char *args = "[2, 3]";
  reseolio_enqueued enqueued;
  if (failed(reseolio_enqueue(client, "add", (const uint8_t *)args, strlen(args), &options, &enqueued, &err),
             &err, "enqueue"))
    goto close_client;
  printf("enqueued job %s\n", enqueued.job_id);

  /* A worker for "add", at most 4 jobs at once, and a thread running its loop. */
  const char *names[] = {"add"};
  reseolio_worker worker;
  if (failed(reseolio_worker_start(client, names, 1, 4, &worker, &err), &err, "worker")) goto close_client;
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker_loop, &worker) != 0) goto free_worker;

  /* Wait for the outcome (at most 30 s): it is read from the database, so it would be found
   * even after a restart. */
  reseolio_job *job = NULL;
  if (!failed(reseolio_await_result(client, enqueued.job_id, 30000, &job, &err), &err, "await")) {
    printf("job %s: %s after %u attempts, result %.*s\n", job->id,
           job->status == RESEOLIO_JOB_SUCCESS ? "SUCCESS" : "not SUCCESS", job->attempt,
           (int)job->result_len, job->result ? (const char *)job->result : "");
    if (job->status == RESEOLIO_JOB_SUCCESS && job->result_len == 1 && job->result[0] == '5' &&
        job->attempt == 2)
      exit_code = 0;
    reseolio_job_free(job);
  }

  /* Shut down: the blocked poll returns SHUT_DOWN and the loop ends. */
  failed(reseolio_worker_shutdown(worker, 5000, &err), &err, "shutdown");
  pthread_join(thread, NULL);
free_worker:
  failed(reseolio_worker_free(worker, &err), &err, "free worker");
close_client:
  if (failed(reseolio_client_free(client, &err), &err, "close")) exit_code = 1;
  return exit_code;
}
