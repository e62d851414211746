/* Small term helpers the runtime and the layers above build messages
 * with, and questions about whose a pid or reference is. */
#include <stdarg.h>

#include "runtime/node_internal.h"

nodus_term rt_atom(const char *s) {
  nodus_term t;
  if (nodus_mk_atom(&t, s)) t = nodus_atom_term(NODUS_ATOM_UNDEFINED);
  return t;
}

nodus_term rt_tuple(size_t n, ...) {
  nodus_term t;
  int rc = nodus_mk_tuple(&t, n);
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    nodus_term e = va_arg(ap, nodus_term);
    if (rc) nodus_term_free(&e);
    else t.v.items[i] = e;
  }
  va_end(ap);
  return rc ? (nodus_term){0} : t;
}

nodus_term rt_copy(const nodus_term *t) {
  nodus_term c;
  return nodus_copy(&c, t) ? (nodus_term){0} : c;
}

nodus_atom rt_node_of(const nodus_term *t) {
  switch (t->type) {
    case NODUS_T_PID:
    case NODUS_T_PORT:
    case NODUS_T_REF: return t->v.id->node;
    default: return NODUS_ATOM_EMPTY;
  }
}

bool rt_is_local_pid(const nodus_node *node, const nodus_term *pid) {
  return pid->type == NODUS_T_PID && pid->v.id->node == node->name &&
         pid->v.id->creation == node->creation;
}

bool rt_is_local_ref(const nodus_node *node, const nodus_term *ref) {
  return ref->type == NODUS_T_REF && ref->v.id->node == node->name &&
         ref->v.id->creation == node->creation;
}

