/* gen_server:multi_call(Nodes, global_name_server, Request) made by the
 * process itself, as gen_server.erl does with an infinite timeout: the
 * caller's own pid is in From, so a lock set this way is held by the
 * caller (and goes away when it dies). {'$gen_call', {Self, {Tag, Node}},
 * Request} to each node, a monitor on each server; a DOWN makes the node
 * a bad node. */
#include <stdlib.h>

#include "cluster/global/global_internal.h"

bool gl_mcall_active(const gl_mcall *mc) { return mc->n > 0 && mc->left > 0; }

void gl_mcall_free(gl_mcall *mc, nodus_proc *self) {
  for (size_t i = 0; i < mc->n; i++) {
    if (mc->mrefs[i].type != NODUS_T_NONE && self)
      nodus_demonitor(self, &mc->mrefs[i]);
    nodus_term_free(&mc->mrefs[i]);
    nodus_term_free(&mc->replies[i]);
  }
  free(mc->nodes);
  free(mc->mrefs);
  free(mc->replies);
  nodus_term_free(&mc->tag);
  *mc = (gl_mcall){0};
}

int gl_mcall_start(gl_mcall *mc, nodus_proc *self, const nodus_term *nodes,
                   const nodus_term *request) {
  *mc = (gl_mcall){0};
  size_t n = nodes->type == NODUS_T_LIST ? nodes->n : 0;
  if (n == 0) return 1;
  mc->nodes = calloc(n, sizeof *mc->nodes);
  mc->mrefs = calloc(n, sizeof *mc->mrefs);
  mc->replies = calloc(n, sizeof *mc->replies);
  nodus_node *node = nodus_proc_node(self);
  if (!mc->nodes || !mc->mrefs || !mc->replies ||
      nodus_make_ref(node, &mc->tag)) {
    gl_mcall_free(mc, self);
    return NODUS_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const nodus_term *a = &nodes->v.items[i];
    if (a->type != NODUS_T_ATOM) continue; /* gen_server skips them too */
    mc->nodes[mc->n] = a->v.atom;
    nodus_term to, msg, tag, me, req;
    if (nodus_build(&to, "{~a, ~A}", GL_SERVER, a->v.atom)) continue;
    if (nodus_monitor(self, &to, &mc->mrefs[mc->n]) == 0 &&
        nodus_copy(&tag, &mc->tag) == 0) {
      if (nodus_copy(&me, nodus_self(self)) ||
          nodus_copy(&req, request)) {
        nodus_term_free(&tag);
        nodus_term_free(&me);
      } else if (nodus_build(&msg, "{'$gen_call', {~t, {~t, ~A}}, ~t}", me,
                             tag, a->v.atom, req) == 0) {
        nodus_send_from(self, &to, msg);
      }
    }
    nodus_term_free(&to);
    mc->n++;
  }
  mc->left = mc->n;
  for (size_t i = 0; i < mc->n; i++) /* a failed monitor: a bad node now */
    if (mc->mrefs[i].type == NODUS_T_NONE) mc->left--;
  return mc->left == 0 ? 1 : 0;
}

int gl_mcall_feed(gl_mcall *mc, nodus_proc *self, const nodus_term *msg) {
  if (!gl_mcall_active(mc)) return -1;
  const nodus_term *a, *b;
  nodus_atom from;
  if (nodus_match(msg, "{{~t, ~a}, ~t}", &a, &from, &b) == 0 &&
      nodus_equal(a, &mc->tag)) {
    for (size_t i = 0; i < mc->n; i++) {
      if (mc->nodes[i] != from || mc->mrefs[i].type == NODUS_T_NONE) continue;
      nodus_demonitor(self, &mc->mrefs[i]);
      nodus_term_free(&mc->mrefs[i]);
      (void)nodus_copy(&mc->replies[i], b);
      return --mc->left == 0 ? 1 : 0;
    }
    return 0; /* a late or doubled reply of this call */
  }
  if (nodus_match(msg, "{'DOWN', ~t, _, _, _}", &a) == 0) {
    for (size_t i = 0; i < mc->n; i++) {
      if (!nodus_equal(&mc->mrefs[i], a)) continue;
      nodus_term_free(&mc->mrefs[i]);
      return --mc->left == 0 ? 1 : 0;
    }
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
