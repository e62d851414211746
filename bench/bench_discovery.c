/* bench_discovery: the two halves of run_discovery.sh (bench/README.md).
 *
 *   bench_discovery mesh N DEADLINE_MS NAME LOG -- CMD ARG...
 *       Starts N nodes, CMD ARG... with every "%i" replaced by 1..N (NAME
 *       is node i's name, with "%i" too), each in a process group of its
 *       own, and reads their stdout: "#nodeup NODE" / "#nodedown NODE"
 *       (echo_node's lines; bench_discovery.erl prints the same), and a
 *       line with "ready" (echo_node's "... ready on port", the Erlang
 *       side's "#ready"), printed once a node started discovering. Full
 *       mesh: every node connected to the N-1 others at once. Then the
 *       memory of every node and every process under it (BEAM's
 *       erl_child_setup too) from /proc/PID/smaps_rollup, then SIGKILL to
 *       every group.
 *       The nodes' stderr and timestamped stdout go to LOG.
 *       Prints start_to_mesh_ms (from the first fork), last_ready_ms,
 *       ready_to_mesh_ms (from the last node's ready line: for gossip,
 *       from the last first heartbeat), pss_kib, rss_kib, procs.
 *
 *   bench_discovery latency K SECRET|-
 *       Gossip, one process: node lx listens; K times a fresh node lyI
 *       starts gossiping (its first heartbeat goes out at start), lx hears
 *       it (NODUS_DISCOVERY_FOUND) and dials it (nodeup). Prints per
 *       sample "lat I HEARD_TO_UP_US SENT_TO_UP_US", then the medians
 *       heard_to_up_ms and sent_to_up_ms.
 *
 * Nodes use the epmd on $ERL_EPMD_PORT. Output: "key value" lines; every
 * wait has a deadline. */
#define _GNU_SOURCE /* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nodus.h>
#include <nodus/discovery.h>

#define COOKIE "nodusbench"
#define HOST "127.0.0.1"

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what) {
  fprintf(stderr, "bench_discovery: %s\n", what);
  exit(1);
}

/* ---- mesh: N node processes --------------------------------------------- */

#define MAX_NODES 64

typedef struct child {
  pid_t pid;
  int fd; /* its stdout; -1 at EOF */
  char name[128];
  char line[1024];
  size_t len;
  int64_t ready_us; /* 0 until its ready line */
  int peers;        /* distinct expected nodes up now */
  bool up[MAX_NODES];
} child;

static child kids[MAX_NODES];
static int nkids;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

/* tmpl with every "%i" replaced by i (malloc'd). */
static char *subst(const char *tmpl, int i) {
  char num[16];
  int nl = snprintf(num, sizeof num, "%d", i);
  size_t cap = strlen(tmpl) * (size_t)(nl + 1) + 1, o = 0;
  char *out = malloc(cap);
  if (!out) die("out of memory");
  for (const char *p = tmpl; *p;) {
    if (p[0] == '%' && p[1] == 'i') memcpy(out + o, num, (size_t)nl), o += (size_t)nl, p += 2;
    else out[o++] = *p++;
  }
  out[o] = 0;
  return out;
}

static int kid_of(const char *name) {
  for (int j = 0; j < nkids; j++)
    if (!strcmp(kids[j].name, name)) return j;
  return -1;
}

static int meshed(void) {
  int n = 0;
  for (int i = 0; i < nkids; i++) n += kids[i].peers == nkids - 1;
  return n;
}

/* One line of node i's stdout, read at t. */
static void on_line(int i, const char *line, int64_t t) {
  child *k = &kids[i];
  char peer[256];
  int j;
  if (sscanf(line, "#nodeup %255s", peer) == 1) {
    if ((j = kid_of(peer)) >= 0 && j != i && !k->up[j]) k->up[j] = true, k->peers++;
  } else if (sscanf(line, "#nodedown %255s", peer) == 1) {
    if ((j = kid_of(peer)) >= 0 && k->up[j]) k->up[j] = false, k->peers--;
  } else if (!k->ready_us && strstr(line, "ready")) {
    k->ready_us = t;
  }
}

/* Reads what node i wrote; false at EOF (the node is gone). */
static bool read_kid(int i, int64_t t0, FILE *log) {
  child *k = &kids[i];
  char buf[4096];
  ssize_t n = read(k->fd, buf, sizeof buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) {
    close(k->fd), k->fd = -1;
    return false;
  }
  int64_t t = now_us();
  for (ssize_t b = 0; b < n; b++) {
    if (buf[b] != '\n') {
      if (k->len < sizeof k->line - 1) k->line[k->len++] = buf[b];
      continue;
    }
    k->line[k->len] = 0;
    fprintf(log, "[%d +%.1f ms] %s\n", i + 1, (t - t0) / 1e3, k->line);
    on_line(i, k->line, t);
    k->len = 0;
  }
  return true;
}

/* Pss and Rss (kB) of the nodes and of every process under them (BEAM's
 * erl_child_setup makes a session of its own: found by parent pid). */
#define MAX_PROCS 8192
static void memory(long *pss, long *rss, int *procs) {
  static int pid[MAX_PROCS], ppid[MAX_PROCS];
  static bool ours[MAX_PROCS];
  int n = 0;
  *pss = *rss = 0, *procs = 0;
  DIR *d = opendir("/proc");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && n < MAX_PROCS) {
    char path[300], buf[1024];
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *rp = strrchr(buf, ')'); /* the command may hold spaces */
    if (!rp || sscanf(rp + 2, "%*c %d", &ppid[n]) != 1) continue;
    pid[n] = atoi(e->d_name);
    ours[n] = false;
    for (int i = 0; i < nkids && !ours[n]; i++) ours[n] = pid[n] == kids[i].pid;
    n++;
  }
  closedir(d);
  for (bool more = true; more;) { /* descendants, a generation a pass */
    more = false;
    for (int a = 0; a < n; a++)
      for (int b = 0; b < n && !ours[a]; b++)
        if (ours[b] && ppid[a] == pid[b]) ours[a] = more = true;
  }
  for (int a = 0; a < n; a++) {
    if (!ours[a]) continue;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid[a]);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    long v;
    while (fgets(buf, sizeof buf, f)) {
      if (sscanf(buf, "Rss: %ld kB", &v) == 1) *rss += v;
      else if (sscanf(buf, "Pss: %ld kB", &v) == 1) *pss += v;
    }
    fclose(f);
    (*procs)++;
  }
}

static void kill_kids(void) {
  for (int i = 0; i < nkids; i++)
    if (kids[i].pid > 0) kill(-kids[i].pid, SIGKILL);
  for (int i = 0; i < nkids; i++)
    if (kids[i].pid > 0) waitpid(kids[i].pid, NULL, 0), kids[i].pid = 0;
}

static int mesh_main(int argc, char **argv) {
  if (argc < 7 || strcmp(argv[5], "--")) die("usage: mesh N DEADLINE_MS NAME LOG -- CMD ARG...");
  nkids = atoi(argv[1]);
  int64_t deadline_ms = atol(argv[2]);
  const char *name_tmpl = argv[3];
  char **cmd = argv + 6;
  int ncmd = argc - 6;
  if (nkids < 2 || nkids > MAX_NODES) die("N: 2 to 64 nodes");
  FILE *log = fopen(argv[4], "a");
  if (!log) die("cannot open the log");
  setvbuf(log, NULL, _IOLBF, 0);
  int logfd = fileno(log);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  /* the argument vectors first, so the forks come back to back */
  char **argvs[MAX_NODES];
  for (int i = 0; i < nkids; i++) {
    argvs[i] = calloc((size_t)ncmd + 1, sizeof *argvs[i]);
    if (!argvs[i]) die("out of memory");
    for (int a = 0; a < ncmd; a++) argvs[i][a] = subst(cmd[a], i + 1);
    char *nm = subst(name_tmpl, i + 1);
    snprintf(kids[i].name, sizeof kids[i].name, "%s", nm);
    free(nm);
  }
  int64_t t0 = now_us();
  for (int i = 0; i < nkids; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC)) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* the launcher gone: so is the node */
      dup2(p[1], 1);
      dup2(logfd, 2);
      execvp(argvs[i][0], argvs[i]);
      _exit(127);
    }
    setpgid(pid, pid); /* also here: the kill needs it at once */
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    kids[i].pid = pid, kids[i].fd = p[0];
  }

  int64_t end = t0 + deadline_ms * 1000, t_mesh = 0;
  const char *failed = NULL;
  struct pollfd pfd[MAX_NODES];
  while (!t_mesh && !failed) {
    int64_t now = now_us();
    if (interrupted) failed = "interrupted";
    else if (now >= end) failed = "deadline";
    if (failed) break;
    for (int i = 0; i < nkids; i++) pfd[i] = (struct pollfd){.fd = kids[i].fd, .events = POLLIN};
    int left = (int)((end - now) / 1000) + 1;
    if (poll(pfd, (nfds_t)nkids, left) < 0 && errno != EINTR) failed = "poll";
    for (int i = 0; i < nkids && !failed; i++)
      if (pfd[i].revents && !read_kid(i, t0, log)) {
        fprintf(stderr, "bench_discovery: %s exited before the mesh (see %s)\n",
                kids[i].name, argv[4]);
        failed = "a node exited";
      }
    if (!failed && meshed() == nkids) t_mesh = now_us();
  }
  if (failed) {
    fprintf(stderr, "bench_discovery: no full mesh of %d (%s); peers up per node:", nkids, failed);
    for (int i = 0; i < nkids; i++) fprintf(stderr, " %d", kids[i].peers);
    fprintf(stderr, "\n");
    kill_kids();
    return 1;
  }
  long pss, rss;
  int procs;
  memory(&pss, &rss, &procs);
  int64_t last_ready = 0;
  for (int i = 0; i < nkids; i++)
    if (kids[i].ready_us > last_ready) last_ready = kids[i].ready_us;
  kill_kids();
  printf("start_to_mesh_ms %.1f\n", (t_mesh - t0) / 1e3);
  if (last_ready) {
    printf("last_ready_ms %.1f\n", (last_ready - t0) / 1e3);
    printf("ready_to_mesh_ms %.1f\n", (t_mesh - last_ready) / 1e3);
  }
  printf("pss_kib %ld\nrss_kib %ld\nprocs %d\n", pss, rss, procs);
  return 0;
}

/* ---- latency: heard -> connected, in one process ---------------------- */

#define MAX_SAMPLES 200

static nodus_atom sample_node[MAX_SAMPLES];
static _Atomic int64_t heard_at[MAX_SAMPLES], up_at[MAX_SAMPLES];
static _Atomic int down_seen[MAX_SAMPLES];
static int nsamples;

static int sample_of(nodus_atom n) {
  for (int i = 0; i < nsamples; i++)
    if (sample_node[i] == n) return i;
  return -1;
}

/* lx's loop thread */
static void on_disc(nodus_node *node, const nodus_discovery_event *ev, void *arg) {
  int i = sample_of(ev->node);
  if (ev->kind == NODUS_DISCOVERY_FOUND && i >= 0 && !heard_at[i]) heard_at[i] = now_us();
}

static void on_node(nodus_node *node, const nodus_node_event *ev, void *arg) {
  int64_t t = now_us();
  int i = sample_of(ev->node);
  if (i < 0) return;
  if (ev->up && !up_at[i]) up_at[i] = t;
  if (!ev->up) down_seen[i] = 1;
}

static nodus_node *start_node(const char *name) {
  nodus_node_opts o = {.name = name, .cookie = COOKIE, .listen_address = HOST,
                       .epmd_mode = NODUS_EPMD_SYSTEM};
  nodus_node *n;
  if (nodus_node_init(&o, &n) || nodus_node_start(n)) die("a node did not start");
  return n;
}

static bool wait_until(_Atomic int64_t *v, int ms) {
  for (int64_t end = now_us() + ms * 1000; !*v && now_us() < end;) usleep(200);
  return *v != 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double median_ms(int64_t *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_i64);
  return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1e3;
}

static int latency_main(int argc, char **argv) {
  if (argc < 3) die("usage: latency K SECRET|-");
  nsamples = atoi(argv[1]);
  if (nsamples < 1 || nsamples > MAX_SAMPLES) die("K: 1 to 200");
  char secret[128] = "";
  if (strcmp(argv[2], "-")) snprintf(secret, sizeof secret, ",secret=%s", argv[2]);
  const char *tag = secret[0] ? "s" : "p"; /* names differ with the secret */
  char name[64], spec[256], err[512];
  for (int i = 0; i < nsamples; i++) {
    snprintf(name, sizeof name, "ly%s%d@%s", tag, i + 1, HOST);
    if (nodus_atom_intern(name, strlen(name), &sample_node[i])) die("atom");
  }
  snprintf(name, sizeof name, "lx%s@%s", tag, HOST);
  nodus_node *x = start_node(name);
  nodus_node_events *sub;
  if (nodus_node_events_subscribe(x, 0, on_node, NULL, &sub)) die("subscribe");
  /* lx's own heartbeats almost never (a ly hearing one would dial lx
   * itself); a gone ly is delisted after 2 s and never redialled before:
   * nothing but the dial being timed runs on lx's loop */
  snprintf(spec, sizeof spec,
           "gossip:interval_ms=600000,ttl_ms=2000,backoff_min_ms=10000,"
           "backoff_max_ms=10000%s", secret);
  nodus_discovery_opts xo = {.spec = spec, .on_event = on_disc};
  nodus_discovery *xd;
  if (nodus_discovery_start(x, &xo, err, sizeof err, &xd)) {
    fprintf(stderr, "bench_discovery: lx: %s\n", err);
    return 1;
  }
  snprintf(spec, sizeof spec, "gossip:interval_ms=600000%s", secret);
  int64_t heard_up[MAX_SAMPLES], sent_up[MAX_SAMPLES];
  int ok = 0;
  for (int i = 0; i < nsamples; i++) {
    nodus_node *y = start_node(nodus_atom_text(sample_node[i], NULL));
    nodus_discovery_opts yo = {.spec = spec};
    nodus_discovery *yd;
    int64_t sent = now_us(); /* its first heartbeat goes out in start */
    if (nodus_discovery_start(y, &yo, err, sizeof err, &yd)) {
      fprintf(stderr, "bench_discovery: ly: %s\n", err);
      return 1;
    }
    if (wait_until(&up_at[i], 5000) && heard_at[i]) {
      heard_up[ok] = up_at[i] - heard_at[i];
      sent_up[ok] = up_at[i] - sent;
      printf("lat %d %lld %lld\n", i + 1, (long long)heard_up[ok], (long long)sent_up[ok]);
      ok++;
    } else {
      fprintf(stderr, "bench_discovery: sample %d: no connection within 5 s\n", i + 1);
    }
    nodus_discovery_stop(yd);
    nodus_node_close(y);
    /* the next sample starts once lx saw this one go */
    for (int64_t end = now_us() + 3000000; !down_seen[i] && now_us() < end;) usleep(500);
  }
  nodus_discovery_stop(xd);
  nodus_node_close(x);
  if (!ok) return 1;
  printf("samples %d\n", ok);
  printf("heard_to_up_ms %.3f\n", median_ms(heard_up, ok));
  printf("sent_to_up_ms %.3f\n", median_ms(sent_up, ok));
  return ok == nsamples ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "mesh")) return mesh_main(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "latency")) return latency_main(argc - 1, argv + 1);
  fprintf(stderr, "usage: bench_discovery mesh N DEADLINE_MS NAME LOG -- CMD ARG...\n"
                  "       bench_discovery latency K SECRET|-\n");
  return 2;
}
