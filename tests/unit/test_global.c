/* :global among C nodes, three nodes in one process on loopback: the sync
 * of name tables on connect (also with a node met only through another),
 * register / re-register / unregister, a taken name and a pid with two
 * names refused, whereis, send and gen_server calls to {global, Name},
 * names gone when their process or their node goes, locks shared by one
 * requester id and refused to another, trans, sync, and concurrent
 * registrations of one name from two nodes: exactly one wins, and every
 * node agrees on the pid. Every wait is by condition with a deadline. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nodus.h"
#include "nodus/global.h"

static nodus_term parse(const char *s) {
  nodus_term t = {0};
  if (nodus_parse(s, strlen(s), NULL, &t, NULL)) {
    fprintf(stderr, "parse failed: %s\n", s);
    exit(1);
  }
  return t;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static nodus_node *start(const char *name, const char *port_env) {
  nodus_node_opts opts = {.name = name,
                          .cookie = "gl",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE};
  nodus_node *n = NULL;
  CHECK_RC(nodus_node_init(&opts, &n), 0);
  if (!n) exit(1);
  CHECK_RC(nodus_node_start(n), 0);
  return n;
}

static nodus_atom atom_of(const char *s) {
  nodus_atom a;
  nodus_atom_intern(s, strlen(s), &a);
  return a;
}

/* Waits up to ms until name resolves on node to want (NONE: to nothing). */
static bool wait_where(nodus_node *node, const char *name,
                       const nodus_term *want, int ms) {
  nodus_term n = parse(name);
  int64_t until = now_ms() + ms;
  bool ok = false;
  do {
    nodus_term pid;
    int rc = nodus_global_whereis(node, &n, &pid);
    if (want->type == NODUS_T_NONE) ok = rc == NODUS_ENOTFOUND;
    else ok = rc == 0 && nodus_equal(&pid, want);
    if (rc == 0) nodus_term_free(&pid);
    if (!ok) usleep(5000);
  } while (!ok && now_ms() < until);
  nodus_term_free(&n);
  if (!ok) fprintf(stderr, "  %s did not resolve as wanted on %s\n", name,
                   nodus_atom_text(nodus_node_name(node), NULL));
  return ok;
}

static const nodus_term NONE = {0};

/* ---- a gen_server registered globally ------------------------------------ */

static int echo_call(nodus_proc *self, void *state, const nodus_term *req,
                     const nodus_term *from, nodus_term *reply,
                     nodus_term *stop) {
  nodus_term c;
  nodus_copy(&c, req);
  nodus_build(reply, "{echo, ~t}", c);
  return NODUS_GS_REPLY;
}
static const nodus_gen_server_ops echo_ops = {.handle_call = echo_call};

/* ---- concurrent registration ---------------------------------------------- */

struct racer {
  nodus_node *node;
  nodus_term name, pid;
  pthread_barrier_t *go;
  int rc;
};

static void *race(void *arg) {
  struct racer *r = arg;
  pthread_barrier_wait(r->go);
  r->rc = nodus_global_register(r->node, &r->name, &r->pid, NULL);
  return NULL;
}

static int bump(void *arg) {
  (*(int *)arg)++;
  return 7;
}

int main(void) {
  nodus_node *n1 = start("gl1@127.0.0.1", NULL);
  nodus_node *n2 = start("gl2@127.0.0.1", NULL);
  nodus_node *n3 = start("gl3@127.0.0.1", NULL);
  nodus_node *all[] = {n1, n2, n3};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      if (i != j)
        nodus_node_set_peer_port(all[i], nodus_node_name(all[j]),
                                 nodus_node_port(all[j]));
  nodus_mailbox *m1, *m2, *m3;
  CHECK_RC(nodus_mailbox_open(n1, &m1), 0);
  CHECK_RC(nodus_mailbox_open(n2, &m2), 0);
  CHECK_RC(nodus_mailbox_open(n3, &m3), 0);
  const nodus_term *p1 = nodus_mailbox_pid(m1), *p2 = nodus_mailbox_pid(m2);

  /* Alone: the table is the node's own. */
  nodus_term a = parse("a");
  CHECK_RC(nodus_global_register(n1, &a, p1, NULL), 0);
  CHECK(wait_where(n1, "a", p1, 10));
  CHECK_RC(nodus_global_register(n1, &a, p1, NULL), NODUS_EEXIST);
  nodus_term a2 = parse("{a, 2}");
  CHECK_RC(nodus_global_register(n1, &a2, p1, NULL), NODUS_EEXIST); /* 2 names */
  nodus_term notpid = parse("x");
  CHECK_RC(nodus_global_register(n1, &a2, &notpid, NULL), NODUS_EINVAL);

  /* Connect: the tables meet. */
  CHECK_RC(nodus_node_ping(n1, nodus_node_name(n2), 5000), 0);
  CHECK(wait_where(n2, "a", p1, 5000));
  nodus_term b = parse("{job, <<\"b\">>}");
  CHECK_RC(nodus_global_register(n2, &b, p2, NULL), 0);
  CHECK(wait_where(n1, "{job, <<\"b\">>}", p2, 1000));
  CHECK_RC(nodus_global_register(n1, &b, p1, NULL), NODUS_EEXIST);
  CHECK_RC(nodus_global_sync(n1, 5000), 0);

  /* send and call by global name */
  CHECK_RC(nodus_global_send(n2, &a, parse("hello")), 0);
  nodus_term msg;
  CHECK_RC(nodus_mailbox_recv(m1, &msg, 2000), 0);
  CHECK(nodus_is_atom(&msg, "hello"));
  nodus_term_free(&msg);
  nodus_term ga = parse("{global, a}");
  CHECK_RC(nodus_send(n2, &ga, parse("again")), 0);
  CHECK_RC(nodus_mailbox_recv(m1, &msg, 2000), 0);
  CHECK(nodus_is_atom(&msg, "again"));
  nodus_term_free(&msg);
  nodus_term gz = parse("{global, nobody}");
  CHECK_RC(nodus_send(n2, &gz, parse("lost")), NODUS_ENOPROC);
  CHECK_RC(nodus_global_send(n2, &gz, parse("lost")), NODUS_ENOTFOUND);

  nodus_term srv, srv_name = parse("srv");
  CHECK_RC(nodus_gen_server_start(n2, &echo_ops, NULL, NULL, &srv), 0);
  CHECK_RC(nodus_global_register(n2, &srv_name, &srv, NULL), 0);
  CHECK(wait_where(n1, "srv", &srv, 1000));
  nodus_term gsrv = parse("{global, srv}"), reply;
  CHECK_RC(nodus_call(n1, &gsrv, parse("ping"), 2000, &reply), 0);
  nodus_term want = parse("{echo, ping}");
  CHECK(nodus_equal(&reply, &want));
  nodus_term_free(&reply);
  nodus_term_free(&want);
  CHECK_RC(nodus_call(n1, &gz, parse("ping"), 2000, &reply), NODUS_ENOPROC);

  /* unregister, re_register */
  CHECK_RC(nodus_global_unregister(n2, &a), 0);
  CHECK(wait_where(n1, "a", &NONE, 1000));
  CHECK(wait_where(n2, "a", &NONE, 1000));
  CHECK_RC(nodus_global_unregister(n2, &a), 0); /* not there: still ok */
  CHECK_RC(nodus_global_re_register(n1, &b, p1, NULL), 0);
  CHECK(wait_where(n2, "{job, <<\"b\">>}", p1, 1000));

  /* A third node met through n2 learns everything and meets n1 too. */
  CHECK_RC(nodus_node_ping(n3, nodus_node_name(n2), 5000), 0);
  CHECK(wait_where(n3, "{job, <<\"b\">>}", p1, 8000));
  CHECK(wait_where(n3, "srv", &srv, 1000));
  nodus_term nodes;
  int64_t until = now_ms() + 8000;
  bool met = false;
  while (!met && now_ms() < until) {
    nodus_node_list(n3, &nodes);
    met = nodes.type == NODUS_T_LIST && nodes.n == 2;
    nodus_term_free(&nodes);
    if (!met) usleep(10000);
  }
  CHECK(met);
  CHECK_RC(nodus_global_sync(n3, 8000), 0);

  /* A name goes with its process. */
  nodus_term c = parse("c"), pc;
  nodus_mailbox *tmp;
  CHECK_RC(nodus_mailbox_open(n3, &tmp), 0);
  nodus_copy(&pc, nodus_mailbox_pid(tmp));
  CHECK_RC(nodus_global_register(n3, &c, &pc, NULL), 0);
  CHECK(wait_where(n1, "c", &pc, 2000));
  nodus_mailbox_close(tmp);
  CHECK(wait_where(n1, "c", &NONE, 2000));
  CHECK(wait_where(n3, "c", &NONE, 2000));
  nodus_term_free(&pc);

  /* Locks: one requester id shares, another is refused. */
  nodus_term id1 = parse("{res, me}"), id2 = parse("{res, other}");
  nodus_global_lock *l1, *l1b, *l2;
  CHECK_RC(nodus_global_set_lock(n1, &id1, NULL, 0, &l1), 0);
  CHECK_RC(nodus_global_set_lock(n3, &id2, NULL, 0, &l2), NODUS_EBUSY);
  CHECK_RC(nodus_global_set_lock(n3, &id1, NULL, 0, &l1b), 0);
  CHECK_RC(nodus_global_del_lock(l1), 0);
  CHECK_RC(nodus_global_set_lock(n3, &id2, NULL, 0, &l2), NODUS_EBUSY);
  CHECK_RC(nodus_global_del_lock(l1b), 0);
  CHECK_RC(nodus_global_set_lock(n3, &id2, NULL, 2, &l2), 0);
  int count = 0, r = 0;
  CHECK_RC(nodus_global_trans(n1, &id1, NULL, 0, bump, &count, &r),
           NODUS_EBUSY);
  CHECK(count == 0);
  CHECK_RC(nodus_global_del_lock(l2), 0);
  CHECK_RC(nodus_global_trans(n1, &id1, NULL, 0, bump, &count, &r), 0);
  CHECK(count == 1 && r == 7);

  /* Concurrent registrations of one name from two nodes. */
  nodus_mailbox *r1, *r3;
  CHECK_RC(nodus_mailbox_open(n1, &r1), 0);
  CHECK_RC(nodus_mailbox_open(n3, &r3), 0);
  int wins = 0, rounds = 30;
  for (int i = 0; i < rounds; i++) {
    char nm[32];
    snprintf(nm, sizeof nm, "{race, %d}", i);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct racer x = {n1, parse(nm), {0}, &go, 1}, y = {n3, parse(nm), {0}, &go, 1};
    nodus_copy(&x.pid, nodus_mailbox_pid(r1));
    nodus_copy(&y.pid, nodus_mailbox_pid(r3));
    pthread_t tx, ty;
    pthread_create(&tx, NULL, race, &x);
    pthread_create(&ty, NULL, race, &y);
    pthread_join(tx, NULL);
    pthread_join(ty, NULL);
    pthread_barrier_destroy(&go);
    bool one = (x.rc == 0) != (y.rc == 0) &&
               (x.rc == NODUS_EEXIST || y.rc == NODUS_EEXIST);
    CHECK(one);
    if (one) {
      const nodus_term *winner = x.rc == 0 ? &x.pid : &y.pid;
      bool agree = wait_where(n1, nm, winner, 2000) &&
                   wait_where(n2, nm, winner, 2000) &&
                   wait_where(n3, nm, winner, 2000);
      CHECK(agree);
      wins += agree;
      nodus_global_unregister(n1, &x.name);
      CHECK(wait_where(n3, nm, &NONE, 2000));
    }
    nodus_term_free(&x.name);
    nodus_term_free(&y.name);
    nodus_term_free(&x.pid);
    nodus_term_free(&y.pid);
  }
  CHECK(wins == rounds);

  /* Monitors of {global, Name}: the pid it names, or noproc at once. */
  nodus_term mref, down;
  CHECK_RC(nodus_mailbox_monitor(m1, &gz, &mref), 0);
  CHECK_RC(nodus_mailbox_recv(m1, &down, 2000), 0);
  const nodus_term *dref, *dwhat;
  CHECK(nodus_match(&down, "{'DOWN', ~t, process, ~t, noproc}", &dref,
                    &dwhat) == 0 &&
        nodus_equal(dref, &mref) && nodus_equal(dwhat, &gz));
  nodus_term_free(&down);
  nodus_term_free(&mref);
  CHECK_RC(nodus_mailbox_monitor(m1, &gsrv, &mref), 0);

  /* A node that goes takes its names with it. */
  nodus_term names;
  CHECK_RC(nodus_global_names(n1, &names), 0);
  CHECK(names.type == NODUS_T_LIST && names.n == 2); /* b, srv */
  nodus_term_free(&names);
  nodus_mailbox_close(m2);
  nodus_node_close(n2);
  CHECK(wait_where(n1, "srv", &NONE, 2000));
  CHECK(wait_where(n3, "srv", &NONE, 2000));
  CHECK_RC(nodus_mailbox_recv(m1, &down, 2000), 0);
  const nodus_term *dpid;
  CHECK(nodus_match(&down, "{'DOWN', ~t, process, ~t, noconnection}", &dref,
                    &dpid) == 0 &&
        nodus_equal(dref, &mref) && nodus_equal(dpid, &srv));
  nodus_term_free(&down);
  nodus_term_free(&mref);
  CHECK(wait_where(n3, "{job, <<\"b\">>}", p1, 10));

  nodus_mailbox_close(r1);
  nodus_mailbox_close(r3);
  nodus_mailbox_close(m1);
  nodus_mailbox_close(m3);
  nodus_node_close(n1);
  nodus_node_close(n3);
  nodus_term *ts[] = {&a, &a2, &notpid, &b, &ga, &gz, &srv, &srv_name, &gsrv,
                      &c, &id1, &id2};
  for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) nodus_term_free(ts[i]);
  (void)atom_of;
  return check_report();
}
