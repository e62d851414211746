/* The node's eye on the process-wide atom table. Atoms are never freed,
 * so once peers' terms bring the table near the part they may use
 * (limit - reserve, nodus_atom_set_reserve) it stays there: say so once,
 * loudly, and let the drop lines (rate-limited, distribution/peers.c)
 * tell the rest. Known atoms, node names and the node's own atoms go on
 * working. */
#include "runtime/node_internal.h"

/* Near full: within a tenth of what peers' terms may fill. */
static bool near_full(const nodus_atom_table_stats *st) {
  size_t quota = st->limit - st->reserve;
  return st->count >= quota - quota / 10 || st->wire_refused > 0;
}

void rt_atom_watch(nodus_node *node) {
  if (node->atoms_warned) return;
  nodus_atom_table_stats st;
  nodus_atom_stats(&st);
  if (!near_full(&st)) return;
  node->atoms_warned = true;
  rt_log(node, NODUS_LOG_ERROR, "atoms",
         "ATOM TABLE NEAR FULL: %zu of %zu atoms; terms from peers may "
         "create atoms up to %zu, then a message that needs a new atom is "
         "dropped (not its connection); %zu stay reserved for node names "
         "and this node's own atoms (logged once)",
         st.count, st.limit, st.limit - st.reserve, st.reserve);
}
