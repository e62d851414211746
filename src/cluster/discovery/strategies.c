/* The strategies this build has: one line each, only those that exist. */
#include "cluster/discovery/discovery_internal.h"

const disc_strategy *const disc_strategies[] = {
    &disc_static,
    &disc_epmd,
    &disc_hosts_file,
    &disc_dir,
    &disc_gossip,
    &disc_dns,
    &disc_postgres,
    NULL,
};
