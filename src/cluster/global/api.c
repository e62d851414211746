/* The global service and the public API (nodus/global.h).
 *
 * The service starts global_name_server, the locker and the registrar
 * on every node, answers global:resolve_it/4 (peers resolving a clash
 * ask the registered pid's node) and nodus:global_names/0,
 * global_whereis/1 over rpc, and lends the runtime its lookup so
 * {global, Name} works as a destination. Threads wait on a gl_req the
 * loop finishes. */
#include <stdlib.h>
#include <string.h>

#include "cluster/global/global_internal.h"
#include "cluster/global/requests.h"
#include "runtime/global_hook.h"
#include "runtime/node_internal.h"

gl_server *gl_of(nodus_node *node) {
  return nodus_node_service(node, &nodus_service_global);
}

/* ---- waiting threads ---------------------------------------------------------- */

static gl_req *req_new(gl_req_op op) {
  gl_req *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  q->op = op;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  return q;
}

static void req_free(gl_req *q) {
  nodus_term_free(&q->name);
  nodus_term_free(&q->pid);
  nodus_term_free(&q->method);
  nodus_term_free(&q->nodes);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  free(q);
}

void gl_req_finish(gl_req *q, int rc) {
  pthread_mutex_lock(&q->mu);
  q->rc = rc;
  q->done = true;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
}

void gl_req_detach(gl_req *q, int rc) {
  pthread_mutex_lock(&q->mu);
  q->rc = rc;
  q->done = true;
  q->holder_gone = true;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
}

static int req_wait(gl_req *q) {
  pthread_mutex_lock(&q->mu);
  while (!q->done) pthread_cond_wait(&q->cv, &q->mu);
  int rc = q->rc;
  pthread_mutex_unlock(&q->mu);
  return rc;
}

static int check_thread(nodus_node *node, gl_server **g) {
  if (!node) return NODUS_EINVAL;
  if (rt_on_loop(node)) return NODUS_ESTATE; /* it would wait for itself */
  if (!(*g = gl_of(node))) return NODUS_ESTATE;
  return 0;
}

/* ---- registering ----------------------------------------------------------------- */

static void enqueue_on_loop(nodus_node *node, void *arg) {
  gl_server *g = gl_of(node);
  if (g) gl_registrar_enqueue(g, arg);
  else gl_req_finish(arg, NODUS_ESTATE);
}

static int run_request(nodus_node *node, gl_req *q) {
  int rc = nodus_node_call(node, enqueue_on_loop, q);
  if (!rc) rc = req_wait(q);
  req_free(q);
  return rc;
}

static int registration(nodus_node *node, gl_req_op op, const nodus_term *name,
                        const nodus_term *pid, const nodus_global_opts *opts) {
  gl_server *g;
  int rc = check_thread(node, &g);
  if (rc) return rc;
  if (!name || name->type == NODUS_T_NONE) return NODUS_EINVAL;
  if (op != GL_REQ_UNREGISTER && (!pid || pid->type != NODUS_T_PID))
    return NODUS_EINVAL;
  nodus_global_method m = opts ? opts->method : NODUS_GLOBAL_RANDOM_EXIT;
  if (m == NODUS_GLOBAL_CALLBACK && !opts->resolve) return NODUS_EINVAL;
  gl_req *q = req_new(op);
  if (!q) return NODUS_ENOMEM;
  if ((rc = nodus_copy(&q->name, name)) ||
      (op != GL_REQ_UNREGISTER &&
       ((rc = nodus_copy(&q->pid, pid)) || (rc = gl_method_term(m, &q->method))))) {
    req_free(q);
    return rc;
  }
  if (m == NODUS_GLOBAL_CALLBACK) {
    q->resolve = opts->resolve;
    q->resolve_arg = opts->resolve_arg;
  }
  return run_request(node, q);
}

int nodus_global_register(nodus_node *node, const nodus_term *name,
                          const nodus_term *pid,
                          const nodus_global_opts *opts) {
  return registration(node, GL_REQ_REGISTER, name, pid, opts);
}

int nodus_global_re_register(nodus_node *node, const nodus_term *name,
                             const nodus_term *pid,
                             const nodus_global_opts *opts) {
  return registration(node, GL_REQ_REREGISTER, name, pid, opts);
}

int nodus_global_unregister(nodus_node *node, const nodus_term *name) {
  nodus_term pid;
  /* global.erl asks the cluster only for a name it has. */
  if (nodus_global_whereis(node, name, &pid) == NODUS_ENOTFOUND) return 0;
  nodus_term_free(&pid);
  return registration(node, GL_REQ_UNREGISTER, name, NULL, NULL);
}

/* ---- reading the table ------------------------------------------------------------- */

int nodus_global_whereis(nodus_node *node, const nodus_term *name,
                         nodus_term *pid) {
  if (!node || !name || !pid) return NODUS_EINVAL;
  gl_server *g = gl_of(node);
  *pid = (nodus_term){0};
  if (!g) return NODUS_ESTATE;
  int rc = NODUS_ENOTFOUND;
  pthread_rwlock_rdlock(&g->lock);
  gl_name *n = termmap_get(&g->names, name);
  if (n) rc = nodus_copy(pid, &n->pid);
  pthread_rwlock_unlock(&g->lock);
  /* where/1: a local pid that died is not there any more, though its
   * DOWN may not be handled yet (only the loop can ask). */
  if (rc == 0 && pid->v.id->node == g->self_node && rt_on_loop(node) &&
      !nodus_proc_lookup(node, pid)) {
    nodus_term_free(pid);
    rc = NODUS_ENOTFOUND;
  }
  return rc;
}

int nodus_global_names(nodus_node *node, nodus_term *names) {
  if (!node || !names) return NODUS_EINVAL;
  gl_server *g = gl_of(node);
  if (!g) return NODUS_ESTATE;
  termvec v = {0};
  int rc = 0;
  pthread_rwlock_rdlock(&g->lock);
  TERMMAP_FOREACH(&g->names, s) if ((rc = termvec_push(&v, &s->key))) break;
  pthread_rwlock_unlock(&g->lock);
  *names = nodus_nil();
  if (!rc) rc = termvec_to_list(&v, names);
  termvec_free(&v);
  return rc;
}

int nodus_global_send(nodus_node *node, const nodus_term *name,
                      nodus_term msg) {
  nodus_term pid;
  int rc = nodus_global_whereis(node, name, &pid);
  if (rc) {
    nodus_term_free(&msg);
    return rc;
  }
  rc = nodus_send(node, &pid, msg);
  nodus_term_free(&pid);
  return rc;
}

/* ---- sync --------------------------------------------------------------------------- */

typedef struct gl_sync {
  struct gl_sync *next;
  termvec pending; /* nodes not synced yet */
  gl_req *q;
} gl_sync;

static gl_sync *syncs_of(gl_server *g) { return g->syncs; }

void gl_sync_note(gl_server *g, nodus_atom node) {
  nodus_term t = nodus_atom_term(node);
  for (gl_sync **pp = (gl_sync **)&g->syncs; *pp;) {
    gl_sync *s = *pp;
    while (termvec_remove_one(&s->pending, &t)) {
    }
    if (s->pending.len == 0) {
      *pp = s->next;
      gl_req_finish(s->q, 0);
      termvec_free(&s->pending);
      free(s);
    } else {
      pp = &s->next;
    }
  }
}

static void sync_on_loop(nodus_node *node, void *arg) {
  gl_req *q = arg;
  gl_server *g = gl_of(node);
  gl_sync *s = g ? calloc(1, sizeof *s) : NULL;
  if (!s) {
    gl_req_finish(q, g ? NODUS_ENOMEM : NODUS_ESTATE);
    return;
  }
  s->q = q;
  nodus_term up;
  if (nodus_node_list(node, &up) == 0) {
    for (size_t i = 0; up.type == NODUS_T_LIST && i < up.n; i++) {
      gl_node *n = gl_node_get(g, up.v.items[i].v.atom, false);
      if (!n || !n->synced) termvec_push(&s->pending, &up.v.items[i]);
    }
    nodus_term_free(&up);
  }
  if (s->pending.len == 0) {
    free(s);
    gl_req_finish(q, 0);
    return;
  }
  s->next = syncs_of(g);
  g->syncs = s;
}

static void sync_cancel_on_loop(nodus_node *node, void *arg) {
  gl_server *g = gl_of(node);
  if (!g) return;
  for (gl_sync **pp = (gl_sync **)&g->syncs; *pp; pp = &(*pp)->next)
    if ((*pp)->q == arg) {
      gl_sync *s = *pp;
      *pp = s->next;
      termvec_free(&s->pending);
      free(s);
      return;
    }
}

int nodus_global_sync(nodus_node *node, int timeout_ms) {
  gl_server *g;
  int rc = check_thread(node, &g);
  if (rc) return rc;
  gl_req *q = req_new(GL_REQ_REGISTER);
  if (!q) return NODUS_ENOMEM;
  if ((rc = nodus_node_call(node, sync_on_loop, q))) {
    req_free(q);
    return rc;
  }
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  if (timeout_ms >= 0) {
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&q->mu);
  while (!q->done)
    if (timeout_ms < 0) pthread_cond_wait(&q->cv, &q->mu);
    else if (pthread_cond_timedwait(&q->cv, &q->mu, &until)) break;
  bool done = q->done;
  rc = q->rc;
  pthread_mutex_unlock(&q->mu);
  if (!done) {
    nodus_node_call(node, sync_cancel_on_loop, q);
    /* It may have finished meanwhile; either way nobody signals q now. */
    rc = NODUS_ETIMEDOUT;
  }
  req_free(q);
  return rc;
}

/* ---- locks ---------------------------------------------------------------------------- */

struct nodus_global_lock {
  nodus_node *node;
  gl_req *q;
  nodus_term pid;
};

struct lock_start {
  gl_req *q;
  nodus_term pid;
  int rc;
};

static void lock_on_loop(nodus_node *node, void *arg) {
  struct lock_start *ls = arg;
  gl_server *g = gl_of(node);
  ls->rc = g ? gl_holder_spawn(g, ls->q, &ls->pid) : NODUS_ESTATE;
}

static int nodes_or_all(nodus_node *node, const nodus_term *nodes,
                        nodus_term *out) {
  if (nodes) return nodus_copy(out, nodes);
  nodus_term up, l;
  int rc = nodus_node_list(node, &up);
  if (rc) return rc;
  size_t n = up.type == NODUS_T_LIST ? up.n : 0;
  if ((rc = nodus_mk_list(&l, n + 1))) {
    nodus_term_free(&up);
    return rc;
  }
  nodus_list_set(&l, 0, nodus_atom_term(nodus_node_name(node)));
  for (size_t i = 0; i < n; i++) nodus_list_set(&l, i + 1, up.v.items[i]);
  up.n = 0;
  nodus_term_free(&up);
  *out = l;
  return 0;
}

int nodus_global_set_lock(nodus_node *node, const nodus_term *id,
                          const nodus_term *nodes, int retries,
                          nodus_global_lock **lock) {
  gl_server *g;
  int rc = check_thread(node, &g);
  if (rc) return rc;
  if (!id || !lock || id->type != NODUS_T_TUPLE || id->n != 2 ||
      (nodes && !nodus_is_proper_list(nodes)))
    return NODUS_EINVAL;
  *lock = NULL;
  gl_req *q = req_new(GL_REQ_LOCK);
  nodus_global_lock *l = calloc(1, sizeof *l);
  if (!q || !l || (rc = nodus_copy(&q->name, id)) ||
      (rc = nodes_or_all(node, nodes, &q->nodes))) {
    if (q) req_free(q);
    free(l);
    return rc ? rc : NODUS_ENOMEM;
  }
  q->retries = retries < 0 ? -1 : retries;
  struct lock_start ls = {q, {0}, NODUS_ESTATE};
  if ((rc = nodus_node_call(node, lock_on_loop, &ls)) || (rc = ls.rc)) {
    req_free(q);
    free(l);
    return rc;
  }
  rc = req_wait(q);
  bool gone;
  pthread_mutex_lock(&q->mu);
  gone = q->holder_gone;
  pthread_mutex_unlock(&q->mu);
  if (rc || gone) {
    nodus_term_free(&ls.pid);
    req_free(q); /* the holder let go of it: EBUSY or the node closed */
    free(l);
    return rc ? rc : NODUS_ESTATE;
  }
  l->node = node;
  l->q = q;
  l->pid = ls.pid;
  *lock = l;
  return 0;
}

const nodus_term *nodus_global_lock_pid(const nodus_global_lock *lock) {
  return lock ? &lock->pid : NULL;
}

int nodus_global_del_lock(nodus_global_lock *lock) {
  if (!lock) return NODUS_EINVAL;
  gl_req *q = lock->q;
  pthread_mutex_lock(&q->mu);
  bool gone = q->holder_gone;
  q->done = false;
  pthread_mutex_unlock(&q->mu);
  int rc = 0;
  if (!gone) {
    nodus_term msg;
    if ((rc = nodus_mk_atom(&msg, "$gl_holder_release")) == 0)
      rc = nodus_send(lock->node, &lock->pid, msg);
    if (rc == 0) rc = req_wait(q);
    /* A holder that is already gone released everything by dying. */
    pthread_mutex_lock(&q->mu);
    gone = q->holder_gone;
    pthread_mutex_unlock(&q->mu);
    if (!gone) { /* the send failed: the node is closing */
      rc = 0;
    }
  }
  if (gone) req_free(q);
  nodus_term_free(&lock->pid);
  free(lock);
  return rc == NODUS_ESTATE ? 0 : rc;
}

int nodus_global_trans(nodus_node *node, const nodus_term *id,
                       const nodus_term *nodes, int retries,
                       int (*fn)(void *arg), void *arg, int *fn_result) {
  if (!fn) return NODUS_EINVAL;
  nodus_global_lock *lock;
  int rc = nodus_global_set_lock(node, id, nodes, retries, &lock);
  if (rc) return rc;
  int r = fn(arg);
  if (fn_result) *fn_result = r;
  return nodus_global_del_lock(lock);
}

/* ---- rpc functions ----------------------------------------------------------------------- */

/* global:resolve_it(Method, Name, Pid1, Pid2), asked by the node that
 * resolves a clash of a name registered to one of our pids. */
static int fn_resolve_it(nodus_node *node, const nodus_term *args,
                         nodus_term *result, void *arg) {
  gl_server *g = arg;
  const nodus_term *m, *name, *p1, *p2;
  if (nodus_match(args, "[~t, ~t, ~t, ~t]", &m, &name, &p1, &p2))
    return NODUS_ENOMATCH;
  gl_resolve_it(g, g->proc, m, name, p1, p2, result);
  return 0;
}

static int fn_names(nodus_node *node, const nodus_term *args,
                    nodus_term *result, void *arg) {
  if (args->type != NODUS_T_NIL) return NODUS_ENOMATCH;
  return nodus_global_names(node, result);
}

static int fn_whereis(nodus_node *node, const nodus_term *args,
                      nodus_term *result, void *arg) {
  const nodus_term *name;
  if (nodus_match(args, "[~t]", &name)) return NODUS_ENOMATCH;
  gl_server *g = arg;
  nodus_term pid = gl_where(g, name);
  if (pid.type == NODUS_T_NONE) return nodus_mk_atom(result, "undefined");
  *result = pid;
  return 0;
}

static int lookup(void *arg, const nodus_term *name, nodus_term *pid) {
  gl_server *g = arg;
  return nodus_global_whereis(g->node, name, pid);
}

/* ---- the service -------------------------------------------------------------------------- */

static bool pop_setting(void) {
  /* kernel's prevent_overlapping_partitions, true unless set false */
  const char *v = getenv("NODUS_PREVENT_OVERLAPPING_PARTITIONS");
  return !(v && (!strcmp(v, "false") || !strcmp(v, "0")));
}

static int global_start(nodus_node *node, void **state) {
  gl_server *g = calloc(1, sizeof *g);
  if (!g) return NODUS_ENOMEM;
  *state = g;
  g->node = node;
  g->self_node = nodus_node_name(node);
  g->prevent_overlapping_partitions = pop_setting();
  const char *trace = getenv("NODUS_GLOBAL_TRACE");
  g->trace_names = trace && !strcmp(trace, "names");
  g->trace = trace && *trace && strcmp(trace, "0") && !g->trace_names;
  gl_tables_init(g);
  termmap_init(&g->lost);
  /* lost_connection's creation: random high bits, the creation below */
  uint64_t ext = ((uint64_t)rand() << 32 ^ (uint64_t)rand() << 40) &
                 0x03ffffff00000000ull;
  g->creation_x = nodus_int((int64_t)(ext + nodus_node_creation(node) +
                                      (1ull << 59)));
  int rc = gl_server_start(g);
  if (!rc) rc = gl_locker_spawn(g);
  if (!rc) rc = gl_registrar_spawn(g);
  if (rc) return rc;
  static const struct {
    const char *m, *f;
    nodus_rpc_fn fn;
  } fns[] = {{"global", "resolve_it", fn_resolve_it},
             {"nodus", "global_names", fn_names},
             {"nodus", "global_whereis", fn_whereis}};
  for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
    rc = nodus_register_function_on_loop(node, fns[i].m, fns[i].f, fns[i].fn, g);
    if (rc == NODUS_ESTATE) { /* no rpc service: clashes resolve locally */
      nodus_log(node, NODUS_LOG_INFO, "global",
                "no rpc service: global:resolve_it not served");
      rc = 0;
      break;
    }
    if (rc) return rc;
  }
  return rt_set_global_lookup(node, lookup, g);
}

static void global_stop(nodus_node *node, void *state) {
  gl_server *g = state;
  rt_set_global_lookup(node, NULL, NULL);
  if (!g) return;
  while (g->syncs) {
    gl_sync *s = g->syncs;
    g->syncs = s->next;
    gl_req_finish(s->q, NODUS_ESTATE);
    termvec_free(&s->pending);
    free(s);
  }
  gl_tables_free(g);
  TERMMAP_FOREACH(&g->lost, s) {
    nodus_term_free(s->value);
    free(s->value);
  }
  termmap_free(&g->lost);
  for (size_t i = 0; i < g->n_nodes; i++) {
    gl_node *n = g->nodes[i];
    nodus_term *ts[] = {&n->my_tag,   &n->his_tag,     &n->wait_names,
                        &n->save_ops, &n->pre_connect, &n->lock_id,
                        &n->resolver, &n->resolver_tag};
    for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) nodus_term_free(ts[k]);
    free(n);
  }
  free(g->nodes);
  nodus_term_free(&g->pid);
  nodus_term_free(&g->locker);
  nodus_term_free(&g->registrar);
  nodus_term_free(&g->creation_x);
  free(g);
}

const nodus_service nodus_service_global = {"global", global_start,
                                            global_stop};
