/* Node events: net_kernel:monitor_nodes for processes, and the same
 * events as C callbacks, so programs (and the test kit) learn of nodeup
 * and nodedown with BEAM's reason instead of reading log lines.
 *
 * Each subscription is one entry, as each monitor_nodes(true, Opts) call
 * is one on BEAM; turning one off removes one entry with the same
 * options. A process's entries go when it exits. Callbacks run on the
 * loop thread and may unsubscribe (themselves or others) while events are
 * being sent: entries are only marked then, and swept afterwards. */
#include <stdlib.h>

#include "runtime/node_internal.h"

struct nodus_node_events {
  struct nodus_node_events *next;
  uint32_t proc_id; /* a process's subscription; 0 for a callback */
  unsigned flags;
  nodus_node_event_fn fn;
  void *arg;
  bool dead;
};

static void sweep(nodus_node *node) {
  if (node->node_events_emitting) return;
  for (nodus_node_events **sp = &node->node_events; *sp;) {
    nodus_node_events *s = *sp;
    if (s->dead) {
      *sp = s->next;
      free(s);
    } else {
      sp = &s->next;
    }
  }
}

static nodus_node_events *add(nodus_node *node, uint32_t proc_id,
                              unsigned flags, nodus_node_event_fn fn,
                              void *arg) {
  nodus_node_events *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  *s = (nodus_node_events){node->node_events, proc_id, flags, fn, arg, false};
  node->node_events = s;
  return s;
}

int nodus_monitor_nodes(nodus_proc *self, unsigned flags, bool on) {
  if (!self ||
      (flags & ~(NODUS_NODES_REASON | NODUS_NODES_ALL | NODUS_NODES_DISCOVERY)))
    return NODUS_EINVAL;
  nodus_node *node = self->node;
  RT_ASSERT_LOOP(node);
  if (on) return add(node, self->id, flags, NULL, NULL) ? 0 : NODUS_ENOMEM;
  for (nodus_node_events *s = node->node_events; s; s = s->next) {
    if (!s->dead && s->proc_id == self->id && s->flags == flags) {
      s->dead = true;
      break;
    }
  }
  sweep(node);
  return 0;
}

struct subscribe_call {
  unsigned flags;
  nodus_node_event_fn fn;
  void *arg;
  nodus_node_events *sub;
};

static void subscribe_on_loop(nodus_node *node, void *arg) {
  struct subscribe_call *c = arg;
  c->sub = add(node, 0, c->flags, c->fn, c->arg);
}

int nodus_node_events_subscribe(nodus_node *node, unsigned flags,
                                nodus_node_event_fn fn, void *arg,
                                nodus_node_events **sub) {
  if (!node || !fn || !sub ||
      (flags & ~(NODUS_NODES_ALL | NODUS_NODES_DISCOVERY)))
    return NODUS_EINVAL;
  struct subscribe_call c = {flags, fn, arg, NULL};
  int rc = nodus_node_call(node, subscribe_on_loop, &c);
  if (rc) return rc;
  if (!c.sub) return NODUS_ENOMEM;
  *sub = c.sub;
  return 0;
}

static void unsubscribe_on_loop(nodus_node *node, void *arg) {
  for (nodus_node_events *s = node->node_events; s; s = s->next)
    if (s == arg) s->dead = true;
  sweep(node);
}

void nodus_node_events_unsubscribe(nodus_node *node, nodus_node_events *sub) {
  if (node && sub) (void)nodus_node_call(node, unsubscribe_on_loop, sub);
}

void rt_node_events_proc_exit(nodus_proc *p) {
  for (nodus_node_events *s = p->node->node_events; s; s = s->next)
    if (s->proc_id == p->id) s->dead = true;
  sweep(p->node);
}

/* {nodeup, Node, Info} / {nodedown, Node, Info}; Info lists the
 * nodedown_reason before the node_type, as BEAM's does. */
static nodus_term event_message(const nodus_node_event *ev, unsigned flags) {
  nodus_term info[2];
  size_t n = 0;
  if (!ev->up && (flags & NODUS_NODES_REASON))
    info[n++] = rt_tuple(2, rt_atom("nodedown_reason"),
                         nodus_atom_term(ev->reason));
  if (flags & NODUS_NODES_ALL)
    info[n++] = rt_tuple(2, rt_atom("node_type"),
                         rt_atom(ev->hidden ? "hidden" : "visible"));
  nodus_term list = nodus_nil();
  if (n && nodus_mk_list(&list, n) == 0)
    for (size_t i = 0; i < n; i++) nodus_list_set(&list, i, info[i]);
  else
    for (size_t i = 0; i < n; i++) nodus_term_free(&info[i]);
  return rt_tuple(3, rt_atom(ev->up ? "nodeup" : "nodedown"),
                  nodus_atom_term(ev->node), list);
}

void rt_node_events_emit(nodus_node *node, const nodus_node_event *ev) {
  RT_ASSERT_LOOP(node);
  node->node_events_emitting = true;
  for (nodus_node_events *s = node->node_events; s; s = s->next) {
    if (s->dead || (ev->hidden && !(s->flags & NODUS_NODES_ALL))) continue;
    if (s->fn) {
      s->fn(node, ev, s->arg);
    } else {
      nodus_proc *p = idmap_get(&node->procs, s->proc_id);
      if (p && !p->dead && !p->exiting) rt_deliver(p, event_message(ev, s->flags));
    }
  }
  node->node_events_emitting = false;
  sweep(node);
}

void rt_node_events_emit_discovery(nodus_node *node, const nodus_node_event *ev,
                                   nodus_term msg) {
  RT_ASSERT_LOOP(node);
  node->node_events_emitting = true;
  for (nodus_node_events *s = node->node_events; s; s = s->next) {
    if (s->dead || !(s->flags & NODUS_NODES_DISCOVERY)) continue;
    if (s->fn) {
      s->fn(node, ev, s->arg);
    } else {
      nodus_proc *p = idmap_get(&node->procs, s->proc_id);
      if (p && !p->dead && !p->exiting) rt_deliver(p, rt_copy(&msg));
    }
  }
  node->node_events_emitting = false;
  nodus_term_free(&msg);
  sweep(node);
}

void rt_node_events_close(nodus_node *node) {
  while (node->node_events) {
    nodus_node_events *s = node->node_events;
    node->node_events = s->next;
    free(s);
  }
}
