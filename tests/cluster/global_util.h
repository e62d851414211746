/* Shared by test_cluster_global.c and global_campaign.c: a kit of
 * global_kit_node C nodes and BEAM nodes running global_kit.erl, asked the
 * same commands the same way ("@qN CMD" in, "@qN ANSWER" in the log). */
#ifndef NODUS_GLOBAL_UTIL_H
#define NODUS_GLOBAL_UTIL_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_util.h"

#ifndef GLOBAL_KIT_ERL
#define GLOBAL_KIT_ERL "tests/cluster/global_kit.erl"
#endif

static unsigned gk_seq;

static inline void gk_bin_path(const char *prog, char *buf, size_t size) {
  const char *dir = getenv("NODUS_BIN_DIR");
  char self[512];
  ssize_t n;
  if ((!dir || !dir[0]) &&
      (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    self[n] = 0;
    dir = dirname(self);
  }
  snprintf(buf, size, "%s/%s", dir ? dir : "build/bin", prog);
}

/* One line to node i's stdin FIFO (atomic: < PIPE_BUF). */
static inline bool gk_write(nodus_kit *kit, int i, const char *line) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.in", nodus_kit_state_dir(kit), i);
  int fd = open(path, O_WRONLY | O_NONBLOCK);
  if (fd < 0) return false;
  size_t len = strlen(line);
  bool ok = write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
  close(fd);
  return ok;
}

/* Sends cmd to node i; *id gets the answer's tag ("@qN"). */
static inline bool gk_send(nodus_kit *kit, int i, const char *cmd, char *id,
                    size_t idsize) {
  char line[1024];
  unsigned n = __atomic_add_fetch(&gk_seq, 1, __ATOMIC_SEQ_CST);
  snprintf(id, idsize, "@q%u", n);
  if (nodus_kit_node_kind(kit, i) == NODUS_KIT_BEAM)
    snprintf(line, sizeof line, "@z%u global_kit:cmd(\"%s %s\").", n, id, cmd);
  else
    snprintf(line, sizeof line, "%s %s", id, cmd);
  return gk_write(kit, i, line);
}

/* The rest of the first line of node i's log after mark that starts with
 * prefix (malloc'd), or NULL. */
static inline char *gk_line_after(nodus_kit *kit, int i, long mark, const char *prefix) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.log", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *line = NULL, *hit = NULL;
  size_t cap = 0, plen = strlen(prefix);
  ssize_t n;
  if (fseek(f, mark, SEEK_SET) == 0)
    while (!hit && (n = getline(&line, &cap, f)) > 0)
      if (line[n - 1] == '\n' && !strncmp(line, prefix, plen)) {
        line[n - 1] = 0;
        hit = strdup(line + plen);
      }
  free(line);
  fclose(f);
  return hit;
}

/* The answer to id after mark, waiting up to ms. */
static inline char *gk_wait(nodus_kit *kit, int i, long mark, const char *id, int ms) {
  char prefix[40];
  snprintf(prefix, sizeof prefix, "%s ", id);
  char *answer = NULL;
  NODUS_EVENTUALLY((answer = gk_line_after(kit, i, mark, prefix)) != NULL, ms);
  return answer;
}

static inline char *gk_ask(nodus_kit *kit, int i, const char *cmd, int ms) {
  char id[32];
  long mark = nodus_kit_log_mark(kit, i);
  if (!gk_send(kit, i, cmd, id, sizeof id)) return NULL;
  return gk_wait(kit, i, mark, id, ms);
}

/* global_kit.erl into BEAM node i. */
static inline bool gk_load(nodus_kit *kit, int i) {
  char expr[1200], *reply = NULL;
  snprintf(expr, sizeof expr,
           "{ok, global_kit, B} = compile:file(\"%s\", [binary, report]), "
           "code:load_binary(global_kit, \"global_kit.erl\", B)%s.",
           GLOBAL_KIT_ERL,
           /* NODUS_LOG=info: global's info lines (clashes) from BEAM too */
           getenv("NODUS_LOG") && !strcmp(getenv("NODUS_LOG"), "info")
               ? ", logger:set_primary_config(level, info), {module, global_kit}"
               : "");
  bool ok = nodus_kit_eval(kit, i, expr, 20000, &reply) == 0 && reply &&
            strstr(reply, "{module,global_kit}");
  if (!ok) fprintf(stderr, "loading global_kit on n%d: %s\n", i, reply ? reply : "?");
  free(reply);
  return ok;
}

/* n nodes, the last `beam` of them BEAM, ticktime s; C nodes run
 * global_kit_node. */
static inline int gk_up(nodus_kit **kit, int n, int beam, int ticktime) {
  static char exec[600], tick[16];
  gk_bin_path("global_kit_node", exec, sizeof exec);
  snprintf(tick, sizeof tick, "%d", ticktime);
  static const char *args[3];
  args[0] = "--ticktime";
  args[1] = tick;
  args[2] = NULL;
  nodus_kit_opts o = {.nodes = n, .beam = beam, .exec = exec, .exec_args = args,
                      .ticktime_s = ticktime, .log = stderr};
  int rc = nodus_kit_up(kit, &o);
  if (rc) {
    fprintf(stderr, "cluster up failed: %s\n", nodus_strerror(rc));
    return rc;
  }
  for (int i = 1; i <= n; i++)
    if (nodus_kit_node_kind(*kit, i) == NODUS_KIT_BEAM && !gk_load(*kit, i)) {
      nodus_kit_down(*kit);
      return NODUS_EIO;
    }
  return 0;
}

static inline bool gk_alive(nodus_kit *kit, int i) {
  pid_t pid = nodus_kit_node_pid(kit, i);
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Pings across until every running node holds a connection to every
 * other running one (neither side reconnects by itself after a heal). */
static inline bool gk_mesh(nodus_kit *kit, int ms) {
  int n = nodus_kit_size(kit);
  int64_t deadline = nodus_kit_now_ns() + (int64_t)ms * 1000000;
  while (nodus_kit_now_ns() < deadline) {
    bool all = true;
    for (int a = 1; a <= n; a++)
      for (int b = a + 1; b <= n; b++) {
        if (!gk_alive(kit, a) || !gk_alive(kit, b)) continue;
        if (nodus_kit_connected(kit, a, b) && nodus_kit_connected(kit, b, a))
          continue;
        all = false;
        nodus_kit_ping(kit, a, b, 1000);
      }
    if (all) return true;
    nodus_kit_sleep_ms(100);
  }
  return false;
}

/* Node i's table ("N=P,..."), malloc'd, or NULL. */
static inline char *gk_table(nodus_kit *kit, int i) {
  char *t = gk_ask(kit, i, "table", 5000);
  if (t && !strncmp(t, "table ", 6)) {
    memmove(t, t + 6, strlen(t + 6) + 1);
    return t;
  }
  if (t && !strcmp(t, "table")) {
    t[0] = 0;
    return t;
  }
  free(t);
  return NULL;
}

/* Every running node's table is the same; *common gets it (malloc'd). */
static inline bool gk_tables_agree(nodus_kit *kit, char **common, bool show) {
  int n = nodus_kit_size(kit);
  char *first = NULL;
  bool same = true;
  for (int i = 1; i <= n; i++) {
    if (!gk_alive(kit, i)) continue;
    char *t = gk_table(kit, i);
    if (show) fprintf(stderr, "   n%d table: %s\n", i, t ? t : "(no answer)");
    if (!t) same = false;
    else if (!first) first = t;
    else {
      if (strcmp(first, t)) same = false;
      free(t);
    }
  }
  if (common) *common = first;
  else free(first);
  return same && first;
}

/* The pid (PIDSTR) that has `name` in a table text, into buf; false when
 * the name is absent. */
static inline bool gk_table_pid(const char *table, const char *name, char *buf,
                         size_t size) {
  size_t nl = strlen(name);
  for (const char *p = table; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
      snprintf(buf, size, "%.*s", (int)(len - nl - 1), p + nl + 1);
      return true;
    }
    p = end ? end + 1 : NULL;
  }
  return false;
}

/* Node index whose full name starts PIDSTR (the part before '/'). */
static inline int gk_pid_node(nodus_kit *kit, const char *pidstr) {
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    const char *nm = nodus_kit_node_name(kit, i);
    size_t l = strlen(nm);
    if (!strncmp(pidstr, nm, l) && pidstr[l] == '/') return i;
  }
  return 0;
}

/* The last lines of every node's log, on stderr. */
static inline void gk_dump_logs(nodus_kit *kit, int lines) {
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    char cmd[700];
    snprintf(cmd, sizeof cmd,
             "echo '--- n%d log (tail)' >&2; tail -n %d '%s/n%d.log' >&2", i,
             lines, nodus_kit_state_dir(kit), i);
    if (system(cmd) != 0) fprintf(stderr, "(no log for n%d)\n", i);
  }
}

#endif
