/* The node's service table (nodus/service.h): the layers above the
 * runtime that a node runs, started in order once the node is made and
 * stopped in reverse once its processes are gone. The runtime knows them
 * only as {name, start, stop}; the table is fixed at init, so lookups need
 * no lock. */
#include <stdlib.h>

#include "nodus/service.h"
#include "runtime/node_internal.h"

int rt_services_set(nodus_node *node, const nodus_service *const *table) {
  size_t n = 0;
  while (table && table[n]) {
    if (!table[n]->start) return NODUS_EINVAL;
    n++;
  }
  if (n == 0) return 0;
  node->services = calloc(n, sizeof *node->services);
  if (!node->services) return NODUS_ENOMEM;
  for (size_t i = 0; i < n; i++) node->services[i].service = table[i];
  node->n_services = n;
  return 0;
}

int rt_services_start(nodus_node *node) {
  RT_ASSERT_LOOP(node);
  for (size_t i = 0; i < node->n_services; i++) {
    rt_service_slot *s = &node->services[i];
    int rc = s->service->start(node, &s->state);
    s->started = true; /* stop runs even after a failed start */
    if (rc) {
      rt_log(node, NODUS_LOG_ERROR, "node", "starting service %s failed: %s",
             s->service->name, nodus_strerror(rc));
      return rc;
    }
  }
  return 0;
}

void rt_services_stop(nodus_node *node) {
  for (size_t i = node->n_services; i-- > 0;) {
    rt_service_slot *s = &node->services[i];
    if (s->started && s->service->stop) s->service->stop(node, s->state);
    s->started = false;
    s->state = NULL;
  }
  free(node->services);
  node->services = NULL;
  node->n_services = 0;
}

void *nodus_node_service(nodus_node *node, const nodus_service *service) {
  if (!node || !service) return NULL;
  for (size_t i = 0; i < node->n_services; i++)
    if (node->services[i].service == service) return node->services[i].state;
  return NULL;
}
