/* {global, Name} as a destination: the lookup the global service lends
 * the runtime (runtime/global_hook.c). */
#ifndef NODUS_RUNTIME_GLOBAL_HOOK_H
#define NODUS_RUNTIME_GLOBAL_HOOK_H

#include <stdbool.h>

#include "nodus/node.h"

/* 0 and *pid (owned) for a registered name; non-zero when there is none.
 * Thread-safe. */
typedef int (*rt_global_lookup_fn)(void *arg, const nodus_term *name,
                                   nodus_term *pid);
/* Installs (fn) or removes (NULL) the node's lookup. */
int rt_set_global_lookup(nodus_node *node, rt_global_lookup_fn fn, void *arg);
/* {global, Name} */
bool rt_is_global_name(const nodus_term *to);
/* 0 and *pid, or NODUS_ENOPROC when the name is not registered (or no
 * global service runs). */
int rt_resolve_global(nodus_node *node, const nodus_term *to, nodus_term *pid);

#endif
