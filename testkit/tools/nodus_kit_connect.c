/* nodus_kit_connect: the test kit's probe, run inside a node's host.
 *
 *   nodus_kit_connect --cookie C --host IP [--epmd-port P] [--timeout MS]
 *                     [--via NODE] TARGET
 *
 * Pings TARGET from a short-lived hidden node (exit 0 pong, 1 pang). With
 * --via, it first makes NODE dial TARGET: it asks NODE's net_kernel
 * is_auth with a reply address on TARGET, and a nodus (or BEAM) node
 * connects to the node it answers to. That is how the kit reconnects C
 * nodes, which reconnect on the next send, without any control channel
 * into them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nodus.h>

static int atom(const char *text, nodus_atom *out) {
  return nodus_atom_intern(text, strlen(text), out);
}

int main(int argc, char **argv) {
  const char *cookie = NULL, *host = "127.0.0.1", *via = NULL, *target = NULL;
  int epmd_port = 0, timeout_ms = 2000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--cookie") && v) cookie = v, i++;
    else if (!strcmp(a, "--host") && v) host = v, i++;
    else if (!strcmp(a, "--epmd-port") && v) epmd_port = atoi(v), i++;
    else if (!strcmp(a, "--timeout") && v) timeout_ms = atoi(v), i++;
    else if (!strcmp(a, "--via") && v) via = v, i++;
    else if (a[0] != '-' && !target) target = a;
    else {
      fprintf(stderr, "nodus_kit_connect: unexpected '%s'\n", a);
      return 2;
    }
  }
  if (!target) {
    fprintf(stderr, "usage: nodus_kit_connect --cookie C --host IP "
                    "[--epmd-port P] [--timeout MS] [--via NODE] TARGET\n");
    return 2;
  }
  char self[160];
  snprintf(self, sizeof self, "kitprobe%d@%s", (int)getpid(), host);
  nodus_node_opts opts = {.name = self, .cookie = cookie,
                          .epmd_mode = NODUS_EPMD_NONE,
                          .epmd_port = epmd_port, .hidden = true};
  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (rc) {
    fprintf(stderr, "nodus_kit_connect: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_atom target_a, via_a, self_a;
  atom(target, &target_a);
  atom(self, &self_a);
  if (via && atom(via, &via_a) == 0 &&
      nodus_node_ping(node, via_a, timeout_ms) == 0) {
    nodus_term to = {0}, pid, ref, msg;
    if (nodus_build(&to, "{net_kernel, ~A}", via_a) == 0 &&
        nodus_mk_pid(&pid, target_a, 1, 0, 0) == 0 &&
        nodus_make_ref(node, &ref) == 0 &&
        nodus_build(&msg, "{~a, {~t, ~t}, {is_auth, ~A}}", "$gen_call", pid,
                    ref, self_a) == 0) {
      nodus_send(node, &to, msg);
      /* Messages keep their order per pair, so once this ping is answered
       * the request above has arrived. */
      nodus_node_ping(node, via_a, timeout_ms);
    }
    nodus_term_free(&to);
  }
  rc = nodus_node_ping(node, target_a, timeout_ms);
  nodus_node_close(node);
  puts(rc == 0 ? "pong" : "pang");
  return rc == 0 ? 0 : 1;
}
