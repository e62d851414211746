/* Distribution frames and fragments (see frame.h). */
#include "distribution/frame.h"
#include "distribution/wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus/error.h"

#define VERSION_MAGIC 131
#define DIST_HEADER 68
#define DIST_FRAG_HEADER 69
#define DIST_FRAG_CONT 70

const uint8_t dist_frame_tick[4] = {0, 0, 0, 0};





/* ---- reader ----------------------------------------------------------- */

void dist_frame_reader_init(dist_frame_reader *r, size_t max_frame) {
  memset(r, 0, sizeof *r);
  r->max_frame = max_frame;
}

void dist_frame_reader_free(dist_frame_reader *r) {
  free(r->buf);
  memset(r, 0, sizeof *r);
}

int dist_frame_next(dist_frame_reader *r, const uint8_t *data, size_t len,
                    size_t *used, const uint8_t **frame, size_t *frame_len) {
  size_t pos = 0;
  *used = 0;
  if (r->skip) { /* the rest of a frame over max_frame: thrown away */
    pos = r->skip < len ? r->skip : len;
    r->skip -= pos;
    if (r->skip) {
      *used = pos;
      return 0;
    }
  }
  /* The length prefix, possibly split over calls. */
  while (r->hdr_have < 4) {
    if (pos == len) {
      *used = pos;
      return 0;
    }
    r->hdr[r->hdr_have++] = data[pos++];
    if (r->hdr_have < 4) continue;
    r->need = get32(r->hdr);
    r->have = 0;
    if (r->need > r->max_frame) {
      /* The length tells where the next frame starts: only this one goes. */
      r->hdr_have = 0;
      r->skip = r->need;
      size_t take = r->skip < len - pos ? r->skip : len - pos;
      r->skip -= take;
      *used = pos + take;
      *frame = NULL;
      *frame_len = r->need;
      return DIST_FRAME_SKIPPED;
    }
    if (r->need == 0) { /* tick */
      r->hdr_have = 0;
      *used = pos;
      *frame = data + pos;
      *frame_len = 0;
      return 1;
    }
    /* Zero-copy: the whole body is in this input. */
    if (len - pos >= r->need) {
      *frame = data + pos;
      *frame_len = r->need;
      *used = pos + r->need;
      r->hdr_have = 0;
      return 1;
    }
    if (r->need > r->cap) {
      /* Grow to what this frame needs; frames are bounded by max_frame. */
      uint8_t *b = realloc(r->buf, r->need);
      if (!b) {
        *used = pos;
        r->hdr_have = 0;
        return NODUS_ENOMEM;
      }
      r->buf = b;
      r->cap = r->need;
    }
  }
  size_t take = r->need - r->have;
  if (take > len - pos) take = len - pos;
  if (take) memcpy(r->buf + r->have, data + pos, take);
  r->have += take;
  pos += take;
  *used = pos;
  if (r->have < r->need) return 0;
  r->hdr_have = 0;
  *frame = r->buf;
  *frame_len = r->need;
  return 1;
}

/* ---- reassembly -------------------------------------------------------
 *
 * A message over a limit is dropped alone: its sequence stays known, as
 * one being thrown away, so its later fragments are read and dropped
 * instead of breaking the stream. Such records are few and small; the
 * oldest goes when there are more than max_open. */

struct dist_defrag_seq {
  dist_defrag_seq *next;
  uint64_t id;
  uint64_t next_frag; /* the FragId we expect next */
  uint8_t *buf;
  size_t len, cap;
  uint64_t last_ms; /* when its last fragment came */
  bool discard;     /* dropped: its fragments are thrown away */
};

void dist_defrag_init(dist_defrag *d, size_t max_open, size_t max_bytes) {
  memset(d, 0, sizeof *d);
  d->max_open = max_open;
  d->max_bytes = max_bytes;
}

static void seq_free(dist_defrag_seq *s) {
  free(s->buf);
  free(s);
}

/* s gives back what it counted against d's and the node's limits. */
static void seq_release(dist_defrag *d, dist_defrag_seq *s) {
  d->buffered -= s->len;
  if (d->shared) d->shared->bytes -= s->len;
  if (!s->discard) {
    d->open--;
    if (d->shared) d->shared->open--;
  } else {
    d->discarding--;
  }
}

void dist_defrag_free(dist_defrag *d) {
  dist_defrag_seq *s = d->seqs;
  while (s) {
    dist_defrag_seq *n = s->next;
    seq_release(d, s);
    seq_free(s);
    s = n;
  }
  free(d->done);
  dist_defrag_shared *shared = d->shared;
  memset(d, 0, sizeof *d);
  d->shared = shared;
}

static dist_defrag_seq **seq_find(dist_defrag *d, uint64_t id) {
  dist_defrag_seq **pp = &d->seqs;
  while (*pp && (*pp)->id != id) pp = &(*pp)->next;
  return pp;
}

static void seq_unlink(dist_defrag *d, dist_defrag_seq *s) {
  dist_defrag_seq **pp = seq_find(d, s->id);
  *pp = s->next;
  seq_release(d, s);
  seq_free(s);
}

/* Keeps the records of messages thrown away bounded: the oldest (last
 * in the list) go first, never `keep`. */
static void trim_discarding(dist_defrag *d, const dist_defrag_seq *keep) {
  size_t max = d->max_open ? d->max_open : 1;
  while (d->discarding > max) {
    dist_defrag_seq *old = NULL;
    for (dist_defrag_seq *p = d->seqs; p; p = p->next)
      if (p->discard && p != keep) old = p;
    if (!old) return;
    seq_unlink(d, old);
  }
}

/* s goes over a limit: its message is dropped, its fragments thrown away
 * from now on. why: a format with one %zu, the limit. */
static int seq_drop(dist_defrag *d, dist_defrag_seq *s, const char *why,
                    size_t limit) {
  if (why) snprintf(d->why, sizeof d->why, why, limit);
  seq_release(d, s);
  free(s->buf);
  s->buf = NULL;
  s->len = s->cap = 0;
  s->discard = true;
  d->discarding++;
  trim_discarding(d, s);
  return DIST_DEFRAG_DROPPED;
}

/* 0, DIST_DEFRAG_DROPPED (s dropped) or NODUS_ENOMEM. */
static int seq_append(dist_defrag *d, dist_defrag_seq *s, const uint8_t *p,
                      size_t n) {
  if (n > d->max_bytes - s->len)
    return seq_drop(d, s, "a message in fragments over %zu bytes "
                          "(max_message)", d->max_bytes);
  if (d->shared && n > d->shared->max_bytes - d->shared->bytes)
    return seq_drop(d, s, "%zu bytes in incomplete messages in fragments on "
                          "this node (max_fragment_bytes)",
                    d->shared->max_bytes);
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + n) cap *= 2;
    uint8_t *b = realloc(s->buf, cap);
    if (!b) return NODUS_ENOMEM;
    s->buf = b;
    s->cap = cap;
  }
  if (n) memcpy(s->buf + s->len, p, n);
  s->len += n;
  d->buffered += n;
  if (d->shared) d->shared->bytes += n;
  return 0;
}

/* Hands a finished sequence's buffer out as the message and unlinks it. */
static int seq_finish(dist_defrag *d, dist_defrag_seq **pp, dist_msg *msg) {
  dist_defrag_seq *s = *pp;
  *pp = s->next;
  seq_release(d, s);
  free(d->done);
  d->done = s->buf;
  msg->data = s->buf;
  msg->len = s->len;
  msg->versioned = false;
  s->buf = NULL;
  seq_free(s);
  return 1;
}

/* NumberOfAtomCacheRefs after a 68/69 header: we never offer the atom
 * cache, so only 0 (no refs, no flag bytes) is valid. */
static int atom_cache_refs(const uint8_t *p, size_t left) {
  if (left < 1) return NODUS_EBADETF;
  return p[0] == 0 ? 0 : NODUS_EUNSUPPORTED;
}

static int frag_start(dist_defrag *d, const uint8_t *f, size_t len,
                      uint64_t now, dist_msg *msg) {
  if (len < 19) return NODUS_EBADETF;
  uint64_t id = get64(f + 2), frag = get64(f + 10);
  int rc = atom_cache_refs(f + 18, len - 18);
  if (rc < 0) return rc;
  const uint8_t *body = f + 19;
  size_t n = len - 19;
  if (frag == 0 || n == 0) return NODUS_EBADETF;
  if (*seq_find(d, id)) return NODUS_EBADETF; /* already open */
  if (frag == 1) { /* a sequence of one: the message is right here */
    msg->data = body;
    msg->len = n;
    msg->versioned = false;
    return 1;
  }
  dist_defrag_seq *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  s->id = id;
  s->next_frag = frag - 1;
  s->last_ms = now;
  s->next = d->seqs;
  d->seqs = s;
  d->open++; /* counted first, so a drop gives it back */
  if (d->shared) d->shared->open++;
  if (d->open > d->max_open)
    return seq_drop(d, s, "more than %zu messages in fragments at once on "
                          "this connection (max_fragmented)", d->max_open);
  if (d->shared && d->shared->open > d->shared->max_open)
    return seq_drop(d, s, "more than %zu messages in fragments at once on "
                          "this node (max_fragmented_total)",
                    d->shared->max_open);
  rc = seq_append(d, s, body, n);
  if (rc == NODUS_ENOMEM) seq_unlink(d, s);
  return rc;
}

static int frag_cont(dist_defrag *d, const uint8_t *f, size_t len,
                     uint64_t now, dist_msg *msg) {
  if (len < 18) return NODUS_EBADETF;
  uint64_t id = get64(f + 2), frag = get64(f + 10);
  dist_defrag_seq **pp = seq_find(d, id);
  dist_defrag_seq *s = *pp;
  if (!s || frag != s->next_frag) return NODUS_EBADETF;
  s->last_ms = now;
  int rc = s->discard ? 0 : seq_append(d, s, f + 18, len - 18);
  if (rc < 0) return rc;
  if (frag == 1) {
    if (!s->discard) return seq_finish(d, pp, msg);
    seq_unlink(d, s); /* its last fragment: nothing more will come */
    return rc;
  }
  s->next_frag--;
  return rc;
}

int dist_defrag_expire(dist_defrag *d, uint64_t now_ms) {
  if (!d->timeout_ms || !d->open) return 0;
  size_t dropped = 0, max = d->max_open;
  d->max_open = SIZE_MAX; /* no trimming while the list is walked */
  for (dist_defrag_seq *s = d->seqs; s; s = s->next) {
    if (s->discard || now_ms - s->last_ms <= d->timeout_ms) continue;
    seq_drop(d, s, NULL, 0);
    dropped++;
  }
  d->max_open = max;
  trim_discarding(d, NULL);
  if (!dropped) return 0;
  snprintf(d->why, sizeof d->why, "%zu message%s in fragments waited more "
           "than %llu ms for a fragment (fragment_timeout_ms)", dropped,
           dropped == 1 ? "" : "s", (unsigned long long)d->timeout_ms);
  return DIST_DEFRAG_DROPPED;
}

int dist_defrag_frame(dist_defrag *d, const uint8_t *f, size_t len,
                      uint64_t now_ms, dist_msg *msg) {
  if (len < 2) return NODUS_EBADETF;
  if (f[0] == DIST_PASS_THROUGH) {
    if (f[1] != VERSION_MAGIC) return NODUS_EBADETF;
    msg->data = f + 1;
    msg->len = len - 1;
    msg->versioned = true;
    return 1;
  }
  if (f[0] != VERSION_MAGIC) return NODUS_EBADETF;
  switch (f[1]) {
  case DIST_HEADER: {
    int rc = atom_cache_refs(f + 2, len - 2);
    if (rc < 0) return rc;
    if (len < 4) return NODUS_EBADETF;
    msg->data = f + 3;
    msg->len = len - 3;
    msg->versioned = false;
    return 1;
  }
  case DIST_FRAG_HEADER: return frag_start(d, f, len, now_ms, msg);
  case DIST_FRAG_CONT: return frag_cont(d, f, len, now_ms, msg);
  default: return NODUS_EBADETF;
  }
}

/* ---- writer ----------------------------------------------------------- */

int dist_frame_pass_through_header(uint8_t hdr[5], size_t ctl_len,
                                   size_t payload_len) {
  if (ctl_len > UINT32_MAX - 1 || payload_len > UINT32_MAX - 1 - ctl_len)
    return NODUS_ETOOBIG;
  put32(hdr, (uint32_t)(1 + ctl_len + payload_len));
  hdr[4] = DIST_PASS_THROUGH;
  return 0;
}

int dist_msg_writer_init(dist_msg_writer *w, bool fragments, uint64_t seq,
                         const uint8_t *ctl, size_t ctl_len,
                         const uint8_t *payload, size_t payload_len,
                         size_t frag_size) {
  memset(w, 0, sizeof *w);
  if (!ctl || ctl_len < 2 || ctl[0] != VERSION_MAGIC || frag_size == 0)
    return NODUS_EINVAL;
  if (payload_len && (!payload || payload_len < 2 ||
                      payload[0] != VERSION_MAGIC))
    return NODUS_EINVAL;
  w->ctl = ctl;
  w->ctl_len = ctl_len;
  w->payload = payload;
  w->payload_len = payload_len;
  w->frag_size = frag_size;
  w->seq = seq;
  if (!fragments) {
    int rc = dist_frame_pass_through_header(w->hdr, ctl_len, payload_len);
    if (rc < 0) return rc;
    w->hdr_len = 5;
    w->frag_left = 1;
    return 0;
  }
  /* With FRAGMENTS negotiated BEAM takes only the 131,68/69/70 headers
   * (it refuses 112 then), and the terms after them drop their 131. */
  w->ctl++;
  w->ctl_len--;
  if (payload_len) {
    w->payload++;
    w->payload_len--;
  }
  /* Like BEAM: fragment when control + payload exceed one fragment;
   * frag_size counts the bytes after each fragment header, the control
   * included in the first. */
  w->fragmented = w->payload_len > 0 && w->ctl_len + w->payload_len > frag_size;
  if (!w->fragmented) {
    if (w->ctl_len > UINT32_MAX - 3 ||
        w->payload_len > UINT32_MAX - 3 - w->ctl_len)
      return NODUS_ETOOBIG;
    put32(w->hdr, (uint32_t)(3 + w->ctl_len + w->payload_len));
    w->hdr[4] = VERSION_MAGIC;
    w->hdr[5] = DIST_HEADER;
    w->hdr[6] = 0; /* NumberOfAtomCacheRefs */
    w->hdr_len = 7;
    w->frag_left = 1;
    return 0;
  }
  if (w->ctl_len > UINT32_MAX - 19 - frag_size || frag_size > UINT32_MAX - 19)
    return NODUS_ETOOBIG;
  w->frag_left = dist_msg_writer_frames(w);
  return 0;
}

/* Payload bytes in the first fragment: what the control leaves of
 * frag_size, but at least one byte (a control longer than a fragment still
 * goes whole into the first). */
static size_t first_part(const dist_msg_writer *w) {
  size_t n = w->ctl_len < w->frag_size ? w->frag_size - w->ctl_len : 1;
  return n < w->payload_len ? n : w->payload_len;
}

uint64_t dist_msg_writer_frames(const dist_msg_writer *w) {
  if (!w->fragmented) return 1;
  size_t rest = w->payload_len - first_part(w);
  return 1 + (rest + w->frag_size - 1) / w->frag_size;
}

int dist_msg_writer_next(dist_msg_writer *w, dist_iov iov[3]) {
  if (w->frag_left == 0) return 0;
  if (!w->fragmented) {
    w->frag_left = 0;
    int n = 0;
    iov[n++] = (dist_iov){w->hdr, w->hdr_len};
    iov[n++] = (dist_iov){w->ctl, w->ctl_len};
    if (w->payload_len) iov[n++] = (dist_iov){w->payload, w->payload_len};
    return n;
  }
  bool first = w->off == 0;
  size_t part = first ? first_part(w) : w->payload_len - w->off;
  if (part > w->frag_size) part = w->frag_size;
  int n = 0;
  uint8_t *h = w->hdr;
  h[4] = VERSION_MAGIC;
  h[5] = first ? DIST_FRAG_HEADER : DIST_FRAG_CONT;
  put64(h + 6, w->seq);
  put64(h + 14, w->frag_left);
  size_t hlen = 2 + 8 + 8;
  if (first) h[4 + hlen++] = 0; /* NumberOfAtomCacheRefs */
  size_t body = hlen + part + (first ? w->ctl_len : 0);
  put32(h, (uint32_t)body);
  iov[n++] = (dist_iov){h, 4 + hlen};
  if (first) iov[n++] = (dist_iov){w->ctl, w->ctl_len};
  iov[n++] = (dist_iov){w->payload + w->off, part};
  w->off += part;
  w->frag_left--;
  return n;
}
