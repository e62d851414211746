/* echo_node: the smallest useful nodus node.
 *
 * It joins a cluster as NAME and registers a process `echo`. Send it
 * {From, Msg} from Erlang or Elixir and it answers {echo, Msg}:
 *
 *   $ build/bin/echo_node --name echo --cookie secret
 *   $ erl -sname a -setcookie secret
 *   1> {echo, 'echo@myhost'} ! {self(), hello}, flush().
 *   Shell got {echo,hello}
 *
 * With --join SCOPE:GROUP (repeatable) the echo process also joins pg
 * groups, so pg:get_members(SCOPE, GROUP) on any node finds it.
 *
 * With --global NAME (an atom) it is also registered under the :global
 * NAME, so any node of the cluster reaches it by that name alone:
 *
 *   $ build/bin/echo_node --name echo --cookie secret --global gecho
 *   iex> Node.connect(:"echo@myhost")
 *   iex> GenServer.call({:global, :gecho}, :hi)   # a call is echoed too
 *   {:echo, :hi}
 *   iex> :global.send(:gecho, {self(), :hello}); flush()
 *   {:echo, :hello}
 *
 * With --discover SPEC it finds and keeps connected the nodes of SPEC
 * (nodus/discovery.h, docs/discovery.md), reconnecting after a heal:
 *
 *   $ build/bin/echo_node --name a --discover 'epmd:localhost'
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>
#include <nodus/discovery.h>
#include <nodus/global.h>

static void echo(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *payload;
  nodus_term copy, reply;
  if (nodus_match(msg, "{'$gen_call', ~t, ~t}", &from, &payload) == 0) {
    /* gen_server:call(Echo, Msg) from Erlang: the reply is {echo, Msg} */
    if (nodus_copy(&copy, payload) == 0 &&
        nodus_build(&reply, "{echo, ~t}", copy) == 0)
      nodus_gen_reply(self, from, reply);
    return;
  }
  if (nodus_match(msg, "{~t, ~t}", &from, &payload) != 0 ||
      nodus_type_of(from) != NODUS_T_PID)
    return; /* not for us: ignore, as a receive with no match would */
  if (nodus_copy(&copy, payload) == 0 &&
      nodus_build(&reply, "{echo, ~t}", copy) == 0)
    nodus_send_from(self, from, reply);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: echo_node --name NAME [--cookie COOKIE] [--port PORT]\n"
          "                 [--epmd-port PORT | --no-epmd] [--ticktime SECONDS]\n"
          "                 [--join SCOPE:GROUP]... [--global NAME]\n"
          "                 [--discover SPEC]\n"
          "Joins the cluster as NAME and echoes {From, Msg} as {echo, Msg}\n"
          "(and gen_server:call(Echo, Msg) with {echo, Msg}). --join also puts\n"
          "the echo process in a pg group; --global NAME (an atom) registers it\n"
          "as the :global NAME, as global:register_name(NAME, Pid). --discover\n"
          "finds the nodes of SPEC and keeps them connected, e.g.\n"
          "'static:a@h1,b@h2' or 'epmd:h1,h2' (docs/discovery.md).\n");
}

/* Joins pid to GROUP (an atom) in the pg scope SCOPE. The scope runs until
 * the node closes, so the handle is released at once. */
static int join_group(nodus_node *node, const char *spec, const nodus_term *pid) {
  char scope[256];
  const char *colon = strchr(spec, ':');
  if (!colon || colon == spec || !colon[1] || colon - spec >= (long)sizeof scope)
    return NODUS_EINVAL;
  memcpy(scope, spec, (size_t)(colon - spec));
  scope[colon - spec] = 0;
  nodus_pg *pg;
  nodus_term group;
  int rc = nodus_pg_start(node, scope, &pg);
  if (rc) return rc;
  if (!(rc = nodus_mk_atom(&group, colon + 1))) rc = nodus_pg_join(pg, &group, pid);
  nodus_pg_release(pg);
  return rc;
}

/* Prints "#nodeup NODE" and "#nodedown NODE REASON" (BEAM's
 * nodedown_reason) as nodes come and go: the line the test kit watches. */
static void on_node_event(nodus_node *node, const nodus_node_event *ev,
                          void *arg) {
  if (ev->up)
    printf("#nodeup %s\n", nodus_atom_text(ev->node, NULL));
  else
    printf("#nodedown %s %s\n", nodus_atom_text(ev->node, NULL),
           nodus_atom_text(ev->reason, NULL));
  fflush(stdout);
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  const char *joins[16], *global_name = NULL, *discover = NULL;
  int njoins = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--name") && v) {
      opts.name = v, i++;
    } else if (!strcmp(a, "--cookie") && v) {
      opts.cookie = v, i++;
    } else if (!strcmp(a, "--port") && v) {
      opts.port = atoi(v), i++;
    } else if (!strcmp(a, "--no-epmd")) {
      opts.epmd_mode = NODUS_EPMD_NONE; /* peers dial our port directly */
    } else if (!strcmp(a, "--epmd-port") && v) {
      opts.epmd_port = atoi(v), i++;
    } else if (!strcmp(a, "--join") && v && njoins < 16) {
      joins[njoins++] = v, i++;
    } else if (!strcmp(a, "--discover") && v) {
      discover = v, i++;
    } else if (!strcmp(a, "--global") && v) {
      global_name = v, i++;
    } else if (!strcmp(a, "--ticktime") && v) {
      opts.net_ticktime_ms = (unsigned)atoi(v) * 1000, i++;
    } else {
      fprintf(stderr, "echo_node: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!opts.name) {
    usage(stderr);
    return 2;
  }

  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "echo_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_proc_spec spec = {.on_message = echo, .register_name = "echo"};
  nodus_term pid = {0};
  nodus_node_events *events;
  if (!(rc = nodus_node_events_subscribe(node, NODUS_NODES_ALL, on_node_event,
                                         NULL, &events)) &&
      !(rc = nodus_spawn(node, &spec, &pid)) && !(rc = nodus_node_start(node)))
    for (int i = 0; i < njoins && !rc; i++) rc = join_group(node, joins[i], &pid);
  if (!rc && global_name) {
    nodus_term name = {0};
    if (!(rc = nodus_mk_atom(&name, global_name)))
      rc = nodus_global_register(node, &name, &pid, NULL);
    if (rc == NODUS_EEXIST)
      fprintf(stderr, "echo_node: the global name '%s' is taken\n", global_name);
    nodus_term_free(&name);
  }
  nodus_term_free(&pid);
  char why[512] = "";
  nodus_discovery *disc = NULL;
  if (!rc && discover) {
    nodus_discovery_opts d = {.spec = discover};
    if ((rc = nodus_discovery_start(node, &d, why, sizeof why, &disc)))
      fprintf(stderr, "echo_node: --discover: %s\n", why);
  }
  if (rc) {
    fprintf(stderr, "echo_node: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  printf("echo_node %s ready on port %d\n",
         nodus_atom_text(nodus_node_name(node), NULL), nodus_node_port(node));
  fflush(stdout);

  /* Serves until SIGINT or SIGTERM. */
  rc = nodus_node_run_until_signal(node);
  nodus_discovery_stop(disc);
  nodus_node_close(node);
  return rc > 0 ? 0 : 1;
}
