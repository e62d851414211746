/* epmd_client against epmd_server on one libuv loop: register, duplicate,
 * port_please, names, unregister, lost registration, refused connection,
 * a server that never answers (timeout), cancel. Every handle must be
 * closed at the end (uv_loop_close succeeds) and ASan sees no leak. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "check.h"
#include "distribution/epmd_client.h"
#include "distribution/epmd_server.h"
#include "nodus.h"

static uv_loop_t loop;
static int events_reg, events_unreg;

/* Runs the loop until *flag is set or 5 s pass. */
static void run_until(const int *flag) {
  uint64_t deadline = uv_now(&loop) + 5000;
  while (!*flag && uv_now(&loop) < deadline) uv_run(&loop, UV_RUN_ONCE);
}

static void on_event(void *arg, epmd_server_event ev,
                     const epmd_node_info *node, uint32_t creation) {
  (void)arg;
  (void)node;
  (void)creation;
  if (ev == EPMD_EV_REGISTERED) events_reg++;
  if (ev == EPMD_EV_UNREGISTERED) events_unreg++;
}

struct reg_result {
  int calls, status;
  uint32_t creation;
};

static void on_reg(epmd_op *op, int status, uint32_t creation, void *data) {
  struct reg_result *r = data;
  (void)op;
  r->calls++;
  r->status = status;
  r->creation = creation;
}

struct port_result {
  int done, status;
  epmd_node_info node;
};

static void on_port(int status, const epmd_node_info *node, void *data) {
  struct port_result *r = data;
  r->done = 1;
  r->status = status;
  if (node) r->node = *node;
}

struct names_result {
  int done, status;
  size_t count;
  char first[EPMD_NAME_MAX + 1];
};

static void on_names(int status, const epmd_name_list *l, void *data) {
  struct names_result *r = data;
  r->done = 1;
  r->status = status;
  r->count = l ? l->count : 0;
  if (l && l->count) strcpy(r->first, l->entries[0].name);
}

static void on_cancelled_port(int status, const epmd_node_info *n, void *d) {
  (void)status;
  (void)n;
  *(int *)d = 1; /* must never run */
}

static int closed;
static void on_server_closed(void *arg) {
  (void)arg;
  closed = 1;
}

static void test_with_server(void) {
  epmd_server_opts so = {.port = 0, .on_event = on_event};
  epmd_server *srv;
  CHECK_RC(epmd_server_start(&loop, &so, &srv), 0);
  epmd_client_opts co = {.port = epmd_server_port(srv), .timeout_ms = 3000};

  struct reg_result r1 = {0}, r2 = {0};
  epmd_op *op1, *op2;
  CHECK_RC(epmd_register(&loop, &co, "alpha@somehost", 4242, false, on_reg,
                         &r1, &op1),
           0);
  run_until(&r1.calls);
  CHECK(r1.calls == 1 && r1.status == 0 && r1.creation >= 4);
  CHECK(epmd_server_count(srv) == 1 && events_reg == 1);

  CHECK_RC(epmd_register(&loop, &co, "alpha", 4243, true, on_reg, &r2, &op2),
           0);
  run_until(&r2.calls);
  CHECK(r2.calls == 1 && r2.status == NODUS_EEXIST);
  epmd_unregister(op2);

  struct port_result p = {0};
  CHECK_RC(epmd_port_please(&loop, &co, "alpha@x", on_port, &p, NULL), 0);
  run_until(&p.done);
  CHECK(p.status == 0 && p.node.port == 4242 && p.node.highest == 6 &&
        p.node.lowest == 5 && p.node.node_type == EPMD_NODE_NORMAL);

  struct port_result q = {0};
  CHECK_RC(epmd_port_please(&loop, &co, "nobody", on_port, &q, NULL), 0);
  run_until(&q.done);
  CHECK_RC(q.status, NODUS_ENOTFOUND);

  struct names_result n = {0};
  CHECK_RC(epmd_names(&loop, &co, on_names, &n, NULL), 0);
  run_until(&n.done);
  CHECK(n.status == 0 && n.count == 1);
  CHECK_STR(n.first, "alpha");

  /* cancel before the reply: no callback, no leak */
  int ran = 0;
  epmd_op *c;
  CHECK_RC(epmd_port_please(&loop, &co, "alpha", on_cancelled_port, &ran, &c),
           0);
  epmd_cancel(c);

  /* unregistering removes the name */
  epmd_unregister(op1);
  int gone = 0;
  for (int i = 0; i < 200 && !gone; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    gone = epmd_server_count(srv) == 0;
    if (!gone) uv_sleep(5);
  }
  CHECK(gone && events_unreg == 1);
  CHECK(ran == 0);

  /* a registration whose epmd goes away hears about it */
  struct reg_result r3 = {0};
  epmd_op *op3;
  CHECK_RC(epmd_register(&loop, &co, "beta", 1, false, on_reg, &r3, &op3), 0);
  run_until(&r3.calls);
  CHECK(r3.status == 0);
  uint32_t first_creation = r3.creation;
  CHECK(first_creation != r1.creation); /* every registration is new */
  epmd_server_close(srv, on_server_closed, NULL);
  int lost = 0;
  for (int i = 0; i < 500 && r3.calls < 2; i++) uv_run(&loop, UV_RUN_ONCE);
  lost = r3.calls == 2 && r3.status == NODUS_ENOCONN;
  CHECK(lost);
  epmd_unregister(op3);
  run_until(&closed);
  CHECK(closed);
}

/* Refused: nothing listens on a port we just had and closed. */
static void test_refused(void) {
  epmd_server_opts so = {.port = 0};
  epmd_server *srv;
  CHECK_RC(epmd_server_start(&loop, &so, &srv), 0);
  int port = epmd_server_port(srv);
  closed = 0;
  epmd_server_close(srv, on_server_closed, NULL);
  run_until(&closed);
  epmd_client_opts co = {.port = port, .timeout_ms = 2000};
  struct names_result n = {0};
  CHECK_RC(epmd_names(&loop, &co, on_names, &n, NULL), 0);
  run_until(&n.done);
  CHECK_RC(n.status, NODUS_ENOCONN);
  epmd_name_list l;
  CHECK_RC(epmd_names_sync(&co, &l), NODUS_ENOCONN);
}

/* A listener that accepts and never answers: the deadline fires. */
static void on_silent_conn(uv_stream_t *s, int status) {
  (void)status;
  uv_tcp_t *t = malloc(sizeof *t);
  uv_tcp_init(s->loop, t);
  uv_accept(s, (uv_stream_t *)t);
  s->data = t; /* closed by the test */
}

static void free_handle(uv_handle_t *h) { free(h); }

static void test_timeout(void) {
  uv_tcp_t silent;
  uv_tcp_init(&loop, &silent);
  silent.data = NULL;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  CHECK_RC(uv_tcp_bind(&silent, (struct sockaddr *)&a, 0), 0);
  CHECK_RC(uv_listen((uv_stream_t *)&silent, 8, on_silent_conn), 0);
  int len = sizeof a;
  uv_tcp_getsockname(&silent, (struct sockaddr *)&a, &len);
  epmd_client_opts co = {.port = ntohs(a.sin_port), .timeout_ms = 200};
  struct reg_result r = {0};
  epmd_op *op;
  CHECK_RC(epmd_register(&loop, &co, "gamma", 1, false, on_reg, &r, &op), 0);
  run_until(&r.calls);
  CHECK_RC(r.status, NODUS_ETIMEDOUT);
  epmd_unregister(op);
  if (silent.data) uv_close((uv_handle_t *)silent.data, free_handle);
  uv_close((uv_handle_t *)&silent, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_bad_args(void) {
  epmd_op *op;
  CHECK_RC(epmd_register(&loop, NULL, "", 1, false, on_reg, NULL, &op),
           NODUS_EBADNAME);
  CHECK_RC(epmd_register(&loop, NULL, "a b", 1, false, on_reg, NULL, &op),
           NODUS_EBADNAME);
  CHECK_RC(epmd_port_please(&loop, NULL, "@host", on_port, NULL, NULL),
           NODUS_EBADNAME);
  epmd_server_opts so = {.address = "not-an-address", .port = 0};
  epmd_server *srv;
  CHECK_RC(epmd_server_start(&loop, &so, &srv), NODUS_EINVAL);
  epmd_server_opts so2 = {.port = 0};
  epmd_server *s1, *s2;
  CHECK_RC(epmd_server_start(&loop, &so2, &s1), 0);
  so2.port = epmd_server_port(s1);
  CHECK_RC(epmd_server_start(&loop, &so2, &s2), NODUS_EEXIST);
  epmd_server_close(s1, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
}

int main(void) {
  uv_loop_init(&loop);
  test_with_server();
  test_refused();
  test_timeout();
  test_bad_args();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_RC(uv_loop_close(&loop), 0);
  return check_report();
}
