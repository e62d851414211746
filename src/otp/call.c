/* Calling a gen_server, C or BEAM, the way gen.erl does since OTP 24:
 * monitor the server, send {'$gen_call', {Pid, [alias | Alias]}, Request},
 * wait for {[alias | Alias], Reply} or the monitor's DOWN. Each call gets
 * a small helper process that owns the monitor and the alias; when the
 * call ends (reply, DOWN, timeout, cancel) the helper exits, which drops
 * both, so a late reply is discarded by the runtime as in Erlang.
 *
 * The helper hands the outcome to a blocked thread (nodus_call) or as a
 * message to a process (nodus_call_async). */
#include <stdlib.h>

#include "otp/otp_internal.h"
#include "runtime/global_hook.h"
#include "runtime/waiter.h"

typedef struct otp_caller {
  nodus_node *node;
  bool threaded;
  /* threaded: the outcome for the waiting thread; it and the helper each
   * hold a reference */
  rt_handoff hand;
  bool done;
  /* the call */
  nodus_term server, request;
  int timeout_ms;
  nodus_term mref, alias, helper;
  /* async: who gets {nodus_call, Alias, Result}, and our monitor of it */
  nodus_term notify, notify_mref;
} otp_caller;

static void caller_free(otp_caller *c) {
  nodus_term_free(&c->server);
  nodus_term_free(&c->request);
  nodus_term_free(&c->mref);
  nodus_term_free(&c->alias);
  nodus_term_free(&c->helper);
  nodus_term_free(&c->notify);
  nodus_term_free(&c->notify_mref);
  if (c->threaded) rt_handoff_destroy(&c->hand);
  free(c);
}

static void caller_release(otp_caller *c) {
  if (!c->threaded) {
    caller_free(c);
    return;
  }
  if (rt_handoff_release(&c->hand)) caller_free(c);
}

/* The async outcome: {ok, Reply} | {error, timeout | noproc | noconnection
 * | {exit, Reason}}. */
static nodus_term async_result(int rc, nodus_term result) {
  const char *why = rc == NODUS_ETIMEDOUT ? "timeout"
                    : rc == NODUS_ENOPROC ? "noproc"
                    : rc == NODUS_ENOCONN ? "noconnection"
                                          : NULL;
  if (rc == 0) return rt_tuple(2, rt_atom("ok"), result);
  if (rc == NODUS_EEXIT)
    return rt_tuple(2, rt_atom("error"), rt_tuple(2, rt_atom("exit"), result));
  nodus_term_free(&result);
  return rt_tuple(2, rt_atom("error"),
                  why ? rt_atom(why) : rt_atom(nodus_err_name(rc)));
}

/* The call is over: hand the outcome over (taken) and end the helper. */
static void caller_finish(nodus_proc *self, otp_caller *c, int rc,
                          nodus_term result, bool notify) {
  if (c->done) {
    nodus_term_free(&result);
    return;
  }
  c->done = true;
  if (c->threaded) {
    rt_handoff_put(&c->hand, rc, result);
  } else {
    if (notify && self)
      nodus_send_from(self, &c->notify,
                      rt_tuple(3, rt_atom("nodus_call"), rt_copy(&c->alias),
                               async_result(rc, result)));
    else
      nodus_term_free(&result);
  }
  if (self) {
    nodus_term normal = rt_atom("normal");
    nodus_exit(self, &normal);
  }
}

static bool is_our_reply(const otp_caller *c, const nodus_term *msg) {
  if (msg->type != NODUS_T_TUPLE || msg->n != 2) return false;
  const nodus_term *tag = &msg->v.items[0];
  return tag->type == NODUS_T_LIST && tag->n == 1 &&
         nodus_equal(&tag->v.items[1], &c->alias);
}

static void caller_msg(nodus_proc *self, const nodus_term *msg) {
  otp_caller *c = nodus_proc_state(self);
  if (!c || c->done) return;
  if (is_our_reply(c, msg)) {
    caller_finish(self, c, 0, rt_copy(&msg->v.items[1]), true);
    return;
  }
  if (msg->type == NODUS_T_TUPLE && msg->n == 5 &&
      nodus_is_atom(&msg->v.items[0], "DOWN")) {
    const nodus_term *ref = &msg->v.items[1], *reason = &msg->v.items[4];
    if (nodus_equal(ref, &c->mref)) {
      int rc = nodus_is_atom(reason, "noproc")         ? NODUS_ENOPROC
               : nodus_is_atom(reason, "noconnection") ? NODUS_ENOCONN
                                                        : NODUS_EEXIT;
      caller_finish(self, c, rc, rc == NODUS_EEXIT ? rt_copy(reason)
                                                    : (nodus_term){0}, true);
    } else if (nodus_equal(ref, &c->notify_mref)) {
      caller_finish(self, c, NODUS_ESTATE, (nodus_term){0}, false);
    }
    return;
  }
  if (nodus_is_atom(msg, "$nodus_call_timeout"))
    caller_finish(self, c, NODUS_ETIMEDOUT, (nodus_term){0}, true);
  else if (nodus_is_atom(msg, "$nodus_call_cancel"))
    caller_finish(self, c, NODUS_ETIMEDOUT, (nodus_term){0}, false);
}

static void caller_exit(nodus_proc *self, const nodus_term *reason) {
  otp_caller *c = nodus_proc_state(self);
  if (!c) return;
  nodus_proc_set_state(self, NULL);
  /* Killed, or the node is closing: whoever waits must not wait on. */
  caller_finish(NULL, c, NODUS_ESTATE, (nodus_term){0}, false);
  caller_release(c);
}

static bool is_global(const nodus_term *server) {
  return rt_is_global_name(server);
}

/* [alias | Alias] */
static nodus_term alias_tag(const nodus_term *alias) {
  nodus_term tag;
  if (nodus_mk_list(&tag, 1)) return (nodus_term){0};
  nodus_list_set(&tag, 0, rt_atom("alias"));
  nodus_list_set_tail(&tag, rt_copy(alias));
  return tag;
}

/* On the loop: make the helper and send the request. Returns non-zero
 * only when there is no helper (c is gone then); *ref_out (optional) gets
 * the helper's alias, which names the call. */
static int call_start_ex(nodus_node *node, otp_caller *c, nodus_term *ref_out) {
  nodus_proc_spec spec = {
      .on_message = caller_msg, .on_exit = caller_exit, .state = c};
  nodus_proc *self;
  int rc = rt_spawn(node, &spec, &self);
  if (rc) {
    caller_finish(NULL, c, rc, (nodus_term){0}, false);
    caller_release(c);
    return rc;
  }
  c->helper = rt_copy(&self->pid);
  /* The alias first: every outcome message names the call by it. */
  if (nodus_alias(self, &c->alias) && (rc = nodus_make_ref(node, &c->alias))) {
    caller_finish(self, c, rc, (nodus_term){0}, false);
    return 0;
  }
  if (ref_out) *ref_out = rt_copy(&c->alias);
  if (is_global(&c->server)) {
    /* gen:call/4 on {global, Name}: the pid global:whereis_name gives. */
    nodus_term pid;
    if (rt_resolve_global(node, &c->server, &pid)) {
      caller_finish(self, c, NODUS_ENOPROC, (nodus_term){0}, true);
      return 0;
    }
    nodus_term_free(&c->server);
    c->server = pid;
  }
  if ((rc = nodus_monitor(self, &c->server, &c->mref))) {
    caller_finish(self, c, rc == NODUS_EBADTYPE ? NODUS_EINVAL : rc,
                  (nodus_term){0}, true);
    return 0;
  }
  if (!c->threaded) {
    if (c->timeout_ms >= 0)
      nodus_send_after(self, (unsigned)c->timeout_ms, &self->pid,
                       rt_atom("$nodus_call_timeout"), NULL);
    nodus_monitor(self, &c->notify, &c->notify_mref);
  }
  nodus_term msg = rt_tuple(3, rt_atom("$gen_call"),
                            rt_tuple(2, rt_copy(&self->pid), alias_tag(&c->alias)),
                            c->request);
  c->request = (nodus_term){0};
  /* A send to a missing local name fails here; the monitor has already
   * queued the DOWN noproc that ends the call. */
  (void)nodus_send_from(self, &c->server, msg);
  return 0;
}

static void call_start(nodus_node *node, void *arg) {
  (void)call_start_ex(node, arg, NULL);
}

/* On the loop: the waiting thread gave up. */
static void call_abandon(nodus_node *node, void *arg) {
  otp_caller *c = arg;
  nodus_proc *self = c->helper.type ? nodus_proc_lookup(node, &c->helper) : NULL;
  if (self && !c->done)
    caller_finish(self, c, NODUS_ETIMEDOUT, (nodus_term){0}, false);
  caller_release(c); /* the thread's reference, passed to us */
}

static otp_caller *caller_new(nodus_node *node, const nodus_term *server,
                              nodus_term request, int timeout_ms,
                              bool threaded) {
  otp_caller *c = calloc(1, sizeof *c);
  if (!c || nodus_copy(&c->server, server)) {
    free(c);
    nodus_term_free(&request);
    return NULL;
  }
  c->node = node;
  c->request = request;
  c->timeout_ms = timeout_ms;
  c->threaded = threaded;
  if (threaded) rt_handoff_init(&c->hand);
  return c;
}

/* Waits for a threaded call until the deadline. Returns its code and
 * moves the result out, or abandons it with NODUS_ETIMEDOUT. The thread's
 * reference is gone afterwards. */
static int caller_wait(otp_caller *c, const rt_deadline *until,
                       nodus_term *reply) {
  int rc = NODUS_ETIMEDOUT;
  bool done = rt_handoff_take(&c->hand, until, &rc, reply);
  if (!done) rc = NODUS_ETIMEDOUT;
  if (done || nodus_node_post(c->node, call_abandon, c)) caller_release(c);
  return rc;
}

static int check_thread(nodus_node *node) {
  if (!node) return NODUS_EINVAL;
  /* Blocking on the loop thread would wait for ourselves. */
  if (node->running && rt_on_loop(node)) return NODUS_ESTATE;
  return 0;
}

/* Starts a threaded call; NULL when it could not start. */
static otp_caller *call_begin(nodus_node *node, const nodus_term *server,
                              nodus_term request, int timeout_ms, int *rc) {
  otp_caller *c = caller_new(node, server, request, timeout_ms, true);
  if (!c) {
    *rc = NODUS_ENOMEM;
    return NULL;
  }
  if ((*rc = nodus_node_post(node, call_start, c))) {
    caller_free(c);
    return NULL;
  }
  return c;
}

int nodus_call(nodus_node *node, const nodus_term *server, nodus_term request,
               int timeout_ms, nodus_term *reply) {
  int rc = check_thread(node);
  if (!rc && !server) rc = NODUS_EINVAL;
  if (rc) {
    nodus_term_free(&request);
    return rc;
  }
  if (reply) *reply = (nodus_term){0};
  otp_caller *c = call_begin(node, server, request, timeout_ms, &rc);
  if (!c) return rc;
  rt_deadline until = rt_deadline_in(timeout_ms);
  return caller_wait(c, &until, reply);
}

int nodus_call_async(nodus_proc *self, const nodus_term *server,
                     nodus_term request, int timeout_ms, nodus_term *ref) {
  if (!self || !server) {
    nodus_term_free(&request);
    return NODUS_EINVAL;
  }
  nodus_node *node = nodus_proc_node(self);
  otp_caller *c = caller_new(node, server, request, timeout_ms, false);
  if (!c) return NODUS_ENOMEM;
  int rc = nodus_copy(&c->notify, nodus_self(self));
  if (rc) {
    caller_free(c);
    return rc;
  }
  /* On the loop already: this runs now. Even when the call fails at
   * once, the outcome comes as a message. */
  nodus_term alias = {0};
  rc = call_start_ex(node, c, &alias);
  if (ref) *ref = alias;
  else nodus_term_free(&alias);
  return rc;
}

int nodus_call_cancel(nodus_proc *self, const nodus_term *ref) {
  if (!self || !ref) return NODUS_EINVAL;
  return nodus_send_from(self, ref, rt_atom("$nodus_call_cancel"));
}

int nodus_cast(nodus_node *node, const nodus_term *server, nodus_term request) {
  if (!node || !server) {
    nodus_term_free(&request);
    return NODUS_EINVAL;
  }
  int rc = nodus_send(node, server,
                      rt_tuple(2, rt_atom("$gen_cast"), request));
  return rc == NODUS_ENOPROC ? 0 : rc; /* gen_server:cast always says ok */
}

int nodus_multi_call(nodus_node *node, const nodus_term *nodes,
                     const char *name, const nodus_term *request,
                     int timeout_ms, nodus_term *replies,
                     nodus_term *bad_nodes) {
  int rc = check_thread(node);
  if (rc) return rc;
  if (!nodes || !name || !request || !nodus_is_proper_list(nodes))
    return NODUS_EINVAL;
  size_t n = nodes->type == NODUS_T_LIST ? nodes->n : 0;
  otp_caller **calls = calloc(n + 1, sizeof *calls);
  nodus_term *got = calloc(n + 1, sizeof *got);
  int *codes = calloc(n + 1, sizeof *codes);
  if (!calls || !got || !codes) {
    free(calls);
    free(got);
    free(codes);
    return NODUS_ENOMEM;
  }
  nodus_term name_atom;
  if ((rc = nodus_mk_atom(&name_atom, name))) goto out;
  for (size_t i = 0; i < n; i++) {
    const nodus_term *nd = &nodes->v.items[i];
    if (nd->type != NODUS_T_ATOM) {
      codes[i] = NODUS_EINVAL;
      continue;
    }
    nodus_term server = rt_tuple(2, name_atom, rt_copy(nd));
    calls[i] = call_begin(node, &server, rt_copy(request), timeout_ms,
                          &codes[i]);
    nodus_term_free(&server);
  }
  rt_deadline until = rt_deadline_in(timeout_ms);
  size_t n_ok = 0;
  for (size_t i = 0; i < n; i++) {
    if (calls[i])
      codes[i] = caller_wait(calls[i], &until, &got[i]);
    n_ok += codes[i] == 0;
  }
  /* [{Node, Reply}] in the order asked; bad nodes likewise. */
  nodus_term ok_list = nodus_nil(), bad_list = nodus_nil();
  if (n_ok) rc = nodus_mk_list(&ok_list, n_ok);
  if (!rc && n - n_ok) rc = nodus_mk_list(&bad_list, n - n_ok);
  size_t io = 0, ib = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const nodus_term *nd = &nodes->v.items[i];
    if (codes[i] == 0) {
      nodus_list_set(&ok_list, io++, rt_tuple(2, rt_copy(nd), got[i]));
      got[i] = (nodus_term){0};
    } else {
      nodus_list_set(&bad_list, ib++, rt_copy(nd));
    }
  }
  if (rc) {
    nodus_term_free(&ok_list);
    nodus_term_free(&bad_list);
  } else {
    if (replies) *replies = ok_list;
    else nodus_term_free(&ok_list);
    if (bad_nodes) *bad_nodes = bad_list;
    else nodus_term_free(&bad_list);
  }
out:
  for (size_t i = 0; i < n; i++) nodus_term_free(&got[i]);
  free(calls);
  free(got);
  free(codes);
  return rc;
}
