/* Handoff: an instance that moves because the members changed hands its
 * state to the next one, as Swarm's begin_handoff/end_handoff do.
 *
 *   old owner -> instance   {dsup_begin_handoff, DsupPid, Ref}
 *   instance  -> old owner  {dsup_handoff, Ref, State}
 *   old owner -> new owner  {dsup_handoff_state, Id, State}; the instance
 *                           is stopped, and the new owner starts once the
 *                           old one says (dsup_running) it runs it no more
 * No answer within handoff_ms ({dsup_handoff_timeout, Ref} to ourselves)
 * and the instance is stopped without state. */
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

static unsigned handoff_ms(const nodus_dsup *d) {
  return d->opts.handoff_ms ? d->opts.handoff_ms : 1000;
}

static nodus_term moved_reason(nodus_atom to) {
  nodus_term r;
  if (nodus_build(&r, "{shutdown, {moved, ~A}}", to)) r = nodus_nil();
  return r;
}

bool dsup_handoff_begin(nodus_dsup *d, dsup_child *c, nodus_atom to) {
  if (c->handoff_ref.type != NODUS_T_NONE) return true; /* under way */
  const nodus_dsup_kind *k = dsup_kind_of(d, c->kind);
  if (!k || !k->handoff || to == NODUS_ATOM_EMPTY) return false;
  nodus_term ref, self, msg, tref, tmsg;
  if (nodus_make_ref(d->node, &ref)) return false;
  if (nodus_copy(&c->handoff_ref, &ref) || nodus_copy(&self, &d->pid)) {
    nodus_term_free(&ref);
    return false;
  }
  c->handoff_to = to;
  if (nodus_build(&msg, "{dsup_begin_handoff, ~t, ~t}", self, ref)) return false;
  nodus_send_from(d->proc, &c->pid, msg);
  if (nodus_copy(&tref, &c->handoff_ref) == 0 &&
      nodus_build(&tmsg, "{dsup_handoff_timeout, ~t}", tref) == 0)
    nodus_send_after(d->proc, handoff_ms(d), &d->pid, tmsg, NULL);
  nodus_log(d->node, NODUS_LOG_INFO, "dsup", "%s: %s handing off to %s",
            d->name, c->id, nodus_atom_text(to, NULL));
  return true;
}

static dsup_child *by_ref(nodus_dsup *d, const nodus_term *ref) {
  for (size_t i = 0; i < d->n_children; i++)
    if (d->children[i]->handoff_ref.type != NODUS_T_NONE &&
        nodus_equal(&d->children[i]->handoff_ref, ref))
      return d->children[i];
  return NULL;
}

static void finish(nodus_dsup *d, dsup_child *c) {
  nodus_term_free(&c->handoff_ref);
  dsup_instance_stop(d, c, moved_reason(c->handoff_to));
}

void dsup_on_handoff_reply(nodus_dsup *d, const nodus_term *msg) {
  const nodus_term *ref, *state;
  if (nodus_match(msg, "{dsup_handoff, ~t, ~t}", &ref, &state)) return;
  dsup_child *c = by_ref(d, ref);
  if (!c) return; /* too late: it was stopped without state */
  dsup_member *m = dsup_member_get(d, c->handoff_to);
  nodus_term id, copy, out;
  if (m && nodus_mk_binary(&id, c->id, strlen(c->id)) == 0 &&
      nodus_copy(&copy, state) == 0 &&
      nodus_build(&out, "{dsup_handoff_state, ~t, ~t}", id, copy) == 0)
    dsup_send_to(d, &m->pid, out);
  finish(d, c);
}

void dsup_on_handoff_timeout(nodus_dsup *d, const nodus_term *msg) {
  const nodus_term *ref;
  if (nodus_match(msg, "{dsup_handoff_timeout, ~t}", &ref)) return;
  dsup_child *c = by_ref(d, ref);
  if (!c) return;
  nodus_log(d->node, NODUS_LOG_WARN, "dsup",
            "%s: %s did not answer its handoff in %u ms: stopped without state",
            d->name, c->id, handoff_ms(d));
  finish(d, c);
}

void dsup_on_handoff_state(nodus_dsup *d, const nodus_term *msg) {
  const nodus_term *idb, *state;
  if (nodus_match(msg, "{dsup_handoff_state, ~t, ~t}", &idb, &state)) return;
  dsup_child *c = dsup_child_by_idbin(d, idb);
  if (!c || c->deleted) return;
  nodus_term_free(&c->handoff_state);
  if (nodus_copy(&c->handoff_state, state)) c->handoff_state = (nodus_term){0};
}
