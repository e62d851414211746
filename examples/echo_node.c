/* echo_node: the smallest useful nodus node.
 *
 * It joins a cluster as NAME and registers a process `echo`. Send it
 * {From, Msg} from Erlang or Elixir and it answers {echo, Msg}:
 *
 *   $ build/bin/echo_node --name echo --cookie secret
 *   $ erl -sname a -setcookie secret
 *   1> {echo, 'echo@myhost'} ! {self(), hello}, flush().
 *   Shell got {echo,hello}
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

static void echo(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *payload;
  if (nodus_match(msg, "{~t, ~t}", &from, &payload) != 0 ||
      nodus_type_of(from) != NODUS_T_PID)
    return; /* not for us: ignore, as a receive with no match would */
  nodus_term copy, reply;
  if (nodus_copy(&copy, payload) == 0 &&
      nodus_build(&reply, "{echo, ~t}", copy) == 0)
    nodus_send_from(self, from, reply);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: echo_node --name NAME [--cookie COOKIE] [--port PORT]\n"
          "                 [--epmd-port PORT | --no-epmd] [--ticktime SECONDS]\n"
          "Joins the cluster as NAME and echoes {From, Msg} as {echo, Msg}.\n");
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
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

  /* Signals are taken by sigwait below, not by handlers. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  nodus_node *node;
  int rc = nodus_node_init(&node, &opts);
  if (rc) {
    fprintf(stderr, "echo_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_proc_spec spec = {.on_message = echo, .register_name = "echo"};
  if ((rc = nodus_spawn(node, &spec, NULL)) || (rc = nodus_node_start(node))) {
    fprintf(stderr, "echo_node: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  printf("echo_node %s ready on port %d\n",
         nodus_atom_text(nodus_node_name(node), NULL), nodus_node_port(node));
  fflush(stdout);

  int sig;
  sigwait(&stop, &sig);
  nodus_node_close(node);
  return 0;
}
