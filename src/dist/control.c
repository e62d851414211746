/* Control messages: decode and shape checks, encode. */
#include "dist/control.h"

#include "term/term_internal.h"

#include <stdlib.h>
#include <string.h>

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

/* Minimum arity of each op's control tuple (the _TT forms add a token). */
static int min_arity(int op) {
  switch (op) {
    case CTL_LINK:
    case CTL_UNLINK:
    case CTL_NODE_LINK:
    case CTL_GROUP_LEADER:
    case CTL_SEND:
    case CTL_SEND_SENDER:
    case CTL_PAYLOAD_EXIT:
    case CTL_PAYLOAD_EXIT2:
    case CTL_ALIAS_SEND: return 3;
    case CTL_EXIT:
    case CTL_EXIT2:
    case CTL_REG_SEND:
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
    default: return -1;
  }
}

typedef int (*term_decoder)(const uint8_t *buf, size_t len,
                            const nodus_decode_opts *opts, nodus_term *out,
                            size_t *used);

static int decode_parts(term_decoder decode, const uint8_t *buf, size_t len,
                        const nodus_decode_opts *opts, dist_ctl_msg *msg) {
  msg->op = 0;
  msg->control = (nodus_term){0};
  msg->payload = (nodus_term){0};
  size_t used = 0;
  int rc = decode(buf, len, opts, &msg->control, &used);
  if (rc) return rc;
  const nodus_term *c = &msg->control;
  if (c->type != NODUS_T_TUPLE || c->n < 1 ||
      c->v.items[0].type != NODUS_T_INT) {
    dist_ctl_free(msg);
    return NODUS_EBADETF;
  }
  msg->op = (int)c->v.items[0].v.i;
  int arity = min_arity(msg->op);
  if (arity < 0) return NODUS_EUNSUPPORTED;
  if (c->n < (uint32_t)arity) {
    dist_ctl_free(msg);
    return NODUS_EBADETF;
  }
  if (dist_ctl_has_payload(msg->op)) {
    size_t used2 = 0;
    rc = decode(buf + used, len - used, opts, &msg->payload, &used2);
    if (rc) {
      dist_ctl_free(msg);
      return rc;
    }
    used += used2;
  }
  if (used != len) {
    dist_ctl_free(msg);
    return NODUS_EBADETF;
  }
  return 0;
}

int dist_ctl_decode(const uint8_t *buf, size_t len,
                    const nodus_decode_opts *opts, dist_ctl_msg *msg) {
  return decode_parts(nodus_etf_decode, buf, len, opts, msg);
}

/* After a distribution header the terms carry no version byte. */
int dist_ctl_decode_unversioned(const uint8_t *buf, size_t len,
                                const nodus_decode_opts *opts,
                                dist_ctl_msg *msg) {
  return decode_parts(term_etf_decode_body, buf, len, opts, msg);
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

/* ---- builders ------------------------------------------------------------ */

/* A tuple of n elements, each copied from elems[i] (NULL: the integer in
 * ints[i]). */
static int build_tuple(nodus_term *out, size_t n, const nodus_term *const *elems,
                       const int64_t *ints) {
  nodus_term t = {0};
  int rc = nodus_mk_tuple(&t, n);
  for (size_t i = 0; !rc && i < n; i++) {
    if (elems[i]) rc = nodus_copy(&t.v.items[i], elems[i]);
    else t.v.items[i] = nodus_int(ints[i]);
  }
  if (rc) {
    nodus_term_free(&t);
    return rc;
  }
  *out = t;
  return 0;
}

int dist_ctl_spawn_request(nodus_term *out, const nodus_term *req_id,
                           const nodus_term *from, const nodus_term *group_leader,
                           nodus_atom module, nodus_atom function,
                           uint32_t arity, const nodus_term *opts) {
  nodus_term mfa;
  const nodus_term m = nodus_atom_term(module), f = nodus_atom_term(function);
  const nodus_term *mfa_elems[3] = {&m, &f, NULL};
  const int64_t mfa_ints[3] = {0, 0, arity};
  int rc = build_tuple(&mfa, 3, mfa_elems, mfa_ints);
  if (rc) return rc;
  const nodus_term *elems[6] = {NULL, req_id, from, group_leader, &mfa, opts};
  const int64_t ints[6] = {CTL_SPAWN_REQUEST};
  rc = build_tuple(out, 6, elems, ints);
  nodus_term_free(&mfa);
  return rc;
}

int dist_ctl_spawn_reply(nodus_term *out, const nodus_term *req_id,
                         const nodus_term *to, unsigned flags,
                         const nodus_term *result) {
  const nodus_term *elems[5] = {NULL, req_id, to, NULL, result};
  const int64_t ints[5] = {CTL_SPAWN_REPLY, 0, 0, (int64_t)flags};
  return build_tuple(out, 5, elems, ints);
}
