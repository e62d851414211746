/* Members: the other nodes running a dsup of the same name, found by a
 * hello to nodus_dsup_<name> on every connected node (at start and on
 * each nodeup) and lost on nodedown or bye. Kept sorted by node name, so
 * every member walks them in the same order. */
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

static int by_name(nodus_atom a, nodus_atom b) {
  nodus_term x = nodus_atom_term(a), y = nodus_atom_term(b);
  return nodus_compare(&x, &y);
}

dsup_member *dsup_member_get(nodus_dsup *d, nodus_atom node) {
  for (size_t i = 0; i < d->n_members; i++)
    if (d->members[i].node == node) return &d->members[i];
  return NULL;
}

size_t dsup_view_size(const nodus_dsup *d) { return d->n_members + 1; }

void dsup_member_up(nodus_dsup *d, nodus_atom node, const nodus_term *pid,
                    int64_t started_ms, int hb_port) {
  if (node == d->self_node) return;
  dsup_member *m = dsup_member_get(d, node);
  if (m) { /* a restarted member: a new pid, a new age */
    nodus_term_free(&m->pid);
    nodus_copy(&m->pid, pid);
    m->started_ms = started_ms;
    m->hb_port = hb_port;
    return;
  }
  if (d->n_members == DSUP_MAX_MEMBERS) {
    if (!(d->logged & 1))
      nodus_log(d->node, NODUS_LOG_WARN, "dsup",
                "%s: more than %d members, %s ignored (logged once)", d->name,
                DSUP_MAX_MEMBERS, nodus_atom_text(node, NULL));
    d->logged |= 1;
    return;
  }
  size_t at = 0;
  while (at < d->n_members && by_name(d->members[at].node, node) < 0) at++;
  memmove(&d->members[at + 1], &d->members[at],
          (d->n_members - at) * sizeof d->members[0]);
  d->n_members++;
  m = &d->members[at];
  memset(m, 0, sizeof *m);
  m->node = node;
  m->started_ms = started_ms;
  m->hb_port = hb_port;
  if (nodus_copy(&m->pid, pid)) m->pid = (nodus_term){0};
  nodus_log(d->node, NODUS_LOG_INFO, "dsup", "%s: member %s up (%zu seen)",
            d->name, nodus_atom_text(node, NULL), dsup_view_size(d));
}

void dsup_member_down(nodus_dsup *d, nodus_atom node) {
  dsup_member *m = dsup_member_get(d, node);
  if (!m) return;
  nodus_term_free(&m->pid);
  size_t at = (size_t)(m - d->members);
  memmove(m, m + 1, (d->n_members - at - 1) * sizeof *m);
  d->n_members--;
  for (size_t i = 0; i < d->n_children; i++)
    if (d->children[i]->owner_seen == node)
      d->children[i]->owner_seen = NODUS_ATOM_EMPTY;
  nodus_log(d->node, NODUS_LOG_INFO, "dsup", "%s: member %s down (%zu seen)",
            d->name, nodus_atom_text(node, NULL), dsup_view_size(d));
}

void dsup_send_to(nodus_dsup *d, const nodus_term *to, nodus_term msg) {
  if (d->proc) nodus_send_from(d->proc, to, msg);
  else nodus_term_free(&msg);
}

void dsup_broadcast(nodus_dsup *d, nodus_term msg) {
  for (size_t i = 0; i < d->n_members; i++) {
    nodus_term copy;
    if (d->members[i].pid.type == NODUS_T_PID && !nodus_copy(&copy, &msg))
      dsup_send_to(d, &d->members[i].pid, copy);
  }
  nodus_term_free(&msg);
}

/* {dsup_hello, Pid, StartedMs, Specs, Running, Reply} to the dsup of the
 * same name on `node`, whether or not it runs one (a node without it drops
 * it). Where we know the children run comes with it ([{Id, Epoch,
 * Node}]): a newcomer must not start a child before it hears that a
 * member runs it. */
void dsup_send_hello(nodus_dsup *d, nodus_atom node, bool reply) {
  nodus_term msg, to, self;
  if (nodus_copy(&self, &d->pid)) return;
  if (nodus_build(&msg, "{dsup_hello, ~t, ~i, ~t, ~t, ~a, ~i}", self,
                  d->started_ms, dsup_specs_term(d), dsup_owners_term(d),
                  reply ? "true" : "false", (int64_t)d->hb_port))
    return;
  if (nodus_build(&to, "{~A, ~A}", d->reg_atom, node)) {
    nodus_term_free(&msg);
    return;
  }
  dsup_send_to(d, &to, msg);
  nodus_term_free(&to);
}

nodus_term dsup_members_term(const nodus_dsup *d) {
  nodus_term l;
  if (nodus_mk_list(&l, d->n_members + 1)) return nodus_nil();
  nodus_list_set(&l, 0, nodus_atom_term(d->self_node));
  for (size_t i = 0; i < d->n_members; i++)
    nodus_list_set(&l, i + 1, nodus_atom_term(d->members[i].node));
  return l;
}
