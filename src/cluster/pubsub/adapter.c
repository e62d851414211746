/* The PG2 adapter: the pool's workers and broadcasting through pg.
 *
 * Each worker is registered under its group's name and joined to that
 * group in the 'Elixir.Phoenix.PubSub' scope, so Elixir nodes find it as
 * they find their own PG2Worker. A broadcast picks one pool group and
 * sends {forward_to_local, Topic, Msg, Dispatcher} to its members on the
 * other nodes, then dispatches here. Broadcasts run on the loop: from
 * another thread as one posted job, whatever the number of members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/pg/pg_internal.h"
#include "cluster/pubsub/pubsub_internal.h"

#define PHOENIX_SCOPE "Elixir.Phoenix.PubSub"
#define MAX_POOL 1024

/* ---- workers ------------------------------------------------------------ */

static void unwatch(nodus_pubsub *ps, const nodus_term *pid) {
  nodus_term *ref = termmap_del(&ps->watched, pid);
  if (!ref) return;
  nodus_term_free(ref);
  free(ref);
}

static void worker_msg(nodus_proc *self, const nodus_term *msg) {
  nodus_pubsub *ps = nodus_proc_state(self);
  const nodus_term *topic, *payload, *dispatcher, *ref, *pid, *why;
  if (nodus_match(msg, "{forward_to_local, ~t, ~t, ~t}", &topic, &payload,
                  &dispatcher) == 0) {
    if (!nodus_equal(dispatcher, &ps->dispatcher) && !ps->logged_dispatcher) {
      /* A custom dispatcher is Elixir code we can't run: C subscribers
       * get the message as the default dispatcher would send it. */
      ps->logged_dispatcher = true;
      nodus_log(ps->node, NODUS_LOG_INFO, "pubsub",
                "custom dispatcher: delivering plainly (logged once)");
    }
    ps_dispatch_local(ps, topic, NULL, payload);
  } else if (nodus_match(msg, "{'DOWN', ~t, process, ~t, ~t}", &ref, &pid,
                         &why) == 0) {
    nodus_term *mine = termmap_get(&ps->watched, pid);
    if (mine && nodus_equal(mine, ref)) {
      unwatch(ps, pid);
      ps_registry_drop_pid(ps, pid);
    }
  }
  /* Anything else is ignored, as PG2Worker's catch-all handle_info. */
}

static void worker_exit(nodus_proc *self, const nodus_term *reason) {
  nodus_pubsub *ps = nodus_proc_state(self);
  if (ps) atomic_fetch_sub(&ps->live_workers, 1);
}

struct watch_job {
  nodus_pubsub *ps;
  nodus_term pid;
};

/* Worker 0 monitors each subscriber once, so its exit drops its
 * subscriptions. */
static void watch_on_loop(nodus_node *node, void *arg) {
  struct watch_job *j = arg;
  nodus_pubsub *ps = j->ps;
  nodus_proc *w0 = nodus_proc_lookup(node, &ps->workers[0]);
  nodus_term *ref;
  if (w0 && !termmap_get(&ps->watched, &j->pid) &&
      (ref = calloc(1, sizeof *ref))) {
    if (nodus_monitor(w0, &j->pid, ref) ||
        termmap_put(&ps->watched, &j->pid, ref)) {
      nodus_term_free(ref);
      free(ref);
    }
  }
  nodus_term_free(&j->pid);
  free(j);
}

/* ---- start and close ----------------------------------------------------- */

struct start_call {
  nodus_pubsub *ps;
  int rc;
};

static void start_on_loop(nodus_node *node, void *arg) {
  struct start_call *c = arg;
  nodus_pubsub *ps = c->ps;
  for (unsigned i = 0; i < ps->pool && !c->rc; i++) {
    const char *group = nodus_atom_text(ps->groups[i].v.atom, NULL);
    nodus_proc_spec spec = {.on_message = worker_msg,
                            .on_exit = worker_exit,
                            .state = ps,
                            .register_name = group};
    if ((c->rc = nodus_spawn(node, &spec, &ps->workers[i]))) break;
    atomic_fetch_add(&ps->live_workers, 1);
    c->rc = nodus_pg_join(ps->scope, &ps->groups[i], &ps->workers[i]);
  }
}

static void free_watched(nodus_pubsub *ps) {
  TERMMAP_FOREACH(&ps->watched, s) {
    nodus_term_free(s->value);
    free(s->value);
  }
  termmap_free(&ps->watched);
}

static void close_on_loop(nodus_node *node, void *arg) {
  nodus_pubsub *ps = arg;
  nodus_term reason;
  if (nodus_mk_atom(&reason, "shutdown")) reason = nodus_nil();
  for (unsigned i = 0; i < ps->pool; i++) {
    nodus_proc *w = ps->workers[i].type == NODUS_T_PID
                        ? nodus_proc_lookup(node, &ps->workers[i])
                        : NULL;
    if (w) nodus_exit(w, &reason); /* pg sees the DOWN; they leave */
  }
  free_watched(ps);
}

static void ps_free(nodus_pubsub *ps) {
  for (unsigned i = 0; ps->groups && i < ps->pool; i++) {
    nodus_term_free(&ps->groups[i]);
    nodus_term_free(&ps->workers[i]);
  }
  free(ps->groups);
  free(ps->workers);
  ps_registry_free(ps);
  pthread_mutex_destroy(&ps->lock);
  if (ps->scope) nodus_pg_release(ps->scope);
  free(ps);
}

/* '<Name>.Adapter', then '<Name>.Adapter_2' ... as Phoenix names them. */
static int make_groups(nodus_pubsub *ps, const char *name) {
  char text[NODUS_ATOM_MAX_CHARS * 4 + 32];
  for (unsigned i = 0; i < ps->pool; i++) {
    int n = i == 0 ? snprintf(text, sizeof text, "%s.Adapter", name)
                   : snprintf(text, sizeof text, "%s.Adapter_%u", name, i + 1);
    if (n < 0 || (size_t)n >= sizeof text) return NODUS_EBADATOM;
    int rc = nodus_mk_atom(&ps->groups[i], text);
    if (rc) return rc;
  }
  return 0;
}

int nodus_pubsub_start(nodus_node *node, const nodus_pubsub_opts *opts,
                       nodus_pubsub **out) {
  if (!node || !opts || !opts->name || !*opts->name || !out)
    return NODUS_EINVAL;
  unsigned pool = opts->pool_size ? opts->pool_size : 1;
  unsigned bpool = opts->broadcast_pool_size ? opts->broadcast_pool_size
                                             : pool;
  if (pool > MAX_POOL || bpool > pool) return NODUS_EINVAL;
  nodus_pubsub *ps = calloc(1, sizeof *ps);
  if (!ps) return NODUS_ENOMEM;
  ps->node = node;
  ps->node_name = nodus_node_name(node);
  ps->pool = pool;
  ps->bpool = bpool;
  pthread_mutex_init(&ps->lock, NULL);
  termmap_init(&ps->topics);
  termmap_init(&ps->watched);
  ps->groups = calloc(pool, sizeof *ps->groups);
  ps->workers = calloc(pool, sizeof *ps->workers);
  int rc = ps->groups && ps->workers ? 0 : NODUS_ENOMEM;
  if (!rc) rc = nodus_atom_intern(opts->name, strlen(opts->name), &ps->name);
  if (!rc) rc = nodus_mk_atom(&ps->dispatcher, PHOENIX_SCOPE);
  if (!rc) rc = make_groups(ps, opts->name);
  if (!rc) rc = nodus_pg_start(node, PHOENIX_SCOPE, &ps->scope);
  struct start_call c = {ps, 0};
  if (!rc) rc = nodus_node_call(node, start_on_loop, &c);
  if (!rc) rc = c.rc;
  if (rc) {
    nodus_node_call(node, close_on_loop, ps);
    ps_free(ps);
    return rc == NODUS_EEXIST ? NODUS_EEXIST : rc;
  }
  *out = ps;
  return 0;
}

void nodus_pubsub_close(nodus_pubsub *ps) {
  if (!ps) return;
  /* Workers end with the node: none alive means the node (and its loop)
   * may be gone, so it is not touched. */
  if (atomic_load(&ps->live_workers))
    nodus_node_call(ps->node, close_on_loop, ps);
  else
    free_watched(ps);
  ps_free(ps);
}

/* ---- subscriptions ------------------------------------------------------- */

static int topic_term(const char *topic, nodus_term *out) {
  return topic ? nodus_mk_binary(out, topic, strlen(topic)) : NODUS_EINVAL;
}

int nodus_pubsub_subscribe(nodus_pubsub *ps, const char *topic,
                           const nodus_term *pid) {
  if (!ps || !pid || pid->type != NODUS_T_PID ||
      pid->v.id->node != ps->node_name)
    return NODUS_EINVAL;
  nodus_term t;
  int rc = topic_term(topic, &t);
  if (!rc) rc = ps_registry_add(ps, &t, pid);
  nodus_term_free(&t);
  if (rc) return rc;
  struct watch_job *j = malloc(sizeof *j);
  if (!j || nodus_copy(&j->pid, pid)) {
    free(j);
    return NODUS_ENOMEM;
  }
  j->ps = ps;
  if ((rc = nodus_node_post(ps->node, watch_on_loop, j))) {
    nodus_term_free(&j->pid);
    free(j);
  }
  return rc;
}

int nodus_pubsub_unsubscribe(nodus_pubsub *ps, const char *topic,
                             const nodus_term *pid) {
  if (!ps || !pid) return NODUS_EINVAL;
  nodus_term t;
  int rc = topic_term(topic, &t);
  if (!rc) rc = ps_registry_remove(ps, &t, pid);
  nodus_term_free(&t);
  return rc == NODUS_ENOMATCH ? 0 : rc; /* as Registry.unregister: ok */
}

/* ---- broadcasts ---------------------------------------------------------- */

enum { BC_CLUSTER, BC_LOCAL, BC_DIRECT };

struct bcast {
  nodus_pubsub *ps;
  int mode;
  nodus_atom target; /* BC_DIRECT */
  nodus_term topic, msg, from; /* from: NONE for none */
};

struct remote_send {
  nodus_pubsub *ps;
  const nodus_term *fwd;
};

static void send_if_remote(const nodus_term *pid, void *arg) {
  struct remote_send *r = arg;
  nodus_term copy;
  if (pid->v.id->node != r->ps->node_name && nodus_copy(&copy, r->fwd) == 0)
    nodus_send(r->ps->node, pid, copy);
}

/* Phoenix picks the group by the broadcaster's pid; any spread will do. */
static const nodus_term *broadcast_group(nodus_pubsub *ps) {
  unsigned i = atomic_fetch_add(&ps->next_group, 1) % ps->bpool;
  return &ps->groups[i];
}

static void bcast_on_loop(nodus_node *node, void *arg) {
  struct bcast *b = arg;
  nodus_pubsub *ps = b->ps;
  bool local = b->mode != BC_DIRECT || b->target == ps->node_name;
  if (b->mode != BC_LOCAL && !(b->mode == BC_DIRECT && local)) {
    nodus_term fwd, topic, msg, disp;
    if (nodus_copy(&topic, &b->topic) == 0 && nodus_copy(&msg, &b->msg) == 0 &&
        nodus_copy(&disp, &ps->dispatcher) == 0 &&
        nodus_build(&fwd, "{forward_to_local, ~t, ~t, ~t}", topic, msg, disp) ==
            0) {
      const nodus_term *group = broadcast_group(ps);
      if (b->mode == BC_DIRECT) {
        nodus_term to;
        if (nodus_build(&to, "{~A, ~A}", group->v.atom, b->target) == 0) {
          nodus_send(node, &to, fwd);
          nodus_term_free(&to);
        } else {
          nodus_term_free(&fwd);
        }
      } else {
        struct remote_send r = {ps, &fwd};
        pg_foreach_member(ps->scope, group, send_if_remote, &r);
        nodus_term_free(&fwd);
      }
    }
  }
  if (local)
    ps_dispatch_local(ps, &b->topic,
                      b->from.type == NODUS_T_NONE ? NULL : &b->from, &b->msg);
  nodus_term_free(&b->topic);
  nodus_term_free(&b->msg);
  nodus_term_free(&b->from);
  free(b);
}

static int post_broadcast(nodus_pubsub *ps, int mode, nodus_atom target,
                          const nodus_term *from, const char *topic,
                          nodus_term msg) {
  struct bcast *b = calloc(1, sizeof *b);
  int rc = !ps || !b ? NODUS_EINVAL : topic_term(topic, &b->topic);
  if (!rc && from) rc = nodus_copy(&b->from, from);
  if (rc) {
    if (b) {
      nodus_term_free(&b->topic);
      free(b);
    }
    nodus_term_free(&msg);
    return rc;
  }
  b->ps = ps;
  b->mode = mode;
  b->target = target;
  b->msg = msg;
  if ((rc = nodus_node_post(ps->node, bcast_on_loop, b))) {
    nodus_term_free(&b->topic);
    nodus_term_free(&b->msg);
    nodus_term_free(&b->from);
    free(b);
  }
  return rc;
}

int nodus_pubsub_broadcast(nodus_pubsub *ps, const char *topic,
                           nodus_term msg) {
  return post_broadcast(ps, BC_CLUSTER, 0, NULL, topic, msg);
}

int nodus_pubsub_broadcast_from(nodus_pubsub *ps, const nodus_term *from,
                                const char *topic, nodus_term msg) {
  return post_broadcast(ps, BC_CLUSTER, 0, from, topic, msg);
}

int nodus_pubsub_local_broadcast(nodus_pubsub *ps, const char *topic,
                                 nodus_term msg) {
  return post_broadcast(ps, BC_LOCAL, 0, NULL, topic, msg);
}

int nodus_pubsub_local_broadcast_from(nodus_pubsub *ps,
                                      const nodus_term *from,
                                      const char *topic, nodus_term msg) {
  return post_broadcast(ps, BC_LOCAL, 0, from, topic, msg);
}

int nodus_pubsub_direct_broadcast(nodus_pubsub *ps, nodus_atom node,
                                  const char *topic, nodus_term msg) {
  return post_broadcast(ps, BC_DIRECT, node, NULL, topic, msg);
}
