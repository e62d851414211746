/* {global, Name} destinations. The runtime has no global names of its
 * own: the global service (cluster/global) lends it a lookup when it
 * starts, and sends, calls and monitors to {global, Name} go to the pid it
 * finds. Without the service no global name resolves. */
#include <pthread.h>

#include "runtime/global_hook.h"
#include "runtime/node_internal.h"

#define MAX_HOOKS 64 /* nodes with the service at once, per process */

static struct hook {
  nodus_node *node;
  rt_global_lookup_fn fn;
  void *arg;
} hooks[MAX_HOOKS];
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

int rt_set_global_lookup(nodus_node *node, rt_global_lookup_fn fn, void *arg) {
  int slot = -1, rc = 0;
  pthread_mutex_lock(&hooks_lock);
  for (int i = 0; i < MAX_HOOKS; i++) {
    if (hooks[i].node == node) {
      slot = i;
      break;
    }
    if (!hooks[i].node && slot < 0) slot = i;
  }
  if (slot < 0) rc = fn ? NODUS_ENOMEM : 0;
  else if (fn) hooks[slot] = (struct hook){node, fn, arg};
  else if (hooks[slot].node == node) hooks[slot] = (struct hook){0};
  pthread_mutex_unlock(&hooks_lock);
  return rc;
}

bool rt_is_global_name(const nodus_term *to) {
  return to->type == NODUS_T_TUPLE && to->n == 2 &&
         nodus_is_atom(&to->v.items[0], "global");
}

int rt_resolve_global(nodus_node *node, const nodus_term *to,
                      nodus_term *pid) {
  rt_global_lookup_fn fn = NULL;
  void *arg = NULL;
  pthread_mutex_lock(&hooks_lock);
  for (int i = 0; i < MAX_HOOKS; i++)
    if (hooks[i].node == node) {
      fn = hooks[i].fn;
      arg = hooks[i].arg;
      break;
    }
  pthread_mutex_unlock(&hooks_lock);
  if (!fn) return NODUS_ENOPROC;
  return fn(arg, &to->v.items[1], pid) ? NODUS_ENOPROC : 0;
}
