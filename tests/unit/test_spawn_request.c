/* spawn_request from C (nodus_spawn_request, nodus_mailbox_spawn_request)
 * between two nodes of this process and to the node itself: the reply
 * messages as BEAM gives them, the link and the monitor (ReqId is the
 * monitor reference; the reply comes before any EXIT or DOWN), unknown
 * functions (ok, then an undef exit), badarg (NODUS_EINVAL, nothing
 * sent), noconnection (no '@', nobody listening), and a requester that
 * exits before the reply (the new process gets its exit reason). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus.h"

static nodus_node *a, *b;
static nodus_mailbox *mb;
static nodus_term driver; /* a process of a that traps exits */

/* ---- spawnable functions (registered on both nodes) ----------------------- */

static void echo_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *x;
  nodus_term copy, reply;
  if (nodus_match(msg, "{exit, ~t}", &x) == 0) {
    nodus_exit(self, x);
  } else if (nodus_match(msg, "{~t, ~t}", &from, &x) == 0 &&
             nodus_type_of(from) == NODUS_T_PID && nodus_copy(&copy, x) == 0 &&
             nodus_build(&reply, "{echo, ~t}", copy) == 0) {
    nodus_send_from(self, from, reply);
  }
}

/* t:echo() */
static int spawn_echo(nodus_node *n, const nodus_term *args, nodus_proc_spec *spec) {
  if (nodus_type_of(args) != NODUS_T_NIL) return NODUS_EINVAL;
  *spec = (nodus_proc_spec){.on_message = echo_msg};
  return 0;
}

/* t:watch(Pid): traps exits, says {started, self()} to Pid and forwards
 * everything it gets there. */
static void watch_start(nodus_proc *self) {
  nodus_term copy, msg;
  if (nodus_copy(&copy, nodus_self(self)) == 0 &&
      nodus_build(&msg, "{started, ~t}", copy) == 0)
    nodus_send_from(self, nodus_proc_state(self), msg);
}

static void watch_msg(nodus_proc *self, const nodus_term *msg) {
  nodus_term copy;
  if (nodus_copy(&copy, msg) == 0)
    nodus_send_from(self, nodus_proc_state(self), copy);
}

static void watch_exit(nodus_proc *self, const nodus_term *reason) {
  nodus_term *to = nodus_proc_state(self);
  nodus_term_free(to);
  free(to);
}

static int spawn_watch(nodus_node *n, const nodus_term *args, nodus_proc_spec *spec) {
  const nodus_term *to;
  if (nodus_match(args, "[~t]", &to) || nodus_type_of(to) != NODUS_T_PID)
    return NODUS_EINVAL;
  nodus_term *keep = malloc(sizeof *keep);
  if (!keep || nodus_copy(keep, to)) {
    free(keep);
    return NODUS_ENOMEM;
  }
  *spec = (nodus_proc_spec){.on_message = watch_msg, .on_start = watch_start,
                            .on_exit = watch_exit, .state = keep,
                            .trap_exit = true};
  return 0;
}

/* ---- the driver: spawn_request from a process -------------------------------- */

/* {spawn, Node, M, F, Args, Flags}: nodus_spawn_request, then
 * {requested, Rc, ReqId} to the mailbox; {spawn_exit, ..., Reason} also
 * exits at once. Everything else is forwarded to the mailbox. */
static void driver_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *args, *reason = NULL;
  nodus_atom node, m, f;
  int64_t flags;
  if (nodus_match(msg, "{spawn, ~a, ~a, ~a, ~t, ~i}", &node, &m, &f, &args,
                  &flags) == 0 ||
      nodus_match(msg, "{spawn_exit, ~a, ~a, ~a, ~t, ~i, ~t}", &node, &m, &f,
                  &args, &flags, &reason) == 0) {
    nodus_term ref = {0}, out;
    int rc = nodus_spawn_request(self, node, nodus_atom_text(m, NULL),
                                 nodus_atom_text(f, NULL), args,
                                 (unsigned)flags, &ref);
    if (rc) nodus_mk_atom(&ref, "none");
    if (nodus_build(&out, "{requested, ~i, ~t}", (int64_t)rc, ref) == 0)
      nodus_send_from(self, nodus_mailbox_pid(mb), out);
    if (reason) nodus_exit(self, reason);
    return;
  }
  nodus_term copy;
  if (nodus_copy(&copy, msg) == 0) nodus_send_from(self, nodus_mailbox_pid(mb), copy);
}

/* ---- helpers --------------------------------------------------------------- */

static char *show(const nodus_term *t) {
  char *text = NULL;
  nodus_print(t, NULL, &text, NULL);
  return text;
}

/* The next mailbox message, matched against pattern (captures as
 * nodus_match); the message is kept in *keep for the captures. */
static int next(nodus_term *keep, const char *what, const char *pattern, ...) {
  int rc = nodus_mailbox_recv(mb, keep, 5000);
  if (rc) {
    fprintf(stderr, "%s: no message (%s), wanted %s\n", what, nodus_strerror(rc), pattern);
    CHECK(0);
    *keep = (nodus_term){0};
    return rc;
  }
  const nodus_term *cap[6] = {0};
  va_list ap;
  va_start(ap, pattern);
  const nodus_term **out[6];
  for (int i = 0; i < 6; i++) out[i] = va_arg(ap, const nodus_term **);
  va_end(ap);
  rc = nodus_match(keep, pattern, &cap[0], &cap[1], &cap[2], &cap[3], &cap[4], &cap[5]);
  if (rc) {
    char *text = show(keep);
    fprintf(stderr, "%s: got %s, wanted %s\n", what, text, pattern);
    free(text);
  }
  CHECK_RC(rc, 0);
  for (int i = 0; i < 6 && out[i]; i++) *out[i] = rc ? NULL : cap[i];
  return rc;
}
#define NEXT(keep, what, ...) next(keep, what, __VA_ARGS__, NULL, NULL, NULL, NULL, NULL, NULL)

static void expect_nothing(const char *what) {
  nodus_term msg;
  int rc = nodus_mailbox_recv(mb, &msg, 200);
  if (rc == 0) {
    char *text = show(&msg);
    fprintf(stderr, "%s: unexpected %s\n", what, text);
    free(text);
    nodus_term_free(&msg);
  }
  CHECK_RC(rc, NODUS_ETIMEDOUT);
}

static bool same(const nodus_term *x, const nodus_term *y) {
  return x && y && nodus_equal(x, y);
}

/* Asks the driver to spawn; returns the request id (owned; NONE when the
 * call failed, rc in *rc). */
static nodus_term drive(const char *op, nodus_atom node, const char *m,
                        const char *f, nodus_term args, unsigned flags,
                        const char *reason, int *rc_out) {
  nodus_term msg;
  int rc = reason ? nodus_build(&msg, "{~a, ~A, ~a, ~a, ~t, ~i, ~a}", op, node, m, f,
                                args, (int64_t)flags, reason)
                  : nodus_build(&msg, "{~a, ~A, ~a, ~a, ~t, ~i}", op, node, m, f, args,
                                (int64_t)flags);
  CHECK_RC(rc, 0);
  CHECK_RC(nodus_send(a, &driver, msg), 0);
  nodus_term keep, ref = {0};
  const nodus_term *rct, *reft;
  int64_t got = -999;
  if (NEXT(&keep, "requested", "{requested, ~t, ~t}", &rct, &reft) == 0) {
    nodus_get_int64(rct, &got);
    if (got == 0) nodus_copy(&ref, reft);
  }
  nodus_term_free(&keep);
  *rc_out = (int)got;
  return ref;
}

static nodus_term list_of_pid(const nodus_term *pid) {
  nodus_term l, copy;
  nodus_copy(&copy, pid);
  nodus_build(&l, "[~t]", copy);
  return l;
}

/* ---- the cases ------------------------------------------------------------- */

static void test_badarg(void) {
  nodus_term improper, result, ref;
  CHECK_RC(nodus_parse("[a|b]", 5, NULL, &improper, NULL), 0);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(b), "t", "echo",
                                       &improper, 0, 1000, &result, &ref),
           NODUS_EINVAL);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(a), "t", "echo",
                                       &improper, 0, 1000, &result, &ref),
           NODUS_EINVAL);
  nodus_term nil = nodus_nil();
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(b), "t", "echo", &nil,
                                       4, 1000, &result, &ref),
           NODUS_EINVAL);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(b), NULL, "echo", &nil,
                                       0, 1000, &result, &ref),
           NODUS_EINVAL);
  int rc;
  nodus_term r = drive("spawn", nodus_node_name(b), "t", "echo", improper, 0, NULL, &rc);
  CHECK_RC(rc, NODUS_EINVAL);
  nodus_term_free(&r);
  expect_nothing("badarg sends nothing and answers nothing");
}

static void test_mailbox(void) {
  /* Remote, registered, monitored: the pid, then DOWN with ReqId. */
  nodus_term pid, ref, keep;
  const nodus_term *c1, *c2;
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(b), "t", "echo", NULL,
                                       NODUS_SPAWN_MONITOR, 5000, &pid, &ref),
           0);
  CHECK(nodus_type_of(&pid) == NODUS_T_PID);
  CHECK(nodus_type_of(&ref) == NODUS_T_REF);
  nodus_term msg, copy;
  nodus_copy(&copy, nodus_mailbox_pid(mb));
  nodus_build(&msg, "{~t, hi}", copy);
  CHECK_RC(nodus_mailbox_send(mb, &pid, msg), 0);
  NEXT(&keep, "the spawned C process answers", "{echo, hi}");
  nodus_term_free(&keep);
  nodus_build(&msg, "{exit, done}");
  CHECK_RC(nodus_mailbox_send(mb, &pid, msg), 0);
  if (NEXT(&keep, "monitor: DOWN with ReqId", "{'DOWN', ~t, process, ~t, done}", &c1,
           &c2) == 0) {
    CHECK(same(c1, &ref));
    CHECK(same(c2, &pid));
  }
  nodus_term_free(&keep);
  nodus_term_free(&pid);
  nodus_term_free(&ref);

  /* Local, unknown: ok, then DOWN undef. */
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(a), "nomod", "nofun", NULL,
                                       NODUS_SPAWN_MONITOR, 5000, &pid, &ref),
           0);
  if (NEXT(&keep, "local unknown: DOWN undef",
           "{'DOWN', ~t, process, ~t, {undef, [{nomod, nofun, [], []}]}}", &c1,
           &c2) == 0) {
    CHECK(same(c1, &ref));
    CHECK(same(c2, &pid));
  }
  nodus_term_free(&keep);
  nodus_term_free(&pid);
  nodus_term_free(&ref);

  /* Local, registered function refusing its arguments: error badarg. */
  nodus_term args;
  nodus_parse("[1]", 3, NULL, &args, NULL);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(a), "t", "echo", &args, 0,
                                       5000, &pid, &ref),
           NODUS_EEXIT);
  CHECK(nodus_is_atom(&pid, "badarg"));
  nodus_term_free(&pid);
  nodus_term_free(&ref);
  nodus_term_free(&args);

  /* Other messages stay queued, in order, while it waits. */
  nodus_build(&msg, "before");
  nodus_mailbox_send(mb, nodus_mailbox_pid(mb), msg);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nodus_node_name(b), "t", "echo", NULL, 0,
                                       5000, &pid, NULL),
           0);
  NEXT(&keep, "queued message kept", "before");
  nodus_term_free(&keep);
  nodus_build(&msg, "{exit, normal}");
  nodus_mailbox_send(mb, &pid, msg);
  nodus_term_free(&pid);
  expect_nothing("no monitor, no DOWN");

  /* noconnection: a name without host, and a node nobody runs. */
  nodus_atom nohost, nobody;
  nodus_atom_intern("nohost", 6, &nohost);
  nodus_atom_intern("nobody_here@127.0.0.1", 21, &nobody);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nohost, "t", "echo", NULL,
                                       NODUS_SPAWN_MONITOR, 5000, &pid, &ref),
           NODUS_ENOCONN);
  CHECK(nodus_is_atom(&pid, "noconnection"));
  nodus_term_free(&pid);
  nodus_term_free(&ref);
  CHECK_RC(nodus_mailbox_spawn_request(mb, nobody, "t", "echo", NULL,
                                       NODUS_SPAWN_MONITOR, 10000, &pid, &ref),
           NODUS_ENOCONN);
  CHECK(nodus_is_atom(&pid, "noconnection"));
  nodus_term_free(&pid);
  nodus_term_free(&ref);
  expect_nothing("noconnection: no DOWN");
}

/* From a process: link and monitor, the reply first, EXIT before DOWN. */
static void test_link_monitor(nodus_atom where, const char *what) {
  int rc;
  nodus_term keep;
  const nodus_term *c1, *c2, *c3;
  unsigned both = NODUS_SPAWN_LINK | NODUS_SPAWN_MONITOR;
  nodus_term ref = drive("spawn", where, "nomod", "nofun", nodus_nil(), both, NULL, &rc);
  CHECK_RC(rc, 0);
  nodus_term pid = {0};
  if (NEXT(&keep, what, "{spawn_reply, ~t, ok, ~t}", &c1, &c2) == 0) {
    CHECK(same(c1, &ref));
    nodus_copy(&pid, c2);
  }
  nodus_term_free(&keep);
  if (NEXT(&keep, what, "{'EXIT', ~t, {undef, [{nomod, nofun, [], []}]}}", &c1) == 0)
    CHECK(same(c1, &pid));
  nodus_term_free(&keep);
  if (NEXT(&keep, what, "{'DOWN', ~t, process, ~t, {undef, [{nomod, nofun, [], []}]}}",
           &c1, &c2) == 0) {
    CHECK(same(c1, &ref));
    CHECK(same(c2, &pid));
  }
  nodus_term_free(&keep);
  nodus_term_free(&pid);
  nodus_term_free(&ref);

  /* A registered function, linked: its exit reaches the requester. */
  ref = drive("spawn", where, "t", "echo", nodus_nil(), NODUS_SPAWN_LINK, NULL, &rc);
  if (NEXT(&keep, what, "{spawn_reply, ~t, ok, ~t}", &c1, &c2) == 0) {
    CHECK(same(c1, &ref));
    nodus_copy(&pid, c2);
  }
  nodus_term_free(&keep);
  nodus_term msg;
  nodus_build(&msg, "{exit, bye}");
  nodus_send(a, &pid, msg);
  if (NEXT(&keep, what, "{'EXIT', ~t, bye}", &c3) == 0) CHECK(same(c3, &pid));
  nodus_term_free(&keep);
  nodus_term_free(&pid);
  nodus_term_free(&ref);
  expect_nothing(what);
}

/* The requester exits before the reply: the linked process gets its
 * reason. */
static void test_orphan(void) {
  int rc;
  nodus_term keep;
  const nodus_term *c1, *c2;
  nodus_term ref = drive("spawn_exit", nodus_node_name(b), "t", "watch",
                         list_of_pid(nodus_mailbox_pid(mb)),
                         NODUS_SPAWN_LINK | NODUS_SPAWN_MONITOR, "gone", &rc);
  CHECK_RC(rc, 0);
  nodus_term child = {0};
  if (NEXT(&keep, "orphan: child started", "{started, ~t}", &c1) == 0)
    nodus_copy(&child, c1);
  nodus_term_free(&keep);
  if (NEXT(&keep, "orphan: child gets the requester's exit reason",
           "{'EXIT', ~t, gone}", &c2) == 0)
    CHECK(same(c2, &driver));
  nodus_term_free(&keep);
  nodus_build(&keep, "{exit, normal}");
  nodus_send(a, &child, keep);
  nodus_term_free(&child);
  nodus_term_free(&ref);
}

static nodus_node *start_node(const char *name) {
  nodus_node_opts o = {.name = name, .cookie = "sr", .listen_address = "127.0.0.1",
                       .epmd_mode = NODUS_EPMD_NONE};
  nodus_node *n = NULL;
  CHECK_RC(nodus_node_init(&o, &n), 0);
  if (!n) return NULL;
  CHECK_RC(nodus_register_spawn(n, "t", "echo", spawn_echo), 0);
  CHECK_RC(nodus_register_spawn(n, "t", "watch", spawn_watch), 0);
  CHECK_RC(nodus_node_start(n), 0);
  return n;
}

static void driver_exit(nodus_proc *self, const nodus_term *reason) {}

int main(void) {
  a = start_node("sr_a@127.0.0.1");
  b = start_node("sr_b@127.0.0.1");
  if (!a || !b) return check_report();
  CHECK_RC(nodus_node_set_peer_port(a, nodus_node_name(b), nodus_node_port(b)), 0);
  CHECK_RC(nodus_node_set_peer_port(b, nodus_node_name(a), nodus_node_port(a)), 0);
  CHECK_RC(nodus_mailbox_open(a, &mb), 0);
  nodus_proc_spec ds = {.on_message = driver_msg, .on_exit = driver_exit,
                        .trap_exit = true};
  CHECK_RC(nodus_spawn(a, &ds, &driver), 0);

  test_badarg();
  test_mailbox();
  test_link_monitor(nodus_node_name(b), "remote C node");
  test_link_monitor(nodus_node_name(a), "this node");
  test_orphan();

  nodus_term_free(&driver);
  nodus_mailbox_close(mb);
  nodus_node_close(b);
  nodus_node_close(a);
  return check_report();
}
