/* Extensions: layers above the runtime that every node runs (the otp
 * layer's rex, erpc and introspection; cluster services). The runtime
 * must not know them, so they register themselves once per program and
 * each node starts and stops whatever is registered. */
#include "runtime/node_internal.h"

static pthread_mutex_t ext_lock = PTHREAD_MUTEX_INITIALIZER;
static const rt_extension *exts[RT_EXT_MAX];
static int n_exts;

int rt_extension_register(const rt_extension *ext) {
  if (!ext || !ext->start) return NODUS_EINVAL;
  pthread_mutex_lock(&ext_lock);
  int slot = NODUS_ENOMEM;
  for (int i = 0; i < n_exts; i++)
    if (exts[i] == ext) slot = i; /* registered twice: same slot */
  if (slot < 0 && n_exts < RT_EXT_MAX) {
    slot = n_exts;
    exts[n_exts++] = ext;
  }
  pthread_mutex_unlock(&ext_lock);
  return slot;
}

void *rt_extension_data(nodus_node *node, int slot) {
  return slot >= 0 && slot < RT_EXT_MAX ? node->ext_data[slot] : NULL;
}

static int ext_count(void) {
  pthread_mutex_lock(&ext_lock);
  int n = n_exts;
  pthread_mutex_unlock(&ext_lock);
  return n;
}

int rt_extensions_start(nodus_node *node) {
  int n = ext_count();
  for (int i = 0; i < n; i++) {
    int rc = exts[i]->start(node, &node->ext_data[i]);
    if (rc) {
      rt_log(node, NODUS_LOG_ERROR, "node", "starting %s failed: %s",
             exts[i]->name, nodus_strerror(rc));
      return rc; /* the node's close stops the ones that started */
    }
  }
  return 0;
}

void rt_extensions_stop(nodus_node *node) {
  int n = ext_count();
  for (int i = n - 1; i >= 0; i--) {
    if (exts[i]->stop && node->ext_data[i]) exts[i]->stop(node, node->ext_data[i]);
    node->ext_data[i] = NULL;
  }
}
