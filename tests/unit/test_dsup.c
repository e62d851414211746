/* The distributed supervisor on loopback, nodes of this process around a
 * private epmd: one instance in the cluster, placement agreed by every
 * member, restart in place after a crash with a higher epoch, a move on
 * graceful leave and on node loss, transient children done everywhere,
 * min_nodes gating, and quorum mode: one instance under a lease, moved
 * after its node is lost, stopped on a node left without a quorum; handoff
 * of state on a join and on a graceful leave; the failure detector. */
#define N_NODES 6
#include "dsup_harness.h"

/* Where each member believes the child runs: all agree on `owner`. */
static bool all_see(nodus_dsup **ds, int from, int to, int owner) {
  nodus_atom want = nodus_node_name(nodes[owner]);
  for (int i = from; i < to; i++) {
    if (!ds[i]) continue;
    nodus_term l;
    if (nodus_dsup_which_children(ds[i], &l)) return false;
    nodus_atom where = 0;
    bool ok = l.type == NODUS_T_LIST && l.n == 1 &&
              !nodus_match(&l.v.items[0], "{<<\"job\">>, ~a, _, _}", &where) &&
              where == want;
    nodus_term_free(&l);
    if (!ok) return false;
  }
  return true;
}

static void availability(void) {
  nodus_dsup *ds[N_NODES] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_AVAILABILITY};
  for (int i = 0; i < 3; i++) ds[i] = start(i, "avail", &o);
  CHECK(EVENTUALLY(n_members(ds[0]) == 3 && n_members(ds[1]) == 3 &&
                   n_members(ds[2]) == 3, 3000));
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker",
                                .restart = NODUS_PERMANENT};
  CHECK_RC(nodus_dsup_start_child(ds[1], &spec), 0);
  CHECK_RC(nodus_dsup_start_child(ds[2], &spec), 0); /* the same: no-op */
  nodus_dsup_child_spec other = spec;
  other.restart = NODUS_TEMPORARY;
  CHECK_RC(nodus_dsup_start_child(ds[2], &other), NODUS_EEXIST);
  CHECK(EVENTUALLY(running_total(0, 3) == 1, 3000));
  CHECK(stays_one(0, 3, 300));
  int owner = running_on(0, 3);
  CHECK(EVENTUALLY(all_see(ds, 0, 3, owner), 2000));
  /* What `nodus dsup status` shows, over rpc from another node. */
  nodus_term res;
  int other_node = (owner + 1) % 3;
  CHECK_RC(nodus_rpc(nodes[other_node], nodus_node_name(nodes[owner]), "nodus",
                     "dsup_children", nodus_nil(), 5000, &res), 0);
  const nodus_term *kids = NULL, *members = NULL;
  nodus_atom mode = 0, runs_on = 0;
  CHECK(res.type == NODUS_T_LIST && res.n == 1 &&
        !nodus_match(&res.v.items[0],
                     "#{name => <<\"avail\">>, mode => ~a, members => ~t, "
                     "children => ~t}", &mode, &members, &kids));
  CHECK(mode && !strcmp(nodus_atom_text(mode, NULL), "availability"));
  CHECK(members && nodus_size(members) == 3);
  CHECK(kids && nodus_size(kids) == 1 &&
        !nodus_match(nodus_list_item(kids, 0), "{<<\"job\">>, ~a, _, _}", &runs_on) &&
        runs_on == nodus_node_name(nodes[owner]));
  nodus_term_free(&res);
  uint64_t e1 = atomic_load(&rec[owner].last_epoch), got = 0;
  CHECK_RC(nodus_dsup_epoch(ds[owner], "job", &got), 0);
  CHECK(got == e1);
  CHECK(nodus_dsup_valid(ds[owner], "job", e1));
  CHECK(!nodus_dsup_valid(ds[owner], "job", e1 + 1));
  CHECK(!nodus_dsup_valid(ds[(owner + 1) % 3], "job", e1));

  /* A crash: restarted where it was, with a higher epoch. */
  int starts = atomic_load(&rec[owner].starts);
  send_to_instance(owner, "crash");
  CHECK(EVENTUALLY(atomic_load(&rec[owner].starts) == starts + 1 &&
                   atomic_load(&rec[owner].running) == 1, 2000));
  uint64_t e2 = atomic_load(&rec[owner].last_epoch);
  CHECK(e2 > e1);
  CHECK(stays_one(0, 3, 200));

  /* Graceful leave: it moves at once. */
  int64_t t0 = now_ms();
  nodus_dsup_close(ds[owner]);
  ds[owner] = NULL;
  CHECK(EVENTUALLY(running_total(0, 3) == 1 && !atomic_load(&rec[owner].running),
                   2000));
  int next = running_on(0, 3);
  CHECK(next >= 0 && next != owner);
  if (next >= 0) {
    CHECK(atomic_load(&rec[next].last_epoch) > e2);
    printf("moved on graceful leave in %lld ms\n", (long long)(now_ms() - t0));
  }
  CHECK(stays_one(0, 3, 200));
  CHECK_RC(nodus_dsup_terminate_child(ds[next], "job"), 0);
  CHECK(EVENTUALLY(running_total(0, 3) == 0, 2000));
  CHECK_RC(nodus_dsup_terminate_child(ds[next], "job"), NODUS_ENOTFOUND);

  /* A transient child that ends normally is done everywhere. */
  nodus_dsup_child_spec tr = {.id = "once", .kind = "worker",
                              .restart = NODUS_TRANSIENT};
  CHECK_RC(nodus_dsup_start_child(ds[next], &tr), 0);
  CHECK(EVENTUALLY(running_total(0, 3) == 1, 2000));
  int where = running_on(0, 3);
  if (where >= 0) send_to_instance(where, "done");
  CHECK(EVENTUALLY(running_total(0, 3) == 0, 2000));
  usleep(300000); /* nothing may come back: look again after a while */
  CHECK(running_total(0, 3) == 0);
  for (int i = 0; i < 3; i++) {
    if (!ds[i]) continue;
    nodus_term l;
    CHECK_RC(nodus_dsup_which_children(ds[i], &l), 0);
    if (l.n) {
      char *txt = NULL;
      nodus_print(&l, NULL, &txt, NULL);
      fprintf(stderr, "node %d still lists %s\n", i, txt);
      free(txt);
    }
    CHECK(nodus_is_proper_list(&l) && nodus_size(&l) == 0);
    nodus_term_free(&l);
  }
  for (int i = 0; i < 3; i++) nodus_dsup_close(ds[i]);
}

/* min_nodes 3: two members run nothing; the third makes it start. */
static void gating(void) {
  nodus_dsup *ds[3] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_AVAILABILITY, .min_nodes = 3};
  ds[0] = start(0, "gated", &o);
  ds[1] = start(1, "gated", &o);
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker"};
  CHECK_RC(nodus_dsup_start_child(ds[0], &spec), 0);
  CHECK(EVENTUALLY(n_members(ds[0]) == 2, 2000));
  usleep(400000); /* a while with two members: nothing may start */
  CHECK(running_total(0, 3) == 0);
  ds[2] = start(2, "gated", &o);
  CHECK(EVENTUALLY(running_total(0, 3) == 1, 2000));
  CHECK(stays_one(0, 3, 200));
  /* Back below min_nodes: it stops. */
  nodus_dsup_close(ds[2]);
  ds[2] = NULL;
  CHECK(EVENTUALLY(running_total(0, 3) == 0, 2000));
  for (int i = 0; i < 3; i++) nodus_dsup_close(ds[i]);
}

/* Node loss, availability: a surviving node runs it within a second of
 * the close, which the others see as a connection_closed nodedown. */
/* Node i's :global table gives the instance last started on node owner. */
static bool global_is(int i, int owner) {
  nodus_term name, pid = {0}, want;
  nodus_mk_atom(&name, "dsup_loss_job");
  pthread_mutex_lock(&pids_lock);
  nodus_copy(&want, &last_pid[owner]);
  pthread_mutex_unlock(&pids_lock);
  bool ok = nodus_global_whereis(nodes[i], &name, &pid) == 0 && nodus_equal(&pid, &want);
  nodus_term_free(&pid);
  nodus_term_free(&want);
  return ok;
}

static void node_loss(void) {
  nodus_dsup *ds[N_NODES] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_AVAILABILITY};
  for (int i = 3; i < 6; i++) ds[i] = start(i, "loss", &o);
  CHECK(EVENTUALLY(n_members(ds[3]) == 3 && n_members(ds[4]) == 3 &&
                   n_members(ds[5]) == 3, 3000));
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker",
                                .global_name = "dsup_loss_job"};
  CHECK_RC(nodus_dsup_start_child(ds[3], &spec), 0);
  CHECK(EVENTUALLY(running_total(3, 6) == 1, 3000));
  int owner = running_on(3, 6);
  /* Its :global name, seen from every member, is the instance. */
  for (int i = 3; i < 6; i++)
    CHECK(EVENTUALLY(global_is(i, owner), 3000));
  uint64_t e1 = atomic_load(&rec[owner].last_epoch);
  int64_t t0 = now_ms();
  nodus_node_close(nodes[owner]);
  nodes[owner] = NULL;
  nodus_dsup_close(ds[owner]); /* after its node: only frees */
  ds[owner] = NULL;
  CHECK(EVENTUALLY(running_total(3, 6) == 1, 1000));
  int next = running_on(3, 6);
  CHECK(next >= 0 && next != owner);
  if (next >= 0) {
    CHECK(atomic_load(&rec[next].last_epoch) > e1);
    printf("availability: running again %lld ms after its node closed\n",
           (long long)(now_ms() - t0));
    for (int i = 3; i < 6; i++) /* the name follows the instance */
      if (nodes[i]) CHECK(EVENTUALLY(global_is(i, next), 3000));
  }
  for (int i = 3; i < 6; i++) nodus_dsup_close(ds[i]);
}

/* Quorum mode on what is left of nodes 3..5 plus 0..2: cluster_size 3. */
static void quorum(void) {
  int q[3], k = 0;
  for (int i = 0; i < N_NODES && k < 3; i++)
    if (nodes[i]) q[k++] = i;
  nodus_dsup *ds[N_NODES] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_QUORUM, .cluster_size = 3,
                       .lease_ms = 400};
  int64_t t0 = now_ms();
  for (int j = 0; j < 3; j++) ds[q[j]] = start(q[j], "quorum", &o);
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker"};
  CHECK_RC(nodus_dsup_start_child(ds[q[0]], &spec), 0);
  /* Nobody votes during its first lease_ms: the start waits that long. */
  int total = 0;
  for (int j = 0; j < 3; j++) total += atomic_load(&rec[q[j]].running);
  CHECK(total == 0);
  CHECK(EVENTUALLY(running_total(0, N_NODES) == 1, 3000));
  CHECK(now_ms() - t0 >= 400);
  CHECK(stays_one(0, N_NODES, 500)); /* renewals keep it where it is */
  int owner = running_on(0, N_NODES);
  uint64_t e1 = atomic_load(&rec[owner].last_epoch);
  CHECK(nodus_dsup_valid(ds[owner], "job", e1));

  /* The owner's node goes: the others wait out its lease, then one runs. */
  nodus_node_close(nodes[owner]);
  nodes[owner] = NULL;
  nodus_dsup_close(ds[owner]);
  ds[owner] = NULL;
  int64_t t1 = now_ms();
  CHECK(EVENTUALLY(running_total(0, N_NODES) == 1, 3000));
  int next = running_on(0, N_NODES);
  CHECK(next >= 0 && next != owner);
  if (next >= 0) {
    CHECK(atomic_load(&rec[next].last_epoch) > e1);
    printf("quorum: running again %lld ms after its node closed (lease 400 ms)\n",
           (long long)(now_ms() - t1));
  }
  /* One more node gone: one of three is no quorum, nothing runs. */
  int other = -1;
  for (int j = 0; j < 3; j++)
    if (q[j] != owner && q[j] != next) other = q[j];
  if (next >= 0 && other >= 0) {
    uint64_t e2 = atomic_load(&rec[next].last_epoch);
    nodus_node_close(nodes[other]);
    nodes[other] = NULL;
    nodus_dsup_close(ds[other]);
    ds[other] = NULL;
    CHECK(EVENTUALLY(running_total(0, N_NODES) == 0, 2000));
    CHECK(!nodus_dsup_valid(ds[next], "job", e2));
    usleep(500000);
    CHECK(running_total(0, N_NODES) == 0);
  }
  for (int i = 0; i < N_NODES; i++) nodus_dsup_close(ds[i]);
}

/* The member whose name sorts last: a joiner takes the child over. */
static size_t place_last(const char *id, const nodus_dsup_member *m, size_t n,
                         void *arg) {
  return n - 1;
}

/* Handoff: a join moves the child to the newcomer with its state, a
 * graceful leave moves it back, with the state again. */
static void handoff(void) {
  nodus_dsup *ds[3] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_AVAILABILITY,
                       .placement = NODUS_DSUP_CALLBACK, .place = place_last,
                       .handoff_ms = 1000};
  ds[0] = start(0, "hand", &o);
  ds[1] = start(1, "hand", &o);
  CHECK(EVENTUALLY(n_members(ds[0]) == 2 && n_members(ds[1]) == 2, 2000));
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker"};
  CHECK_RC(nodus_dsup_start_child(ds[0], &spec), 0);
  CHECK(EVENTUALLY(atomic_load(&rec[1].running) == 1, 2000));
  CHECK(atomic_load(&rec[1].handed) == -1); /* a first start: nothing */
  ds[2] = start(2, "hand", &o);
  CHECK(EVENTUALLY(atomic_load(&rec[2].running) == 1 &&
                   !atomic_load(&rec[1].running), 3000));
  CHECK(atomic_load(&rec[2].handed) == 1);
  CHECK(stays_one(0, 3, 200));
  nodus_dsup_close(ds[2]);
  ds[2] = NULL;
  CHECK(EVENTUALLY(atomic_load(&rec[1].running) == 1, 3000));
  CHECK(atomic_load(&rec[1].handed) == 2);
  CHECK(running_total(0, 3) == 1);
  for (int i = 0; i < 3; i++) nodus_dsup_close(ds[i]);
}

/* A loop that runs nothing for a while: to the others, a node paused or
 * cut off while its connections stay up. */
static void hold_loop(nodus_node *node, void *arg) {
  usleep((useconds_t)(intptr_t)arg * 1000);
}

/* The failure detector: a silent owner is declared down and its child
 * runs elsewhere long before net_ticktime (4 s here) would say so. */
static void detector(void) {
  nodus_dsup *ds[N_NODES] = {0};
  nodus_dsup_opts o = {.mode = NODUS_DSUP_AVAILABILITY, .detector_ms = 500};
  for (int i = 3; i < 6; i++) ds[i] = start(i, "detect", &o);
  CHECK(EVENTUALLY(n_members(ds[3]) == 3 && n_members(ds[4]) == 3 &&
                   n_members(ds[5]) == 3, 3000));
  nodus_dsup_child_spec spec = {.id = "job", .kind = "worker"};
  CHECK_RC(nodus_dsup_start_child(ds[3], &spec), 0);
  CHECK(EVENTUALLY(running_total(3, 6) == 1, 3000));
  CHECK(stays_one(3, 6, 1000)); /* heartbeats flow: nobody is declared down */
  int owner = running_on(3, 6);
  int64_t t0 = now_ms();
  CHECK_RC(nodus_node_post(nodes[owner], hold_loop, (void *)(intptr_t)2500), 0);
  CHECK(EVENTUALLY(running_total(3, 6) == 2, 1500)); /* the silent one's, and a new one */
  int64_t took = now_ms() - t0;
  printf("detector 500 ms: running elsewhere %lld ms after its node went silent\n",
         (long long)took);
  CHECK(took <= 1500);
  /* The silent node comes back, disconnected by the others: its instance
   * meets the new one when they reconnect, and one remains. */
  for (int i = 3; i < 6; i++)
    for (int j = i + 1; j < 6; j++)
      EVENTUALLY(nodus_node_connect(nodes[i], nodus_node_name(nodes[j])) == 0 &&
                     n_members(ds[i]) == 3, 6000);
  CHECK(EVENTUALLY(running_total(3, 6) == 1, 6000));
  CHECK(stays_one(3, 6, 500));
  for (int i = 3; i < 6; i++) nodus_dsup_close(ds[i]);
}

static void bad_opts(void) {
  nodus_dsup *d = NULL;
  nodus_dsup_opts o = {.name = "bad", .mode = NODUS_DSUP_QUORUM};
  CHECK_RC(nodus_dsup_start(nodes[0], &o, &d), NODUS_EINVAL); /* no size */
  o.mode = 7;
  CHECK_RC(nodus_dsup_start(nodes[0], &o, &d), NODUS_EINVAL);
  o.mode = NODUS_DSUP_AVAILABILITY;
  o.placement = NODUS_DSUP_CALLBACK; /* without a callback */
  CHECK_RC(nodus_dsup_start(nodes[0], &o, &d), NODUS_EINVAL);
  CHECK(d == NULL);
  o.placement = NODUS_DSUP_HASH;
  CHECK_RC(nodus_dsup_start(nodes[0], &o, &d), 0);
  nodus_dsup *twice = NULL;
  CHECK_RC(nodus_dsup_start(nodes[0], &o, &twice), NODUS_EEXIST);
  nodus_dsup_child_spec spec = {.id = "", .kind = "worker"};
  CHECK_RC(nodus_dsup_start_child(d, &spec), NODUS_EINVAL);
  nodus_dsup_close(d);
}

int main(void) {
  epmd_port = nodus_kit_free_port();
  for (int i = 0; i < N_NODES; i++)
    if (!(nodes[i] = mk(i))) return check_report();
  connect_all(0, 3);
  connect_all(3, 6);
  bad_opts();
  availability();
  gating();
  handoff();
  detector();
  node_loss();
  quorum();
  for (int i = N_NODES - 1; i >= 0; i--)
    if (nodes[i]) nodus_node_close(nodes[i]);
  for (int i = 0; i < N_NODES; i++) nodus_term_free(&last_pid[i]);
  return check_report();
}
