/* spawn_request, both ways.
 *
 * Serving: erlang:spawn_request/5 (and spawn/4, spawn_link/4,
 * spawn_monitor/4 from other nodes) of C functions registered under a
 * module and function name. An unknown function spawns a process that
 * exits with undef at once, as BEAM's would.
 *
 * Asking: nodus_spawn_request sends SPAWN_REQUEST and keeps the request
 * on the requester until SPAWN_REPLY comes; then the requester gets
 * {spawn_reply, ReqId, ok, Pid} (the link and the monitor, whose
 * reference is ReqId, set up first) or {spawn_reply, ReqId, error,
 * Reason}. A lost connection answers noconnection. A requester that ends
 * first leaves its request to the peer (an orphan): when the reply comes,
 * the new process is demonitored and gets the requester's exit reason
 * over the link, as BEAM does for a parent that is gone. */
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "runtime/node_internal.h"

struct rt_spawn_req {
  struct rt_spawn_req *next;
  nodus_term ref;    /* the request id */
  nodus_atom node;   /* where it went */
  unsigned flags;    /* NODUS_SPAWN_LINK | NODUS_SPAWN_MONITOR */
  nodus_term reason; /* orphans: the requester's exit reason */
};

struct reg_spawn {
  const char *module, *function;
  nodus_spawn_fn fn;
  int rc;
};

static void register_on_loop(nodus_node *node, void *arg) {
  struct reg_spawn *r = arg;
  rt_spawn_entry *e = calloc(1, sizeof *e);
  if (!e) {
    r->rc = NODUS_ENOMEM;
    return;
  }
  if ((r->rc = nodus_atom_intern(r->module, strlen(r->module), &e->module)) ||
      (r->rc = nodus_atom_intern(r->function, strlen(r->function),
                                 &e->function))) {
    free(e);
    return;
  }
  e->fn = r->fn;
  e->next = node->spawns;
  node->spawns = e;
}

int nodus_register_spawn(nodus_node *node, const char *module,
                         const char *function, nodus_spawn_fn fn) {
  if (!node || !module || !function || !fn) return NODUS_EINVAL;
  struct reg_spawn r = {module, function, fn, 0};
  rt_call_sync(node, register_on_loop, &r);
  return r.rc;
}

static rt_spawn_entry *find(nodus_node *node, nodus_atom m, nodus_atom f) {
  for (rt_spawn_entry *e = node->spawns; e; e = e->next)
    if (e->module == m && e->function == f) return e;
  return NULL;
}

static bool has_opt(const nodus_term *opts, const char *name) {
  for (size_t i = 0; opts->type == NODUS_T_LIST && i < opts->n; i++)
    if (nodus_is_atom(&opts->v.items[i], name)) return true;
  return false;
}

/* {reply, yes | no | error_only | success_only}; yes when absent. */
static bool wants_reply(const nodus_term *opts, bool success) {
  for (size_t i = 0; opts->type == NODUS_T_LIST && i < opts->n; i++) {
    const nodus_term *o = &opts->v.items[i];
    if (o->type == NODUS_T_TUPLE && o->n == 2 &&
        nodus_is_atom(&o->v.items[0], "reply")) {
      const nodus_term *v = &o->v.items[1];
      if (nodus_is_atom(v, "no")) return false;
      if (nodus_is_atom(v, "error_only")) return !success;
      if (nodus_is_atom(v, "success_only")) return success;
    }
  }
  return true;
}

static void no_messages(nodus_proc *self, const nodus_term *msg) {}

/* A process for M:F(Args): what the registered C function makes of Args,
 * or (*undef) one that must exit with undef once the spawner has set up
 * links and monitors. */
static int spawn_mfa(nodus_node *node, nodus_atom m, nodus_atom f,
                     const nodus_term *args, nodus_proc **out, bool *undef) {
  rt_spawn_entry *e = find(node, m, f);
  nodus_proc_spec spec = {.on_message = no_messages};
  int rc = e ? e->fn(node, args, &spec) : 0;
  if (rc) return rc;
  spec.register_name = NULL;
  *undef = !e;
  return rt_spawn(node, &spec, out);
}

/* The error a failed spawn answers. */
static nodus_term spawn_error(int rc) {
  return rt_atom(rc == NODUS_ENOMEM ? "system_limit" : "badarg");
}

/* Ends p with {undef, [{M, F, Args, []}]}. */
static void exit_undef(nodus_proc *p, nodus_atom m, nodus_atom f,
                       const nodus_term *args) {
  nodus_term stack, reason;
  if (nodus_mk_list(&stack, 1)) {
    reason = rt_atom("undef");
  } else {
    nodus_list_set(&stack, 0,
                   rt_tuple(4, nodus_atom_term(m), nodus_atom_term(f),
                            rt_copy(args), nodus_nil()));
    reason = rt_tuple(2, rt_atom("undef"), stack);
  }
  rt_proc_exit(p, &reason);
  nodus_term_free(&reason);
}

/* A monitor entry (not by name) at the front of *list. */
static bool monitor_add(nodus_node *node, rt_monitor **list,
                        const nodus_term *ref, const nodus_term *other,
                        nodus_atom where) {
  rt_monitor *mon = calloc(1, sizeof *mon);
  if (!mon || nodus_copy(&mon->ref, ref) || nodus_copy(&mon->other, other)) {
    if (mon) rt_monitor_free(mon);
    rt_log(node, NODUS_LOG_ERROR, "spawn", "out of memory: monitor lost");
    return false;
  }
  mon->node = where;
  mon->next = *list;
  *list = mon;
  return true;
}

static void send_reply(nodus_node *node, rt_peer *peer, const nodus_term *req_id,
                       const nodus_term *to, unsigned flags,
                       nodus_term result) {
  nodus_term ctl;
  if (dist_ctl_spawn_reply(&ctl, req_id, to, flags, &result))
    rt_log(node, NODUS_LOG_ERROR, "spawn", "out of memory: spawn reply lost");
  else
    rt_peer_send(node, peer->name, ctl, (nodus_term){0});
  nodus_term_free(&result);
}

/* ---- serving a peer's request ---------------------------------------------- */

void rt_spawn_request(nodus_node *node, rt_peer *peer, dist_ctl_msg *m) {
  RT_ASSERT_LOOP(node);
  assert(m->op == CTL_SPAWN_REQUEST || m->op == CTL_SPAWN_REQUEST_TT);
  const struct dist_ctl_spawn_request *rq = &m->spawn_request;
  const nodus_term *req_id = rq->req_id, *from = rq->from, *opts = rq->opts;
  nodus_atom mod = rq->module, fun = rq->function;
  nodus_proc *p = NULL;
  bool undef = false;
  int rc = spawn_mfa(node, mod, fun, rq->args, &p, &undef);
  if (rc) {
    if (wants_reply(opts, false))
      send_reply(node, peer, req_id, from, 0, spawn_error(rc));
    return;
  }
  unsigned flags = 0;
  if (has_opt(opts, "link")) {
    rt_link_add(p, from);
    flags |= DIST_SPAWN_FLAG_LINK;
  }
  /* The monitor reference is the request id. */
  if (has_opt(opts, "monitor") &&
      monitor_add(node, &p->mons_in, req_id, from, peer->name))
    flags |= DIST_SPAWN_FLAG_MONITOR;
  if (wants_reply(opts, true))
    send_reply(node, peer, req_id, from, flags, rt_copy(&p->pid));
  if (undef) exit_undef(p, mod, fun, rq->args);
}

/* ---- asking ------------------------------------------------------------------ */

static void req_free(rt_spawn_req *r) {
  if (!r) return;
  nodus_term_free(&r->ref);
  nodus_term_free(&r->reason);
  free(r);
}

static rt_spawn_req *req_take(rt_spawn_req **list, const nodus_term *ref,
                              nodus_atom where) {
  for (rt_spawn_req **rp = list; *rp; rp = &(*rp)->next) {
    if ((*rp)->node == where && nodus_equal(&(*rp)->ref, ref)) {
      rt_spawn_req *r = *rp;
      *rp = r->next;
      return r;
    }
  }
  return NULL;
}

/* {spawn_reply, ReqId, ok, Pid} or {spawn_reply, ReqId, error, Reason};
 * result is taken. */
static nodus_term reply_msg(const nodus_term *ref, bool ok, nodus_term result) {
  return rt_tuple(4, rt_atom("spawn_reply"), rt_copy(ref),
                  nodus_atom_term(ok ? NODUS_ATOM_OK : NODUS_ATOM_ERROR),
                  result);
}

/* A spawn on this node: done at once, the reply first in self's queue. */
static void spawn_local(nodus_proc *self, nodus_atom m, nodus_atom f,
                        const nodus_term *args, unsigned flags,
                        const nodus_term *ref) {
  nodus_node *node = self->node;
  nodus_proc *p;
  bool undef = false;
  int rc = spawn_mfa(node, m, f, args, &p, &undef);
  if (rc) {
    rt_deliver(self, reply_msg(ref, false, spawn_error(rc)));
    return;
  }
  if (flags & NODUS_SPAWN_LINK) {
    rt_link_add(self, &p->pid);
    rt_link_add(p, &self->pid);
  }
  if ((flags & NODUS_SPAWN_MONITOR) &&
      monitor_add(node, &p->mons_in, ref, &self->pid, node->name) &&
      !monitor_add(node, &self->mons_out, ref, &p->pid, node->name)) {
    rt_monitor *in = rt_monitor_take(&p->mons_in, ref);
    if (in) rt_monitor_free(in);
  }
  rt_deliver(self, reply_msg(ref, true, rt_copy(&p->pid)));
  if (undef) exit_undef(p, m, f, args);
}

/* SPAWN_REQUEST to a peer; the request waits on self for its reply. */
static int spawn_remote(nodus_proc *self, nodus_atom peer, nodus_atom m,
                        nodus_atom f, const nodus_term *args, unsigned flags,
                        const nodus_term *ref) {
  nodus_node *node = self->node;
  if (!(rt_peer_flags(node, peer) & DFLAG_SPAWN)) {
    rt_deliver(self, reply_msg(ref, false, rt_atom("notsup")));
    return 0;
  }
  nodus_term opts = nodus_nil(), ctl, payload;
  size_t nopts = !!(flags & NODUS_SPAWN_LINK) + !!(flags & NODUS_SPAWN_MONITOR);
  int rc = nopts ? nodus_mk_list(&opts, nopts) : 0;
  if (rc) return rc;
  size_t i = 0;
  if (flags & NODUS_SPAWN_LINK) nodus_list_set(&opts, i++, rt_atom("link"));
  if (flags & NODUS_SPAWN_MONITOR) nodus_list_set(&opts, i++, rt_atom("monitor"));
  /* The group leader of the new process: BEAM's io goes to it, and the
   * node's system process answers io requests (sysproc.c). */
  uint32_t arity = args->type == NODUS_T_LIST ? args->n : 0;
  rc = dist_ctl_spawn_request(&ctl, ref, &self->pid, &node->sys->pid, m, f,
                              arity, &opts);
  nodus_term_free(&opts);
  if (rc) return rc;
  if ((rc = nodus_copy(&payload, args))) {
    nodus_term_free(&ctl);
    return rc;
  }
  rt_spawn_req *r = calloc(1, sizeof *r);
  if (!r || nodus_copy(&r->ref, ref)) {
    free(r);
    nodus_term_free(&ctl);
    nodus_term_free(&payload);
    return NODUS_ENOMEM;
  }
  r->node = peer;
  r->flags = flags;
  r->next = self->spawns_pending;
  self->spawns_pending = r;
  rc = rt_peer_send(node, peer, ctl, payload);
  if (rc) {
    /* Not sent. A failed connect may have answered noconnection already
     * (rt_node_down_signals); if not, answer it here. */
    rt_spawn_req *still = req_take(&self->spawns_pending, ref, peer);
    req_free(still);
    if (still && rc == NODUS_ENOCONN)
      rt_deliver(self, reply_msg(ref, false, rt_atom("noconnection")));
    else if (still)
      return rc;
  }
  return 0;
}

int nodus_spawn_request(nodus_proc *self, nodus_atom node_name,
                        const char *module, const char *function,
                        const nodus_term *args, unsigned flags,
                        nodus_term *req_id) {
  nodus_term nil = nodus_nil();
  if (!args) args = &nil;
  if (!self || !module || !function || !nodus_is_proper_list(args) ||
      (flags & ~(unsigned)(NODUS_SPAWN_LINK | NODUS_SPAWN_MONITOR)))
    return NODUS_EINVAL; /* BEAM raises badarg */
  nodus_node *node = self->node;
  nodus_atom m, f;
  nodus_term ref;
  int rc = nodus_atom_intern(module, strlen(module), &m);
  if (!rc) rc = nodus_atom_intern(function, strlen(function), &f);
  if (rc) return NODUS_EINVAL;
  if ((rc = nodus_make_ref(node, &ref))) return rc;
  if (node_name == node->name) spawn_local(self, m, f, args, flags, &ref);
  else rc = spawn_remote(self, node_name, m, f, args, flags, &ref);
  if (rc || !req_id) nodus_term_free(&ref);
  else *req_id = ref;
  return rc;
}

/* ---- the reply ---------------------------------------------------------------- */

void rt_spawn_reply(nodus_node *node, rt_peer *peer, dist_ctl_msg *m) {
  RT_ASSERT_LOOP(node);
  assert(m->op == CTL_SPAWN_REPLY || m->op == CTL_SPAWN_REPLY_TT);
  const struct dist_ctl_spawn_reply *rp = &m->spawn_reply;
  const nodus_term *ref = rp->req_id, *to = rp->to, *result = rp->result;
  bool ok = result->type == NODUS_T_PID;
  unsigned flags = ok ? rp->flags : 0;
  nodus_proc *p = rt_proc_by_pid(node, to);
  rt_spawn_req *r =
      p && !p->exiting ? req_take(&p->spawns_pending, ref, peer->name) : NULL;
  if (r) {
    req_free(r);
    if (flags & DIST_SPAWN_FLAG_LINK) rt_link_add(p, result);
    if (flags & DIST_SPAWN_FLAG_MONITOR)
      monitor_add(node, &p->mons_out, ref, result, peer->name);
    rt_deliver(p, reply_msg(ref, ok, rt_copy(result)));
    return;
  }
  /* The requester is gone, or waits for no such reply: undo what the peer
   * set up, as BEAM does (the link gets the exit reason of the requester,
   * noproc when that is not known, abandoned when it still lives). */
  r = req_take(&peer->spawn_orphans, ref, peer->name);
  if (flags & DIST_SPAWN_FLAG_MONITOR) {
    nodus_term ctl;
    if (dist_ctl_demonitor(&ctl, to, result, ref))
      rt_log(node, NODUS_LOG_ERROR, "spawn", "out of memory: demonitor lost");
    else
      rt_peer_send(node, peer->name, ctl, (nodus_term){0});
  }
  if (flags & DIST_SPAWN_FLAG_LINK) {
    nodus_term why = rt_atom(p ? "abandoned" : "noproc");
    rt_link_exit_remote(node, to, result, r ? &r->reason : &why);
    nodus_term_free(&why);
  }
  req_free(r);
}

void rt_spawn_reqs_exit(nodus_proc *p) {
  while (p->spawns_pending) {
    rt_spawn_req *r = p->spawns_pending;
    p->spawns_pending = r->next;
    rt_peer *peer = r->flags ? rt_peer_get(p->node, r->node, false) : NULL;
    if (peer && !nodus_copy(&r->reason, &p->exit_reason)) {
      r->next = peer->spawn_orphans;
      peer->spawn_orphans = r;
    } else {
      req_free(r);
    }
  }
}

void rt_spawn_reqs_node_down(nodus_proc *p, nodus_atom peer) {
  for (rt_spawn_req **rp = &p->spawns_pending; *rp;) {
    rt_spawn_req *r = *rp;
    if (r->node != peer) {
      rp = &r->next;
      continue;
    }
    *rp = r->next;
    rt_deliver(p, reply_msg(&r->ref, false, rt_atom("noconnection")));
    req_free(r);
  }
}

void rt_spawn_orphans_free(rt_peer *peer) {
  while (peer->spawn_orphans) {
    rt_spawn_req *r = peer->spawn_orphans;
    peer->spawn_orphans = r->next;
    req_free(r);
  }
}
