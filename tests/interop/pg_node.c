/* pg_node: a nodus node for the pg and pub/sub interop tests, driven by
 * Erlang messages so a BEAM driver can run thousands of operations fast.
 *
 *   pg_node --name NAME --cookie C --epmd-port P [--scope S]
 *           [--pubsub PUBSUB_NAME]
 *
 * It starts the pg scope S (default test_scope) and, with --pubsub, a
 * Phoenix-format PubSub. A process registered as `agent` answers
 * {From, Ref, Cmd} with {Ref, Result}:
 *   spawn                      a member process (it just waits) -> Pid
 *   {kill, Pid}                exit(Pid, kill)                  -> ok
 *   {join, Group, PidOrPids}   nodus_pg_join                    -> ok
 *   {leave, Group, PidOrPids}  nodus_pg_leave                   -> ok | not_joined
 *   {get_members, Group}       -> [Pid]
 *   {get_local_members, Group} -> [Pid]
 *   which_groups               -> [Group]
 *   {connect, Node}            starts connecting                -> ok
 *   nodes                      -> [Node]
 *   {monitor_scope}            agent watches the scope; notes go to
 *                              the `received` list              -> {Ref, Map}
 *   {subscribe, Topic}         agent subscribes (Topic binary)  -> ok
 *   {unsubscribe, Topic}       -> ok
 *   {broadcast, Topic, Msg}    -> ok    ({broadcast_from, ...} excludes
 *   {local_broadcast, T, M}    -> ok     the agent)
 *   {broadcast_from, T, M}     -> ok
 *   received                   what the agent got otherwise, oldest
 *                              first, and forgets it           -> [Msg]
 * stdout: "ready NAME" once up. stdin: "quit" or end of input stops it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

static nodus_node *node;
static nodus_pg *scope;
static nodus_pubsub *pubsub;
static nodus_term *got; /* what the agent received, for `received` */
static size_t ngot, capgot;

static void member(nodus_proc *self, const nodus_term *msg) {}

static nodus_term atom(const char *s) {
  nodus_term t;
  return nodus_mk_atom(&t, s) ? nodus_nil() : t;
}

static nodus_term rc_term(int rc) {
  if (rc == 0) return atom("ok");
  if (rc == NODUS_ENOMATCH) return atom("not_joined");
  nodus_term t;
  return nodus_build(&t, "{error, ~a}", nodus_err_name(rc)) ? atom("error") : t;
}

static char *topic_text(const nodus_term *t) {
  size_t n;
  const uint8_t *d = nodus_bin_data(t, &n, NULL);
  char *s = d || t->type == NODUS_T_BINARY ? malloc(n + 1) : NULL;
  if (s) {
    memcpy(s, d, n);
    s[n] = 0;
  }
  return s;
}

static int pubsub_cmd(nodus_proc *self, const nodus_term *cmd,
                      nodus_term *result) {
  const nodus_term *t, *m;
  nodus_term copy;
  char *topic = NULL;
  int rc = NODUS_EINVAL;
  if (!pubsub) return NODUS_ESTATE;
  if (nodus_match(cmd, "{subscribe, ~t}", &t) == 0 && (topic = topic_text(t))) {
    rc = nodus_pubsub_subscribe(pubsub, topic, nodus_self(self));
  } else if (nodus_match(cmd, "{unsubscribe, ~t}", &t) == 0 &&
             (topic = topic_text(t))) {
    rc = nodus_pubsub_unsubscribe(pubsub, topic, nodus_self(self));
  } else if (nodus_match(cmd, "{broadcast, ~t, ~t}", &t, &m) == 0 &&
             (topic = topic_text(t)) && nodus_copy(&copy, m) == 0) {
    rc = nodus_pubsub_broadcast(pubsub, topic, copy);
  } else if (nodus_match(cmd, "{local_broadcast, ~t, ~t}", &t, &m) == 0 &&
             (topic = topic_text(t)) && nodus_copy(&copy, m) == 0) {
    rc = nodus_pubsub_local_broadcast(pubsub, topic, copy);
  } else if (nodus_match(cmd, "{broadcast_from, ~t, ~t}", &t, &m) == 0 &&
             (topic = topic_text(t)) && nodus_copy(&copy, m) == 0) {
    rc = nodus_pubsub_broadcast_from(pubsub, nodus_self(self), topic, copy);
  } else {
    free(topic);
    return NODUS_ENOMATCH; /* not a pub/sub command */
  }
  free(topic);
  *result = rc_term(rc);
  return 0;
}

static nodus_term run(nodus_proc *self, const nodus_term *cmd) {
  const nodus_term *a, *b;
  nodus_term r;
  if (nodus_is_atom(cmd, "spawn")) {
    nodus_proc_spec spec = {.on_message = member};
    if (nodus_spawn_from(self, &spec, false, &r)) return atom("error");
    return r;
  }
  if (nodus_match(cmd, "{kill, ~t}", &a) == 0) {
    nodus_term kill = atom("kill");
    return rc_term(nodus_exit_signal(self, a, &kill));
  }
  if (nodus_match(cmd, "{join, ~t, ~t}", &a, &b) == 0)
    return rc_term(nodus_pg_join(scope, a, b));
  if (nodus_match(cmd, "{leave, ~t, ~t}", &a, &b) == 0)
    return rc_term(nodus_pg_leave(scope, a, b));
  if (nodus_match(cmd, "{get_members, ~t}", &a) == 0)
    return nodus_pg_get_members(scope, a, &r) ? atom("error") : r;
  if (nodus_match(cmd, "{get_local_members, ~t}", &a) == 0)
    return nodus_pg_get_local_members(scope, a, &r) ? atom("error") : r;
  if (nodus_is_atom(cmd, "which_groups"))
    return nodus_pg_which_groups(scope, &r) ? atom("error") : r;
  if (nodus_match(cmd, "{connect, ~t}", &a) == 0 && a->type == NODUS_T_ATOM)
    return rc_term(nodus_node_connect(node, a->v.atom));
  if (nodus_is_atom(cmd, "nodes"))
    return nodus_node_list(node, &r) ? atom("error") : r;
  if (nodus_match(cmd, "{monitor_scope}") == 0) {
    nodus_term ref, map;
    if (nodus_pg_monitor_scope(scope, nodus_self(self), &ref, &map))
      return atom("error");
    return nodus_build(&r, "{~t, ~t}", ref, map) ? atom("error") : r;
  }
  if (nodus_is_atom(cmd, "received")) {
    if (!ngot || nodus_mk_list(&r, ngot)) return nodus_nil();
    for (size_t i = 0; i < ngot; i++) nodus_list_set(&r, i, got[i]); /* moved */
    ngot = 0;
    return r;
  }
  if (pubsub_cmd(self, cmd, &r) == 0) return r;
  return atom("unknown_command");
}

static void agent(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *ref, *cmd;
  if (nodus_match(msg, "{~t, ~t, ~t}", &from, &ref, &cmd) == 0 &&
      from->type == NODUS_T_PID && ref->type == NODUS_T_REF) {
    nodus_term reply, r;
    nodus_copy(&r, ref);
    if (nodus_build(&reply, "{~t, ~t}", r, run(self, cmd)) == 0)
      nodus_send_from(self, from, reply);
    return;
  }
  /* Anything else (broadcasts, pg notes) is kept for `received`. */
  if (ngot == capgot) {
    size_t cap = capgot ? capgot * 2 : 16;
    nodus_term *g = realloc(got, cap * sizeof *g);
    if (!g) return;
    got = g;
    capgot = cap;
  }
  if (nodus_copy(&got[ngot], msg) == 0) ngot++;
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  const char *scope_name = "test_scope", *pubsub_name = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--name")) opts.name = argv[i + 1];
    else if (!strcmp(argv[i], "--cookie")) opts.cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) opts.epmd_port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--scope")) scope_name = argv[i + 1];
    else if (!strcmp(argv[i], "--pubsub")) pubsub_name = argv[i + 1];
  }
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (!rc) rc = nodus_pg_start(node, scope_name, &scope);
  if (!rc && pubsub_name) {
    nodus_pubsub_opts po = {.name = pubsub_name};
    rc = nodus_pubsub_start(node, &po, &pubsub);
  }
  nodus_proc_spec spec = {.on_message = agent, .register_name = "agent"};
  if (!rc) rc = nodus_spawn(node, &spec, NULL);
  if (rc) {
    fprintf(stderr, "pg_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  printf("ready %s\n", nodus_atom_text(nodus_node_name(node), NULL));
  fflush(stdout);
  char line[256];
  while (fgets(line, sizeof line, stdin) && strncmp(line, "quit", 4)) {
  }
  nodus_pubsub_close(pubsub);
  nodus_pg_close(scope);
  nodus_node_close(node);
  for (size_t i = 0; i < ngot; i++) nodus_term_free(&got[i]);
  free(got);
  return 0;
}
