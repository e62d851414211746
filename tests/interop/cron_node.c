/* A node with one cron scheduler, for `nodus cron list` and
 * nodus:cron_jobs/0: scheduler "cron" in availability mode, alone, with
 * job "tick" on "@every 200ms" counting its runs.
 *
 *   cron_node --name NAME@HOST --cookie C --epmd-port P [--none]
 * prints "ready NAME" once the job has run (with --none: runs no
 * scheduler, ready at once), runs until SIGTERM or SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodus.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ran = PTHREAD_COND_INITIALIZER;
static unsigned runs;

static int64_t tick(const nodus_cron_run *run, void *arg) {
  (void)run, (void)arg;
  pthread_mutex_lock(&lock);
  runs++;
  pthread_cond_broadcast(&ran);
  pthread_mutex_unlock(&lock);
  return 0;
}

/* The first run, or false after timeout_s. */
static bool wait_first_run(int timeout_s) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_s;
  pthread_mutex_lock(&lock);
  while (!runs && pthread_cond_timedwait(&ran, &lock, &until) == 0) {
  }
  bool ok = runs > 0;
  pthread_mutex_unlock(&lock);
  return ok;
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  bool none = false;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--name") && v) opts.name = v, i++;
    else if (!strcmp(argv[i], "--cookie") && v) opts.cookie = v, i++;
    else if (!strcmp(argv[i], "--epmd-port") && v) opts.epmd_port = atoi(v), i++;
    else if (!strcmp(argv[i], "--none")) none = true;
  }
  opts.epmd_mode = NODUS_EPMD_SYSTEM;
  /* Blocked before the loop thread starts, so it inherits the mask and
   * the signal is left to sigwait below. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "cron_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_cron *cron = NULL;
  nodus_cron_job job = {.name = "tick", .schedule = "@every 200ms", .fn = tick};
  nodus_cron_opts copts = {.mode = NODUS_CRON_AVAILABILITY, .jobs = &job, .n_jobs = 1};
  if (!(rc = nodus_node_start(node)) && !none) rc = nodus_cron_start(node, &copts, &cron);
  if (!rc && !none && !wait_first_run(30)) {
    fprintf(stderr, "cron_node: the job did not run within 30 s\n");
    rc = 1;
  }
  if (rc) {
    if (rc < 0) fprintf(stderr, "cron_node: %s\n", nodus_strerror(rc));
    nodus_cron_close(cron);
    nodus_node_close(node);
    return 1;
  }
  printf("ready %s\n", nodus_atom_text(nodus_node_name(node), NULL));
  fflush(stdout);

  /* Not nodus_node_run_until_signal: it stops the loop, and
   * nodus_cron_close needs the loop running. */
  int sig = 0;
  sigwait(&stop_signals, &sig);
  nodus_cron_close(cron);
  nodus_node_close(node);
  return 0;
}
