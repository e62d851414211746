/* The supervisor's process on each member: membership, the replicated
 * specs, and the decision, after every event and at every tick, of which
 * children this node should run (dsup_evaluate). */
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

#define HINT_NS (2 * (int64_t)1000000000)

static unsigned tick_ms(const nodus_dsup *d) {
  return d->opts.mode == NODUS_DSUP_AVAILABILITY ? 250 : d->lease_ms / 4;
}

/* Gives a lease back (quorum or lease mode), so the child moves at once. */
void dsup_give_back(nodus_dsup *d, dsup_child *c) {
  if (d->opts.mode == NODUS_DSUP_QUORUM) dsup_lease_release(d, c);
  else if (d->opts.mode == NODUS_DSUP_LEASE) dsup_db_release(d, c);
}

static void schedule_tick(nodus_dsup *d) {
  nodus_term msg;
  if (nodus_mk_atom(&msg, "dsup_tick") == 0)
    nodus_send_after(d->proc, tick_ms(d), &d->pid, msg, NULL);
}

static nodus_term shutdown_reason(const char *why, nodus_atom node) {
  nodus_term r;
  if (node == NODUS_ATOM_EMPTY) {
    if (nodus_build(&r, "{shutdown, ~a}", why)) r = nodus_nil();
  } else if (nodus_build(&r, "{shutdown, {~a, ~A}}", why, node)) {
    r = nodus_nil();
  }
  return r;
}

/* Connected, though maybe not a member yet (its hello is on the way). */
static bool node_connected(nodus_dsup *d, nodus_atom node) {
  nodus_term l;
  if (nodus_node_list(d->node, &l)) return false;
  bool found = false;
  for (size_t i = 0; l.type == NODUS_T_LIST && i < l.n && !found; i++)
    found = l.v.items[i].type == NODUS_T_ATOM && l.v.items[i].v.atom == node;
  nodus_term_free(&l);
  return found;
}

static bool running(const dsup_child *c) {
  return c->pid.type == NODUS_T_PID && !c->stopping;
}

static void evaluate_child(nodus_dsup *d, dsup_child *c, bool gate) {
  if (c->deleted) {
    if (running(c)) dsup_instance_stop(d, c, shutdown_reason("deleted", 0));
    return;
  }
  nodus_atom winner = dsup_place(d, c); /* never self while closing */
  bool here = gate && winner == d->self_node;
  bool quorum = d->opts.mode != NODUS_DSUP_AVAILABILITY; /* or lease */
  bool valid = !quorum || dsup_lease_valid(c, dsup_now_ns());
  if (running(c) && (!here || !valid)) {
    nodus_term why = {0};
    if (!gate && !d->closing) why = shutdown_reason("below_min_nodes", 0);
    else if (!valid) why = shutdown_reason("lost_lease", 0);
    else if (winner == NODUS_ATOM_EMPTY) why = shutdown_reason("left", 0);
    else if (c->owner_seen == winner) /* a heal met another instance */
      why = shutdown_reason("dsup_conflict", winner);
    else if (!dsup_handoff_begin(d, c, winner)) /* a move */
      why = shutdown_reason("moved", winner);
    if (why.type != NODUS_T_NONE) dsup_instance_stop(d, c, why);
  }
  /* An instance that met a newer epoch (a node restarted alone with its
   * clock behind, then the heal): its fenced writes would all be refused,
   * so it starts again above the newer one. */
  if (running(c) && here && c->max_epoch > c->epoch)
    dsup_instance_stop(d, c, shutdown_reason("stale_epoch", 0));
  if (quorum && !here && c->lease_until_ns && c->pid.type != NODUS_T_PID)
    dsup_give_back(d, c); /* not ours to run: let it go at once */
  if (quorum && !here && c->grant.holder == d->self_node)
    c->grant.holder = NODUS_ATOM_EMPTY; /* our vote is free for the winner */
  if (!here || c->pid.type == NODUS_T_PID) return;
  if (!quorum) {
    /* A node that still runs it (a join moved it here) stops first. A
     * hint from a third member is believed for a while only: it may be
     * older than the last word of the node it names. */
    nodus_atom o = c->owner_seen;
    bool hint = c->owner_hint_ns != 0;
    if (o != NODUS_ATOM_EMPTY && o != d->self_node &&
        (hint ? dsup_now_ns() - c->owner_hint_ns < HINT_NS &&
                    (dsup_member_get(d, o) || node_connected(d, o))
              : dsup_member_get(d, o) != NULL))
      return;
    dsup_instance_start(d, c, dsup_next_epoch(d, c));
  } else if (valid && c->lease_epoch > c->epoch) {
    dsup_instance_start(d, c, c->lease_epoch); /* never an epoch twice */
  }
}

void dsup_evaluate(nodus_dsup *d) {
  if (!d->proc) return;
  bool gate = dsup_view_size(d) >= (d->opts.min_nodes ? d->opts.min_nodes : 1);
  for (size_t i = 0; i < d->n_children; i++)
    evaluate_child(d, d->children[i], gate);
  if (d->closing && !dsup_local_load(d)) dsup_close_finish(d);
}

void dsup_close_finish(nodus_dsup *d) {
  if (!d->proc) return;
  for (size_t i = 0; i < d->n_children; i++)
    if (d->children[i]->lease_until_ns) dsup_give_back(d, d->children[i]);
  nodus_term bye, reason;
  if (nodus_build(&bye, "{dsup_bye, ~A}", d->self_node) == 0)
    dsup_broadcast(d, bye);
  if (nodus_mk_atom(&reason, "shutdown") == 0) nodus_exit(d->proc, &reason);
  d->proc = NULL; /* nothing more from here; the process ends */
}

/* ---- messages ------------------------------------------------------------ */

/* What a member runs, from its hello or its dsup_running. */
static void note_running(nodus_dsup *d, nodus_atom node, int64_t load,
                         const nodus_term *list) {
  dsup_member *m = dsup_member_get(d, node);
  if (!m || !nodus_is_proper_list(list)) return;
  m->load = load < 0 ? 0 : (unsigned)load;
  for (size_t i = 0; i < d->n_children; i++)
    if (d->children[i]->owner_seen == node)
      d->children[i]->owner_seen = NODUS_ATOM_EMPTY;
  for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++) {
    const nodus_term *idb;
    int64_t epoch;
    if (nodus_match(&list->v.items[i], "{~t, ~i}", &idb, &epoch) || epoch < 0)
      continue;
    dsup_child *c = dsup_child_by_idbin(d, idb);
    if (!c) continue;
    c->owner_seen = node;
    c->owner_hint_ns = 0; /* its own word */
    if ((uint64_t)epoch > c->max_epoch) c->max_epoch = (uint64_t)epoch;
  }
}

/* A hello's owners, [{Id, Epoch, Node}]: the sender's own instances and
 * the ones it knows of elsewhere, hints for a newcomer that has not yet
 * heard from every member. */
static void note_owners(nodus_dsup *d, nodus_atom from, const nodus_term *list) {
  dsup_member *m = dsup_member_get(d, from);
  if (!m || !nodus_is_proper_list(list)) return;
  for (size_t i = 0; i < d->n_children; i++)
    if (d->children[i]->owner_seen == from)
      d->children[i]->owner_seen = NODUS_ATOM_EMPTY;
  unsigned load = 0;
  for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++) {
    const nodus_term *idb;
    int64_t epoch;
    nodus_atom node;
    if (nodus_match(&list->v.items[i], "{~t, ~i, ~a}", &idb, &epoch, &node) ||
        epoch < 0)
      continue;
    dsup_child *c = dsup_child_by_idbin(d, idb);
    if (!c) continue;
    if ((uint64_t)epoch > c->max_epoch) c->max_epoch = (uint64_t)epoch;
    if (node == from) {
      c->owner_seen = from;
      c->owner_hint_ns = 0;
      load++;
    } else if (node != d->self_node && c->owner_seen == NODUS_ATOM_EMPTY) {
      c->owner_seen = node; /* a hint, until that node speaks for itself */
      c->owner_hint_ns = dsup_now_ns();
    }
  }
  m->load = load;
}

static void on_hello(nodus_dsup *d, const nodus_term *msg) {
  const nodus_term *pid, *specs, *owners;
  int64_t started, hb_port;
  nodus_atom reply;
  if (nodus_match(msg, "{dsup_hello, ~t, ~i, ~t, ~t, ~a, ~i}", &pid, &started,
                  &specs, &owners, &reply, &hb_port) || pid->type != NODUS_T_PID ||
      hb_port < 0 || hb_port > 65535)
    return;
  nodus_atom node = pid->v.id->node;
  if (node == d->self_node) return;
  dsup_member_up(d, node, pid, started, (int)hb_port);
  dsup_specs_merge(d, specs);
  note_owners(d, node, owners);
  if (reply == NODUS_ATOM_TRUE) dsup_send_hello(d, node, false);
}

static void on_running(nodus_dsup *d, const nodus_term *msg) {
  nodus_atom node;
  int64_t load;
  const nodus_term *list;
  if (nodus_match(msg, "{dsup_running, ~a, ~i, ~t}", &node, &load, &list))
    return;
  note_running(d, node, load, list);
}

static void on_message(nodus_proc *self, const nodus_term *msg) {
  nodus_dsup *d = nodus_proc_state(self);
  nodus_atom node, tag = NODUS_ATOM_EMPTY;
  const nodus_term *t, *r;
  if (msg->type == NODUS_T_TUPLE && msg->n && msg->v.items[0].type == NODUS_T_ATOM)
    tag = msg->v.items[0].v.atom;
  const char *name = nodus_atom_text(tag, NULL);
  bool ask_now = false;
  if (nodus_is_atom(msg, "dsup_tick")) {
    if (d->opts.mode == NODUS_DSUP_QUORUM) dsup_lease_round(d);
    if (d->opts.mode == NODUS_DSUP_LEASE) dsup_db_round(d);
    dsup_registrar_check(d);
    schedule_tick(d);
  } else if (!nodus_match(msg, "{nodeup, ~a, _}", &node)) {
    dsup_send_hello(d, node, true);
  } else if (!nodus_match(msg, "{nodedown, ~a, _}", &node) ||
             !nodus_match(msg, "{dsup_bye, ~a}", &node)) {
    dsup_member_down(d, node);
    ask_now = true;
  } else if (!nodus_match(msg, "{'EXIT', ~t, ~t}", &t, &r)) {
    dsup_instance_exited(d, t, r);
  } else if (!strcmp(name, "dsup_hello")) {
    on_hello(d, msg);
  } else if (!nodus_match(msg, "{dsup_specs, ~t}", &t)) {
    dsup_specs_merge(d, t);
  } else if (!strcmp(name, "dsup_running")) {
    on_running(d, msg);
  } else if (!strcmp(name, "dsup_lease")) {
    dsup_on_lease(d, msg);
  } else if (!strcmp(name, "dsup_vote")) {
    dsup_on_vote(d, msg);
  } else if (!strcmp(name, "dsup_release")) {
    dsup_on_release(d, msg);
    ask_now = true;
  } else if (!strcmp(name, "dsup_db")) {
    dsup_on_db(d, msg);
  } else if (!strcmp(name, "dsup_handoff")) {
    dsup_on_handoff_reply(d, msg);
  } else if (!strcmp(name, "dsup_handoff_timeout")) {
    dsup_on_handoff_timeout(d, msg);
  } else if (!strcmp(name, "dsup_handoff_state")) {
    dsup_on_handoff_state(d, msg);
  } else {
    if (!(d->logged & 4))
      nodus_log(d->node, NODUS_LOG_INFO, "dsup",
                "%s: unexpected message dropped (logged once)", d->name);
    d->logged |= 4;
    return;
  }
  dsup_evaluate(d);
  /* A lease given back or a member gone: ask for what is now ours at
   * once, not at the next tick (quorum mode). */
  if (ask_now && d->proc && d->opts.mode == NODUS_DSUP_QUORUM) dsup_lease_round(d);
}

static void dsup_on_start(nodus_proc *self) {
  nodus_dsup *d = nodus_proc_state(self);
  d->proc = self;
  nodus_monitor_nodes(self, NODUS_NODES_REASON, true);
  nodus_term nodes;
  if (nodus_node_list(d->node, &nodes) == 0) {
    for (size_t i = 0; nodes.type == NODUS_T_LIST && i < nodes.n; i++)
      if (nodes.v.items[i].type == NODUS_T_ATOM)
        dsup_send_hello(d, nodes.v.items[i].v.atom, true);
    nodus_term_free(&nodes);
  }
  schedule_tick(d);
}

static void dsup_on_exit(nodus_proc *self, const nodus_term *reason) {
  nodus_dsup *d = nodus_proc_state(self);
  d->proc = NULL; /* the node closing, or nodus_dsup_close */
  dsup_detector_stop(d);
  dsup_worker_quit(&d->registrar);
  dsup_worker_quit(&d->db);
  pthread_mutex_lock(&d->lock);
  d->proc_ended = true;
  pthread_cond_broadcast(&d->ended);
  pthread_mutex_unlock(&d->lock);
}

const nodus_proc_spec dsup_proc_spec = {
    .on_message = on_message, .on_exit = dsup_on_exit, .on_start = dsup_on_start,
    .trap_exit = true};
