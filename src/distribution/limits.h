/* What a node takes from its peers (nodus_node_opts' limits; README,
 * "Limits"), and what its connections use of them together. Over a limit
 * only the offending message is dropped, with a rate-limited log line;
 * its connection stays up. */
#ifndef NODUS_DIST_LIMITS_H
#define NODUS_DIST_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "distribution/ratelimit.h"

#define DIST_DEFAULT_MAX_MESSAGE ((size_t)256 << 20)
#define DIST_DEFAULT_MAX_NEW_ATOMS 131072

typedef struct dist_limits {
  size_t max_message;            /* bytes of one message */
  size_t max_new_atoms;          /* atoms one message may create */
  /* Shared by every connection of the node (on its loop). */
  dist_ratelimit drop_log; /* lines about dropped messages */
} dist_limits;

/* Zero fields get their defaults. */
void dist_limits_defaults(dist_limits *l);

#endif
