/* gen_server semantics on one node: start (init ok, init failing, name
 * taken), call/cast ordering, deferred replies, timeouts with the late
 * reply dropped, stop with and without a reply, noproc, terminate on
 * every end, async calls from a process and their cancel, multi_call,
 * and rpc/erpc through the node's own rex (values, undef, raises). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nodus.h"

static nodus_node *node;
static nodus_mailbox *mb;
static char last_terminate[128];

struct counter {
  int64_t n;
  nodus_term deferred; /* a From waiting for `release` */
};

static int c_init(nodus_proc *self, const nodus_term *args, void **state) {
  if (nodus_is_atom(args, "fail")) return NODUS_EINVAL;
  struct counter *c = calloc(1, sizeof *c);
  if (!c) return NODUS_ENOMEM;
  nodus_get_int64(args, &c->n);
  *state = c;
  return 0;
}

static int c_call(nodus_proc *self, void *state, const nodus_term *req,
                  const nodus_term *from, nodus_term *reply,
                  nodus_term *stop) {
  struct counter *c = state;
  const nodus_term *t;
  int64_t k;
  if (nodus_is_atom(req, "get")) {
    *reply = nodus_int(c->n);
    return NODUS_GS_REPLY;
  }
  if (nodus_match(req, "{add, ~i}", &k) == 0) {
    c->n += k;
    *reply = nodus_int(c->n);
    return NODUS_GS_REPLY;
  }
  if (nodus_is_atom(req, "defer")) {
    nodus_copy(&c->deferred, from);
    nodus_term me;
    nodus_copy(&me, nodus_self(self));
    nodus_send_after(self, 20, &me, nodus_atom_term(NODUS_ATOM_OK), NULL);
    nodus_term_free(&me);
    return NODUS_GS_NOREPLY;
  }
  if (nodus_is_atom(req, "slow")) {
    /* replies after 300 ms, long after the caller gave up */
    nodus_copy(&c->deferred, from);
    nodus_term me;
    nodus_copy(&me, nodus_self(self));
    nodus_send_after(self, 300, &me, nodus_atom_term(NODUS_ATOM_OK), NULL);
    nodus_term_free(&me);
    return NODUS_GS_NOREPLY;
  }
  if (nodus_match(req, "{stop, ~t}", &t) == 0) {
    nodus_copy(stop, t);
    nodus_mk_atom(reply, "stopping");
    return NODUS_GS_STOP;
  }
  if (nodus_match(req, "{crash, ~t}", &t) == 0) {
    nodus_copy(stop, t);
    return NODUS_GS_STOP;
  }
  return NODUS_EINVAL; /* stops with {nodus_error, 'NODUS_EINVAL'} */
}

static int c_cast(nodus_proc *self, void *state, const nodus_term *req,
                  nodus_term *stop) {
  struct counter *c = state;
  int64_t k;
  if (nodus_match(req, "{set, ~i}", &k) == 0) c->n = k;
  return NODUS_GS_OK;
}

static int c_info(nodus_proc *self, void *state, const nodus_term *msg,
                  nodus_term *stop) {
  struct counter *c = state;
  if (nodus_is_atom(msg, "ok") && c->deferred.type != NODUS_T_NONE) {
    nodus_term r;
    nodus_mk_atom(&r, "deferred");
    nodus_gen_reply(self, &c->deferred, r);
    nodus_term_free(&c->deferred);
  }
  return NODUS_GS_OK;
}

static void c_terminate(nodus_proc *self, void *state,
                        const nodus_term *reason) {
  struct counter *c = state;
  char *text = NULL;
  nodus_print(reason, NULL, &text, NULL);
  snprintf(last_terminate, sizeof last_terminate, "%s", text ? text : "?");
  free(text);
  nodus_term_free(&c->deferred);
  free(c);
}

static const nodus_gen_server_ops counter_ops = {
    c_init, c_call, c_cast, c_info, c_terminate};

static nodus_term atom(const char *s) {
  nodus_term t;
  nodus_mk_atom(&t, s);
  return t;
}

static nodus_term parse(const char *s) {
  nodus_term t = {0};
  nodus_parse_opts o = {.local_node = nodus_node_name(node)};
  CHECK_RC(nodus_parse(s, strlen(s), &o, &t, NULL), 0);
  return t;
}

static bool printed_is(const nodus_term *t, const char *want) {
  char *text = NULL;
  nodus_print_opts o = {.local_node = nodus_node_name(node)};
  nodus_print(t, &o, &text, NULL);
  bool ok = text && strcmp(text, want) == 0;
  if (!ok) fprintf(stderr, "  got %s, wanted %s\n", text ? text : "?", want);
  free(text);
  return ok;
}

/* call, and compare the printed reply */
static void call_is(const nodus_term *server, const char *req, int want_rc,
                    const char *want, int timeout) {
  nodus_term reply = {0};
  CHECK_RC(nodus_call(node, server, parse(req), timeout, &reply), want_rc);
  if (want) CHECK(printed_is(&reply, want));
  nodus_term_free(&reply);
}

/* An async caller: on {call, Server, Req} it calls and forwards the
 * outcome message to the mailbox; on {cancel, Server, Req} it calls and
 * cancels at once. */
static void async_proc(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *server, *req;
  nodus_term copy, ref;
  if (nodus_match(msg, "{call, ~t, ~t}", &server, &req) == 0) {
    nodus_copy(&copy, req);
    nodus_call_async(self, server, copy, 1000, &ref);
    nodus_term_free(&ref);
  } else if (nodus_match(msg, "{cancel, ~t, ~t}", &server, &req) == 0) {
    nodus_copy(&copy, req);
    nodus_call_async(self, server, copy, 1000, &ref);
    nodus_call_cancel(self, &ref);
    nodus_term_free(&ref);
  } else if (nodus_copy(&copy, msg) == 0) {
    nodus_send_from(self, nodus_mailbox_pid(mb), copy);
  }
}

static int fn_add(nodus_node *n, const nodus_term *args, nodus_term *result,
                  void *arg) {
  int64_t a, b;
  if (nodus_match(args, "[~i, ~i]", &a, &b)) return NODUS_EBADTYPE;
  *result = nodus_int(a + b);
  return 0;
}

static int fn_raise(nodus_node *n, const nodus_term *args, nodus_term *result,
                    void *arg) {
  const nodus_term *how;
  if (nodus_match(args, "[~t]", &how)) return NODUS_EINVAL;
  *result = atom("oops");
  if (nodus_is_atom(how, "throw")) return NODUS_RPC_THROW;
  if (nodus_is_atom(how, "exit")) return NODUS_RPC_EXIT;
  return NODUS_EEXIT;
}

static void rpc_is(bool erpc, const char *m, const char *f, const char *args,
                   int want_rc, const char *want) {
  nodus_term r = {0};
  int rc = (erpc ? nodus_erpc : nodus_rpc)(node, nodus_node_name(node), m, f,
                                           parse(args), 2000, &r);
  CHECK_RC(rc, want_rc);
  CHECK(printed_is(&r, want));
  nodus_term_free(&r);
}

int main(void) {
  nodus_node_opts opts = {.name = "gs_test@127.0.0.1",
                          .cookie = "gs",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE};
  CHECK_RC(nodus_node_init(&node, &opts), 0);
  CHECK_RC(nodus_node_start(node), 0);
  CHECK_RC(nodus_mailbox_open(node, &mb), 0);

  nodus_term args = nodus_int(0), pid = {0}, name = atom("counter");
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &args, "counter", &pid),
           0);
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &args, "counter", NULL),
           NODUS_EEXIST);
  nodus_term fail = atom("fail");
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &fail, "failing", NULL),
           NODUS_EINVAL);
  nodus_term failing = atom("failing");
  call_is(&failing, "get", NODUS_ENOPROC, NULL, 1000);

  /* calls by name, by pid, by {Name, Node}; a cast between calls */
  call_is(&name, "get", 0, "0", 1000);
  call_is(&pid, "{add, 5}", 0, "5", 1000);
  CHECK_RC(nodus_cast(node, &name, parse("{set, 42}")), 0);
  nodus_term remote_style = {0};
  CHECK_RC(nodus_build(&remote_style, "{counter, ~A}", nodus_node_name(node)),
           0);
  call_is(&remote_style, "get", 0, "42", 1000);
  call_is(&name, "defer", 0, "deferred", 1000);

  /* a timeout; the late reply must not reach a later call */
  call_is(&name, "slow", NODUS_ETIMEDOUT, NULL, 50);
  usleep(400 * 1000);
  call_is(&name, "get", 0, "42", 1000);

  /* noproc: unregistered name, global name, bad server */
  nodus_term nobody = atom("nobody");
  call_is(&nobody, "get", NODUS_ENOPROC, NULL, 1000);
  nodus_term global = parse("{global, counter}");
  call_is(&global, "get", NODUS_ENOPROC, NULL, 1000);
  nodus_term_free(&global);
  CHECK_RC(nodus_cast(node, &nobody, parse("x")), 0);

  /* async calls from a process */
  nodus_proc_spec aspec = {.on_message = async_proc};
  nodus_term apid = {0};
  CHECK_RC(nodus_spawn(node, &aspec, &apid), 0);
  nodus_term m;
  nodus_send(node, &apid, parse("{call, counter, get}"));
  CHECK_RC(nodus_mailbox_recv(mb, &m, 2000), 0);
  CHECK(nodus_match(&m, "{nodus_call, _, {ok, 42}}") == 0);
  nodus_term_free(&m);
  nodus_send(node, &apid, parse("{call, nobody, get}"));
  CHECK_RC(nodus_mailbox_recv(mb, &m, 2000), 0);
  CHECK(nodus_match(&m, "{nodus_call, _, {error, noproc}}") == 0);
  nodus_term_free(&m);
  nodus_send(node, &apid, parse("{call, counter, slow}"));
  CHECK_RC(nodus_mailbox_recv(mb, &m, 5000), 0);
  CHECK(nodus_match(&m, "{nodus_call, _, {ok, deferred}}") == 0);
  nodus_term_free(&m);
  nodus_send(node, &apid, parse("{cancel, counter, get}"));
  CHECK_RC(nodus_mailbox_recv(mb, &m, 300), NODUS_ETIMEDOUT);

  /* multi_call over this node and a node that does not exist */
  nodus_term nodes, replies = {0}, bad = {0};
  CHECK_RC(nodus_build(&nodes, "[~A, 'nowhere@127.0.0.1']",
                       nodus_node_name(node)),
           0);
  nodus_term get = atom("get");
  CHECK_RC(nodus_multi_call(node, &nodes, "counter", &get, 2000, &replies,
                            &bad),
           0);
  CHECK(nodus_match(&replies, "[{_, _}]") == 0);
  CHECK(printed_is(&bad, "['nowhere@127.0.0.1']"));
  nodus_term_free(&nodes);
  nodus_term_free(&replies);
  nodus_term_free(&bad);

  /* rpc and erpc through our own rex */
  CHECK_RC(nodus_register_function(node, "test", "add", fn_add, NULL), 0);
  CHECK_RC(nodus_register_function(node, "test", "raise", fn_raise, NULL), 0);
  rpc_is(false, "test", "add", "[1, 2]", 0, "3");
  rpc_is(true, "test", "add", "[1, 2]", 0, "3");
  rpc_is(false, "test", "nope", "[1]", NODUS_EEXIT,
         "{badrpc,{'EXIT',{undef,[{test,nope,[1],[]}]}}}");
  rpc_is(true, "test", "nope", "[1]", NODUS_EEXIT,
         "{error,{exception,undef,[{test,nope,[1],[]}]}}");
  rpc_is(false, "test", "raise", "[error]", NODUS_EEXIT,
         "{badrpc,{'EXIT',{oops,[{test,raise,1,[]}]}}}");
  rpc_is(true, "test", "raise", "[error]", NODUS_EEXIT,
         "{error,{exception,oops,[{test,raise,1,[]}]}}");
  rpc_is(false, "test", "raise", "[exit]", NODUS_EEXIT,
         "{badrpc,{'EXIT',oops}}");
  rpc_is(true, "test", "raise", "[exit]", NODUS_EEXIT,
         "{exit,{exception,oops}}");
  rpc_is(false, "test", "raise", "[throw]", 0, "oops");
  rpc_is(true, "test", "raise", "[throw]", NODUS_EEXIT, "{throw,oops}");
  rpc_is(false, "test", "add", "[a, 2]", NODUS_EEXIT,
         "{badrpc,{'EXIT',{badarg,[{test,add,2,[]}]}}}");
  nodus_term r = {0};
  CHECK_RC(nodus_rpc(node, nodus_node_name(node), "nodus", "registered",
                     nodus_nil(), 2000, &r),
           0);
  CHECK(nodus_match(&r, "[_ | _]") == 0);
  nodus_term_free(&r);
  nodus_term pi_args;
  nodus_build(&pi_args, "[counter]");
  CHECK_RC(nodus_rpc(node, nodus_node_name(node), "nodus", "process_info",
                     pi_args, 2000, &r),
           0);
  CHECK(nodus_match(&r, "[{registered_name, counter}, {message_queue_len, 0}"
                        ", {links, []}, {monitors, []}, {status, _}, "
                        "{trap_exit, false}]") == 0);
  nodus_term_free(&r);
  rpc_is(false, "nodus", "global_names", "[]", 0, "[]");

  /* stop with a reply; then without (the caller sees the exit) */
  call_is(&name, "{stop, boom}", 0, "stopping", 1000);
  CHECK_STR(last_terminate, "boom");
  call_is(&name, "get", NODUS_ENOPROC, NULL, 1000);
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &args, "counter", NULL),
           0);
  call_is(&name, "{crash, {bad, thing}}", NODUS_EEXIT, "{bad,thing}", 1000);
  CHECK_STR(last_terminate, "{bad,thing}");
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &args, "counter", NULL),
           0);
  call_is(&name, "unknown_request", NODUS_EEXIT,
          "{nodus_error,'NODUS_EINVAL'}", 1000);
  /* terminate also runs when the node closes */
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &args, "counter", NULL),
           0);
  last_terminate[0] = 0;

  nodus_term_free(&pid);
  nodus_term_free(&apid);
  nodus_term_free(&remote_style);
  nodus_mailbox_close(mb);
  nodus_node_close(node);
  CHECK_STR(last_terminate, "shutdown");
  return check_report();
}
