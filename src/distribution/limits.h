/* What a node takes from its peers (nodus_node_opts' limits; README,
 * "Limits"), and what its connections use of them together. Over a limit
 * only the offending message is dropped, with a rate-limited log line;
 * its connection stays up. */
#ifndef NODUS_DIST_LIMITS_H
#define NODUS_DIST_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "distribution/ratelimit.h"

#include "distribution/frame.h"

#define DIST_DEFAULT_MAX_MESSAGE ((size_t)256 << 20)
#define DIST_DEFAULT_MAX_NEW_ATOMS 131072
#define DIST_DEFAULT_MAX_FRAGMENTED 64
#define DIST_DEFAULT_MAX_FRAGMENTED_TOTAL 1024
#define DIST_DEFAULT_MAX_FRAGMENT_BYTES ((size_t)1 << 30)
#define DIST_DEFAULT_FRAGMENT_TIMEOUT_MS 60000

typedef struct dist_limits {
  size_t max_message;            /* bytes of one message */
  size_t max_new_atoms;          /* atoms one message may create */
  unsigned max_fragmented;       /* messages in fragments at once, per
                                    connection */
  unsigned max_fragmented_total; /* the same over all connections */
  size_t max_fragment_bytes;     /* bytes they hold, over all connections */
  unsigned fragment_timeout_ms;  /* longest wait for a message's next
                                    fragment */
  /* Shared by every connection of the node (on its loop). */
  dist_defrag_shared frag; /* the two totals above, and their counts */
  dist_ratelimit drop_log; /* lines about dropped messages */
} dist_limits;

/* Zero fields get their defaults. */
void dist_limits_defaults(dist_limits *l);

#endif
