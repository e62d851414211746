/* Distribution framing after the handshake: 4-byte big-endian length
 * frames (length 0 is a tick), the pass-through message layout and
 * fragmented messages (DFLAG_FRAGMENTS). Pure: bytes in, bytes out.
 *
 * On the wire (erl_dist_protocol, erl_ext_dist "distribution header"):
 *   plain:        Len:32, 112, Control(131...), [Message(131...)]
 *   dist header:  Len:32, 131, 68, NumAtomCacheRefs=0, Control, [Message]
 *   first frag:   Len:32, 131, 69, SeqId:64, FragId:64, NumAtomCacheRefs=0,
 *                 Control, first part of Message
 *   next frags:   Len:32, 131, 70, SeqId:64, FragId:64, more of Message
 * After a 131,68/69 header the terms carry no 131 version byte. FragId
 * counts down to 1 (the last). nodus never offers the atom cache, so a
 * header with atom cache refs is an error.
 *
 * Seen from OTP 25 (tests/interop/test_handshake.sh): once FRAGMENTS is
 * negotiated BEAM sends *every* message with the 131,68,0 header, even
 * without DIST_HDR_ATOM_CACHE, and it drops a connection that sends it a
 * 112 frame then ("Got message from incompatible erlang"); 112 only when
 * FRAGMENTS is off. Its fragments hold 64 KiB after the fragment header,
 * counting the control in the first one. */
#ifndef NODUS_DIST_FRAME_H
#define NODUS_DIST_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIST_PASS_THROUGH 112
#define DIST_FRAGMENT_SIZE (64 * 1024) /* what BEAM uses */
#define DIST_FRAG_HDR_MAX (4 + 2 + 8 + 8 + 1) /* Len + first-frag header */

/* ---- reading frames --------------------------------------------------- */

typedef struct dist_frame_reader {
  size_t max_frame; /* a longer frame is skipped */
  uint8_t hdr[4];
  size_t hdr_have;
  uint8_t *buf; /* a frame split across inputs is gathered here */
  size_t need, have, cap;
  size_t skip; /* bytes left of a frame being skipped */
} dist_frame_reader;

/* dist_frame_next: a frame over max_frame starts; its bytes are skipped. */
#define DIST_FRAME_SKIPPED 2

void dist_frame_reader_init(dist_frame_reader *r, size_t max_frame);
void dist_frame_reader_free(dist_frame_reader *r);
/* Takes bytes from data until one frame is complete. Returns 1 with
 * *frame and *frame_len set (len 0 = tick), 0 when all of data was taken and
 * no frame is complete yet, DIST_FRAME_SKIPPED with *frame_len the length
 * of a frame over max_frame (the framing allows dropping it alone: its
 * bytes are read and thrown away by the calls that follow), or
 * NODUS_ENOMEM. *used says how much of data was taken; call again with
 * the rest. The frame points into data when it lay wholly there
 * (zero-copy), else into the reader; valid until the next call. */
int dist_frame_next(dist_frame_reader *r, const uint8_t *data, size_t len,
                    size_t *used, const uint8_t **frame, size_t *frame_len);

/* ---- whole messages from frames --------------------------------------- */

typedef struct dist_msg {
  const uint8_t *data; /* starts at the control term */
  size_t len;          /* control term + message term, if any */
  /* true: each term starts with 131 (pass-through 112); false: the terms
   * follow a 131,68/69 header and carry no version byte. */
  bool versioned;
} dist_msg;

typedef struct dist_defrag_seq dist_defrag_seq;

/* What the reassemblers of all of a node's connections use together. */
typedef struct dist_defrag_shared {
  size_t max_open;  /* messages in fragments at once, all connections */
  size_t max_bytes; /* bytes they hold, all connections */
  size_t open, bytes;
} dist_defrag_shared;

typedef struct dist_defrag {
  size_t max_open;  /* messages in fragments at once */
  size_t max_bytes; /* bytes of one message */
  uint64_t timeout_ms; /* longest wait for a message's next fragment; 0:
                          none (dist_defrag_expire) */
  dist_defrag_shared *shared; /* NULL: no node-wide bounds */
  size_t buffered;
  dist_defrag_seq *seqs; /* singly linked, few at a time */
  size_t open;       /* being reassembled */
  size_t discarding; /* dropped, their remaining fragments thrown away */
  uint8_t *done; /* the last reassembled message, owned until next call */
  char why[160]; /* after DIST_DEFRAG_DROPPED: which message, and why */
} dist_defrag;

/* dist_defrag_frame, dist_defrag_expire: a message was dropped (d->why). */
#define DIST_DEFRAG_DROPPED 2

void dist_defrag_init(dist_defrag *d, size_t max_open, size_t max_bytes);
void dist_defrag_free(dist_defrag *d);
/* One non-tick frame in, at now_ms. Returns 1 with *msg filled when a
 * whole message is ready (pointing into the frame, or into d for a
 * reassembled one; valid until the next call), 0 when the frame was a
 * fragment of a message still open (or of one being thrown away),
 * DIST_DEFRAG_DROPPED when it made a message go over a limit (max_open,
 * max_bytes, or the shared ones): that message alone is dropped, d->why
 * says why, and its remaining fragments are thrown away as they come.
 * Or a negative code: NODUS_EBADETF (malformed header, unknown sequence,
 * fragment out of order, duplicate sequence), NODUS_EUNSUPPORTED (atom
 * cache refs), NODUS_ENOMEM. After an error the connection should be
 * closed. */
int dist_defrag_frame(dist_defrag *d, const uint8_t *frame, size_t len,
                      uint64_t now_ms, dist_msg *msg);
/* Drops the messages whose next fragment is more than timeout_ms late
 * at now_ms: DIST_DEFRAG_DROPPED (d->why says how many) or 0. */
int dist_defrag_expire(dist_defrag *d, uint64_t now_ms);

/* ---- writing ---------------------------------------------------------- */

typedef struct dist_iov {
  const uint8_t *base;
  size_t len;
} dist_iov;

/* Splits one outgoing message into frames, zero-copy: each call to
 * dist_msg_writer_next() yields the iovecs of one whole frame (length
 * prefix included). ctl and payload are ETF terms that start with 131 (as
 * the encoder makes them); payload may be NULL/0 for control-only
 * messages. fragments = DFLAG_FRAGMENTS was negotiated. Without it the
 * message goes as one pass-through frame (Len, 112, ctl, payload). With
 * it, as one 131,68,0 frame when control + payload fit in frag_size, else
 * as fragments of sequence seq holding frag_size bytes each after their
 * header (the control, whole, in the first), as BEAM does. The writer points into ctl/payload: keep them
 * alive until it is done. */
typedef struct dist_msg_writer {
  const uint8_t *ctl, *payload;
  size_t ctl_len, payload_len;
  size_t frag_size;
  size_t off;         /* payload bytes handed out so far */
  uint64_t seq;
  uint64_t frag_left; /* fragments still to yield; 0 = done */
  bool fragmented;
  size_t hdr_len; /* of an unfragmented frame's header */
  uint8_t hdr[DIST_FRAG_HDR_MAX];
} dist_msg_writer;

/* 0, NODUS_EINVAL (ctl/payload not starting with 131, frag_size 0), or
 * NODUS_ETOOBIG (a frame would exceed the 32-bit length). */
int dist_msg_writer_init(dist_msg_writer *w, bool fragments, uint64_t seq,
                         const uint8_t *ctl, size_t ctl_len,
                         const uint8_t *payload, size_t payload_len,
                         size_t frag_size);
/* How many frames the message takes. */
uint64_t dist_msg_writer_frames(const dist_msg_writer *w);
/* Fills iov with the next frame; returns the iovec count (1..3), or 0
 * when all frames were yielded. The iovecs point into w and the caller's
 * buffers: write them out before the next call. */
int dist_msg_writer_next(dist_msg_writer *w, dist_iov iov[3]);

/* The 5 bytes before a plain pass-through message (only for connections
 * without DFLAG_FRAGMENTS): Len:32 (1 + ctl_len +
 * payload_len) and 112. NODUS_ETOOBIG if that overflows 32 bits. */
int dist_frame_pass_through_header(uint8_t hdr[5], size_t ctl_len,
                                   size_t payload_len);
/* The tick frame: 4 zero bytes. */
extern const uint8_t dist_frame_tick[4];

#endif
