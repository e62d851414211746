/* Nodes: start, readiness, out-of-band control, signals.
 *
 * Each node's stdin is a FIFO in the state dir that the node itself opens
 * read-write, so it never sees end-of-file when a controller (a CLI
 * invocation, say) closes its end. Its stdout and stderr append to a log
 * file there. A controller writes "@ID Expr." lines to the FIFO and finds
 * "@ID Reply" in the log: the same path works for a test holding the kit
 * and for separate `nodus cluster` commands. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit_internal.h"

/* The BEAM side's control loop, passed with -eval. It prints every nodeup
 * and nodedown it sees, and evaluates one expression per stdin line. Lines
 * are taken as lists whatever standard_io's mode: starting the elixir
 * application switches it to binaries, which would leave every later line
 * unmatched and every eval unanswered. */
static const char beam_loop[] =
    "Mon = fun M() -> receive"
    "  {nodeup, N} -> io:format(\"#nodeup ~s~n\", [N]), M();"
    "  {nodedown, N} -> io:format(\"#nodedown ~s~n\", [N]), M();"
    "  _ -> M() end end,"
    "spawn(fun() -> net_kernel:monitor_nodes(true), Mon() end),"
    "Eval = fun(Src) ->"
    "  try {ok, Ts, _} = erl_scan:string(Src),"
    "      {ok, Es} = erl_parse:parse_exprs(Ts),"
    "      {value, V, _} = erl_eval:exprs(Es, []), {ok, V}"
    "  catch C:E -> {error, {C, E}} end end,"
    "Loop = fun L() -> case io:get_line(\"\") of"
    "  eof -> halt(0);"
    "  {error, _} -> halt(0);"
    "  Line -> case string:split(string:trim(unicode:characters_to_list(Line)),"
    "                             \" \") of"
    "    [[$@ | _] = Id, Src] ->"
    "      S = lists:flatten(io_lib:format(\"~tp\", [Eval(Src)])),"
    "      io:format(\"~ts ~ts~n\", [Id,"
    "        re:replace(S, \"\\\\s*\\\\n\\\\s*\", \" \","
    "                   [global, unicode, {return, list}])]);"
    "    _ -> ok end, L() end end,"
    "io:format(\"#ready ~s~n\", [node()]),"
    "Loop().";

void kit_node_path(const nodus_kit *kit, int i, const char *suffix, char *buf,
                   size_t size) {
  snprintf(buf, size, "%s/n%d.%s", kit->dir, i, suffix);
}

static bool valid(const nodus_kit *kit, int i) { return i >= 1 && i <= kit->n; }

int nodus_kit_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* One try: epmd on kit->epmd_port, ready when `epmd -names` there answers.
 * NODUS_EBUSY when it died (someone took the port in between). */
static int epmd_try(nodus_kit *kit) {
  char port[16], logp[600];
  snprintf(port, sizeof port, "%d", kit->epmd_port);
  snprintf(logp, sizeof logp, "%s/epmd.log", kit->dir);
  const char *argv[] = {"epmd", "-port", port, NULL};
  kit_spawn s = {.argv = argv, .out_path = logp,
                 .die_with_parent = !kit->persist, .mark = kit->prefix};
  kit->epmd_pid = kit_spawn_proc(&s);
  if (kit->epmd_pid <= 0) return NODUS_EIO;
  int64_t deadline = nodus_kit_now_ns() + 10 * (int64_t)1000000000;
  while (nodus_kit_now_ns() < deadline) {
    const char *q[] = {"epmd", "-port", port, "-names", NULL};
    if (kit_run(NULL, q, NULL, 2000, NULL) == 0) return 0;
    if (!kit_pid_alive(kit->epmd_pid)) return NODUS_EBUSY;
    nodus_kit_sleep_ms(20);
  }
  return NODUS_ETIMEDOUT;
}

/* The loopback mode's epmd on a private port, so runs don't share one. A
 * fixed or time-derived port can be some other program's (an outgoing
 * connection's ephemeral port, say), so the port is one the kernel says is
 * free, and taken again if epmd could not bind it. */
int kit_epmd_start(nodus_kit *kit) {
  int rc = NODUS_EIO;
  for (int attempt = 0; attempt < 5; attempt++) {
    kit->epmd_port = nodus_kit_free_port();
    if (kit->epmd_port <= 0) return NODUS_EIO;
    rc = epmd_try(kit);
    if (rc != NODUS_EBUSY) break;
  }
  if (rc)
    fprintf(kit->log ? kit->log : stderr,
            "nodus testkit: epmd on port %d not ready: %s (log: %s/epmd.log)\n",
            kit->epmd_port, nodus_strerror(rc), kit->dir);
  return rc;
}

static void elixir_paths(const char **argv, int *argc, int max,
                         glob_t *g) {
  if (glob("/usr/lib/elixir/lib/*/ebin", 0, NULL, g) != 0) return;
  for (size_t k = 0; k < g->gl_pathc && *argc + 2 < max; k++) {
    argv[(*argc)++] = "-pa";
    argv[(*argc)++] = g->gl_pathv[k];
  }
}

int kit_node_start(nodus_kit *kit, int i) {
  kit_node *nd = &kit->nodes[i];
  char fifo[600], logp[600], tick[16], epmd_env[64], skew_env[64];
  kit_node_path(kit, i, "in", fifo, sizeof fifo);
  kit_node_path(kit, i, "log", logp, sizeof logp);
  if (access(fifo, F_OK) != 0 && mkfifo(fifo, 0600) != 0) return NODUS_EIO;
  snprintf(tick, sizeof tick, "%d", kit->ticktime_s);

  const char *env[8];
  int nenv = 0;
  if (!kit->netns) {
    snprintf(epmd_env, sizeof epmd_env, "ERL_EPMD_PORT=%d", kit->epmd_port);
    env[nenv++] = epmd_env;
  }
  if (nd->skew_s) {
    static const char pre[] =
        "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
    snprintf(skew_env, sizeof skew_env, "FAKETIME=%+ds", nd->skew_s);
    env[nenv++] = pre;
    env[nenv++] = skew_env;
    env[nenv++] = "FAKETIME_DONT_FAKE_MONOTONIC=1";
    env[nenv++] = "FAKETIME_NO_CACHE=1";
  }
  env[nenv] = NULL;

  const char *argv[96];
  int argc = 0;
  glob_t g = {0};
  if (nd->kind == NODUS_KIT_BEAM) {
    argv[argc++] = "erl";
    argv[argc++] = "-name";
    argv[argc++] = nd->name;
    argv[argc++] = "-setcookie";
    argv[argc++] = kit->cookie;
    argv[argc++] = "-kernel";
    argv[argc++] = "net_ticktime";
    argv[argc++] = tick;
    argv[argc++] = "-noshell";
    if (!kit->netns) {
      argv[argc++] = "-start_epmd";
      argv[argc++] = "false";
    }
    if (kit->elixir) elixir_paths(argv, &argc, 80, &g);
    argv[argc++] = "-eval";
    argv[argc++] = beam_loop;
  } else {
    argv[argc++] = kit->exec;
    argv[argc++] = "--name";
    argv[argc++] = nd->name;
    argv[argc++] = "--cookie";
    argv[argc++] = kit->cookie;
    for (int k = 0; k < kit->n_exec_args && argc < 90; k++)
      argv[argc++] = kit->exec_args[k];
  }
  argv[argc] = NULL;

  /* A marker line so log searches can start after a restart. */
  FILE *lf = fopen(logp, "a");
  if (lf) {
    fprintf(lf, "#kit start %s\n", nd->name);
    fclose(lf);
  }
  kit_spawn s = {.ns = kit->netns ? nd->ns : NULL, .argv = argv, .env = env,
                 .stdin_path = fifo, .out_path = logp,
                 .die_with_parent = !kit->persist, .mark = kit->prefix};
  nd->pid = kit_spawn_proc(&s);
  nd->paused = false;
  globfree(&g);
  return nd->pid > 0 ? 0 : NODUS_EIO;
}

long nodus_kit_log_mark(const nodus_kit *kit, int i) {
  char logp[600];
  kit_node_path(kit, i, "log", logp, sizeof logp);
  struct stat st;
  return stat(logp, &st) == 0 ? (long)st.st_size : 0;
}

int nodus_kit_log_count(const nodus_kit *kit, int i, long mark,
                        const char *needle) {
  if (!valid(kit, i)) return 0;
  char logp[600];
  kit_node_path(kit, i, "log", logp, sizeof logp);
  char *txt = kit_read_file(logp, mark, NULL);
  int count = 0;
  for (char *save, *line = txt ? strtok_r(txt, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save))
    if (strstr(line, needle)) count++;
  free(txt);
  return count;
}

/* A probe from node i's host: ping `target` (and, with via, first make
 * the C node `via` dial `target`). */
static int probe(nodus_kit *kit, int i, const char *via, const char *target,
                 int timeout_ms) {
  char helper[600], tmo[16], port[16];
  snprintf(helper, sizeof helper, "%s/nodus_kit_connect", kit->bin_dir);
  snprintf(tmo, sizeof tmo, "%d", timeout_ms);
  snprintf(port, sizeof port, "%d", kit->epmd_port);
  const char *argv[16];
  int argc = 0;
  argv[argc++] = helper;
  argv[argc++] = "--cookie";
  argv[argc++] = kit->cookie;
  argv[argc++] = "--host";
  argv[argc++] = kit->nodes[i].ip;
  argv[argc++] = "--epmd-port";
  argv[argc++] = port;
  argv[argc++] = "--timeout";
  argv[argc++] = tmo;
  if (via) {
    argv[argc++] = "--via";
    argv[argc++] = via;
  }
  argv[argc++] = target;
  argv[argc] = NULL;
  int rc = kit_run(kit->netns ? kit->nodes[i].ns : NULL, argv, NULL,
                   timeout_ms * 2 + 2000, NULL);
  return rc == 0 ? 0 : NODUS_ENOCONN;
}

int kit_node_wait_ready(nodus_kit *kit, int i, int timeout_ms) {
  kit_node *nd = &kit->nodes[i];
  long mark = 0; /* the last "#kit start" line tells this life apart */
  char logp[600];
  kit_node_path(kit, i, "log", logp, sizeof logp);
  int64_t deadline = nodus_kit_now_ns() + (int64_t)timeout_ms * 1000000;
  int64_t next_probe = 0;
  while (nodus_kit_now_ns() < deadline) {
    if (!kit_pid_alive(nd->pid)) return NODUS_EIO;
    char *txt = kit_read_file(logp, mark, NULL);
    char *life = txt;
    for (char *p = txt; p && (p = strstr(p, "#kit start")); p++) life = p;
    bool ready = false;
    if (life) {
      ready = strstr(life + 10, nd->kind == NODUS_KIT_BEAM ? "#ready" : "ready");
    }
    free(txt);
    if (ready) return 0;
    /* Any nodus binary: whether it prints "ready" or not, it is ready when
     * it answers a ping from its own host. */
    if (nd->kind == NODUS_KIT_C && nodus_kit_now_ns() >= next_probe) {
      if (probe(kit, i, NULL, nd->name, 500) == 0) return 0;
      next_probe = nodus_kit_now_ns() + 300000000;
    }
    nodus_kit_sleep_ms(10);
  }
  return NODUS_ETIMEDOUT;
}

int nodus_kit_eval(nodus_kit *kit, int i, const char *expr, int timeout_ms,
                   char **reply) {
  if (reply) *reply = NULL;
  if (!valid(kit, i)) return NODUS_EINVAL;
  if (kit->nodes[i].kind != NODUS_KIT_BEAM) return NODUS_EBADTYPE;
  char fifo[600], logp[600], id[64];
  kit_node_path(kit, i, "in", fifo, sizeof fifo);
  kit_node_path(kit, i, "log", logp, sizeof logp);
  snprintf(id, sizeof id, "@%dx%u ", (int)getpid(), ++kit->seq);
  long mark = nodus_kit_log_mark(kit, i);
  size_t len = strlen(id) + strlen(expr) + 2;
  char *line = malloc(len);
  if (!line) return NODUS_ENOMEM;
  snprintf(line, len, "%s%s\n", id, expr);
  for (char *p = line; p[1]; p++)
    if (*p == '\n') *p = ' ';
  int fd = open(fifo, O_WRONLY | O_NONBLOCK);
  ssize_t w = fd >= 0 ? write(fd, line, strlen(line)) : -1;
  if (fd >= 0) close(fd);
  free(line);
  if (w < 0) return NODUS_EIO;
  int64_t deadline = nodus_kit_now_ns() + (int64_t)timeout_ms * 1000000;
  while (nodus_kit_now_ns() < deadline) {
    char *txt = kit_read_file(logp, mark, NULL);
    char *hit = txt ? strstr(txt, id) : NULL;
    if (hit && strchr(hit, '\n')) {
      hit += strlen(id);
      *strchr(hit, '\n') = 0;
      if (reply) *reply = strdup(hit);
      free(txt);
      return 0;
    }
    free(txt);
    if (!kit_pid_alive(kit->nodes[i].pid)) return NODUS_ENOPROC;
    nodus_kit_sleep_ms(5);
  }
  return NODUS_ETIMEDOUT;
}

int nodus_kit_run_on(nodus_kit *kit, int i, const char *const *argv,
                     int timeout_ms, char **out) {
  if (!valid(kit, i)) return NODUS_EINVAL;
  return kit_run(kit->netns ? kit->nodes[i].ns : NULL, argv, NULL, timeout_ms,
                 out);
}

int nodus_kit_ping(nodus_kit *kit, int from, int to, int timeout_ms) {
  if (!valid(kit, from) || !valid(kit, to)) return NODUS_EINVAL;
  if (kit->nodes[from].kind == NODUS_KIT_BEAM) {
    char expr[300], *reply = NULL;
    snprintf(expr, sizeof expr, "net_adm:ping('%s').", kit->nodes[to].name);
    int rc = nodus_kit_eval(kit, from, expr, timeout_ms + 8000, &reply);
    bool pong = rc == 0 && reply && !strcmp(reply, "{ok,pong}");
    free(reply);
    return rc ? rc : pong ? 0 : NODUS_ENOCONN;
  }
  return probe(kit, from, kit->nodes[from].name, kit->nodes[to].name,
               timeout_ms);
}

/* ---- signals ------------------------------------------------------------ */

int nodus_kit_kill(nodus_kit *kit, int i) {
  if (!valid(kit, i)) return NODUS_EINVAL;
  int rc = kit_kill_wait(kit->nodes[i].pid, 5000);
  kit->nodes[i].pid = 0;
  kit->nodes[i].paused = false;
  kit_save(kit);
  kit_fault(kit, "kill", "node=%d", i);
  return rc;
}

int nodus_kit_restart(nodus_kit *kit, int i) {
  if (!valid(kit, i)) return NODUS_EINVAL;
  if (kit->nodes[i].pid) kit_kill_wait(kit->nodes[i].pid, 5000);
  int rc = kit_node_start(kit, i);
  if (!rc) rc = kit_node_wait_ready(kit, i, kit->ready_timeout_ms);
  kit_save(kit);
  kit_fault(kit, "restart", "node=%d rc=%d", i, rc);
  return rc;
}

int nodus_kit_pause(nodus_kit *kit, int i) {
  if (!valid(kit, i) || !kit->nodes[i].pid) return NODUS_EINVAL;
  int rc = kit_stop_wait(kit->nodes[i].pid, 5000);
  if (rc) return rc;
  kit->nodes[i].paused = true;
  kit_save(kit);
  kit_fault(kit, "pause", "node=%d", i);
  return 0;
}

int nodus_kit_resume(nodus_kit *kit, int i) {
  if (!valid(kit, i) || !kit->nodes[i].pid) return NODUS_EINVAL;
  if (kill(kit->nodes[i].pid, SIGCONT)) return NODUS_ENOPROC;
  kit->nodes[i].paused = false;
  kit_save(kit);
  kit_fault(kit, "resume", "node=%d", i);
  return 0;
}

int nodus_kit_skew(nodus_kit *kit, int i, int seconds) {
  if (!valid(kit, i)) return NODUS_EINVAL;
  if (access("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
             R_OK) != 0 && seconds) {
    kit_fault(kit, "skew", "libfaketime is not installed");
    return NODUS_EUNSUPPORTED;
  }
  kit->nodes[i].skew_s = seconds;
  kit_fault(kit, "skew", "node=%d seconds=%d", i, seconds);
  return nodus_kit_restart(kit, i);
}

/* From node i's own view: BEAM asks nodes(); a C node's output says it, as
 * the last nodeup/nodedown line about j since this life's start (what
 * echo_node prints from nodus_node_events_subscribe). */
bool nodus_kit_connected(nodus_kit *kit, int i, int j) {
  if (!valid(kit, i) || !valid(kit, j)) return false;
  const char *name = kit->nodes[j].name;
  if (kit->nodes[i].kind == NODUS_KIT_BEAM) {
    char expr[300], *reply = NULL;
    snprintf(expr, sizeof expr, "lists:member('%s', nodes()).", name);
    bool yes = nodus_kit_eval(kit, i, expr, 5000, &reply) == 0 && reply &&
               !strcmp(reply, "{ok,true}");
    free(reply);
    return yes;
  }
  char logp[600], up[200], down[200];
  kit_node_path(kit, i, "log", logp, sizeof logp);
  snprintf(up, sizeof up, "nodeup %s", name);
  snprintf(down, sizeof down, "nodedown %s", name);
  char *txt = kit_read_file(logp, 0, NULL);
  if (!txt) return false;
  char *life = txt;
  for (char *p = txt; (p = strstr(p, "#kit start")); p++) life = p;
  bool state = false;
  for (char *save, *line = strtok_r(life, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    /* Whole-name match: the name ends the line or a space follows. */
    char *u = strstr(line, up), *d = strstr(line, down);
    if (u && (!u[strlen(up)] || u[strlen(up)] == ' ')) state = true;
    if (d && (!d[strlen(down)] || d[strlen(down)] == ' ')) state = false;
  }
  free(txt);
  return state;
}
