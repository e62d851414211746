/* The distribution handshake (protocol v6, accepting v5 'n' from old
 * peers) as a pure state machine: bytes in, bytes out, no I/O, so the
 * connection code drives it and the fuzzer can too.
 *
 * Use: dist_hs_init(); then repeatedly give it what the socket read with
 * dist_hs_feed() and write out whatever dist_hs_output() holds, until
 * dist_hs_feed() returns DIST_HS_DONE or an error. Bytes after the last
 * handshake message (the first distribution frames) are left unconsumed:
 * *used tells how many bytes of the input were taken.
 *
 * After DIST_HS_FAILED, dist_hs_output() may still hold a last message
 * (the acceptor's 's' not_allowed / nok, the initiator's 's' false) that
 * BEAM would send before closing: write it, then close. A wrong cookie
 * leaves nothing to send, as in BEAM. */
#ifndef NODUS_DIST_HANDSHAKE_H
#define NODUS_DIST_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIST_NAME_MAX 255

/* What an acceptor answers a peer's name with ('s' status). */
typedef enum dist_hs_status {
  DIST_HS_STATUS_OK,
  DIST_HS_STATUS_OK_SIMULTANEOUS, /* we drop our own pending connect */
  DIST_HS_STATUS_NOK,             /* simultaneous; ours wins, peer waits */
  DIST_HS_STATUS_NOT_ALLOWED,
  DIST_HS_STATUS_ALIVE, /* already connected; ask the initiator */
} dist_hs_status;

typedef struct dist_hs_peer {
  char name[DIST_NAME_MAX + 1];
  uint64_t flags;    /* the peer's flags, MANDATORY_25_DIGEST expanded */
  uint32_t creation; /* 0 when a v5 peer didn't send one */
} dist_hs_peer;

typedef struct dist_hs_config {
  const char *this_name; /* our full node name, name@host */
  /* Initiator: the node we dialled; the challenge must carry exactly this
   * name (dist_util checks it too). NULL: accept any valid name. */
  const char *peer_name;
  const char *cookie;
  uint64_t flags; /* what we offer (dist_flags.h) */
  uint64_t required_flags; /* refuse peers lacking these */
  uint32_t creation;
  bool initiator;
  /* Acceptor: decides the status for the peer's name (simultaneous
   * connects, already alive, not allowed). NULL: always OK. */
  dist_hs_status (*decide)(void *arg, const dist_hs_peer *peer);
  /* Initiator, after 'alive': true to replace the old connection. NULL:
   * false. */
  bool (*alive_replace)(void *arg, const dist_hs_peer *peer);
  void *arg;
  /* Challenge source; NULL uses the kernel CSPRNG (getrandom). For tests. */
  uint32_t (*challenge)(void *arg);
} dist_hs_config;

typedef enum dist_hs_result {
  DIST_HS_MORE = 0, /* feed more bytes */
  DIST_HS_DONE = 1, /* connected: frames follow */
  /* Negative: failed; dist_hs_error() says why, for the log line. */
  DIST_HS_FAILED = -1,
} dist_hs_result;

typedef struct dist_hs dist_hs;

/* Copies what it needs from cfg (names, cookie). 0, NODUS_EINVAL,
 * NODUS_EBADNAME (this_name/peer_name not name@host or > 255 bytes) or
 * NODUS_ENOMEM. */
int dist_hs_new(dist_hs **hs, const dist_hs_config *cfg);
void dist_hs_free(dist_hs *hs);
/* Initiator: queue send_name. Acceptor: nothing to start. 0 or
 * NODUS_ESTATE (called twice). */
int dist_hs_start(dist_hs *hs);
dist_hs_result dist_hs_feed(dist_hs *hs, const uint8_t *data, size_t len,
                            size_t *used);
/* The peer closed the connection (EOF) before DIST_HS_DONE: fails the
 * handshake with a reason that fits the step we were in (e.g. a BEAM
 * acceptor closes silently after a challenge reply with a wrong cookie).
 * Always returns DIST_HS_FAILED (or DIST_HS_DONE if already done). */
dist_hs_result dist_hs_closed(dist_hs *hs);
/* Bytes waiting to be written; call dist_hs_consumed() once written. */
const uint8_t *dist_hs_output(dist_hs *hs, size_t *len);
void dist_hs_consumed(dist_hs *hs, size_t n);
/* After DIST_HS_DONE. */
const dist_hs_peer *dist_hs_peer_info(const dist_hs *hs);
uint64_t dist_hs_flags(const dist_hs *hs); /* negotiated: ours & theirs */
/* A human-readable reason after failure ("wrong cookie", ...). */
const char *dist_hs_error(const dist_hs *hs);
/* After DIST_HS_FAILED: whether the cookie was the reason. The names and
 * flags were accepted and a digest did not match (the peer's challenge
 * reply or ack), or the peer closed right after our challenge reply, as
 * a BEAM acceptor does, without a word, on a bad digest. An unreachable
 * or refusing peer fails before that step. */
bool dist_hs_auth_failed(const dist_hs *hs);
/* Status the acceptor sent or the initiator got (for logs/tests). */
dist_hs_status dist_hs_last_status(const dist_hs *hs);

#endif
