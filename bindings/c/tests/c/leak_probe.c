/*
 * Proves that the leak check of tests/c_programs.rs can fail: this program reads a job and does
 * not free it, so valgrind (or LeakSanitizer) must report a definite leak. argv[1]: a storage URL.
 *
 * Both checkers scan memory for anything that looks like a block's address, so a stale copy of
 * a pointer (in a register, a spill slot) can make one leaked block look reachable. The probe
 * leaks several jobs from a function of its own, so that some are surely unreferenced.
 */
#include "reseolio.h"

#include <stdio.h>
#include <string.h>

/* Reads the job and forgets it: the only pointer to it dies with this frame. */
__attribute__((noinline)) static int read_and_drop(reseolio_client client, const char *id) {
  reseolio_job *job = NULL;
  return reseolio_get(client, id, &job, NULL) == RESEOLIO_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  reseolio_client client;
  reseolio_enqueued enqueued;
  if (reseolio_connect(argv[1], NULL, &client, NULL) != RESEOLIO_OK) return 3;
  if (reseolio_enqueue(client, "leak", NULL, 0, NULL, &enqueued, NULL) != RESEOLIO_OK) return 4;
  for (int i = 0; i < 8; i++)
    if (read_and_drop(client, enqueued.job_id) != 0) return 5;
  printf("read job %s 8 times and dropped it without reseolio_job_free\n", enqueued.job_id);
  reseolio_client_free(client, NULL);
  return 0;
}
