/* The runtime's own system process (the sender of messages made outside
 * processes, and the group leader of what this node spawns elsewhere) and
 * net_adm:ping from C. The processes BEAM's services talk to (net_kernel,
 * rex, pg scopes, ...) are node services (nodus/service.h); traffic for
 * a name nobody registered is dropped with one log line. */
#include <stdlib.h>
#include <string.h>

#include "runtime/node_internal.h"

bool rt_log_once(nodus_node *node, unsigned kind) {
  if (node->logged_unknown & kind) return false;
  node->logged_unknown |= kind;
  return true;
}

/* ---- the group leader of what this node spawns elsewhere ------------------ */

struct text {
  char buf[1024];
  size_t len;
  bool cut;
};

static void text_put(struct text *t, const void *data, size_t n) {
  size_t room = sizeof t->buf - 1 - t->len;
  if (n > room) {
    n = room;
    t->cut = true;
  }
  memcpy(t->buf + t->len, data, n);
  t->len += n;
}

/* Chardata (code points, binaries, nested lists) as UTF-8. */
static bool text_add(struct text *t, const nodus_term *c, int depth) {
  if (depth > 32) return false;
  switch (c->type) {
    case NODUS_T_BINARY: {
      size_t n, bits;
      const uint8_t *d = nodus_bin_data(c, &n, &bits);
      if (!d || bits != 8 * n) return false;
      text_put(t, d, n);
      return true;
    }
    case NODUS_T_INT: {
      int64_t cp = c->v.i;
      char u[4];
      size_t n;
      if (cp < 0 || cp > 0x10FFFF) return false;
      if (cp < 0x80) u[0] = (char)cp, n = 1;
      else if (cp < 0x800)
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
      else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
      else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)),
        n = 4;
      text_put(t, u, n);
      return true;
    }
    case NODUS_T_NIL: return true;
    case NODUS_T_LIST:
      for (size_t i = 0; i <= c->n; i++)
        if (!text_add(t, &c->v.items[i], depth + 1)) return false;
      return true;
    default: return false;
  }
}

static void log_output(nodus_proc *self, const nodus_term *from,
                       const nodus_term *what, bool chars) {
  struct text t = {.len = 0};
  char *from_text = NULL, *printed = NULL;
  nodus_print(from, NULL, &from_text, NULL);
  if (chars && text_add(&t, what, 0)) {
    while (t.len && t.buf[t.len - 1] == '\n') t.len--;
  } else {
    nodus_print(what, NULL, &printed, NULL);
    t.len = 0;
    if (printed) text_put(&t, printed, strlen(printed));
  }
  t.buf[t.len] = 0;
  rt_log(self->node, NODUS_LOG_INFO, "io", "%s: %s%s",
         from_text ? from_text : "?", t.buf, t.cut ? "..." : "");
  free(from_text);
  free(printed);
}

/* One request of the io protocol: output is logged and answered ok (so
 * io:format in a process we spawned returns); there is no input. */
static nodus_term io_answer(nodus_proc *self, const nodus_term *from,
                            const nodus_term *req, int depth) {
  const nodus_term *a, *b, *c, *d;
  if (nodus_match(req, "{put_chars, ~t, ~t}", &a, &b) == 0) {
    log_output(self, from, b, true);
    return rt_atom("ok");
  }
  if (nodus_match(req, "{put_chars, ~t}", &a) == 0) {
    log_output(self, from, a, true);
    return rt_atom("ok");
  }
  if (nodus_match(req, "{put_chars, _, ~t, ~t, ~t}", &a, &b, &c) == 0 ||
      nodus_match(req, "{put_chars, ~t, ~t, ~t}", &a, &b, &c) == 0) {
    /* {M, F, A}: formatted on our side in Erlang; show what it was */
    nodus_term mfa = rt_tuple(3, rt_copy(a), rt_copy(b), rt_copy(c));
    log_output(self, from, &mfa, false);
    nodus_term_free(&mfa);
    return rt_atom("ok");
  }
  if (nodus_match(req, "{requests, ~t}", &d) == 0 && nodus_is_proper_list(d) &&
      depth < 4) {
    nodus_term last = rt_atom("ok");
    for (size_t i = 0; d->type == NODUS_T_LIST && i < d->n; i++) {
      nodus_term_free(&last);
      last = io_answer(self, from, &d->v.items[i], depth + 1);
    }
    return last;
  }
  if (nodus_is_atom(req, "getopts"))
    return rt_tuple(2, rt_atom("ok"), nodus_nil());
  return rt_tuple(2, rt_atom("error"), rt_atom("enotsup"));
}

/* The system process: the sender of messages made outside processes, and
 * the group leader of processes this node spawns on others (spawn.c). */
static void sys_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *reply_as, *req;
  if (nodus_match(msg, "{io_request, ~t, ~t, ~t}", &from, &reply_as, &req) ||
      from->type != NODUS_T_PID)
    return;
  nodus_term answer = io_answer(self, from, req, 0);
  rt_send(self->node, self, from,
          rt_tuple(3, rt_atom("io_reply"), rt_copy(reply_as), answer));
}

int rt_sysprocs_start(nodus_node *node) {
  nodus_proc_spec sys = {.on_message = sys_msg};
  return rt_spawn(node, &sys, &node->sys);
}

/* ---- net_adm:ping from C ------------------------------------------------ */

struct auth_check {
  nodus_atom peer;
  bool refused;
};

/* Whether peer's last handshake failed on the cookie; forgets it. */
static void auth_check_on_loop(nodus_node *node, void *arg) {
  struct auth_check *a = arg;
  a->refused = dist_peers_take_auth_refused(node->peers, a->peer);
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
