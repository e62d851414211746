/* Logging: one line per event through the node's hook; the default hook
 * prints warnings and worse to stderr (NODUS_LOG=info|debug|error sets the
 * threshold). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/node_internal.h"

static int log_threshold(void) {
  static int level = -1;
  if (level < 0) {
    const char *e = getenv("NODUS_LOG");
    level = NODUS_LOG_WARN;
    if (e && !strcmp(e, "info")) level = NODUS_LOG_INFO;
    if (e && !strcmp(e, "debug")) level = NODUS_LOG_DEBUG;
    if (e && !strcmp(e, "error")) level = NODUS_LOG_ERROR;
  }
  return level;
}

static void default_log(void *arg, int level, const char *node,
                        const char *component, const char *msg) {
  static const char *const names[] = {"error", "warning", "info", "debug"};
  if (level > log_threshold()) return;
  fprintf(stderr, "nodus %s [%s] %s: %s\n", node,
          names[level < 0 || level > 3 ? 0 : level], component, msg);
}

void rt_vlog(nodus_node *node, int level, const char *component,
             const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  nodus_log_fn fn = node->opts.log ? node->opts.log : default_log;
  fn(node->opts.log_arg, level, node->name_text, component, msg);
}

void nodus_log(nodus_node *node, int level, const char *component,
               const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rt_vlog(node, level, component, fmt, ap);
  va_end(ap);
}

