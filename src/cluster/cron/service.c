/* The cron node service: knows the schedulers started on the node and
 * serves nodus:cron_jobs/0 over rpc/erpc (the CLI's `nodus cron list
 * NODE`): one map per scheduler,
 *   #{name => <<"N">>, mode => quorum | availability,
 *     jobs => [what nodus_cron_jobs gives]}. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cron/cron_internal.h"
#include "nodus/error.h"
#include "nodus/otp.h"
#include "nodus/service.h"

typedef struct cron_service {
  pthread_mutex_t lock;
  nodus_cron *list;
} cron_service;

void cron_service_add(nodus_cron *c) {
  cron_service *s = nodus_node_service(c->node, &nodus_service_cron);
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  c->next_on_node = s->list;
  s->list = c;
  c->svc = s;
  pthread_mutex_unlock(&s->lock);
}

void cron_service_remove(nodus_cron *c) {
  cron_service *s = c->svc;
  if (!s) return; /* none, or the node (and its service) closed first */
  pthread_mutex_lock(&s->lock);
  for (nodus_cron **p = &s->list; *p; p = &(*p)->next_on_node)
    if (*p == c) {
      *p = c->next_on_node;
      break;
    }
  c->svc = NULL;
  pthread_mutex_unlock(&s->lock);
}

static nodus_term describe(nodus_cron *c) {
  nodus_term jobs, m;
  if (nodus_cron_jobs(c, &jobs)) jobs = nodus_nil();
  const char *mode = c->mode == NODUS_CRON_AVAILABILITY ? "availability" : "quorum";
  if (nodus_build(&m, "#{name => ~b, mode => ~a, jobs => ~t}", c->name, strlen(c->name),
                  mode, jobs))
    return nodus_nil();
  return m;
}

static int fn_jobs(nodus_node *node, const nodus_term *args, nodus_term *result,
                   void *arg) {
  cron_service *s = arg;
  (void)node;
  if (nodus_size(args) != 0) {
    (void)nodus_mk_atom(result, "undef");
    return NODUS_EEXIT;
  }
  /* On the loop: nodus_cron_jobs asks the supervisor with nodus_node_call,
   * which runs inline here. A worker thread would hold s->lock while
   * waiting for the loop, and a scheduler started on the loop would then
   * wait for s->lock: a deadlock. */
  pthread_mutex_lock(&s->lock);
  size_t n = 0;
  for (nodus_cron *c = s->list; c; c = c->next_on_node) n++;
  int rc = nodus_mk_list(result, n);
  size_t i = 0;
  for (nodus_cron *c = s->list; !rc && c; c = c->next_on_node)
    nodus_list_set(result, i++, describe(c));
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static int cron_service_start(nodus_node *node, void **state) {
  cron_service *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  pthread_mutex_init(&s->lock, NULL);
  *state = s;
  int rc = nodus_register_function_on_loop(node, "nodus", "cron_jobs", fn_jobs, s);
  if (rc == NODUS_ESTATE) { /* no rpc service */
    nodus_log(node, NODUS_LOG_INFO, "cron", "no rpc service: nodus:cron_jobs/0 not served");
    rc = 0;
  }
  return rc;
}

static void cron_service_stop(nodus_node *node, void *state) {
  cron_service *s = state;
  (void)node;
  if (!s) return;
  /* Schedulers may outlive the node: they must not reach back here. */
  pthread_mutex_lock(&s->lock);
  for (nodus_cron *c = s->list; c; c = c->next_on_node) c->svc = NULL;
  pthread_mutex_unlock(&s->lock);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

const nodus_service nodus_service_cron = {"cron", cron_service_start, cron_service_stop};
