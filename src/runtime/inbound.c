/* What a peer's control messages do to local processes. Shapes were
 * checked by dist_ctl_decode (arity); types are checked here, and a
 * message that names no local process is dropped as BEAM drops it. */
#include <stdlib.h>
#include <string.h>

#include "dist/control.h"
#include "runtime/node_internal.h"

static const nodus_term *el(const dist_ctl_msg *m, size_t i) {
  return &m->control.v.items[i];
}

static nodus_proc *local_proc(nodus_node *node, const nodus_term *to) {
  if (to->type == NODUS_T_PID) return rt_proc_by_pid(node, to);
  if (to->type == NODUS_T_ATOM) return rt_proc_by_name(node, to->v.atom);
  return NULL;
}

static void note_unknown_name(nodus_node *node, rt_peer *peer,
                              const nodus_term *name) {
  /* BEAM's services talk to every visible node; until ours exist, say so
   * once per kind and move on. */
  static const char *const known[] = {"global_name_server", "pg", NULL};
  unsigned kind = 1u << 1;
  for (int i = 0; known[i]; i++)
    if (nodus_is_atom(name, known[i])) kind = 1u << (2 + i);
  if (rt_log_once(node, kind)) {
    char *text = NULL;
    nodus_print(name, NULL, &text, NULL);
    rt_log(node, NODUS_LOG_INFO, "dist",
           "%s sent to %s, which is not registered here; dropped (logged once)",
           nodus_atom_text(peer->name, NULL), text ? text : "?");
    free(text);
  }
}

static void deliver_send(nodus_node *node, rt_peer *peer, const nodus_term *to,
                         dist_ctl_msg *m) {
  nodus_proc *p = local_proc(node, to);
  if (p) {
    rt_deliver(p, m->payload);
    m->payload = (nodus_term){0};
  } else if (to->type == NODUS_T_ATOM) {
    note_unknown_name(node, peer, to);
  }
}

static void on_link(nodus_node *node, rt_peer *peer, const nodus_term *from,
                    const nodus_term *to) {
  if (from->type != NODUS_T_PID || to->type != NODUS_T_PID) return;
  nodus_proc *p = rt_proc_by_pid(node, to);
  if (p && !p->exiting) {
    rt_link_add(p, from);
    return;
  }
  /* Linking to a process that is gone: it answers with noproc. */
  rt_peer_send(node, peer->name,
               rt_tuple(4, nodus_int(CTL_EXIT), rt_copy(to), rt_copy(from),
                        rt_atom("noproc")),
               (nodus_term){0});
}

static void on_unlink_id(nodus_node *node, rt_peer *peer, const nodus_term *id,
                         const nodus_term *from, const nodus_term *to) {
  nodus_proc *p = rt_proc_by_pid(node, to);
  if (p) {
    rt_link *l = rt_link_find(p, from);
    if (l && !l->unlinking) rt_link_remove(p, from);
  }
  rt_peer_send(node, peer->name,
               rt_tuple(4, nodus_int(CTL_UNLINK_ID_ACK), rt_copy(id),
                        rt_copy(to), rt_copy(from)),
               (nodus_term){0});
}

static void on_unlink_ack(nodus_node *node, const nodus_term *id,
                          const nodus_term *from, const nodus_term *to) {
  nodus_proc *p = rt_proc_by_pid(node, to);
  if (!p || id->type != NODUS_T_INT) return;
  rt_link *l = rt_link_find(p, from);
  if (l && l->unlinking == (uint64_t)id->v.i) rt_link_remove(p, from);
}

static void on_exit_signal(nodus_node *node, const nodus_term *from,
                           const nodus_term *to, const nodus_term *reason,
                           bool from_link) {
  nodus_proc *p = rt_proc_by_pid(node, to);
  if (p) rt_exit_signal_local(p, from, reason, from_link);
}

static void on_monitor(nodus_node *node, rt_peer *peer, const nodus_term *from,
                       const nodus_term *target, const nodus_term *ref) {
  if (from->type != NODUS_T_PID || ref->type != NODUS_T_REF) return;
  nodus_proc *p = local_proc(node, target);
  if (!p || p->exiting) {
    rt_peer_send(node, peer->name,
                 rt_tuple(5, nodus_int(CTL_MONITOR_P_EXIT), rt_copy(target),
                          rt_copy(from), rt_copy(ref), rt_atom("noproc")),
                 (nodus_term){0});
    return;
  }
  rt_monitor *m = calloc(1, sizeof *m);
  if (!m || nodus_copy(&m->ref, ref) || nodus_copy(&m->other, from)) {
    if (m) rt_monitor_free(m);
    return;
  }
  m->node = peer->name;
  m->by_name = target->type == NODUS_T_ATOM;
  m->name = m->by_name ? target->v.atom : NODUS_ATOM_EMPTY;
  m->next = p->mons_in;
  p->mons_in = m;
}

static void on_demonitor(nodus_node *node, const nodus_term *target,
                         const nodus_term *ref) {
  nodus_proc *p = local_proc(node, target);
  if (!p) return;
  rt_monitor *m = rt_monitor_take(&p->mons_in, ref);
  if (m) rt_monitor_free(m);
}

static void on_monitor_exit(nodus_node *node, const nodus_term *what,
                            const nodus_term *to, const nodus_term *ref,
                            const nodus_term *reason) {
  nodus_proc *w = rt_proc_by_pid(node, to);
  if (!w) return;
  rt_monitor *m = rt_monitor_take(&w->mons_out, ref);
  if (!m) return;
  nodus_term subject = m->by_name ? rt_tuple(2, nodus_atom_term(m->name),
                                             nodus_atom_term(m->node))
                                  : rt_copy(what);
  rt_down_message(w, ref, &subject, reason);
  nodus_term_free(&subject);
  rt_monitor_free(m);
}

void rt_dispatch(nodus_node *node, rt_peer *peer, dist_ctl_msg *m) {
  switch (m->op) {
    case CTL_SEND:
    case CTL_SEND_TT:
    case CTL_SEND_SENDER:
    case CTL_SEND_SENDER_TT: deliver_send(node, peer, el(m, 2), m); break;
    case CTL_REG_SEND:
    case CTL_REG_SEND_TT: deliver_send(node, peer, el(m, 3), m); break;
    case CTL_ALIAS_SEND:
    case CTL_ALIAS_SEND_TT: {
      nodus_proc *p = el(m, 2)->type == NODUS_T_REF
                          ? rt_alias_owner(node, el(m, 2)) : NULL;
      if (p) {
        rt_deliver(p, m->payload);
        m->payload = (nodus_term){0};
      }
      break;
    }
    case CTL_LINK: on_link(node, peer, el(m, 1), el(m, 2)); break;
    case CTL_UNLINK: {
      nodus_proc *p = rt_proc_by_pid(node, el(m, 2));
      if (p) rt_link_remove(p, el(m, 1));
      break;
    }
    case CTL_UNLINK_ID:
      on_unlink_id(node, peer, el(m, 1), el(m, 2), el(m, 3));
      break;
    case CTL_UNLINK_ID_ACK: on_unlink_ack(node, el(m, 1), el(m, 2), el(m, 3)); break;
    case CTL_EXIT: on_exit_signal(node, el(m, 1), el(m, 2), el(m, 3), true); break;
    case CTL_EXIT_TT: on_exit_signal(node, el(m, 1), el(m, 2), el(m, 4), true); break;
    case CTL_PAYLOAD_EXIT:
    case CTL_PAYLOAD_EXIT_TT:
      on_exit_signal(node, el(m, 1), el(m, 2), &m->payload, true);
      break;
    case CTL_EXIT2: on_exit_signal(node, el(m, 1), el(m, 2), el(m, 3), false); break;
    case CTL_EXIT2_TT: on_exit_signal(node, el(m, 1), el(m, 2), el(m, 4), false); break;
    case CTL_PAYLOAD_EXIT2:
    case CTL_PAYLOAD_EXIT2_TT:
      on_exit_signal(node, el(m, 1), el(m, 2), &m->payload, false);
      break;
    case CTL_MONITOR_P: on_monitor(node, peer, el(m, 1), el(m, 2), el(m, 3)); break;
    case CTL_DEMONITOR_P: on_demonitor(node, el(m, 2), el(m, 3)); break;
    case CTL_MONITOR_P_EXIT:
      on_monitor_exit(node, el(m, 1), el(m, 2), el(m, 3), el(m, 4));
      break;
    case CTL_PAYLOAD_MONITOR_P_EXIT:
      on_monitor_exit(node, el(m, 1), el(m, 2), el(m, 3), &m->payload);
      break;
    case CTL_SPAWN_REQUEST:
    case CTL_SPAWN_REQUEST_TT: rt_spawn_request(node, peer, m); break;
    case CTL_SPAWN_REPLY:
    case CTL_SPAWN_REPLY_TT: rt_spawn_reply(node, peer, m); break;
    default: break; /* GROUP_LEADER, NODE_LINK: nothing to do */
  }
}
