/* The smallest node program: it calls nothing but nodus_node_init,
 * nodus_node_start and nodus_node_close, and is linked with the static
 * library, where an object nobody references is never linked. It must
 * still answer rpc, erpc and the nodus module as every node does: the
 * node's service table starts them, not the linker.
 *
 *   minimal_node --name NAME@HOST --cookie C --epmd-port P
 * prints "ready NAME", runs until stdin closes (or reads "quit").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--name")) opts.name = argv[i + 1];
    else if (!strcmp(argv[i], "--cookie")) opts.cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) opts.epmd_port = atoi(argv[i + 1]);
  }
  opts.epmd_mode = NODUS_EPMD_SYSTEM;
  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "minimal_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  if ((rc = nodus_node_start(node))) {
    fprintf(stderr, "minimal_node: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  printf("ready %s\n", nodus_atom_text(nodus_node_name(node), NULL));
  fflush(stdout);
  char line[256];
  while (fgets(line, sizeof line, stdin) && strncmp(line, "quit", 4)) {
  }
  nodus_node_close(node);
  return 0;
}
