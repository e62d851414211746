/* What the commands that ask one node (rpc, call, global) share: their
 * options, the peer's full name, and the hidden node they ask from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_peer_args(int argc, char **argv, int want, cli_peer_opts *o,
                  const char *usage, const char *cmd) {
  o->timeout_ms = 10000;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--cookie") && v) o->cookie = v, i++;
    else if (!strcmp(a, "--timeout") && v) o->timeout_ms = atoi(v), i++;
    else if (!strcmp(a, "--epmd-port") && v) o->epmd_port = atoi(v), i++;
    else if ((a[0] != '-' || o->npos == want - 1) && o->npos < want &&
             o->npos < CLI_PEER_MAX_POS)
      o->pos[o->npos++] = a; /* the last one may start with '-' */
    else {
      fprintf(stderr, "nodus %s: unexpected '%s'\n%s", cmd, a, usage);
      return CLI_USAGE;
    }
  }
  if (o->npos != want) {
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  return 0;
}

void cli_full_name(const char *target, char *out, size_t n) {
  if (strchr(target, '@')) {
    snprintf(out, n, "%s", target);
    return;
  }
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  char *dot = strchr(host, '.');
  if (dot) *dot = 0;
  snprintf(out, n, "%s@%s", target, host);
}

int cli_peer_node(const cli_peer_opts *o, const char *peer, const char *cmd,
                  nodus_node **node) {
  char self[600];
  snprintf(self, sizeof self, "nodus_%s_%d%s", cmd, (int)getpid(),
           strchr(peer, '@'));
  nodus_node_opts opts = {.name = self,
                          .cookie = o->cookie,
                          .listen_address = "0.0.0.0",
                          .epmd_mode = NODUS_EPMD_NONE,
                          .epmd_port = o->epmd_port,
                          .hidden = true};
  int rc = nodus_node_init(&opts, node);
  if (!rc) rc = nodus_node_start(*node);
  if (rc) fprintf(stderr, "nodus %s: %s\n", cmd, nodus_strerror(rc));
  return rc;
}
