/* A distribution connection on libuv.
 *
 * Reading: the handshake state machine first, then the frame reader and
 * fragment reassembly; whole messages go up through on_message.
 * Writing: messages are appended to an output buffer and written once per
 * loop iteration (a prepare handle), so a burst of sends becomes one write;
 * while one write is in flight the next batch accumulates.
 * Ticks: every ticktime/4 a tick goes out if nothing else did, and a peer
 * we heard nothing from for a whole ticktime is dropped, as BEAM does. */
#include "distribution/conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distribution/dist_flags.h"
#include "distribution/frame.h"
#include "distribution/wire.h"
#include "nodus/error.h"
#include "nodus/node.h"

#define READ_BUF_SIZE (256 * 1024)
#define SETUP_TIMEOUT_MS 7000 /* BEAM's net_setuptime */

typedef struct out_buf {
  uint8_t *data;
  size_t len, cap;
} out_buf;

struct dist_conn {
  dist_conn_config cfg;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_prepare_t flusher;
  uv_getaddrinfo_t gai;
  uv_connect_t connect_req;
  uv_write_t write_req;
  char host[256];
  int port;

  dist_hs *hs;
  bool up, closing, writing, reading;
  bool named;    /* acceptor: on_named was called */
  bool nok_wait; /* initiator told nok: the peer's own attempt wins */
  int open_handles;
  char reason[400];

  dist_frame_reader reader;
  dist_defrag defrag;
  dist_limits own_limits; /* when cfg.limits is NULL */
  uint8_t *rbuf;

  out_buf out, fly; /* accumulating, in flight */
  uint8_t *hs_write; /* handshake bytes in flight */
  uint64_t frag_seq;
  size_t fix_at; /* reserve/commit: the byte to zero, or SIZE_MAX */
  unsigned quiet_ticks; /* tick intervals with nothing read */
  bool wrote_since_tick, read_since_tick;
  void *user;
};

static void conn_log(dist_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_log(dist_conn *c, int level, const char *fmt, ...) {
  if (!c->cfg.log) return;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->cfg.log(c->cfg.arg, level, msg);
}

/* A message dropped for a limit, the connection kept: one line, unless
 * the node's budget for such lines is spent for now. */
static void log_drop(dist_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void log_drop(dist_conn *c, const char *fmt, ...) {
  uint64_t held;
  if (!dist_ratelimit_allow(&c->cfg.limits->drop_log, uv_now(c->cfg.loop),
                            &held))
    return;
  char what[300], more[64] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (held)
    snprintf(more, sizeof more, " (%llu more not logged)",
             (unsigned long long)held);
  const dist_hs_peer *peer = dist_hs_peer_info(c->hs);
  conn_log(c, NODUS_LOG_WARN, "dropped a message from %s: %s; the "
           "connection stays%s", peer->name[0] ? peer->name : "a peer",
           what, more);
}

/* ---- lifecycle --------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h) {
  dist_conn *c = h->data;
  if (--c->open_handles > 0) return;
  if (c->cfg.cb.on_down)
    c->cfg.cb.on_down(c, c->reason, c->up, c->cfg.arg);
  dist_hs_free(c->hs);
  dist_frame_reader_free(&c->reader);
  dist_defrag_free(&c->defrag);
  free(c->rbuf);
  free(c->out.data);
  free(c->fly.data);
  free(c->hs_write);
  free(c);
}

void dist_conn_close(dist_conn *c, const char *reason) {
  if (c->closing) return;
  c->closing = true;
  snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : "closed");
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->flusher, on_handle_closed);
}

static void on_flush(uv_prepare_t *h);
static void on_timer(uv_timer_t *t);
static void write_hs_output(dist_conn *c);

static int conn_new(const dist_conn_config *cfg, bool initiator,
                    dist_conn **out) {
  dist_conn *c = calloc(1, sizeof *c);
  if (!c) return NODUS_ENOMEM;
  c->cfg = *cfg;
  c->cfg.hs.initiator = initiator;
  if (!c->cfg.fragment_size) c->cfg.fragment_size = DIST_FRAGMENT_SIZE;
  if (!c->cfg.limits) {
    dist_limits_defaults(&c->own_limits);
    c->cfg.limits = &c->own_limits;
  }
  c->rbuf = malloc(READ_BUF_SIZE);
  if (!c->rbuf || dist_hs_new(&c->hs, &c->cfg.hs)) {
    free(c->rbuf);
    free(c);
    return NODUS_ENOMEM;
  }
  const dist_limits *lim = c->cfg.limits;
  /* A frame holds a message and at most its distribution header. */
  dist_frame_reader_init(&c->reader, lim->max_message + 64);
  dist_defrag_init(&c->defrag, lim->max_fragmented, lim->max_message);
  c->defrag.timeout_ms = lim->fragment_timeout_ms;
  c->defrag.shared = &c->cfg.limits->frag;
  uv_tcp_init(cfg->loop, &c->tcp);
  uv_timer_init(cfg->loop, &c->timer);
  uv_prepare_init(cfg->loop, &c->flusher);
  c->tcp.data = c->timer.data = c->flusher.data = c->gai.data = c;
  c->connect_req.data = c->write_req.data = c;
  c->open_handles = 3;
  uv_timer_start(&c->timer, on_timer, SETUP_TIMEOUT_MS, 0);
  *out = c;
  return 0;
}

/* ---- writing ----------------------------------------------------------- */

static uint8_t *out_reserve(out_buf *b, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap < b->len + n) cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return NULL;
    b->data = d;
    b->cap = cap;
  }
  uint8_t *p = b->data + b->len;
  b->len += n;
  return p;
}

static void arm_flush(dist_conn *c) {
  if (!c->closing && c->up) uv_prepare_start(&c->flusher, on_flush);
}

static void on_write_done(uv_write_t *req, int status) {
  dist_conn *c = req->data;
  c->writing = false;
  c->fly.len = 0;
  if (status < 0) {
    if (status != UV_ECANCELED) {
      char why[96];
      snprintf(why, sizeof why, "write failed: %s", uv_strerror(status));
      dist_conn_close(c, why);
    }
    return;
  }
  if (c->out.len) arm_flush(c);
}

static void on_flush(uv_prepare_t *h) {
  dist_conn *c = h->data;
  uv_prepare_stop(h);
  if (c->closing || c->writing) return;
  size_t hs_pending;
  dist_hs_output(c->hs, &hs_pending);
  if (hs_pending) { /* the handshake's last word goes before any frame */
    write_hs_output(c);
    return;
  }
  if (!c->out.len) return;
  out_buf t = c->fly;
  c->fly = c->out;
  c->out = t;
  c->out.len = 0;
  uv_buf_t buf = uv_buf_init((char *)c->fly.data, (unsigned)c->fly.len);
  c->writing = true;
  c->wrote_since_tick = true;
  int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1,
                    on_write_done);
  if (rc) {
    c->writing = false;
    dist_conn_close(c, "write failed");
  }
}

bool dist_conn_fits_one_frame(const dist_conn *c, size_t len) {
  bool frag = c->up && (dist_hs_flags(c->hs) & DFLAG_FRAGMENTS);
  return !frag || len <= c->cfg.fragment_size;
}

/* With FRAGMENTS (or the atom cache) negotiated BEAM takes only messages
 * behind a 131,68 distribution header, whose terms have no 131; without,
 * the pass-through byte 112 and terms with 131. */
static bool uses_dist_header(const dist_conn *c) {
  return dist_hs_flags(c->hs) & (DFLAG_FRAGMENTS | DFLAG_DIST_HDR_ATOM_CACHE);
}

int dist_conn_reserve(dist_conn *c, size_t ctl_len, size_t payload_len,
                      uint8_t **ctl_at, uint8_t **payload_at) {
  if (c->closing || !c->up || ctl_len < 2 || payload_len == 1)
    return c->closing ? NODUS_ENOCONN : NODUS_EINVAL;
  if (ctl_len + payload_len + 3 > UINT32_MAX) return NODUS_ETOOBIG;
  if (!uses_dist_header(c)) {
    uint8_t *p = out_reserve(&c->out, 5 + ctl_len + payload_len);
    if (!p) return NODUS_ENOMEM;
    put32(p, (uint32_t)(1 + ctl_len + payload_len));
    p[4] = DIST_PASS_THROUGH;
    *ctl_at = p + 5;
    *payload_at = p + 5 + ctl_len;
    c->fix_at = SIZE_MAX;
    return 0;
  }
  /* Len, 131, 68, 0, control without 131, payload without 131. The
   * payload's 131 lands on the control's last byte and the control's 131
   * on the atom cache count, which commit sets back to 0. */
  size_t body = 3 + (ctl_len - 1) + (payload_len ? payload_len - 1 : 0);
  uint8_t *p = out_reserve(&c->out, 4 + body);
  if (!p) return NODUS_ENOMEM;
  put32(p, (uint32_t)body);
  p[4] = 131;
  p[5] = 68;
  *ctl_at = p + 6;
  *payload_at = p + 5 + ctl_len;
  c->fix_at = (size_t)(p + 6 - c->out.data);
  return 0;
}

void dist_conn_commit(dist_conn *c) {
  if (c->fix_at != SIZE_MAX) c->out.data[c->fix_at] = 0;
  arm_flush(c);
}

int dist_conn_send(dist_conn *c, const uint8_t *ctl, size_t ctl_len,
                   const uint8_t *payload, size_t payload_len) {
  if (c->closing) return NODUS_ENOCONN;
  bool frag = dist_hs_flags(c->hs) & DFLAG_FRAGMENTS;
  dist_msg_writer w;
  int rc = dist_msg_writer_init(&w, c->up && frag, ++c->frag_seq, ctl,
                                ctl_len, payload, payload_len,
                                c->cfg.fragment_size);
  if (rc) return rc;
  dist_iov iov[3];
  int n;
  while ((n = dist_msg_writer_next(&w, iov)) > 0) {
    for (int i = 0; i < n; i++) {
      uint8_t *p = out_reserve(&c->out, iov[i].len);
      if (!p) return NODUS_ENOMEM;
      memcpy(p, iov[i].base, iov[i].len);
    }
  }
  arm_flush(c);
  return 0;
}

/* Handshake messages go out directly, one write at a time. */
static void write_hs_output(dist_conn *c);

static void on_hs_write_done(uv_write_t *req, int status) {
  dist_conn *c = req->data;
  free(c->hs_write);
  c->hs_write = NULL;
  c->writing = false;
  if (status < 0 && status != UV_ECANCELED) {
    dist_conn_close(c, "handshake write failed");
    return;
  }
  write_hs_output(c); /* what the handshake produced meanwhile */
  if (c->up && c->out.len) arm_flush(c);
}

static void on_hs_write_done(uv_write_t *req, int status);

static void write_hs_output(dist_conn *c) {
  size_t len;
  const uint8_t *p = dist_hs_output(c->hs, &len);
  if (!len || c->writing || c->closing) return;
  c->hs_write = malloc(len);
  if (!c->hs_write) {
    dist_conn_close(c, "out of memory");
    return;
  }
  memcpy(c->hs_write, p, len);
  dist_hs_consumed(c->hs, len);
  uv_buf_t buf = uv_buf_init((char *)c->hs_write, (unsigned)len);
  c->writing = true;
  if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1,
               on_hs_write_done)) {
    c->writing = false;
    dist_conn_close(c, "handshake write failed");
  }
}

/* ---- ticks ------------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  dist_conn *c = t->data;
  if (c->closing) return;
  if (!c->up) {
    dist_conn_close(c, c->nok_wait ? "simultaneous connect: the peer's own "
                                     "connection never came"
                                   : "handshake timed out");
    return;
  }
  if (dist_defrag_expire(&c->defrag, uv_now(c->cfg.loop)) ==
      DIST_DEFRAG_DROPPED)
    log_drop(c, "%s", c->defrag.why);
  if (c->read_since_tick) c->quiet_ticks = 0;
  else if (++c->quiet_ticks >= 4) {
    dist_conn_close(c, "net_tick_timeout: peer silent for a whole ticktime");
    return;
  }
  c->read_since_tick = false;
  if (!c->wrote_since_tick && !c->out.len) {
    uint8_t *p = out_reserve(&c->out, 4);
    if (p) memset(p, 0, 4);
    arm_flush(c);
  }
  c->wrote_since_tick = false;
}

/* ---- reading ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  dist_conn *c = h->data;
  *buf = uv_buf_init((char *)c->rbuf, READ_BUF_SIZE);
}

static void went_up(dist_conn *c) {
  c->up = true;
  unsigned tick = c->cfg.ticktime_ms ? c->cfg.ticktime_ms / 4 : 15000;
  if (tick == 0) tick = 1;
  uv_timer_stop(&c->timer);
  uv_timer_start(&c->timer, on_timer, tick, tick);
  if (c->cfg.cb.on_up) c->cfg.cb.on_up(c, c->cfg.arg);
  if (c->out.len) arm_flush(c);
}

static void read_frames(dist_conn *c, const uint8_t *data, size_t len) {
  while (len > 0 && !c->closing) {
    size_t used = 0, flen = 0;
    const uint8_t *frame = NULL;
    int rc = dist_frame_next(&c->reader, data, len, &used, &frame, &flen);
    data += used;
    len -= used;
    if (rc < 0) {
      char why[96];
      snprintf(why, sizeof why, "bad frame: %s", nodus_strerror(rc));
      conn_log(c, NODUS_LOG_WARN, "closing a connection: %s", why);
      dist_conn_close(c, why);
      return;
    }
    if (rc == 0) return;
    if (rc == DIST_FRAME_SKIPPED) {
      log_drop(c, "a frame of %zu bytes, over %zu (max_message)", flen,
               c->cfg.limits->max_message);
      continue;
    }
    if (flen == 0) continue; /* a tick */
    dist_msg msg;
    uint64_t now = uv_now(c->cfg.loop);
    if (dist_defrag_expire(&c->defrag, now) == DIST_DEFRAG_DROPPED)
      log_drop(c, "%s", c->defrag.why);
    rc = dist_defrag_frame(&c->defrag, frame, flen, now, &msg);
    if (rc == DIST_DEFRAG_DROPPED) {
      log_drop(c, "%s", c->defrag.why);
      continue;
    }
    if (rc < 0) {
      char why[96];
      snprintf(why, sizeof why, "bad message header: %s", nodus_strerror(rc));
      conn_log(c, NODUS_LOG_WARN, "closing a connection: %s", why);
      dist_conn_close(c, why);
      return;
    }
    if (rc == 1 && c->cfg.cb.on_message)
      c->cfg.cb.on_message(c, msg.data, msg.len, msg.versioned, c->cfg.arg);
  }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  dist_conn *c = s->data;
  if (n < 0) {
    if (!c->up) { /* the handshake can tell why (e.g. a wrong cookie) */
      dist_hs_closed(c->hs);
      char why[400];
      snprintf(why, sizeof why, "handshake failed: %s", dist_hs_error(c->hs));
      dist_conn_close(c, why);
      return;
    }
    dist_conn_close(c, n == UV_EOF ? "connection closed by peer"
                                    : uv_strerror((int)n));
    return;
  }
  if (n == 0) return;
  c->read_since_tick = true;
  const uint8_t *data = (const uint8_t *)buf->base;
  size_t len = (size_t)n;
  if (!c->up) {
    size_t used = 0;
    dist_hs_result r = dist_hs_feed(c->hs, data, len, &used);
    write_hs_output(c);
    if (r == DIST_HS_FAILED && c->cfg.hs.initiator &&
        dist_hs_last_status(c->hs) == DIST_HS_STATUS_NOK) {
      /* As dist_util does after nok: wait, without reading (the peer
       * closes its side), until the peer's own connection replaces this
       * one, or the setup timer gives up. Messages queued for the peer
       * meanwhile must survive, so this connection may not go down yet. */
      conn_log(c, NODUS_LOG_DEBUG, "status nok: waiting for the peer's "
                                   "connection");
      c->nok_wait = true;
      uv_read_stop((uv_stream_t *)&c->tcp);
      return;
    }
    if (r == DIST_HS_FAILED) {
      char why[160];
      snprintf(why, sizeof why, "handshake failed: %s", dist_hs_error(c->hs));
      conn_log(c, NODUS_LOG_DEBUG, "%s", why);
      dist_conn_close(c, why);
      return;
    }
    if (!c->cfg.hs.initiator && !c->named && dist_hs_peer_info(c->hs)->name[0]) {
      c->named = true; /* decide() has run: say which peer this is */
      if (c->cfg.cb.on_named) c->cfg.cb.on_named(c, c->cfg.arg);
      if (c->closing) return;
    }
    if (r != DIST_HS_DONE) return;
    data += used;
    len -= used;
    went_up(c);
  }
  read_frames(c, data, len);
}

/* ---- connect and accept ------------------------------------------------ */

static void start_handshake(dist_conn *c) {
  uv_tcp_nodelay(&c->tcp, 1);
  if (c->cfg.hs.initiator && dist_hs_start(c->hs)) {
    dist_conn_close(c, "handshake start failed");
    return;
  }
  write_hs_output(c);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
    dist_conn_close(c, "read failed");
}

static void on_connected(uv_connect_t *req, int status) {
  dist_conn *c = req->data;
  if (c->closing) return;
  if (status < 0) {
    char why[400];
    snprintf(why, sizeof why, "connect to %s:%d failed: %s", c->host, c->port,
             uv_strerror(status));
    dist_conn_close(c, why);
    return;
  }
  start_handshake(c);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  dist_conn *c = req->data;
  c->open_handles--; /* the resolve request is done */
  if (c->closing) {
    uv_freeaddrinfo(res);
    if (c->open_handles == 0) {
      c->open_handles = 1; /* let on_handle_closed run the teardown */
      on_handle_closed((uv_handle_t *)&c->tcp);
    }
    return;
  }
  if (status < 0 || !res) {
    char why[400];
    snprintf(why, sizeof why, "cannot resolve %s: %s", c->host,
             uv_strerror(status));
    uv_freeaddrinfo(res);
    dist_conn_close(c, why);
    return;
  }
  struct sockaddr_storage addr;
  memcpy(&addr, res->ai_addr, res->ai_addrlen);
  uv_freeaddrinfo(res);
  ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)c->port);
  if (uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&addr,
                     on_connected))
    dist_conn_close(c, "connect failed");
}

int dist_conn_connect(const dist_conn_config *cfg, const char *host, int port,
                      dist_conn **out) {
  dist_conn *c;
  int rc = conn_new(cfg, true, &c);
  if (rc) return rc;
  snprintf(c->host, sizeof c->host, "%s", host);
  c->port = port;
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  c->open_handles++; /* the pending resolve holds the conn */
  if (uv_getaddrinfo(cfg->loop, &c->gai, on_resolved, c->host, NULL, &hints)) {
    c->open_handles--;
    dist_conn_close(c, "resolve failed");
  }
  *out = c;
  return 0;
}

int dist_conn_accept(const dist_conn_config *cfg, uv_stream_t *server,
                     dist_conn **out) {
  dist_conn *c;
  int rc = conn_new(cfg, false, &c);
  if (rc) return rc;
  if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
    dist_conn_close(c, "accept failed");
    return NODUS_ENET;
  }
  start_handshake(c);
  *out = c;
  return 0;
}

/* ---- accessors --------------------------------------------------------- */

const dist_hs_peer *dist_conn_peer(const dist_conn *c) {
  return dist_hs_peer_info(c->hs);
}
uint64_t dist_conn_flags(const dist_conn *c) { return dist_hs_flags(c->hs); }
bool dist_conn_auth_failed(const dist_conn *c) {
  return c && !c->up && dist_hs_auth_failed(c->hs);
}

dist_hs_status dist_conn_status(const dist_conn *c) {
  return dist_hs_last_status(c->hs);
}
void *dist_conn_user(const dist_conn *c) { return c->user; }
void dist_conn_set_user(dist_conn *c, void *user) { c->user = user; }
