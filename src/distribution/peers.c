/* The peer table: one entry per node name, its connection (or the attempt
 * to make one) and the messages waiting for it; see peers.h. */
#include "distribution/peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distribution/conn.h"
#include "distribution/epmd_client.h"
#include "nodus/error.h"
#include "nodus/node.h"
#include "term/idmap.h"

/* A message that waits for the handshake, encoded: control, then payload. */
typedef struct pending_msg {
  struct pending_msg *next;
  size_t ctl_len, payload_len;
  uint8_t bytes[];
} pending_msg;

struct dist_peer {
  nodus_atom name;
  dist_peers *ps;
  char host[256];
  struct epmd_op *resolving; /* port please in flight */
  dist_conn *conn;
  bool up;
  bool hidden;   /* up, and the peer is a hidden node */
  bool incoming; /* conn is an accepted one, still in its handshake */
  pending_msg *pending, *pending_tail;
  max_align_t user[]; /* cfg.user_size bytes */
};

struct dist_peers {
  dist_peers_config cfg; /* cfg.limits: shared by every connection */
  nodus_decode_opts decode_opts;
  char this_name[256];
  char cookie[256];
  idmap peers;        /* atom -> dist_peer */
  idmap ports;        /* atom -> port given by dist_peers_set_port */
  idmap auth_refused; /* atom -> (void *)1: its last handshake failed on
                         the cookie */
  uv_tcp_t listener;
  bool listening, stopped;
};

static void peers_log(dist_peers *ps, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void peers_log(dist_peers *ps, int level, const char *fmt, ...) {
  if (!ps->cfg.log) return;
  va_list ap;
  va_start(ap, fmt);
  ps->cfg.log(ps->cfg.arg, level, fmt, ap);
  va_end(ap);
}

static void conn_log(void *arg, int level, const char *msg) {
  peers_log(arg, level, "%s", msg);
}

/* BEAM's nodedown_reason for why a connection that was up ended. */
static nodus_atom nodedown_reason(const char *why) {
  const char *r = !strncmp(why, "net_tick_timeout", 16) ? "net_tick_timeout"
                  : !strncmp(why, "disconnect", 10)     ? "disconnect"
                                                        : "connection_closed";
  nodus_atom a;
  return nodus_atom_intern(r, strlen(r), &a) ? NODUS_ATOM_EMPTY : a;
}

static void pending_clear(dist_peer *p) {
  while (p->pending) {
    pending_msg *m = p->pending;
    p->pending = m->next;
    free(m);
  }
  p->pending_tail = NULL;
}

/* p, out of the table already, goes: its owner hears of it, then it is
 * freed. */
static void peer_leave(dist_peers *ps, dist_peer *p, nodus_atom reason) {
  if (p->resolving) epmd_cancel(p->resolving);
  pending_clear(p);
  dist_peer_down d = {.name = p->name,
                      .user = p->user,
                      .was_up = p->up,
                      .hidden = p->hidden,
                      .reason = reason};
  if (ps->cfg.cb.on_down) ps->cfg.cb.on_down(&d, ps->cfg.arg);
  free(p);
}

/* The peer is gone: say why, forget it, and tell the owner. */
static void peer_down(dist_peers *ps, dist_peer *p, const char *reason) {
  const char *text = nodus_atom_text(p->name, NULL);
  if (p->up)
    peers_log(ps, NODUS_LOG_INFO, "nodedown %s: %s", text, reason);
  else if (p->incoming)
    peers_log(ps, NODUS_LOG_WARN, "connection from %s refused: %s", text,
              reason);
  else
    peers_log(ps, NODUS_LOG_WARN, "cannot connect to %s: %s", text, reason);
  if (p->conn) dist_conn_set_user(p->conn, NULL);
  idmap_del(&ps->peers, p->name);
  peer_leave(ps, p, nodedown_reason(reason));
}

static dist_peer *peer_new(dist_peers *ps, nodus_atom name) {
  dist_peer *p = calloc(1, sizeof *p + ps->cfg.user_size);
  if (!p || idmap_put(&ps->peers, name, p)) {
    free(p);
    return NULL;
  }
  p->name = name;
  p->ps = ps;
  return p;
}

/* The atom of a name a handshake gave, only if it exists already: until
 * the peer has proved the cookie its name stays text, so a flood of
 * fresh names cannot fill the atom table. A name that is no atom yet
 * belongs to no peer (the table is keyed by atoms) and is not ours. */
static bool known_peer_atom(const dist_hs_peer *info, nodus_atom *name) {
  return nodus_atom_lookup(info->name, strlen(info->name), name) == 0;
}

/* ---- handshake decisions and connection events -------------------------- */

static dist_hs_status decide(void *arg, const dist_hs_peer *info) {
  dist_peers *ps = arg;
  nodus_atom name;
  if (!known_peer_atom(info, &name)) return DIST_HS_STATUS_OK;
  if (name == ps->cfg.this_node) return DIST_HS_STATUS_NOT_ALLOWED;
  dist_peer *p = idmap_get(&ps->peers, name);
  if (!p) return DIST_HS_STATUS_OK;
  if (p->up) {
    /* A restarted peer, or a half-open stream; or only a late attempt of
     * a simultaneous connect that the peer has dropped already. As BEAM,
     * ask the peer ('alive'); if it says true, on_up replaces the old
     * connection. */
    return DIST_HS_STATUS_ALIVE;
  }
  /* Simultaneous connect: the larger name keeps its own attempt. */
  if (strcmp(ps->this_name, info->name) > 0) return DIST_HS_STATUS_NOK;
  if (p->conn) {
    dist_conn *ours = p->conn;
    p->conn = NULL;
    dist_conn_set_user(ours, NULL);
    dist_conn_close(ours, "simultaneous connect: using the peer's");
  }
  if (p->resolving) { /* or we would dial it anyway once epmd answers */
    epmd_cancel(p->resolving);
    p->resolving = NULL;
  }
  return DIST_HS_STATUS_OK_SIMULTANEOUS;
}

/* An incoming connection named its peer and we let it go on: from now on
 * it is that peer's connection attempt, so sends to the peer wait for it
 * rather than dial a second connection that the peer would take for a
 * reconnect (and drop the first for). */
static void on_named(dist_conn *c, void *arg) {
  dist_peers *ps = arg;
  dist_hs_status st = dist_conn_status(c);
  nodus_atom name;
  /* A name that is no atom yet: nobody sends to it, so there is nothing
   * to tie the attempt to; on_up names it once the cookie is proved. */
  if ((st != DIST_HS_STATUS_OK && st != DIST_HS_STATUS_OK_SIMULTANEOUS) ||
      !known_peer_atom(dist_conn_peer(c), &name))
    return;
  dist_peer *p = idmap_get(&ps->peers, name);
  if (!p && !(p = peer_new(ps, name))) return;
  if (p->conn || p->up) return;
  p->conn = c;
  p->incoming = true;
  dist_conn_set_user(c, p);
}

/* The peer says it still has a connection to us: replace it unless we
 * have one up too (then this attempt is a stale one). */
static bool alive_replace(void *arg, const dist_hs_peer *info) {
  dist_peers *ps = arg;
  nodus_atom name;
  if (!known_peer_atom(info, &name)) return true; /* no peer of that name */
  dist_peer *p = idmap_get(&ps->peers, name);
  return !p || !p->up;
}

static void flush_pending(dist_peer *p) {
  pending_msg *m;
  while ((m = p->pending)) {
    p->pending = m->next;
    dist_conn_send(p->conn, m->bytes, m->ctl_len,
                   m->payload_len ? m->bytes + m->ctl_len : NULL,
                   m->payload_len);
    free(m);
  }
  p->pending_tail = NULL;
}

static void on_up(dist_conn *c, void *arg) {
  dist_peers *ps = arg;
  const dist_hs_peer *info = dist_conn_peer(c);
  nodus_atom name;
  /* Authenticated now: the name may become an atom, from the table's
   * reserve if peers' terms have used up the rest. */
  int rc = nodus_atom_intern(info->name, strlen(info->name), &name);
  if (rc) {
    char why[160];
    snprintf(why, sizeof why, "cannot name the peer: %s",
             nodus_strerror(rc));
    dist_conn_close(c, why); /* on_down says so */
    return;
  }
  dist_peer *p = idmap_get(&ps->peers, name);
  if (p && p->up && p->conn != c) {
    /* The peer answered 'alive' with true: it lost the old connection. */
    dist_conn *old = p->conn;
    peer_down(ps, p, "peer reconnected");
    if (old) dist_conn_close(old, "replaced by a new connection");
    p = NULL;
  }
  if (!p && !(p = peer_new(ps, name))) {
    dist_conn_close(c, "out of memory");
    return;
  }
  if (p->conn && p->conn != c) { /* our losing attempt */
    dist_conn_set_user(p->conn, NULL);
    dist_conn_close(p->conn, "superseded");
  }
  if (p->resolving) {
    epmd_cancel(p->resolving);
    p->resolving = NULL;
  }
  p->conn = c;
  p->up = true;
  p->hidden = !(dist_conn_flags(c) & DFLAG_PUBLISHED);
  p->incoming = false;
  dist_conn_set_user(c, p);
  idmap_del(&ps->auth_refused, name);
  peers_log(ps, NODUS_LOG_INFO, "nodeup %s", info->name);
  flush_pending(p);
  if (ps->cfg.cb.on_up) ps->cfg.cb.on_up(p, p->hidden, ps->cfg.arg);
}

static void on_down(dist_conn *c, const char *reason, int was_up, void *arg) {
  dist_peers *ps = arg;
  dist_peer *p = dist_conn_user(c);
  if (p && p->conn == c) {
    p->conn = NULL;
    /* Refused on the cookie, not unreachable: nodus_node_ping says so. */
    if (!was_up && dist_conn_auth_failed(c))
      idmap_put(&ps->auth_refused, p->name, (void *)1);
    peer_down(ps, p, reason);
  } else if (!was_up && !ps->stopped) {
    const dist_hs_peer *info = dist_conn_peer(c);
    /* Refusing the losing side of a simultaneous connect is routine. */
    int level = dist_conn_status(c) == DIST_HS_STATUS_NOK ? NODUS_LOG_INFO
                                                          : NODUS_LOG_WARN;
    peers_log(ps, level, "connection %s%s refused: %s",
              info && info->name[0] ? "from " : "",
              info && info->name[0] ? info->name : "", reason);
  }
}

static void on_message(dist_conn *c, const uint8_t *data, size_t len,
                       bool versioned, void *arg) {
  dist_peers *ps = arg;
  dist_peer *p = dist_conn_user(c);
  if (p && ps->cfg.cb.on_message)
    ps->cfg.cb.on_message(p, data, len, versioned, ps->cfg.arg);
}

/* Errors of a well-formed message that asks more than we give: only it
 * goes. Everything else means the stream can't be trusted. */
static bool over_a_limit(int rc) {
  return rc == NODUS_EATOMTABLE || rc == NODUS_EATOMLIMIT ||
         rc == NODUS_ETOOBIG || rc == NODUS_ETOODEEP || rc == NODUS_ENOMEM;
}

/* A message dropped for a limit: a line, unless too many came lately. */
static void log_drop(dist_peers *ps, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_drop(dist_peers *ps, const char *peer, const char *fmt,
                     ...) {
  uint64_t held;
  if (!dist_ratelimit_allow(&ps->cfg.limits.drop_log, uv_now(ps->cfg.loop),
                            &held))
    return;
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  char more[64] = "";
  if (held)
    snprintf(more, sizeof more, " (%llu more not logged)",
             (unsigned long long)held);
  peers_log(ps, NODUS_LOG_WARN, "dropped a message from %s: %s%s", peer, what,
            more);
}

const nodus_decode_opts *dist_peer_decode_opts(const dist_peer *p) {
  return &p->ps->decode_opts;
}

bool dist_peer_drop(dist_peer *p, int rc, int op, const char *why) {
  if (!over_a_limit(rc)) return false;
  log_drop(p->ps, nodus_atom_text(p->name, NULL), "%s%s%s (%s); the "
           "connection stays", op > 0 ? dist_ctl_op_name(op) : "",
           op > 0 ? ": " : "", why ? why : "undecodable", nodus_strerror(rc));
  return true;
}

int dist_peer_decode(dist_peer *p, const uint8_t *data, size_t len,
                     bool versioned, dist_ctl_msg *msg) {
  const nodus_decode_opts *o = &p->ps->decode_opts;
  int rc = versioned ? dist_ctl_decode(data, len, o, msg)
                     : dist_ctl_decode_unversioned(data, len, o, msg);
  if (!rc) return 0;
  if (dist_peer_drop(p, rc, msg->op, msg->why)) {
    dist_ctl_free(msg);
    return rc;
  }
  /* BEAM drops such a peer too. */
  char why[400], *text = NULL;
  if (rc == NODUS_EUNSUPPORTED) {
    snprintf(why, sizeof why, "unknown control message op %d", msg->op);
  } else {
    /* What was wrong (control.c says), and the control as BEAM's "Invalid
     * distribution message" shows it. */
    nodus_print_opts po = {.local_node = p->ps->cfg.this_node};
    if (msg->control.type != NODUS_T_NONE)
      nodus_print(&msg->control, &po, &text, NULL);
    snprintf(why, sizeof why, "malformed message: %s%s%s (%s)%s%.200s",
             msg->op > 0 ? dist_ctl_op_name(msg->op) : "",
             msg->op > 0 ? ": " : "", msg->why ? msg->why : "undecodable",
             nodus_strerror(rc), text ? " in " : "", text ? text : "");
    free(text);
  }
  peers_log(p->ps, NODUS_LOG_WARN, "closing the connection to %s: %s",
            nodus_atom_text(p->name, NULL), why);
  dist_ctl_free(msg);
  if (p->conn) dist_conn_close(p->conn, why);
  return rc;
}

void dist_peers_disconnect(dist_peers *ps, nodus_atom name) {
  dist_peer *p = idmap_get(&ps->peers, name);
  if (p && p->conn) dist_conn_close(p->conn, "disconnect");
}

static dist_conn_config conn_config(dist_peers *ps) {
  dist_conn_config cfg = {
      .loop = ps->cfg.loop,
      .hs = {.this_name = ps->this_name,
             .cookie = ps->cookie,
             .flags = ps->cfg.flags,
             .required_flags = DFLAG_MANDATORY_25,
             .creation = ps->cfg.creation,
             .decide = decide,
             .arg = ps},
      .ticktime_ms = ps->cfg.ticktime_ms,
      .limits = &ps->cfg.limits,
      .cb = {.on_up = on_up,
             .on_named = on_named,
             .on_message = on_message,
             .on_down = on_down},
      .arg = ps,
      .log = conn_log,
  };
  return cfg;
}

/* ---- outgoing connections ---------------------------------------------- */

static void dial(dist_peers *ps, dist_peer *p, int port) {
  dist_conn_config cfg = conn_config(ps);
  cfg.hs.peer_name = nodus_atom_text(p->name, NULL);
  cfg.hs.alive_replace = alive_replace;
  if (dist_conn_connect(&cfg, p->host, port, &p->conn)) {
    p->conn = NULL;
    peer_down(ps, p, "cannot start a connection");
    return;
  }
  dist_conn_set_user(p->conn, p);
}

static void on_port(int status, const epmd_node_info *info, void *data) {
  dist_peer *p = data;
  dist_peers *ps = p->ps;
  p->resolving = NULL;
  if (status) {
    char why[400];
    snprintf(why, sizeof why, "epmd on %s: %s", p->host,
             nodus_strerror(status));
    peer_down(ps, p, why);
    return;
  }
  dial(ps, p, info->port);
}

dist_peer *dist_peers_get(dist_peers *ps, nodus_atom name, bool connect) {
  dist_peer *p = idmap_get(&ps->peers, name);
  if (p || !connect || ps->stopped || name == ps->cfg.this_node) return p;
  const char *text = nodus_atom_text(name, NULL);
  const char *at = text ? strchr(text, '@') : NULL;
  if (!at || at == text || !at[1]) return NULL;
  if (!(p = peer_new(ps, name))) return NULL;
  snprintf(p->host, sizeof p->host, "%s", at + 1);
  void *known = idmap_get(&ps->ports, name);
  if (known) { /* an address given by the user: no epmd */
    dial(ps, p, (int)(uintptr_t)known);
    return idmap_get(&ps->peers, name);
  }
  epmd_client_opts eo = {.host = p->host, .port = ps->cfg.epmd_port};
  if (epmd_port_please(ps->cfg.loop, &eo, text, on_port, p, &p->resolving)) {
    p->resolving = NULL;
    idmap_del(&ps->peers, name);
    peer_leave(ps, p, NODUS_ATOM_EMPTY);
    return NULL;
  }
  return p;
}

uint64_t dist_peer_flags(const dist_peer *p) {
  /* Before the handshake, assume what every OTP 25 node offers. */
  return p->up ? dist_conn_flags(p->conn)
               : p->ps->cfg.flags & ~DFLAG_FRAGMENTS;
}

uint64_t dist_peers_flags(const dist_peers *ps, nodus_atom name) {
  dist_peer *p = idmap_get(&ps->peers, name);
  return p ? dist_peer_flags(p) : ps->cfg.flags & ~DFLAG_FRAGMENTS;
}

/* One frame straight into the connection's output buffer: the payload
 * first (see dist_conn_reserve), then the control, from its term or, when
 * that is NULL, its bytes. */
static int write_frame(dist_conn *c, const nodus_term *control,
                       const uint8_t *ctl_bytes, size_t ctl_len,
                       const nodus_term *payload, size_t payload_len) {
  uint8_t *ctl_at, *payload_at;
  int rc = dist_conn_reserve(c, ctl_len, payload_len, &ctl_at, &payload_at);
  if (rc) return rc;
  if (payload_len) nodus_etf_encode_into(payload, NULL, payload_at);
  if (control) nodus_etf_encode_into(control, NULL, ctl_at);
  else memcpy(ctl_at, ctl_bytes, ctl_len);
  dist_conn_commit(c);
  return 0;
}

int dist_peer_send_encoded(dist_peer *p, const uint8_t *ctl, size_t ctl_len,
                           nodus_term *payload) {
  size_t b;
  if (!p->up || !p->conn || nodus_etf_size(payload, NULL, &b) ||
      !dist_conn_fits_one_frame(p->conn, ctl_len + b))
    return 0;
  int rc = write_frame(p->conn, NULL, ctl, ctl_len, payload, b);
  nodus_term_free(payload);
  return rc ? rc : 1;
}

int dist_peers_send(dist_peers *ps, nodus_atom name, nodus_term control,
                    nodus_term payload) {
  int rc = 0;
  size_t a = 0, b = 0;
  dist_peer *p = dist_peers_get(ps, name, true);
  if (!p) {
    rc = NODUS_ENOCONN;
    goto out;
  }
  if ((rc = nodus_etf_size(&control, NULL, &a))) goto out;
  if (payload.type != NODUS_T_NONE && (rc = nodus_etf_size(&payload, NULL, &b)))
    goto out;
  if (p->up && dist_conn_fits_one_frame(p->conn, a + b)) {
    rc = write_frame(p->conn, &control, NULL, a, &payload, b);
    goto out;
  }
  /* Big (fragmented) or not up yet: encode into one buffer, which waits
   * for the handshake when it has not ended. */
  pending_msg *m = malloc(sizeof *m + a + b);
  if (!m) {
    rc = NODUS_ENOMEM;
    goto out;
  }
  nodus_etf_encode_into(&control, NULL, m->bytes);
  if (b) nodus_etf_encode_into(&payload, NULL, m->bytes + a);
  if (p->up) {
    rc = dist_conn_send(p->conn, m->bytes, a, b ? m->bytes + a : NULL, b);
    free(m);
  } else {
    m->next = NULL;
    m->ctl_len = a;
    m->payload_len = b;
    if (p->pending_tail) p->pending_tail->next = m;
    else p->pending = m;
    p->pending_tail = m;
  }
out:
  nodus_term_free(&control);
  nodus_term_free(&payload);
  return rc;
}

/* ---- listening and the table's life ------------------------------------ */

static void on_connection(uv_stream_t *server, int status) {
  dist_peers *ps = server->data;
  if (status < 0 || ps->stopped) return;
  dist_conn_config cfg = conn_config(ps);
  dist_conn *c;
  if (dist_conn_accept(&cfg, server, &c))
    peers_log(ps, NODUS_LOG_WARN, "accept failed");
}

int dist_peers_new(const dist_peers_config *cfg, dist_peers **out) {
  *out = NULL;
  if (!cfg->loop || !cfg->this_name || !cfg->cookie ||
      strlen(cfg->this_name) >= sizeof (*out)->this_name ||
      strlen(cfg->cookie) >= sizeof (*out)->cookie)
    return NODUS_EINVAL;
  dist_peers *ps = calloc(1, sizeof *ps);
  if (!ps) return NODUS_ENOMEM;
  ps->cfg = *cfg;
  dist_limits_defaults(&ps->cfg.limits);
  /* Decoding has no depth bound: BEAM sends any depth and so do we. */
  ps->decode_opts = (nodus_decode_opts){
      .max_size = ps->cfg.limits.max_message,
      .max_new_atoms = ps->cfg.limits.max_new_atoms};
  strcpy(ps->this_name, cfg->this_name);
  strcpy(ps->cookie, cfg->cookie);
  ps->cfg.this_name = ps->this_name;
  ps->cfg.cookie = ps->cookie;
  idmap_init(&ps->peers);
  idmap_init(&ps->ports);
  idmap_init(&ps->auth_refused);
  *out = ps;
  return 0;
}

int dist_peers_listen(dist_peers *ps, const char *addr, int port, int *bound) {
  struct sockaddr_in sa;
  if (ps->listening || uv_ip4_addr(addr, port, &sa)) return NODUS_EINVAL;
  uv_tcp_init(ps->cfg.loop, &ps->listener);
  ps->listener.data = ps;
  ps->listening = true;
  int rc = uv_tcp_bind(&ps->listener, (struct sockaddr *)&sa, 0);
  if (!rc) rc = uv_listen((uv_stream_t *)&ps->listener, 128, on_connection);
  if (rc) {
    peers_log(ps, NODUS_LOG_ERROR, "cannot listen on %s:%d: %s", addr, port,
              uv_strerror(rc));
    return rc == UV_EADDRINUSE ? NODUS_EEXIST : NODUS_ENET;
  }
  struct sockaddr_in at;
  int len = sizeof at;
  uv_tcp_getsockname(&ps->listener, (struct sockaddr *)&at, &len);
  *bound = ntohs(at.sin_port);
  return 0;
}

void dist_peers_set_creation(dist_peers *ps, uint32_t creation) {
  ps->cfg.creation = creation;
}

void dist_peers_stop(dist_peers *ps) {
  if (ps) ps->stopped = true;
}

void dist_peers_close(dist_peers *ps) {
  if (!ps) return;
  ps->stopped = true;
  if (ps->listening && !uv_is_closing((uv_handle_t *)&ps->listener))
    uv_close((uv_handle_t *)&ps->listener, NULL);
  for (size_t i = 0; i < ps->peers.cap; i++) {
    dist_peer *p = ps->peers.slots[i].value;
    if (!p) continue;
    ps->peers.slots[i].value = NULL; /* the whole table goes below */
    dist_conn *c = p->conn;
    if (c) dist_conn_set_user(c, NULL);
    peer_leave(ps, p, nodedown_reason("node stopping"));
    if (c) dist_conn_close(c, "node stopping");
  }
  idmap_free(&ps->peers);
}

void dist_peers_free(dist_peers *ps) {
  if (!ps) return;
  idmap_free(&ps->peers);
  idmap_free(&ps->ports);
  idmap_free(&ps->auth_refused);
  free(ps);
}

/* ---- what the owner asks ------------------------------------------------ */

int dist_peers_set_port(dist_peers *ps, nodus_atom name, int port) {
  if (port < 0 || port > 65535) return NODUS_EINVAL;
  if (port) return idmap_put(&ps->ports, name, (void *)(uintptr_t)port);
  idmap_del(&ps->ports, name);
  return 0;
}

bool dist_peers_take_auth_refused(dist_peers *ps, nodus_atom name) {
  return idmap_del(&ps->auth_refused, name) != NULL;
}

dist_peer *dist_peers_next(const dist_peers *ps, size_t *cursor) {
  while (*cursor < ps->peers.cap) {
    dist_peer *p = ps->peers.slots[(*cursor)++].value;
    if (p) return p;
  }
  return NULL;
}

nodus_atom dist_peer_name(const dist_peer *p) { return p->name; }
bool dist_peer_up(const dist_peer *p) { return p->up; }
void *dist_peer_user(dist_peer *p) { return p->user; }
