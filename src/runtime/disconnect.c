/* erlang:disconnect_node/1. */
#include "runtime/node_internal.h"

int nodus_node_disconnect(nodus_node *node, nodus_atom peer) {
  (void)node;
  (void)peer;
  return NODUS_EUNSUPPORTED; /* WIP: lands with the peer table's close */
}
