/* Defaults of what a node takes from its peers (see limits.h). */
#include "distribution/limits.h"

void dist_limits_defaults(dist_limits *l) {
  if (!l->max_message) l->max_message = DIST_DEFAULT_MAX_MESSAGE;
  if (!l->max_new_atoms) l->max_new_atoms = DIST_DEFAULT_MAX_NEW_ATOMS;
}
