/* Links, monitors and exit signals, local and across nodes, with Erlang's
 * semantics: exit signals from links kill unless trapped (normal is
 * ignored), exit/2 with kill can't be trapped, monitors give one DOWN, and
 * a lost node is noconnection for everything that pointed at it. */
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "runtime/global_hook.h"
#include "runtime/node_internal.h"

static bool is_atom(const nodus_term *t, const char *name) {
  return nodus_is_atom(t, name);
}

/* ---- links ------------------------------------------------------------- */

rt_link *rt_link_find(nodus_proc *p, const nodus_term *pid) {
  for (rt_link *l = p->links; l; l = l->next)
    if (nodus_equal(&l->pid, pid)) return l;
  return NULL;
}

void rt_link_add(nodus_proc *p, const nodus_term *pid) {
  RT_ASSERT_LOOP(p->node);
  rt_link *l = rt_link_find(p, pid);
  if (l) {
    l->unlinking = 0; /* a new link supersedes an unlink in progress */
    return;
  }
  l = calloc(1, sizeof *l);
  if (!l || nodus_copy(&l->pid, pid)) {
    free(l);
    rt_log(p->node, NODUS_LOG_ERROR, "link", "out of memory: link lost");
    return;
  }
  l->next = p->links;
  p->links = l;
}

bool rt_link_remove(nodus_proc *p, const nodus_term *pid) {
  RT_ASSERT_LOOP(p->node);
  for (rt_link **lp = &p->links; *lp; lp = &(*lp)->next) {
    if (nodus_equal(&(*lp)->pid, pid)) {
      rt_link *l = *lp;
      *lp = l->next;
      nodus_term_free(&l->pid);
      free(l);
      return true;
    }
  }
  return false;
}

/* ---- exit signals ------------------------------------------------------ */

static void deliver_exit_message(nodus_proc *to, const nodus_term *from,
                                 const nodus_term *reason) {
  rt_deliver(to, rt_tuple(3, rt_atom("EXIT"), rt_copy(from), rt_copy(reason)));
}

void rt_exit_signal_local(nodus_proc *to, const nodus_term *from,
                          const nodus_term *reason, bool from_link) {
  RT_ASSERT_LOOP(to->node);
  if (to->dead || to->exiting) return;
  if (from_link) {
    rt_link *l = rt_link_find(to, from);
    if (!l || l->unlinking) return; /* unlinked meanwhile: ignore */
    rt_link_remove(to, from);
    if (to->spec.trap_exit) deliver_exit_message(to, from, reason);
    else if (!is_atom(reason, "normal")) rt_proc_exit(to, reason);
    return;
  }
  if (is_atom(reason, "kill")) {
    nodus_term killed = rt_atom("killed");
    rt_proc_exit(to, &killed);
  } else if (to->spec.trap_exit) {
    deliver_exit_message(to, from, reason);
  } else if (!is_atom(reason, "normal") || nodus_equal(from, &to->pid)) {
    rt_proc_exit(to, reason);
  }
}

/* Sends an exit signal from `from` (a local pid) to a remote pid. */
static void remote_exit(nodus_node *node, const nodus_term *from,
                        const nodus_term *to, const nodus_term *reason,
                        bool from_link) {
  RT_ASSERT_LOOP(node);
  nodus_atom peer = rt_node_of(to);
  nodus_term ctl, payload;
  if (dist_ctl_exit(&ctl, &payload, rt_peer_flags(node, peer), from_link,
                    from, to, reason))
    rt_log(node, NODUS_LOG_ERROR, "link", "out of memory: exit signal lost");
  else
    rt_peer_send(node, peer, ctl, payload);
}

void rt_link_exit_remote(nodus_node *node, const nodus_term *from,
                         const nodus_term *to, const nodus_term *reason) {
  remote_exit(node, from, to, reason, true);
}

int nodus_exit_signal(nodus_proc *self, const nodus_term *pid,
                      const nodus_term *reason) {
  RT_ASSERT_LOOP(self->node);
  if (pid->type != NODUS_T_PID) return NODUS_EBADTYPE;
  nodus_node *node = self->node;
  if (rt_is_local_pid(node, pid)) {
    nodus_proc *to = rt_proc_by_pid(node, pid);
    if (to) rt_exit_signal_local(to, &self->pid, reason, false);
    return 0;
  }
  remote_exit(node, &self->pid, pid, reason, false);
  return 0;
}

int nodus_link(nodus_proc *self, const nodus_term *pid) {
  RT_ASSERT_LOOP(self->node);
  if (pid->type != NODUS_T_PID) return NODUS_EBADTYPE;
  nodus_node *node = self->node;
  if (nodus_equal(pid, &self->pid)) return 0;
  if (rt_is_local_pid(node, pid)) {
    nodus_proc *q = rt_proc_by_pid(node, pid);
    if (!q || q->exiting) {
      if (self->spec.trap_exit) {
        nodus_term noproc = rt_atom("noproc");
        deliver_exit_message(self, pid, &noproc);
        nodus_term_free(&noproc);
        return 0;
      }
      return NODUS_ENOPROC;
    }
    rt_link_add(self, pid);
    rt_link_add(q, &self->pid);
    return 0;
  }
  nodus_term ctl;
  int rc = dist_ctl_link(&ctl, &self->pid, pid);
  if (rc) return rc;
  rt_link_add(self, pid);
  return rt_peer_send(node, rt_node_of(pid), ctl, (nodus_term){0});
}

int nodus_unlink(nodus_proc *self, const nodus_term *pid) {
  RT_ASSERT_LOOP(self->node);
  if (pid->type != NODUS_T_PID) return NODUS_EBADTYPE;
  nodus_node *node = self->node;
  if (rt_is_local_pid(node, pid)) {
    rt_link_remove(self, pid);
    nodus_proc *q = rt_proc_by_pid(node, pid);
    if (q) rt_link_remove(q, &self->pid);
    return 0;
  }
  rt_link *l = rt_link_find(self, pid);
  if (!l || l->unlinking) return 0;
  nodus_atom peer = rt_node_of(pid);
  rt_peer *pr = rt_peer_get(node, peer, false);
  if (!pr || !dist_peer_up(pr->dist)) {
    rt_link_remove(self, pid);
    return 0;
  }
  nodus_term ctl;
  int rc = dist_ctl_unlink_id(&ctl, pr->next_unlink_id + 1, &self->pid, pid);
  if (rc) return rc;
  l->unlinking = ++pr->next_unlink_id;
  return rt_peer_send(node, peer, ctl, (nodus_term){0});
}

/* ---- monitors ---------------------------------------------------------- */

void rt_monitor_free(rt_monitor *m) {
  nodus_term_free(&m->ref);
  nodus_term_free(&m->other);
  free(m);
}

rt_monitor *rt_monitor_take(rt_monitor **list, const nodus_term *ref) {
  for (rt_monitor **mp = list; *mp; mp = &(*mp)->next) {
    if (nodus_equal(&(*mp)->ref, ref)) {
      rt_monitor *m = *mp;
      *mp = m->next;
      return m;
    }
  }
  return NULL;
}

static rt_monitor *monitor_new(const nodus_term *ref, const nodus_term *other,
                               nodus_atom node, bool by_name,
                               nodus_atom name) {
  rt_monitor *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  if (nodus_copy(&m->ref, ref) || nodus_copy(&m->other, other)) {
    rt_monitor_free(m);
    return NULL;
  }
  m->node = node;
  m->by_name = by_name;
  m->name = name;
  return m;
}

void rt_down_message(nodus_proc *watcher, const nodus_term *ref,
                     const nodus_term *what, const nodus_term *reason) {
  RT_ASSERT_LOOP(watcher->node);
  rt_deliver(watcher, rt_tuple(5, rt_atom("DOWN"), rt_copy(ref),
                               rt_atom("process"), rt_copy(what),
                               rt_copy(reason)));
}

/* What a DOWN message names: the pid, or {Name, Node} for name monitors. */
static nodus_term down_what(const rt_monitor *m) {
  if (m->by_name)
    return rt_tuple(2, nodus_atom_term(m->name), nodus_atom_term(m->node));
  return rt_copy(&m->other);
}

/* {global, Name}: the pid it names now, as gen:call monitors it; a name
 * nobody has gives DOWN noproc at once, as a local name does. */
static int monitor_global(nodus_proc *self, const nodus_term *target,
                          nodus_term *ref_out) {
  nodus_term pid;
  if (rt_resolve_global(self->node, target, &pid) == 0) {
    int rc = nodus_monitor(self, &pid, ref_out);
    nodus_term_free(&pid);
    return rc;
  }
  nodus_term ref, noproc = rt_atom("noproc");
  int rc = nodus_make_ref(self->node, &ref);
  if (rc) return rc;
  rt_down_message(self, &ref, target, &noproc);
  if (ref_out) *ref_out = ref;
  else nodus_term_free(&ref);
  return 0;
}

int nodus_monitor(nodus_proc *self, const nodus_term *target,
                  nodus_term *ref_out) {
  RT_ASSERT_LOOP(self->node);
  if (rt_is_global_name(target)) return monitor_global(self, target, ref_out);
  nodus_node *node = self->node;
  nodus_term ref;
  int rc = nodus_make_ref(node, &ref);
  if (rc) return rc;
  nodus_atom name = NODUS_ATOM_EMPTY, where = node->name;
  bool by_name = false;
  const nodus_term *pid = NULL;
  if (target->type == NODUS_T_PID) {
    pid = target;
    where = rt_node_of(target);
  } else if (target->type == NODUS_T_ATOM) {
    by_name = true;
    name = target->v.atom;
  } else if (target->type == NODUS_T_TUPLE && target->n == 2 &&
             target->v.items[0].type == NODUS_T_ATOM &&
             target->v.items[1].type == NODUS_T_ATOM) {
    by_name = true;
    name = target->v.items[0].v.atom;
    where = target->v.items[1].v.atom;
  } else {
    nodus_term_free(&ref);
    return NODUS_EBADTYPE;
  }
  nodus_term name_term = nodus_atom_term(name);
  const nodus_term *other = by_name ? &name_term : pid;
  rt_monitor *out = monitor_new(&ref, other, where, by_name, name);
  if (!out) {
    nodus_term_free(&ref);
    return NODUS_ENOMEM;
  }
  if (where == node->name) {
    nodus_proc *q = by_name ? rt_proc_by_name(node, name)
                            : rt_proc_by_pid(node, pid);
    if (!q || q->exiting) {
      nodus_term what = down_what(out), noproc = rt_atom("noproc");
      rt_down_message(self, &ref, &what, &noproc);
      nodus_term_free(&what);
      rt_monitor_free(out);
    } else {
      rt_monitor *in = monitor_new(&ref, &self->pid, node->name, by_name, name);
      if (!in) {
        rt_monitor_free(out);
        nodus_term_free(&ref);
        return NODUS_ENOMEM;
      }
      in->next = q->mons_in;
      q->mons_in = in;
      out->next = self->mons_out;
      self->mons_out = out;
    }
  } else {
    nodus_term ctl;
    if (dist_ctl_monitor(&ctl, &self->pid, other, &ref)) {
      rt_monitor_free(out);
      nodus_term_free(&ref);
      return NODUS_ENOMEM;
    }
    out->next = self->mons_out;
    self->mons_out = out;
    rt_peer_send(node, where, ctl, (nodus_term){0});
  }
  if (ref_out) *ref_out = ref;
  else nodus_term_free(&ref);
  return 0;
}

int nodus_demonitor(nodus_proc *self, const nodus_term *ref) {
  RT_ASSERT_LOOP(self->node);
  nodus_node *node = self->node;
  rt_monitor *m = rt_monitor_take(&self->mons_out, ref);
  if (!m) return 0;
  if (m->node == node->name) {
    nodus_proc *q = m->by_name ? rt_proc_by_name(node, m->name)
                               : rt_proc_by_pid(node, &m->other);
    if (q) {
      rt_monitor *in = rt_monitor_take(&q->mons_in, ref);
      if (in) rt_monitor_free(in);
    }
  } else {
    nodus_term ctl;
    if (dist_ctl_demonitor(&ctl, &self->pid, &m->other, ref))
      rt_log(node, NODUS_LOG_ERROR, "monitor", "out of memory: demonitor lost");
    else
      rt_peer_send(node, m->node, ctl, (nodus_term){0});
  }
  rt_monitor_free(m);
  return 0;
}

int nodus_monitor_node(nodus_proc *self, nodus_atom node_name, bool on) {
  RT_ASSERT_LOOP(self->node);
  if (!on) {
    for (rt_node_watch **wp = &self->node_watches; *wp; wp = &(*wp)->next) {
      if ((*wp)->node == node_name) {
        rt_node_watch *w = *wp;
        *wp = w->next;
        free(w);
        break;
      }
    }
    return 0;
  }
  rt_node_watch *w = calloc(1, sizeof *w);
  if (!w) return NODUS_ENOMEM;
  w->node = node_name;
  w->next = self->node_watches;
  self->node_watches = w;
  if (node_name != NODUS_ATOM_EMPTY && node_name != self->node->name)
    rt_peer_get(self->node, node_name, true); /* nodedown if it fails */
  return 0;
}

/* ---- a process ends ---------------------------------------------------- */

void rt_proc_signal_exit(nodus_proc *p) {
  RT_ASSERT_LOOP(p->node);
  nodus_node *node = p->node;
  const nodus_term *reason = &p->exit_reason;
  rt_spawn_reqs_exit(p);
  while (p->links) {
    rt_link *l = p->links;
    p->links = l->next;
    if (!l->unlinking) {
      if (rt_is_local_pid(node, &l->pid)) {
        nodus_proc *q = rt_proc_by_pid(node, &l->pid);
        if (q) rt_exit_signal_local(q, &p->pid, reason, true);
      } else {
        remote_exit(node, &p->pid, &l->pid, reason, true);
      }
    }
    nodus_term_free(&l->pid);
    free(l);
  }
  while (p->mons_in) {
    rt_monitor *m = p->mons_in;
    p->mons_in = m->next;
    if (m->node == node->name) {
      nodus_proc *w = rt_proc_by_pid(node, &m->other);
      if (w) {
        rt_monitor *out = rt_monitor_take(&w->mons_out, &m->ref);
        if (out) {
          nodus_term what = out->by_name ? down_what(out) : rt_copy(&p->pid);
          rt_down_message(w, &m->ref, &what, reason);
          nodus_term_free(&what);
          rt_monitor_free(out);
        }
      }
    } else {
      /* The watched as the watcher named it: its name, or this pid. */
      nodus_term name = nodus_atom_term(m->name), ctl, payload;
      if (dist_ctl_monitor_exit(&ctl, &payload,
                                rt_peer_flags(node, m->node),
                                m->by_name ? &name : &p->pid, &m->other,
                                &m->ref, reason))
        rt_log(node, NODUS_LOG_ERROR, "monitor",
               "out of memory: DOWN to %s lost",
               nodus_atom_text(m->node, NULL));
      else
        rt_peer_send(node, m->node, ctl, payload);
    }
    rt_monitor_free(m);
  }
  while (p->mons_out) {
    rt_monitor *m = p->mons_out;
    nodus_term ref = rt_copy(&m->ref);
    nodus_demonitor(p, &ref);
    nodus_term_free(&ref);
  }
  while (p->node_watches) {
    rt_node_watch *w = p->node_watches;
    p->node_watches = w->next;
    free(w);
  }
  rt_node_events_proc_exit(p);
}

/* ---- nodes come and go -------------------------------------------------- */

/* Pid ids of every live process, so signals may end processes while we
 * walk them. */
static uint32_t *live_ids(nodus_node *node, size_t *n) {
  uint32_t *ids = malloc((node->procs.count + 1) * sizeof *ids);
  *n = 0;
  if (!ids) return NULL;
  for (size_t i = 0; i < node->procs.cap; i++) {
    nodus_proc *p = node->procs.slots[i].value;
    if (p && !p->dead) ids[(*n)++] = p->id;
  }
  return ids;
}

/* Copies the pid of p's first link to a process on `peer`. */
static bool next_link_to(nodus_proc *p, nodus_atom peer, nodus_term *pid) {
  for (rt_link *l = p->links; l; l = l->next)
    if (rt_node_of(&l->pid) == peer) return nodus_copy(pid, &l->pid) == 0;
  return false;
}

static void node_event(nodus_proc *p, nodus_atom peer, const char *what,
                       bool specific_only) {
  for (rt_node_watch *w = p->node_watches; w; w = w->next) {
    if (w->node == peer || (!specific_only && w->node == NODUS_ATOM_EMPTY))
      rt_deliver(p, rt_tuple(2, rt_atom(what), nodus_atom_term(peer)));
  }
}

void rt_node_down_signals(nodus_node *node, nodus_atom peer, bool was_up,
                          bool hidden, nodus_atom reason) {
  RT_ASSERT_LOOP(node);
  if (was_up)
    rt_node_events_emit(node, &(nodus_node_event){.node = peer,
                                                  .hidden = hidden,
                                                  .reason = reason});
  size_t n;
  uint32_t *ids = live_ids(node, &n);
  if (!ids) return;
  nodus_term noconnection = rt_atom("noconnection");
  for (size_t i = 0; i < n; i++) {
    nodus_proc *p = idmap_get(&node->procs, ids[i]);
    if (!p || p->dead || p->exiting) continue;
    node_event(p, peer, "nodedown", !was_up);
    rt_spawn_reqs_node_down(p, peer);
    for (rt_monitor **mp = &p->mons_in; *mp;) {
      if ((*mp)->node == peer) {
        rt_monitor *m = *mp;
        *mp = m->next;
        rt_monitor_free(m);
      } else {
        mp = &(*mp)->next;
      }
    }
    for (rt_monitor **mp = &p->mons_out; *mp;) {
      if ((*mp)->node == peer) {
        rt_monitor *m = *mp;
        *mp = m->next;
        nodus_term what = down_what(m);
        rt_down_message(p, &m->ref, &what, &noconnection);
        nodus_term_free(&what);
        rt_monitor_free(m);
      } else {
        mp = &(*mp)->next;
      }
    }
    /* Links last: each signal may end p (and free it), so look it up
     * again before every one. */
    nodus_term from;
    while ((p = idmap_get(&node->procs, ids[i])) && !p->dead && !p->exiting &&
           next_link_to(p, peer, &from)) {
      rt_link *l = rt_link_find(p, &from);
      if (l->unlinking) rt_link_remove(p, &from);
      else rt_exit_signal_local(p, &from, &noconnection, true);
      nodus_term_free(&from);
    }
  }
  free(ids);
}

void rt_node_up_signals(nodus_node *node, nodus_atom peer, bool hidden) {
  RT_ASSERT_LOOP(node);
  rt_node_events_emit(node, &(nodus_node_event){.node = peer,
                                                .up = true,
                                                .hidden = hidden,
                                                .reason = NODUS_ATOM_EMPTY});
  size_t n;
  uint32_t *ids = live_ids(node, &n);
  if (!ids) return;
  for (size_t i = 0; i < n; i++) {
    nodus_proc *p = idmap_get(&node->procs, ids[i]);
    if (p && !p->dead) node_event(p, peer, "nodeup", false);
  }
  free(ids);
}
