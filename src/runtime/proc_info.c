/* What erlang:registered/0 and erlang:process_info/1 tell of a BEAM
 * process, for C processes: the runtime's state, read on the loop. */
#include <stdlib.h>

#include "runtime/node_internal.h"

struct info_call {
  const nodus_term *who;
  nodus_term *out;
  int rc;
};

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

static void registered_on_loop(nodus_node *node, void *arg) {
  struct info_call *c = arg;
  nodus_term *result = c->out;
  nodus_term *names = calloc(node->names.count + 1, sizeof *names);
  if (!names) {
    c->rc = NODUS_ENOMEM;
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < node->names.cap; i++) {
    nodus_proc *p = node->names.slots[i].value;
    if (p && !p->dead && n < node->names.count)
      names[n++] = nodus_atom_term((nodus_atom)node->names.slots[i].key);
  }
  c->rc = make_list(names, n, result);
  free(names);
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

static int process_info(nodus_node *node, const nodus_term *who,
                        nodus_term *result) {
  nodus_proc *p = NULL;
  if (who->type == NODUS_T_PID) {
    if (!rt_is_local_pid(node, who)) return NODUS_EINVAL; /* badarg */
    p = rt_proc_by_pid(node, who);
  } else if (who->type == NODUS_T_ATOM) {
    p = rt_proc_by_name(node, who->v.atom);
  } else {
    return NODUS_EINVAL;
  }
  if (!p || p->exiting) return NODUS_ENOPROC;
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

static void process_info_on_loop(nodus_node *node, void *arg) {
  struct info_call *c = arg;
  c->rc = process_info(node, c->who, c->out);
}

static int on_loop(nodus_node *node, nodus_loop_fn fn, struct info_call *c) {
  if (!node || !c->out) return NODUS_EINVAL;
  c->rc = NODUS_ESTATE;
  int rc = nodus_node_call(node, fn, c);
  return rc ? rc : c->rc;
}

int nodus_registered(nodus_node *node, nodus_term *names) {
  struct info_call c = {NULL, names, 0};
  return on_loop(node, registered_on_loop, &c);
}

int nodus_process_info(nodus_node *node, const nodus_term *pid_or_name,
                       nodus_term *info) {
  if (!pid_or_name) return NODUS_EINVAL;
  struct info_call c = {pid_or_name, info, 0};
  return on_loop(node, process_info_on_loop, &c);
}
