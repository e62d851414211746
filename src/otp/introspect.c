/* The nodus module every node answers over rpc/erpc, so tools (nodus
 * nodes/groups/observe, or rpc:call from a shell) can look inside a C
 * node the way they use erlang:processes/0 and friends on BEAM:
 *   nodus:nodes()                   connected nodes
 *   nodus:registered()              locally registered names
 *   nodus:process_info(PidOrName)   [{registered_name, N}, {message_queue_len,
 *                                   L}, {links, Ls}, {monitors, Ms}, {status,
 *                                   S}, {trap_exit, B}] or undefined
 *   nodus:global_names()            [] until a global service registers
 *                                   its own version.
 *   nodus:atom_count()              atoms in the table, as
 *                                   erlang:system_info(atom_count)
 *   nodus:atom_table()              #{count, limit, reserve, wire_refused}
 *                                   (nodus_atom_stats)
 * The pg service adds nodus:pg_which_groups/1 and pg_get_members/2.
 * They run on the loop (the state they read lives there), through the
 * public API only (nodus_registered, nodus_process_info, ...). */
#include "nodus.h"

static bool arity_is(const nodus_term *args, size_t n) {
  return n == 0 ? args->type == NODUS_T_NIL
                : args->type == NODUS_T_LIST && args->n == n;
}

/* A call with the wrong number of arguments is undef on BEAM too. */
static int wrong_arity(nodus_term *result) {
  (void)nodus_mk_atom(result, "undef");
  return NODUS_EEXIT;
}

static int fn_nodes(nodus_node *node, const nodus_term *args,
                    nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  return nodus_node_list(node, result);
}

static int fn_registered(nodus_node *node, const nodus_term *args,
                         nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  return nodus_registered(node, result);
}

static int fn_process_info(nodus_node *node, const nodus_term *args,
                           nodus_term *result, void *arg) {
  if (!arity_is(args, 1)) return wrong_arity(result);
  int rc = nodus_process_info(node, &args->v.items[0], result);
  if (rc == NODUS_ENOPROC) { /* as erlang:process_info/1 of a dead pid */
    *result = nodus_atom_term(NODUS_ATOM_UNDEFINED);
    return 0;
  }
  return rc;
}

static int fn_no_names(nodus_node *node, const nodus_term *args,
                       nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  *result = nodus_nil();
  return 0;
}

static int fn_atom_count(nodus_node *node, const nodus_term *args,
                         nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  return nodus_mk_uint64(result, nodus_atom_count());
}

static int fn_atom_table(nodus_node *node, const nodus_term *args,
                         nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  nodus_atom_table_stats st;
  nodus_atom_stats(&st);
  return nodus_build(result, "#{count => ~u, limit => ~u, reserve => ~u, "
                             "wire_refused => ~u}",
                     (uint64_t)st.count, (uint64_t)st.limit,
                     (uint64_t)st.reserve, st.wire_refused);
}

/* A node service; its functions live in the rpc service's table. */
static int introspect_start(nodus_node *node, void **state) {
  static const struct {
    const char *name;
    nodus_rpc_fn fn;
  } fns[] = {{"nodes", fn_nodes},
             {"registered", fn_registered},
             {"process_info", fn_process_info},
             {"global_names", fn_no_names},
             {"atom_count", fn_atom_count},
             {"atom_table", fn_atom_table}};
  for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
    int rc = nodus_register_function_on_loop(node, "nodus", fns[i].name,
                                             fns[i].fn, NULL);
    if (rc == NODUS_ESTATE)
      nodus_log(node, NODUS_LOG_ERROR, "node",
                "service introspect needs the rpc service before it");
    if (rc) return rc;
  }
  return 0;
}

const nodus_service nodus_service_introspect = {"introspect",
                                                introspect_start, NULL};
