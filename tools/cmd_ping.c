/* nodus ping NODE: net_adm:ping from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nodus.h"

static const char ping_usage[] =
    "usage: nodus ping NODE [--cookie COOKIE] [--timeout MS] "
    "[--epmd-port PORT | --port PORT]\n"
    "Connects to NODE (name@host, or name for this host) as a hidden node\n"
    "and asks its net_kernel, as net_adm:ping does. Prints pong (exit 0)\n"
    "or pang (exit 1), and for pang says why on stderr: the node rejected\n"
    "our cookie (NODUS_EAUTH), or it is down or unreachable\n"
    "(NODUS_ENOCONN). The cookie defaults to ~/.erlang.cookie. --port\n"
    "dials NODE's distribution port directly, without epmd.\n";

int cmd_ping(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(ping_usage, stdout);
    return CLI_OK;
  }
  const char *target = NULL, *cookie = NULL;
  int timeout_ms = 7000, epmd_port = 0, port = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--cookie") && v) cookie = v, i++;
    else if (!strcmp(a, "--timeout") && v) timeout_ms = atoi(v), i++;
    else if (!strcmp(a, "--epmd-port") && v) epmd_port = atoi(v), i++;
    else if (!strcmp(a, "--port") && v) port = atoi(v), i++;
    else if (a[0] != '-' && !target) target = a;
    else {
      fprintf(stderr, "nodus ping: unexpected '%s'\n%s", a, ping_usage);
      return CLI_USAGE;
    }
  }
  if (!target) {
    fputs(ping_usage, stderr);
    return CLI_USAGE;
  }
  char full[512], self[64];
  if (!strchr(target, '@')) {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    char *dot = strchr(host, '.');
    if (dot) *dot = 0;
    snprintf(full, sizeof full, "%s@%s", target, host);
  } else {
    snprintf(full, sizeof full, "%s", target);
  }
  const char *at = strchr(full, '@');
  snprintf(self, sizeof self, "nodus_ping_%d", (int)getpid());
  char self_full[600];
  snprintf(self_full, sizeof self_full, "%s%s", self, at);

  nodus_node_opts opts = {.name = self_full,
                          .cookie = cookie,
                          .listen_address = "0.0.0.0",
                          .epmd_mode = NODUS_EPMD_NONE,
                          .epmd_port = epmd_port,
                          .hidden = true};
  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "nodus ping: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  nodus_atom peer;
  rc = nodus_node_start(node);
  if (!rc) rc = nodus_atom_intern(full, strlen(full), &peer);
  if (!rc && port) rc = nodus_node_set_peer_port(node, peer, port);
  if (!rc) rc = nodus_node_ping(node, peer, timeout_ms);
  nodus_node_close(node);
  puts(rc == 0 ? "pong" : "pang");
  if (rc == NODUS_EAUTH)
    fprintf(stderr, "nodus ping: %s rejected our cookie (%s)\n", full,
            nodus_err_name(rc));
  else if (rc)
    fprintf(stderr, "nodus ping: %s: %s (%s)\n", full, nodus_strerror(rc),
            nodus_err_name(rc));
  return rc == 0 ? CLI_OK : CLI_FAIL;
}
