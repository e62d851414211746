/* EPMD client: see epmd_client.h.
 *
 * One epmd_op drives one TCP conversation: resolve (if the host is not an
 * IP literal), connect, write one request, read the reply. A timer bounds
 * the whole thing. The op owns a timer, maybe a getaddrinfo request and
 * maybe a TCP handle; `refs` counts those still open, and the op is freed
 * in the close callback that brings it to zero, never synchronously, so
 * user callbacks may close ops freely. */
#include "epmd_client.h"

#include <stdlib.h>
#include <string.h>

#include "nodus/error.h"

enum op_kind { OP_REGISTER, OP_PORT_PLEASE, OP_NAMES };

/* A NAMES reply from a sane epmd is a line per node; 1 MiB is plenty. */
#define NAMES_REPLY_MAX (1u << 20)

struct epmd_op {
  uv_loop_t *loop;
  enum op_kind kind;
  epmd_client_opts opts;
  int port;
  uint8_t req[EPMD_REQ_MAX + 2];
  size_t req_len;

  uv_timer_t timer;
  uv_getaddrinfo_t gai;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  bool gai_pending, tcp_open;
  int refs;          /* open handles + pending getaddrinfo */
  bool tearing_down; /* handles are being closed */
  bool user_closed;  /* epmd_unregister/epmd_cancel called */
  bool answered;     /* the result callback has run */
  bool registered;   /* register: success reported, now watching for EOF */

  uint8_t *in;
  size_t in_len, in_cap;

  void *data;
  epmd_register_cb register_cb;
  epmd_port_cb port_cb;
  epmd_names_cb names_cb;
};

static int from_uv(int err) {
  switch (err) {
    case UV_ENOMEM: return NODUS_ENOMEM;
    case UV_ETIMEDOUT: return NODUS_ETIMEDOUT;
    case UV_ECONNREFUSED:
    case UV_ECONNRESET:
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EOF:
    case UV_EAI_NONAME:
    case UV_EAI_AGAIN:
    case UV_EAI_FAIL: return NODUS_ENOCONN;
    case UV_EINVAL: return NODUS_EINVAL;
    default: return NODUS_ENET;
  }
}

int epmd_client_port(const epmd_client_opts *opts) {
  if (opts && opts->port > 0) return opts->port;
  const char *env = getenv("ERL_EPMD_PORT");
  if (env && *env) {
    char *end;
    long v = strtol(env, &end, 10);
    if (*end == '\0' && v > 0 && v <= 65535) return (int)v;
  }
  return EPMD_DEFAULT_PORT;
}

/* ---- teardown ---- */

static void maybe_free(epmd_op *op) {
  if (op->refs > 0 || !op->tearing_down) return;
  /* A registration belongs to its owner until epmd_unregister(). */
  if (op->kind == OP_REGISTER && !op->user_closed) return;
  free(op->in);
  free(op);
}

static void on_handle_closed(uv_handle_t *h) {
  epmd_op *op = h->data;
  op->refs--;
  maybe_free(op);
}

/* Closes every handle; idempotent. Frees the op later, in a callback. */
static void teardown(epmd_op *op) {
  if (op->tearing_down) return;
  op->tearing_down = true;
  /* A pending lookup can't be closed, only cancelled; its callback still
   * runs (with UV_ECANCELED) and drops its ref. */
  if (op->gai_pending) uv_cancel((uv_req_t *)&op->gai);
  if (op->tcp_open) uv_close((uv_handle_t *)&op->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&op->timer, on_handle_closed);
}

/* ---- delivering results ---- */

static void answer_register(epmd_op *op, int status, uint32_t creation) {
  if (!op->user_closed && op->register_cb)
    op->register_cb(op, status, creation, op->data);
}

/* Ends an op with a failure: tells the user once, then closes. */
static void fail(epmd_op *op, int status) {
  if (!op->answered || (op->kind == OP_REGISTER && op->registered)) {
    bool was_registered = op->registered;
    op->answered = true;
    op->registered = false;
    if (op->user_closed) {
      /* nothing to tell */
    } else if (op->kind == OP_REGISTER) {
      answer_register(op, was_registered ? NODUS_ENOCONN : status, 0);
    } else if (op->kind == OP_PORT_PLEASE) {
      op->port_cb(status, NULL, op->data);
    } else {
      op->names_cb(status, NULL, op->data);
    }
  }
  teardown(op);
}

/* ---- reading replies ---- */

static int append_input(epmd_op *op, const char *buf, size_t n, size_t max) {
  if (n > max || op->in_len > max - n) return NODUS_ETOOBIG;
  if (op->in_len + n > op->in_cap) {
    size_t cap = op->in_cap ? op->in_cap * 2 : 256;
    while (cap < op->in_len + n) cap *= 2;
    if (cap > max) cap = max;
    uint8_t *nb = realloc(op->in, cap);
    if (!nb) return NODUS_ENOMEM;
    op->in = nb;
    op->in_cap = cap;
  }
  memcpy(op->in + op->in_len, buf, n);
  op->in_len += n;
  return 0;
}

static void on_register_data(epmd_op *op) {
  uint8_t result;
  uint32_t creation;
  size_t used;
  int rc = epmd_parse_alive2_resp(op->in, op->in_len, &result, &creation,
                                  &used);
  if (rc == NODUS_ETRUNC) return;
  if (rc < 0) return fail(op, rc);
  uv_timer_stop(&op->timer);
  op->answered = true;
  if (result != 0) {
    answer_register(op, NODUS_EEXIST, 0);
    teardown(op);
    return;
  }
  op->registered = true;
  op->in_len = 0;
  answer_register(op, 0, creation);
}

static void on_port_data(epmd_op *op, bool eof) {
  uint8_t result = 0;
  epmd_node_info node;
  size_t used;
  int rc = epmd_parse_port2_resp(op->in, op->in_len, &result, &node, &used);
  if (rc == NODUS_ETRUNC && !eof) return;
  if (rc == NODUS_ETRUNC) rc = NODUS_EPROTO; /* closed mid-reply */
  if (rc < 0) return fail(op, rc);
  if (result != 0) return fail(op, NODUS_ENOTFOUND);
  op->answered = true;
  if (!op->user_closed) op->port_cb(0, &node, op->data);
  teardown(op);
}

/* NAMES replies end at EOF: parse everything then. */
static void on_names_eof(epmd_op *op) {
  epmd_name_list list = {0};
  if (op->in_len > 0) {
    int rc = epmd_parse_names_head(op->in, op->in_len, &list.epmd_port);
    if (rc < 0) return fail(op, NODUS_EPROTO);
    const uint8_t *text = op->in + 4;
    size_t len = op->in_len - 4, pos = 0, n = 0;
    epmd_name_entry e;
    while (epmd_names_next(text, len, &pos, &e)) n++;
    if (n) {
      list.entries = calloc(n, sizeof *list.entries);
      if (!list.entries) return fail(op, NODUS_ENOMEM);
      pos = 0;
      while (list.count < n && epmd_names_next(text, len, &pos, &e))
        list.entries[list.count++] = e;
    }
  } /* else: epmd closed without a word; erl_epmd reads that as no names */
  op->answered = true;
  if (!op->user_closed) op->names_cb(0, &list, op->data);
  epmd_name_list_free(&list);
  teardown(op);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  if (suggested > 65536) suggested = 65536;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  epmd_op *op = s->data;
  if (op->tearing_down) {
    free(buf->base);
    return;
  }
  if (nread < 0) {
    free(buf->base);
    if (nread != UV_EOF) return fail(op, from_uv((int)nread));
    if (op->kind == OP_NAMES) return on_names_eof(op);
    if (op->kind == OP_PORT_PLEASE) return on_port_data(op, true);
    /* register: epmd closed before answering, or dropped us later */
    return fail(op, op->registered ? NODUS_ENOCONN : NODUS_EPROTO);
  }
  if (nread == 0 || (op->kind == OP_REGISTER && op->registered)) {
    /* epmd says nothing after ALIVE2_X_RESP; ignore anything it does say */
    free(buf->base);
    return;
  }
  size_t max = op->kind == OP_NAMES         ? NAMES_REPLY_MAX
               : op->kind == OP_PORT_PLEASE ? EPMD_PORT2_RESP_MAX
                                            : 64;
  int rc = append_input(op, buf->base, (size_t)nread, max);
  free(buf->base);
  if (rc < 0) return fail(op, rc == NODUS_ETOOBIG ? NODUS_EPROTO : rc);
  if (op->kind == OP_REGISTER) on_register_data(op);
  else if (op->kind == OP_PORT_PLEASE) on_port_data(op, false);
}

/* ---- connecting and writing ---- */

static void on_written(uv_write_t *w, int status) {
  epmd_op *op = w->data;
  if (op->tearing_down) return;
  if (status < 0) fail(op, from_uv(status));
}

static void on_connected(uv_connect_t *c, int status) {
  epmd_op *op = c->data;
  if (op->tearing_down) return;
  if (status < 0) return fail(op, from_uv(status));
  uv_buf_t b = uv_buf_init((char *)op->req, (unsigned)op->req_len);
  op->write_req.data = op;
  int rc = uv_write(&op->write_req, (uv_stream_t *)&op->tcp, &b, 1,
                    on_written);
  if (rc == 0) rc = uv_read_start((uv_stream_t *)&op->tcp, on_alloc, on_read);
  if (rc < 0) fail(op, from_uv(rc));
}

static int start_connect(epmd_op *op, const struct sockaddr *addr) {
  int rc = uv_tcp_init(op->loop, &op->tcp);
  if (rc < 0) return from_uv(rc);
  op->tcp.data = op;
  op->tcp_open = true;
  op->refs++;
  uv_tcp_nodelay(&op->tcp, 1);
  op->connect_req.data = op;
  rc = uv_tcp_connect(&op->connect_req, &op->tcp, addr, on_connected);
  return rc < 0 ? from_uv(rc) : 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  epmd_op *op = req->data;
  op->gai_pending = false;
  op->refs--;
  if (op->tearing_down) {
    uv_freeaddrinfo(res);
    maybe_free(op);
    return;
  }
  int rc = status < 0 ? from_uv(status) : NODUS_ENOCONN;
  if (status == 0 && res) {
    struct sockaddr_storage ss;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    if (ss.ss_family == AF_INET)
      ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)op->port);
    else
      ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)op->port);
    rc = start_connect(op, (struct sockaddr *)&ss);
  }
  uv_freeaddrinfo(res);
  if (rc < 0) fail(op, rc);
}

static void on_timeout(uv_timer_t *t) {
  epmd_op *op = t->data;
  fail(op, NODUS_ETIMEDOUT);
}

/* Starts resolving/connecting. On failure the op is already torn down
 * (its handles close asynchronously) and no callback will run. */
static int op_start(epmd_op *op) {
  const char *host = op->opts.host ? op->opts.host : "127.0.0.1";
  op->port = epmd_client_port(&op->opts);
  unsigned tmo = op->opts.timeout_ms ? op->opts.timeout_ms
                                     : EPMD_CLIENT_TIMEOUT_MS;
  int rc = uv_timer_init(op->loop, &op->timer);
  if (rc < 0) {
    free(op);
    return from_uv(rc);
  }
  op->timer.data = op;
  op->refs++;
  uv_timer_start(&op->timer, on_timeout, tmo, 0);

  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  if (uv_ip4_addr(host, op->port, &a4) == 0) {
    rc = start_connect(op, (struct sockaddr *)&a4);
  } else if (uv_ip6_addr(host, op->port, &a6) == 0) {
    rc = start_connect(op, (struct sockaddr *)&a6);
  } else {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    op->gai.data = op;
    rc = uv_getaddrinfo(op->loop, &op->gai, on_resolved, host, NULL, &hints);
    if (rc == 0) {
      op->gai_pending = true;
      op->refs++;
    } else {
      rc = from_uv(rc);
    }
  }
  if (rc < 0) {
    op->user_closed = true; /* the caller never gets a handle */
    op->answered = true;
    teardown(op);
  }
  return rc;
}

static epmd_op *op_new(uv_loop_t *loop, const epmd_client_opts *opts,
                       enum op_kind kind, void *data) {
  epmd_op *op = calloc(1, sizeof *op);
  if (!op) return NULL;
  op->loop = loop;
  op->kind = kind;
  if (opts) op->opts = *opts;
  op->data = data;
  return op;
}

/* ---- public ---- */

/* Copies the part of node_name before '@' into node->name. */
static int alive_part(const char *node_name, epmd_node_info *node) {
  if (!node_name) return NODUS_EINVAL;
  const char *at = strchr(node_name, '@');
  size_t n = at ? (size_t)(at - node_name) : strlen(node_name);
  if (!epmd_name_valid(node_name, n)) return NODUS_EBADNAME;
  memcpy(node->name, node_name, n);
  node->name[n] = '\0';
  node->name_len = n;
  return 0;
}

int epmd_register(uv_loop_t *loop, const epmd_client_opts *opts,
                  const char *node_name, uint16_t listen_port, bool hidden,
                  epmd_register_cb cb, void *data, epmd_op **out) {
  if (!loop || !out) return NODUS_EINVAL;
  epmd_node_info node;
  memset(&node, 0, sizeof node);
  int rc = alive_part(node_name, &node);
  if (rc < 0) return rc;
  node.port = listen_port;
  node.node_type = hidden ? EPMD_NODE_HIDDEN : EPMD_NODE_NORMAL;
  node.protocol = EPMD_PROTO_TCP;
  node.highest = EPMD_DIST_HIGHEST;
  node.lowest = EPMD_DIST_LOWEST;
  epmd_op *op = op_new(loop, opts, OP_REGISTER, data);
  if (!op) return NODUS_ENOMEM;
  op->register_cb = cb;
  rc = epmd_encode_alive2_req(op->req, sizeof op->req, &node);
  if (rc < 0) {
    free(op);
    return rc;
  }
  op->req_len = (size_t)rc;
  rc = op_start(op);
  if (rc < 0) return rc;
  *out = op;
  return 0;
}

void epmd_unregister(epmd_op *op) {
  if (!op || op->user_closed) return;
  op->user_closed = true;
  teardown(op);
  maybe_free(op);
}

void epmd_cancel(epmd_op *op) { epmd_unregister(op); }

int epmd_port_please(uv_loop_t *loop, const epmd_client_opts *opts,
                     const char *node_name, epmd_port_cb cb, void *data,
                     epmd_op **out) {
  if (!loop || !cb) return NODUS_EINVAL;
  epmd_node_info node;
  int rc = alive_part(node_name, &node);
  if (rc < 0) return rc;
  epmd_op *op = op_new(loop, opts, OP_PORT_PLEASE, data);
  if (!op) return NODUS_ENOMEM;
  op->port_cb = cb;
  rc = epmd_encode_port_please2_req(op->req, sizeof op->req, node.name);
  if (rc < 0) {
    free(op);
    return rc;
  }
  op->req_len = (size_t)rc;
  rc = op_start(op);
  if (rc < 0) return rc;
  if (out) *out = op;
  return 0;
}

int epmd_names(uv_loop_t *loop, const epmd_client_opts *opts,
               epmd_names_cb cb, void *data, epmd_op **out) {
  if (!loop || !cb) return NODUS_EINVAL;
  epmd_op *op = op_new(loop, opts, OP_NAMES, data);
  if (!op) return NODUS_ENOMEM;
  op->names_cb = cb;
  op->req_len = (size_t)epmd_encode_names_req(op->req, sizeof op->req);
  int rc = op_start(op);
  if (rc < 0) return rc;
  if (out) *out = op;
  return 0;
}

void epmd_name_list_free(epmd_name_list *list) {
  if (!list) return;
  free(list->entries);
  list->entries = NULL;
  list->count = 0;
}

/* ---- blocking wrappers ---- */

struct sync_result {
  int status;
  epmd_name_list *names;
  epmd_node_info *node;
};

static void sync_names_cb(int status, const epmd_name_list *list,
                          void *data) {
  struct sync_result *r = data;
  r->status = status;
  if (status < 0) return;
  *r->names = *list;
  r->names->entries = NULL;
  if (list->count) {
    r->names->entries = malloc(list->count * sizeof *list->entries);
    if (!r->names->entries) {
      r->names->count = 0;
      r->status = NODUS_ENOMEM;
      return;
    }
    memcpy(r->names->entries, list->entries,
           list->count * sizeof *list->entries);
  }
}

static void sync_port_cb(int status, const epmd_node_info *node, void *data) {
  struct sync_result *r = data;
  r->status = status;
  if (status == 0) *r->node = *node;
}

/* Runs a private loop until the op has finished and closed its handles. */
static int run_private(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  if (uv_loop_close(loop) == UV_EBUSY) {
    uv_run(loop, UV_RUN_DEFAULT); /* should not happen: all ops close */
    uv_loop_close(loop);
  }
  return 0;
}

int epmd_names_sync(const epmd_client_opts *opts, epmd_name_list *out) {
  if (!out) return NODUS_EINVAL;
  memset(out, 0, sizeof *out);
  uv_loop_t loop;
  int rc = uv_loop_init(&loop);
  if (rc < 0) return from_uv(rc);
  struct sync_result r = {NODUS_EIO, out, NULL};
  rc = epmd_names(&loop, opts, sync_names_cb, &r, NULL);
  run_private(&loop);
  return rc < 0 ? rc : r.status;
}

int epmd_port_please_sync(const epmd_client_opts *opts, const char *node_name,
                          epmd_node_info *out) {
  if (!out) return NODUS_EINVAL;
  uv_loop_t loop;
  int rc = uv_loop_init(&loop);
  if (rc < 0) return from_uv(rc);
  struct sync_result r = {NODUS_EIO, NULL, out};
  rc = epmd_port_please(&loop, opts, node_name, sync_port_cb, &r, NULL);
  run_private(&loop);
  return rc < 0 ? rc : r.status;
}
