/* The resolver of one sync (global.erl's resolver/2 and exchange_names/4)
 * and the resolve methods.
 *
 * Given the peer's names, the ops: insert the names we lack; for a name
 * both sides have with different pids, the node whose name sorts first
 * asks the registered pid's node to run the name's method
 * (rpc:call(Node2, global, resolve_it, [Method2, Name, Pid, Pid2])) and
 * keeps the winner, or drops the name for none. The other node does
 * nothing: the first one's Resolved ops reach it. Remote resolve_it calls
 * go to the node's rex one at a time. */
#include <stdlib.h>
#include <string.h>

#include "cluster/global/global_internal.h"


/* ---- methods --------------------------------------------------------------- */

static const char *const method_names[] = {
    [NODUS_GLOBAL_RANDOM_EXIT] = "random_exit_name",
    [NODUS_GLOBAL_RANDOM_NOTIFY] = "random_notify_name",
    [NODUS_GLOBAL_NOTIFY_ALL] = "notify_all_name",
};

int gl_method_term(nodus_global_method m, nodus_term *out) {
  nodus_atom mod, fun;
  const char *mods = m == NODUS_GLOBAL_CALLBACK ? "nodus_global" : "global";
  const char *funs = m == NODUS_GLOBAL_CALLBACK ? "resolve"
                     : (unsigned)m < 3          ? method_names[m]
                                                : NULL;
  if (!funs) return NODUS_EINVAL;
  int rc = nodus_atom_intern(mods, strlen(mods), &mod);
  if (!rc) rc = nodus_atom_intern(funs, strlen(funs), &fun);
  if (!rc) rc = nodus_mk_export_fun(out, mod, fun, 3);
  return rc;
}

static int method_of(const nodus_term *t) {
  for (int m = 0; m <= NODUS_GLOBAL_CALLBACK; m++) {
    nodus_term f;
    if (gl_method_term((nodus_global_method)m, &f)) continue;
    bool same = nodus_equal(&f, t);
    nodus_term_free(&f);
    if (same) return m;
  }
  return -1;
}

/* minmax/2: by the pids' node names. */
static void minmax(const nodus_term *p1, const nodus_term *p2,
                   const nodus_term **min, const nodus_term **max) {
  nodus_term a = nodus_atom_term(p1->v.id->node);
  nodus_term b = nodus_atom_term(p2->v.id->node);
  bool first = nodus_compare(&a, &b) < 0;
  *min = first ? p1 : p2;
  *max = first ? p2 : p1;
}

void gl_resolve_it(gl_server *g, nodus_proc *self, const nodus_term *method,
                   const nodus_term *name, const nodus_term *pid1,
                   const nodus_term *pid2, nodus_term *result) {
  const nodus_term *min, *max;
  nodus_term msg;
  *result = gl_atom("none");
  if (pid1->type != NODUS_T_PID || pid2->type != NODUS_T_PID) return;
  int m = method_of(method);
  if (m == NODUS_GLOBAL_CALLBACK) {
    gl_name *n = gl_name_find(g, name);
    if (n && n->resolve) {
      nodus_term w = {0};
      if (n->resolve(g->node, name, pid1, pid2, &w, n->resolve_arg) == 0 &&
          (nodus_equal(&w, pid1) || nodus_equal(&w, pid2))) {
        nodus_term_free(result);
        *result = w;
      } else {
        nodus_term_free(&w);
      }
      return;
    }
    m = NODUS_GLOBAL_RANDOM_EXIT; /* the callback lives on another node */
  }
  switch (m) {
    case NODUS_GLOBAL_RANDOM_EXIT: {
      minmax(pid1, pid2, &min, &max);
      char *text = NULL;
      nodus_print(name, NULL, &text, NULL);
      nodus_log(g->node, NODUS_LOG_INFO, "global",
                "global: Name conflict terminating %s", text ? text : "?");
      free(text);
      nodus_term kill = gl_atom("kill");
      nodus_exit_signal(self, max, &kill);
      nodus_term_free(&kill);
      nodus_term_free(result);
      *result = gl_copy(min);
      return;
    }
    case NODUS_GLOBAL_RANDOM_NOTIFY:
      minmax(pid1, pid2, &min, &max);
      if (nodus_build(&msg, "{global_name_conflict, ~t}", gl_copy(name)) == 0)
        nodus_send_from(self, max, msg);
      nodus_term_free(result);
      *result = gl_copy(min);
      return;
    case NODUS_GLOBAL_NOTIFY_ALL:
      if (nodus_build(&msg, "{global_name_conflict, ~t, ~t}", gl_copy(name),
                      gl_copy(pid2)) == 0)
        nodus_send_from(self, pid1, msg);
      if (nodus_build(&msg, "{global_name_conflict, ~t, ~t}", gl_copy(name),
                      gl_copy(pid1)) == 0)
        nodus_send_from(self, pid2, msg);
      return;
    default: /* a fun we cannot run: what catch Method(...) gives BEAM */
      nodus_term_free(result);
      nodus_build(result, "{'EXIT', {undef, []}}");
      return;
  }
}

/* ---- the resolver process ------------------------------------------------------ */

typedef struct resolver {
  gl_server *g;
  nodus_proc *self;
  nodus_atom node; /* the peer */
  nodus_term tag;
  nodus_term names; /* the peer's list, once it came */
  size_t next;      /* the entry being resolved */
  termvec ops, res;
  nodus_term call_ref, call_mref; /* a resolve_it in flight */
} resolver;

static void push(termvec *v, nodus_term t) {
  termvec_push(v, &t);
  nodus_term_free(&t);
}

static void finish(resolver *r) {
  nodus_term ops = nodus_nil(), res = nodus_nil(), msg;
  termvec_to_list(&r->ops, &ops);
  termvec_to_list(&r->res, &res);
  if (nodus_build(&msg, "{exchange_ops, ~A, ~t, ~t, ~t}", r->node, gl_copy(&r->tag),
                  ops, res) == 0)
    gl_cast(r->self, r->g->self_node, msg);
  nodus_term normal = gl_atom("normal");
  nodus_exit(r->self, &normal);
  nodus_term_free(&normal);
}

/* What resolve_it answered for entry {Name, Pid, Method} against ours. */
static void outcome(resolver *r, const nodus_term *name, const nodus_term *pid,
                    const nodus_term *method, const nodus_term *pid2,
                    const nodus_term *method2, const nodus_term *result) {
  nodus_term op;
  if (nodus_equal(result, pid)) {
    if (nodus_build(&op, "{insert, {~t, ~t, ~t}}", gl_copy(name), gl_copy(pid),
                    gl_copy(method)) == 0)
      push(&r->ops, op);
  } else if (nodus_equal(result, pid2)) {
    if (nodus_build(&op, "{insert, {~t, ~t, ~t}}", gl_copy(name), gl_copy(pid2),
                    gl_copy(method2)) == 0)
      push(&r->res, op);
  } else if (nodus_match(result, "{badrpc, _}") == 0) {
    if (nodus_build(&op, "{insert, {~t, ~t, ~t}}", gl_copy(name), gl_copy(pid),
                    gl_copy(method)) == 0)
      push(&r->ops, op);
  } else { /* none, or a method that returned something else */
    if (nodus_build(&op, "{delete, ~t}", gl_copy(name)) == 0) {
      push(&r->ops, gl_copy(&op));
      push(&r->res, op);
    }
  }
}

/* Walks the list from r->next; stops at a remote resolve_it. */
static void step(resolver *r) {
  gl_server *g = r->g;
  const nodus_term *l = &r->names;
  nodus_term self_a = nodus_atom_term(g->self_node);
  nodus_term peer_a = nodus_atom_term(r->node);
  bool we_decide = nodus_compare(&self_a, &peer_a) < 0;
  for (; l->type == NODUS_T_LIST && r->next < l->n; r->next++) {
    const nodus_term *name, *pid, *method;
    if (nodus_match(&l->v.items[r->next], "{~t, ~t, ~t}", &name, &pid,
                    &method) ||
        pid->type != NODUS_T_PID)
      continue;
    gl_name *ours = gl_name_find(g, name);
    if (ours && nodus_equal(&ours->pid, pid)) continue;
    if (ours && !we_decide) continue;
    if (!ours) {
      nodus_term op;
      if (nodus_build(&op, "{insert, {~t, ~t, ~t}}", gl_copy(name), gl_copy(pid),
                      gl_copy(method)) == 0)
        push(&r->ops, op);
      continue;
    }
    nodus_atom node2 = ours->pid.v.id->node;
    if (node2 == g->self_node) {
      nodus_term result;
      gl_resolve_it(g, r->self, &ours->method, name, pid, &ours->pid, &result);
      outcome(r, name, pid, method, &ours->pid, &ours->method, &result);
      nodus_term_free(&result);
      continue;
    }
    /* rpc:call(Node2, global, resolve_it, [Method2, Name, Pid, Pid2]) */
    nodus_term rex, msg, me = gl_copy(nodus_self(r->self));
    if (nodus_build(&rex, "{rex, ~A}", node2) ||
        nodus_make_ref(g->node, &r->call_ref)) {
      nodus_term_free(&me);
      nodus_term_free(&rex);
      continue;
    }
    if (nodus_monitor(r->self, &rex, &r->call_mref) ||
        nodus_build(&msg,
                    "{'$gen_call', {~t, ~t}, {call, global, resolve_it, "
                    "[~t, ~t, ~t, ~t], ~t}}",
                    gl_copy(&me), gl_copy(&r->call_ref), gl_copy(&ours->method), gl_copy(name),
                    gl_copy(pid), gl_copy(&ours->pid), me)) {
      nodus_term_free(&rex);
      nodus_term_free(&r->call_ref);
      continue;
    }
    nodus_send_from(r->self, &rex, msg);
    nodus_term_free(&rex);
    return; /* the reply continues at this entry */
  }
  finish(r);
}

static void rpc_answered(resolver *r, const nodus_term *result) {
  nodus_demonitor(r->self, &r->call_mref);
  nodus_term_free(&r->call_mref);
  nodus_term_free(&r->call_ref);
  const nodus_term *name, *pid, *method;
  const nodus_term *e = &r->names.v.items[r->next];
  gl_name *ours = NULL;
  if (nodus_match(e, "{~t, ~t, ~t}", &name, &pid, &method) == 0 &&
      (ours = gl_name_find(r->g, name))) {
    if (nodus_match(result, "{badrpc, _}") == 0) {
      char *text = NULL;
      nodus_print(name, NULL, &text, NULL);
      nodus_log(r->g->node, NODUS_LOG_INFO, "global",
                "global: badrpc received when conflicting name %s was found",
                text ? text : "?");
      free(text);
    }
    outcome(r, name, pid, method, &ours->pid, &ours->method, result);
  }
  r->next++;
  step(r);
}

static void resolver_msg(nodus_proc *self, const nodus_term *m) {
  resolver *r = nodus_proc_state(self);
  const nodus_term *names, *ref, *value;
  nodus_atom node;
  if (r->names.type == NODUS_T_NONE) {
    if (nodus_match(m, "{resolve, ~t, ~a}", &names, &node) || node != r->node)
      return; /* ignore garbage, as resolver/2 does */
    r->names = gl_copy(names);
    step(r);
    return;
  }
  if (r->call_ref.type == NODUS_T_NONE) return;
  if (nodus_match(m, "{~t, ~t}", &ref, &value) == 0 &&
      nodus_equal(ref, &r->call_ref)) {
    rpc_answered(r, value);
  } else if (nodus_match(m, "{'DOWN', ~t, _, _, _}", &ref) == 0 &&
             nodus_equal(ref, &r->call_mref)) {
    nodus_term_free(&r->call_mref); /* fired: nothing to demonitor */
    nodus_term bad;
    if (nodus_build(&bad, "{badrpc, nodedown}") == 0) {
      nodus_term mref = {0};
      r->call_mref = mref;
      rpc_answered(r, &bad);
      nodus_term_free(&bad);
    }
  }
}

static void resolver_exit(nodus_proc *self, const nodus_term *reason) {
  resolver *r = nodus_proc_state(self);
  if (!r) return;
  nodus_term_free(&r->tag);
  nodus_term_free(&r->names);
  termvec_free(&r->ops);
  termvec_free(&r->res);
  nodus_term_free(&r->call_ref);
  nodus_term_free(&r->call_mref);
  free(r);
  nodus_proc_set_state(self, NULL);
}

static void resolver_started(nodus_proc *self) {
  resolver *r = nodus_proc_state(self);
  r->self = self;
}

int gl_resolver_spawn(gl_server *g, nodus_atom node, const nodus_term *tag,
                      nodus_term *pid) {
  resolver *r = calloc(1, sizeof *r);
  if (!r) return NODUS_ENOMEM;
  r->g = g;
  r->node = node;
  r->tag = gl_copy(tag);
  nodus_proc_spec spec = {.on_message = resolver_msg,
                          .on_exit = resolver_exit,
                          .on_start = resolver_started,
                          .state = r};
  int rc = nodus_spawn(g->node, &spec, pid);
  if (rc) {
    nodus_term_free(&r->tag);
    free(r);
    return rc;
  }
  r->self = nodus_proc_lookup(g->node, pid);
  return 0;
}
