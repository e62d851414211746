/* bench_global: :global on nodus nodes on loopback (run_global.sh runs
 * the BEAM side, bench_global.erl, in the same run). Nodes use the epmd on
 * $ERL_EPMD_PORT; names are short (NAME@this host), cookie nodusbench.
 *
 *   bench_global cluster NS NP T    3 C nodes in this process (ga, gb, gc:
 *                                   gc sorts last, the lock's boss). On ga:
 *                                   NS registrations one after another from
 *                                   one thread, then NP from T threads at
 *                                   once (each its slice), each name with
 *                                   a process of its own; ms until gb's
 *                                   whereis finds them all; lookups/s on
 *                                   ga of a name gb owns (and of a locally
 *                                   registered name, the local table).
 *   bench_global cleanup NK T       observers ka, kb here; the owner kc is
 *                                   a child process (bench_global owner)
 *                                   that registers NK names from T threads;
 *                                   kill -9 of kc, ms until ka (and kb)
 *                                   find none of them.
 *   bench_global mixed B Z NS NP T NK
 *                                   C node gmc here, BEAM nodes B and Z
 *                                   (Z sorts last: the boss) running
 *                                   bench_global.erl: the C registrations
 *                                   as above from gmc, then the same from
 *                                   B (rpc); lookups of a name Z owns on
 *                                   gmc and on B; NK names on Z, kill -9
 *                                   of Z, ms until gone on gmc and on B.
 *   bench_global owner NAME NK T PEER...   (the cleanup's child)
 *
 * BENCH_SPIN_US sets the nodes' spin_us (default 0: the library's 50 µs).
 * Output: one "key value" line per figure. Every wait has a deadline. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nodus.h>
#include <nodus/global.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t wall_us(void) { /* comparable with os:system_time(microsecond) */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what) {
  fprintf(stderr, "bench_global: %s\n", what);
  exit(1);
}

static nodus_node *start_node(const char *name) {
  nodus_node_opts o = {.name = name,
                       .cookie = "nodusbench",
                       .listen_address = "127.0.0.1",
                       .epmd_mode = NODUS_EPMD_SYSTEM,
                       .spin_us = getenv("BENCH_SPIN_US") ? atoi(getenv("BENCH_SPIN_US")) : 0};
  nodus_node *n;
  if (nodus_node_init(&o, &n) || nodus_node_start(n)) die("cannot start a node");
  return n;
}

static nodus_atom atom(const char *s) {
  nodus_atom a;
  nodus_atom_intern(s, strlen(s), &a);
  return a;
}

static void connect_to(nodus_node *n, const char *peer) {
  if (nodus_node_ping(n, atom(peer), 5000)) {
    fprintf(stderr, "bench_global: %s does not answer\n", peer);
    exit(1);
  }
}

static void sync_all(nodus_node **nodes, int n) {
  for (int i = 0; i < n; i++)
    if (nodus_global_sync(nodes[i], 10000)) die("global sync timed out");
}

static void idle(nodus_proc *self, const nodus_term *msg) {}

static nodus_term *spawn_many(nodus_node *node, int n) {
  nodus_term *pids = calloc((size_t)n, sizeof *pids);
  nodus_proc_spec spec = {.on_message = idle};
  for (int i = 0; i < n; i++)
    if (nodus_spawn(node, &spec, &pids[i])) die("spawn failed");
  return pids;
}

/* {Tag, I} for I in 0..n-1 */
static nodus_term *make_names(const char *tag, int n) {
  nodus_term *names = calloc((size_t)n, sizeof *names);
  for (int i = 0; i < n; i++)
    if (nodus_build(&names[i], "{~a, ~i}", tag, (int64_t)i)) die("build failed");
  return names;
}

static void free_terms(nodus_term *t, int n) {
  for (int i = 0; i < n; i++) nodus_term_free(&t[i]);
  free(t);
}

/* ---- polling a node's table ----------------------------------------------- */

/* Waits until every name is (want_present) or is not found on node; the
 * names are checked in turn, each until it is as wanted, 1 ms apart when
 * not. Returns the monotonic time it saw the last one, or -1 on timeout. */
static double wait_table(nodus_node *node, const nodus_term *names, int n,
                         bool want_present, double timeout_s, unsigned nap_us) {
  double until = now_s() + timeout_s;
  int i = 0;
  while (i < n) {
    nodus_term pid;
    int rc = nodus_global_whereis(node, &names[i], &pid);
    if (rc == 0) nodus_term_free(&pid);
    if ((rc == 0) == want_present) {
      i++;
      continue;
    }
    if (now_s() > until) return -1;
    usleep(nap_us);
  }
  return now_s();
}

struct poller {
  pthread_t th;
  nodus_node *node;
  const nodus_term *names;
  int n;
  bool present;
  double seen; /* monotonic s, -1: timed out */
};

static void *poll_main(void *arg) {
  struct poller *p = arg;
  p->seen = wait_table(p->node, p->names, p->n, p->present, 60, 1000);
  return NULL;
}

static void poller_start(struct poller *p, nodus_node *node,
                         const nodus_term *names, int n, bool present) {
  *p = (struct poller){.node = node, .names = names, .n = n, .present = present};
  pthread_create(&p->th, NULL, poll_main, p);
}

/* ---- registering -------------------------------------------------------------- */

struct regger {
  pthread_t th;
  nodus_node *node;
  const nodus_term *names, *pids;
  int from, to, failed;
  pthread_barrier_t *go;
};

static void *reg_main(void *arg) {
  struct regger *r = arg;
  pthread_barrier_wait(r->go);
  for (int i = r->from; i < r->to; i++)
    if (nodus_global_register(r->node, &r->names[i], &r->pids[i], NULL)) r->failed++;
  return NULL;
}

/* n registrations from t threads (t = 1: one after another); seconds. */
static double register_all(nodus_node *node, const nodus_term *names,
                           const nodus_term *pids, int n, int t, double *t0) {
  struct regger *rs = calloc((size_t)t, sizeof *rs);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, (unsigned)t + 1);
  for (int i = 0; i < t; i++) {
    rs[i] = (struct regger){.node = node, .names = names, .pids = pids,
                            .from = (int)((int64_t)n * i / t),
                            .to = (int)((int64_t)n * (i + 1) / t), .go = &go};
    pthread_create(&rs[i].th, NULL, reg_main, &rs[i]);
  }
  pthread_barrier_wait(&go);
  *t0 = now_s();
  int failed = 0;
  for (int i = 0; i < t; i++) {
    pthread_join(rs[i].th, NULL);
    failed += rs[i].failed;
  }
  double secs = now_s() - *t0;
  pthread_barrier_destroy(&go);
  free(rs);
  if (failed) {
    fprintf(stderr, "bench_global: %d registrations refused\n", failed);
    exit(1);
  }
  return secs;
}

/* Registers n fresh names {tag, I} on reg from t threads, polling vis
 * (another node) meanwhile; prints KEY_per_s and KEY_visible_ms. */
static void reg_phase(nodus_node *reg, nodus_node *vis, const char *tag,
                      int n, int t, const char *key) {
  nodus_term *names = make_names(tag, n), *pids = spawn_many(reg, n);
  struct poller p = {0};
  if (vis) poller_start(&p, vis, names, n, true);
  double t0, secs = register_all(reg, names, pids, n, t, &t0);
  if (vis) pthread_join(p.th, NULL);
  printf("%s_per_s %.0f\n", key, n / secs);
  if (vis) printf("%s_visible_ms %.1f\n", key, p.seen < 0 ? -1 : (p.seen - t0) * 1000);
  fflush(stdout);
  free_terms(names, n);
  free_terms(pids, n);
}

/* ---- lookups --------------------------------------------------------------------- */

static double lookup_rate(nodus_node *node, const nodus_term *name, double secs) {
  long n = 0;
  double t0 = now_s(), t1;
  do {
    for (int k = 0; k < 1000; k++) {
      nodus_term pid;
      if (nodus_global_whereis(node, name, &pid)) die("lookup failed");
      nodus_term_free(&pid);
    }
    n += 1000;
  } while ((t1 = now_s()) - t0 < secs);
  return n / (t1 - t0);
}

static double local_lookup_rate(nodus_node *node, const char *name, double secs) {
  long n = 0;
  double t0 = now_s(), t1;
  do {
    for (int k = 0; k < 1000; k++) {
      nodus_term pid;
      if (nodus_whereis(node, name, &pid)) die("local lookup failed");
      nodus_term_free(&pid);
    }
    n += 1000;
  } while ((t1 = now_s()) - t0 < secs);
  return n / (t1 - t0);
}

/* ---- cluster: 3 C nodes ------------------------------------------------------------ */

static void bench_cluster(int ns, int np, int t) {
  char nm[3][64];
  nodus_node *nodes[3];
  for (int i = 0; i < 3; i++) {
    snprintf(nm[i], sizeof nm[i], "g%c%d", 'a' + i, getpid());
    nodes[i] = start_node(nm[i]);
  }
  for (int i = 0; i < 3; i++) /* full names, as the nodes spell them */
    snprintf(nm[i], sizeof nm[i], "%s", nodus_atom_text(nodus_node_name(nodes[i]), NULL));
  connect_to(nodes[0], nm[1]);
  connect_to(nodes[0], nm[2]);
  connect_to(nodes[1], nm[2]);
  sync_all(nodes, 3);
  usleep(200000);

  reg_phase(nodes[0], nodes[1], "s", ns, 1, "reg_seq");
  reg_phase(nodes[0], nodes[1], "p", np, t, "reg_par");

  /* a name gb owns, looked up on ga */
  nodus_term owner, name, lname;
  nodus_proc_spec spec = {.on_message = idle};
  nodus_spawn(nodes[1], &spec, &owner);
  nodus_build(&name, "remote_owned");
  if (nodus_global_register(nodes[1], &name, &owner, NULL)) die("register failed");
  if (wait_table(nodes[0], &name, 1, true, 5, 100) < 0) die("remote name not seen");
  nodus_spawn(nodes[0], &spec, &lname);
  nodus_register(nodes[0], "bench_local", &lname);
  printf("lookup_per_s %.0f\n", lookup_rate(nodes[0], &name, 1.0));
  printf("local_lookup_per_s %.0f\n", local_lookup_rate(nodes[0], "bench_local", 1.0));
  nodus_term_free(&owner);
  nodus_term_free(&name);
  nodus_term_free(&lname);
  for (int i = 2; i >= 0; i--) nodus_node_close(nodes[i]);
}

/* ---- cleanup: the owner is a child process, killed --------------------------------- */

static void bench_owner(const char *name, int nk, int t, char **peers, int npeers) {
  nodus_node *n = start_node(name);
  for (int i = 0; i < npeers; i++) connect_to(n, peers[i]);
  if (nodus_global_sync(n, 10000)) die("owner: sync timed out");
  nodus_term *names = make_names("k", nk), *pids = spawn_many(n, nk);
  double t0;
  register_all(n, names, pids, nk, t, &t0);
  printf("ready\n");
  fflush(stdout);
  sleep(120); /* killed long before */
  exit(0);
}

static void bench_cleanup(const char *self_path, int nk, int t) {
  char nm[2][64];
  nodus_node *obs[2];
  for (int i = 0; i < 2; i++) {
    char s[64];
    snprintf(s, sizeof s, "k%c%d", 'a' + i, getpid());
    obs[i] = start_node(s);
    snprintf(nm[i], sizeof nm[i], "%s", nodus_atom_text(nodus_node_name(obs[i]), NULL));
  }
  connect_to(obs[0], nm[1]);
  sync_all(obs, 2);
  char owner[64], nks[16], ts[16];
  snprintf(owner, sizeof owner, "kc%d", getpid());
  snprintf(nks, sizeof nks, "%d", nk);
  snprintf(ts, sizeof ts, "%d", t);
  int fds[2];
  if (pipe(fds)) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(self_path, self_path, "owner", owner, nks, ts, nm[0], nm[1], (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *from = fdopen(fds[0], "r");
  char line[64] = "";
  if (!fgets(line, sizeof line, from) || strncmp(line, "ready", 5)) die("owner failed");
  nodus_term *names = make_names("k", nk);
  for (int i = 0; i < 2; i++)
    if (wait_table(obs[i], names, nk, true, 30, 1000) < 0) die("owner's names not seen");
  usleep(100000);
  struct poller p;
  double t0 = now_s();
  kill(child, SIGKILL);
  poller_start(&p, obs[1], names, nk, false);
  double gone = wait_table(obs[0], names, nk, false, 30, 100);
  pthread_join(p.th, NULL);
  waitpid(child, NULL, 0);
  fclose(from);
  printf("cleanup_ms %.1f\n", gone < 0 ? -1 : (gone - t0) * 1000);
  printf("cleanup_other_ms %.1f\n", p.seen < 0 ? -1 : (p.seen - t0) * 1000);
  free_terms(names, nk);
  nodus_node_close(obs[1]);
  nodus_node_close(obs[0]);
}

/* ---- mixed: a C node among BEAM nodes ------------------------------------------------ */

static int64_t rpc_int(nodus_node *n, const char *peer, const char *fn,
                       nodus_term args) {
  nodus_term r;
  if (nodus_rpc(n, atom(peer), "bench_global", fn, args, 120000, &r) ||
      r.type != NODUS_T_INT) {
    char *s = NULL;
    nodus_print(&r, NULL, &s, NULL);
    fprintf(stderr, "bench_global: rpc %s on %s: %s\n", fn, peer, s ? s : "?");
    exit(1);
  }
  int64_t v = r.v.i;
  nodus_term_free(&r);
  return v;
}

struct beam_gone {
  pthread_t th;
  nodus_node *node;
  const char *peer;
  int nk;
  int64_t at_us;
};

static void *beam_gone_main(void *arg) {
  struct beam_gone *b = arg;
  nodus_term args;
  nodus_build(&args, "[~i, 30000]", (int64_t)b->nk);
  b->at_us = rpc_int(b->node, b->peer, "gone_at", args);
  return NULL;
}

static void bench_mixed(const char *b, const char *z, int ns, int np, int t,
                        int nk) {
  nodus_node *c = start_node("gmc");
  connect_to(c, b);
  connect_to(c, z);
  if (nodus_global_sync(c, 10000)) die("sync timed out");
  usleep(200000);

  reg_phase(c, NULL, "ms", ns, 1, "c_reg_seq");
  reg_phase(c, NULL, "mp", np, t, "c_reg_par");
  nodus_term args;
  nodus_build(&args, "[bs, ~i, 1]", (int64_t)ns);
  printf("beam_reg_seq_per_s %lld\n", (long long)rpc_int(c, b, "reg_rate", args));
  nodus_build(&args, "[bp, ~i, ~i]", (int64_t)np, (int64_t)t);
  printf("beam_reg_par_per_s %lld\n", (long long)rpc_int(c, b, "reg_rate", args));
  fflush(stdout);

  /* a name Z owns, looked up on gmc and on B */
  nodus_term name;
  nodus_build(&name, "remote_owned");
  nodus_build(&args, "[remote_owned]");
  rpc_int(c, z, "own_one", args);
  if (wait_table(c, &name, 1, true, 5, 100) < 0) die("remote name not seen");
  printf("c_lookup_per_s %.0f\n", lookup_rate(c, &name, 1.0));
  nodus_build(&args, "[remote_owned, 1000]");
  printf("beam_lookup_per_s %lld\n", (long long)rpc_int(c, b, "lookup_rate", args));
  nodus_term_free(&name);

  /* NK names on Z; kill -9 of Z; gone on gmc and on B */
  nodus_build(&args, "[~i, ~i]", (int64_t)nk, (int64_t)t);
  rpc_int(c, z, "own", args);
  nodus_term *names = make_names("k", nk);
  if (wait_table(c, names, nk, true, 30, 1000) < 0) die("Z's names not seen");
  pid_t zpid = (pid_t)rpc_int(c, z, "os_pid", nodus_nil());
  struct beam_gone bg = {.node = c, .peer = b, .nk = nk};
  pthread_create(&bg.th, NULL, beam_gone_main, &bg);
  usleep(300000); /* B is polling */
  double t0 = now_s();
  int64_t t0_us = wall_us();
  kill(zpid, SIGKILL);
  double gone = wait_table(c, names, nk, false, 30, 100);
  pthread_join(bg.th, NULL);
  printf("c_cleanup_ms %.1f\n", gone < 0 ? -1 : (gone - t0) * 1000);
  printf("beam_cleanup_ms %.1f\n", (bg.at_us - t0_us) / 1000.0);
  free_terms(names, nk);
  nodus_node_close(c);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 5 && !strcmp(argv[1], "cluster"))
    bench_cluster(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  else if (argc >= 4 && !strcmp(argv[1], "cleanup"))
    bench_cleanup("/proc/self/exe", atoi(argv[2]), atoi(argv[3]));
  else if (argc >= 5 && !strcmp(argv[1], "owner"))
    bench_owner(argv[2], atoi(argv[3]), atoi(argv[4]), argv + 5, argc - 5);
  else if (argc >= 8 && !strcmp(argv[1], "mixed"))
    bench_mixed(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                atoi(argv[7]));
  else {
    fprintf(stderr,
            "usage: bench_global cluster NS NP T | cleanup NK T |"
            " mixed BEAM_B BEAM_Z NS NP T NK\n");
    return 2;
  }
  return 0;
}
