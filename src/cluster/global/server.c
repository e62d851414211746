/* global_name_server: global.erl's gen_server, message for message.
 *
 * A sync between this node and a new peer (both sides run it):
 *   nodeup        -> cast {init_connect, {8, MyTag}, node(), {locker, _, _, Locker}}
 *   init_connect  -> the locker learns the peer's locker; {init_connect_ack, ...}
 *   the lockers set {global, [L1, L2]} on both nodes and every known one
 *   lock_is_set   -> cast {exchange, node(), Names, [], HisTag}
 *   exchange      -> the resolver compares the lists: {exchange_ops, ...}
 *   exchange_ops  -> cast {resolved, node(), Resolved, Known, unused, [], HisTag}
 *   resolved      -> apply the ops, tell the nodes we knew {new_nodes, ...},
 *                    the peer's known nodes {in_sync, node(), true};
 *                    the locker drops the lock.
 * Every message names the sync by its tags; one with a stale tag cancels
 * that sync (cancel_locker) as global.erl does, and the next nodeup or
 * restart begins a new one.
 *
 * With prevent_overlapping_partitions (on by default, as in OTP 25): a
 * node that loses a connection tells the others ({lost_connection, ...}),
 * and they drop their connection to the lost node too, so no two nodes
 * ever keep a name space that only overlaps.
 *
 * What peers send is checked before use; an unexpected message is logged
 * once per kind and dropped. */
#include <stdlib.h>
#include <string.h>

#include "cluster/global/global_internal.h"

/* ---- small helpers ----------------------------------------------------- */


static void log_once(gl_server *g, unsigned bit, const char *what,
                     const nodus_term *msg) {
  if (g->logged & bit) return;
  g->logged |= bit;
  char *text = NULL;
  if (msg) nodus_print(msg, NULL, &text, NULL);
  nodus_log(g->node, NODUS_LOG_WARN, "global",
            "global_name_server: unexpected %s, dropped (logged once): %.200s",
            what, text ? text : "");
  free(text);
}

void gl_trace(gl_server *g, const char *who, const nodus_term *msg) {
  char *text = NULL;
  nodus_print(msg, NULL, &text, NULL);
  nodus_log(g->node, NODUS_LOG_INFO, "global", "%s got %.400s", who,
            text ? text : "?");
  free(text);
}

nodus_term gl_unique(gl_server *g) {
  nodus_term t = {0};
  t.type = NODUS_T_INT;
  t.v.i = ++g->next_tag;
  return t;
}

void gl_cast(nodus_proc *p, nodus_atom node, nodus_term msg) {
  nodus_term to, m;
  if (nodus_build(&m, "{'$gen_cast', ~t}", msg)) return;
  if (nodus_build(&to, "{~a, ~A}", GL_SERVER, node)) {
    nodus_term_free(&m);
    return;
  }
  nodus_send_from(p, &to, m);
  nodus_term_free(&to);
}

void gl_volatile_send(gl_server *g, nodus_proc *p, nodus_atom node,
                      nodus_term msg) {
  gl_node *n = gl_node_get(g, node, false);
  nodus_term to;
  if (!n || !n->up || nodus_build(&to, "{~a, ~A}", GL_SERVER, node)) {
    nodus_term_free(&msg); /* erlang:send(To, Msg, [noconnect]) */
    return;
  }
  nodus_send_from(p, &to, msg);
  nodus_term_free(&to);
}

static bool tag_is(const nodus_term *mine, const nodus_term *theirs) {
  if (mine->type == NODUS_T_NONE) return nodus_is_atom(theirs, "undefined");
  return nodus_equal(mine, theirs);
}

/* ---- the nodes ---------------------------------------------------------- */

gl_node *gl_node_get(gl_server *g, nodus_atom name, bool create) {
  for (size_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->name == name) return g->nodes[i];
  if (!create || name == g->self_node) return NULL;
  if (g->n_nodes == g->cap_nodes) {
    size_t cap = g->cap_nodes ? 2 * g->cap_nodes : 8;
    gl_node **v = realloc(g->nodes, cap * sizeof *v);
    if (!v) return NULL;
    g->nodes = v;
    g->cap_nodes = cap;
  }
  gl_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->name = name;
  g->nodes[g->n_nodes++] = n;
  return n;
}

bool gl_is_known(gl_server *g, nodus_atom name) {
  gl_node *n = gl_node_get(g, name, false);
  return n && n->known;
}

size_t gl_known_count(gl_server *g) {
  size_t k = 0;
  for (size_t i = 0; i < g->n_nodes; i++) k += g->nodes[i]->known;
  return k;
}

nodus_term gl_known_list(gl_server *g) {
  nodus_term l;
  if (nodus_mk_list(&l, gl_known_count(g))) return nodus_nil();
  size_t k = 0;
  for (size_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->known)
      nodus_list_set(&l, k++, nodus_atom_term(g->nodes[i]->name));
  return l;
}

nodus_atom gl_boss(gl_server *g) {
  nodus_atom boss = g->self_node;
  for (size_t i = 0; i < g->n_nodes; i++) {
    if (!g->nodes[i]->known) continue;
    nodus_term a = nodus_atom_term(g->nodes[i]->name);
    nodus_term b = nodus_atom_term(boss);
    if (nodus_compare(&a, &b) > 0) boss = g->nodes[i]->name;
  }
  return boss;
}

static int node_vsn(gl_server *g, nodus_atom name) {
  gl_node *n = gl_node_get(g, name, false);
  if (name == g->self_node) return GL_VSN;
  if (!n) return 0;
  if (n->known) return n->known_vsn;
  return n->pending ? n->pending_vsn : 0;
}

/* mk_known_list/2: [{Node, Vsn}] (or bare nodes for old peers). */
static nodus_term known_vsn_list(gl_server *g, int vsn) {
  nodus_term l;
  if (nodus_mk_list(&l, gl_known_count(g))) return nodus_nil();
  size_t k = 0;
  for (size_t i = 0; i < g->n_nodes; i++) {
    gl_node *n = g->nodes[i];
    if (!n->known) continue;
    nodus_term e = nodus_atom_term(n->name);
    if (vsn >= GL_POP_VSN)
      nodus_build(&e, "{~A, ~i}", n->name, (int64_t)n->known_vsn);
    nodus_list_set(&l, k++, e);
  }
  return l;
}

/* The #state.known map sent in init_connect (the peer ignores it). */
static nodus_term known_map(gl_server *g) {
  nodus_term m;
  if (nodus_mk_map(&m)) return nodus_nil();
  for (size_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->known)
      nodus_map_put(&m, nodus_atom_term(g->nodes[i]->name),
                    (nodus_term){.type = NODUS_T_INT,
                                 .v.i = g->nodes[i]->known_vsn});
  return m;
}

static void reset_node_state(gl_node *n) {
  n->wait_lock = GL_WAIT_NONE;
  nodus_term_free(&n->wait_names);
  nodus_term_free(&n->save_ops);
  nodus_term_free(&n->pre_connect);
  n->prot_vsn = 0;
  nodus_term_free(&n->my_tag);
  nodus_term_free(&n->his_tag);
  nodus_term_free(&n->lock_id);
}

/* add_to_known/2: the nodes of a {Node, Vsn} (or Node) list we did not
 * know, as a list of atoms. */
static nodus_term add_to_known(gl_server *g, const nodus_term *list) {
  termvec added = {0};
  for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++) {
    const nodus_term *e = &list->v.items[i];
    nodus_atom a;
    int64_t v = 0;
    if (e->type == NODUS_T_ATOM) a = e->v.atom;
    else if (nodus_match(e, "{~a, ~i}", &a, &v)) continue;
    if (a == g->self_node) continue;
    gl_node *n = gl_node_get(g, a, true);
    if (!n) continue;
    if (n->known) {
      if (n->known_vsn < 0) n->known_vsn = (int)v;
      continue;
    }
    n->known = true;
    n->known_vsn = (int)v;
    nodus_term t = nodus_atom_term(a);
    termvec_push(&added, &t);
  }
  nodus_term l = nodus_nil();
  termvec_to_list(&added, &l);
  termvec_free(&added);
  return l;
}

static void to_locker(gl_server *g, nodus_term msg) {
  nodus_send_from(g->proc, &g->locker, msg);
}

/* ---- cancelling a sync ---------------------------------------------------- */

static void send_cancel_connect_message(gl_server *g, nodus_atom node,
                                        const nodus_term *his_tag) {
  nodus_term msg;
  if (nodus_build(&msg, "{cancel_connect, ~A, ~t}", g->self_node,
                  gl_copy(his_tag)) == 0)
    gl_volatile_send(g, g->proc, node, msg);
}

/* cancel_locker/4: tell the locker, the peer (when the sync is ours) and
 * kill the sync's resolver. fun: what the locker runs before it drops the
 * lock (no_fun, or {send_new_nodes, Nodes, Msg}); taken. */
static void cancel_locker(gl_server *g, gl_node *n, const nodus_term *tag,
                          nodus_term fun) {
  nodus_term msg;
  if (fun.type == NODUS_T_NONE) fun = gl_atom("no_fun");
  if (nodus_build(&msg, "{cancel, ~A, ~t, ~t}", n->name, gl_copy(tag), fun) == 0)
    to_locker(g, msg);
  if (n->pending && n->pending_vsn >= GL_VSN && tag_is(&n->my_tag, tag) &&
      n->my_tag.type != NODUS_T_NONE)
    send_cancel_connect_message(g, n->name, &n->his_tag);
  if (n->resolver.type != NODUS_T_NONE && tag_is(&n->resolver_tag, tag)) {
    nodus_term kill = gl_atom("kill");
    nodus_exit_signal(g->proc, &n->resolver, &kill);
    nodus_term_free(&kill);
    nodus_term_free(&n->resolver);
    nodus_term_free(&n->resolver_tag);
  }
}

static void cancel_session(gl_server *g, gl_node *n, const nodus_term *tag) {
  cancel_locker(g, n, tag, (nodus_term){0});
}

/* ---- connecting ------------------------------------------------------------ */

static void handle_nodeup(gl_server *g, gl_node *n) {
  if (n->known || n->resolver.type != NODUS_T_NONE) return;
  if (n->pre_connect.type != NODUS_T_NONE) { /* resend_pre_connect/1 */
    const nodus_term *vsn, *init, *his;
    if (nodus_match(&n->pre_connect, "{~t, ~t, ~t}", &vsn, &init, &his) == 0) {
      nodus_term msg;
      if (nodus_build(&msg, "{'$gen_cast', {init_connect, {~t, ~t}, ~A, ~t}}",
                      gl_copy(vsn), gl_copy(his), n->name, gl_copy(init)) == 0)
        nodus_send_from(g->proc, &g->pid, msg);
    }
    nodus_term_free(&n->pre_connect);
  }
  nodus_term_free(&n->my_tag);
  n->my_tag = gl_unique(g);
  nodus_term msg;
  if (nodus_build(&msg,
                  "{init_connect, {~i, ~t}, ~A, {locker, no_longer_a_pid, ~t, ~t}}",
                  (int64_t)GL_VSN, gl_copy(&n->my_tag), g->self_node, known_map(g),
                  gl_copy(&g->locker)) == 0)
    gl_cast(g->proc, n->name, msg);
  nodus_term pid;
  if (gl_resolver_spawn(g, n->name, &n->my_tag, &pid) == 0) {
    n->resolver = pid;
    (void)nodus_copy(&n->resolver_tag, &n->my_tag);
  }
}

static void restart_connect(gl_server *g, gl_node *n, nodus_term my_tag) {
  cancel_session(g, n, &my_tag);
  reset_node_state(n);
  n->pending = false;
  if (my_tag.type == NODUS_T_INT || my_tag.type == NODUS_T_BIGINT)
    handle_nodeup(g, n);
  nodus_term_free(&my_tag);
}

static void init_connect(gl_server *g, int vsn, nodus_atom node,
                         const nodus_term *init, const nodus_term *his_tag,
                         int his_vsn) {
  gl_node *n = gl_node_get(g, node, true);
  if (!n) return;
  if (n->pending) {
    send_cancel_connect_message(g, node, his_tag);
    restart_connect(g, n, gl_copy(&n->my_tag));
  }
  n->prot_vsn = vsn;
  nodus_term_free(&n->his_tag);
  (void)nodus_copy(&n->his_tag, his_tag);
  if (n->resolver.type != NODUS_T_NONE) {
    const nodus_term *his_locker;
    if (nodus_match(init, "{locker, _, _, ~t}", &his_locker) ||
        his_locker->type != NODUS_T_PID) {
      log_once(g, 1u << 0, "init_connect", init);
      return;
    }
    nodus_term msg;
    if (nodus_build(&msg, "{his_the_locker, ~t, {~i, []}, ~t, ~t}",
                    gl_copy(his_locker), (int64_t)vsn, gl_copy(his_tag),
                    gl_copy(&n->my_tag)) == 0)
      to_locker(g, msg);
    if (nodus_build(&msg, "{init_connect_ack, ~A, ~t, ~t}", g->self_node,
                    gl_copy(his_tag), gl_copy(&n->my_tag)) == 0)
      gl_volatile_send(g, g->proc, node, msg);
    n->pending = true;
    n->pending_vsn = his_vsn;
  } else {
    nodus_term_free(&n->pre_connect);
    nodus_build(&n->pre_connect, "{~i, ~t, ~t}", (int64_t)vsn, gl_copy(init),
                gl_copy(his_tag));
  }
}

/* ---- the exchange ---------------------------------------------------------- */

static void exchange(gl_server *g, gl_node *n, const nodus_term *names) {
  if (n->wait_lock == GL_WAIT_LOCK_IS_SET) {
    n->wait_lock = GL_WAIT_NONE;
    nodus_term msg;
    if (n->resolver.type != NODUS_T_NONE &&
        nodus_build(&msg, "{resolve, ~t, ~A}", gl_copy(names), n->name) == 0)
      nodus_send_from(g->proc, &n->resolver, msg);
  } else {
    n->wait_lock = GL_WAIT_EXCHANGE;
    nodus_term_free(&n->wait_names);
    (void)nodus_copy(&n->wait_names, names);
  }
}

static void lock_is_set(gl_server *g, gl_node *n, const nodus_term *lock_id) {
  nodus_term msg;
  if (nodus_build(&msg, "{exchange, ~A, ~t, [], ~t}", g->self_node,
                  gl_name_list(g), gl_copy(&n->his_tag)) == 0)
    gl_cast(g->proc, n->name, msg);
  nodus_term_free(&n->lock_id);
  (void)nodus_copy(&n->lock_id, lock_id);
  if (n->wait_lock == GL_WAIT_EXCHANGE) {
    nodus_term names = n->wait_names;
    n->wait_names = (nodus_term){0};
    n->wait_lock = GL_WAIT_LOCK_IS_SET;
    exchange(g, n, &names);
    nodus_term_free(&names);
  } else {
    n->wait_lock = GL_WAIT_LOCK_IS_SET;
  }
}

/* do_ops/5 (names_ext inserts are plain inserts here). */
static void do_ops(gl_server *g, const nodus_term *ops, nodus_atom conn_node,
                   const nodus_term *extra) {
  nodus_term from = nodus_atom_term(conn_node);
  for (size_t i = 0; ops->type == NODUS_T_LIST && i < ops->n; i++) {
    const nodus_term *name, *pid, *method;
    if (nodus_match(&ops->v.items[i], "{insert, {~t, ~t, ~t}}", &name, &pid,
                    &method) == 0)
      gl_name_insert(g, name, pid, method, &from, extra);
  }
  for (size_t i = 0; ops->type == NODUS_T_LIST && i < ops->n; i++) {
    const nodus_term *name;
    if (nodus_match(&ops->v.items[i], "{delete, ~t}", &name) == 0)
      gl_name_delete(g, name);
  }
}

/* sync_others/1: every node the peer knew hears {in_sync, node(), true}
 * (connecting to it if need be), so it syncs with us too. */
static void sync_others(gl_server *g, const nodus_term *nodes) {
  for (size_t i = 0; nodes->type == NODUS_T_LIST && i < nodes->n; i++) {
    const nodus_term *e = &nodes->v.items[i];
    nodus_atom a;
    if (e->type == NODUS_T_ATOM) a = e->v.atom;
    else if (nodus_match(e, "{~a, _}", &a)) continue;
    if (a == g->self_node) continue;
    nodus_term msg;
    if (nodus_build(&msg, "{in_sync, ~A, true}", g->self_node) == 0)
      gl_cast(g->proc, a, msg);
  }
}

static nodus_term extra_info(gl_node *n) {
  nodus_term e;
  if (nodus_build(&e, "[{vsn, ~i}, {lock, ~t}]", (int64_t)n->prot_vsn,
                  gl_copy(&n->lock_id)))
    return nodus_nil();
  return e;
}

/* resolved/5: both sides' ops are in; apply them and finish the sync. */
static void resolved(gl_server *g, gl_node *n, const nodus_term *his_resolved,
                     const nodus_term *his_known, const nodus_term *names_ext) {
  nodus_term ops, mine = n->save_ops;
  n->save_ops = (nodus_term){0};
  size_t a = mine.type == NODUS_T_LIST ? mine.n : 0;
  size_t b = his_resolved->type == NODUS_T_LIST ? his_resolved->n : 0;
  if (nodus_mk_list(&ops, a + b)) {
    nodus_term_free(&mine);
    return;
  }
  for (size_t i = 0; i < a; i++) nodus_list_set(&ops, i, gl_copy(&mine.v.items[i]));
  for (size_t i = 0; i < b; i++)
    nodus_list_set(&ops, a + i, gl_copy(&his_resolved->v.items[i]));
  nodus_term_free(&mine);

  /* NewNodes: [{Node, Vsn} | HisKnown] */
  size_t hk = his_known->type == NODUS_T_LIST ? his_known->n : 0;
  nodus_term new_nodes;
  if (nodus_mk_list(&new_nodes, hk + 1)) {
    nodus_term_free(&ops);
    return;
  }
  nodus_term first;
  nodus_build(&first, "{~A, ~i}", n->name, (int64_t)node_vsn(g, n->name));
  nodus_list_set(&new_nodes, 0, first);
  for (size_t i = 0; i < hk; i++) {
    const nodus_term *e = &his_known->v.items[i];
    nodus_term c = gl_copy(e);
    if (e->type == NODUS_T_ATOM)
      nodus_build(&c, "{~A, ~i}", e->v.atom, (int64_t)node_vsn(g, e->v.atom));
    nodus_list_set(&new_nodes, 1 + i, c);
  }
  sync_others(g, his_known);
  nodus_term extra = extra_info(n);
  do_ops(g, &ops, g->self_node, &extra);
  gl_sync_note(g, n->name);

  /* The nodes the peer knew are synced through it: cancel our own
   * sessions with them. */
  for (size_t i = 0; i < hk; i++) {
    const nodus_term *e = &his_known->v.items[i];
    nodus_atom an;
    if (e->type == NODUS_T_ATOM) an = e->v.atom;
    else if (nodus_match(e, "{~a, _}", &an)) continue;
    gl_node *o = gl_node_get(g, an, false);
    if (!o || o == n) continue;
    o->pending = false;
    cancel_session(g, o, &o->my_tag);
    reset_node_state(o);
  }

  /* The locker tells the nodes we knew before it drops the lock. */
  nodus_term old_known = gl_known_list(g), msg, fun;
  nodus_term nn = gl_copy(&new_nodes);
  if (nodus_build(&msg, "{new_nodes, ~A, ~t, ~t, ~t, ~t}", g->self_node,
                  gl_copy(&ops), gl_copy(names_ext), nn, gl_copy(&extra)) == 0 &&
      nodus_build(&fun, "{send_new_nodes, ~t, ~t}", old_known, msg) == 0) {
    n->pending = false;
    cancel_locker(g, n, &n->my_tag, fun);
  } else {
    nodus_term_free(&old_known);
    n->pending = false;
    cancel_session(g, n, &n->my_tag);
  }
  reset_node_state(n);
  nodus_term added = add_to_known(g, &new_nodes);
  nodus_term m;
  if (nodus_build(&m, "{add_to_known, ~t}", added) == 0) to_locker(g, m);
  n->synced = true;
  nodus_term_free(&ops);
  nodus_term_free(&new_nodes);
  nodus_term_free(&extra);
}

/* ---- connection loss (prevent_overlapping_partitions) --------------------- */

static void multicast(gl_server *g, const nodus_term *msg, nodus_atom ignore) {
  for (size_t i = 0; i < g->n_nodes; i++) {
    gl_node *n = g->nodes[i];
    if (n->name == ignore) continue;
    int v = n->known ? n->known_vsn : n->pending ? n->pending_vsn : -1;
    /* Known nodes of unknown version (0) are OTP 25 or ours here. */
    if (v < 0 || (v > 0 && v < GL_POP_VSN)) continue;
    gl_volatile_send(g, g->proc, n->name, gl_copy(msg));
  }
}

typedef enum { ND_DISCONNECTED, ND_REMOVE, ND_IGNORE } nd_type;

static void handle_nodedown(gl_server *g, gl_node *n, nd_type what) {
  cancel_session(g, n, &n->my_tag);
  nodus_term m;
  if (nodus_build(&m, "{remove_from_known, ~A}", n->name) == 0)
    to_locker(g, m);
  reset_node_state(n);
  if (what == ND_REMOVE) {
    n->removing = true;
  } else if (what == ND_IGNORE) {
    n->removing = false;
  } else if (n->removing) {
    n->removing = false;
  } else if (g->prevent_overlapping_partitions) {
    nodus_term msg, op = gl_unique(g);
    if (nodus_build(&msg, "{lost_connection, ~A, ~t, ~t, ~A}", g->self_node,
                    gl_copy(&g->creation_x), op, n->name) == 0) {
      multicast(g, &msg, n->name);
      nodus_term_free(&msg);
    }
  }
  n->pending = false;
  n->known = false;
  n->synced = false;
  gl_sync_note(g, n->name);
}

static void disconnect_for_pop(gl_server *g, gl_node *n, const char *what) {
  nodus_log(g->node, NODUS_LOG_WARN, "global",
            "'global' at node %s %s node %s in order to prevent overlapping "
            "partitions",
            nodus_atom_text(g->self_node, NULL), what,
            nodus_atom_text(n->name, NULL));
}

static void on_lost_connection(gl_server *g, const nodus_term *msg) {
  nodus_atom a, b;
  const nodus_term *xcre, *opid;
  if (nodus_match(msg, "{lost_connection, ~a, ~t, ~t, ~a}", &a, &xcre, &opid,
                  &b)) {
    log_once(g, 1u << 1, "lost_connection", msg);
    return;
  }
  if (!g->prevent_overlapping_partitions) return;
  nodus_term key;
  if (nodus_build(&key, "{~A, ~A}", a, b)) return;
  nodus_term *seen = termmap_get(&g->lost, &key);
  if (seen) {
    const nodus_term *sx, *so;
    if (nodus_match(seen, "{~t, ~t}", &sx, &so) == 0 && nodus_equal(sx, xcre) &&
        nodus_compare(opid, so) <= 0) {
      nodus_term_free(&key);
      return; /* heard already */
    }
  }
  multicast(g, msg, a);
  nodus_term *val = malloc(sizeof *val);
  if (val && nodus_build(val, "{~t, ~t}", gl_copy(xcre), gl_copy(opid)) == 0) {
    nodus_term *old = termmap_del(&g->lost, &key);
    if (old) {
      nodus_term_free(old);
      free(old);
    }
    if (termmap_put(&g->lost, &key, val)) {
      nodus_term_free(val);
      free(val);
    }
  } else {
    free(val);
  }
  nodus_term_free(&key);
  nodus_atom rm = g->self_node == b ? a : b;
  gl_node *n = gl_node_get(g, rm, false);
  if (!n || !(n->known || n->pending)) return;
  nodus_term req;
  if (nodus_build(&req, "{remove_connection, ~A}", g->self_node) == 0)
    gl_volatile_send(g, g->proc, rm, req);
  disconnect_for_pop(g, n, "requested disconnect from");
  handle_nodedown(g, n, ND_REMOVE);
}

static void on_remove_connection(gl_server *g, nodus_atom node) {
  gl_node *n = gl_node_get(g, node, false);
  if (!n || !(n->known || n->pending)) return;
  nodus_node_disconnect(g->node, node);
  handle_nodedown(g, n, ND_REMOVE);
  disconnect_for_pop(g, n, "disconnected");
}

/* ---- calls ------------------------------------------------------------------ */

static void reply(gl_server *g, const nodus_term *from, nodus_term r) {
  nodus_gen_reply(g->proc, from, r);
}

/* The tag of {Tag, ...}: what dispatch looks at first, so the frequent
 * messages (registrations, locks, DOWNs) meet no pattern text. */
static bool tagged(const nodus_term *m, const char *tag, size_t arity) {
  return m->type == NODUS_T_TUPLE && m->n == arity &&
         nodus_is_atom(&m->v.items[0], tag);
}

static void handle_call(gl_server *g, const nodus_term *from,
                        const nodus_term *req) {
  const nodus_term *caller = nodus_tuple_elem(from, 0);
  const nodus_term *name, *pid, *method, *lock;
  if (!caller || caller->type != NODUS_T_PID) return;
  const nodus_term *e = req->type == NODUS_T_TUPLE ? req->v.items : NULL;
  if (tagged(req, "register", 4)) {
    gl_name_insert(g, &e[1], &e[2], &e[3], caller, NULL);
    reply(g, from, gl_atom("yes"));
  } else if (tagged(req, "set_lock", 2)) {
    reply(g, from, nodus_bool(gl_lock_set(g, &e[1], caller)));
  } else if (tagged(req, "del_lock", 2)) {
    gl_lock_del(g, &e[1], caller);
    reply(g, from, gl_atom("true"));
  } else if (nodus_match(req, "{register, ~t, ~t, ~t}", &name, &pid, &method) == 0 ||
      nodus_match(req, "{register_ext, ~t, ~t, ~t, _}", &name, &pid,
                  &method) == 0) {
    gl_name_insert(g, name, pid, method, caller, NULL);
    reply(g, from, gl_atom("yes"));
  } else if (nodus_match(req, "{unregister, ~t}", &name) == 0) {
    gl_name_delete(g, name);
    reply(g, from, gl_atom("ok"));
  } else if (nodus_match(req, "{set_lock, ~t}", &lock) == 0) {
    reply(g, from, nodus_bool(gl_lock_set(g, lock, caller)));
  } else if (nodus_match(req, "{del_lock, ~t}", &lock) == 0) {
    gl_lock_del(g, lock, caller);
    reply(g, from, gl_atom("true"));
  } else if (nodus_is_atom(req, "get_known")) {
    reply(g, from, gl_known_list(g));
  } else if (nodus_is_atom(req, "get_synced")) {
    termvec v = {0};
    for (size_t i = 0; i < g->n_nodes; i++)
      if (g->nodes[i]->synced) {
        nodus_term t = nodus_atom_term(g->nodes[i]->name);
        termvec_push(&v, &t);
      }
    nodus_term l = nodus_nil();
    termvec_to_list(&v, &l);
    termvec_free(&v);
    reply(g, from, l);
  } else if (nodus_is_atom(req, "get_protocol_version")) {
    reply(g, from, (nodus_term){.type = NODUS_T_INT, .v.i = GL_VSN});
  } else if (nodus_is_atom(req, "get_names_ext")) {
    reply(g, from, nodus_nil());
  } else {
    log_once(g, 1u << 2, "call", req); /* global.erl: noreply */
  }
}

/* ---- casts ------------------------------------------------------------------ */

static gl_node *session(gl_server *g, nodus_atom node, const nodus_term *tag) {
  gl_node *n = gl_node_get(g, node, false); /* no sync: nothing to cancel */
  if (!n) return NULL;
  if (tag_is(&n->my_tag, tag)) return n;
  cancel_session(g, n, tag); /* a stale sync: global.erl's cancel_locker */
  return NULL;
}

static void handle_cast(gl_server *g, const nodus_term *m) {
  const nodus_term *vsn, *init, *tag, *lock_id, *names, *ops, *res, *known,
      *ext, *nodes, *extra, *pid;
  nodus_atom node;
  if (nodus_match(m, "{init_connect, ~t, ~a, ~t}", &vsn, &node, &init) == 0) {
    int64_t his_vsn;
    const nodus_term *his_tag;
    if (vsn->type != NODUS_T_TUPLE || vsn->n < 2 ||
        nodus_get_int64(&vsn->v.items[0], &his_vsn) || his_vsn < 1) {
      nodus_log(g->node, NODUS_LOG_INFO, "global",
                "Illegal global protocol version from %s",
                nodus_atom_text(node, NULL));
      return;
    }
    his_tag = &vsn->v.items[1];
    int use = his_vsn > GL_VSN ? GL_VSN : (int)his_vsn;
    init_connect(g, use, node, init, his_tag,
                 his_vsn > INT32_MAX ? INT32_MAX : (int)his_vsn);
  } else if (nodus_match(m, "{lock_is_set, ~a, ~t, ~t}", &node, &tag,
                         &lock_id) == 0) {
    gl_node *n = session(g, node, tag);
    if (n) lock_is_set(g, n, lock_id);
  } else if (nodus_match(m, "{exchange, ~a, ~t, _, ~t}", &node, &names,
                         &tag) == 0) {
    gl_node *n = session(g, node, tag);
    if (n) exchange(g, n, names);
  } else if (nodus_match(m, "{exchange_ops, ~a, ~t, ~t, ~t}", &node, &tag,
                         &ops, &res) == 0) {
    gl_node *n = session(g, node, tag);
    if (!n) return;
    nodus_term msg;
    if (nodus_build(&msg, "{resolved, ~A, ~t, ~t, unused, [], ~t}",
                    g->self_node, gl_copy(res), known_vsn_list(g, node_vsn(g, node)),
                    gl_copy(&n->his_tag)) == 0)
      gl_cast(g->proc, node, msg);
    const nodus_term *hk, *hx, *hr;
    if (nodus_match(&n->save_ops, "{resolved, ~t, ~t, ~t}", &hk, &hx, &hr) ==
        0) {
      nodus_term saved = n->save_ops;
      n->save_ops = gl_copy(ops);
      resolved(g, n, hr, hk, hx);
      nodus_term_free(&saved);
    } else {
      nodus_term_free(&n->save_ops);
      n->save_ops = gl_copy(ops);
    }
  } else if (nodus_match(m, "{resolved, ~a, ~t, ~t, _, ~t, ~t}", &node, &res,
                         &known, &ext, &tag) == 0) {
    gl_node *n = session(g, node, tag);
    if (!n) return;
    if (n->save_ops.type == NODUS_T_LIST || n->save_ops.type == NODUS_T_NIL) {
      resolved(g, n, res, known, ext);
    } else {
      nodus_term_free(&n->save_ops);
      nodus_build(&n->save_ops, "{resolved, ~t, ~t, ~t}", gl_copy(known), gl_copy(ext),
                  gl_copy(res));
    }
  } else if (nodus_match(m, "{new_nodes, ~a, ~t, ~t, ~t, ~t}", &node, &ops,
                         &ext, &nodes, &extra) == 0) {
    nodus_term added = add_to_known(g, nodes);
    sync_others(g, &added);
    do_ops(g, ops, node, extra);
    nodus_term msg;
    if (nodus_build(&msg, "{add_to_known, ~t}", added) == 0) to_locker(g, msg);
  } else if (nodus_match(m, "{in_sync, ~a, _}", &node) == 0) {
    gl_node *n = gl_node_get(g, node, false);
    if (!n) return;
    gl_sync_note(g, node);
    n->synced = true;
    n->pending = false;
    cancel_session(g, n, &n->my_tag);
    reset_node_state(n);
  } else if (nodus_match(m, "{lock_set, ~t, _, _, ~t}", &pid, &tag) == 0) {
    gl_node *n;
    if (pid->type == NODUS_T_PID &&
        (n = gl_node_get(g, pid->v.id->node, false)) && tag_is(&n->my_tag, tag))
      to_locker(g, gl_copy(m));
  } else if (nodus_match(m, "{lock_set, ~t, _, _}", &pid) == 0) {
    to_locker(g, gl_copy(m));
  } else if (nodus_match(m, "{async_del_name, _, _}") == 0 ||
             nodus_match(m, "{async_del_lock, _, _}") == 0) {
    /* old protocol, ignored as global.erl does */
  } else {
    log_once(g, 1u << 3, "cast", m);
  }
}

/* ---- infos ------------------------------------------------------------------ */

static void handle_info(gl_server *g, const nodus_term *m) {
  const nodus_term *ref, *tag, *tag2, *from;
  nodus_atom node;
  if (nodus_match(m, "{nodeup, ~a, _}", &node) == 0) {
    gl_node *n = gl_node_get(g, node, true);
    if (!n) return;
    n->up = true;
    handle_nodeup(g, n);
  } else if (nodus_match(m, "{nodedown, ~a, _}", &node) == 0) {
    gl_node *n = gl_node_get(g, node, true);
    if (!n) return;
    n->up = false;
    handle_nodedown(g, n, ND_DISCONNECTED);
  } else if (nodus_match(m, "{'DOWN', ~t, process, _, _}", &ref) == 0) {
    gl_lock_down(g, ref);
    gl_name_down(g, ref);
  } else if (nodus_match(m, "{lost_connection, _, _, _, _}") == 0) {
    on_lost_connection(g, m);
  } else if (nodus_match(m, "{remove_connection, ~a}", &node) == 0) {
    on_remove_connection(g, node);
  } else if (nodus_match(m, "{cancel_connect, ~a, ~t}", &node, &tag) == 0) {
    gl_node *n = gl_node_get(g, node, false);
    if (n && tag_is(&n->my_tag, tag) && n->my_tag.type != NODUS_T_NONE) {
      nodus_term mine = gl_copy(&n->my_tag);
      cancel_session(g, n, &mine);
      reset_node_state(n);
      n->pending = false;
      restart_connect(g, n, mine);
    }
  } else if (nodus_match(m, "{init_connect_ack, ~a, ~t, ~t}", &node, &tag,
                         &tag2) == 0) {
    gl_node *n = gl_node_get(g, node, false);
    if (!n) return;
    if (!(tag_is(&n->my_tag, tag) && tag_is(&n->his_tag, tag2))) {
      send_cancel_connect_message(g, node, tag2);
      restart_connect(g, n, gl_copy(&n->my_tag));
    }
  } else if (nodus_match(m, "{whereis, ~t, ~t}", &ref, &from) == 0) {
    nodus_term p = gl_where(g, ref);
    reply(g, from, p.type == NODUS_T_NONE ? gl_atom("undefined") : p);
  } else if (nodus_match(m, "{prepare_shutdown, ~t, ~t}", &from, &ref) == 0) {
    g->prevent_overlapping_partitions = false;
    nodus_term r;
    if (nodus_build(&r, "{~t, ok}", gl_copy(ref)) == 0)
      nodus_send_from(g->proc, from, r);
  } else if (nodus_match(m, "{'EXIT', _, _}") == 0) {
    /* a resolver we killed */
  } else {
    log_once(g, 1u << 4, "message", m);
  }
}

static void server_msg(nodus_proc *self, const nodus_term *msg) {
  gl_server *g = nodus_proc_state(self);
  if (g->trace) gl_trace(g, "global_name_server", msg);
  const nodus_term *e = msg->type == NODUS_T_TUPLE ? msg->v.items : NULL;
  if (tagged(msg, "$gen_call", 3)) {
    if (e[1].type == NODUS_T_TUPLE && e[1].n == 2) handle_call(g, &e[1], &e[2]);
  } else if (tagged(msg, "$gen_cast", 2)) {
    handle_cast(g, &e[1]);
  } else if (tagged(msg, "DOWN", 5)) {
    gl_lock_down(g, &e[1]);
    gl_name_down(g, &e[1]);
  } else {
    handle_info(g, msg);
  }
}

static void server_exit(nodus_proc *self, const nodus_term *reason) {
  gl_server *g = nodus_proc_state(self);
  if (g) g->proc = NULL;
}

static void server_started(nodus_proc *self) {
  gl_server *g = nodus_proc_state(self);
  g->proc = self;
  nodus_monitor_nodes(self, 0, true);
}

int gl_server_start(gl_server *g) {
  nodus_proc_spec spec = {.on_message = server_msg,
                          .on_exit = server_exit,
                          .on_start = server_started,
                          .state = g,
                          .register_name = GL_SERVER,
                          .trap_exit = true};
  int rc = nodus_spawn(g->node, &spec, &g->pid);
  if (rc) return rc;
  g->proc = nodus_proc_lookup(g->node, &g->pid);
  return 0;
}
