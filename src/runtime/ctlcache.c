/* The control messages of message streams, kept encoded per peer.
 *
 * A process that sends to a remote pid sends the same control tuple,
 * {SEND_SENDER, From, To}, with every message, and a receiver gets the
 * same bytes again and again. Building, encoding, decoding and freeing
 * those pids was most of the per-message cost of a stream, so each peer
 * remembers the last one each way: sending encodes only the payload and
 * copies the control bytes; receiving compares the control bytes with the
 * last ones (ETF is prefix-free: equal bytes are the same term) and
 * decodes only the payload, straight from the frame. Anything else takes
 * the general path. */
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "runtime/node_internal.h"

void rt_ctlcache_free(rt_peer *p) {
  dist_ctl_free(&p->tx_msg);
  p->tx_msg = (dist_ctl_msg){0};
  free(p->tx_bytes);
  p->tx_bytes = NULL;
  p->tx_len = 0;
  dist_ctl_free(&p->rx_msg);
  p->rx_msg = (dist_ctl_msg){0};
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
  return p->tx_bytes && same_pid(p->tx_msg.send.from, from) &&
         same_pid(p->tx_msg.send.to, to);
}

static int tx_learn(rt_peer *p, const nodus_term *from, const nodus_term *to) {
  dist_ctl_msg m = {0};
  size_t len;
  uint8_t *bytes = NULL;
  int rc = dist_ctl_send(&m.control, DFLAG_SEND_SENDER, from, to);
  if (rc) return rc;
  if (!(rc = dist_ctl_parse(&m)) &&
      !(rc = nodus_etf_size(&m.control, NULL, &len)) && !(bytes = malloc(len)))
    rc = NODUS_ENOMEM;
  if (rc) {
    dist_ctl_free(&m);
    return rc;
  }
  assert(m.op == CTL_SEND_SENDER);
  nodus_etf_encode_into(&m.control, NULL, bytes);
  dist_ctl_free(&p->tx_msg);
  free(p->tx_bytes);
  p->tx_msg = m;
  p->tx_bytes = bytes;
  p->tx_len = len;
  return 0;
}

int rt_ctlcache_send(rt_peer *p, const nodus_term *from, const nodus_term *to,
                     nodus_term *msg) {
  RT_ASSERT_LOOP(p->node);
  if (!dist_peer_up(p->dist) ||
      !(dist_peer_flags(p->dist) & DFLAG_SEND_SENDER))
    return 0;
  if (!tx_matches(p, from, to) && tx_learn(p, from, to)) return 0;
  return dist_peer_send_encoded(p->dist, p->tx_bytes, p->tx_len, msg);
}

/* ---- receiving ---------------------------------------------------------- */

void rt_ctlcache_learn(rt_peer *p, const dist_ctl_msg *msg,
                       const uint8_t *data, size_t len, bool versioned) {
  RT_ASSERT_LOOP(p->node);
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
  /* Our own copy of the control, its fields pointing into it. */
  dist_ctl_msg cached = {0};
  if (nodus_copy(&cached.control, &msg->control)) return;
  if (dist_ctl_parse(&cached) || cached.op != msg->op) {
    assert(!"a decoded control does not parse again");
    dist_ctl_free(&cached);
    return;
  }
  dist_ctl_free(&p->rx_msg);
  p->rx_msg = cached;
  p->rx_versioned = versioned;
  memcpy(p->rx_bytes, want, want_len);
  p->rx_len = want_len;
}

bool rt_ctlcache_receive(nodus_node *node, rt_peer *p, const uint8_t *data,
                         size_t len, bool versioned) {
  RT_ASSERT_LOOP(node);
  if (!p->rx_len || versioned != p->rx_versioned || len <= p->rx_len ||
      memcmp(data, p->rx_bytes, p->rx_len))
    return false;
  const uint8_t *pay = data + p->rx_len;
  size_t pay_len = len - p->rx_len, used = 0;
  /* A send's fields point into its control tuple only, so a copy of the
   * cached message (borrowing its control) is a message of its own. */
  assert(dist_ctl_has_payload(p->rx_msg.op) &&
         p->rx_msg.payload.type == NODUS_T_NONE);
  dist_ctl_msg m = p->rx_msg;
  int rc = dist_ctl_decode_payload(pay, pay_len, versioned,
                                   dist_peer_decode_opts(p->dist), &m.payload,
                                   &used);
  if (rc || used != pay_len) {
    nodus_term_free(&m.payload);
    /* Over a limit: dropped here, not decoded again. Otherwise the
     * general path says what was wrong. */
    return rc && dist_peer_drop(p->dist, rc, m.op, "the payload does not "
                                                    "decode");
  }
  rt_dispatch(node, p, &m); /* borrows the control, may take the payload */
  nodus_term_free(&m.payload);
  return true;
}
