/* Process aliases (OTP 24): a reference that delivers messages to the
 * process that made it, until it drops it or exits. Erlang code uses them
 * for call replies (gen:reply sends to the alias in the call's tag). */
#include <stdlib.h>

#include "runtime/node_internal.h"

/* Our refs come from one counter spread over the first two words. */
static uint64_t alias_key(const nodus_term *ref) {
  return (uint64_t)ref->v.id->w[1] << 18 | ref->v.id->w[0];
}

nodus_proc *rt_alias_owner(nodus_node *node, const nodus_term *ref) {
  if (!rt_is_local_ref(node, ref)) return NULL;
  rt_alias *a = idmap_get(&node->aliases, alias_key(ref));
  return a && nodus_equal(&a->ref, ref) && !a->owner->dead ? a->owner : NULL;
}

int nodus_alias(nodus_proc *self, nodus_term *alias) {
  RT_ASSERT_LOOP(self->node);
  rt_alias *a = calloc(1, sizeof *a);
  if (!a) return NODUS_ENOMEM;
  int rc = nodus_make_ref(self->node, &a->ref);
  if (!rc) rc = idmap_put(&self->node->aliases, alias_key(&a->ref), a);
  if (!rc) rc = nodus_copy(alias, &a->ref);
  if (rc) {
    idmap_del(&self->node->aliases, alias_key(&a->ref));
    nodus_term_free(&a->ref);
    free(a);
    return rc;
  }
  a->owner = self;
  a->next = self->aliases;
  self->aliases = a;
  return 0;
}

int nodus_unalias(nodus_proc *self, const nodus_term *alias) {
  RT_ASSERT_LOOP(self->node);
  for (rt_alias **ap = &self->aliases; *ap; ap = &(*ap)->next) {
    if (nodus_equal(&(*ap)->ref, alias)) {
      rt_alias *a = *ap;
      *ap = a->next;
      idmap_del(&self->node->aliases, alias_key(&a->ref));
      nodus_term_free(&a->ref);
      free(a);
      return 0;
    }
  }
  return NODUS_ENOMATCH;
}

void rt_aliases_drop_all(nodus_proc *p) {
  RT_ASSERT_LOOP(p->node);
  while (p->aliases) {
    rt_alias *a = p->aliases;
    p->aliases = a->next;
    idmap_del(&p->node->aliases, alias_key(&a->ref));
    nodus_term_free(&a->ref);
    free(a);
  }
}
