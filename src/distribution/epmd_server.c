/* Embedded EPMD server: see epmd_server.h.
 *
 * Like epmd, every connection carries one request. ALIVE2 keeps the
 * connection (the registration dies with it); every other request gets its
 * reply and the connection is closed once the reply is written.
 *
 * Creations: OTP 25's epmd hands a new name the current time in seconds
 * and a name re-registered after its node went away the previous creation
 * plus one (checked against the real binary), so a restarted node gets a
 * creation its peers haven't seen for that name. We keep one counter
 * seeded from the clock and give every registration the next value, which
 * has the same property without remembering dead names. Old (version 5)
 * nodes get a 16-bit creation cycling 1..3, as epmd does for ALIVE2_RESP. */
#include "epmd_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodus/error.h"
#include "nodus/node.h" /* NODUS_LOG_* */

#define DEFAULT_IDLE_MS 10000
#define DEFAULT_MAX_CLIENTS 1024

typedef struct client client;

typedef struct registration {
  struct registration *next;
  epmd_node_info node;
  uint32_t creation;
  client *owner;
} registration;

struct client {
  epmd_server *srv;
  client *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t idle;
  int refs;          /* handles not yet closed */
  bool closing;
  bool local;        /* peer on the loopback interface */
  bool answered;     /* its one request is handled; ignore further input */
  bool close_after_write;
  registration *reg;
  size_t len;
  uint8_t buf[EPMD_REQ_MAX + 2];
};

struct epmd_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  epmd_server_opts opts;
  int port;
  client *clients;
  unsigned nclients;
  registration *regs; /* newest first, as epmd lists them */
  size_t nregs;
  uint32_t next_creation;
  uint16_t old_creation;
  int refs; /* listener + live clients */
  bool closing;
  void (*done)(void *);
  void *done_arg;
};

static void client_read_start(client *c);

typedef struct write_req {
  uv_write_t req;
  client *c;
  uint8_t data[];
} write_req;

static void slog(epmd_server *srv, int level, const char *fmt, ...) {
  if (!srv->opts.log) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  srv->opts.log(srv->opts.arg, level, msg);
}

static void emit(epmd_server *srv, epmd_server_event ev,
                 const epmd_node_info *node, uint32_t creation) {
  if (!srv->closing && srv->opts.on_event)
    srv->opts.on_event(srv->opts.arg, ev, node, creation);
}

static void server_unref(epmd_server *srv) {
  if (--srv->refs > 0) return;
  void (*done)(void *) = srv->done;
  void *arg = srv->done_arg;
  free(srv);
  if (done) done(arg);
}

/* ---- registrations ---- */

static registration *find_reg(epmd_server *srv, const char *name) {
  for (registration *r = srv->regs; r; r = r->next)
    if (!strcmp(r->node.name, name)) return r;
  return NULL;
}

static void drop_reg(epmd_server *srv, registration *reg) {
  for (registration **p = &srv->regs; *p; p = &(*p)->next) {
    if (*p == reg) {
      *p = reg->next;
      break;
    }
  }
  srv->nregs--;
  emit(srv, EPMD_EV_UNREGISTERED, &reg->node, reg->creation);
  free(reg);
}

static uint32_t take_creation(epmd_server *srv) {
  /* 0 means "any" in pids and refs, 1..3 are the old 2-bit values. */
  if (srv->next_creation < 4) srv->next_creation = 4;
  return srv->next_creation++;
}

/* ---- clients ---- */

static void on_client_handle_closed(uv_handle_t *h) {
  client *c = h->data;
  if (--c->refs > 0) return;
  epmd_server *srv = c->srv;
  free(c);
  server_unref(srv);
}

static void client_close(client *c) {
  if (c->closing) return;
  c->closing = true;
  epmd_server *srv = c->srv;
  if (c->prev) c->prev->next = c->next;
  else srv->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->nclients--;
  if (c->reg) {
    drop_reg(srv, c->reg);
    c->reg = NULL;
  }
  uv_close((uv_handle_t *)&c->tcp, on_client_handle_closed);
  uv_close((uv_handle_t *)&c->idle, on_client_handle_closed);
}

static void client_reject(client *c, const char *why) {
  slog(c->srv, NODUS_LOG_WARN, "epmd: closing client: %s", why);
  client_close(c);
}

static void on_written(uv_write_t *w, int status) {
  write_req *wr = (write_req *)w;
  client *c = wr->c;
  free(wr);
  if (status < 0 || c->close_after_write) client_close(c);
}

/* Queues a reply. `last`: close the connection once it is written. */
static void client_send(client *c, const uint8_t *data, size_t len,
                        bool last) {
  if (c->closing) return;
  c->close_after_write = last;
  write_req *wr = malloc(sizeof *wr + len);
  if (!wr) return client_reject(c, "out of memory");
  wr->c = c;
  memcpy(wr->data, data, len);
  uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)len);
  if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
    free(wr);
    client_close(c);
  }
}

/* ---- requests ---- */

static void handle_alive2(client *c, const epmd_node_info *node) {
  epmd_server *srv = c->srv;
  uint8_t out[8];
  bool v6 = node->highest >= 6;
  int n;
  if (!c->local && !srv->opts.relaxed)
    return client_reject(c, "ALIVE2 from a remote host");
  if (find_reg(srv, node->name)) {
    slog(srv, NODUS_LOG_INFO, "epmd: name %s already registered",
         node->name);
    n = v6 ? epmd_encode_alive2_x_resp(out, sizeof out, 1, 0)
           : epmd_encode_alive2_resp(out, sizeof out, 1, 0);
    return client_send(c, out, (size_t)n, true);
  }
  registration *reg = calloc(1, sizeof *reg);
  if (!reg) return client_reject(c, "out of memory");
  reg->node = *node;
  reg->owner = c;
  if (v6) {
    reg->creation = take_creation(srv);
    n = epmd_encode_alive2_x_resp(out, sizeof out, 0, reg->creation);
  } else {
    srv->old_creation = (uint16_t)(srv->old_creation % 3 + 1);
    reg->creation = srv->old_creation;
    n = epmd_encode_alive2_resp(out, sizeof out, 0, srv->old_creation);
  }
  reg->next = srv->regs;
  srv->regs = reg;
  srv->nregs++;
  c->reg = reg;
  /* A registered node talks no more; it may stay as long as it lives. */
  uv_timer_stop(&c->idle);
  emit(srv, EPMD_EV_REGISTERED, &reg->node, reg->creation);
  client_send(c, out, (size_t)n, false);
}

static void handle_port_please(client *c, const char *name) {
  uint8_t out[EPMD_PORT2_RESP_MAX];
  registration *reg = find_reg(c->srv, name);
  int n = epmd_encode_port2_resp(out, sizeof out, reg ? &reg->node : NULL);
  if (n < 0) return client_reject(c, "cannot encode PORT2_RESP");
  client_send(c, out, (size_t)n, true);
}

static void handle_names(client *c) {
  epmd_server *srv = c->srv;
  size_t cap = 4 + srv->nregs * (EPMD_NAME_MAX + 32);
  uint8_t *out = malloc(cap);
  if (!out) return client_reject(c, "out of memory");
  size_t len = (size_t)epmd_encode_names_head(out, cap, (uint32_t)srv->port);
  for (registration *r = srv->regs; r; r = r->next) {
    int n = epmd_encode_names_line(out + len, cap - len, r->node.name,
                                   r->node.port);
    if (n > 0) len += (size_t)n;
  }
  client_send(c, out, len, true);
  free(out);
}

static void handle_kill(client *c) {
  epmd_server *srv = c->srv;
  bool ok = srv->opts.allow_kill && srv->nregs == 0 &&
            (c->local || srv->opts.relaxed);
  client_send(c, (const uint8_t *)(ok ? "OK" : "NO"), 2, true);
  if (ok) emit(srv, EPMD_EV_KILLED, NULL, 0);
}

static void handle_request(client *c, const uint8_t *body, size_t len) {
  epmd_request req;
  int rc = epmd_parse_request(body, len, &req);
  if (rc < 0) {
    char why[64];
    snprintf(why, sizeof why, "bad request (op %u): %s", body[0],
             nodus_strerror(rc));
    return client_reject(c, why);
  }
  c->answered = true;
  uv_read_stop((uv_stream_t *)&c->tcp);
  switch (req.op) {
    case EPMD_ALIVE2_REQ:
      handle_alive2(c, &req.node);
      /* keep reading to see EOF; further bytes are ignored */
      if (!c->closing && c->reg) client_read_start(c);
      break;
    case EPMD_PORT_PLEASE2_REQ: handle_port_please(c, req.node.name); break;
    case EPMD_NAMES_REQ: handle_names(c); break;
    case EPMD_KILL_REQ: handle_kill(c); break;
    default: client_reject(c, "unsupported request"); break;
  }
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  client *c = h->data;
  (void)suggested;
  /* A registered client's further bytes are dropped: reuse the buffer. */
  if (c->answered) c->len = 0;
  buf->base = (char *)c->buf + c->len;
  buf->len = sizeof c->buf - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client *c = s->data;
  (void)buf;
  if (c->closing) return;
  if (nread < 0) {
    /* EOF or error: for a registered node this is its unregistration */
    if (nread != UV_EOF && !c->answered)
      slog(c->srv, NODUS_LOG_DEBUG, "epmd: client read error: %s",
           uv_strerror((int)nread));
    return client_close(c);
  }
  if (c->answered) return;
  c->len += (size_t)nread;
  const uint8_t *body;
  size_t body_len, used;
  int rc = epmd_req_split(c->buf, c->len, &body, &body_len, &used);
  if (rc == NODUS_ETRUNC) return;
  if (rc < 0) {
    char why[64];
    snprintf(why, sizeof why, "bad request length: %s", nodus_strerror(rc));
    return client_reject(c, why);
  }
  handle_request(c, body, body_len);
}

static void client_read_start(client *c) {
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    client_close(c);
}

static void on_idle(uv_timer_t *t) {
  client_reject(t->data, "no complete request in time");
}

/* ---- accepting ---- */

static bool peer_is_local(uv_tcp_t *tcp) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) < 0) return false;
  if (ss.ss_family == AF_INET) {
    const uint8_t *a =
        (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
    return a[0] == 127;
  }
  if (ss.ss_family == AF_INET6) {
    const uint8_t *a =
        ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
    static const uint8_t loop6[16] = {[15] = 1};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (!memcmp(a, loop6, 16)) return true;
    return !memcmp(a, mapped, 12) && a[12] == 127;
  }
  return false;
}

static void on_throwaway_closed(uv_handle_t *h) { free(h); }

/* Accepts and closes at once: a full server must still drain the backlog. */
static void refuse_one(epmd_server *srv) {
  uv_tcp_t *t = malloc(sizeof *t);
  if (!t) return;
  uv_tcp_init(srv->loop, t);
  uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t);
  uv_close((uv_handle_t *)t, on_throwaway_closed);
}

static void on_connection(uv_stream_t *l, int status) {
  epmd_server *srv = l->data;
  if (status < 0 || srv->closing) return;
  unsigned max = srv->opts.max_clients ? srv->opts.max_clients
                                       : DEFAULT_MAX_CLIENTS;
  if (srv->nclients >= max) {
    slog(srv, NODUS_LOG_WARN, "epmd: %u clients, refusing another", max);
    return refuse_one(srv);
  }
  client *c = calloc(1, sizeof *c);
  if (!c) return refuse_one(srv);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->idle);
  c->tcp.data = c->idle.data = c;
  c->refs = 2;
  srv->refs++;
  c->next = srv->clients;
  if (c->next) c->next->prev = c;
  srv->clients = c;
  srv->nclients++;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) return client_close(c);
  c->local = peer_is_local(&c->tcp);
  uv_tcp_nodelay(&c->tcp, 1);
  unsigned idle = srv->opts.idle_ms ? srv->opts.idle_ms : DEFAULT_IDLE_MS;
  uv_timer_start(&c->idle, on_idle, idle, 0);
  client_read_start(c);
}

/* ---- the server ---- */

static int from_uv(int err) {
  switch (err) {
    case UV_EADDRINUSE: return NODUS_EEXIST;
    case UV_EINVAL:
    case UV_EADDRNOTAVAIL: return NODUS_EINVAL;
    case UV_ENOMEM: return NODUS_ENOMEM;
    default: return NODUS_ENET;
  }
}

static int server_bind(epmd_server *srv, const char *address) {
  struct sockaddr_storage ss;
  if (uv_ip4_addr(address, srv->opts.port, (struct sockaddr_in *)&ss) &&
      uv_ip6_addr(address, srv->opts.port, (struct sockaddr_in6 *)&ss))
    return NODUS_EINVAL;
  int rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, 128,
                              on_connection);
  if (rc < 0) return from_uv(rc);
  int len = sizeof ss;
  rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
  if (rc < 0) return from_uv(rc);
  srv->port = ntohs(ss.ss_family == AF_INET
                        ? ((struct sockaddr_in *)&ss)->sin_port
                        : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

static void on_listener_closed(uv_handle_t *h) { server_unref(h->data); }

int epmd_server_start(uv_loop_t *loop, const epmd_server_opts *opts,
                      epmd_server **out) {
  if (!loop || !opts || !out || opts->port < 0 || opts->port > 65535)
    return NODUS_EINVAL;
  epmd_server *srv = calloc(1, sizeof *srv);
  if (!srv) return NODUS_ENOMEM;
  srv->loop = loop;
  srv->opts = *opts;
  srv->next_creation = (uint32_t)time(NULL);
  int rc = uv_tcp_init(loop, &srv->listener);
  if (rc < 0) {
    free(srv);
    return from_uv(rc);
  }
  srv->listener.data = srv;
  srv->refs = 1;
  rc = server_bind(srv, opts->address ? opts->address : "127.0.0.1");
  if (rc < 0) {
    srv->closing = true;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    return rc;
  }
  srv->opts.address = NULL; /* not ours to keep */
  *out = srv;
  return 0;
}

int epmd_server_port(const epmd_server *srv) { return srv ? srv->port : 0; }

size_t epmd_server_count(const epmd_server *srv) {
  return srv ? srv->nregs : 0;
}

void epmd_server_close(epmd_server *srv, void (*done)(void *), void *arg) {
  if (!srv || srv->closing) return;
  srv->closing = true; /* also silences events */
  srv->done = done;
  srv->done_arg = arg;
  while (srv->clients) client_close(srv->clients);
  uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
