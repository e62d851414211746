/* C gen_servers: a process whose messages are sorted the way
 * gen_server.erl sorts them, so Erlang and Elixir callers can't tell it
 * from theirs:
 *   {'$gen_call', {Pid, Tag}, Request}   handle_call; the reply goes out
 *       as gen:reply/2 does it (to the alias in an OTP 24+ tag, else to
 *       Pid);
 *   {'$gen_cast', Request}               handle_cast;
 *   anything else                        handle_info.
 * A callback that asks to stop ends the process with its reason after
 * terminate, so callers see it in their monitor's DOWN, as with BEAM. */
#include <stdlib.h>
#include <string.h>

#include "otp/otp_internal.h"

typedef struct gs_proc {
  nodus_gen_server_ops ops;
  void *state;
  bool terminated; /* terminate ran (or must not: init failed) */
} gs_proc;

int otp_gen_reply(nodus_node *node, const nodus_term *from, nodus_term reply) {
  const nodus_term *to = nodus_tuple_elem(from, 0);
  const nodus_term *tag = nodus_tuple_elem(from, 1);
  if (!to || !tag || from->n != 2) {
    nodus_term_free(&reply);
    return NODUS_EBADTYPE;
  }
  /* The alias in [alias | Ref] or [[alias | Ref] | _] (gen.erl reply/2). */
  const nodus_term *dest = to, *t = tag;
  if (t->type == NODUS_T_LIST && t->v.items[0].type == NODUS_T_LIST)
    t = &t->v.items[0];
  if (t->type == NODUS_T_LIST && t->n == 1 &&
      nodus_is_atom(&t->v.items[0], "alias") && t->v.items[1].type == NODUS_T_REF)
    dest = &t->v.items[1];
  return nodus_send(node, dest, rt_tuple(2, rt_copy(tag), reply));
}

int nodus_gen_reply(nodus_proc *self, const nodus_term *from,
                    nodus_term reply) {
  if (!self || !from) {
    nodus_term_free(&reply);
    return NODUS_EINVAL;
  }
  nodus_node *node = nodus_proc_node(self);
  const nodus_term *to = nodus_tuple_elem(from, 0);
  if (to && to->type == NODUS_T_PID && nodus_tuple_elem(from, 1) &&
      nodus_tuple_elem(from, 1)->type != NODUS_T_LIST) {
    /* An old-style tag: reply from self, so the peer sees the sender. */
    return nodus_send_from(self, to, rt_tuple(2, rt_copy(&from->v.items[1]),
                                              reply));
  }
  return otp_gen_reply(node, from, reply);
}

static nodus_term error_reason(int rc) {
  return rt_tuple(2, rt_atom("nodus_error"), rt_atom(nodus_err_name(rc)));
}

/* ---- return codes -------------------------------------------------------- */

typedef enum { CB_CALL, CB_CAST, CB_INFO } cb_kind;

static const char *const cb_names[] = {"handle_call", "handle_cast",
                                       "handle_info"};

static const char *code_name(int r) {
  switch (r) {
    case NODUS_GS_REPLY: return "NODUS_GS_REPLY";
    case NODUS_GS_NOREPLY: return "NODUS_GS_NOREPLY";
    case NODUS_GS_OK: return "NODUS_GS_OK";
    case NODUS_GS_STOP: return "NODUS_GS_STOP";
    default: return NULL;
  }
}

static bool code_valid(cb_kind kind, int r) {
  if (r == NODUS_GS_STOP) return true;
  if (kind == CB_CALL) return r == NODUS_GS_REPLY || r == NODUS_GS_NOREPLY;
  return r == NODUS_GS_OK;
}

/* {bad_return_value, {Callback, 'NODUS_GS_...' | Code}} */
static nodus_term bad_return(const char *callback, int r) {
  const char *name = code_name(r);
  return rt_tuple(2, rt_atom("bad_return_value"),
                  rt_tuple(2, rt_atom(callback),
                           name ? rt_atom(name) : nodus_int(r)));
}

/* ---- the crash report ---------------------------------------------------- */

static bool is_normal_exit(const nodus_term *r) {
  return nodus_is_atom(r, "normal") || nodus_is_atom(r, "shutdown") ||
         (r->type == NODUS_T_TUPLE && r->n == 2 &&
          nodus_is_atom(&r->v.items[0], "shutdown"));
}

/* t printed into buf (at most max bytes, "..." when cut). */
static const char *print_cut(nodus_node *node, const nodus_term *t, char *buf,
                             size_t max) {
  char *text = NULL;
  nodus_print_opts o = {.local_node = nodus_node_name(node)};
  if (!t || nodus_print(t, &o, &text, NULL)) {
    snprintf(buf, max, "?");
  } else if (strlen(text) >= max) {
    snprintf(buf, max, "%.*s...", (int)(max - 4), text);
  } else {
    snprintf(buf, max, "%s", text);
  }
  free(text);
  return buf;
}

/* As gen_server's error_info ("GenServer ... terminating"), on one line. */
static void crash_report(nodus_proc *self, const nodus_term *reason,
                         const nodus_term *last) {
  nodus_node *node = nodus_proc_node(self);
  char who[300], why[200], msg[150];
  if (self->reg_name != NODUS_ATOM_EMPTY)
    snprintf(who, sizeof who, "%s", nodus_atom_text(self->reg_name, NULL));
  else
    print_cut(node, nodus_self(self), who, sizeof who);
  nodus_log(node, NODUS_LOG_ERROR, "gen_server",
            "GenServer %s terminating; reason: %s; last message: %s; "
            "state: (C data, not shown)",
            who, print_cut(node, reason, why, sizeof why),
            last ? print_cut(node, last, msg, sizeof msg) : "none");
}

/* terminate, then exit with reason (taken); last is the message being
 * handled, for the crash report. */
static void gs_stop(nodus_proc *self, gs_proc *gs, nodus_term reason,
                    const nodus_term *last) {
  if (reason.type == NODUS_T_NONE) reason = rt_atom("normal");
  if (!gs->terminated) {
    gs->terminated = true;
    if (gs->ops.terminate) gs->ops.terminate(self, gs->state, &reason);
  }
  if (!is_normal_exit(&reason)) crash_report(self, &reason, last);
  nodus_exit(self, &reason);
  nodus_term_free(&reason);
}

/* What a callback's return asks for, besides replying. Takes *stop. */
static void gs_after(nodus_proc *self, gs_proc *gs, cb_kind kind, int r,
                     nodus_term *stop, const nodus_term *last) {
  if (r == NODUS_GS_STOP) {
    nodus_term reason = *stop;
    *stop = (nodus_term){0};
    gs_stop(self, gs, reason, last);
    return;
  }
  nodus_term_free(stop);
  if (r < 0) gs_stop(self, gs, error_reason(r), last);
  else if (!code_valid(kind, r))
    gs_stop(self, gs, bad_return(cb_names[kind], r), last);
}

static void gs_call(nodus_proc *self, gs_proc *gs, const nodus_term *msg) {
  const nodus_term *from = &msg->v.items[1], *request = &msg->v.items[2];
  nodus_term reply = {0}, stop = {0};
  if (!gs->ops.handle_call) {
    /* gen_server would crash on the missing callback; say why. */
    gs_stop(self, gs, rt_tuple(2, rt_atom("undef"), rt_atom("handle_call")),
            msg);
    return;
  }
  int r = gs->ops.handle_call(self, gs->state, request, from, &reply, &stop);
  if ((r == NODUS_GS_REPLY || r == NODUS_GS_STOP) &&
      reply.type != NODUS_T_NONE) {
    nodus_gen_reply(self, from, reply);
  } else if (r == NODUS_GS_REPLY) {
    nodus_gen_reply(self, from, rt_atom("ok"));
  } else {
    nodus_term_free(&reply);
  }
  gs_after(self, gs, CB_CALL, r, &stop, msg);
}

static void gs_msg(nodus_proc *self, const nodus_term *msg) {
  gs_proc *gs = nodus_proc_state(self);
  nodus_term stop = {0};
  int r;
  if (!gs || gs->terminated) return; /* stopped: nothing runs any more */
  if (msg->type == NODUS_T_TUPLE && msg->n == 3 &&
      nodus_is_atom(&msg->v.items[0], "$gen_call") &&
      msg->v.items[1].type == NODUS_T_TUPLE && msg->v.items[1].n == 2) {
    gs_call(self, gs, msg);
    return;
  }
  cb_kind kind;
  if (msg->type == NODUS_T_TUPLE && msg->n == 2 &&
      nodus_is_atom(&msg->v.items[0], "$gen_cast")) {
    if (!gs->ops.handle_cast) return;
    kind = CB_CAST;
    r = gs->ops.handle_cast(self, gs->state, &msg->v.items[1], &stop);
  } else {
    if (!gs->ops.handle_info) return; /* gen_server logs and drops it */
    kind = CB_INFO;
    r = gs->ops.handle_info(self, gs->state, msg, &stop);
  }
  gs_after(self, gs, kind, r, &stop, msg);
}

/* Whatever ended the process (a stop, an exit signal, the node closing),
 * terminate runs once, so C state is always released. */
static void gs_exit(nodus_proc *self, const nodus_term *reason) {
  gs_proc *gs = nodus_proc_state(self);
  if (!gs) return;
  if (!gs->terminated && gs->ops.terminate)
    gs->ops.terminate(self, gs->state, reason);
  free(gs);
  nodus_proc_set_state(self, NULL);
}

struct gs_start {
  nodus_proc *parent; /* start_link: the process to link to */
  const nodus_gen_server_ops *ops;
  const nodus_term *args;
  const char *name;
  nodus_term *pid;
  int rc;
};

static void start_on_loop(nodus_node *node, void *arg) {
  struct gs_start *s = arg;
  gs_proc *gs = calloc(1, sizeof *gs);
  if (!gs) {
    s->rc = NODUS_ENOMEM;
    return;
  }
  gs->ops = *s->ops;
  gs->terminated = true; /* until init succeeded */
  nodus_proc_spec spec = {.on_message = gs_msg,
                          .on_exit = gs_exit,
                          .state = gs,
                          .register_name = s->name};
  nodus_term pid;
  s->rc = s->parent ? nodus_spawn_from(s->parent, &spec, true, &pid)
                    : nodus_spawn(node, &spec, &pid);
  if (s->rc) {
    free(gs);
    return;
  }
  nodus_proc *self = nodus_proc_lookup(node, &pid);
  nodus_term empty = nodus_nil();
  int rc = 0;
  if (gs->ops.init) {
    /* init runs as the new process, before anything else reaches it. */
    self->running = true;
    rc = gs->ops.init(self, s->args ? s->args : &empty, &gs->state);
    self->running = false;
    if (rc > 0) {
      nodus_term why = bad_return("init", rc);
      crash_report(self, &why, NULL);
      nodus_term_free(&why);
      rc = NODUS_EINVAL; /* 0 or a negative code, as every call returns */
    }
  }
  if (rc || self->exiting) {
    /* {error, Reason} to the starter; the process ends without
     * terminate, as gen_server does when init fails. A linked starter
     * sees the exit signal, as with proc_lib. */
    nodus_term reason;
    if (self->exiting) {
      /* init called nodus_exit: finish that exit now it has returned. */
      reason = rt_copy(&self->exit_reason);
      self->exiting = false;
    } else {
      reason = error_reason(rc);
    }
    rt_proc_exit(self, &reason); /* gs_exit frees gs */
    nodus_term_free(&reason);
    nodus_term_free(&pid);
    s->rc = rc ? rc : NODUS_EEXIT;
    return;
  }
  gs->terminated = false;
  if (s->pid) *s->pid = pid;
  else nodus_term_free(&pid);
}

int nodus_gen_server_start(nodus_node *node, const nodus_gen_server_ops *ops,
                           const nodus_term *args, const char *name,
                           nodus_term *pid) {
  if (!node || !ops) return NODUS_EINVAL;
  struct gs_start s = {NULL, ops, args, name, pid, 0};
  int rc = nodus_node_call(node, start_on_loop, &s);
  return rc ? rc : s.rc;
}

int nodus_gen_server_start_link(nodus_proc *self,
                                const nodus_gen_server_ops *ops,
                                const nodus_term *args, const char *name,
                                nodus_term *pid) {
  if (!self || !ops) return NODUS_EINVAL;
  struct gs_start s = {self, ops, args, name, pid, 0};
  start_on_loop(nodus_proc_node(self), &s);
  return s.rc;
}

void *nodus_gen_server_state(nodus_proc *self) {
  gs_proc *gs = nodus_proc_state(self);
  return gs ? gs->state : NULL;
}

void nodus_gen_server_set_state(nodus_proc *self, void *state) {
  gs_proc *gs = nodus_proc_state(self);
  if (gs) gs->state = state;
}
