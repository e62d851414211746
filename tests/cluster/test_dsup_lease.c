/* The distributed supervisor's lease mode against a real PostgreSQL
 * server (tests/cluster/pg_server.h), three nodes of this process:
 *
 *   1. one instance, under a lease row the database made (epoch 1, the
 *      holder its node's name and start);
 *   2. a crash: restarted in place with the next epoch from the database;
 *   3. the owner's node lost: another node takes the row once the lease
 *      ran out, with a higher epoch, and the lost one's row is gone;
 *   4. the database stopped: no lease can be renewed, the instance stops
 *      within a lease (nothing runs without one); started again, one
 *      instance again with a higher epoch;
 *   5. processes: two examples/singleton_worker --mode lease nodes (the
 *      kit's loopback mode, where PostgreSQL is; the failure detector on,
 *      net_ticktime 60 s): SIGSTOP of the owner
 *      past its lease; the other starts with a higher epoch from the
 *      database; the old one resumed never gets a write accepted after
 *      the new epoch's first (each work is a fenced write: UPDATE ... WHERE
 *      epoch <= $1), and its write as it stops is refused. */
#define N_NODES 3
#include "dsup_harness.h"
#include "pg_server.h"

#define LEASE_MS 600

/* Node i's log lines after mark that hold needle: how many, and in
 * *first the number right after the first of them (0 when none). */
static int log_find(nodus_kit *kit, int i, long mark, const char *needle,
                    uint64_t *first) {
  char path[600], line[512];
  snprintf(path, sizeof path, "%s/n%d.log", nodus_kit_state_dir(kit), i);
  if (first) *first = 0;
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  fseek(f, mark, SEEK_SET);
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    const char *p = strstr(line, needle);
    if (p && !n++ && first) *first = strtoull(p + strlen(needle), NULL, 10);
  }
  fclose(f);
  return n;
}

static uint64_t started_epoch(nodus_kit *kit, int i, long mark) {
  uint64_t e;
  log_find(kit, i, mark, "singleton started epoch=", &e);
  return e;
}

static int count_in_log(nodus_kit *kit, int i, long mark, const char *needle) {
  return log_find(kit, i, mark, needle, NULL);
}

static int64_t sql_int(const char *sql) {
  char *out = NULL;
  int64_t v = psql(sql, &out) == 0 && out && *out ? strtoll(out, NULL, 10) : -1;
  free(out);
  return v;
}

static void paused_owner(void) {
  char dir[80], spec[200], path[600];
  snprintf(dir, sizeof dir, "/tmp/nodus-dsup-lease-XXXXXX");
  if (!mkdtemp(dir)) return;
  snprintf(spec, sizeof spec, "dir:%s,interval_ms=200,backoff_max_ms=500", dir);
  snprintf(path, sizeof path, "%s/singleton_worker", getenv("NODUS_BIN_DIR") ?
           getenv("NODUS_BIN_DIR") : "build/bin");
  const char *args[] = {"--mode", "lease", "--db", pg.url, "--lease-ms", "1000",
                        "--period-ms", "100", "--ticktime", "60",
                        /* without it the paused owner, still connected,
                         * stays placement's choice until the tick */
                        "--detector-ms", "1000",
                        "--discover", spec, NULL};
  nodus_kit_opts o = {.nodes = 2, .net = NODUS_KIT_NET_LOOPBACK, .exec = path,
                      .exec_args = args, .log = stderr};
  nodus_kit *kit = NULL;
  CHECK_RC(nodus_kit_up(&kit, &o), 0);
  if (!kit) return;
  long mark1 = nodus_kit_log_mark(kit, 1), mark2 = nodus_kit_log_mark(kit, 2);
  uint64_t e_old = 0;
  int owner = 0;
  CHECK(NODUS_EVENTUALLY((e_old = started_epoch(kit, 1, mark1)) ? (owner = 1)
                         : (e_old = started_epoch(kit, 2, mark2)) ? (owner = 2) : 0,
                         10000));
  if (!owner) goto out;
  int other = 3 - owner;
  long mark_o = nodus_kit_log_mark(kit, other), mark_w = nodus_kit_log_mark(kit, owner);
  CHECK(NODUS_EVENTUALLY(count_in_log(kit, owner, mark_w, "fenced write ok") >= 3, 5000));
  CHECK_RC(nodus_kit_pause(kit, owner), 0);
  uint64_t e_new = 0;
  CHECK(NODUS_EVENTUALLY((e_new = started_epoch(kit, other, mark_o)) != 0, 5000));
  CHECK(e_new > e_old);
  CHECK(NODUS_EVENTUALLY(count_in_log(kit, other, mark_o, "fenced write ok") >= 3, 5000));
  /* Still paused past the new owner's writes: now it wakes up. */
  long mark_r = nodus_kit_log_mark(kit, owner);
  CHECK_RC(nodus_kit_resume(kit, owner), 0);
  CHECK(NODUS_EVENTUALLY(count_in_log(kit, owner, mark_r, "singleton stopped") >= 1,
                         5000));
  char sql[300];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM singleton_work WHERE epoch = %llu AND at_ms > "
           "(SELECT min(at_ms) FROM singleton_work WHERE epoch = %llu)",
           (unsigned long long)e_old, (unsigned long long)e_new);
  CHECK(sql_int(sql) == 0); /* nothing of the old epoch got in after */
  snprintf(sql, sizeof sql, "SELECT count(*) FROM singleton_work WHERE epoch = %llu",
           (unsigned long long)e_new);
  CHECK(sql_int(sql) >= 3);
  /* Its last-state write as it stopped, at least, met the fence. */
  CHECK(NODUS_EVENTUALLY(count_in_log(kit, owner, mark_r, "fenced write refused") >= 1,
                         5000));
  int refused = count_in_log(kit, owner, mark_r, "fenced write refused");
  int accepted = count_in_log(kit, owner, mark_r, "fenced write ok epoch=");
  printf("lease, paused owner: epoch %llu -> %llu; after resuming, the old "
         "instance's writes: %d refused, %d accepted (of any epoch)\n",
         (unsigned long long)e_old, (unsigned long long)e_new, refused, accepted);
out:
  nodus_kit_down(kit);
  char rm[120];
  snprintf(rm, sizeof rm, "rm -rf %s", dir);
  if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* The live lease row as "holder epoch", in buf ("" when none). */
static void row(char *buf, size_t size) {
  char *out = NULL;
  psql("SELECT holder || ' ' || epoch FROM nodus_dsup_lease WHERE "
       "dsup = 'leased' AND child = 'job' AND expires_at > clock_timestamp()",
       &out);
  snprintf(buf, size, "%s", out ? out : "");
  free(out);
}

static bool row_is(int node, uint64_t epoch) {
  char want[128], got[256];
  row(got, sizeof got);
  snprintf(want, sizeof want, "dsup%d@127.0.0.1/", node);
  const char *sp = strrchr(got, ' ');
  bool ok = !strncmp(got, want, strlen(want)) && sp &&
            strtoull(sp + 1, NULL, 10) == epoch;
  if (!ok) fprintf(stderr, "lease row '%s', wanted %s... %llu\n", got, want,
                   (unsigned long long)epoch);
  return ok;
}

int main(void) {
  if (!find_pg_bin()) return check_skip("PostgreSQL server binaries (postgresql)");
  int rc = pg_setup();
  if (rc) return rc;
  epmd_port = nodus_kit_free_port();
  for (int i = 0; i < N_NODES; i++)
    if (!(nodes[i] = mk(i))) return check_report();
  connect_all(0, N_NODES);
  nodus_dsup *ds[N_NODES] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_LEASE, .lease_ms = LEASE_MS,
                       .db = pg.url};
  for (int i = 0; i < N_NODES; i++) ds[i] = start(i, "leased", &o);
  CHECK(EVENTUALLY(n_members(ds[0]) == 3 && n_members(ds[1]) == 3 &&
                   n_members(ds[2]) == 3, 3000));
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker"};
  CHECK_RC(nodus_dsup_start_child(ds[0], &spec), 0);

  /* 1 */
  CHECK(EVENTUALLY(running_total(0, N_NODES) == 1, 5000));
  CHECK(stays_one(0, N_NODES, 3 * LEASE_MS)); /* renewed, not re-taken */
  int owner = running_on(0, N_NODES);
  if (owner < 0) return check_report();
  CHECK(atomic_load(&rec[owner].last_epoch) == 1);
  CHECK(row_is(owner, 1));
  CHECK(nodus_dsup_valid(ds[owner], "job", 1));

  /* 2 */
  send_to_instance(owner, "crash");
  CHECK(EVENTUALLY(atomic_load(&rec[owner].last_epoch) == 2 &&
                   running_total(0, N_NODES) == 1, 3000));
  CHECK(row_is(owner, 2));

  /* 3 */
  int64_t t0 = now_ms();
  nodus_node_close(nodes[owner]);
  nodes[owner] = NULL;
  nodus_dsup_close(ds[owner]);
  ds[owner] = NULL;
  CHECK(EVENTUALLY(running_total(0, N_NODES) == 1, 3 * LEASE_MS + 2000));
  int next = running_on(0, N_NODES);
  if (next < 0) return check_report();
  printf("lease: running again %lld ms after its node closed (lease %d ms)\n",
         (long long)(now_ms() - t0), LEASE_MS);
  CHECK(atomic_load(&rec[next].last_epoch) == 3);
  CHECK(row_is(next, 3));

  /* 4 */
  pg_server_stop();
  int64_t t1 = now_ms();
  CHECK(EVENTUALLY(running_total(0, N_NODES) == 0, 2 * LEASE_MS + 1000));
  printf("lease: stopped %lld ms after the database went\n",
         (long long)(now_ms() - t1));
  CHECK(!nodus_dsup_valid(ds[next], "job", 3));
  CHECK_RC(pg_server_start(), 0);
  CHECK(EVENTUALLY(running_total(0, N_NODES) == 1, 10000));
  int again = running_on(0, N_NODES);
  uint64_t e4 = again >= 0 ? atomic_load(&rec[again].last_epoch) : 0;
  CHECK(e4 > 3);

  for (int i = 0; i < N_NODES; i++) nodus_dsup_close(ds[i]);
  for (int i = N_NODES - 1; i >= 0; i--)
    if (nodes[i]) nodus_node_close(nodes[i]);
  for (int i = 0; i < N_NODES; i++) nodus_term_free(&last_pid[i]);

  /* 5 */
  paused_owner();
  return check_report();
}
