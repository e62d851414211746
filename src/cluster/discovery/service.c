/* The discovery service: starts the spec of NODUS_DISCOVER (when set and
 * the node is not hidden: the CLI's nodes must not join what they look
 * at) and serves nodus:discovery/0, every topology running on the node
 * with what it lists and its last error. */
#include <stdlib.h>

#include "cluster/discovery/core_internal.h"
#include "nodus/otp.h"
#include "nodus/service.h"

typedef struct svc {
  nodus_discovery *d; /* cleared when the node's close ends it */
} svc;

static int fn_discovery(nodus_node *node, const nodus_term *args,
                        nodus_term *result, void *arg) {
  if (args->type != NODUS_T_NIL &&
      !(args->type == NODUS_T_LIST && nodus_size(args) == 0)) {
    (void)nodus_mk_atom(result, "undef");
    return NODUS_EEXIT;
  }
  return disc_describe_node(node, result);
}

static int discovery_start(nodus_node *node, void **state) {
  svc *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  *state = s;
  int rc = nodus_register_function_on_loop(node, "nodus", "discovery",
                                           fn_discovery, NULL);
  if (rc == NODUS_ESTATE) { /* no rpc service */
    nodus_log(node, NODUS_LOG_INFO, "discovery",
              "no rpc service: nodus:discovery/0 not served");
    rc = 0;
  }
  if (rc) return rc;
  const char *spec = getenv("NODUS_DISCOVER");
  if (!spec || !spec[0] || disc_node_hidden(node)) return 0;
  char err[512];
  nodus_discovery_opts o = {.spec = spec};
  rc = nodus_discovery_start(node, &o, err, sizeof err, &s->d);
  if (rc) {
    nodus_log(node, NODUS_LOG_ERROR, "discovery", "NODUS_DISCOVER='%s': %s",
              spec, err);
    return rc;
  }
  disc_set_owner_slot(s->d, &s->d);
  return 0;
}

static void discovery_stop(nodus_node *node, void *state) {
  svc *s = state;
  if (s && s->d) nodus_discovery_stop(s->d); /* not reached: close ends it */
  free(s);
}

const nodus_service nodus_service_discovery = {"discovery", discovery_start,
                                               discovery_stop};
