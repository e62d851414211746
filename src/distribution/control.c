/* Control messages: decoding with one shape check per op (BEAM's, from
 * erts_net_message in dist.c), the typed builders, and encoding. */
#include "distribution/control.h"

#include "term/term_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- ops --------------------------------------------------------------- */

int dist_ctl_has_payload(int op) {
  switch (op) {
    case CTL_SEND:
    case CTL_REG_SEND:
    case CTL_SEND_TT:
    case CTL_REG_SEND_TT:
    case CTL_SEND_SENDER:
    case CTL_SEND_SENDER_TT:
    case CTL_PAYLOAD_EXIT:
    case CTL_PAYLOAD_EXIT_TT:
    case CTL_PAYLOAD_EXIT2:
    case CTL_PAYLOAD_EXIT2_TT:
    case CTL_PAYLOAD_MONITOR_P_EXIT:
    case CTL_SPAWN_REQUEST:
    case CTL_SPAWN_REQUEST_TT:
    case CTL_ALIAS_SEND:
    case CTL_ALIAS_SEND_TT: return 1;
    default: return 0;
  }
}

/* The arity of each op's control tuple (as BEAM, exact), 0 for an
 * unknown op. */
static uint32_t op_arity(int op) {
  switch (op) {
    case CTL_LINK:
    case CTL_SEND:
    case CTL_UNLINK:
    case CTL_NODE_LINK:
    case CTL_GROUP_LEADER:
    case CTL_SEND_SENDER:
    case CTL_PAYLOAD_EXIT:
    case CTL_PAYLOAD_EXIT2:
    case CTL_ALIAS_SEND: return 3;
    case CTL_EXIT:
    case CTL_REG_SEND:
    case CTL_EXIT2:
    case CTL_SEND_TT:
    case CTL_MONITOR_P:
    case CTL_DEMONITOR_P:
    case CTL_SEND_SENDER_TT:
    case CTL_PAYLOAD_EXIT_TT:
    case CTL_PAYLOAD_EXIT2_TT:
    case CTL_PAYLOAD_MONITOR_P_EXIT:
    case CTL_ALIAS_SEND_TT:
    case CTL_UNLINK_ID:
    case CTL_UNLINK_ID_ACK: return 4;
    case CTL_EXIT_TT:
    case CTL_REG_SEND_TT:
    case CTL_EXIT2_TT:
    case CTL_MONITOR_P_EXIT:
    case CTL_SPAWN_REPLY: return 5;
    case CTL_SPAWN_REQUEST:
    case CTL_SPAWN_REPLY_TT: return 6;
    case CTL_SPAWN_REQUEST_TT: return 7;
    default: return 0;
  }
}

const char *dist_ctl_op_name(int op) {
  switch (op) {
#define OP(name) \
  case CTL_##name: return #name;
    OP(LINK) OP(SEND) OP(EXIT) OP(UNLINK) OP(NODE_LINK) OP(REG_SEND)
    OP(GROUP_LEADER) OP(EXIT2) OP(SEND_TT) OP(EXIT_TT) OP(REG_SEND_TT)
    OP(EXIT2_TT) OP(MONITOR_P) OP(DEMONITOR_P) OP(MONITOR_P_EXIT)
    OP(SEND_SENDER) OP(SEND_SENDER_TT) OP(PAYLOAD_EXIT) OP(PAYLOAD_EXIT_TT)
    OP(PAYLOAD_EXIT2) OP(PAYLOAD_EXIT2_TT) OP(PAYLOAD_MONITOR_P_EXIT)
    OP(SPAWN_REQUEST) OP(SPAWN_REQUEST_TT) OP(SPAWN_REPLY)
    OP(SPAWN_REPLY_TT) OP(ALIAS_SEND) OP(ALIAS_SEND_TT) OP(UNLINK_ID)
    OP(UNLINK_ID_ACK)
#undef OP
    default: return "unknown";
  }
}

/* ---- shapes ------------------------------------------------------------ */

static bool is_pid(const nodus_term *t) { return t->type == NODUS_T_PID; }
static bool is_ref(const nodus_term *t) { return t->type == NODUS_T_REF; }
static bool is_atom(const nodus_term *t) { return t->type == NODUS_T_ATOM; }

/* A non-negative integer of at most 64 bits. */
static bool get_u64(const nodus_term *t, uint64_t *v) {
  if (t->type == NODUS_T_INT) {
    if (t->v.i < 0) return false;
    *v = (uint64_t)t->v.i;
    return true;
  }
  if (t->type != NODUS_T_BIGINT || t->v.big->negative || t->v.big->len > 8)
    return false;
  uint64_t x = 0;
  for (uint32_t i = t->v.big->len; i-- > 0;) x = x << 8 | t->v.big->mag[i];
  *v = x;
  return true;
}

#define REJECT(text)      \
  do {                    \
    m->why = (text);      \
    return NODUS_EPROTO;  \
  } while (0)

/* The sends: fields, and the checks BEAM makes (SEND's first slot and
 * ALIAS_SEND's sender are not checked there either). */
static int parse_send(dist_ctl_msg *m, const nodus_term *e) {
  struct dist_ctl_send *s = &m->send;
  switch (m->op) {
    case CTL_SEND:
    case CTL_SEND_TT:
    case CTL_SEND_SENDER:
    case CTL_SEND_SENDER_TT:
      s->from = m->op == CTL_SEND || m->op == CTL_SEND_TT ? NULL : &e[1];
      s->to = &e[2];
      s->token = m->op == CTL_SEND_TT || m->op == CTL_SEND_SENDER_TT ? &e[3]
                                                                      : NULL;
      if (!is_pid(s->to)) REJECT("To is not a pid");
      return 0;
    case CTL_REG_SEND:
    case CTL_REG_SEND_TT:
      s->from = &e[1];
      s->to = &e[3];
      s->token = m->op == CTL_REG_SEND_TT ? &e[4] : NULL;
      if (!is_pid(s->from)) REJECT("From is not a pid");
      if (!is_atom(s->to)) REJECT("ToName is not an atom");
      return 0;
    default: /* ALIAS_SEND, ALIAS_SEND_TT */
      s->from = &e[1];
      s->to = &e[2];
      s->token = m->op == CTL_ALIAS_SEND_TT ? &e[3] : NULL;
      if (!is_ref(s->to)) REJECT("Alias is not a reference");
      return 0;
  }
}

static int parse_exit(dist_ctl_msg *m, const nodus_term *e) {
  struct dist_ctl_exit *x = &m->exit;
  int op = m->op;
  x->link = op == CTL_EXIT || op == CTL_EXIT_TT || op == CTL_PAYLOAD_EXIT ||
            op == CTL_PAYLOAD_EXIT_TT;
  x->payload = op == CTL_PAYLOAD_EXIT || op == CTL_PAYLOAD_EXIT_TT ||
               op == CTL_PAYLOAD_EXIT2 || op == CTL_PAYLOAD_EXIT2_TT;
  bool tt = op == CTL_EXIT_TT || op == CTL_EXIT2_TT ||
            op == CTL_PAYLOAD_EXIT_TT || op == CTL_PAYLOAD_EXIT2_TT;
  x->from = &e[1];
  x->to = &e[2];
  x->token = tt ? &e[3] : NULL;
  x->reason = x->payload ? &m->payload : &e[tt ? 4 : 3];
  if (!is_pid(x->from)) REJECT("From is not a pid");
  if (!is_pid(x->to)) REJECT("To is not a pid");
  return 0;
}

static int parse_spawn_request(dist_ctl_msg *m, const nodus_term *e) {
  struct dist_ctl_spawn_request *r = &m->spawn_request;
  r->req_id = &e[1];
  r->from = &e[2];
  r->group_leader = &e[3];
  r->opts = &e[5];
  r->args = &m->payload;
  r->token = m->op == CTL_SPAWN_REQUEST_TT ? &e[6] : NULL;
  const nodus_term *mfa = &e[4];
  if (!is_ref(r->req_id)) REJECT("ReqId is not a reference");
  if (!is_pid(r->from)) REJECT("From is not a pid");
  if (!is_pid(r->group_leader)) REJECT("GroupLeader is not a pid");
  if (mfa->type != NODUS_T_TUPLE || mfa->n != 3 ||
      !is_atom(&mfa->v.items[0]) || !is_atom(&mfa->v.items[1]) ||
      mfa->v.items[2].type != NODUS_T_INT || mfa->v.items[2].v.i < 0 ||
      mfa->v.items[2].v.i > UINT32_MAX)
    REJECT("not {Module, Function, Arity}");
  if (!nodus_is_proper_list(r->opts)) REJECT("Opts is not a proper list");
  r->module = mfa->v.items[0].v.atom;
  r->function = mfa->v.items[1].v.atom;
  r->arity = (uint32_t)mfa->v.items[2].v.i;
  return 0;
}

static int parse_spawn_reply(dist_ctl_msg *m, const nodus_term *e) {
  struct dist_ctl_spawn_reply *r = &m->spawn_reply;
  r->req_id = &e[1];
  r->to = &e[2];
  r->result = &e[4];
  r->token = m->op == CTL_SPAWN_REPLY_TT ? &e[5] : NULL;
  if (!is_ref(r->req_id)) REJECT("ReqId is not a reference");
  if (!is_pid(r->to)) REJECT("To is not a pid");
  if (e[3].type != NODUS_T_INT || e[3].v.i < 0 || e[3].v.i >= 1 << 27)
    REJECT("Flags is not a small non-negative integer");
  if (!is_pid(r->result) && !is_atom(r->result))
    REJECT("Result is neither a pid nor an atom");
  r->flags = (unsigned)e[3].v.i;
  return 0;
}

int dist_ctl_parse(dist_ctl_msg *m) {
  const nodus_term *c = &m->control;
  m->why = NULL;
  if (c->type != NODUS_T_TUPLE || c->n < 1 ||
      c->v.items[0].type != NODUS_T_INT) {
    m->op = 0;
    REJECT("not a tuple with an integer op first");
  }
  int64_t op = c->v.items[0].v.i;
  m->op = op >= INT32_MIN && op <= INT32_MAX ? (int)op : -1;
  uint32_t arity = op_arity(m->op);
  if (!arity) {
    m->why = "unknown op";
    return NODUS_EUNSUPPORTED;
  }
  if (c->n != arity) REJECT("wrong arity for its op");
  const nodus_term *e = c->v.items;
  switch (m->op) {
    case CTL_SEND:
    case CTL_SEND_TT:
    case CTL_SEND_SENDER:
    case CTL_SEND_SENDER_TT:
    case CTL_REG_SEND:
    case CTL_REG_SEND_TT:
    case CTL_ALIAS_SEND:
    case CTL_ALIAS_SEND_TT: return parse_send(m, e);
    case CTL_LINK:
    case CTL_UNLINK:
      m->link.from = &e[1];
      m->link.to = &e[2];
      if (!is_pid(m->link.from)) REJECT("From is not a pid");
      if (!is_pid(m->link.to)) REJECT("To is not a pid");
      return 0;
    case CTL_UNLINK_ID:
    case CTL_UNLINK_ID_ACK:
      m->unlink_id.from = &e[2];
      m->unlink_id.to = &e[3];
      if (!get_u64(&e[1], &m->unlink_id.id))
        REJECT("Id is not a 64-bit unsigned integer");
      if (m->op == CTL_UNLINK_ID && m->unlink_id.id == 0) REJECT("Id is 0");
      if (!is_pid(m->unlink_id.from)) REJECT("From is not a pid");
      if (!is_pid(m->unlink_id.to)) REJECT("To is not a pid");
      return 0;
    case CTL_EXIT:
    case CTL_EXIT_TT:
    case CTL_EXIT2:
    case CTL_EXIT2_TT:
    case CTL_PAYLOAD_EXIT:
    case CTL_PAYLOAD_EXIT_TT:
    case CTL_PAYLOAD_EXIT2:
    case CTL_PAYLOAD_EXIT2_TT: return parse_exit(m, e);
    case CTL_MONITOR_P:
    case CTL_DEMONITOR_P:
      m->monitor.from = &e[1];
      m->monitor.to = &e[2];
      m->monitor.ref = &e[3];
      if (!is_pid(m->monitor.from)) REJECT("From is not a pid");
      if (!is_pid(m->monitor.to) && !is_atom(m->monitor.to))
        REJECT("To is neither a pid nor a name");
      if (!is_ref(m->monitor.ref)) REJECT("Ref is not a reference");
      return 0;
    case CTL_MONITOR_P_EXIT:
    case CTL_PAYLOAD_MONITOR_P_EXIT: {
      struct dist_ctl_monitor_exit *x = &m->monitor_exit;
      x->payload = m->op == CTL_PAYLOAD_MONITOR_P_EXIT;
      x->from = &e[1];
      x->to = &e[2];
      x->ref = &e[3];
      x->reason = x->payload ? &m->payload : &e[4];
      if (!is_pid(x->from) && !is_atom(x->from))
        REJECT("From is neither a pid nor a name");
      if (!is_pid(x->to)) REJECT("To is not a pid");
      if (!is_ref(x->ref)) REJECT("Ref is not a reference");
      return 0;
    }
    case CTL_SPAWN_REQUEST:
    case CTL_SPAWN_REQUEST_TT: return parse_spawn_request(m, e);
    case CTL_SPAWN_REPLY:
    case CTL_SPAWN_REPLY_TT: return parse_spawn_reply(m, e);
    case CTL_GROUP_LEADER:
      m->group_leader.leader = &e[1];
      m->group_leader.member = &e[2];
      if (!is_pid(m->group_leader.leader)) REJECT("Leader is not a pid");
      if (!is_pid(m->group_leader.member)) REJECT("Member is not a pid");
      return 0;
    default: return 0; /* NODE_LINK: obsolete, no fields */
  }
}

#undef REJECT

/* ---- decoding ---------------------------------------------------------- */

int dist_ctl_decode_payload(const uint8_t *buf, size_t len, bool versioned,
                            const nodus_decode_opts *opts, nodus_term *out,
                            size_t *used) {
  return versioned ? nodus_etf_decode(buf, len, opts, out, used)
                   : term_etf_decode_body(buf, len, opts, out, used);
}

static int decode_parts(bool versioned, const uint8_t *buf, size_t len,
                        const nodus_decode_opts *opts, dist_ctl_msg *msg) {
  memset(msg, 0, sizeof *msg);
  size_t used = 0;
  int rc = dist_ctl_decode_payload(buf, len, versioned, opts, &msg->control,
                                   &used);
  if (rc) {
    msg->why = "the control term does not decode";
    return rc;
  }
  /* The shape first: a bad one needs no payload decoded. */
  if ((rc = dist_ctl_parse(msg))) return rc;
  if (dist_ctl_has_payload(msg->op)) {
    size_t used2 = 0;
    rc = dist_ctl_decode_payload(buf + used, len - used, versioned, opts,
                                 &msg->payload, &used2);
    if (rc) {
      msg->why = "the payload does not decode";
      return rc;
    }
    used += used2;
  }
  if (used != len) {
    msg->why = "bytes after the message";
    return NODUS_EBADETF;
  }
  return 0;
}

int dist_ctl_decode(const uint8_t *buf, size_t len,
                    const nodus_decode_opts *opts, dist_ctl_msg *msg) {
  return decode_parts(true, buf, len, opts, msg);
}

/* After a distribution header the terms carry no version byte. */
int dist_ctl_decode_unversioned(const uint8_t *buf, size_t len,
                                const nodus_decode_opts *opts,
                                dist_ctl_msg *msg) {
  return decode_parts(false, buf, len, opts, msg);
}

void dist_ctl_free(dist_ctl_msg *msg) {
  nodus_term_free(&msg->control);
  nodus_term_free(&msg->payload);
}

int dist_ctl_encode(const nodus_term *control, const nodus_term *payload,
                    uint8_t **out, size_t *len) {
  size_t a, b = 0;
  int rc = nodus_etf_size(control, NULL, &a);
  if (!rc && payload && payload->type != NODUS_T_NONE)
    rc = nodus_etf_size(payload, NULL, &b);
  if (rc) return rc;
  uint8_t *buf = malloc(a + b);
  if (!buf) return NODUS_ENOMEM;
  nodus_etf_encode_into(control, NULL, buf);
  if (b) nodus_etf_encode_into(payload, NULL, buf + a);
  *out = buf;
  *len = a + b;
  return 0;
}

/* ---- builders ---------------------------------------------------------- */

/* {op, *elems[0], ..., *elems[n-2]}, each element copied. */
static int build(nodus_term *out, int op, size_t n,
                 const nodus_term *const *elems) {
  nodus_term t = {0};
  int rc = nodus_mk_tuple(&t, n + 1);
  if (!rc) t.v.items[0] = nodus_int(op);
  for (size_t i = 0; !rc && i < n; i++)
    rc = nodus_copy(&t.v.items[i + 1], elems[i]);
  if (rc) {
    nodus_term_free(&t);
    *out = (nodus_term){0};
    return rc;
  }
  *out = t;
  return 0;
}

#define BUILD(out, op, ...)                                               \
  build(out, op, sizeof((const nodus_term *[]){__VA_ARGS__}) /            \
                     sizeof(const nodus_term *),                          \
        (const nodus_term *[]){__VA_ARGS__})

/* The PAYLOAD_ forms: the control tuple and the reason as the payload. */
static int build_with_payload(nodus_term *out, nodus_term *payload, int rc,
                              const nodus_term *reason) {
  *payload = (nodus_term){0};
  if (!rc && (rc = nodus_copy(payload, reason))) nodus_term_free(out);
  return rc;
}

int dist_ctl_send(nodus_term *out, uint64_t flags, const nodus_term *from,
                  const nodus_term *to) {
  if (from && (flags & DFLAG_SEND_SENDER))
    return BUILD(out, CTL_SEND_SENDER, from, to);
  const nodus_term cookie = nodus_atom_term(NODUS_ATOM_EMPTY);
  return BUILD(out, CTL_SEND, &cookie, to);
}

int dist_ctl_reg_send(nodus_term *out, const nodus_term *from,
                      nodus_atom name) {
  const nodus_term cookie = nodus_atom_term(NODUS_ATOM_EMPTY);
  const nodus_term to = nodus_atom_term(name);
  return BUILD(out, CTL_REG_SEND, from, &cookie, &to);
}

int dist_ctl_alias_send(nodus_term *out, const nodus_term *from,
                        const nodus_term *alias) {
  return BUILD(out, CTL_ALIAS_SEND, from, alias);
}

int dist_ctl_link(nodus_term *out, const nodus_term *from,
                  const nodus_term *to) {
  return BUILD(out, CTL_LINK, from, to);
}

static int build_unlink(nodus_term *out, int op, uint64_t id,
                        const nodus_term *from, const nodus_term *to) {
  nodus_term idt;
  int rc = nodus_mk_uint64(&idt, id);
  if (rc) {
    *out = (nodus_term){0};
    return rc;
  }
  rc = BUILD(out, op, &idt, from, to);
  nodus_term_free(&idt);
  return rc;
}

int dist_ctl_unlink_id(nodus_term *out, uint64_t id, const nodus_term *from,
                       const nodus_term *to) {
  return build_unlink(out, CTL_UNLINK_ID, id, from, to);
}

int dist_ctl_unlink_id_ack(nodus_term *out, uint64_t id,
                           const nodus_term *from, const nodus_term *to) {
  return build_unlink(out, CTL_UNLINK_ID_ACK, id, from, to);
}

int dist_ctl_exit(nodus_term *out, nodus_term *payload, uint64_t flags,
                  bool link, const nodus_term *from, const nodus_term *to,
                  const nodus_term *reason) {
  if (flags & DFLAG_EXIT_PAYLOAD)
    return build_with_payload(
        out, payload,
        BUILD(out, link ? CTL_PAYLOAD_EXIT : CTL_PAYLOAD_EXIT2, from, to),
        reason);
  *payload = (nodus_term){0};
  return BUILD(out, link ? CTL_EXIT : CTL_EXIT2, from, to, reason);
}

int dist_ctl_monitor(nodus_term *out, const nodus_term *from,
                     const nodus_term *to, const nodus_term *ref) {
  return BUILD(out, CTL_MONITOR_P, from, to, ref);
}

int dist_ctl_demonitor(nodus_term *out, const nodus_term *from,
                       const nodus_term *to, const nodus_term *ref) {
  return BUILD(out, CTL_DEMONITOR_P, from, to, ref);
}

int dist_ctl_monitor_exit(nodus_term *out, nodus_term *payload,
                          uint64_t flags, const nodus_term *from,
                          const nodus_term *to, const nodus_term *ref,
                          const nodus_term *reason) {
  if (flags & DFLAG_EXIT_PAYLOAD)
    return build_with_payload(
        out, payload, BUILD(out, CTL_PAYLOAD_MONITOR_P_EXIT, from, to, ref),
        reason);
  *payload = (nodus_term){0};
  return BUILD(out, CTL_MONITOR_P_EXIT, from, to, ref, reason);
}

int dist_ctl_spawn_request(nodus_term *out, const nodus_term *req_id,
                           const nodus_term *from, const nodus_term *group_leader,
                           nodus_atom module, nodus_atom function,
                           uint32_t arity, const nodus_term *opts) {
  nodus_term mfa;
  int rc = nodus_mk_tuple(&mfa, 3);
  if (rc) {
    *out = (nodus_term){0};
    return rc;
  }
  mfa.v.items[0] = nodus_atom_term(module);
  mfa.v.items[1] = nodus_atom_term(function);
  mfa.v.items[2] = nodus_int(arity);
  rc = BUILD(out, CTL_SPAWN_REQUEST, req_id, from, group_leader, &mfa, opts);
  nodus_term_free(&mfa);
  return rc;
}

int dist_ctl_spawn_reply(nodus_term *out, const nodus_term *req_id,
                         const nodus_term *to, unsigned flags,
                         const nodus_term *result) {
  const nodus_term f = nodus_int(flags);
  return BUILD(out, CTL_SPAWN_REPLY, req_id, to, &f, result);
}
