/* This node's instances: started with a fresh epoch, stopped with a
 * reason, restarted after a crash as a local supervisor would (restart
 * type; more than `intensity` restarts in `period_ms` and the child
 * leaves this node for period_ms, so placement moves it on). */
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

uint64_t dsup_next_epoch(const nodus_dsup *d, const dsup_child *c) {
  /* Above every epoch heard of, and above the wall clock: its ms times
   * 1000 plus this node's own 0..999 (from its name), so epochs keep
   * growing even when the members that knew the last one restarted
   * (starts anywhere are lease_ms apart in quorum mode), and two nodes
   * starting alone in the same ms (availability mode, a partition) still
   * differ. */
  uint64_t e = c->max_epoch + 1;
  int64_t ms = dsup_unix_ms();
  uint64_t clock = ms > 0 ? (uint64_t)ms * 1000 + d->epoch_tag : 0;
  return clock > e ? clock : e;
}

unsigned dsup_local_load(const nodus_dsup *d) {
  unsigned n = 0;
  for (size_t i = 0; i < d->n_children; i++)
    n += d->children[i]->pid.type == NODUS_T_PID;
  return n;
}

nodus_term dsup_running_term(const nodus_dsup *d) {
  nodus_term list;
  if (nodus_mk_list(&list, dsup_local_load(d))) return nodus_nil();
  size_t k = 0;
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (c->pid.type != NODUS_T_PID) continue;
    nodus_term item;
    if (nodus_build(&item, "{~b, ~u}", c->id, strlen(c->id), c->epoch))
      item = nodus_nil();
    nodus_list_set(&list, k++, item);
  }
  return list;
}

nodus_term dsup_owners_term(const nodus_dsup *d) {
  size_t n = 0;
  for (size_t i = 0; i < d->n_children; i++)
    n += d->children[i]->pid.type == NODUS_T_PID ||
         d->children[i]->owner_seen != NODUS_ATOM_EMPTY;
  nodus_term list;
  if (nodus_mk_list(&list, n)) return nodus_nil();
  size_t k = 0;
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    bool here = c->pid.type == NODUS_T_PID;
    if (!here && c->owner_seen == NODUS_ATOM_EMPTY) continue;
    nodus_term item;
    if (nodus_build(&item, "{~b, ~u, ~A}", c->id, strlen(c->id),
                    here ? c->epoch : c->max_epoch,
                    here ? d->self_node : c->owner_seen))
      item = nodus_nil();
    nodus_list_set(&list, k++, item);
  }
  return list;
}

void dsup_broadcast_running(nodus_dsup *d) {
  nodus_term msg;
  if (nodus_build(&msg, "{dsup_running, ~A, ~i, ~t}", d->self_node,
                  (int64_t)dsup_local_load(d), dsup_running_term(d)))
    return;
  dsup_broadcast(d, msg);
}

const nodus_dsup_kind *dsup_kind_of(nodus_dsup *d, const char *name) {
  for (size_t i = 0; i < d->opts.n_kinds; i++)
    if (!strcmp(d->opts.kinds[i].name, name)) return &d->opts.kinds[i];
  return NULL;
}

/* Counts a restart; false when that was one too many. */
static bool restart_allowed(nodus_dsup *d, dsup_child *c) {
  int64_t now = dsup_now_ns();
  int64_t period = (int64_t)d->opts.period_ms * 1000000;
  unsigned ring = sizeof c->restarts_ns / sizeof c->restarts_ns[0];
  unsigned max = (unsigned)d->opts.intensity < ring ? (unsigned)d->opts.intensity : ring - 1;
  c->restarts_ns[c->n_restarts++ % ring] = now;
  unsigned recent = 0;
  for (unsigned i = 0; i < ring && i < c->n_restarts; i++)
    recent += now - c->restarts_ns[i] <= period;
  if (recent <= max) return true;
  c->banned_until_ns = now + period;
  c->n_restarts = 0;
  nodus_log(d->node, NODUS_LOG_WARN, "dsup",
            "%s: %s restarted more than %d times in %d ms here: it moves on",
            d->name, c->id, d->opts.intensity, d->opts.period_ms);
  return false;
}

void dsup_instance_start(nodus_dsup *d, dsup_child *c, uint64_t epoch) {
  const nodus_dsup_kind *k = dsup_kind_of(d, c->kind);
  nodus_dsup_start_info info = {d, c->id, epoch, &c->args, NULL};
  if (c->handoff_state.type != NODUS_T_NONE) info.handoff = &c->handoff_state;
  nodus_term pid = {0};
  int rc = k ? k->start(d->proc, &info, k->arg, &pid) : NODUS_ENOTFOUND;
  nodus_term_free(&c->handoff_state); /* handed to this start only */
  if (rc || pid.type != NODUS_T_PID) {
    nodus_term_free(&pid);
    nodus_log(d->node, NODUS_LOG_WARN, "dsup", "%s: %s (kind %s) failed to start: %s",
              d->name, c->id, c->kind, k ? nodus_strerror(rc) : "unknown kind");
    restart_allowed(d, c);
    return;
  }
  pthread_mutex_lock(&d->lock);
  c->pid = pid;
  c->epoch = epoch;
  c->stopping = false;
  if (epoch > c->max_epoch) c->max_epoch = epoch;
  pthread_mutex_unlock(&d->lock);
  c->owner_seen = d->self_node;
  c->owner_hint_ns = 0;
  c->proposal = 0; /* used: the next start asks for a newer one */
  c->register_asked_ns = 0;
  nodus_log(d->node, NODUS_LOG_INFO, "dsup", "%s: %s started epoch=%llu",
            d->name, c->id, (unsigned long long)epoch);
  dsup_broadcast_running(d);
  dsup_registrar_check(d);
}

void dsup_instance_stop(nodus_dsup *d, dsup_child *c, nodus_term reason) {
  if (c->pid.type != NODUS_T_PID || c->stopping) {
    nodus_term_free(&reason);
    return;
  }
  pthread_mutex_lock(&d->lock);
  c->stopping = true; /* nodus_dsup_valid says no from here on */
  pthread_mutex_unlock(&d->lock);
  char *text = NULL;
  nodus_print(&reason, NULL, &text, NULL);
  nodus_log(d->node, NODUS_LOG_INFO, "dsup", "%s: %s stopping epoch=%llu: %s",
            d->name, c->id, (unsigned long long)c->epoch, text ? text : "?");
  free(text);
  nodus_exit_signal(d->proc, &c->pid, &reason);
  nodus_term_free(&reason);
}

static bool ended_well(const nodus_term *reason) {
  return nodus_is_atom(reason, "normal") || nodus_is_atom(reason, "shutdown") ||
         nodus_match(reason, "{shutdown, _}") == 0;
}

/* A child that is done everywhere: the spec becomes a tombstone. */
static void retire(nodus_dsup *d, dsup_child *c) {
  c->deleted = true;
  c->version = ++d->lamport;
  c->writer = d->self_node;
  nodus_term msg;
  if (nodus_build(&msg, "{dsup_specs, ~t}", dsup_specs_term(d)) == 0)
    dsup_broadcast(d, msg);
}

bool dsup_instance_exited(nodus_dsup *d, const nodus_term *pid,
                          const nodus_term *reason) {
  dsup_child *c = NULL;
  for (size_t i = 0; i < d->n_children && !c; i++)
    if (nodus_equal(&d->children[i]->pid, pid)) c = d->children[i];
  if (!c) return false;
  bool asked = c->stopping;
  pthread_mutex_lock(&d->lock);
  nodus_term_free(&c->pid);
  c->stopping = false;
  pthread_mutex_unlock(&d->lock);
  nodus_term_free(&c->handoff_ref); /* an unanswered handoff ends here */
  if (c->owner_seen == d->self_node) c->owner_seen = NODUS_ATOM_EMPTY;
  char *text = NULL;
  nodus_print(reason, NULL, &text, NULL);
  nodus_log(d->node, NODUS_LOG_INFO, "dsup", "%s: %s stopped epoch=%llu: %s",
            d->name, c->id, (unsigned long long)c->epoch, text ? text : "?");
  free(text);
  dsup_broadcast_running(d);
  if (asked || d->closing) return true;
  bool done = c->restart == NODUS_TEMPORARY ||
              (c->restart == NODUS_TRANSIENT && ended_well(reason));
  if (done) {
    retire(d, c);
    return true;
  }
  if (!restart_allowed(d, c)) {
    dsup_give_back(d, c);
    return true;
  }
  /* Lease mode: the database gives the new epoch (dsup_db_round). */
  if (d->opts.mode == NODUS_DSUP_LEASE) return true;
  /* Restart here at once when it is still ours: in quorum mode under the
   * lease we hold (a new epoch, announced at the next round). */
  if (dsup_place(d, c) != d->self_node) return true;
  if (d->opts.mode == NODUS_DSUP_QUORUM) {
    if (!dsup_lease_valid(c, dsup_now_ns())) return true;
    uint64_t e = dsup_next_epoch(d, c);
    pthread_mutex_lock(&d->lock);
    c->lease_epoch = e;
    pthread_mutex_unlock(&d->lock);
    dsup_instance_start(d, c, e);
  } else {
    dsup_instance_start(d, c, dsup_next_epoch(d, c));
  }
  return true;
}

nodus_term dsup_children_term(const nodus_dsup *d) {
  size_t n = 0;
  for (size_t i = 0; i < d->n_children; i++) n += !d->children[i]->deleted;
  nodus_term list;
  if (nodus_mk_list(&list, n)) return nodus_nil();
  size_t k = 0;
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *ch = d->children[i];
    if (ch->deleted) continue;
    bool here = ch->pid.type == NODUS_T_PID;
    nodus_term pid = nodus_atom_term(NODUS_ATOM_UNDEFINED), item;
    if (here && nodus_copy(&pid, &ch->pid)) pid = nodus_atom_term(NODUS_ATOM_UNDEFINED);
    nodus_atom where = here ? d->self_node
                       : ch->owner_seen != NODUS_ATOM_EMPTY ? ch->owner_seen
                                                            : NODUS_ATOM_UNDEFINED;
    if (nodus_build(&item, "{~b, ~A, ~u, ~t}", ch->id, strlen(ch->id), where,
                    here ? ch->epoch : ch->max_epoch, pid))
      item = nodus_nil();
    nodus_list_set(&list, k++, item);
  }
  return list;
}
