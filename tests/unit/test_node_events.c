/* Node events between three nodes of this process: net_kernel's
 * monitor_nodes messages for processes, with and without
 * nodedown_reason and {node_type, all}, and the callback form; a hidden
 * peer is reported only to subscriptions that ask for all nodes;
 * unsubscribing and a watcher's exit stop the events. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus.h"

static nodus_node *a;
static nodus_mailbox *mb; /* receives what the watchers forward */

/* A watcher subscribes with the flags in its state and forwards every
 * message to the mailbox as {Tag, Msg}. */
typedef struct {
  unsigned flags;
  const char *tag;
} watcher;

static void watcher_start(nodus_proc *self) {
  watcher *w = nodus_proc_state(self);
  CHECK_RC(nodus_monitor_nodes(self, w->flags, true), 0);
  nodus_term ready;
  if (nodus_build(&ready, "{~a, ready}", w->tag) == 0)
    nodus_send_from(self, nodus_mailbox_pid(mb), ready);
}

static void watcher_msg(nodus_proc *self, const nodus_term *msg) {
  watcher *w = nodus_proc_state(self);
  nodus_term copy, out;
  if (nodus_match(msg, "stop") == 0) {
    nodus_term normal;
    nodus_mk_atom(&normal, "normal");
    nodus_exit(self, &normal);
    return;
  }
  if (nodus_copy(&copy, msg) == 0 && nodus_build(&out, "{~a, ~t}", w->tag, copy) == 0)
    nodus_send_from(self, nodus_mailbox_pid(mb), out);
}

static nodus_term spawn_watcher(watcher *w) {
  nodus_proc_spec spec = {.on_message = watcher_msg, .on_start = watcher_start,
                          .state = w};
  nodus_term pid = {0};
  CHECK_RC(nodus_spawn(a, &spec, &pid), 0);
  return pid;
}

/* Messages from several watchers interleave: take the next one of tag. */
static nodus_term held[32];
static int n_held;

static bool has_tag(const nodus_term *m, const char *tag) {
  nodus_atom at;
  return nodus_match(m, "{~a, _}", &at) == 0 && !strcmp(nodus_atom_text(at, NULL), tag);
}

static int next_of(const char *tag, nodus_term *out, int timeout_ms) {
  for (int i = 0; i < n_held; i++) {
    if (has_tag(&held[i], tag)) {
      *out = held[i];
      memmove(&held[i], &held[i + 1], (size_t)(n_held - i - 1) * sizeof *held);
      n_held--;
      return 0;
    }
  }
  for (;;) {
    nodus_term m;
    int rc = nodus_mailbox_recv(mb, &m, timeout_ms);
    if (rc) return rc;
    if (has_tag(&m, tag)) {
      *out = m;
      return 0;
    }
    if (n_held < 32) held[n_held++] = m;
    else nodus_term_free(&m);
  }
}

/* The next message of tag, printed, is want. */
static void expect(const char *tag, const char *want) {
  nodus_term m;
  int rc = next_of(tag, &m, 5000);
  CHECK_RC(rc, 0);
  if (rc) {
    fprintf(stderr, "%s: nothing, wanted %s\n", tag, want);
    return;
  }
  char *text = NULL;
  nodus_print(&m, NULL, &text, NULL);
  CHECK_STR(text, want);
  free(text);
  nodus_term_free(&m);
}

static void expect_none(const char *tag) {
  nodus_term m;
  int rc = next_of(tag, &m, 200);
  if (rc == 0) {
    char *text = NULL;
    nodus_print(&m, NULL, &text, NULL);
    fprintf(stderr, "%s: unexpected %s\n", tag, text);
    free(text);
    nodus_term_free(&m);
  }
  CHECK_RC(rc, NODUS_ETIMEDOUT);
}

/* The callback subscription: events as text, for the test thread. */
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static char cb_log[1024];

static void on_event(nodus_node *node, const nodus_node_event *ev, void *arg) {
  char line[256];
  snprintf(line, sizeof line, "%s %s %s %s;", ev->up ? "up" : "down",
           nodus_atom_text(ev->node, NULL), ev->hidden ? "hidden" : "visible",
           ev->up ? "-" : nodus_atom_text(ev->reason, NULL));
  pthread_mutex_lock(&cb_lock);
  strncat(cb_log, line, sizeof cb_log - strlen(cb_log) - 1);
  pthread_mutex_unlock(&cb_lock);
}

static bool cb_log_is(const char *want) {
  for (int i = 0; i < 100; i++) { /* up to 5 s */
    pthread_mutex_lock(&cb_lock);
    bool same = !strcmp(cb_log, want);
    pthread_mutex_unlock(&cb_lock);
    if (same) return true;
    nodus_term m;
    if (nodus_mailbox_recv(mb, &m, 50) == 0) {
      if (n_held < 32) held[n_held++] = m;
      else nodus_term_free(&m);
    }
  }
  fprintf(stderr, "callback log: \"%s\", wanted \"%s\"\n", cb_log, want);
  return false;
}

static nodus_node *peer(const char *name, bool hidden) {
  nodus_node_opts o = {.name = name, .cookie = "ev", .listen_address = "127.0.0.1",
                       .epmd_mode = NODUS_EPMD_NONE, .hidden = hidden};
  nodus_node *n = NULL;
  CHECK_RC(nodus_node_init(&o, &n), 0);
  if (!n) return NULL;
  CHECK_RC(nodus_node_start(n), 0);
  CHECK_RC(nodus_node_set_peer_port(n, nodus_node_name(a), nodus_node_port(a)), 0);
  CHECK_RC(nodus_node_ping(n, nodus_node_name(a), 5000), 0);
  return n;
}

int main(void) {
  nodus_node_opts opts = {.name = "ev_a@127.0.0.1", .cookie = "ev",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE};
  CHECK_RC(nodus_node_init(&opts, &a), 0);
  if (!a) return check_report();
  CHECK_RC(nodus_node_start(a), 0);
  CHECK_RC(nodus_mailbox_open(a, &mb), 0);

  watcher plain = {0, "plain"}, reason = {NODUS_NODES_REASON, "reason"},
          all = {NODUS_NODES_REASON | NODUS_NODES_ALL, "all"};
  nodus_term p1 = spawn_watcher(&plain), p2 = spawn_watcher(&reason),
             p3 = spawn_watcher(&all);
  expect("plain", "{plain,ready}");
  expect("reason", "{reason,ready}");
  expect("all", "{all,ready}");
  nodus_node_events *sub = NULL;
  CHECK_RC(nodus_node_events_subscribe(a, NODUS_NODES_ALL, on_event, NULL, &sub), 0);
  nodus_node_events *bad = NULL; /* an unknown flag: refused, sub untouched */
  CHECK_RC(nodus_node_events_subscribe(a, 8, on_event, NULL, &bad), NODUS_EINVAL);
  CHECK(bad == NULL);

  /* A visible peer comes and goes. */
  nodus_node *b = peer("ev_b@127.0.0.1", false);
  expect("plain", "{plain,{nodeup,'ev_b@127.0.0.1',[]}}");
  expect("reason", "{reason,{nodeup,'ev_b@127.0.0.1',[]}}");
  expect("all", "{all,{nodeup,'ev_b@127.0.0.1',[{node_type,visible}]}}");
  nodus_node_close(b);
  expect("plain", "{plain,{nodedown,'ev_b@127.0.0.1',[]}}");
  expect("reason", "{reason,{nodedown,'ev_b@127.0.0.1',[{nodedown_reason,connection_closed}]}}");
  expect("all", "{all,{nodedown,'ev_b@127.0.0.1',[{nodedown_reason,connection_closed},{node_type,visible}]}}");

  /* A hidden one: only the subscriptions for all nodes see it. */
  nodus_node *c = peer("ev_c@127.0.0.1", true);
  expect("all", "{all,{nodeup,'ev_c@127.0.0.1',[{node_type,hidden}]}}");
  nodus_node_close(c);
  expect("all", "{all,{nodedown,'ev_c@127.0.0.1',[{nodedown_reason,connection_closed},{node_type,hidden}]}}");
  expect_none("plain");
  expect_none("reason");
  CHECK(cb_log_is("up ev_b@127.0.0.1 visible -;down ev_b@127.0.0.1 visible connection_closed;"
                  "up ev_c@127.0.0.1 hidden -;down ev_c@127.0.0.1 hidden connection_closed;"));

  /* Unsubscribed callback and exited watcher hear nothing more. */
  nodus_node_events_unsubscribe(a, sub);
  nodus_term stop;
  nodus_mk_atom(&stop, "stop");
  CHECK_RC(nodus_send(a, &p1, stop), 0);
  nodus_term mref;
  CHECK_RC(nodus_mailbox_monitor(mb, &p1, &mref), 0);
  nodus_term down;
  CHECK_RC(nodus_mailbox_recv(mb, &down, 5000), 0);
  CHECK(nodus_match(&down, "{'DOWN', _, process, _, _}") == 0);
  nodus_term_free(&down);
  nodus_term_free(&mref);
  nodus_node *d = peer("ev_d@127.0.0.1", false);
  expect("reason", "{reason,{nodeup,'ev_d@127.0.0.1',[]}}");
  nodus_node_close(d);
  expect("reason", "{reason,{nodedown,'ev_d@127.0.0.1',[{nodedown_reason,connection_closed}]}}");
  expect("all", "{all,{nodeup,'ev_d@127.0.0.1',[{node_type,visible}]}}");
  expect("all", "{all,{nodedown,'ev_d@127.0.0.1',[{nodedown_reason,connection_closed},{node_type,visible}]}}");
  expect_none("plain");
  pthread_mutex_lock(&cb_lock);
  CHECK(!strstr(cb_log, "ev_d"));
  pthread_mutex_unlock(&cb_lock);

  while (n_held > 0) nodus_term_free(&held[--n_held]);
  nodus_term_free(&p1);
  nodus_term_free(&p2);
  nodus_term_free(&p3);
  nodus_mailbox_close(mb);
  nodus_node_close(a);
  return check_report();
}
