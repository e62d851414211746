/* gen_server:multi_call(Nodes, global_name_server, Request) made by the
 * process itself, as gen_server.erl does with an infinite timeout: the
 * caller's own pid is in From, so a lock set this way is held by the
 * caller (and goes away when it dies). {'$gen_call', {Self, {Tag, Node}},
 * Request} to each node, with a monitor of that call on each server (a
 * DOWN makes the node a bad node; the monitor goes with the reply). Not
 * kept from call to call: a DOWN of an old connection's monitor must never
 * be taken for the new connection's server, or a refusal could be missed. */
#include <stdlib.h>

#include "cluster/global/global_internal.h"

bool gl_mcall_active(const gl_mcall *mc) { return mc->n > 0 && mc->left > 0; }

void gl_mcall_free(gl_mcall *mc, nodus_proc *self) {
  for (size_t i = 0; i < mc->n; i++) nodus_term_free(&mc->replies[i]);
  free(mc->nodes);
  free(mc->waiting);
  free(mc->replies);
  nodus_term_free(&mc->tag);
  for (size_t i = 0; i < mc->n_watches; i++) {
    if (self) nodus_demonitor(self, &mc->watches[i].mref);
    nodus_term_free(&mc->watches[i].mref);
  }
  free(mc->watches);
  *mc = (gl_mcall){0};
}

static gl_watch *watch_of(gl_mcall *mc, nodus_proc *self, nodus_atom node) {
  if (mc->n_watches == mc->cap_watches) {
    size_t cap = mc->cap_watches ? 2 * mc->cap_watches : 4;
    gl_watch *v = realloc(mc->watches, cap * sizeof *v);
    if (!v) return NULL;
    mc->watches = v;
    mc->cap_watches = cap;
  }
  nodus_term to;
  gl_watch *w = &mc->watches[mc->n_watches];
  *w = (gl_watch){.node = node};
  if (nodus_build(&to, "{~a, ~A}", GL_SERVER, node)) return NULL;
  int rc = nodus_monitor(self, &to, &w->mref);
  nodus_term_free(&to);
  if (rc) return NULL;
  mc->n_watches++;
  return w;
}

int gl_mcall_start(gl_mcall *mc, nodus_proc *self, const nodus_term *nodes,
                   const nodus_term *request) {
  gl_mcall_free(mc, self);
  size_t n = nodes->type == NODUS_T_LIST ? nodes->n : 0;
  if (n == 0) return 1;
  mc->nodes = calloc(n, sizeof *mc->nodes);
  mc->waiting = calloc(n, sizeof *mc->waiting);
  mc->replies = calloc(n, sizeof *mc->replies);
  if (!mc->nodes || !mc->waiting || !mc->replies ||
      nodus_make_ref(nodus_proc_node(self), &mc->tag)) {
    gl_mcall_free(mc, self);
    return NODUS_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const nodus_term *a = &nodes->v.items[i];
    if (a->type != NODUS_T_ATOM) continue; /* gen_server skips them too */
    size_t k = mc->n++;
    mc->nodes[k] = a->v.atom;
    if (!watch_of(mc, self, a->v.atom)) continue; /* a bad node now */
    nodus_term to, msg, tag = {0}, me = {0}, req = {0};
    if (nodus_build(&to, "{~a, ~A}", GL_SERVER, a->v.atom)) continue;
    if (nodus_copy(&tag, &mc->tag) || nodus_copy(&me, nodus_self(self)) ||
        nodus_copy(&req, request)) {
      nodus_term_free(&tag);
      nodus_term_free(&me);
    } else if (nodus_build(&msg, "{'$gen_call', {~t, {~t, ~A}}, ~t}", me, tag,
                           a->v.atom, req) == 0) {
      nodus_send_from(self, &to, msg);
      mc->waiting[k] = true;
      mc->left++;
    }
    nodus_term_free(&to);
  }
  return mc->left == 0 ? 1 : 0;
}

/* {{Tag, Node}, Reply}, read without a pattern: this is every reply. */
static bool is_reply(const nodus_term *m, const nodus_term **tag,
                     nodus_atom *node, const nodus_term **reply) {
  if (m->type != NODUS_T_TUPLE || m->n != 2) return false;
  const nodus_term *h = &m->v.items[0];
  if (h->type != NODUS_T_TUPLE || h->n != 2 ||
      h->v.items[1].type != NODUS_T_ATOM)
    return false;
  *tag = &h->v.items[0];
  *node = h->v.items[1].v.atom;
  *reply = &m->v.items[1];
  return true;
}

int gl_mcall_feed(gl_mcall *mc, nodus_proc *self, const nodus_term *msg) {
  const nodus_term *tag, *reply;
  nodus_atom from;
  if (is_reply(msg, &tag, &from, &reply)) {
    if (!gl_mcall_active(mc) || !nodus_equal(tag, &mc->tag)) return -1;
    for (size_t i = 0; i < mc->n; i++) {
      if (mc->nodes[i] != from || !mc->waiting[i]) continue;
      mc->waiting[i] = false;
      (void)nodus_copy(&mc->replies[i], reply);
      for (size_t w = 0; w < mc->n_watches; w++) /* demonitor(R, [flush]) */
        if (mc->watches[w].node == from) {
          nodus_demonitor(self, &mc->watches[w].mref);
          nodus_term_free(&mc->watches[w].mref);
          mc->watches[w] = mc->watches[--mc->n_watches];
          break;
        }
      return --mc->left == 0 ? 1 : 0;
    }
    return 0; /* a late or doubled reply of this call */
  }
  if (msg->type != NODUS_T_TUPLE || msg->n != 5 ||
      !nodus_is_atom(&msg->v.items[0], "DOWN"))
    return -1;
  const nodus_term *ref = &msg->v.items[1];
  for (size_t w = 0; w < mc->n_watches; w++) {
    if (!nodus_equal(&mc->watches[w].mref, ref)) continue;
    nodus_atom node = mc->watches[w].node;
    nodus_term_free(&mc->watches[w].mref);
    mc->watches[w] = mc->watches[--mc->n_watches];
    int done = 0;
    for (size_t i = 0; gl_mcall_active(mc) && i < mc->n; i++) {
      if (mc->nodes[i] != node || !mc->waiting[i]) continue;
      mc->waiting[i] = false; /* a bad node */
      done = --mc->left == 0;
    }
    return done;
  }
  return -1;
}

bool gl_mcall_all_true(const gl_mcall *mc, nodus_term *true_nodes) {
  bool all = true;
  size_t yes = 0;
  for (size_t i = 0; i < mc->n; i++) {
    /* check_replies/3 looks at the replies only: a bad node is no "no". */
    if (mc->replies[i].type == NODUS_T_NONE) continue;
    if (nodus_is_atom(&mc->replies[i], "true")) yes++;
    else all = false;
  }
  if (true_nodes) {
    *true_nodes = nodus_nil();
    if (yes && nodus_mk_list(true_nodes, yes) == 0) {
      size_t k = 0;
      for (size_t i = 0; i < mc->n; i++)
        if (nodus_is_atom(&mc->replies[i], "true"))
          nodus_list_set(true_nodes, k++, nodus_atom_term(mc->nodes[i]));
    } else {
      *true_nodes = nodus_nil();
    }
  }
  return all;
}
