/* Placement: which member of this node's view (the members and itself)
 * should run a child. Every strategy is a function of the view and the
 * child only, so members that see the same view agree. A node whose
 * restarts of the child ran out is left out of its own view for that
 * child for a while (banned_until), so the child moves on. */
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

/* FNV-1a over the id and the node's name, then a 64-bit mix: the
 * rendezvous (highest random weight) hash. */
static uint64_t weight(const char *id, nodus_atom node) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = id; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  size_t len;
  const char *name = nodus_atom_text(node, &len);
  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static int name_cmp(nodus_atom a, nodus_atom b) {
  nodus_term x = nodus_atom_term(a), y = nodus_atom_term(b);
  return nodus_compare(&x, &y);
}

nodus_atom dsup_place(nodus_dsup *d, const dsup_child *c) {
  nodus_dsup_member view[DSUP_MAX_MEMBERS + 1];
  size_t n = 0;
  bool self_in = !d->closing && c->banned_until_ns <= dsup_now_ns();
  /* The view, sorted by name, self in its place. */
  for (size_t i = 0; i <= d->n_members; i++) {
    nodus_atom next = i < d->n_members ? d->members[i].node : NODUS_ATOM_EMPTY;
    if (self_in && (i == d->n_members || name_cmp(d->self_node, next) < 0)) {
      view[n++] = (nodus_dsup_member){d->self_node, d->started_ms,
                                      dsup_local_load(d)};
      self_in = false;
    }
    if (i < d->n_members)
      view[n++] = (nodus_dsup_member){next, d->members[i].started_ms,
                                      d->members[i].load};
  }
  if (!n) return NODUS_ATOM_EMPTY;
  size_t best = 0;
  switch (d->opts.placement) {
  case NODUS_DSUP_OLDEST:
    for (size_t i = 1; i < n; i++)
      if (view[i].started_ms < view[best].started_ms) best = i;
    break;
  case NODUS_DSUP_LEAST_LOADED:
    /* The current owner keeps it while no one is lighter by two: a child
     * must not bounce because its own start made its node the heavier. */
    for (size_t i = 1; i < n; i++)
      if (view[i].load < view[best].load) best = i;
    for (size_t i = 0; i < n; i++)
      if (view[i].node == c->owner_seen && view[i].load <= view[best].load + 1)
        best = i;
    break;
  case NODUS_DSUP_CALLBACK:
    if (d->opts.place) {
      best = d->opts.place(c->id, view, n, d->opts.place_arg);
      if (best >= n) best = 0;
      break;
    }
    __attribute__((fallthrough)); /* no callback: the default */
  default: {
    uint64_t top = weight(c->id, view[0].node);
    for (size_t i = 1; i < n; i++) {
      uint64_t w = weight(c->id, view[i].node);
      if (w > top) {
        top = w;
        best = i;
      }
    }
  }
  }
  return view[best].node;
}
