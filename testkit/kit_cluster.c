/* A kit's life: up, the state file that lets separate commands share a
 * cluster, the fault log, and teardown that also runs on exit and on the
 * signals that end a test run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kit_internal.h"

#ifndef NODUS_KIT_LIBEXEC_FROM_BIN
#define NODUS_KIT_LIBEXEC_FROM_BIN "../libexec/nodus"
#endif
#ifndef NODUS_KIT_BIN_DIR
#define NODUS_KIT_BIN_DIR "build/bin"
#endif

/* ---- live kits, for atexit and signal teardown -------------------------- */

static nodus_kit *live[8];

static void forget(nodus_kit *kit) {
  for (int k = 0; k < 8; k++)
    if (live[k] == kit) live[k] = NULL;
}

static void teardown(nodus_kit *kit);

static void at_exit(void) {
  for (int k = 0; k < 8; k++)
    if (live[k]) {
      nodus_kit *kit = live[k];
      live[k] = NULL;
      teardown(kit);
    }
}

/* Not async-signal-safe in the strict sense (teardown forks `ip`, which is
 * fine, and reads files); the process is about to die either way, and a
 * leaked namespace would outlive it. */
static void on_signal(int sig) {
  at_exit();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void track(nodus_kit *kit) {
  static bool installed;
  if (!installed) {
    installed = true;
    atexit(at_exit);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
  }
  for (int k = 0; k < 8; k++)
    if (!live[k]) {
      live[k] = kit;
      return;
    }
}

/* ---- fault log ---------------------------------------------------------- */

const char *nodus_kit_fault_log(const nodus_kit *kit) {
  static __thread char path[600];
  snprintf(path, sizeof path, "%s/faults.jsonl", kit->dir);
  return path;
}

static void json_escape(char *out, size_t size, const char *in) {
  size_t o = 0;
  for (; *in && o + 3 < size; in++) {
    if (*in == '"' || *in == '\\') out[o++] = '\\';
    out[o++] = (*in == '\n') ? ' ' : *in;
  }
  out[o] = 0;
}

void kit_fault(nodus_kit *kit, const char *fault, const char *fmt, ...) {
  char detail[512], esc[1100];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  json_escape(esc, sizeof esc, detail);
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  int64_t now = nodus_kit_now_ns();
  char line[1400];
  int len = snprintf(line, sizeof line,
                     "{\"time\":%lld,\"wall\":%lld.%03ld,\"fault\":\"%s\","
                     "\"detail\":\"%s\"}\n",
                     (long long)now, (long long)wall.tv_sec,
                     wall.tv_nsec / 1000000, fault, esc);
  int fd = open(nodus_kit_fault_log(kit), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, line, (size_t)len);
    (void)w;
    close(fd);
  }
  if (kit->log) {
    fprintf(kit->log, "[kit %.3f] %s %s\n", (double)now / 1e9, fault, detail);
    fflush(kit->log);
  }
}

void nodus_kit_note(nodus_kit *kit, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  kit_fault(kit, "note", "%s", detail);
}

/* ---- state file ---------------------------------------------------------- */

int kit_save(nodus_kit *kit) {
  char path[600], tmp[610];
  snprintf(path, sizeof path, "%s/cluster", kit->dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return NODUS_EIO;
  fprintf(f, "prefix %s\nnetns %d\npersist %d\nelixir %d\nsubnet %d\n",
          kit->prefix, kit->netns, kit->persist, kit->elixir, kit->subnet);
  fprintf(f, "epmd_port %d\nepmd_pid %d\nticktime %d\nready_timeout %d\n",
          kit->epmd_port, (int)kit->epmd_pid, kit->ticktime_s,
          kit->ready_timeout_ms);
  fprintf(f, "cookie %s\nbin_dir %s\nexec %s\nnodes %d\n", kit->cookie,
          kit->bin_dir, kit->exec, kit->n);
  for (int k = 0; k < kit->n_exec_args; k++)
    fprintf(f, "arg %s\n", kit->exec_args[k]);
  for (int i = 1; i <= kit->n; i++) {
    kit_node *nd = &kit->nodes[i];
    fprintf(f, "node %d %d %d %d %d %s %s %s\n", i, nd->kind, (int)nd->pid,
            nd->paused, nd->skew_s, nd->name, nd->ip,
            nd->ns[0] ? nd->ns : "-");
    if (kit->delay_pids[i])
      fprintf(f, "delay %d %d\n", i, (int)kit->delay_pids[i]);
  }
  fclose(f);
  return rename(tmp, path) == 0 ? 0 : NODUS_EIO;
}

int nodus_kit_attach(nodus_kit **out, const char *state_dir) {
  *out = NULL;
  char path[600];
  snprintf(path, sizeof path, "%s/cluster", state_dir);
  FILE *f = fopen(path, "r");
  if (!f) return NODUS_ENOTFOUND;
  nodus_kit *kit = calloc(1, sizeof *kit);
  if (!kit) {
    fclose(f);
    return NODUS_ENOMEM;
  }
  snprintf(kit->dir, sizeof kit->dir, "%s", state_dir);
  char line[1024], key[32], val[900];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    val[0] = 0;
    if (sscanf(line, "%31s %899[^\n]", key, val) < 1) continue;
    int iv = atoi(val);
    if (!strcmp(key, "prefix")) snprintf(kit->prefix, sizeof kit->prefix, "%.*s", (int)sizeof kit->prefix - 1, val);
    else if (!strcmp(key, "netns")) kit->netns = iv;
    else if (!strcmp(key, "persist")) kit->persist = iv;
    else if (!strcmp(key, "elixir")) kit->elixir = iv;
    else if (!strcmp(key, "subnet")) kit->subnet = iv;
    else if (!strcmp(key, "epmd_port")) kit->epmd_port = iv;
    else if (!strcmp(key, "epmd_pid")) kit->epmd_pid = iv;
    else if (!strcmp(key, "ticktime")) kit->ticktime_s = iv;
    else if (!strcmp(key, "ready_timeout")) kit->ready_timeout_ms = iv;
    else if (!strcmp(key, "cookie")) snprintf(kit->cookie, sizeof kit->cookie, "%.*s", (int)sizeof kit->cookie - 1, val);
    else if (!strcmp(key, "bin_dir")) snprintf(kit->bin_dir, sizeof kit->bin_dir, "%.*s", (int)sizeof kit->bin_dir - 1, val);
    else if (!strcmp(key, "exec")) snprintf(kit->exec, sizeof kit->exec, "%.*s", (int)sizeof kit->exec - 1, val);
    else if (!strcmp(key, "nodes")) kit->n = iv;
    else if (!strcmp(key, "arg") && kit->n_exec_args < KIT_MAX_EXEC_ARGS)
      kit->exec_args[kit->n_exec_args++] = strdup(val);
    else if (!strcmp(key, "delay")) {
      int i, pid;
      if (sscanf(val, "%d %d", &i, &pid) == 2 && i >= 1 && i <= NODUS_KIT_MAX_NODES)
        kit->delay_pids[i] = pid;
    } else if (!strcmp(key, "node")) {
      int i, kind, pid, paused, skew;
      char name[KIT_NAME_MAX], ip[32], ns[64];
      if (sscanf(val, "%d %d %d %d %d %127s %31s %63s", &i, &kind, &pid,
                 &paused, &skew, name, ip, ns) == 8 &&
          i >= 1 && i <= NODUS_KIT_MAX_NODES) {
        kit_node *nd = &kit->nodes[i];
        nd->kind = kind, nd->pid = pid, nd->paused = paused, nd->skew_s = skew;
        snprintf(nd->name, sizeof nd->name, "%s", name);
        snprintf(nd->ip, sizeof nd->ip, "%s", ip);
        snprintf(nd->ns, sizeof nd->ns, "%s", strcmp(ns, "-") ? ns : "");
      }
    }
  }
  fclose(f);
  if (!kit->prefix[0] || kit->n < 1 || kit->n > NODUS_KIT_MAX_NODES) {
    free(kit);
    return NODUS_EINVAL;
  }
  *out = kit;
  return 0;
}

/* ---- up and down --------------------------------------------------------- */

static void random_text(char *out, size_t len, const char *alphabet) {
  unsigned char raw[64];
  int fd = open("/dev/urandom", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
  if (fd >= 0) close(fd);
  if (n < (ssize_t)len)
    for (size_t k = 0; k < len; k++)
      raw[k] = (unsigned char)(rand() ^ getpid() ^ (int)nodus_kit_now_ns());
  size_t alen = strlen(alphabet);
  for (size_t k = 0; k < len; k++) out[k] = alphabet[raw[k] % alen];
  out[len] = 0;
}

static void default_bin_dir(char *buf, size_t size) {
  const char *env = getenv("NODUS_BIN_DIR");
  if (env && env[0]) {
    snprintf(buf, size, "%s", env);
    return;
  }
  /* Beside the running program, when the kit's helpers are there (the
   * nodus CLI and the tests all live in build/bin), or where cmake
   * --install put them relative to an installed CLI (libexec/nodus). */
  char exe[512];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    char probe[1200], dir[400], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", dirname(exe)); /* may point into exe */
    const char *places[] = {"", "/" NODUS_KIT_LIBEXEC_FROM_BIN};
    for (int i = 0; i < 2; i++) {
      snprintf(probe, sizeof probe, "%s%s", dir, places[i]);
      if (!realpath(probe, real) || strlen(real) >= 1000 || strlen(real) >= size)
        continue;
      snprintf(probe, sizeof probe, "%.1000s/nodus_kit_connect", real);
      if (access(probe, X_OK) == 0) {
        snprintf(buf, size, "%.*s", (int)size - 1, real);
        return;
      }
    }
  }
  snprintf(buf, size, "%s", NODUS_KIT_BIN_DIR);
}

/* A reused state dir: the last cluster's logs and FIFOs would confuse
 * this one's readiness and replies. */
static void clear_stale(const char *dir) {
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    const char *n = e->d_name;
    size_t len = strlen(n);
    bool ours = (n[0] == 'n' && (strstr(n, ".log") || strstr(n, ".in"))) ||
                !strcmp(n, "faults.jsonl") || !strcmp(n, "epmd.log");
    if (ours && len < 200) {
      char path[800];
      snprintf(path, sizeof path, "%s/%s", dir, n);
      unlink(path);
    }
  }
  if (d) closedir(d);
}

static void teardown(nodus_kit *kit) {
  for (int i = 1; i <= kit->n; i++) {
    if (kit->nodes[i].pid) kit_kill_wait(kit->nodes[i].pid, 3000);
    if (kit->delay_pids[i]) kit_kill_wait(kit->delay_pids[i], 3000);
    kit->nodes[i].pid = kit->delay_pids[i] = 0;
  }
  if (kit->epmd_pid) kit_kill_wait(kit->epmd_pid, 3000);
  kit->epmd_pid = 0;
  if (kit->netns) kit_net_down(kit);
  /* Anything a node left behind (erl's epmd, inet_gethost) carries the
   * run's mark in its environment. */
  if (!kit->netns) nodus_kit_cleanup(kit->prefix);
  kit_fault(kit, "down", "%s", kit->prefix);
  if (kit->own_dir)
    kit_rm_rf(kit->dir);
  else {
    char path[600];
    snprintf(path, sizeof path, "%s/cluster", kit->dir);
    unlink(path);
  }
}

void nodus_kit_detach(nodus_kit *kit) {
  if (!kit) return;
  forget(kit);
  for (int k = 0; k < kit->n_exec_args; k++) free(kit->exec_args[k]);
  free(kit);
}

void nodus_kit_down(nodus_kit *kit) {
  if (!kit) return;
  forget(kit);
  teardown(kit);
  nodus_kit_detach(kit);
}

static int try_netns(nodus_kit *kit) {
  int rc = kit_net_up(kit);
  if (rc) kit_net_down(kit);
  return rc;
}

int nodus_kit_up(nodus_kit **out, const nodus_kit_opts *o) {
  *out = NULL;
  if (o->nodes < 1 || o->nodes > NODUS_KIT_MAX_NODES || o->beam < 0 ||
      o->beam > o->nodes)
    return NODUS_EINVAL;
  nodus_kit *kit = calloc(1, sizeof *kit);
  if (!kit) return NODUS_ENOMEM;
  char hex[8];
  random_text(hex, 6, "0123456789abcdef");
  snprintf(kit->prefix, sizeof kit->prefix, NODUS_KIT_FAMILY "%s", hex);
  if (o->cookie)
    snprintf(kit->cookie, sizeof kit->cookie, "%s", o->cookie);
  else
    random_text(kit->cookie, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  if (o->bin_dir)
    snprintf(kit->bin_dir, sizeof kit->bin_dir, "%s", o->bin_dir);
  else
    default_bin_dir(kit->bin_dir, sizeof kit->bin_dir);
  bool default_exec = !o->exec;
  if (o->exec)
    snprintf(kit->exec, sizeof kit->exec, "%s", o->exec);
  else
    snprintf(kit->exec, sizeof kit->exec, "%s/echo_node", kit->bin_dir);
  kit->ticktime_s = o->ticktime_s > 0 ? o->ticktime_s : 4;
  kit->ready_timeout_ms = o->ready_timeout_ms > 0 ? o->ready_timeout_ms : 20000;
  kit->persist = o->persist;
  kit->elixir = o->elixir;
  kit->log = o->log;
  kit->n = o->nodes;
  if (default_exec) { /* echo_node takes --ticktime; any binary may not */
    char t[16];
    snprintf(t, sizeof t, "%d", kit->ticktime_s);
    kit->exec_args[kit->n_exec_args++] = strdup("--ticktime");
    kit->exec_args[kit->n_exec_args++] = strdup(t);
  }
  for (const char *const *a = o->exec_args; a && *a; a++) {
    if (kit->n_exec_args == KIT_MAX_EXEC_ARGS) {
      if (o->log) fprintf(o->log, "nodus testkit: more than %d arguments for the nodes\n",
                          KIT_MAX_EXEC_ARGS);
      for (int k = 0; k < kit->n_exec_args; k++) free(kit->exec_args[k]);
      free(kit);
      return NODUS_ETOOBIG;
    }
    kit->exec_args[kit->n_exec_args++] = strdup(*a);
  }
  if (o->state_dir) {
    snprintf(kit->dir, sizeof kit->dir, "%s", o->state_dir);
  } else {
    snprintf(kit->dir, sizeof kit->dir, "/tmp/nodus-kit-%s", kit->prefix);
    kit->own_dir = true;
  }
  if (mkdir(kit->dir, 0700) != 0 && errno != EEXIST) {
    free(kit);
    return NODUS_EIO;
  }
  clear_stale(kit->dir);
  if (!kit->persist) track(kit);

  int rc = 0;
  if (o->net != NODUS_KIT_NET_LOOPBACK) {
    rc = try_netns(kit);
    kit->netns = rc == 0;
    if (rc && o->net == NODUS_KIT_NET_NETNS) goto fail;
  }
  if (!kit->netns) {
    fprintf(kit->log ? kit->log : stderr,
            "nodus testkit: %s: loopback mode, every node on 127.0.0.1; "
            "partition, loss and delay are unsupported (kill, restart, "
            "pause, resume, skew work)\n",
            o->net == NODUS_KIT_NET_LOOPBACK ? "asked for"
                                             : "network namespaces unavailable");
    kit->subnet = 0;
    kit->epmd_port = 0; /* kit_epmd_start picks a free one */
    for (int i = 1; i <= kit->n; i++) {
      kit->nodes[i].ns[0] = 0;
      snprintf(kit->nodes[i].ip, sizeof kit->nodes[i].ip, "127.0.0.1");
    }
  } else {
    kit->epmd_port = 4369;
  }
  for (int i = 1; i <= kit->n; i++) {
    kit_node *nd = &kit->nodes[i];
    nd->kind = i > kit->n - o->beam ? NODUS_KIT_BEAM : NODUS_KIT_C;
    /* Via a local buffer: gcc's -Wrestrict (sanitizer builds) cannot tell
     * the fields of *kit apart. */
    char name[sizeof nd->name];
    snprintf(name, sizeof name, "%s_n%d@%s", kit->prefix, i, nd->ip);
    memcpy(nd->name, name, sizeof name);
  }
  kit_save(kit);
  if (!kit->netns && (rc = kit_epmd_start(kit))) goto fail;
  for (int i = 1; i <= kit->n; i++)
    if ((rc = kit_node_start(kit, i))) goto fail;
  kit_save(kit);
  for (int i = 1; i <= kit->n; i++)
    if ((rc = kit_node_wait_ready(kit, i, kit->ready_timeout_ms))) {
      fprintf(kit->log ? kit->log : stderr,
              "nodus testkit: node %d (%s) not ready: %s (log: %s/n%d.log)\n",
              i, kit->nodes[i].name, nodus_strerror(rc), kit->dir, i);
      goto fail;
    }
  kit_fault(kit, "up", "%s nodes=%d beam=%d mode=%s subnet=10.77.%d.0/24",
            kit->prefix, kit->n, o->beam, kit->netns ? "netns" : "loopback",
            kit->subnet);
  *out = kit;
  return 0;
fail:
  nodus_kit_down(kit);
  return rc ? rc : NODUS_EIO;
}

/* ---- accessors ----------------------------------------------------------- */

static bool valid(const nodus_kit *kit, int i) { return i >= 1 && i <= kit->n; }
int nodus_kit_size(const nodus_kit *kit) { return kit->n; }
bool nodus_kit_netns(const nodus_kit *kit) { return kit->netns; }
const char *nodus_kit_prefix(const nodus_kit *kit) { return kit->prefix; }
const char *nodus_kit_cookie(const nodus_kit *kit) { return kit->cookie; }
const char *nodus_kit_state_dir(const nodus_kit *kit) { return kit->dir; }
const char *nodus_kit_node_name(const nodus_kit *kit, int i) {
  return valid(kit, i) ? kit->nodes[i].name : NULL;
}
const char *nodus_kit_node_ip(const nodus_kit *kit, int i) {
  return valid(kit, i) ? kit->nodes[i].ip : NULL;
}
const char *nodus_kit_node_netns(const nodus_kit *kit, int i) {
  return valid(kit, i) && kit->nodes[i].ns[0] ? kit->nodes[i].ns : NULL;
}
int nodus_kit_node_kind(const nodus_kit *kit, int i) {
  return valid(kit, i) ? kit->nodes[i].kind : -1;
}
int nodus_kit_node_pid(const nodus_kit *kit, int i) {
  return valid(kit, i) && kit_pid_alive(kit->nodes[i].pid) ? kit->nodes[i].pid
                                                           : 0;
}
bool nodus_kit_node_paused(const nodus_kit *kit, int i) {
  return valid(kit, i) && kit->nodes[i].paused;
}

int nodus_kit_fixture(nodus_kit **kit, int nodes, int beam,
                      const char *const *exec_args) {
  nodus_kit_opts o = {.nodes = nodes, .beam = beam, .exec_args = exec_args,
                      .log = stderr};
  if (geteuid() != 0)
    fprintf(stderr, "nodus testkit: not root; namespaces will fail, "
                    "falling back to loopback\n");
  int rc = nodus_kit_up(kit, &o);
  if (rc)
    fprintf(stderr, "nodus testkit: cluster up failed: %s\n",
            nodus_strerror(rc));
  return rc;
}
