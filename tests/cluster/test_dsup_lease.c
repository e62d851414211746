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
 *      instance again with a higher epoch.
 * SIGSTOP of an owner's process past its lease, and its fenced write
 * refused after it resumes, is the example's test (test_cluster_dsup). */
#define N_NODES 3
#include "dsup_harness.h"
#include "pg_server.h"

#define LEASE_MS 600

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
  epmd_port = test_free_port();
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
  return check_report();
}
