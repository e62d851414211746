/* The top of the library: the default service table and the public
 * nodus_node_init that hands the runtime the table to run. It lives above
 * every layer so the runtime never names the services it starts. */
#include "nodus/service.h"
#include "runtime/node_internal.h"

const nodus_service *const nodus_default_services[] = {
    &nodus_service_net_kernel,
    &nodus_service_rpc,
    &nodus_service_erpc,
    &nodus_service_introspect,
    &nodus_service_pg,
    &nodus_service_global,
    &nodus_service_discovery,
    &nodus_service_dsup,
    &nodus_service_cron,
    NULL,
};

int nodus_node_init(const nodus_node_opts *opts, nodus_node **node) {
  if (!node || !opts) return NODUS_EINVAL;
  return rt_node_init(node, opts,
                      opts->services ? opts->services : nodus_default_services);
}
