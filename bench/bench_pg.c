/* bench_pg: pg and pub/sub throughput of nodus nodes, all in this process
 * on loopback (run_pg.sh runs the BEAM side in the same run).
 *
 *   bench_pg joins N         N joins on node A (one process per join, 100
 *                            groups), from a handler; prints joins/s and
 *                            ms until node B's get_members sum to N.
 *   bench_pg broadcast N     node A broadcasts N messages on one topic
 *                            (nodus_pubsub_broadcast from a process) to one
 *                            subscriber on each of nodes B and C; prints
 *                            publishes/s until both got all N.
 * Output: one "key value" line per figure. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nodus.h>

#define GROUPS 100

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static nodus_node *start_node(const char *name, int epmd_port, bool embedded) {
  nodus_node_opts o = {.name = name,
                       .cookie = "nodusbench",
                       .listen_address = "127.0.0.1",
                       .epmd_mode = embedded ? NODUS_EPMD_EMBEDDED : NODUS_EPMD_SYSTEM,
                       .epmd_port = epmd_port};
  nodus_node *n;
  if (nodus_node_init(&o, &n) || nodus_node_start(n)) {
    fprintf(stderr, "bench_pg: cannot start %s\n", name);
    exit(1);
  }
  return n;
}

/* ---- joins --------------------------------------------------------------- */

static nodus_pg *scope_a;
static int njoins;
static double join_secs;
static atomic_int joins_done;

static void idle(nodus_proc *self, const nodus_term *msg) {}

/* On A's loop: spawn N processes and join each to {g, I rem 100}. */
static void joiner(nodus_proc *self, const nodus_term *msg) {
  nodus_term *pids = malloc((size_t)njoins * sizeof *pids);
  nodus_proc_spec spec = {.on_message = idle};
  for (int i = 0; i < njoins; i++) nodus_spawn_from(self, &spec, false, &pids[i]);
  double t0 = now_s();
  for (int i = 0; i < njoins; i++) {
    nodus_term g;
    nodus_build(&g, "{g, ~i}", (int64_t)(i % GROUPS));
    nodus_pg_join(scope_a, &g, &pids[i]);
    nodus_term_free(&g);
  }
  join_secs = now_s() - t0;
  for (int i = 0; i < njoins; i++) nodus_term_free(&pids[i]);
  free(pids);
  atomic_store(&joins_done, 1);
}

static size_t members_seen(nodus_pg *pg) {
  size_t n = 0;
  for (int i = 0; i < GROUPS; i++) {
    nodus_term g, l;
    nodus_build(&g, "{g, ~i}", (int64_t)i);
    if (nodus_pg_get_members(pg, &g, &l) == 0) n += nodus_size(&l);
    nodus_term_free(&l);
    nodus_term_free(&g);
  }
  return n;
}

static void bench_joins(int port, int n) {
  njoins = n;
  char na[64], nb[64];
  snprintf(na, sizeof na, "bpga%d@localhost", getpid());
  snprintf(nb, sizeof nb, "bpgb%d@localhost", getpid());
  nodus_node *a = start_node(na, port, true), *b = start_node(nb, port, false);
  nodus_pg *scope_b;
  nodus_pg_start(a, "bench", &scope_a);
  nodus_pg_start(b, "bench", &scope_b);
  nodus_atom an;
  nodus_atom_intern(na, strlen(na), &an);
  nodus_node_ping(b, an, 5000);
  usleep(200000); /* both scopes have discovered each other */
  nodus_proc_spec spec = {.on_message = joiner};
  nodus_term pid;
  nodus_spawn(a, &spec, &pid);
  double t0 = now_s();
  nodus_send(a, &pid, nodus_nil());
  while (!atomic_load(&joins_done)) usleep(100);
  while (members_seen(scope_b) < (size_t)n && now_s() - t0 < 30) usleep(200);
  double visible = now_s() - t0;
  printf("joins_per_s %.0f\n", n / join_secs);
  printf("visible_ms %.1f\n", visible * 1000);
  nodus_term_free(&pid);
  nodus_pg_close(scope_b);
  nodus_node_close(b);
  nodus_pg_close(scope_a);
  nodus_node_close(a);
}

/* ---- broadcast ----------------------------------------------------------- */

static atomic_long got[2];

static void counter(nodus_proc *self, const nodus_term *msg) {
  atomic_fetch_add(&got[(intptr_t)nodus_proc_state(self)], 1);
}

/* The broadcaster is a process, as BEAM's is: {go, N} publishes N messages
 * in batches, yielding to the loop between batches so they get written. */
static nodus_pubsub *bcast_ps;

static void broadcaster(nodus_proc *self, const nodus_term *msg) {
  int64_t left;
  if (nodus_match(msg, "{go, ~i}", &left) != 0) return;
  int64_t batch = left < 1000 ? left : 1000;
  for (int64_t i = 0; i < batch; i++)
    nodus_pubsub_broadcast(bcast_ps, "bench", nodus_int(left - i));
  nodus_term more;
  if (left > batch && nodus_build(&more, "{go, ~i}", left - batch) == 0)
    nodus_send_from(self, nodus_self(self), more);
}

static void bench_broadcast(int port, int n) {
  char name[3][64];
  nodus_node *nodes[3];
  nodus_pubsub *ps[3];
  nodus_pubsub_opts po = {.name = "Elixir.Bench.PubSub"};
  for (int i = 0; i < 3; i++) {
    snprintf(name[i], sizeof name[i], "bps%c%d@localhost", 'a' + i, getpid());
    nodes[i] = start_node(name[i], port, i == 0);
    nodus_pubsub_start(nodes[i], &po, &ps[i]);
  }
  for (int i = 1; i < 3; i++) {
    nodus_proc_spec spec = {.on_message = counter, .state = (void *)(intptr_t)(i - 1)};
    nodus_term pid;
    nodus_spawn(nodes[i], &spec, &pid);
    nodus_pubsub_subscribe(ps[i], "bench", &pid);
    nodus_term_free(&pid);
    nodus_atom a;
    nodus_atom_intern(name[i], strlen(name[i]), &a);
    nodus_node_ping(nodes[0], a, 5000);
  }
  usleep(300000); /* pg has synced the workers */
  bcast_ps = ps[0];
  nodus_proc_spec bspec = {.on_message = broadcaster};
  nodus_term bpid, go;
  nodus_spawn(nodes[0], &bspec, &bpid);
  nodus_build(&go, "{go, ~i}", (int64_t)n);
  double t0 = now_s();
  nodus_send(nodes[0], &bpid, go);
  nodus_term_free(&bpid);
  while ((atomic_load(&got[0]) < n || atomic_load(&got[1]) < n) && now_s() - t0 < 60)
    usleep(100);
  double secs = now_s() - t0;
  printf("publishes_per_s %.0f\n", n / secs);
  printf("delivered %ld %ld\n", atomic_load(&got[0]), atomic_load(&got[1]));
  for (int i = 2; i >= 0; i--) {
    nodus_pubsub_close(ps[i]);
    nodus_node_close(nodes[i]);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_pg joins|broadcast N\n");
    return 2;
  }
  int port = 30000 + getpid() % 20000;
  if (!strcmp(argv[1], "joins")) bench_joins(port, atoi(argv[2]));
  else bench_broadcast(port, atoi(argv[2]));
  return 0;
}
