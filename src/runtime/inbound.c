/* What a peer's control messages do to local processes. Shapes and field
 * types were checked by the decoder (distribution/control.c), so handlers read
 * named fields; a message that names no local process is dropped as BEAM
 * drops it. */
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "runtime/node_internal.h"

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

/* A control tuple (built by distribution/control.c, rc its result) back to the
 * peer, or a log line when it could not be built. */
static void reply(nodus_node *node, rt_peer *peer, int rc, nodus_term ctl,
                  const char *what) {
  if (rc) {
    rt_log(node, NODUS_LOG_ERROR, "dist", "out of memory: %s to %s lost",
           what, nodus_atom_text(peer->name, NULL));
    return;
  }
  rt_peer_send(node, peer->name, ctl, (nodus_term){0});
}

/* SEND*, REG_SEND*, ALIAS_SEND*: the payload goes to the process. */
static void on_send(nodus_node *node, rt_peer *peer, dist_ctl_msg *m) {
  const struct dist_ctl_send *s = &m->send;
  assert(dist_ctl_has_payload(m->op) && s->to);
  nodus_proc *p = s->to->type == NODUS_T_REF ? rt_alias_owner(node, s->to)
                                             : local_proc(node, s->to);
  if (p) {
    rt_deliver(p, m->payload);
    m->payload = (nodus_term){0};
  } else if (s->to->type == NODUS_T_ATOM) {
    note_unknown_name(node, peer, s->to);
  }
}

static void on_link(nodus_node *node, rt_peer *peer, const dist_ctl_msg *m) {
  assert(m->op == CTL_LINK);
  const struct dist_ctl_link *l = &m->link;
  nodus_proc *p = rt_proc_by_pid(node, l->to);
  if (p && !p->exiting) {
    rt_link_add(p, l->from);
    return;
  }
  /* Linking to a process that is gone: it answers with noproc. */
  nodus_term ctl, payload, noproc = rt_atom("noproc");
  int rc = dist_ctl_exit(&ctl, &payload, 0, true, l->to, l->from, &noproc);
  assert(payload.type == NODUS_T_NONE);
  reply(node, peer, rc, ctl, "noproc exit");
}

static void on_unlink(nodus_node *node, const dist_ctl_msg *m) {
  assert(m->op == CTL_UNLINK);
  nodus_proc *p = rt_proc_by_pid(node, m->link.to);
  if (p) rt_link_remove(p, m->link.from);
}

static void on_unlink_id(nodus_node *node, rt_peer *peer,
                         const dist_ctl_msg *m) {
  assert(m->op == CTL_UNLINK_ID);
  const struct dist_ctl_unlink_id *u = &m->unlink_id;
  nodus_proc *p = rt_proc_by_pid(node, u->to);
  if (p) {
    rt_link *l = rt_link_find(p, u->from);
    if (l && !l->unlinking) rt_link_remove(p, u->from);
  }
  nodus_term ctl;
  int rc = dist_ctl_unlink_id_ack(&ctl, u->id, u->to, u->from);
  reply(node, peer, rc, ctl, "UNLINK_ID_ACK");
}

static void on_unlink_ack(nodus_node *node, const dist_ctl_msg *m) {
  assert(m->op == CTL_UNLINK_ID_ACK);
  const struct dist_ctl_unlink_id *u = &m->unlink_id;
  nodus_proc *p = rt_proc_by_pid(node, u->to);
  if (!p) return;
  rt_link *l = rt_link_find(p, u->from);
  if (l && l->unlinking == u->id) rt_link_remove(p, u->from);
}

static void on_exit_signal(nodus_node *node, const dist_ctl_msg *m) {
  const struct dist_ctl_exit *x = &m->exit;
  assert(x->reason && (x->payload == (x->reason == &m->payload)));
  nodus_proc *p = rt_proc_by_pid(node, x->to);
  if (p) rt_exit_signal_local(p, x->from, x->reason, x->link);
}

static void on_monitor(nodus_node *node, rt_peer *peer,
                       const dist_ctl_msg *m) {
  assert(m->op == CTL_MONITOR_P);
  const struct dist_ctl_monitor *mon = &m->monitor;
  nodus_proc *p = local_proc(node, mon->to);
  if (!p || p->exiting) {
    nodus_term ctl, payload, noproc = rt_atom("noproc");
    /* Not the payload form: BEAM answers this one in the tuple too. */
    int rc = dist_ctl_monitor_exit(&ctl, &payload, 0, mon->to, mon->from,
                                   mon->ref, &noproc);
    reply(node, peer, rc, ctl, "noproc monitor exit");
    return;
  }
  rt_monitor *r = calloc(1, sizeof *r);
  if (!r || nodus_copy(&r->ref, mon->ref) || nodus_copy(&r->other, mon->from)) {
    if (r) rt_monitor_free(r);
    return;
  }
  r->node = peer->name;
  r->by_name = mon->to->type == NODUS_T_ATOM;
  r->name = r->by_name ? mon->to->v.atom : NODUS_ATOM_EMPTY;
  r->next = p->mons_in;
  p->mons_in = r;
}

static void on_demonitor(nodus_node *node, const dist_ctl_msg *m) {
  assert(m->op == CTL_DEMONITOR_P);
  nodus_proc *p = local_proc(node, m->monitor.to);
  if (!p) return;
  rt_monitor *r = rt_monitor_take(&p->mons_in, m->monitor.ref);
  if (r) rt_monitor_free(r);
}

static void on_monitor_exit(nodus_node *node, const dist_ctl_msg *m) {
  const struct dist_ctl_monitor_exit *x = &m->monitor_exit;
  assert(x->reason && (x->payload == (x->reason == &m->payload)));
  nodus_proc *w = rt_proc_by_pid(node, x->to);
  if (!w) return;
  rt_monitor *r = rt_monitor_take(&w->mons_out, x->ref);
  if (!r) return;
  nodus_term subject = r->by_name ? rt_tuple(2, nodus_atom_term(r->name),
                                             nodus_atom_term(r->node))
                                  : rt_copy(x->from);
  rt_down_message(w, x->ref, &subject, x->reason);
  nodus_term_free(&subject);
  rt_monitor_free(r);
}

void rt_dispatch(nodus_node *node, rt_peer *peer, dist_ctl_msg *m) {
  RT_ASSERT_LOOP(node);
  switch (m->op) {
    case CTL_SEND:
    case CTL_SEND_TT:
    case CTL_SEND_SENDER:
    case CTL_SEND_SENDER_TT:
    case CTL_REG_SEND:
    case CTL_REG_SEND_TT:
    case CTL_ALIAS_SEND:
    case CTL_ALIAS_SEND_TT: on_send(node, peer, m); break;
    case CTL_LINK: on_link(node, peer, m); break;
    case CTL_UNLINK: on_unlink(node, m); break;
    case CTL_UNLINK_ID: on_unlink_id(node, peer, m); break;
    case CTL_UNLINK_ID_ACK: on_unlink_ack(node, m); break;
    case CTL_EXIT:
    case CTL_EXIT_TT:
    case CTL_PAYLOAD_EXIT:
    case CTL_PAYLOAD_EXIT_TT:
    case CTL_EXIT2:
    case CTL_EXIT2_TT:
    case CTL_PAYLOAD_EXIT2:
    case CTL_PAYLOAD_EXIT2_TT: on_exit_signal(node, m); break;
    case CTL_MONITOR_P: on_monitor(node, peer, m); break;
    case CTL_DEMONITOR_P: on_demonitor(node, m); break;
    case CTL_MONITOR_P_EXIT:
    case CTL_PAYLOAD_MONITOR_P_EXIT: on_monitor_exit(node, m); break;
    case CTL_SPAWN_REQUEST:
    case CTL_SPAWN_REQUEST_TT: rt_spawn_request(node, peer, m); break;
    case CTL_SPAWN_REPLY:
    case CTL_SPAWN_REPLY_TT: rt_spawn_reply(node, peer, m); break;
    default: break; /* GROUP_LEADER, NODE_LINK: nothing to do */
  }
}
