/* Remote spawn: erlang:spawn_request/5 (and spawn/4, spawn_link/4,
 * spawn_monitor/4 from other nodes) of C functions registered under a
 * module and function name. An unknown function spawns a process that
 * exits with undef at once, as BEAM's would. */
#include <stdlib.h>
#include <string.h>

#include "dist/control.h"
#include "runtime/node_internal.h"

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

void rt_spawn_request(nodus_node *node, rt_peer *peer, dist_ctl_msg *m) {
  const nodus_term *req_id = &m->control.v.items[1];
  const nodus_term *from = &m->control.v.items[2];
  const nodus_term *mfa = &m->control.v.items[4];
  const nodus_term *opts = &m->control.v.items[5];
  if (from->type != NODUS_T_PID || mfa->type != NODUS_T_TUPLE ||
      mfa->n != 3 || mfa->v.items[0].type != NODUS_T_ATOM ||
      mfa->v.items[1].type != NODUS_T_ATOM)
    return;
  rt_spawn_entry *e = find(node, mfa->v.items[0].v.atom, mfa->v.items[1].v.atom);
  nodus_proc_spec spec = {.on_message = no_messages};
  int rc = e ? e->fn(node, &m->payload, &spec) : 0;
  nodus_proc *p = NULL;
  if (rc == 0) {
    spec.register_name = NULL;
    rc = rt_spawn(node, &spec, &p);
  }
  if (rc) {
    if (wants_reply(opts, false))
      rt_peer_send(node, peer->name,
                   rt_tuple(5, nodus_int(CTL_SPAWN_REPLY), rt_copy(req_id),
                            rt_copy(from), nodus_int(0),
                            rt_atom(rc == NODUS_ENOMEM ? "system_limit"
                                                       : "badarg")),
                   (nodus_term){0});
    return;
  }
  int flags = 0;
  if (has_opt(opts, "link")) {
    rt_link_add(p, from);
    flags |= 1;
  }
  if (has_opt(opts, "monitor")) {
    /* The monitor reference is the request id. */
    rt_monitor *mon = calloc(1, sizeof *mon);
    if (mon && !nodus_copy(&mon->ref, req_id) && !nodus_copy(&mon->other, from)) {
      mon->node = peer->name;
      mon->next = p->mons_in;
      p->mons_in = mon;
      flags |= 2;
    } else if (mon) {
      rt_monitor_free(mon);
    }
  }
  if (wants_reply(opts, true))
    rt_peer_send(node, peer->name,
                 rt_tuple(5, nodus_int(CTL_SPAWN_REPLY), rt_copy(req_id),
                          rt_copy(from), nodus_int(flags), rt_copy(&p->pid)),
                 (nodus_term){0});
  if (!e) {
    /* {undef, [{M, F, Args, []}]} */
    nodus_term stack;
    nodus_mk_list(&stack, 1);
    nodus_list_set(&stack, 0,
                   rt_tuple(4, rt_copy(&mfa->v.items[0]), rt_copy(&mfa->v.items[1]),
                            rt_copy(&m->payload), nodus_nil()));
    nodus_term reason = rt_tuple(2, rt_atom("undef"), stack);
    rt_proc_exit(p, &reason);
    nodus_term_free(&reason);
  }
}
