/* The system processes every visible node answers: net_kernel (is_auth,
 * so net_adm:ping gives pong) and rex (features_request). Traffic for the
 * services nodus does not run yet (global_name_server, pg scopes) arrives
 * at names nobody registered and is dropped with one log line. */
#include <stdlib.h>
#include <string.h>

#include "runtime/node_internal.h"

bool rt_log_once(nodus_node *node, unsigned kind) {
  if (node->logged_unknown & kind) return false;
  node->logged_unknown |= kind;
  return true;
}

/* The alias in a call tag: [alias | Ref] or [[alias | Ref] | _]. */
static const nodus_term *alias_of(const nodus_term *tag) {
  if (tag->type == NODUS_T_LIST && tag->v.items[0].type == NODUS_T_LIST)
    tag = &tag->v.items[0];
  if (tag->type == NODUS_T_LIST && tag->n == 1 &&
      nodus_is_atom(&tag->v.items[0], "alias") &&
      tag->v.items[1].type == NODUS_T_REF)
    return &tag->v.items[1];
  return NULL;
}

/* gen:reply/2: {Tag, Reply} to the alias in the tag, else to the caller. */
void rt_gen_reply(nodus_node *node, nodus_proc *self, const nodus_term *from,
                  nodus_term reply) {
  const nodus_term *to = nodus_tuple_elem(from, 0);
  const nodus_term *tag = nodus_tuple_elem(from, 1);
  if (!to || !tag || from->n != 2) {
    nodus_term_free(&reply);
    return;
  }
  const nodus_term *alias = alias_of(tag);
  rt_send(node, self, alias ? alias : to, rt_tuple(2, rt_copy(tag), reply));
}

static bool is_gen_call(const nodus_term *msg, const nodus_term **from,
                        const nodus_term **req) {
  if (msg->type != NODUS_T_TUPLE || msg->n != 3 ||
      !nodus_is_atom(&msg->v.items[0], "$gen_call"))
    return false;
  *from = &msg->v.items[1];
  *req = &msg->v.items[2];
  return (*from)->type == NODUS_T_TUPLE && (*from)->n == 2;
}

static void net_kernel_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *req;
  if (is_gen_call(msg, &from, &req) && req->type == NODUS_T_TUPLE &&
      req->n == 2 && nodus_is_atom(&req->v.items[0], "is_auth")) {
    rt_gen_reply(self->node, self, from, rt_atom("yes"));
    return;
  }
  if (rt_log_once(self->node, 1u << 8))
    rt_log(self->node, NODUS_LOG_INFO, "net_kernel",
           "ignoring a request net_kernel does not serve (logged once)");
}

static void rex_msg(nodus_proc *self, const nodus_term *msg) {
  /* {From, features_request}: erpc is not served yet, so say so. */
  if (msg->type == NODUS_T_TUPLE && msg->n == 2 &&
      msg->v.items[0].type == NODUS_T_PID &&
      nodus_is_atom(&msg->v.items[1], "features_request")) {
    nodus_term reply = rt_tuple(3, rt_atom("features_reply"),
                                nodus_atom_term(self->node->name), nodus_nil());
    rt_send(self->node, self, &msg->v.items[0], reply);
    return;
  }
  if (rt_log_once(self->node, 1u << 9))
    rt_log(self->node, NODUS_LOG_INFO, "rex",
           "rpc into C nodes is not served yet; request dropped (logged once)");
}

static void sys_msg(nodus_proc *self, const nodus_term *msg) {}

int rt_sysprocs_start(nodus_node *node) {
  nodus_proc *p;
  nodus_proc_spec nk = {.on_message = net_kernel_msg,
                        .register_name = "net_kernel"};
  nodus_proc_spec rex = {.on_message = rex_msg, .register_name = "rex"};
  nodus_proc_spec sys = {.on_message = sys_msg};
  int rc = rt_spawn(node, &nk, &p);
  if (!rc) rc = rt_spawn(node, &rex, &p);
  if (!rc) rc = rt_spawn(node, &sys, &node->sys);
  return rc;
}

/* ---- net_adm:ping from C ------------------------------------------------ */

struct auth_check {
  nodus_atom peer;
  bool refused;
};

/* Whether peer's last handshake failed on the cookie; forgets it. */
static void auth_check_on_loop(nodus_node *node, void *arg) {
  struct auth_check *a = arg;
  a->refused = idmap_del(&node->auth_refused, a->peer) != NULL;
}

int nodus_node_ping(nodus_node *node, nodus_atom peer, int timeout_ms) {
  if (peer == node->name) return 0;
  if (rt_on_loop(node) && node->running) return NODUS_ESTATE;
  nodus_mailbox *mb;
  int rc = nodus_mailbox_open(node, &mb);
  if (rc) return rc;
  nodus_term target = rt_tuple(2, rt_atom("net_kernel"), nodus_atom_term(peer));
  nodus_term mref, tag;
  rc = nodus_mailbox_monitor(mb, &target, &mref);
  if (!rc) rc = nodus_make_ref(node, &tag);
  if (rc) {
    nodus_term_free(&target);
    nodus_mailbox_close(mb);
    return rc;
  }
  nodus_term req = rt_tuple(
      3, rt_atom("$gen_call"),
      rt_tuple(2, rt_copy(nodus_mailbox_pid(mb)), rt_copy(&tag)),
      rt_tuple(2, rt_atom("is_auth"), nodus_atom_term(node->name)));
  struct auth_check auth = {peer, false};
  nodus_node_call(node, auth_check_on_loop, &auth); /* an older refusal */
  nodus_mailbox_send(mb, &target, req);
  rc = NODUS_ENOCONN;
  for (;;) {
    nodus_term msg;
    int r = nodus_mailbox_recv(mb, &msg, timeout_ms);
    if (r) {
      rc = r == NODUS_ETIMEDOUT ? NODUS_ENOCONN : r;
      break;
    }
    const nodus_term *a = nodus_tuple_elem(&msg, 0);
    bool done = false;
    if (msg.n == 2 && a && nodus_equal(a, &tag)) {
      rc = nodus_is_atom(&msg.v.items[1], "yes") ? 0 : NODUS_ENOCONN;
      done = true;
    } else if (msg.n == 5 && a && nodus_is_atom(a, "DOWN") &&
               nodus_equal(&msg.v.items[1], &mref)) {
      done = true;
    }
    nodus_term_free(&msg);
    if (done) break;
  }
  if (rc == NODUS_ENOCONN && !nodus_node_call(node, auth_check_on_loop, &auth) &&
      auth.refused)
    rc = NODUS_EAUTH; /* it answered, but refused our cookie */
  nodus_term_free(&target);
  nodus_term_free(&mref);
  nodus_term_free(&tag);
  nodus_mailbox_close(mb);
  return rc;
}
