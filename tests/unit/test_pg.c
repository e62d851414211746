/* pg scopes between two nodes of this process: join/leave (one pid,
 * several, twice), reads, not_joined, local-only pids, no empty groups,
 * monitor_scope/monitor notifications, members that exit, a second start
 * of the same scope, a remote scope that stops, a remote node that closes.
 * Every wait is by condition with a deadline. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nodus_testkit.h"
#include "nodus.h"

static nodus_node *na, *nb;
static nodus_pg *pa, *pb;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* EVENTUALLY: polls cond up to 5 s. */
#define EVENTUALLY(cond)                                              \
  do {                                                                \
    double until_ = now_s() + 5;                                      \
    while (!(cond) && now_s() < until_) usleep(2000);                 \
    CHECK(cond);                                                      \
  } while (0)

static nodus_term atom(const char *s) {
  nodus_term t;
  nodus_mk_atom(&t, s);
  return t;
}

/* How many times pid is in the group (-1 on error). */
static int count_in(nodus_pg *pg, const nodus_term *group,
                    const nodus_term *pid, bool local) {
  nodus_term l;
  int rc = local ? nodus_pg_get_local_members(pg, group, &l)
                 : nodus_pg_get_members(pg, group, &l);
  if (rc) return -1;
  int n = 0;
  for (size_t i = 0; l.type == NODUS_T_LIST && i < l.n; i++)
    n += nodus_equal(&l.v.items[i], pid);
  nodus_term_free(&l);
  return n;
}

static size_t n_members(nodus_pg *pg, const nodus_term *group) {
  nodus_term l;
  if (nodus_pg_get_members(pg, group, &l)) return (size_t)-1;
  size_t n = nodus_size(&l);
  nodus_term_free(&l);
  return n;
}

static size_t n_groups(nodus_pg *pg) {
  nodus_term l;
  if (nodus_pg_which_groups(pg, &l)) return (size_t)-1;
  size_t n = nodus_size(&l);
  nodus_term_free(&l);
  return n;
}

/* Receives one message and matches it against pattern with a ~t hole for
 * the monitor ref, which must equal `ref`. */
static void expect_note(nodus_mailbox *mb, const nodus_term *ref,
                        const char *pattern) {
  nodus_term msg;
  CHECK_RC(nodus_mailbox_recv(mb, &msg, 3000), 0);
  const nodus_term *r;
  int rc = nodus_match(&msg, pattern, &r);
  CHECK_RC(rc, 0);
  if (rc == 0) CHECK(nodus_equal(r, ref));
  if (rc) {
    char *s;
    size_t len;
    if (nodus_print(&msg, NULL, &s, &len) == 0) {
      fprintf(stderr, "  got %s, wanted %s\n", s, pattern);
      free(s);
    }
  }
  nodus_term_free(&msg);
}

static void local_semantics(void) {
  nodus_mailbox *m1, *m2, *watcher;
  CHECK_RC(nodus_mailbox_open(na, &m1), 0);
  CHECK_RC(nodus_mailbox_open(na, &m2), 0);
  CHECK_RC(nodus_mailbox_open(na, &watcher), 0);
  const nodus_term *p1 = nodus_mailbox_pid(m1), *p2 = nodus_mailbox_pid(m2);
  nodus_term g = atom("g1"), g2 = atom("g2");

  nodus_term sref, groups, gref, members;
  CHECK_RC(nodus_pg_monitor_scope(pa, nodus_mailbox_pid(watcher), &sref,
                                  &groups), 0);
  CHECK(groups.type == NODUS_T_MAP && groups.n == 0);
  CHECK_RC(nodus_pg_monitor(pa, &g2, nodus_mailbox_pid(watcher), &gref,
                            &members), 0);
  CHECK(members.type == NODUS_T_NIL);

  CHECK_RC(nodus_pg_join(pa, &g, p1), 0);
  CHECK(count_in(pa, &g, p1, false) == 1);
  CHECK(count_in(pa, &g, p1, true) == 1);
  expect_note(watcher, &sref, "{~t, join, g1, [_]}");
  CHECK_RC(nodus_pg_join(pa, &g, p1), 0); /* twice: listed twice */
  CHECK(count_in(pa, &g, p1, false) == 2);
  expect_note(watcher, &sref, "{~t, join, g1, [_]}");

  nodus_term both;
  nodus_term c1, c2;
  nodus_copy(&c1, p1);
  nodus_copy(&c2, p2);
  CHECK_RC(nodus_build(&both, "[~t, ~t]", c1, c2), 0);
  CHECK_RC(nodus_pg_join(pa, &g2, &both), 0);
  CHECK(n_members(pa, &g2) == 2);
  /* Both the scope and the group watch see it. */
  for (int i = 0; i < 2; i++) {
    nodus_term msg;
    CHECK_RC(nodus_mailbox_recv(watcher, &msg, 3000), 0);
    const nodus_term *r;
    CHECK_RC(nodus_match(&msg, "{~t, join, g2, [_, _]}", &r), 0);
    nodus_term_free(&msg);
  }
  CHECK(n_groups(pa) == 2);

  /* Only local pids may join. */
  nodus_term remote;
  nodus_mk_pid(&remote, nodus_node_name(nb), 77, 0, 1);
  CHECK_RC(nodus_pg_join(pa, &g, &remote), NODUS_EINVAL);
  nodus_term_free(&remote);
  nodus_term not_pid = atom("x");
  CHECK_RC(nodus_pg_join(pa, &g, &not_pid), NODUS_EINVAL);

  /* Leave: one occurrence at a time; not_joined when none. */
  CHECK_RC(nodus_pg_leave(pa, &g, p1), 0);
  CHECK(count_in(pa, &g, p1, false) == 1);
  expect_note(watcher, &sref, "{~t, leave, g1, [_]}");
  CHECK_RC(nodus_pg_leave(pa, &g, p2), NODUS_ENOMATCH);
  CHECK_RC(nodus_pg_leave(pa, &g, p1), 0);
  expect_note(watcher, &sref, "{~t, leave, g1, [_]}");
  CHECK(n_members(pa, &g) == 0);
  CHECK(n_groups(pa) == 1); /* no empty groups */

  /* Demonitor the scope watch: only the group watch stays. */
  CHECK_RC(nodus_pg_demonitor(pa, &sref), 0);
  CHECK_RC(nodus_pg_demonitor(pa, &sref), NODUS_ENOMATCH);

  /* A member that exits leaves every group it was in. */
  nodus_mailbox_close(m2);
  EVENTUALLY(n_members(pa, &g2) == 1);
  expect_note(watcher, &gref, "{~t, leave, g2, [_]}");
  nodus_mailbox_close(m1);
  EVENTUALLY(n_groups(pa) == 0);
  expect_note(watcher, &gref, "{~t, leave, g2, [_]}");

  /* A second start gives the same scope; another holder of the name
   * is refused. */
  nodus_pg *again;
  CHECK_RC(nodus_pg_start(na, "test_scope", &again), 0);
  CHECK(again == pa);
  nodus_pg_release(again);
  nodus_term sleeper;
  nodus_proc_spec spec = {.register_name = "taken_name"};
  CHECK_RC(nodus_spawn(na, &spec, &sleeper), 0);
  nodus_pg *clash = NULL;
  CHECK_RC(nodus_pg_start(na, "taken_name", &clash), NODUS_EEXIST);
  nodus_term_free(&sleeper);

  nodus_term_free(&sref);
  nodus_term_free(&gref);
  nodus_term_free(&groups);
  nodus_term_free(&members);
  nodus_term_free(&both);
  nodus_mailbox_close(watcher);
}

static void two_nodes(void) {
  nodus_mailbox *ma, *mb1, *mb2;
  CHECK_RC(nodus_mailbox_open(na, &ma), 0);
  CHECK_RC(nodus_mailbox_open(nb, &mb1), 0);
  CHECK_RC(nodus_mailbox_open(nb, &mb2), 0);
  const nodus_term *pa1 = nodus_mailbox_pid(ma);
  const nodus_term *pb1 = nodus_mailbox_pid(mb1);
  const nodus_term *pb2 = nodus_mailbox_pid(mb2);
  nodus_term g = atom("shared");

  /* Joined before the nodes meet: sync on discover brings it over. */
  CHECK_RC(nodus_pg_join(pa, &g, pa1), 0);
  CHECK_RC(nodus_pg_join(pb, &g, pb1), 0);
  CHECK_RC(nodus_node_ping(nb, nodus_node_name(na), 5000), 0);
  EVENTUALLY(count_in(pb, &g, pa1, false) == 1);
  EVENTUALLY(count_in(pa, &g, pb1, false) == 1);
  CHECK(count_in(pa, &g, pb1, true) == 0); /* not local there */

  /* Joins and leaves after that travel as join/leave. */
  CHECK_RC(nodus_pg_join(pb, &g, pb2), 0);
  EVENTUALLY(count_in(pa, &g, pb2, false) == 1);
  CHECK_RC(nodus_pg_leave(pb, &g, pb2), 0);
  EVENTUALLY(count_in(pa, &g, pb2, false) == 0);

  /* A remote member that exits disappears here. */
  nodus_mailbox_close(mb2);
  CHECK_RC(nodus_mailbox_open(nb, &mb2), 0);
  pb2 = nodus_mailbox_pid(mb2);
  CHECK_RC(nodus_pg_join(pb, &g, pb2), 0);
  EVENTUALLY(count_in(pa, &g, pb2, false) == 1);
  nodus_mailbox_close(mb2);
  EVENTUALLY(n_members(pa, &g) == 2);

  /* The remote scope stops: its members leave here. Another handle to
   * it sees it ended. */
  nodus_pg *pb_again;
  CHECK_RC(nodus_pg_start(nb, "test_scope", &pb_again), 0);
  CHECK(pb_again == pb);
  nodus_pg_close(pb);
  EVENTUALLY(count_in(pa, &g, pb1, false) == 0);
  CHECK(count_in(pa, &g, pa1, false) == 1);
  CHECK_RC(nodus_pg_join(pb_again, &g, pb1), NODUS_ESTATE);
  nodus_pg_close(pb_again); /* ended already: only frees */
  CHECK_RC(nodus_pg_start(nb, "test_scope", &pb), 0);
  EVENTUALLY(count_in(pb, &g, pa1, false) == 1); /* discovered again */
  CHECK_RC(nodus_pg_join(pb, &g, pb1), 0);
  EVENTUALLY(count_in(pa, &g, pb1, false) == 1);

  /* The remote node closes: noconnection DOWN, members gone. Its handles
   * close after it, safely (ASan). */
  nodus_pubsub *ps;
  nodus_pubsub_opts po = {.name = "Elixir.Test.PubSub"};
  CHECK_RC(nodus_pubsub_start(nb, &po, &ps), 0);
  nodus_mailbox_close(mb1);
  nodus_node_close(nb);
  nb = NULL;
  nodus_pg_close(pb);
  nodus_pubsub_close(ps);
  EVENTUALLY(n_members(pa, &g) == 1);
  nodus_mailbox_close(ma);
  EVENTUALLY(n_groups(pa) == 0);
}

int main(void) {
  int port = nodus_kit_free_port();
  nodus_node_opts oa = {.name = "pgunit_a@localhost",
                        .cookie = "pgunit",
                        .listen_address = "127.0.0.1",
                        .epmd_mode = NODUS_EPMD_EMBEDDED,
                        .epmd_port = port};
  nodus_node_opts ob = oa;
  ob.name = "pgunit_b@localhost";
  ob.epmd_mode = NODUS_EPMD_SYSTEM;
  CHECK_RC(nodus_node_init(&oa, &na), 0);
  CHECK_RC(nodus_node_start(na), 0);
  CHECK_RC(nodus_node_init(&ob, &nb), 0);
  CHECK_RC(nodus_node_start(nb), 0);
  CHECK_RC(nodus_pg_start(na, "test_scope", &pa), 0);
  CHECK_RC(nodus_pg_start(nb, "test_scope", &pb), 0);
  if (!check_failed) local_semantics();
  if (!check_failed) two_nodes();
  if (nb) {
    nodus_pg_close(pb);
    nodus_node_close(nb);
  }
  nodus_pg_close(pa); /* before the node closes, the usual order */
  nodus_node_close(na);
  return check_report();
}
