/* A distribution connection: one TCP stream to a peer node, driven by the
 * node's libuv loop. It runs the handshake, then frames, ticks and
 * fragments; whole messages go up through callbacks. It knows nothing of
 * processes. */
#ifndef NODUS_DIST_CONN_H
#define NODUS_DIST_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "distribution/handshake.h"
#include "distribution/limits.h"

typedef struct dist_conn dist_conn;

typedef struct dist_conn_callbacks {
  /* Handshake done; the peer is in dist_conn_peer(). */
  void (*on_up)(dist_conn *c, void *arg);
  /* Acceptor, optional: the peer sent its name and cfg.hs.decide answered
   * it (dist_conn_status says how), so the connection can be tied to its
   * peer before the handshake ends. */
  void (*on_named)(dist_conn *c, void *arg);
  /* One whole message: the control term and the payload term. versioned:
   * each term starts with 131 (pass-through), else neither does (after a
   * fragment header). */
  void (*on_message)(dist_conn *c, const uint8_t *msg, size_t len,
                     bool versioned, void *arg);
  /* The connection is gone (handshake failure, error, tick timeout, close).
   * Called once; the conn is freed right after it returns. `was_up` says
   * whether on_up was called. */
  void (*on_down)(dist_conn *c, const char *reason, int was_up, void *arg);
} dist_conn_callbacks;

typedef struct dist_conn_config {
  uv_loop_t *loop;
  dist_hs_config hs; /* initiator is set by connect/accept */
  unsigned ticktime_ms;
  /* What the peer may send, shared by the node's connections (counts,
   * the drop log's budget); NULL: the defaults, nothing shared. Over a
   * limit a message is dropped alone, with a rate-limited line. */
  dist_limits *limits;
  size_t fragment_size; /* outgoing fragments when negotiated; 0: 64 KiB */
  dist_conn_callbacks cb;
  void *arg;
  /* Log hook for this layer: level as NODUS_LOG_*. */
  void (*log)(void *arg, int level, const char *msg);
} dist_conn_config;

int dist_conn_connect(const dist_conn_config *cfg, const char *host,
                      int port, dist_conn **out);
int dist_conn_accept(const dist_conn_config *cfg, uv_stream_t *server,
                     dist_conn **out);
/* Queues one message: the control term and the payload (NULL/0 for none),
 * each starting with 131; fragmented when negotiated and the payload is
 * bigger than a fragment. Before the handshake completes it is held and
 * sent after it. Written once per loop iteration, batched. */
int dist_conn_send(dist_conn *c, const uint8_t *ctl, size_t ctl_len,
                   const uint8_t *payload, size_t payload_len);
/* The copy-free form for a message that goes as one frame (see
 * dist_conn_fits_one_frame): room for a control term of ctl_len bytes and
 * a payload of payload_len (0: none), both sizes with their 131. Encode
 * the payload at *payload_at FIRST, then the control at *ctl_at, then
 * commit: with a distribution header the terms lose their version bytes,
 * which this order overwrites in place. Up connections only. */
int dist_conn_reserve(dist_conn *c, size_t ctl_len, size_t payload_len,
                      uint8_t **ctl_at, uint8_t **payload_at);
void dist_conn_commit(dist_conn *c);
/* Whether a message of this size goes as one frame (else use send). */
bool dist_conn_fits_one_frame(const dist_conn *c, size_t len);
void dist_conn_close(dist_conn *c, const char *reason);

const dist_hs_peer *dist_conn_peer(const dist_conn *c);
uint64_t dist_conn_flags(const dist_conn *c);
/* The handshake status sent (acceptor) or received (initiator). */
dist_hs_status dist_conn_status(const dist_conn *c);
/* The handshake failed on the cookie (dist_hs_auth_failed); meaningful
 * in on_down. */
bool dist_conn_auth_failed(const dist_conn *c);
void *dist_conn_user(const dist_conn *c);
void dist_conn_set_user(dist_conn *c, void *user);

#endif
