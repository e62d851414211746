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
 * The pg service adds nodus:pg_which_groups/1 and pg_get_members/2.
 * They run on the loop (the state they read lives there). */
#include <stdlib.h>

#include "otp/otp_internal.h"

static bool arity_is(const nodus_term *args, size_t n) {
  return n == 0 ? args->type == NODUS_T_NIL
                : args->type == NODUS_T_LIST && args->n == n;
}

/* A call with the wrong number of arguments is undef on BEAM too. */
static int wrong_arity(nodus_term *result) {
  *result = rt_atom("undef");
  return NODUS_EEXIT;
}

static int fn_nodes(nodus_node *node, const nodus_term *args,
                    nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  return nodus_node_list(node, result);
}

/* A list of the terms in items[0..n) (taken). */
static int make_list(nodus_term *items, size_t n, nodus_term *out) {
  if (n == 0) {
    *out = nodus_nil();
    return 0;
  }
  int rc = nodus_mk_list(out, n);
  for (size_t i = 0; i < n; i++) {
    if (rc) nodus_term_free(&items[i]);
    else nodus_list_set(out, i, items[i]);
  }
  return rc;
}

static int fn_registered(nodus_node *node, const nodus_term *args,
                         nodus_term *result, void *arg) {
  if (!arity_is(args, 0)) return wrong_arity(result);
  nodus_term *names = calloc(node->names.count + 1, sizeof *names);
  if (!names) return NODUS_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < node->names.cap; i++) {
    nodus_proc *p = node->names.slots[i].value;
    if (p && !p->dead && n < node->names.count)
      names[n++] = nodus_atom_term((nodus_atom)node->names.slots[i].key);
  }
  int rc = make_list(names, n, result);
  free(names);
  return rc;
}

static size_t count_links(const nodus_proc *p) {
  size_t n = 0;
  for (const rt_link *l = p->links; l; l = l->next) n += !l->unlinking;
  return n;
}

static size_t count_monitors(const nodus_proc *p) {
  size_t n = 0;
  for (const rt_monitor *m = p->mons_out; m; m = m->next) n++;
  return n;
}

static nodus_term links_of(const nodus_proc *p) {
  size_t n = count_links(p), i = 0;
  nodus_term l;
  if (!n || nodus_mk_list(&l, n)) return nodus_nil();
  for (const rt_link *k = p->links; k; k = k->next)
    if (!k->unlinking) nodus_list_set(&l, i++, rt_copy(&k->pid));
  return l;
}

/* {process, Pid} or {process, {Name, Node}}, as erlang:process_info. */
static nodus_term monitors_of(const nodus_proc *p) {
  size_t n = count_monitors(p), i = 0;
  nodus_term l;
  if (!n || nodus_mk_list(&l, n)) return nodus_nil();
  for (const rt_monitor *m = p->mons_out; m; m = m->next) {
    nodus_term what = m->by_name ? rt_tuple(2, nodus_atom_term(m->name),
                                            nodus_atom_term(m->node))
                                 : rt_copy(&m->other);
    nodus_list_set(&l, i++, rt_tuple(2, rt_atom("process"), what));
  }
  return l;
}

static int fn_process_info(nodus_node *node, const nodus_term *args,
                           nodus_term *result, void *arg) {
  if (!arity_is(args, 1)) return wrong_arity(result);
  const nodus_term *who = &args->v.items[0];
  nodus_proc *p = NULL;
  if (who->type == NODUS_T_PID) {
    if (!rt_is_local_pid(node, who)) return NODUS_EINVAL; /* badarg */
    p = rt_proc_by_pid(node, who);
  } else if (who->type == NODUS_T_ATOM) {
    p = rt_proc_by_name(node, who->v.atom);
  } else {
    return NODUS_EINVAL;
  }
  if (!p || p->exiting) {
    *result = rt_atom("undefined");
    return 0;
  }
  nodus_term items[6];
  items[0] = rt_tuple(2, rt_atom("registered_name"),
                      p->reg_name != NODUS_ATOM_EMPTY
                          ? nodus_atom_term(p->reg_name)
                          : nodus_nil());
  items[1] = rt_tuple(2, rt_atom("message_queue_len"),
                      nodus_int((int64_t)p->queue.len));
  items[2] = rt_tuple(2, rt_atom("links"), links_of(p));
  items[3] = rt_tuple(2, rt_atom("monitors"), monitors_of(p));
  items[4] = rt_tuple(2, rt_atom("status"),
                      rt_atom(p->running  ? "running"
                              : p->queued ? "runnable"
                                          : "waiting"));
  items[5] = rt_tuple(2, rt_atom("trap_exit"), nodus_bool(p->spec.trap_exit));
  return make_list(items, 6, result);
}

static int fn_empty(nodus_node *node, const nodus_term *args,
                    nodus_term *result, void *arg) {
  size_t want = (size_t)(uintptr_t)arg;
  if (!arity_is(args, want)) return wrong_arity(result);
  *result = nodus_nil();
  return 0;
}

int otp_introspect_start(nodus_node *node) {
  int rc = 0;
  if (!rc) rc = otp_register(node, "nodus", "nodes", fn_nodes, NULL, true);
  if (!rc)
    rc = otp_register(node, "nodus", "registered", fn_registered, NULL, true);
  if (!rc)
    rc = otp_register(node, "nodus", "process_info", fn_process_info, NULL,
                      true);
  if (!rc)
    rc = otp_register(node, "nodus", "global_names", fn_empty,
                      (void *)(uintptr_t)0, true);
  return rc;
}
