/* The otp layer on every node: a runtime extension that gives each node
 * its rpc function table, replaces the runtime's minimal rex with the
 * full one, serves erpc's spawn requests and the nodus introspection
 * module. Linking any otp entry point links this file (each one asks for
 * otp_node_of), and its constructor registers the extension. */
#include <stdlib.h>
#include <string.h>

#include "otp/otp_internal.h"

static int otp_start(nodus_node *node, void **data);
static void otp_stop(nodus_node *node, void *data);

static const rt_extension otp_extension = {"otp", otp_start, otp_stop};
static int otp_slot = -1;

__attribute__((constructor)) static void otp_register_extension(void) {
  otp_slot = rt_extension_register(&otp_extension);
}

otp_node *otp_node_of(nodus_node *node) {
  return rt_extension_data(node, otp_slot);
}

static int otp_start(nodus_node *node, void **data) {
  otp_node *on = calloc(1, sizeof *on);
  if (!on) return NODUS_ENOMEM;
  on->node = node;
  *data = on;
  int rc = otp_rex_start(node, on);
  if (!rc) rc = otp_erpc_start(node);
  if (!rc) rc = otp_introspect_start(node);
  return rc;
}

static void otp_stop(nodus_node *node, void *data) {
  otp_node *on = data;
  while (on->fns) {
    otp_fn *f = on->fns;
    on->fns = f->next;
    free(f);
  }
  nodus_term_free(&on->rex_pid);
  free(on);
}

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
