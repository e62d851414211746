/* The in-process harness of the dsup tests: N_NODES nodes of this
 * process around a private epmd, a "worker" kind whose instances count
 * themselves per node (running, starts, last epoch, what they were
 * handed), and waits on those counts. A test defines N_NODES first. */
#ifndef NODUS_TEST_DSUP_HARNESS_H
#define NODUS_TEST_DSUP_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nodus_testkit.h"
#include "nodus.h"

#define EVENTUALLY(cond, ms)                                        \
  ({                                                                \
    bool ok_ = false;                                               \
    for (int i_ = 0; i_ < (ms) / 5 && !(ok_ = (cond)); i_++)        \
      usleep(5000);                                                 \
    ok_ || (cond);                                                  \
  })

static int epmd_port;
static nodus_node *nodes[N_NODES];

/* What the instances did, per node: running now, and every start. */
typedef struct node_record {
  int index;
  atomic_int running;
  atomic_uint_fast64_t last_epoch;
  atomic_int starts;
  atomic_int handed; /* the generation a start was handed, -1: none */
} node_record;
static node_record rec[N_NODES];

static pthread_mutex_t pids_lock = PTHREAD_MUTEX_INITIALIZER;
static nodus_term last_pid[N_NODES]; /* of the last instance started */

static inline int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct instance {
  node_record *r;
  nodus_dsup *dsup;
  char id[32];
  uint64_t epoch;
  int64_t generation; /* 1 + the one handed over */
} instance;

static inline void worker_msg(nodus_proc *self, const nodus_term *msg) {
  instance *in = nodus_proc_state(self);
  const nodus_term *from, *ref;
  if (!nodus_match(msg, "{dsup_begin_handoff, ~t, ~t}", &from, &ref)) {
    nodus_term r, reply;
    nodus_copy(&r, ref);
    nodus_build(&reply, "{dsup_handoff, ~t, {generation, ~i}}", r,
                in->generation);
    nodus_send_from(self, from, reply);
  } else if (nodus_is_atom(msg, "crash")) {
    nodus_term why;
    nodus_mk_atom(&why, "crashed_on_purpose");
    nodus_exit(self, &why);
  } else if (nodus_is_atom(msg, "done")) {
    nodus_term why = nodus_atom_term(0);
    nodus_mk_atom(&why, "normal");
    nodus_exit(self, &why);
  }
}

static inline void worker_exit(nodus_proc *self, const nodus_term *reason) {
  instance *in = nodus_proc_state(self);
  atomic_fetch_sub(&in->r->running, 1);
  free(in);
}

static inline int worker_start(nodus_proc *dsup, const nodus_dsup_start_info *info,
                        void *arg, nodus_term *pid) {
  node_record *r = arg;
  instance *in = calloc(1, sizeof *in);
  if (!in) return NODUS_ENOMEM;
  in->r = r;
  in->dsup = info->dsup;
  in->epoch = info->epoch;
  snprintf(in->id, sizeof in->id, "%s", info->id);
  int64_t g = -1;
  if (info->handoff && nodus_match(info->handoff, "{generation, ~i}", &g)) g = -2;
  atomic_store(&r->handed, (int)g);
  in->generation = g < 0 ? 1 : g + 1;
  nodus_proc_spec spec = {.on_message = worker_msg, .on_exit = worker_exit,
                          .state = in};
  int rc = nodus_spawn_from(dsup, &spec, true, pid);
  if (rc) {
    free(in);
    return rc;
  }
  atomic_fetch_add(&r->running, 1);
  atomic_fetch_add(&r->starts, 1);
  atomic_store(&r->last_epoch, info->epoch);
  pthread_mutex_lock(&pids_lock);
  nodus_term_free(&last_pid[r->index]);
  nodus_copy(&last_pid[r->index], pid);
  pthread_mutex_unlock(&pids_lock);
  return 0;
}

static inline nodus_node *mk(int i) {
  char name[64];
  snprintf(name, sizeof name, "dsup%d@127.0.0.1", i);
  nodus_node_opts o = {.name = name, .cookie = "dsup",
                       .listen_address = "127.0.0.1",
                       .epmd_mode = i == 0 ? NODUS_EPMD_EMBEDDED : NODUS_EPMD_SYSTEM,
                       .epmd_port = epmd_port, .net_ticktime_ms = 4000};
  nodus_node *n = NULL;
  int rc = nodus_node_init(&o, &n);
  CHECK_RC(rc, 0);
  if (!rc) CHECK_RC(nodus_node_start(n), 0);
  rec[i].index = i;
  return rc ? NULL : n;
}

static inline void connect_all(int from, int to) {
  for (int i = from; i < to; i++)
    for (int j = i + 1; j < to; j++)
      CHECK_RC(nodus_node_connect(nodes[i], nodus_node_name(nodes[j])), 0);
}

static inline nodus_dsup *start(int i, const char *name, const nodus_dsup_opts *base) {
  nodus_dsup_kind kind = {"worker", worker_start, &rec[i], base->handoff_ms > 0};
  nodus_dsup_opts o = *base;
  o.name = name;
  o.kinds = &kind;
  o.n_kinds = 1;
  nodus_dsup *d = NULL;
  CHECK_RC(nodus_dsup_start(nodes[i], &o, &d), 0);
  return d;
}

/* Over the nodes still there: a closed node's instances are gone. */
static inline int running_total(int from, int to) {
  int n = 0;
  for (int i = from; i < to; i++)
    if (nodes[i]) n += atomic_load(&rec[i].running);
  return n;
}

static inline int running_on(int from, int to) {
  for (int i = from; i < to; i++)
    if (nodes[i] && atomic_load(&rec[i].running)) return i;
  return -1;
}

static inline size_t n_members(nodus_dsup *d) {
  nodus_term l;
  if (nodus_dsup_members(d, &l)) return 0;
  size_t n = l.n;
  nodus_term_free(&l);
  return n;
}

/* Stays exactly one for `ms`: not a passing instant of one. */
static inline bool stays_one(int from, int to, int ms) {
  int64_t end = now_ms() + ms;
  while (now_ms() < end) {
    if (running_total(from, to) != 1) return false;
    usleep(5000);
  }
  return true;
}

static inline void send_to_instance(int i, const char *what) {
  nodus_term to, msg;
  pthread_mutex_lock(&pids_lock);
  nodus_copy(&to, &last_pid[i]);
  pthread_mutex_unlock(&pids_lock);
  nodus_mk_atom(&msg, what);
  CHECK_RC(nodus_send(nodes[i], &to, msg), 0);
  nodus_term_free(&to);
}

#endif
