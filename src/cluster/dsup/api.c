/* The public dsup API. Everything that changes the supervisor runs on the
 * node's loop through nodus_node_call, as the process's own handlers do;
 * nodus_dsup_valid and nodus_dsup_epoch read under the lock instead, so a
 * child may ask from its handler without waiting for anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/dsup/dsup_internal.h"

static void free_dsup(nodus_dsup *d) {
  for (size_t i = 0; i < d->n_children; i++) dsup_child_free(d->children[i]);
  free(d->children);
  for (size_t i = 0; i < d->n_members; i++) nodus_term_free(&d->members[i].pid);
  for (size_t i = 0; i < d->opts.n_kinds; i++)
    free((char *)d->opts.kinds[i].name);
  free((void *)d->opts.kinds);
  nodus_term_free(&d->pid);
  pthread_cond_destroy(&d->ended);
  pthread_mutex_destroy(&d->lock);
  free(d->name);
  free(d->db_string);
  free(d);
}

static int copy_opts(nodus_dsup *d, const nodus_dsup_opts *o) {
  d->opts = *o;
  d->opts.kinds = NULL;
  d->opts.n_kinds = 0;
  d->name = strdup(o->name);
  nodus_dsup_kind *k = calloc(o->n_kinds ? o->n_kinds : 1, sizeof *k);
  if (!d->name || !k) {
    free(k);
    return NODUS_ENOMEM;
  }
  d->opts.kinds = k;
  for (size_t i = 0; i < o->n_kinds; i++) {
    k[i] = o->kinds[i];
    if (!(k[i].name = strdup(o->kinds[i].name))) return NODUS_ENOMEM;
    d->opts.n_kinds++;
  }
  d->opts.name = d->name;
  if (o->db && !(d->db_string = strdup(o->db))) return NODUS_ENOMEM;
  d->opts.db = d->db_string;
  if (!d->opts.intensity && !d->opts.period_ms) {
    d->opts.intensity = 3;
    d->opts.period_ms = 5000;
  }
  d->lease_ms = o->lease_ms ? o->lease_ms : 2000;
  return 0;
}

static int check_opts(const nodus_dsup_opts *o) {
  if (!o || !o->name || !*o->name || strlen(o->name) > 100) return NODUS_EINVAL;
  if (o->mode < NODUS_DSUP_AVAILABILITY || o->mode > NODUS_DSUP_LEASE)
    return NODUS_EINVAL;
  if (o->mode == NODUS_DSUP_LEASE && (!o->db || !*o->db)) return NODUS_EINVAL;
  if (o->placement < NODUS_DSUP_HASH || o->placement > NODUS_DSUP_CALLBACK ||
      (o->placement == NODUS_DSUP_CALLBACK && !o->place))
    return NODUS_EINVAL;
  if (o->n_kinds && !o->kinds) return NODUS_EINVAL;
  for (size_t i = 0; i < o->n_kinds; i++)
    if (!o->kinds[i].name || !o->kinds[i].start) return NODUS_EINVAL;
  if (o->mode == NODUS_DSUP_QUORUM && !o->quorum && !o->cluster_size)
    return NODUS_EINVAL; /* a majority of what? */
  if (o->intensity < 0 || o->period_ms < 0) return NODUS_EINVAL;
  if (o->lease_ms && o->lease_ms < 100) return NODUS_EINVAL;
  if (o->detector_ms && o->detector_ms < 100) return NODUS_EINVAL;
  return 0;
}

struct start_call {
  nodus_dsup *d;
  int rc;
};

static void start_on_loop(nodus_node *node, void *arg) {
  struct start_call *c = arg;
  nodus_dsup *d = c->d;
  nodus_proc_spec spec = dsup_proc_spec;
  spec.state = d;
  spec.register_name = d->reg_name;
  if ((c->rc = dsup_detector_start(d))) return; /* its port goes in hellos */
  if ((c->rc = nodus_spawn(node, &spec, &d->pid))) {
    dsup_detector_stop(d);
    return;
  }
  d->proc = nodus_proc_lookup(node, &d->pid);
}

int nodus_dsup_start(nodus_node *node, const nodus_dsup_opts *opts,
                     nodus_dsup **out) {
  if (!node || !out) return NODUS_EINVAL;
  int rc = check_opts(opts);
  if (rc) return rc;
  nodus_dsup *d = calloc(1, sizeof *d);
  if (!d) return NODUS_ENOMEM;
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->ended, NULL);
  d->node = node;
  if ((rc = copy_opts(d, opts))) goto fail;
  snprintf(d->reg_name, sizeof d->reg_name, "nodus_dsup_%s", d->name);
  if ((rc = nodus_atom_intern(d->reg_name, strlen(d->reg_name), &d->reg_atom)))
    goto fail;
  d->self_node = nodus_node_name(node);
  size_t len;
  const char *self = nodus_atom_text(d->self_node, &len);
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)self[i]) * 16777619u;
  d->epoch_tag = h % 1000;
  d->started_ms = dsup_unix_ms();
  d->started_ns = dsup_now_ns();
  if ((rc = dsup_registrar_start(d))) goto fail;
  if (d->opts.mode == NODUS_DSUP_LEASE && (rc = dsup_db_start(d))) {
    dsup_worker_stop(&d->registrar);
    goto fail;
  }
  struct start_call c = {d, 0};
  if ((rc = nodus_node_call(node, start_on_loop, &c)) || (rc = c.rc)) {
    dsup_worker_stop(&d->registrar);
    dsup_db_stop(d);
    goto fail;
  }
  dsup_service_add(d);
  *out = d;
  return 0;
fail:
  free_dsup(d);
  return rc;
}

static void close_on_loop(nodus_node *node, void *arg) {
  nodus_dsup *d = arg;
  if (!d->proc) return;
  d->closing = true; /* placement leaves this node out: everything moves */
  dsup_evaluate(d);
}

/* The instances did not end in time: kill them and go. */
static void force_close_on_loop(nodus_node *node, void *arg) {
  nodus_dsup *d = arg;
  if (!d->proc) return;
  nodus_term kill;
  if (nodus_mk_atom(&kill, "kill")) return;
  for (size_t i = 0; i < d->n_children; i++)
    if (d->children[i]->pid.type == NODUS_T_PID)
      nodus_exit_signal(d->proc, &d->children[i]->pid, &kill);
  dsup_close_finish(d);
}

static bool wait_ended(nodus_dsup *d, int ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&d->lock);
  while (!d->proc_ended &&
         pthread_cond_timedwait(&d->ended, &d->lock, &until) == 0) {
  }
  bool ended = d->proc_ended;
  pthread_mutex_unlock(&d->lock);
  return ended;
}

void nodus_dsup_close(nodus_dsup *d) {
  if (!d) return;
  pthread_mutex_lock(&d->lock);
  bool ended = d->proc_ended; /* the node closed first: only free */
  pthread_mutex_unlock(&d->lock);
  if (!ended && nodus_node_call(d->node, close_on_loop, d) == 0) {
    unsigned handoff = d->opts.handoff_ms ? d->opts.handoff_ms : 1000;
    if (!wait_ended(d, (int)handoff + 5000)) {
      nodus_node_call(d->node, force_close_on_loop, d);
      wait_ended(d, 5000);
    }
  }
  dsup_service_remove(d);
  dsup_worker_stop(&d->registrar);
  dsup_db_stop(d);
  free_dsup(d);
}

/* ---- children ------------------------------------------------------------ */

struct child_call {
  nodus_dsup *d;
  const nodus_dsup_child_spec *spec;
  const char *id;
  nodus_term *out;
  int rc;
};

static void broadcast_specs(nodus_dsup *d) {
  nodus_term msg;
  if (nodus_build(&msg, "{dsup_specs, ~t}", dsup_specs_term(d)) == 0)
    dsup_broadcast(d, msg);
}

static void add_on_loop(nodus_node *node, void *arg) {
  struct child_call *c = arg;
  if (!c->d->proc) {
    c->rc = NODUS_ESTATE;
    return;
  }
  dsup_child *child = NULL;
  if ((c->rc = dsup_child_from_spec(c->d, c->spec, &child)) || !child) return;
  broadcast_specs(c->d);
  dsup_evaluate(c->d);
}

int nodus_dsup_start_child(nodus_dsup *d, const nodus_dsup_child_spec *spec) {
  if (!d || !spec || !spec->id || !*spec->id || strlen(spec->id) > 1024 ||
      !spec->kind || spec->restart < NODUS_PERMANENT ||
      spec->restart > NODUS_TEMPORARY)
    return NODUS_EINVAL;
  struct child_call c = {.d = d, .spec = spec};
  int rc = nodus_node_call(d->node, add_on_loop, &c);
  return rc ? rc : c.rc;
}

static void remove_on_loop(nodus_node *node, void *arg) {
  struct child_call *c = arg;
  dsup_child *child = dsup_child_find(c->d, c->id);
  if (!c->d->proc) {
    c->rc = NODUS_ESTATE;
    return;
  }
  if (!child || child->deleted) {
    c->rc = NODUS_ENOTFOUND;
    return;
  }
  child->deleted = true;
  child->version = ++c->d->lamport;
  child->writer = c->d->self_node;
  broadcast_specs(c->d);
  dsup_evaluate(c->d);
}

int nodus_dsup_terminate_child(nodus_dsup *d, const char *id) {
  if (!d || !id) return NODUS_EINVAL;
  struct child_call c = {.d = d, .id = id};
  int rc = nodus_node_call(d->node, remove_on_loop, &c);
  return rc ? rc : c.rc;
}

/* ---- reading ------------------------------------------------------------- */

bool nodus_dsup_valid(nodus_dsup *d, const char *id, uint64_t epoch) {
  if (!d || !id) return false;
  int64_t now = dsup_now_ns();
  pthread_mutex_lock(&d->lock);
  bool ok = false;
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (strcmp(c->id, id)) continue;
    ok = c->pid.type == NODUS_T_PID && !c->stopping && c->epoch == epoch &&
         (d->opts.mode == NODUS_DSUP_AVAILABILITY ||
          (now < c->lease_until_ns && c->lease_epoch <= epoch));
    break;
  }
  pthread_mutex_unlock(&d->lock);
  return ok;
}

int nodus_dsup_epoch(nodus_dsup *d, const char *id, uint64_t *epoch) {
  if (!d || !id || !epoch) return NODUS_EINVAL;
  int rc = NODUS_ENOTFOUND;
  pthread_mutex_lock(&d->lock);
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (!strcmp(c->id, id) && c->pid.type == NODUS_T_PID && !c->stopping) {
      *epoch = c->epoch;
      rc = 0;
    }
  }
  pthread_mutex_unlock(&d->lock);
  return rc;
}

static void children_on_loop(nodus_node *node, void *arg) {
  struct child_call *c = arg;
  *c->out = dsup_children_term(c->d);
}

int nodus_dsup_which_children(nodus_dsup *d, nodus_term *out) {
  if (!d || !out) return NODUS_EINVAL;
  struct child_call c = {.d = d, .out = out};
  int rc = nodus_node_call(d->node, children_on_loop, &c);
  return rc ? rc : c.rc;
}

static void members_on_loop(nodus_node *node, void *arg) {
  struct child_call *c = arg;
  *c->out = dsup_members_term(c->d);
}

int nodus_dsup_members(nodus_dsup *d, nodus_term *out) {
  if (!d || !out) return NODUS_EINVAL;
  struct child_call c = {.d = d, .out = out};
  int rc = nodus_node_call(d->node, members_on_loop, &c);
  return rc ? rc : c.rc;
}
