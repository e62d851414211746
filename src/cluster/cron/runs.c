/* Runs: each on a thread of its own, since a job may block (a database,
 * an rpc). The thread tells the owner the result, waits for the owner to
 * say whether the tick's done record counted, then calls the job's done
 * callback. The run is shared by the thread and the owner: freed by the
 * last of the two to let go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cron/cron_internal.h"
#include "nodus/error.h"
#include "nodus/otp.h"

void cron_run_release(cron_run *run) {
  pthread_mutex_lock(&run->lock);
  bool last = --run->refs == 0;
  pthread_mutex_unlock(&run->lock);
  if (!last) return;
  nodus_term_free(&run->owner);
  pthread_mutex_destroy(&run->lock);
  pthread_cond_destroy(&run->cond);
  free(run);
}

void cron_run_recorded(cron_run *run, bool ok) {
  pthread_mutex_lock(&run->lock);
  if (!run->recorded) run->recorded = ok ? 1 : -1;
  pthread_cond_signal(&run->cond);
  pthread_mutex_unlock(&run->lock);
  cron_run_release(run);
}

/* The job's args followed by the run: #{job => <<Name>>, scheduled =>
 * Ms, epoch => E, attempt => N}, so the function can key its effect. */
static int rpc_args(const cron_run *run, nodus_term *out) {
  const nodus_term *given = run->job->spec.args;
  size_t n = given ? nodus_size(given) : 0;
  if (given && given->type != NODUS_T_LIST && given->type != NODUS_T_NIL) return NODUS_EBADTYPE;
  int rc = nodus_mk_list(out, n + 1);
  for (size_t i = 0; !rc && i < n; i++) nodus_list_set(out, i, cron_copy(nodus_list_item(given, i)));
  nodus_term info;
  if (!rc && !(rc = nodus_build(&info, "#{job => ~b, scheduled => ~i, epoch => ~u, attempt => ~u}",
                                run->info.job, strlen(run->info.job), run->info.scheduled_ms,
                                run->info.epoch, (uint64_t)run->info.attempt)))
    nodus_list_set(out, n, info);
  if (rc) nodus_term_free(out);
  return rc;
}

/* {M, F, A} by rpc on the job's node (the owner's own when none). */
static int64_t run_rpc(cron_run *run) {
  cron_job *j = run->job;
  nodus_node *node = j->cron->node;
  nodus_atom peer = nodus_node_name(node);
  if (j->spec.rpc_node && nodus_atom_intern(j->spec.rpc_node, strlen(j->spec.rpc_node), &peer))
    return NODUS_EINVAL;
  nodus_term args = {0}, result = {0};
  int rc = rpc_args(run, &args);
  if (rc) return rc;
  rc = nodus_rpc(node, peer, j->spec.module, j->spec.function, args, 60000, &result);
  int64_t out = rc ? rc : result.type == NODUS_T_INT ? result.v.i : 0;
  if (rc) {
    char *text = NULL;
    nodus_print(&result, NULL, &text, NULL);
    nodus_log(node, NODUS_LOG_WARN, "cron", "job %s tick %lld: %s:%s failed: %s", j->spec.name,
              (long long)run->info.scheduled_ms, j->spec.module, j->spec.function,
              text ? text : "?");
    free(text);
  }
  nodus_term_free(&result);
  return out;
}

static void *run_main(void *arg) {
  cron_run *run = arg;
  cron_job *j = run->job;
  struct nodus_cron *c = j->cron;
  int64_t result = j->spec.fn ? j->spec.fn(&run->info, j->spec.arg) : run_rpc(run);
  nodus_term msg;
  if (!nodus_build(&msg, "{cron_ran, ~u, ~i}", run->id, result))
    nodus_send(c->node, &run->owner, msg);
  /* The owner answers within its done round's timeout; the bound is
   * for an owner gone without a word. */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 30;
  pthread_mutex_lock(&run->lock);
  while (!run->recorded)
    if (pthread_cond_timedwait(&run->cond, &run->lock, &until) == ETIMEDOUT) break;
  bool ok = run->recorded == 1;
  pthread_mutex_unlock(&run->lock);
  if (j->spec.done) j->spec.done(&run->info, result, ok, j->spec.arg);
  cron_run_release(run);
  pthread_mutex_lock(&c->lock);
  c->runs--;
  pthread_cond_broadcast(&c->runs_done);
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

int cron_run_start(cron_run *run) {
  struct nodus_cron *c = run->job->cron;
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock(&c->lock);
  c->runs++;
  pthread_mutex_unlock(&c->lock);
  int rc = pthread_create(&t, &attr, run_main, run);
  pthread_attr_destroy(&attr);
  if (rc) {
    pthread_mutex_lock(&c->lock);
    c->runs--;
    pthread_mutex_unlock(&c->lock);
    return NODUS_ENOMEM;
  }
  return 0;
}
