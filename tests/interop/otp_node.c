/* otp_node: a nodus node with gen_servers and rpc functions, driven over
 * stdin by the test_otp_*.sh interop tests.
 *
 *   otp_node --name NAME --cookie C [--epmd-port P]
 *
 * Servers (registered names):
 *   echo      call X -> {echo, X}; cast {note, Pid, X} -> Pid ! {noted, X}
 *   slow      call X -> replies {slow, X} after 2 s (a deferred reply);
 *             prints "slow: call" on stderr when a call arrives, the
 *             proof tests wait for before killing the node mid-call
 *   deferred  call X -> NOREPLY, then {later, X} 20 ms later
 *   stopper   call {stop, R} -> stops with R, no reply; {stop_reply, R} ->
 *             replies stopping, then stops with R
 * Functions: nodus_test:add(A, B), nodus_test:raise(error|exit|throw)
 *   (raises oops), nodus_test:sleep(Ms) -> slept.
 *
 * Commands, fields separated by tabs, one answer line each:
 *   call SERVER REQUEST MS     reply TERM | error CODE [TERM]
 *   rpc NODE MOD FUN ARGS MS   ok TERM | badrpc TERM
 *   erpc NODE MOD FUN ARGS MS  ok TERM | raise TERM
 *   cast SERVER REQUEST        ok
 *   quit
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nodus.h>

static nodus_node *node;

static void say_term(const char *what, const nodus_term *t) {
  char *text = NULL;
  nodus_print_opts o = {.local_node = nodus_node_name(node)};
  if (t && t->type != NODUS_T_NONE) nodus_print(t, &o, &text, NULL);
  printf("%s%s%s\n", what, text ? " " : "", text ? text : "");
  fflush(stdout);
  free(text);
}

static int parse(const char *s, nodus_term *out) {
  nodus_parse_opts o = {.local_node = nodus_node_name(node),
                        .local_creation = nodus_node_creation(node)};
  return nodus_parse(s, strlen(s), &o, out, NULL);
}

/* ---- servers ------------------------------------------------------------ */

static int no_init(nodus_proc *self, const nodus_term *args, void **state) {
  *state = NULL;
  return 0;
}

static int echo_call(nodus_proc *self, void *st, const nodus_term *req,
                     const nodus_term *from, nodus_term *reply,
                     nodus_term *stop) {
  nodus_term c;
  nodus_copy(&c, req);
  return nodus_build(reply, "{echo, ~t}", c) ? NODUS_ENOMEM : NODUS_GS_REPLY;
}

static int echo_cast(nodus_proc *self, void *st, const nodus_term *req,
                     nodus_term *stop) {
  const nodus_term *pid, *x;
  nodus_term c, msg;
  if (nodus_match(req, "{note, ~t, ~t}", &pid, &x) == 0 &&
      nodus_copy(&c, x) == 0 && nodus_build(&msg, "{noted, ~t}", c) == 0)
    nodus_send_from(self, pid, msg);
  return NODUS_GS_OK;
}

/* Deferred replies: {reply_later, From, Reply} to self after a delay. */
static int later(nodus_proc *self, const nodus_term *from, const char *tag,
                 const nodus_term *req, unsigned ms) {
  nodus_term f, r, msg;
  nodus_copy(&f, from);
  nodus_copy(&r, req);
  if (nodus_build(&msg, "{reply_later, ~t, {~a, ~t}}", f, tag, r))
    return NODUS_ENOMEM;
  nodus_send_after(self, ms, nodus_self(self), msg, NULL);
  return NODUS_GS_NOREPLY;
}

static int slow_call(nodus_proc *self, void *st, const nodus_term *req,
                     const nodus_term *from, nodus_term *reply,
                     nodus_term *stop) {
  fputs("slow: call\n", stderr); /* unbuffered: out before the reply */
  return later(self, from, "slow", req, 2000);
}

static int deferred_call(nodus_proc *self, void *st, const nodus_term *req,
                         const nodus_term *from, nodus_term *reply,
                         nodus_term *stop) {
  return later(self, from, "later", req, 20);
}

static int later_info(nodus_proc *self, void *st, const nodus_term *msg,
                      nodus_term *stop) {
  const nodus_term *from, *r;
  nodus_term c;
  if (nodus_match(msg, "{reply_later, ~t, ~t}", &from, &r) == 0 &&
      nodus_copy(&c, r) == 0)
    nodus_gen_reply(self, from, c);
  return NODUS_GS_OK;
}

static int stopper_call(nodus_proc *self, void *st, const nodus_term *req,
                        const nodus_term *from, nodus_term *reply,
                        nodus_term *stop) {
  const nodus_term *r;
  if (nodus_match(req, "{stop, ~t}", &r) == 0) {
    nodus_copy(stop, r);
    return NODUS_GS_STOP;
  }
  if (nodus_match(req, "{stop_reply, ~t}", &r) == 0) {
    nodus_copy(stop, r);
    nodus_mk_atom(reply, "stopping");
    return NODUS_GS_STOP;
  }
  nodus_mk_atom(reply, "alive");
  return NODUS_GS_REPLY;
}

static const nodus_gen_server_ops echo_ops = {no_init, echo_call, echo_cast,
                                              NULL, NULL};
static const nodus_gen_server_ops slow_ops = {no_init, slow_call, NULL,
                                              later_info, NULL};
static const nodus_gen_server_ops deferred_ops = {no_init, deferred_call, NULL,
                                                  later_info, NULL};
static const nodus_gen_server_ops stopper_ops = {no_init, stopper_call, NULL,
                                                 NULL, NULL};

/* ---- functions ---------------------------------------------------------- */

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
  nodus_mk_atom(result, "oops");
  if (nodus_is_atom(how, "throw")) return NODUS_RPC_THROW;
  if (nodus_is_atom(how, "exit")) return NODUS_RPC_EXIT;
  return NODUS_EEXIT;
}

static int fn_sleep(nodus_node *n, const nodus_term *args, nodus_term *result,
                    void *arg) {
  int64_t ms;
  if (nodus_match(args, "[~i]", &ms) || ms < 0) return NODUS_EBADTYPE;
  usleep((useconds_t)ms * 1000);
  return nodus_mk_atom(result, "slept");
}

/* ---- commands ----------------------------------------------------------- */

static char *field(char **rest) {
  char *s = *rest;
  if (!s) return NULL;
  char *tab = strchr(s, '\t');
  if (tab) {
    *tab = 0;
    *rest = tab + 1;
  } else {
    *rest = NULL;
  }
  return s;
}

static void cmd_call(char *rest) {
  char *server_s = field(&rest), *req_s = field(&rest), *ms_s = field(&rest);
  nodus_term server, req, reply = {0};
  if (!ms_s || parse(server_s, &server) || parse(req_s, &req)) {
    puts("error syntax");
    fflush(stdout);
    return;
  }
  int rc = nodus_call(node, &server, req, atoi(ms_s), &reply);
  if (rc == 0) {
    say_term("reply", &reply);
  } else {
    char what[64];
    snprintf(what, sizeof what, "error %s", nodus_err_name(rc));
    say_term(what, &reply);
  }
  nodus_term_free(&server);
  nodus_term_free(&reply);
}

static void cmd_cast(char *rest) {
  char *server_s = field(&rest), *req_s = field(&rest);
  nodus_term server, req;
  if (!req_s || parse(server_s, &server) || parse(req_s, &req)) {
    puts("error syntax");
    fflush(stdout);
    return;
  }
  int rc = nodus_cast(node, &server, req);
  puts(rc ? "error cast" : "ok");
  fflush(stdout);
  nodus_term_free(&server);
}

static void cmd_rpc(char *rest, bool erpc) {
  char *node_s = field(&rest), *m = field(&rest), *f = field(&rest),
       *args_s = field(&rest), *ms_s = field(&rest);
  nodus_term args, result = {0};
  nodus_atom peer;
  if (!ms_s || nodus_atom_intern(node_s, strlen(node_s), &peer) ||
      parse(args_s, &args)) {
    puts("error syntax");
    fflush(stdout);
    return;
  }
  int rc = (erpc ? nodus_erpc : nodus_rpc)(node, peer, m, f, args, atoi(ms_s),
                                           &result);
  say_term(rc == 0 ? "ok" : rc == NODUS_EEXIT ? (erpc ? "raise" : "badrpc")
                                               : nodus_err_name(rc),
           &result);
  nodus_term_free(&result);
}

int main(int argc, char **argv) {
  const char *name = NULL, *cookie = NULL;
  int epmd_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--name")) name = argv[i + 1];
    else if (!strcmp(argv[i], "--cookie")) cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) epmd_port = atoi(argv[i + 1]);
  }
  nodus_node_opts opts = {.name = name,
                          .cookie = cookie,
                          .epmd_mode = NODUS_EPMD_SYSTEM,
                          .epmd_port = epmd_port};
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (!rc) rc = nodus_gen_server_start(node, &echo_ops, NULL, "echo", NULL);
  if (!rc) rc = nodus_gen_server_start(node, &slow_ops, NULL, "slow", NULL);
  if (!rc)
    rc = nodus_gen_server_start(node, &deferred_ops, NULL, "deferred", NULL);
  if (!rc)
    rc = nodus_gen_server_start(node, &stopper_ops, NULL, "stopper", NULL);
  if (!rc) rc = nodus_register_function(node, "nodus_test", "add", fn_add, NULL);
  if (!rc)
    rc = nodus_register_function(node, "nodus_test", "raise", fn_raise, NULL);
  if (!rc)
    rc = nodus_register_function(node, "nodus_test", "sleep", fn_sleep, NULL);
  if (rc) {
    fprintf(stderr, "otp_node: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  nodus_term me = nodus_atom_term(nodus_node_name(node));
  say_term("ready", &me);
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *rest = line, *cmd = field(&rest);
    if (!strcmp(cmd, "quit")) break;
    if (!strcmp(cmd, "call")) cmd_call(rest);
    else if (!strcmp(cmd, "cast")) cmd_cast(rest);
    else if (!strcmp(cmd, "rpc")) cmd_rpc(rest, false);
    else if (!strcmp(cmd, "erpc")) cmd_rpc(rest, true);
    else {
      printf("error unknown command %s\n", cmd);
      fflush(stdout);
    }
  }
  nodus_node_close(node);
  return 0;
}
