/* Routing a message to a pid, a name, {Name, Node} or an alias. */
#include <stdlib.h>

#include "distribution/control.h"
#include "runtime/global_hook.h"
#include "runtime/node_internal.h"

static int send_remote_pid(nodus_node *node, nodus_proc *from,
                           const nodus_term *to, nodus_term msg) {
  nodus_atom peer = rt_node_of(to);
  if (from) { /* a stream from a process: see ctlcache.c */
    rt_peer *p = rt_peer_get(node, peer, false);
    int rc = p ? rt_ctlcache_send(p, &from->pid, to, &msg) : 0;
    if (rc) return rc < 0 ? rc : 0;
  }
  nodus_term ctl;
  int rc = dist_ctl_send(&ctl, rt_peer_flags(node, peer),
                         from ? &from->pid : NULL, to);
  if (rc) {
    nodus_term_free(&msg);
    return rc;
  }
  return rt_peer_send(node, peer, ctl, msg);
}

static int send_to_name(nodus_node *node, nodus_proc *from, nodus_atom name,
                        nodus_atom where, nodus_term msg) {
  if (where == node->name) {
    nodus_proc *p = rt_proc_by_name(node, name);
    if (p) rt_deliver(p, msg);
    else nodus_term_free(&msg); /* as erlang:send/2 to {Name, node()} */
    return 0;
  }
  nodus_proc *sender = from ? from : node->sys;
  nodus_term ctl;
  int rc = dist_ctl_reg_send(&ctl, &sender->pid, name);
  if (rc) {
    nodus_term_free(&msg);
    return rc;
  }
  return rt_peer_send(node, where, ctl, msg);
}

/* {global, Name}: to the pid the global service has for it. */
static int send_global(nodus_node *node, nodus_proc *from,
                       const nodus_term *to, nodus_term msg) {
  nodus_term pid;
  int rc = rt_resolve_global(node, to, &pid);
  if (rc) {
    nodus_term_free(&msg);
    return rc; /* global:send/2 exits badarg here */
  }
  rc = from ? rt_send(node, from, &pid, msg) : nodus_send(node, &pid, msg);
  nodus_term_free(&pid);
  return rc;
}

int rt_send(nodus_node *node, nodus_proc *from, const nodus_term *to,
            nodus_term msg) {
  RT_ASSERT_LOOP(node);
  if (rt_is_global_name(to)) return send_global(node, from, to, msg);
  switch (to->type) {
    case NODUS_T_PID:
      if (rt_is_local_pid(node, to)) {
        nodus_proc *p = rt_proc_by_pid(node, to);
        if (p) rt_deliver(p, msg);
        else nodus_term_free(&msg);
        return 0;
      }
      return send_remote_pid(node, from, to, msg);
    case NODUS_T_ATOM: {
      nodus_proc *p = rt_proc_by_name(node, to->v.atom);
      if (!p) {
        nodus_term_free(&msg);
        return NODUS_ENOPROC; /* erlang:send/2 raises badarg here */
      }
      rt_deliver(p, msg);
      return 0;
    }
    case NODUS_T_TUPLE:
      if (to->n == 2 && to->v.items[0].type == NODUS_T_ATOM &&
          to->v.items[1].type == NODUS_T_ATOM)
        return send_to_name(node, from, to->v.items[0].v.atom,
                            to->v.items[1].v.atom, msg);
      break;
    case NODUS_T_REF:
      if (rt_is_local_ref(node, to)) {
        nodus_proc *p = rt_alias_owner(node, to);
        if (p) rt_deliver(p, msg);
        else nodus_term_free(&msg); /* a dead alias drops, as in Erlang */
        return 0;
      } else {
        nodus_proc *sender = from ? from : node->sys;
        nodus_term ctl;
        int rc = dist_ctl_alias_send(&ctl, &sender->pid, to);
        if (rc) {
          nodus_term_free(&msg);
          return rc;
        }
        return rt_peer_send(node, rt_node_of(to), ctl, msg);
      }
    default: break;
  }
  nodus_term_free(&msg);
  return NODUS_EBADTYPE;
}

struct send_job {
  nodus_term to, msg;
};

/* A message that could not go (a node that can't be reached, a term that
 * can't be encoded) is dropped as erlang:send/2 drops it; say so. */
static int send_dropping(nodus_node *node, const nodus_term *to,
                         nodus_term msg) {
  int rc = rt_send(node, NULL, to, msg);
  if (rc == 0 || rc == NODUS_ENOPROC) return rc;
  char *text = NULL;
  nodus_print(to, NULL, &text, NULL);
  rt_log(node, NODUS_LOG_WARN, "send", "message to %s dropped: %s",
         text ? text : "?", nodus_strerror(rc));
  free(text);
  return 0;
}

static void send_on_loop(nodus_node *node, void *arg) {
  struct send_job *j = arg;
  (void)send_dropping(node, &j->to, j->msg);
  nodus_term_free(&j->to);
  free(j);
}

/* The shapes rt_send routes; anything else is NODUS_EBADTYPE. */
static bool is_destination(const nodus_term *to) {
  switch (to->type) {
    case NODUS_T_PID:
    case NODUS_T_ATOM:
    case NODUS_T_REF: return true;
    case NODUS_T_TUPLE:
      return to->n == 2 && to->v.items[0].type == NODUS_T_ATOM &&
             to->v.items[1].type == NODUS_T_ATOM;
    default: return false;
  }
}

struct name_send {
  const nodus_term *to;
  nodus_term msg;
  int rc;
};

static void name_send_on_loop(nodus_node *node, void *arg) {
  struct name_send *c = arg;
  c->rc = send_dropping(node, c->to, c->msg);
}

/* Same result on every thread: checked here, before anything is posted,
 * except a local name, which only the loop can look up (so a send to a
 * name from another thread waits for the loop). */
int nodus_send(nodus_node *node, const nodus_term *to, nodus_term msg) {
  if (!node || !to) {
    nodus_term_free(&msg);
    return NODUS_EINVAL;
  }
  if (rt_is_global_name(to)) return send_global(node, NULL, to, msg);
  if (!is_destination(to)) {
    nodus_term_free(&msg);
    return NODUS_EBADTYPE;
  }
  if (rt_on_loop(node)) return send_dropping(node, to, msg);
  if (to->type == NODUS_T_ATOM) {
    struct name_send c = {to, msg, NODUS_ESTATE};
    if (nodus_node_call(node, name_send_on_loop, &c)) nodus_term_free(&msg);
    return c.rc;
  }
  struct send_job *j = malloc(sizeof *j);
  if (!j || nodus_copy(&j->to, to)) {
    free(j);
    nodus_term_free(&msg);
    return NODUS_ENOMEM;
  }
  j->msg = msg;
  int rc = rt_call_async(node, send_on_loop, j);
  if (rc) {
    nodus_term_free(&j->to);
    nodus_term_free(&j->msg);
    free(j);
  }
  return rc;
}

int nodus_send_from(nodus_proc *self, const nodus_term *to, nodus_term msg) {
  return rt_send(self->node, self, to, msg);
}
