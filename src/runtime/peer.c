/* Peers: the connections of a node to other nodes.
 *
 * A peer exists from the first send (or accepted connection) until its
 * connection goes down. Messages sent before the handshake finishes wait
 * in the peer, encoded, and go out in order once it is up; if it never
 * comes up they are dropped (as BEAM drops sends to an unreachable node)
 * and everything that watched the node gets noconnection. */
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "distribution/epmd_client.h"
#include "runtime/node_internal.h"

static void peer_free(rt_peer *p) {
  if (p->resolving) epmd_cancel(p->resolving);
  msgq_clear(&p->pending);
  rt_ctlcache_free(p);
  rt_spawn_orphans_free(p);
  free(p);
}

static void conn_log(void *arg, int level, const char *msg) {
  rt_log(arg, level, "dist", "%s", msg);
}

/* BEAM's nodedown_reason for why a connection that was up ended. */
static nodus_atom nodedown_reason(const char *why) {
  const char *r = !strncmp(why, "net_tick_timeout", 16) ? "net_tick_timeout"
                  : !strncmp(why, "disconnect", 10)     ? "disconnect"
                                                        : "connection_closed";
  nodus_term t = rt_atom(r);
  return t.v.atom;
}

/* The peer is gone: forget it and signal everyone who cared. */
static void peer_down(nodus_node *node, rt_peer *p, const char *reason) {
  bool was_up = p->up, hidden = p->hidden;
  nodus_atom name = p->name;
  const char *text = nodus_atom_text(name, NULL);
  if (was_up)
    rt_log(node, NODUS_LOG_INFO, "dist", "nodedown %s: %s", text, reason);
  else if (p->incoming)
    rt_log(node, NODUS_LOG_WARN, "dist", "connection from %s refused: %s",
           text, reason);
  else
    rt_log(node, NODUS_LOG_WARN, "dist", "cannot connect to %s: %s", text,
           reason);
  if (p->conn) dist_conn_set_user(p->conn, NULL);
  idmap_del(&node->peers, name);
  peer_free(p);
  if (!node->closing)
    rt_node_down_signals(node, name, was_up, hidden, nodedown_reason(reason));
}

/* ---- handshake decisions and connection events -------------------------- */

static dist_hs_status decide(void *arg, const dist_hs_peer *info) {
  nodus_node *node = arg;
  nodus_atom name;
  if (nodus_atom_intern(info->name, strlen(info->name), &name))
    return DIST_HS_STATUS_NOT_ALLOWED;
  if (name == node->name) return DIST_HS_STATUS_NOT_ALLOWED;
  rt_peer *p = idmap_get(&node->peers, name);
  if (!p) return DIST_HS_STATUS_OK;
  if (p->up) {
    /* A restarted peer, or a half-open stream; or only a late attempt of
     * a simultaneous connect that the peer has dropped already. As BEAM,
     * ask the peer ('alive'); if it says true, on_up replaces the old
     * connection. */
    return DIST_HS_STATUS_ALIVE;
  }
  /* Simultaneous connect: the larger name keeps its own attempt. */
  if (strcmp(node->name_text, info->name) > 0) return DIST_HS_STATUS_NOK;
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

static rt_peer *peer_new(nodus_node *node, nodus_atom name) {
  rt_peer *p = calloc(1, sizeof *p);
  if (!p || idmap_put(&node->peers, name, p)) {
    free(p);
    return NULL;
  }
  p->name = name;
  p->node = node;
  return p;
}

/* An incoming connection named its peer and we let it go on: from now on
 * it is that peer's connection attempt, so sends to the peer wait for it
 * rather than dial a second connection that the peer would take for a
 * reconnect (and drop the first for). */
static void on_named(dist_conn *c, void *arg) {
  nodus_node *node = arg;
  dist_hs_status st = dist_conn_status(c);
  const dist_hs_peer *info = dist_conn_peer(c);
  nodus_atom name;
  if ((st != DIST_HS_STATUS_OK && st != DIST_HS_STATUS_OK_SIMULTANEOUS) ||
      nodus_atom_intern(info->name, strlen(info->name), &name))
    return;
  rt_peer *p = idmap_get(&node->peers, name);
  if (!p && !(p = peer_new(node, name))) return;
  if (p->conn || p->up) return;
  p->conn = c;
  p->incoming = true;
  dist_conn_set_user(c, p);
}

/* The peer says it still has a connection to us: replace it unless we
 * have one up too (then this attempt is a stale one). */
static bool alive_replace(void *arg, const dist_hs_peer *peer) {
  nodus_node *node = arg;
  nodus_atom name;
  if (nodus_atom_intern(peer->name, strlen(peer->name), &name)) return false;
  rt_peer *p = idmap_get(&node->peers, name);
  return !p || !p->up;
}

static void flush_pending(nodus_node *node, rt_peer *p) {
  msg_item *m;
  while ((m = msgq_pop(&p->pending))) {
    const nodus_term *ctl = &m->msg.v.items[0], *pay = &m->msg.v.items[1];
    dist_conn_send(p->conn, ctl->v.bin->data, ctl->n,
                   pay->type == NODUS_T_BINARY ? pay->v.bin->data : NULL,
                   pay->type == NODUS_T_BINARY ? pay->n : 0);
    nodus_term_free(&m->msg);
    free(m);
  }
}

static void on_up(dist_conn *c, void *arg) {
  nodus_node *node = arg;
  const dist_hs_peer *info = dist_conn_peer(c);
  nodus_atom name;
  if (nodus_atom_intern(info->name, strlen(info->name), &name)) {
    dist_conn_close(c, "bad peer name");
    return;
  }
  rt_peer *p = idmap_get(&node->peers, name);
  if (p && p->up && p->conn != c) {
    /* The peer answered 'alive' with true: it lost the old connection. */
    dist_conn *old = p->conn;
    peer_down(node, p, "peer reconnected");
    if (old) dist_conn_close(old, "replaced by a new connection");
    p = NULL;
  }
  if (!p && !(p = peer_new(node, name))) {
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
  idmap_del(&node->auth_refused, name);
  rt_log(node, NODUS_LOG_INFO, "dist", "nodeup %s", info->name);
  flush_pending(node, p);
  rt_node_up_signals(node, name, p->hidden);
}

static void on_down(dist_conn *c, const char *reason, int was_up, void *arg) {
  nodus_node *node = arg;
  rt_peer *p = dist_conn_user(c);
  if (p && p->conn == c) {
    p->conn = NULL;
    /* Refused on the cookie, not unreachable: nodus_node_ping says so. */
    if (!was_up && dist_conn_auth_failed(c))
      idmap_put(&node->auth_refused, p->name, (void *)1);
    peer_down(node, p, reason);
  } else if (!was_up && !node->closing) {
    const dist_hs_peer *info = dist_conn_peer(c);
    /* Refusing the losing side of a simultaneous connect is routine. */
    int level = dist_conn_status(c) == DIST_HS_STATUS_NOK ? NODUS_LOG_INFO
                                                          : NODUS_LOG_WARN;
    rt_log(node, level, "dist", "connection %s%s refused: %s",
           info && info->name[0] ? "from " : "",
           info && info->name[0] ? info->name : "", reason);
  }
}

static void on_message(dist_conn *c, const uint8_t *data, size_t len,
                       bool versioned, void *arg) {
  nodus_node *node = arg;
  RT_ASSERT_LOOP(node);
  rt_peer *p = dist_conn_user(c);
  if (!p || rt_ctlcache_receive(node, p, data, len, versioned)) return;
  dist_ctl_msg msg;
  int rc = versioned ? dist_ctl_decode(data, len, NULL, &msg)
                     : dist_ctl_decode_unversioned(data, len, NULL, &msg);
  if (rc) { /* BEAM drops such a peer too */
    char why[400], *text = NULL;
    if (rc == NODUS_EUNSUPPORTED) {
      snprintf(why, sizeof why, "unknown control message op %d", msg.op);
    } else {
      /* What was wrong (distribution/control.c says), and the control as BEAM's
       * "Invalid distribution message" shows it. */
      nodus_print_opts po = {.local_node = node->name};
      if (msg.control.type != NODUS_T_NONE)
        nodus_print(&msg.control, &po, &text, NULL);
      snprintf(why, sizeof why, "malformed message: %s%s%s (%s)%s%.200s",
               msg.op > 0 ? dist_ctl_op_name(msg.op) : "",
               msg.op > 0 ? ": " : "", msg.why ? msg.why : "undecodable",
               nodus_strerror(rc), text ? " in " : "", text ? text : "");
      free(text);
    }
    rt_log(node, NODUS_LOG_WARN, "dist", "closing the connection to %s: %s",
           nodus_atom_text(p->name, NULL), why);
    dist_ctl_free(&msg);
    dist_conn_close(c, why);
    return;
  }
  rt_ctlcache_learn(p, &msg, data, len, versioned);
  rt_dispatch(node, p, &msg);
  dist_ctl_free(&msg);
}

static dist_conn_config conn_config(nodus_node *node) {
  dist_conn_config cfg = {
      .loop = &node->loop,
      .hs = {.this_name = node->name_text,
             .cookie = node->cookie,
             .flags = node->dflags,
             .required_flags = DFLAG_MANDATORY_25,
             .creation = node->creation,
             .decide = decide,
             .arg = node},
      .ticktime_ms = node->opts.net_ticktime_ms,
      .cb = {.on_up = on_up,
             .on_named = on_named,
             .on_message = on_message,
             .on_down = on_down},
      .arg = node,
      .log = conn_log,
  };
  return cfg;
}

/* ---- outgoing connections ---------------------------------------------- */

static void dial(nodus_node *node, rt_peer *p, int port) {
  dist_conn_config cfg = conn_config(node);
  cfg.hs.peer_name = nodus_atom_text(p->name, NULL);
  cfg.hs.alive_replace = alive_replace;
  if (dist_conn_connect(&cfg, p->host, port, &p->conn)) {
    p->conn = NULL;
    peer_down(node, p, "cannot start a connection");
    return;
  }
  dist_conn_set_user(p->conn, p);
}

static void on_port(int status, const epmd_node_info *info, void *data) {
  rt_peer *p = data;
  nodus_node *node = p->node;
  p->resolving = NULL;
  if (status) {
    char why[400];
    snprintf(why, sizeof why, "epmd on %s: %s", p->host, nodus_strerror(status));
    peer_down(node, p, why);
    return;
  }
  dial(node, p, info->port);
}

rt_peer *rt_peer_get(nodus_node *node, nodus_atom name, bool connect) {
  rt_peer *p = idmap_get(&node->peers, name);
  if (p || !connect || node->closing || name == node->name) return p;
  size_t len;
  const char *text = nodus_atom_text(name, &len);
  const char *at = text ? strchr(text, '@') : NULL;
  if (!at || at == text || !at[1]) return NULL;
  p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->name = name;
  p->node = node;
  snprintf(p->host, sizeof p->host, "%s", at + 1);
  if (idmap_put(&node->peers, name, p)) {
    free(p);
    return NULL;
  }
  void *known = idmap_get(&node->peer_ports, name);
  if (known) { /* an address given by the user: no epmd */
    dial(node, p, (int)(uintptr_t)known);
    return idmap_get(&node->peers, name);
  }
  epmd_client_opts eo = {.host = p->host, .port = node->opts.epmd_port};
  if (epmd_port_please(&node->loop, &eo, text, on_port, p, &p->resolving)) {
    p->resolving = NULL;
    idmap_del(&node->peers, name);
    free(p);
    if (!node->closing)
      rt_node_down_signals(node, name, false, false, NODUS_ATOM_EMPTY);
    return NULL;
  }
  return p;
}

uint64_t rt_peer_flags(nodus_node *node, nodus_atom peer) {
  rt_peer *p = idmap_get(&node->peers, peer);
  /* Before the handshake, assume what every OTP 25 node offers. */
  return p && p->up ? dist_conn_flags(p->conn)
                    : node->dflags & ~DFLAG_FRAGMENTS;
}

int rt_peer_send(nodus_node *node, nodus_atom peer, nodus_term control,
                 nodus_term payload) {
  int rc = 0;
  size_t a = 0, b = 0;
  rt_peer *p = rt_peer_get(node, peer, true);
  if (!p) {
    rc = NODUS_ENOCONN;
    goto out;
  }
  if ((rc = nodus_etf_size(&control, NULL, &a))) goto out;
  if (payload.type != NODUS_T_NONE && (rc = nodus_etf_size(&payload, NULL, &b)))
    goto out;
  if (p->up && dist_conn_fits_one_frame(p->conn, a + b)) {
    uint8_t *ctl_at, *payload_at;
    if ((rc = dist_conn_reserve(p->conn, a, b, &ctl_at, &payload_at)))
      goto out;
    if (b) nodus_etf_encode_into(&payload, NULL, payload_at);
    nodus_etf_encode_into(&control, NULL, ctl_at);
    dist_conn_commit(p->conn);
    goto out;
  }
  /* Big (fragmented) or not up yet: encode into binaries. */
  nodus_term parts = rt_tuple(2, nodus_nil(), nodus_nil());
  uint8_t *bytes = malloc(a + b);
  if (parts.type == NODUS_T_NONE || !bytes) {
    nodus_term_free(&parts);
    free(bytes);
    rc = NODUS_ENOMEM;
    goto out;
  }
  nodus_etf_encode_into(&control, NULL, bytes);
  if (b) nodus_etf_encode_into(&payload, NULL, bytes + a);
  if (p->up) {
    rc = dist_conn_send(p->conn, bytes, a, b ? bytes + a : NULL, b);
    nodus_term_free(&parts);
  } else {
    msg_item *m = malloc(sizeof *m);
    rc = nodus_mk_binary(&parts.v.items[0], bytes, a);
    if (!rc && b) rc = nodus_mk_binary(&parts.v.items[1], bytes + a, b);
    if (!rc && m) {
      m->msg = parts;
      msgq_push(&p->pending, m);
    } else {
      free(m);
      nodus_term_free(&parts);
      if (!rc) rc = NODUS_ENOMEM;
    }
  }
  free(bytes);
out:
  nodus_term_free(&control);
  nodus_term_free(&payload);
  return rc;
}

/* ---- listening --------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status) {
  nodus_node *node = server->data;
  if (status < 0 || node->closing) return;
  dist_conn_config cfg = conn_config(node);
  dist_conn *c;
  if (dist_conn_accept(&cfg, server, &c))
    rt_log(node, NODUS_LOG_WARN, "dist", "accept failed");
}

int rt_peers_listen_at(nodus_node *node, const char *addr, int port) {
  struct sockaddr_in sa;
  if (uv_ip4_addr(addr, port, &sa)) return NODUS_EINVAL;
  uv_tcp_init(&node->loop, &node->listener);
  node->listener.data = node;
  int rc = uv_tcp_bind(&node->listener, (struct sockaddr *)&sa, 0);
  if (!rc) rc = uv_listen((uv_stream_t *)&node->listener, 128, on_connection);
  if (rc) {
    rt_log(node, NODUS_LOG_ERROR, "dist", "cannot listen on %s:%d: %s", addr,
           port, uv_strerror(rc));
    return rc == UV_EADDRINUSE ? NODUS_EEXIST : NODUS_ENET;
  }
  struct sockaddr_in bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&node->listener, (struct sockaddr *)&bound, &len);
  node->port = ntohs(bound.sin_port);
  return 0;
}

void rt_peers_close_all(nodus_node *node) {
  if (!uv_is_closing((uv_handle_t *)&node->listener) &&
      node->listener.data == node)
    uv_close((uv_handle_t *)&node->listener, NULL);
  for (size_t i = 0; i < node->peers.cap; i++) {
    rt_peer *p = node->peers.slots[i].value;
    if (!p) continue;
    dist_conn *c = p->conn;
    if (c) dist_conn_set_user(c, NULL);
    peer_free(p);
    if (c) dist_conn_close(c, "node stopping");
  }
  idmap_free(&node->peers);
}

/* ---- thread-safe public calls ------------------------------------------ */

static void list_on_loop(nodus_node *node, void *arg) {
  nodus_term *out = arg;
  size_t n = 0;
  for (size_t i = 0; i < node->peers.cap; i++) {
    rt_peer *p = node->peers.slots[i].value;
    if (p && p->up) n++;
  }
  if (nodus_mk_list(out, n)) {
    *out = (nodus_term){0};
    return;
  }
  size_t k = 0;
  for (size_t i = 0; i < node->peers.cap && k < n; i++) {
    rt_peer *p = node->peers.slots[i].value;
    if (p && p->up) nodus_list_set(out, k++, nodus_atom_term(p->name));
  }
}

int nodus_node_list(nodus_node *node, nodus_term *out) {
  *out = (nodus_term){0};
  rt_call_sync(node, list_on_loop, out);
  return out->type == NODUS_T_NONE ? NODUS_ENOMEM : 0;
}

struct connect_call {
  nodus_atom peer;
  int rc;
};

static void connect_on_loop(nodus_node *node, void *arg) {
  struct connect_call *c = arg;
  if (c->peer == node->name) return;
  if (rt_peer_get(node, c->peer, true)) return;
  /* Why it could not even start: a name without a host, or resources. */
  const char *text = nodus_atom_text(c->peer, NULL);
  const char *at = text ? strchr(text, '@') : NULL;
  c->rc = !at || at == text || !at[1] ? NODUS_EBADNAME : NODUS_ENOCONN;
}

int nodus_node_connect(nodus_node *node, nodus_atom peer) {
  if (!node) return NODUS_EINVAL;
  struct connect_call c = {peer, 0};
  int rc = nodus_node_call(node, connect_on_loop, &c);
  return rc ? rc : c.rc;
}

struct port_call {
  nodus_atom peer;
  int port, rc;
};

static void set_port_on_loop(nodus_node *node, void *arg) {
  struct port_call *c = arg;
  c->rc = c->port > 0 ? idmap_put(&node->peer_ports, c->peer,
                                  (void *)(uintptr_t)c->port)
                      : (idmap_del(&node->peer_ports, c->peer), 0);
}

int nodus_node_set_peer_port(nodus_node *node, nodus_atom peer, int port) {
  if (!node || port < 0 || port > 65535) return NODUS_EINVAL;
  struct port_call c = {peer, port, 0};
  rt_call_sync(node, set_port_on_loop, &c);
  return c.rc;
}
