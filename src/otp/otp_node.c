/* Two of the otp layer's node services (nodus/service.h): rpc (the
 * per-node table of functions callable over rpc/erpc, and the rex server)
 * and erpc (spawn requests of erpc:execute_call/cast); introspect.c and
 * net_kernel.c have the others. The node starts them from its service
 * table; nothing here runs by being linked. */
#include <stdlib.h>
#include <string.h>

#include "nodus/service.h"
#include "otp/otp_internal.h"

otp_node *otp_node_of(nodus_node *node) {
  return nodus_node_service(node, &nodus_service_rpc);
}

static int rpc_start(nodus_node *node, void **state) {
  otp_node *on = calloc(1, sizeof *on);
  if (!on) return NODUS_ENOMEM;
  on->node = node;
  *state = on;
  return otp_rex_start(node, on);
}

static void rpc_stop(nodus_node *node, void *state) {
  otp_node *on = state;
  if (!on) return;
  while (on->fns) {
    otp_fn *f = on->fns;
    on->fns = f->next;
    free(f);
  }
  nodus_term_free(&on->rex_pid);
  free(on);
}

/* erpc serves functions from rpc's table. */
static int needs_rpc(nodus_node *node, const char *service) {
  if (otp_node_of(node)) return 0;
  nodus_log(node, NODUS_LOG_ERROR, "node",
            "service %s needs the rpc service before it in the table",
            service);
  return NODUS_ESTATE;
}

static int erpc_start(nodus_node *node, void **state) {
  int rc = needs_rpc(node, "erpc");
  return rc ? rc : otp_erpc_start(node);
}

const nodus_service nodus_service_rpc = {"rpc", rpc_start, rpc_stop};
const nodus_service nodus_service_erpc = {"erpc", erpc_start, NULL};

otp_fn *otp_find_fn(otp_node *on, nodus_atom module, nodus_atom function) {
  for (otp_fn *f = on ? on->fns : NULL; f; f = f->next)
    if (f->module == module && f->function == function) return f;
  return NULL;
}

struct reg_call {
  const char *module, *function;
  nodus_rpc_fn fn;
  void *arg;
  bool on_loop;
  int rc;
};

static void register_on_loop(nodus_node *node, void *arg) {
  struct reg_call *r = arg;
  otp_node *on = otp_node_of(node);
  nodus_atom m, f;
  if (!on) {
    r->rc = NODUS_ESTATE;
    return;
  }
  if ((r->rc = nodus_atom_intern(r->module, strlen(r->module), &m)) ||
      (r->rc = nodus_atom_intern(r->function, strlen(r->function), &f)))
    return;
  otp_fn *e = otp_find_fn(on, m, f); /* registering again replaces */
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) {
      r->rc = NODUS_ENOMEM;
      return;
    }
    e->module = m;
    e->function = f;
    e->next = on->fns;
    on->fns = e;
  }
  e->fn = r->fn;
  e->arg = r->arg;
  e->on_loop = r->on_loop;
}

int otp_register(nodus_node *node, const char *module, const char *function,
                 nodus_rpc_fn fn, void *arg, bool on_loop) {
  if (!node || !module || !function || !fn) return NODUS_EINVAL;
  struct reg_call r = {module, function, fn, arg, on_loop, 0};
  int rc = nodus_node_call(node, register_on_loop, &r);
  return rc ? rc : r.rc;
}

int nodus_register_function(nodus_node *node, const char *module,
                            const char *function, nodus_rpc_fn fn, void *arg) {
  return otp_register(node, module, function, fn, arg, false);
}

int nodus_register_function_on_loop(nodus_node *node, const char *module,
                                    const char *function, nodus_rpc_fn fn,
                                    void *arg) {
  return otp_register(node, module, function, fn, arg, true);
}

nodus_term otp_list1(nodus_term a) {
  nodus_term l;
  if (nodus_mk_list(&l, 1)) {
    nodus_term_free(&a);
    return nodus_nil();
  }
  nodus_list_set(&l, 0, a);
  return l;
}
