/* Quorum mode's leases: a child runs on a node only while a majority of
 * the members vote for that node, and a member votes for one node per
 * child at a time.
 *
 * As requester, each round (every lease_ms / 4) asks every member, itself
 * included, for the children placement gives this node, naming the epoch
 * it runs or proposes. When `quorum` votes for a round come back (the
 * last DSUP_ROUNDS rounds are kept: a vote may return after the next
 * round left), the lease holds until that round's send time + 89% of
 * lease_ms on this node's clock. As granter, a member that votes for node A promises, for
 * lease_ms from when the request arrived on its own clock, to vote for no
 * other node: the requester's lease always ends first (1% rate drift, a
 * 10% margin for a check made just before an effect), and any two
 * majorities share a member, so no two nodes hold a lease at once. A
 * voter that knows a newer epoch than the one asked for refuses and says
 * so: an old instance cannot renew after a new one started. */
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

unsigned dsup_quorum(const nodus_dsup *d) {
  if (d->opts.quorum) return d->opts.quorum;
  return d->opts.cluster_size / 2 + 1;
}

bool dsup_lease_valid(const dsup_child *c, int64_t now_ns) {
  return now_ns < c->lease_until_ns;
}

static int64_t lease_ns(const nodus_dsup *d) {
  return (int64_t)d->lease_ms * 1000000;
}

/* The vote for `from` on child c: granted, and the newest epoch known
 * before it. */
static bool vote(nodus_dsup *d, dsup_child *c, nodus_atom from, uint64_t epoch,
                 uint64_t *max_before) {
  int64_t now = dsup_now_ns();
  *max_before = c->max_epoch;
  if (c->deleted) return false;
  /* Just started: the promises of a previous life are forgotten. */
  if (now < d->started_ns + lease_ns(d)) return false;
  if (epoch < c->max_epoch) return false;
  dsup_grant *g = &c->grant;
  if (g->holder != NODUS_ATOM_EMPTY && g->holder != from &&
      now < g->expires_ns)
    return false;
  g->holder = from;
  g->expires_ns = now + lease_ns(d);
  if (epoch > c->max_epoch) c->max_epoch = epoch;
  return true;
}

static void count_vote(nodus_dsup *d, dsup_child *c, dsup_round *r,
                       bool granted, uint64_t max_before) {
  if (max_before > r->epoch) {
    r->stale = true;
    if (max_before > c->max_epoch) c->max_epoch = max_before;
  }
  if (!granted || r->stale) return;
  if (++r->votes < dsup_quorum(d)) return;
  int64_t until = r->sent_ns + lease_ns(d) * 89 / 100;
  pthread_mutex_lock(&d->lock);
  if (until > c->lease_until_ns) c->lease_until_ns = until;
  if (r->epoch > c->lease_epoch) c->lease_epoch = r->epoch;
  pthread_mutex_unlock(&d->lock);
}

/* The epoch a start asks for: the same one round after round (a late
 * vote counts for it), a new one once a voter knew a newer. */
static uint64_t proposal(const nodus_dsup *d, dsup_child *c) {
  if (!c->proposal || c->proposal < c->max_epoch) c->proposal = dsup_next_epoch(d, c);
  return c->proposal;
}

static bool wanted_here(nodus_dsup *d, dsup_child *c) {
  return !c->deleted && dsup_place(d, c) == d->self_node;
}

void dsup_lease_round(nodus_dsup *d) {
  if (dsup_view_size(d) < dsup_quorum(d)) return; /* a minority: no use */
  int64_t seq = ++d->next_seq, now = dsup_now_ns();
  size_t n = 0;
  for (size_t i = 0; i < d->n_children; i++)
    n += wanted_here(d, d->children[i]);
  if (!n) return;
  nodus_term list;
  if (nodus_mk_list(&list, n)) return;
  size_t k = 0;
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (!wanted_here(d, c)) continue;
    dsup_round *r = &c->rounds[seq % DSUP_ROUNDS];
    *r = (dsup_round){.seq = seq, .sent_ns = now,
                      .epoch = c->pid.type == NODUS_T_PID ? c->epoch : proposal(d, c)};
    uint64_t max_before;
    bool granted = vote(d, c, d->self_node, r->epoch, &max_before);
    count_vote(d, c, r, granted, max_before);
    nodus_term item;
    if (nodus_build(&item, "{~b, ~u}", c->id, strlen(c->id), (uint64_t)r->epoch))
      item = nodus_nil();
    nodus_list_set(&list, k++, item);
  }
  nodus_term msg;
  if (nodus_build(&msg, "{dsup_lease, ~A, ~i, ~t}", d->self_node, seq, list))
    return;
  dsup_broadcast(d, msg);
}

void dsup_on_lease(nodus_dsup *d, const nodus_term *msg) {
  nodus_atom from;
  int64_t seq;
  const nodus_term *list;
  if (nodus_match(msg, "{dsup_lease, ~a, ~i, ~t}", &from, &seq, &list) ||
      !nodus_is_proper_list(list) || from == d->self_node)
    return;
  dsup_member *m = dsup_member_get(d, from);
  if (!m) return; /* not a member (yet): its hello comes first */
  size_t n = list->type == NODUS_T_LIST ? list->n : 0;
  nodus_term votes;
  if (nodus_mk_list(&votes, n)) return;
  for (size_t i = 0; i < n; i++) {
    const nodus_term *idb;
    uint64_t epoch = 0;
    int64_t e;
    nodus_term item = nodus_nil();
    if (!nodus_match(&list->v.items[i], "{~t, ~i}", &idb, &e) && e >= 0) {
      epoch = (uint64_t)e;
      dsup_child *c = dsup_child_by_idbin(d, idb);
      uint64_t max_before = 0;
      bool granted = c && vote(d, c, from, epoch, &max_before);
      size_t len, bits;
      const uint8_t *p = nodus_bin_data(idb, &len, &bits);
      if (nodus_build(&item, "{~b, ~a, ~u}", p, len,
                      granted ? "true" : "false", (uint64_t)max_before))
        item = nodus_nil();
    }
    nodus_list_set(&votes, i, item);
  }
  nodus_term reply;
  if (nodus_build(&reply, "{dsup_vote, ~A, ~i, ~t}", d->self_node, seq, votes))
    return;
  dsup_send_to(d, &m->pid, reply);
}

void dsup_on_vote(nodus_dsup *d, const nodus_term *msg) {
  nodus_atom from;
  int64_t seq;
  const nodus_term *list;
  if (nodus_match(msg, "{dsup_vote, ~a, ~i, ~t}", &from, &seq, &list) ||
      !nodus_is_proper_list(list) || !dsup_member_get(d, from))
    return;
  for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++) {
    const nodus_term *idb;
    nodus_atom granted;
    int64_t max_before;
    if (nodus_match(&list->v.items[i], "{~t, ~a, ~i}", &idb, &granted,
                    &max_before) || max_before < 0)
      continue;
    dsup_child *c = dsup_child_by_idbin(d, idb);
    dsup_round *r = c ? &c->rounds[seq % DSUP_ROUNDS] : NULL;
    if (!r || r->seq != seq) continue; /* older than the rounds kept */
    count_vote(d, c, r, granted == NODUS_ATOM_TRUE, (uint64_t)max_before);
  }
}

void dsup_lease_release(nodus_dsup *d, dsup_child *c) {
  pthread_mutex_lock(&d->lock);
  c->lease_until_ns = 0;
  pthread_mutex_unlock(&d->lock);
  memset(c->rounds, 0, sizeof c->rounds);
  c->proposal = 0;
  if (c->grant.holder == d->self_node) c->grant.holder = NODUS_ATOM_EMPTY;
  nodus_term id, list, msg;
  if (nodus_mk_binary(&id, c->id, strlen(c->id))) return;
  if (nodus_build(&list, "[~t]", id)) return;
  if (nodus_build(&msg, "{dsup_release, ~A, ~t}", d->self_node, list)) return;
  dsup_broadcast(d, msg);
}

void dsup_on_release(nodus_dsup *d, const nodus_term *msg) {
  nodus_atom from;
  const nodus_term *list;
  if (nodus_match(msg, "{dsup_release, ~a, ~t}", &from, &list) ||
      !nodus_is_proper_list(list))
    return;
  for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++) {
    dsup_child *c = dsup_child_by_idbin(d, &list->v.items[i]);
    if (c && c->grant.holder == from) c->grant.holder = NODUS_ATOM_EMPTY;
  }
}
