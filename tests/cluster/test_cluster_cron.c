/* The cluster scheduler on a real cluster (issue 14): C nodes running
 * examples/cron_cleaner, each appending its runs to one shared history
 * ("tick <scheduled_ms> ran=<ms> node=<node> epoch=<E> deleted=<N>",
 * O_APPEND, one write a line), judged by nodus_kit_check_ticks.
 *
 *   a. failover, quorum mode (the default), each node on its own host: a
 *      job every second for CRON_SECONDS (60) with --missed run_once; the
 *      owner (who ran the last tick) gets kill -9 every ~10 s (seeded:
 *      CRON_SEED, 1 in CI) and its node restarts 2 s later, and once, at
 *      half time, a partition isolates the owner for 5 s. Over the merged
 *      history: each tick ran at most once, epochs grow with each new
 *      owner, and no stretch without a run longer than FAILOVER_BOUND_MS;
 *      the job ran on at least two nodes.
 *   b. forbid: a run that takes 2.5 s of a job every second: no two runs
 *      overlap, and the ticks skipped meanwhile are logged.
 *   c. gating: 3 unconnected nodes, --min-nodes 2: nothing runs; the kit
 *      makes n1 dial n2: ticks run on n1 or n2.
 *   d. examples/cron_cleaner against a real PostgreSQL server (the kit's
 *      loopback mode, where the server is): rows older than the retention
 *      are deleted and newer ones kept; across a kill -9 of the owner the
 *      history shows each tick once, and the database's table of runs
 *      (keyed on job and tick) holds exactly the history's ticks.
 * A failing seed prints the line that replays it. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster_util.h"
#include "pg_server.h"

#define LEASE_MS 1000
/* After a kill -9 or an isolation of the owner: its lease runs out on the
 * voters (1 s), a lease round (250 ms), the new owner's start and read,
 * then run_once runs the latest missed tick at once. < 2 s; with the
 * period, < 3 s between two ticks that ran; 3.5 s stated. */
#define FAILOVER_BOUND_MS 3500

static char bin_dir[512], folder[64], exec_path[600];

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void find_bin_dir(void) {
  const char *dir = getenv("NODUS_BIN_DIR");
  char self[512];
  ssize_t n;
  if ((!dir || !dir[0]) && (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    self[n] = 0;
    dir = dirname(self);
  }
  snprintf(bin_dir, sizeof bin_dir, "%s", dir ? dir : "build/bin");
  snprintf(exec_path, sizeof exec_path, "%s/cron_cleaner", bin_dir);
}

/* ---- the history ---------------------------------------------------------- */

#define MAX_TICKS 2048
static nodus_kit_tick ticks[MAX_TICKS];

/* The node index (1..n) of a full node name, 0 when unknown. */
static int node_index(nodus_kit *kit, const char *name) {
  for (int i = 1; i <= nodus_kit_size(kit); i++)
    if (!strcmp(nodus_kit_node_name(kit, i), name)) return i;
  return 0;
}

/* The whole lines of the history (one being written is left for later). */
static size_t load(nodus_kit *kit, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char *line = NULL, node[256];
  size_t cap = 0, n = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0 && n < MAX_TICKS) {
    long long s, r, d;
    unsigned long long e;
    if (line[len - 1] != '\n' ||
        sscanf(line, "tick %lld ran=%lld node=%255s epoch=%llu deleted=%lld", &s, &r, node, &e,
               &d) != 5)
      continue;
    ticks[n++] = (nodus_kit_tick){s, r, e, node_index(kit, node)};
  }
  free(line);
  fclose(f);
  return n;
}

/* The node that ran the latest tick, 0 when none yet. */
static int owner_now(nodus_kit *kit, const char *path) {
  size_t n = load(kit, path);
  int64_t latest = INT64_MIN;
  int who = 0;
  for (size_t i = 0; i < n; i++)
    if (ticks[i].scheduled_ms > latest) latest = ticks[i].scheduled_ms, who = ticks[i].process;
  return who;
}

static void dump_logs(nodus_kit *kit) {
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    char cmd[900];
    snprintf(cmd, sizeof cmd,
             "echo '--- n%d log (cron, dsup, node events; last 40)' >&2; "
             "grep -E 'cron|dsup|#node|kit start|discover|error|warning' '%s/n%d.log' | tail -n 40 >&2",
             i, nodus_kit_state_dir(kit), i);
    if (system(cmd) != 0) fprintf(stderr, "(no log for n%d)\n", i);
  }
}

typedef struct cfg {
  int nodes;
  bool loopback, discover;
  const char *tag, *mode, *missed, *min_nodes, *work_ms, *db, *retention_ms;
} cfg;

static char hist_path[700];

static nodus_kit *start(const cfg *c) {
  static char spec[200];
  snprintf(hist_path, sizeof hist_path, "%s/%s.history", folder, c->tag);
  unlink(hist_path);
  snprintf(spec, sizeof spec, "dir:%s/members-%s,interval_ms=200,ttl_ms=3000,backoff_max_ms=500",
           folder, c->tag);
  char members[300];
  snprintf(members, sizeof members, "%s/members-%s", folder, c->tag);
  mkdir(members, 0755);
  static char size_s[8], lease_s[16];
  snprintf(size_s, sizeof size_s, "%d", c->nodes);
  snprintf(lease_s, sizeof lease_s, "%d", LEASE_MS);
  const char *args[32];
  int n = 0;
  args[n++] = "--every", args[n++] = "1s";
  args[n++] = "--ticktime", args[n++] = "1";
  args[n++] = "--history", args[n++] = hist_path;
  args[n++] = "--mode", args[n++] = c->mode;
  if (!strcmp(c->mode, "quorum"))
    args[n++] = "--cluster-size", args[n++] = size_s, args[n++] = "--lease-ms", args[n++] = lease_s;
  if (c->missed) args[n++] = "--missed", args[n++] = c->missed;
  if (c->min_nodes) args[n++] = "--min-nodes", args[n++] = c->min_nodes;
  if (c->work_ms) args[n++] = "--work-ms", args[n++] = c->work_ms;
  if (c->db) args[n++] = "--db", args[n++] = c->db;
  if (c->retention_ms) args[n++] = "--retention-ms", args[n++] = c->retention_ms;
  if (c->discover) args[n++] = "--discover", args[n++] = spec;
  args[n] = NULL;
  nodus_kit_opts o = {.nodes = c->nodes, .exec = exec_path, .exec_args = args,
                      .ticktime_s = 1, .log = stderr,
                      .net = c->loopback ? NODUS_KIT_NET_LOOPBACK : 0};
  nodus_kit *kit = NULL;
  int rc = nodus_kit_up(&kit, &o);
  if (rc) {
    fprintf(stderr, "cluster up failed: %s\n", nodus_strerror(rc));
    return NULL;
  }
  if (!c->loopback && !nodus_kit_netns(kit)) {
    fprintf(stderr, "no network namespaces: this test needs them\n");
    nodus_kit_down(kit);
    return NULL;
  }
  return kit;
}

static bool ticks_at_least(nodus_kit *kit, size_t n) { return load(kit, hist_path) >= n; }

/* ---- a. failover -------------------------------------------------------------- */

static uint64_t rng;
static int jitter(int spread) { /* xorshift: the same faults for a seed */
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (int)(rng % (uint64_t)(2 * spread + 1)) - spread;
}

static void test_failover(uint64_t seed, int seconds) {
  STEP("a. failover: 3 nodes, quorum, every 1 s, run_once, %d s, seed %" PRIu64, seconds, seed);
  rng = seed * 0x9E3779B97F4A7C15ull | 1;
  cfg c = {.nodes = 3, .discover = true, .tag = "failover", .mode = "quorum",
           .missed = "run_once"};
  nodus_kit *kit = start(&c);
  CHECK(kit != NULL);
  if (!kit) return;
  CHECK(NODUS_EVENTUALLY(ticks_at_least(kit, 2), 15000));
  int64_t from = wall_ms(), end = from + seconds * 1000LL;
  int64_t next_kill = from + 10000 + jitter(2000), partition_at = from + seconds * 500LL;
  bool partitioned = false;
  int kills = 0;
  while (wall_ms() < end) {
    int64_t now = wall_ms();
    if (!partitioned && now >= partition_at) {
      int owner = owner_now(kit, hist_path);
      if (owner) {
        nodus_kit_grudge g;
        nodus_kit_grudge_isolate(&g, 3, owner);
        STEP("isolating the owner n%d for 5 s", owner);
        CHECK_RC(nodus_kit_partition(kit, &g), 0);
        nodus_kit_sleep_ms(5000);
        CHECK_RC(nodus_kit_heal(kit), 0);
      }
      partitioned = true;
      next_kill = wall_ms() + 5000 + jitter(2000);
    } else if (now >= next_kill) {
      int owner = owner_now(kit, hist_path);
      if (owner) {
        STEP("kill -9 of the owner n%d, its restart in 2 s", owner);
        CHECK_RC(nodus_kit_kill(kit, owner), 0);
        nodus_kit_sleep_ms(2000);
        CHECK_RC(nodus_kit_restart(kit, owner), 0);
        kills++;
      }
      next_kill = wall_ms() + 8000 + jitter(2000);
    } else {
      nodus_kit_sleep_ms(50);
    }
  }
  int64_t to = wall_ms();
  size_t n = load(kit, hist_path);
  char msg[300];
  int verdict = nodus_kit_check_ticks(ticks, n, FAILOVER_BOUND_MS, from, to - 1000, msg,
                                      sizeof msg);
  bool nodes_seen[4] = {false};
  int distinct = 0;
  for (size_t i = 0; i < n; i++)
    if (ticks[i].process >= 1 && ticks[i].process <= 3 && !nodes_seen[ticks[i].process])
      nodes_seen[ticks[i].process] = true, distinct++;
  int64_t latest = 0; /* a catch-up's start after its tick: the failover */
  int on_time = 0;
  for (size_t i = 0; i < n; i++) {
    if (ticks[i].ran_ms - ticks[i].scheduled_ms > latest) latest = ticks[i].ran_ms - ticks[i].scheduled_ms;
    on_time += ticks[i].ran_ms - ticks[i].scheduled_ms <= 10;
  }
  fprintf(stderr, "   %zu ticks, %d kills, on %d nodes: %s; %d started within 10 ms of their "
                  "time, the latest %lld ms after\n",
          n, kills, distinct, msg, on_time, (long long)latest);
  CHECK(verdict == 0);
  CHECK(kills >= 3 && distinct >= 2);
  CHECK(n >= (size_t)seconds * 2 / 3);
  if (verdict || distinct < 2) {
    dump_logs(kit);
    fprintf(stderr, "replay: CRON_MODE=failover CRON_SEED=%" PRIu64 " CRON_SECONDS=%d %s\n",
            seed, seconds, "test_cluster_cron");
  }
  nodus_kit_down(kit);
}

/* ---- b. forbid ------------------------------------------------------------------ */

static void test_forbid(void) {
  STEP("b. forbid: runs of 2.5 s, a tick every 1 s");
  cfg c = {.nodes = 1, .tag = "forbid", .mode = "availability", .work_ms = "2500"};
  nodus_kit *kit = start(&c);
  CHECK(kit != NULL);
  if (!kit) return;
  CHECK(NODUS_EVENTUALLY(ticks_at_least(kit, 3), 15000));
  size_t n = load(kit, hist_path);
  char msg[300];
  CHECK(nodus_kit_check_ticks(ticks, n, 0, 0, 0, msg, sizeof msg) == 0);
  bool apart = true; /* a run takes 2.5 s: the next one 3 s after */
  for (size_t i = 1; i < n; i++) apart &= ticks[i].ran_ms - ticks[i - 1].ran_ms >= 2500;
  int skipped = nodus_kit_log_count(kit, 1, 0, "the previous run is still running (forbid)");
  fprintf(stderr, "   %zu runs, %d ticks skipped and logged\n", n, skipped);
  CHECK(apart && skipped >= 2 * (int)(n - 1));
  if (!apart || skipped < 2) dump_logs(kit);
  nodus_kit_down(kit);
}

/* ---- c. gating ------------------------------------------------------------------- */

static void test_gating(void) {
  STEP("c. gating: 3 unconnected nodes, --min-nodes 2");
  cfg c = {.nodes = 3, .tag = "gating", .mode = "availability", .min_nodes = "2"};
  nodus_kit *kit = start(&c);
  CHECK(kit != NULL);
  if (!kit) return;
  /* Each node's owner runs and finds its ticks gated: 3 of them logged
   * on every node, and nothing ran. */
  bool gated = NODUS_EVENTUALLY(nodus_kit_log_count(kit, 1, 0, "gated:") >= 3 &&
                                    nodus_kit_log_count(kit, 2, 0, "gated:") >= 3 &&
                                    nodus_kit_log_count(kit, 3, 0, "gated:") >= 3,
                                10000);
  CHECK(gated);
  CHECK(load(kit, hist_path) == 0);
  STEP("the kit makes n1 dial n2: ticks run on n1 or n2");
  CHECK_RC(nodus_kit_ping(kit, 1, 2, 3000), 0);
  CHECK(NODUS_EVENTUALLY(ticks_at_least(kit, 2), 6000));
  size_t n = load(kit, hist_path);
  bool where = n > 0;
  for (size_t i = 0; i < n; i++) where &= ticks[i].process == 1 || ticks[i].process == 2;
  CHECK(where);
  if (!gated || !where) dump_logs(kit);
  nodus_kit_down(kit);
}

/* ---- d. the cleaner against PostgreSQL -------------------------------------------- */

static int64_t sql_int(const char *sql) {
  char *out = NULL;
  int64_t v = psql(sql, &out) == 0 && out && *out ? strtoll(out, NULL, 10) : -1;
  free(out);
  return v;
}

static void test_postgres(void) {
  STEP("d. cron_cleaner against PostgreSQL: retention, and one run per tick across a kill");
  CHECK(psql("CREATE TABLE events (id bigserial PRIMARY KEY, inserted_at timestamptz NOT NULL"
             " DEFAULT now(), payload text);"
             "INSERT INTO events (inserted_at, payload) SELECT now() - interval '1 hour', 'old'"
             " FROM generate_series(1, 50);"
             "INSERT INTO events (payload) SELECT 'new' FROM generate_series(1, 5)",
             NULL) == 0);
  cfg c = {.nodes = 3, .loopback = true, .discover = true, .tag = "postgres",
           .mode = "quorum", .db = pg.url, .retention_ms = "600000"};
  nodus_kit *kit = start(&c);
  CHECK(kit != NULL);
  if (!kit) return;
  CHECK(NODUS_EVENTUALLY(ticks_at_least(kit, 2), 15000));
  CHECK(sql_int("SELECT count(*) FROM events WHERE payload = 'old'") == 0);
  CHECK(sql_int("SELECT count(*) FROM events WHERE payload = 'new'") == 5);
  CHECK(sql_int("SELECT sum(deleted) FROM cron_cleaner_runs") == 50);
  int owner = owner_now(kit, hist_path);
  size_t before = load(kit, hist_path);
  STEP("kill -9 of the owner n%d", owner);
  CHECK(owner > 0);
  if (owner) CHECK_RC(nodus_kit_kill(kit, owner), 0);
  bool moved = NODUS_EVENTUALLY(ticks_at_least(kit, before + 4) && owner_now(kit, hist_path) != owner,
                                15000);
  CHECK(moved);
  size_t n = load(kit, hist_path);
  char msg[300];
  int verdict = nodus_kit_check_ticks(ticks, n, 0, 0, 0, msg, sizeof msg);
  fprintf(stderr, "   %zu ticks in the history: %s\n", n, msg);
  CHECK(verdict == 0);
  /* The database saw each of those ticks once, and no other: the run is
   * recorded before the history line is written, so it may be one ahead. */
  int64_t rows = sql_int("SELECT count(*) FROM cron_cleaner_runs");
  CHECK(rows >= (int64_t)n && rows <= (int64_t)n + 1);
  if (verdict || !moved) dump_logs(kit);
  nodus_kit_down(kit);
}

int main(void) {
  int need = cluster_require(CLUSTER_NETNS);
  if (need) return need;
  find_bin_dir();
  if (access(exec_path, X_OK) != 0) {
    fprintf(stderr, "no %s: build the cron_cleaner example\n", exec_path);
    return 1;
  }
  snprintf(folder, sizeof folder, "/tmp/nodus-cron-XXXXXX");
  if (!mkdtemp(folder)) return 1;
  chmod(folder, 0777); /* the histories are written by the nodes */
  setenv("NODUS_LOG", "info", 0); /* the scheduler's lines in the nodes' logs */
  const char *mode = getenv("CRON_MODE");
  if (!mode || !*mode) mode = "ci";
  const char *seed_s = getenv("CRON_SEED"), *secs_s = getenv("CRON_SECONDS");
  uint64_t seed = seed_s && *seed_s ? strtoull(seed_s, NULL, 10) : 1;
  int seconds = secs_s && *secs_s ? atoi(secs_s) : 60;
  if (!strcmp(mode, "ci") || !strcmp(mode, "forbid")) test_forbid();
  if (!strcmp(mode, "ci") || !strcmp(mode, "gating")) test_gating();
  if (!strcmp(mode, "ci") || !strcmp(mode, "postgres")) {
    if (!find_pg_bin()) return check_skip("PostgreSQL server binaries (postgresql)");
    int rc = pg_setup();
    if (rc) return rc;
    test_postgres();
    pg_cleanup();
  }
  if (!strcmp(mode, "ci") || !strcmp(mode, "failover")) test_failover(seed, seconds);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", folder);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", folder);
  return check_report();
}
