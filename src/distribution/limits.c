/* Defaults of what a node takes from its peers (see limits.h). */
#include "distribution/limits.h"

void dist_limits_defaults(dist_limits *l) {
  if (!l->max_message) l->max_message = DIST_DEFAULT_MAX_MESSAGE;
  if (!l->max_new_atoms) l->max_new_atoms = DIST_DEFAULT_MAX_NEW_ATOMS;
  if (!l->max_fragmented) l->max_fragmented = DIST_DEFAULT_MAX_FRAGMENTED;
  if (!l->max_fragmented_total)
    l->max_fragmented_total = DIST_DEFAULT_MAX_FRAGMENTED_TOTAL;
  if (!l->max_fragment_bytes)
    l->max_fragment_bytes = DIST_DEFAULT_MAX_FRAGMENT_BYTES;
  if (!l->fragment_timeout_ms)
    l->fragment_timeout_ms = DIST_DEFAULT_FRAGMENT_TIMEOUT_MS;
  l->frag.max_open = l->max_fragmented_total;
  l->frag.max_bytes = l->max_fragment_bytes;
}
