/* erlang:disconnect_node/1 from C: what :global uses to keep partitions
 * from overlapping, and a user's way to drop a peer. */
#include <stdint.h>

#include "distribution/peers.h"
#include "runtime/node_internal.h"

static void disconnect_on_loop(nodus_node *node, void *arg) {
  dist_peers_disconnect(node->peers, (nodus_atom)(uintptr_t)arg);
}

int nodus_node_disconnect(nodus_node *node, nodus_atom peer) {
  if (!node) return NODUS_EINVAL;
  if (peer == node->name) return 0;
  return nodus_node_post(node, disconnect_on_loop, (void *)(uintptr_t)peer);
}
