/* The runtime's side of the peer table (distribution/peers.h): what a
 * message, a nodeup and a nodedown do to processes, and the public calls
 * about peers. The table itself, connections, arbitration and messages
 * waiting for a handshake, are the distribution layer's. */
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "runtime/node_internal.h"

/* The runtime's part of p, set up the first time it is asked for. */
static rt_peer *peer_of(nodus_node *node, dist_peer *d) {
  rt_peer *p = dist_peer_user(d);
  if (!p->dist) {
    p->dist = d;
    p->node = node;
    p->name = dist_peer_name(d);
  }
  return p;
}

rt_peer *rt_peer_get(nodus_node *node, nodus_atom name, bool connect) {
  dist_peer *d = dist_peers_get(node->peers, name, connect);
  return d ? peer_of(node, d) : NULL;
}

int rt_peer_send(nodus_node *node, nodus_atom peer, nodus_term control,
                 nodus_term payload) {
  return dist_peers_send(node->peers, peer, control, payload);
}

uint64_t rt_peer_flags(nodus_node *node, nodus_atom peer) {
  return dist_peers_flags(node->peers, peer);
}

/* ---- what the peer table tells --------------------------------------- */

static void on_up(dist_peer *d, bool hidden, void *arg) {
  rt_atom_watch(arg); /* the peer's name may have been the last straw */
  rt_node_up_signals(arg, dist_peer_name(d), hidden);
}

static void on_message(dist_peer *d, const uint8_t *data, size_t len,
                       bool versioned, void *arg) {
  nodus_node *node = arg;
  RT_ASSERT_LOOP(node);
  rt_peer *p = peer_of(node, d);
  if (rt_ctlcache_receive(node, p, data, len, versioned)) {
    rt_atom_watch(node);
    return;
  }
  dist_ctl_msg msg;
  int rc = dist_peer_decode(d, data, len, versioned, &msg);
  rt_atom_watch(node);
  if (rc) return;
  rt_ctlcache_learn(p, &msg, data, len, versioned);
  rt_dispatch(node, p, &msg);
  dist_ctl_free(&msg);
}

/* The peer is out of the table: let go of its part, and signal everyone
 * who cared. */
static void on_down(const dist_peer_down *d, void *arg) {
  nodus_node *node = arg;
  rt_peer *p = d->user;
  rt_ctlcache_free(p);
  rt_spawn_orphans_free(p);
  if (!node->closing)
    rt_node_down_signals(node, d->name, d->was_up, d->hidden, d->reason);
}

static void peers_log(void *arg, int level, const char *fmt, va_list ap) {
  rt_vlog(arg, level, "dist", fmt, ap);
}

int rt_peers_start(nodus_node *node, const char *addr, int port) {
  dist_peers_config cfg = {
      .loop = &node->loop,
      .this_node = node->name,
      .this_name = node->name_text,
      .cookie = node->cookie,
      .flags = node->dflags,
      .creation = node->creation,
      .ticktime_ms = node->opts.net_ticktime_ms,
      .epmd_port = node->opts.epmd_port,
      .limits = {.max_message = node->opts.max_message,
                 .max_new_atoms = node->opts.max_new_atoms,
                 .max_fragmented = node->opts.max_fragmented,
                 .max_fragmented_total = node->opts.max_fragmented_total,
                 .max_fragment_bytes = node->opts.max_fragment_bytes,
                 .fragment_timeout_ms = node->opts.fragment_timeout_ms},
      .user_size = sizeof(rt_peer),
      .cb = {.on_up = on_up, .on_message = on_message, .on_down = on_down},
      .arg = node,
      .log = peers_log,
  };
  int rc = dist_peers_new(&cfg, &node->peers);
  if (!rc) rc = dist_peers_listen(node->peers, addr, port, &node->port);
  return rc;
}

/* ---- thread-safe public calls ------------------------------------------ */

static void list_on_loop(nodus_node *node, void *arg) {
  nodus_term *out = arg;
  size_t n = 0, at = 0;
  dist_peer *d;
  while ((d = dist_peers_next(node->peers, &at)))
    if (dist_peer_up(d)) n++;
  if (nodus_mk_list(out, n)) {
    *out = (nodus_term){0};
    return;
  }
  size_t k = 0;
  at = 0;
  while (k < n && (d = dist_peers_next(node->peers, &at)))
    if (dist_peer_up(d))
      nodus_list_set(out, k++, nodus_atom_term(dist_peer_name(d)));
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
  if (dist_peers_get(node->peers, c->peer, true)) return;
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
  c->rc = dist_peers_set_port(node->peers, c->peer, c->port);
}

int nodus_node_set_peer_port(nodus_node *node, nodus_atom peer, int port) {
  if (!node || port < 0 || port > 65535) return NODUS_EINVAL;
  struct port_call c = {peer, port, 0};
  rt_call_sync(node, set_port_on_loop, &c);
  return c.rc;
}
