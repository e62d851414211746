/* gen_server semantics on one node: start (init ok, init failing, name
 * taken), call/cast ordering, deferred replies, timeouts with the late
 * reply dropped, stop with and without a reply, noproc, terminate on
 * every end, async calls from a process and their cancel, multi_call,
 * and rpc/erpc through the node's own rex (values, undef, raises).
 * The return-code contract: a code of the wrong kind (NODUS_GS_OK from
 * handle_call, NODUS_GS_REPLY from handle_cast, 0, init > 0) stops the
 * server with {bad_return_value, ...} instead of leaving a caller
 * waiting; whatever a callback left in *reply / *stop_reason is freed on
 * every outcome (ASan checks); abnormal ends log a crash report and
 * normal, shutdown and {shutdown, _} do not. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nodus.h"

static nodus_node *node;
static nodus_mailbox *mb;
static char last_terminate[128];

/* The node's log hook keeps the gen_server component's ERROR lines. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char crash_log[8192];

static void log_hook(void *arg, int level, const char *node_name,
                     const char *component, const char *msg) {
  if (level != NODUS_LOG_ERROR || strcmp(component, "gen_server")) return;
  pthread_mutex_lock(&log_lock);
  size_t n = strlen(crash_log);
  snprintf(crash_log + n, sizeof crash_log - n, "%s\n", msg);
  pthread_mutex_unlock(&log_lock);
}

static void crash_log_clear(void) {
  pthread_mutex_lock(&log_lock);
  crash_log[0] = 0;
  pthread_mutex_unlock(&log_lock);
}

static bool crash_log_has(const char *want) {
  pthread_mutex_lock(&log_lock);
  bool ok = strstr(crash_log, want) != NULL;
  if (!ok) fprintf(stderr, "  crash log: [%s]\n  wanted: %s\n", crash_log, want);
  pthread_mutex_unlock(&log_lock);
  return ok;
}

static bool crash_log_empty(void) {
  pthread_mutex_lock(&log_lock);
  bool ok = crash_log[0] == 0;
  if (!ok) fprintf(stderr, "  unexpected crash log: [%s]\n", crash_log);
  pthread_mutex_unlock(&log_lock);
  return ok;
}

struct counter {
  int64_t n;
  nodus_term deferred; /* a From waiting for `release` */
};

static int c_init(nodus_proc *self, const nodus_term *args, void **state) {
  if (nodus_is_atom(args, "fail")) return NODUS_EINVAL;
  if (nodus_is_atom(args, "positive")) return NODUS_GS_OK; /* not 0 */
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
  if (nodus_match(req, "{return, ~i}", &k) == 0) {
    /* any code, with both out-parameters filled: whatever the outcome,
     * the server frees what it does not send */
    nodus_mk_atom(reply, "junk_reply");
    nodus_build(stop, "{junk, stop, [1, 2, 3]}");
    return (int)k;
  }
  if (nodus_is_atom(req, "copied_from_cast")) return NODUS_GS_OK;
  if (nodus_is_atom(req, "zero")) return 0;
  /* stops with {nodus_error, 'NODUS_EINVAL'}; the reply left is freed */
  nodus_mk_atom(reply, "never_sent");
  return NODUS_EINVAL;
}

static int c_cast(nodus_proc *self, void *state, const nodus_term *req,
                  nodus_term *stop) {
  struct counter *c = state;
  int64_t k;
  if (nodus_match(req, "{set, ~i}", &k) == 0) c->n = k;
  if (nodus_match(req, "{return, ~i}", &k) == 0) {
    nodus_build(stop, "{junk, cast}");
    return (int)k;
  }
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

static void restart_counter(const nodus_term *args) {
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, args, "counter", NULL),
           0);
}

static void call_return(const nodus_term *name, int code, int want_rc,
                        const char *want, int timeout) {
  char req[64];
  snprintf(req, sizeof req, "{return, %d}", code);
  call_is(name, req, want_rc, want, timeout);
}

/* The return-code contract, and the out-parameters on every outcome. */
static void test_return_codes(const nodus_term *args, const nodus_term *name) {
  /* the codes are distinct, positive, and NODUS_GS_OK is not a reply */
  CHECK(NODUS_GS_REPLY > 0 && NODUS_GS_NOREPLY > 0 && NODUS_GS_OK > 0 &&
        NODUS_GS_STOP > 0);
  CHECK(NODUS_GS_REPLY != NODUS_GS_NOREPLY && NODUS_GS_REPLY != NODUS_GS_OK &&
        NODUS_GS_REPLY != NODUS_GS_STOP && NODUS_GS_NOREPLY != NODUS_GS_OK &&
        NODUS_GS_NOREPLY != NODUS_GS_STOP && NODUS_GS_OK != NODUS_GS_STOP);

  /* handle_call returning a cast's code: the caller learns at once */
  restart_counter(args);
  crash_log_clear();
  call_is(name, "copied_from_cast", NODUS_EEXIT,
          "{bad_return_value,{handle_call,'NODUS_GS_OK'}}", 5000);
  CHECK_STR(last_terminate, "{bad_return_value,{handle_call,'NODUS_GS_OK'}}");
  CHECK(crash_log_has("GenServer counter terminating; reason: "
                      "{bad_return_value,{handle_call,'NODUS_GS_OK'}}"));
  restart_counter(args);
  call_is(name, "zero", NODUS_EEXIT, "{bad_return_value,{handle_call,0}}",
          5000);
  restart_counter(args);
  call_return(name, 7, NODUS_EEXIT, "{bad_return_value,{handle_call,7}}",
              5000);

  /* every outcome with both out-parameters filled (ASan: no leak) */
  restart_counter(args);
  call_return(name, NODUS_GS_REPLY, 0, "junk_reply", 1000); /* stop freed */
  call_return(name, NODUS_GS_NOREPLY, NODUS_ETIMEDOUT, NULL, 100);
  call_is(name, "get", 0, "0", 1000); /* still up after both */
  call_return(name, NODUS_GS_STOP, 0, "junk_reply", 1000);
  CHECK_STR(last_terminate, "{junk,stop,[1,2,3]}");
  restart_counter(args);
  call_return(name, NODUS_EBADTYPE, NODUS_EEXIT,
              "{nodus_error,'NODUS_EBADTYPE'}", 1000);
  restart_counter(args);
  call_return(name, NODUS_GS_OK, NODUS_EEXIT,
              "{bad_return_value,{handle_call,'NODUS_GS_OK'}}", 1000);

  /* casts: REPLY and NOREPLY are call codes */
  nodus_term mref = {0}, m = {0};
  const nodus_term *why;
  char req[64];
  const int cast_bad[] = {NODUS_GS_REPLY, NODUS_GS_NOREPLY};
  const char *const cast_why[] = {
      "{bad_return_value,{handle_cast,'NODUS_GS_REPLY'}}",
      "{bad_return_value,{handle_cast,'NODUS_GS_NOREPLY'}}"};
  for (int i = 0; i < 2; i++) {
    restart_counter(args);
    CHECK_RC(nodus_mailbox_monitor(mb, name, &mref), 0);
    snprintf(req, sizeof req, "{return, %d}", cast_bad[i]);
    CHECK_RC(nodus_cast(node, name, parse(req)), 0);
    CHECK_RC(nodus_mailbox_recv(mb, &m, 5000), 0);
    CHECK(nodus_match(&m, "{'DOWN', _, process, _, ~t}", &why) == 0 &&
          printed_is(why, cast_why[i]));
    nodus_term_free(&m);
    nodus_term_free(&mref);
  }
  restart_counter(args);
  snprintf(req, sizeof req, "{return, %d}", NODUS_GS_OK);
  CHECK_RC(nodus_cast(node, name, parse(req)), 0); /* fine, stop freed */
  call_is(name, "get", 0, "0", 1000);

  /* no crash report for normal, shutdown, {shutdown, _} */
  const char *const quiet[] = {"normal", "shutdown", "{shutdown, done}"};
  for (int i = 0; i < 3; i++) {
    crash_log_clear();
    snprintf(req, sizeof req, "{stop, %s}", quiet[i]);
    call_is(name, req, 0, "stopping", 1000);
    CHECK(crash_log_empty());
    restart_counter(args);
  }
  /* an unregistered server is named by its pid in the report */
  nodus_term anon = {0};
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, args, NULL, &anon), 0);
  crash_log_clear();
  call_is(&anon, "{crash, oops}", NODUS_EEXIT, "oops", 1000);
  CHECK(crash_log_has("GenServer <0."));
  CHECK(crash_log_has("terminating; reason: oops; last message: "));
  nodus_term_free(&anon);

  /* init returning a positive code fails the start, not 0-or-negative */
  nodus_term positive = atom("positive");
  CHECK_RC(nodus_gen_server_start(node, &counter_ops, &positive, "pos", NULL),
           NODUS_EINVAL);
  CHECK(crash_log_has("{bad_return_value,{init,'NODUS_GS_OK'}}"));
  nodus_term pos = atom("pos");
  call_is(&pos, "get", NODUS_ENOPROC, NULL, 1000);
  /* the counter is left running, stopped by the caller */
  call_is(name, "{stop, normal}", 0, "stopping", 1000);
}

int main(void) {
  nodus_node_opts opts = {.name = "gs_test@127.0.0.1",
                          .cookie = "gs",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE,
                          .log = log_hook};
  CHECK_RC(nodus_node_init(&opts, &node), 0);
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
  CHECK(crash_log_has("GenServer counter terminating; reason: "
                      "{nodus_error,'NODUS_EINVAL'}; last message: "
                      "{'$gen_call',{<"));
  CHECK(crash_log_has("unknown_request}; state: (C data, not shown)"));

  test_return_codes(&args, &name);

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
