/* The node and epmd: register with the system epmd, or with an embedded
 * one, or not at all. Registration happens during nodus_node_init, by
 * running the (not yet started) loop until epmd answers, because the
 * creation it hands out goes into every pid the node makes. */
#include <stdlib.h>
#include <string.h>

#include "distribution/epmd_client.h"
#include "distribution/epmd_server.h"
#include "runtime/node_internal.h"

struct reg_wait {
  nodus_node *node;
  bool done;
  int status;
  uint32_t creation;
};

static void on_registered(epmd_op *op, int status, uint32_t creation,
                          void *data) {
  struct reg_wait *w = data;
  if (!w->done) {
    w->done = true;
    w->status = status;
    w->creation = creation;
    return;
  }
  /* Called again later: the epmd connection is gone. */
  rt_log(w->node, NODUS_LOG_WARN, "epmd",
         "lost the connection to epmd: %s is no longer registered",
         w->node->name_text);
}

static void epmd_server_log(void *arg, int level, const char *msg) {
  rt_log(arg, level, "epmd", "%s", msg);
}

static int start_embedded(nodus_node *node) {
  epmd_server_opts so = {.address = "0.0.0.0",
                         .port = node->opts.epmd_port,
                         .log = epmd_server_log,
                         .arg = node};
  int rc = epmd_server_start(&node->loop, &so, &node->epmd_srv);
  if (rc == 0)
    rt_log(node, NODUS_LOG_INFO, "epmd", "embedded epmd listening on port %d",
           node->opts.epmd_port);
  return rc;
}

static int try_register(nodus_node *node, struct reg_wait *w) {
  epmd_client_opts co = {.host = "127.0.0.1", .port = node->opts.epmd_port};
  memset(w, 0, sizeof *w);
  w->node = node;
  int rc = epmd_register(&node->loop, &co, node->name_text,
                         (uint16_t)node->port, node->opts.hidden,
                         on_registered, w, &node->epmd_reg);
  if (rc) return rc;
  while (!w->done && uv_run(&node->loop, UV_RUN_ONCE)) {
  }
  if (!w->done) return NODUS_ETIMEDOUT;
  if (w->status) {
    node->epmd_reg = NULL; /* a failed registration frees itself */
    return w->status;
  }
  return 0;
}


int rt_epmd_start(nodus_node *node) {
  int mode = node->opts.epmd_mode;
  if (mode == NODUS_EPMD_NONE) return 0;
  if (mode == NODUS_EPMD_EMBEDDED) {
    int rc = start_embedded(node);
    if (rc) return rc;
  }
  struct reg_wait *w = calloc(1, sizeof *w);
  if (!w) return NODUS_ENOMEM;
  node->epmd_wait = w;
  int rc = try_register(node, w);
  if (rc && mode == NODUS_EPMD_AUTO && !node->epmd_srv) {
    /* Nobody answers on the epmd port: be the epmd. */
    rt_log(node, NODUS_LOG_INFO, "epmd",
           "no epmd on port %d (%s); starting an embedded one",
           node->opts.epmd_port, nodus_strerror(rc));
    rc = start_embedded(node);
    if (!rc) rc = try_register(node, w);
  }
  if (rc) {
    rt_log(node, NODUS_LOG_ERROR, "epmd", "cannot register %s with epmd: %s",
           node->name_text, nodus_strerror(rc));
    return rc;
  }
  node->creation = w->creation;
  return 0;
}

void rt_epmd_close(nodus_node *node) {
  if (node->epmd_reg) {
    epmd_unregister(node->epmd_reg);
    node->epmd_reg = NULL;
  }
  if (node->epmd_srv) {
    epmd_server_close(node->epmd_srv, NULL, NULL);
    node->epmd_srv = NULL;
  }
}
