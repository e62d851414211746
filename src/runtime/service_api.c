/* Public entry points for services layered on the runtime (pg, pub/sub):
 * run a function on the loop thread (waiting or not) and find the process
 * behind a local pid from there. Thin wrappers over the inbox's
 * cross-thread calls, so services need not see the runtime's internals. */
#include "runtime/node_internal.h"

struct call_wrap {
  nodus_loop_fn fn;
  void *arg;
  bool ran;
};

static void run_wrapped(nodus_node *node, void *arg) {
  struct call_wrap *w = arg;
  w->ran = true;
  w->fn(node, w->arg);
}

int nodus_node_call(nodus_node *node, nodus_loop_fn fn, void *arg) {
  if (!node || !fn) return NODUS_EINVAL;
  /* rt_call_sync returns without running fn when the node is closing;
   * the flag tells the two apart. */
  struct call_wrap w = {fn, arg, false};
  rt_call_sync(node, run_wrapped, &w);
  return w.ran ? 0 : NODUS_ESTATE;
}

int nodus_node_post(nodus_node *node, nodus_loop_fn fn, void *arg) {
  if (!node || !fn) return NODUS_EINVAL;
  if (rt_on_loop(node)) {
    fn(node, arg);
    return 0;
  }
  return rt_call_async(node, fn, arg);
}

nodus_proc *nodus_proc_lookup(nodus_node *node, const nodus_term *pid) {
  return node && pid ? rt_proc_by_pid(node, pid) : NULL;
}
