/* The control messages of message streams, kept encoded per peer.
 *
 * A process that sends to a remote pid sends the same control tuple,
 * {SEND_SENDER, From, To}, with every message, and a receiver gets the
 * same bytes again and again. Building, encoding, decoding and freeing
 * those pids was most of the per-message cost of a stream, so each peer
 * remembers the last one each way: sending encodes only the payload and
 * copies the control bytes; receiving compares the control bytes with the
 * last ones (ETF is prefix-free: equal bytes are the same term) and
 * decodes only the payload. Anything else takes the general path. */
#include <stdlib.h>
#include <string.h>

#include "dist/control.h"
#include "runtime/node_internal.h"

#define SMALL_PAYLOAD 512 /* decoded from a stack copy below this size */

void rt_ctlcache_free(rt_peer *p) {
  nodus_term_free(&p->tx_control);
  free(p->tx_bytes);
  p->tx_bytes = NULL;
  p->tx_len = 0;
  nodus_term_free(&p->rx_control);
  p->rx_len = 0;
}

/* ---- sending ------------------------------------------------------------ */

/* =:= for two pids, without the general comparison's term walk. */
static bool same_pid(const nodus_term *a, const nodus_term *b) {
  const nodus_ident *x = a->v.id, *y = b->v.id;
  return a->type == NODUS_T_PID && b->type == NODUS_T_PID &&
         (x == y || (x->node == y->node && x->creation == y->creation &&
                     x->w[0] == y->w[0] && x->w[1] == y->w[1]));
}

static bool tx_matches(const rt_peer *p, const nodus_term *from,
                       const nodus_term *to) {
  return p->tx_bytes && same_pid(&p->tx_control.v.items[1], from) &&
         same_pid(&p->tx_control.v.items[2], to);
}

static int tx_learn(rt_peer *p, const nodus_term *from, const nodus_term *to) {
  nodus_term ctl = rt_tuple(3, nodus_int(CTL_SEND_SENDER), rt_copy(from),
                            rt_copy(to));
  size_t len;
  uint8_t *bytes = NULL;
  int rc = ctl.type == NODUS_T_NONE ? NODUS_ENOMEM
                                    : nodus_etf_size(&ctl, NULL, &len);
  if (!rc && !(bytes = malloc(len))) rc = NODUS_ENOMEM;
  if (rc) {
    nodus_term_free(&ctl);
    return rc;
  }
  nodus_etf_encode_into(&ctl, NULL, bytes);
  nodus_term_free(&p->tx_control);
  free(p->tx_bytes);
  p->tx_control = ctl;
  p->tx_bytes = bytes;
  p->tx_len = len;
  return 0;
}

int rt_ctlcache_send(rt_peer *p, const nodus_term *from, const nodus_term *to,
                     nodus_term *msg) {
  if (!p->up || !p->conn || !(dist_conn_flags(p->conn) & DFLAG_SEND_SENDER))
    return 0;
  if (!tx_matches(p, from, to) && tx_learn(p, from, to)) return 0;
  size_t b;
  if (nodus_etf_size(msg, NULL, &b) ||
      !dist_conn_fits_one_frame(p->conn, p->tx_len + b))
    return 0;
  uint8_t *ctl_at, *payload_at;
  int rc = dist_conn_reserve(p->conn, p->tx_len, b, &ctl_at, &payload_at);
  if (rc) {
    nodus_term_free(msg);
    return rc;
  }
  nodus_etf_encode_into(msg, NULL, payload_at); /* payload first: see */
  memcpy(ctl_at, p->tx_bytes, p->tx_len);       /* dist_conn_reserve  */
  dist_conn_commit(p->conn);
  nodus_term_free(msg);
  return 1;
}

/* ---- receiving ---------------------------------------------------------- */

void rt_ctlcache_learn(rt_peer *p, const dist_ctl_msg *msg,
                       const uint8_t *data, size_t len, bool versioned) {
  if (msg->op != CTL_SEND && msg->op != CTL_SEND_SENDER &&
      msg->op != CTL_REG_SEND)
    return;
  /* Only when one of our encodings of the control is the peer's, byte for
   * byte: nodus writes latin-1 atoms as ATOM_EXT, BEAM's distribution as
   * SMALL_ATOM_UTF8_EXT (minor version 2). */
  static const nodus_encode_opts forms[] = {{.minor_version = 1},
                                            {.minor_version = 2}};
  uint8_t enc[sizeof p->rx_bytes + 1];
  const uint8_t *want = NULL;
  size_t want_len = 0;
  for (size_t i = 0; i < sizeof forms / sizeof forms[0] && !want; i++) {
    size_t n;
    if (nodus_etf_size(&msg->control, &forms[i], &n) || n > sizeof enc)
      continue;
    nodus_etf_encode_into(&msg->control, &forms[i], enc);
    want = versioned ? enc : enc + 1; /* without 131 */
    want_len = versioned ? n : n - 1;
    if (len <= want_len || memcmp(data, want, want_len)) want = NULL;
  }
  if (!want) return;
  nodus_term ctl;
  if (nodus_copy(&ctl, &msg->control)) return;
  nodus_term_free(&p->rx_control);
  p->rx_control = ctl;
  p->rx_op = msg->op;
  p->rx_versioned = versioned;
  memcpy(p->rx_bytes, want, want_len);
  p->rx_len = want_len;
}

bool rt_ctlcache_receive(nodus_node *node, rt_peer *p, const uint8_t *data,
                         size_t len, bool versioned) {
  if (!p->rx_len || versioned != p->rx_versioned || len <= p->rx_len ||
      memcmp(data, p->rx_bytes, p->rx_len))
    return false;
  const uint8_t *pay = data + p->rx_len;
  size_t pay_len = len - p->rx_len, used = 0;
  dist_ctl_msg m = {.op = p->rx_op, .control = p->rx_control};
  int rc;
  if (versioned) {
    rc = nodus_etf_decode(pay, pay_len, NULL, &m.payload, &used);
  } else { /* after a distribution header the payload has no 131 */
    uint8_t small[SMALL_PAYLOAD + 1];
    uint8_t *buf = pay_len < sizeof small ? small : malloc(pay_len + 1);
    if (!buf) return false;
    buf[0] = NODUS_ETF_VERSION;
    memcpy(buf + 1, pay, pay_len);
    rc = nodus_etf_decode(buf, pay_len + 1, NULL, &m.payload, &used);
    if (!rc) used--; /* the 131 we added */
    if (buf != small) free(buf);
  }
  if (rc || used != pay_len) { /* let the general path report it */
    nodus_term_free(&m.payload);
    return false;
  }
  rt_dispatch(node, p, &m); /* borrows the control, may take the payload */
  nodus_term_free(&m.payload);
  return true;
}
