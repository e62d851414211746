/* Local runtime semantics, one node, no peers: spawn and send, registered
 * names, links and exit signals (trap_exit, kill, normal), monitors (DOWN
 * with the exit reason, noproc), aliases, timers, and a mailbox on the
 * test's own thread driving it all. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus.h"

static nodus_node *node;
static nodus_mailbox *mb; /* the test thread's own process */

/* A worker obeys commands sent as {Cmd, Arg}: {link, Pid}, {monitor, Pid},
 * {exit, Reason}, {forward, Msg} (to the mailbox), {trap, true|false}. It
 * forwards everything else it gets to the mailbox. */
static void worker(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *arg;
  nodus_term copy;
  if (nodus_match(msg, "{link, ~t}", &arg) == 0) {
    nodus_link(self, arg);
  } else if (nodus_match(msg, "{monitor, ~t}", &arg) == 0) {
    nodus_term ref;
    if (nodus_monitor(self, arg, &ref) == 0) nodus_term_free(&ref);
  } else if (nodus_match(msg, "{exit, ~t}", &arg) == 0) {
    nodus_exit(self, arg);
  } else if (nodus_match(msg, "{trap, true}") == 0) {
    nodus_trap_exit(self, true);
  } else if (nodus_match(msg, "{alias_me}") == 0) {
    nodus_term alias;
    if (nodus_alias(self, &alias) == 0)
      nodus_send_from(self, nodus_mailbox_pid(mb), alias);
  } else if (nodus_match(msg, "{later, ~t}", &arg) == 0) {
    if (nodus_copy(&copy, arg) == 0)
      nodus_send_after(self, 20, nodus_mailbox_pid(mb), copy, NULL);
  } else if (nodus_copy(&copy, msg) == 0) {
    nodus_send_from(self, nodus_mailbox_pid(mb), copy);
  }
}

static nodus_term spawn_worker(const char *name) {
  nodus_proc_spec spec = {.on_message = worker, .register_name = name};
  nodus_term pid = {0};
  CHECK_RC(nodus_spawn(node, &spec, &pid), 0);
  return pid;
}

static void send_text(const nodus_term *to, const char *fmt, const nodus_term *hole) {
  nodus_term msg, h;
  int rc = hole ? (nodus_copy(&h, hole) ? NODUS_ENOMEM
                                         : nodus_build(&msg, fmt, h))
                : nodus_build(&msg, fmt);
  CHECK_RC(rc, 0);
  if (rc == 0) CHECK_RC(nodus_send(node, to, msg), 0);
}

/* Receives one message and matches it; prints it when it doesn't. */
static void expect(const char *pattern, const char *what) {
  nodus_term msg;
  int rc = nodus_mailbox_recv(mb, &msg, 3000);
  if (rc) {
    fprintf(stderr, "%s: no message (%s), wanted %s\n", what, nodus_strerror(rc), pattern);
    CHECK(0);
    return;
  }
  int m = nodus_match(&msg, pattern);
  if (m) {
    char *text = NULL;
    nodus_print(&msg, NULL, &text, NULL);
    fprintf(stderr, "%s: got %s, wanted %s\n", what, text, pattern);
    free(text);
  }
  CHECK_RC(m, 0);
  nodus_term_free(&msg);
}

static void expect_nothing(const char *what) {
  nodus_term msg;
  int rc = nodus_mailbox_recv(mb, &msg, 100);
  if (rc == 0) {
    char *text = NULL;
    nodus_print(&msg, NULL, &text, NULL);
    fprintf(stderr, "%s: unexpected %s\n", what, text);
    free(text);
    nodus_term_free(&msg);
  }
  CHECK_RC(rc, NODUS_ETIMEDOUT);
}

static void test_send_and_names(void) {
  nodus_term w = spawn_worker("w1");
  send_text(&w, "{hello, 1}", NULL);
  expect("{hello, 1}", "send to pid");
  nodus_term name;
  nodus_mk_atom(&name, "w1");
  send_text(&name, "{hello, 2}", NULL);
  expect("{hello, 2}", "send to name");
  nodus_term found;
  CHECK_RC(nodus_whereis(node, "w1", &found), 0);
  CHECK(nodus_equal(&found, &w));
  CHECK_RC(nodus_register(node, "w1", &w), NODUS_EEXIST);
  CHECK_RC(nodus_whereis(node, "nobody", &found), NODUS_ENOTFOUND);
  CHECK_RC(nodus_unregister(node, "nobody"), NODUS_ENOTFOUND);
  /* Ordered per sender-receiver pair. */
  for (int i = 0; i < 200; i++) {
    nodus_term msg;
    nodus_build(&msg, "{seq, ~i}", (int64_t)i);
    nodus_send(node, &w, msg);
  }
  int in_order = 1;
  for (int64_t i = 0; i < 200; i++) {
    nodus_term msg;
    int64_t got = -1;
    if (nodus_mailbox_recv(mb, &msg, 3000) == 0) {
      nodus_match(&msg, "{seq, ~i}", &got);
      nodus_term_free(&msg);
    }
    if (got != i) in_order = 0;
  }
  CHECK(in_order);
  send_text(&w, "{exit, normal}", NULL);
  nodus_term_free(&found);
  nodus_term_free(&name);
  nodus_term_free(&w);
}

static void test_links(void) {
  /* a traps exits and links to b; b dies with 'boom': a gets the EXIT. */
  nodus_term a = spawn_worker(NULL), b = spawn_worker(NULL);
  send_text(&a, "{trap, true}", NULL);
  send_text(&a, "{link, ~t}", &b);
  send_text(&a, "{ping}", NULL);
  expect("{ping}", "link set up");
  send_text(&b, "{exit, boom}", NULL);
  expect("{'EXIT', _, boom}", "trapped exit from a link");

  /* c does not trap: linked d dying with 'crash' takes c down, and a
   * monitor on c sees the reason. */
  nodus_term c = spawn_worker(NULL), d = spawn_worker(NULL);
  send_text(&a, "{monitor, ~t}", &c);
  send_text(&c, "{link, ~t}", &d);
  send_text(&c, "{ping}", NULL);
  expect("{ping}", "second link set up");
  send_text(&d, "{exit, crash}", NULL);
  expect("{'DOWN', _, process, _, crash}", "exit propagates over a link");

  /* A normal exit does not propagate. */
  nodus_term e = spawn_worker(NULL), f = spawn_worker(NULL);
  send_text(&e, "{link, ~t}", &f);
  send_text(&f, "{exit, normal}", NULL);
  send_text(&e, "{still_here}", NULL);
  expect("{still_here}", "normal exit is not propagated");

  /* kill cannot be trapped: a traps exits, an exit signal kill ends it. */
  /* A linked process ending with reason kill sends a trappable exit. */
  nodus_term g = spawn_worker(NULL), gref;
  send_text(&g, "{trap, true}", NULL);
  CHECK_RC(nodus_mailbox_monitor(mb, &g, &gref), 0);
  send_text(&e, "{link, ~t}", &g);
  send_text(&e, "{exit, kill}", NULL);
  expect("{'EXIT', _, kill}", "a linked exit with reason kill is trappable");
  send_text(&g, "{exit, normal}", NULL);
  expect("{'DOWN', _, process, _, normal}", "monitored g ends normally");
  nodus_term_free(&gref);
  send_text(&a, "{exit, normal}", NULL);
  nodus_term ts[] = {a, b, c, d, e, f, g};
  for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) nodus_term_free(&ts[i]);
}

static void test_monitors(void) {
  nodus_term a = spawn_worker(NULL);
  nodus_term gone = spawn_worker(NULL), ref;
  CHECK_RC(nodus_mailbox_monitor(mb, &gone, &ref), 0);
  send_text(&gone, "{exit, normal}", NULL);
  expect("{'DOWN', _, process, _, normal}", "DOWN with the exit reason");
  nodus_term_free(&ref);
  /* Monitoring a dead pid or an unregistered name gives DOWN noproc. */
  CHECK_RC(nodus_mailbox_monitor(mb, &gone, &ref), 0);
  expect("{'DOWN', _, process, _, noproc}", "monitor of a dead pid");
  nodus_term_free(&ref);
  nodus_term name;
  nodus_mk_atom(&name, "nobody_here");
  CHECK_RC(nodus_mailbox_monitor(mb, &name, &ref), 0);
  expect("{'DOWN', _, process, {nobody_here, _}, noproc}", "monitor of a name");
  nodus_term_free(&ref);
  nodus_term_free(&name);
  /* A monitor by name reports {Name, Node}. */
  nodus_term w = spawn_worker("watched");
  nodus_mk_atom(&name, "watched");
  CHECK_RC(nodus_mailbox_monitor(mb, &name, &ref), 0);
  send_text(&w, "{exit, bye}", NULL);
  expect("{'DOWN', _, process, {watched, _}, bye}", "DOWN of a name monitor");
  nodus_term_free(&ref);
  nodus_term_free(&name);
  send_text(&a, "{exit, normal}", NULL);
  nodus_term_free(&a);
  nodus_term_free(&w);
  nodus_term_free(&gone);
}

static void test_alias_and_timer(void) {
  nodus_term w = spawn_worker(NULL);
  send_text(&w, "{alias_me}", NULL);
  nodus_term alias;
  CHECK_RC(nodus_mailbox_recv(mb, &alias, 3000), 0);
  CHECK(nodus_type_of(&alias) == NODUS_T_REF);
  send_text(&alias, "{via_alias}", NULL);
  expect("{via_alias}", "send to an alias");
  send_text(&w, "{later, {tick, 1}}", NULL);
  expect("{tick, 1}", "send_after");
  send_text(&w, "{exit, normal}", NULL);
  send_text(&alias, "{to_dead_alias}", NULL);
  expect_nothing("a dead process's alias drops");
  nodus_term_free(&alias);
  nodus_term_free(&w);
}

/* erlang:registered/0 and process_info/1 of C processes. */
static void test_process_info(void) {
  nodus_term pid = spawn_worker("infoed");
  nodus_term names, info, who;
  CHECK_RC(nodus_registered(node, &names), 0);
  bool listed = false;
  for (size_t i = 0; names.type == NODUS_T_LIST && i < names.n; i++)
    listed |= nodus_is_atom(&names.v.items[i], "infoed");
  CHECK(listed);
  nodus_term_free(&names);
  CHECK_RC(nodus_process_info(node, &pid, &info), 0);
  char *text = NULL;
  nodus_print(&info, NULL, &text, NULL);
  CHECK_STR(text, "[{registered_name,infoed},{message_queue_len,0},{links,[]},"
                  "{monitors,[]},{status,waiting},{trap_exit,false}]");
  free(text);
  nodus_term_free(&info);
  nodus_mk_atom(&who, "nobody_has_this");
  CHECK_RC(nodus_process_info(node, &who, &info), NODUS_ENOPROC);
  who = nodus_int(7);
  CHECK_RC(nodus_process_info(node, &who, &info), NODUS_EINVAL);
  send_text(&pid, "{exit, normal}", NULL);
  nodus_term_free(&pid);
}

/* nodus_send from a thread gives what it gives on the loop; connect says
 * what is wrong with its argument. */
static void test_send_results(void) {
  nodus_term name, bad = nodus_int(3), msg;
  nodus_mk_atom(&name, "nobody_here");
  nodus_mk_atom(&msg, "hello");
  CHECK_RC(nodus_send(node, &name, msg), NODUS_ENOPROC);
  nodus_mk_atom(&msg, "hello");
  CHECK_RC(nodus_send(node, &bad, msg), NODUS_EBADTYPE);
  nodus_atom no_host, self_name = nodus_node_name(node);
  CHECK_RC(nodus_atom_intern("no_host_part", 12, &no_host), 0);
  CHECK_RC(nodus_node_connect(node, no_host), NODUS_EBADNAME);
  CHECK_RC(nodus_node_connect(node, self_name), 0);
}

int main(void) {
  nodus_node_opts opts = {.name = "runtime_test@127.0.0.1",
                          .cookie = "test",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE};
  CHECK_RC(nodus_node_init(&opts, &node), 0);
  if (!node) return check_report();
  CHECK_RC(nodus_node_start(node), 0);
  CHECK_RC(nodus_mailbox_open(node, &mb), 0);
  test_send_and_names();
  test_process_info();
  test_send_results();
  test_links();
  test_monitors();
  test_alias_and_timer();
  nodus_mailbox_close(mb);
  nodus_node_close(node);
  return check_report();
}
