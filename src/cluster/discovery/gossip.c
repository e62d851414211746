/* The gossip strategy: libcluster 3.5's Gossip (lib/strategy/gossip.ex)
 * on the wire, so C nodes and Elixir nodes running that strategy find each
 * other. One UDP socket, bound to if_addr:port and joined to the multicast
 * group, sends our heartbeat at start and then after a random 1..interval
 * ms each time, and reports every node it hears (disc_report_one, listed
 * for ttl_ms). The packet format is gossip_packet.c's.
 *
 * Where we differ from libcluster, on purpose: the port is shared by every
 * node of a host (SO_REUSEADDR and SO_REUSEPORT; libcluster sets only
 * SO_REUSEADDR on Linux and a second node fails with eaddrinuse), a socket
 * that can't be set up fails start with the reason (libcluster crashes, or
 * with no multicast route sends into nothing), and what a packet may make
 * is bounded: no atom beyond a name that passes disc_node_atom. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery_internal.h"
#include "gossip_packet.h"

#define GOSSIP_DEFAULT_PORT 45892
#define GOSSIP_DEFAULT_GROUP "233.252.1.32"
#define GOSSIP_DEFAULT_INTERVAL_MS 5000
/* The longest gap between two heartbeats is interval_ms; three of them
 * missed, the node is no longer listed. */
#define GOSSIP_TTL_INTERVALS 3

typedef struct gossip {
  disc_topology *t; /* NULL once stopped: the handles are closing */
  uv_udp_t udp;
  uv_timer_t timer;
  int open_handles;
  gossip_key key;
  struct sockaddr_in dest;
  unsigned interval_ms, ttl_ms;
  nodus_atom self;
  char self_name[GOSSIP_NAME_MAX + 1];
  size_t self_len;
  uint8_t rbuf[2048];
  bool rbuf_busy;
} gossip;

/* libcluster's options, plus two of ours:
 *   port            45892
 *   if_addr         0.0.0.0: the address bound (a unicast address here
 *                   receives no multicast, as with libcluster)
 *   multicast_if    0.0.0.0 (the route decides): the interface that sends
 *                   and joins
 *   multicast_addr  233.252.1.32 (the broadcast address with broadcast_only)
 *   multicast_ttl   1
 *   broadcast_only  false: true joins no group and sends to multicast_addr
 *   secret          none: AES-256-CBC with key SHA-256(secret)
 *   interval_ms     5000: each heartbeat after a random 1..interval_ms
 *   ttl_ms          3 * interval_ms: a node not heard for this long is no
 *                   longer listed (0: listed for good, as libcluster) */
static const char *const gossip_keys[] = {
    "port",      "if_addr",     "multicast_if", "multicast_addr",
    "multicast_ttl", "broadcast_only", "secret", "interval_ms",
    "ttl_ms",    NULL};

/* ---- heartbeats -------------------------------------------------------- */

/* The heartbeat's jitter needs no cryptographic generator: getrandom(2)
 * keeps OpenSSL's DRBG (and its pages, ~2 MiB of RSS) out of a node
 * without a secret; only a secret's IVs come from RAND_bytes. */
static unsigned random_below(unsigned n) {
  uint32_t r = 0;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (uint32_t)random();
  return n ? r % n : 0;
}

/* One heartbeat; 0, or -errno from sendto. */
static int send_heartbeat(gossip *g) {
  uint8_t pkt[GOSSIP_PACKET_MAX], iv[GOSSIP_IV_LEN];
  if (g->key.set && RAND_bytes(iv, sizeof iv) != 1) return -EIO;
  int n = gossip_encode(&g->key, iv, g->self_name, g->self_len, pkt);
  if (n < 0) return -EINVAL;
  uv_buf_t buf = uv_buf_init((char *)pkt, (unsigned)n);
  int rc = uv_udp_try_send(&g->udp, &buf, 1, (const struct sockaddr *)&g->dest);
  /* a full send buffer (UV_EAGAIN) drops this heartbeat: the next one
   * comes within interval_ms */
  return rc < 0 ? rc : 0;
}

static void on_timer(uv_timer_t *timer) {
  gossip *g = timer->data;
  if (!g->t) return;
  int rc = send_heartbeat(g);
  if (rc < 0 && rc != UV_EAGAIN)
    disc_report_error(g->t, "sending the heartbeat to %s:%u: %s",
                      inet_ntoa(g->dest.sin_addr),
                      (unsigned)ntohs(g->dest.sin_port), uv_strerror(rc));
  /* :rand.uniform(interval): 1..interval ms */
  uv_timer_start(&g->timer, on_timer, 1 + random_below(g->interval_ms), 0);
}

/* ---- receiving --------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  gossip *g = h->data;
  if (g->rbuf_busy) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  g->rbuf_busy = true;
  *buf = uv_buf_init((char *)g->rbuf, sizeof g->rbuf);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags) {
  gossip *g = udp->data;
  if (buf->base == (char *)g->rbuf) g->rbuf_busy = false;
  if (!g->t || nread == 0 || !from) return; /* nothing more to read */
  char who[INET_ADDRSTRLEN + 8] = "?";
  if (from->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)from;
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a);
    snprintf(who, sizeof who, "%s:%u", a, (unsigned)ntohs(sin->sin_port));
  }
  if (nread < 0) {
    disc_log_dropped(g->t, "a read: %s", uv_strerror((int)nread));
    return;
  }
  if (flags & UV_UDP_PARTIAL) {
    disc_log_dropped(g->t, "a packet from %s: longer than any heartbeat", who);
    return;
  }
  char name[GOSSIP_NAME_MAX];
  size_t name_len;
  int rc = gossip_parse(&g->key, g->rbuf, (size_t)nread, name, &name_len);
  if (rc != GOSSIP_OK) {
    disc_log_dropped(g->t, "a packet of %zd bytes from %s: %s",
                     nread, who, gossip_parse_strerror(rc));
    return;
  }
  if (name_len == g->self_len && !memcmp(name, g->self_name, name_len))
    return; /* our own, looped back */
  nodus_atom node;
  if (disc_node_atom(name, name_len, &node) != 0) {
    disc_log_dropped(g->t, "a heartbeat from %s: not a node name: %.*s",
                     who, (int)(name_len > 64 ? 64 : name_len), name);
    return;
  }
  disc_report_one(g->t, node, g->ttl_ms);
}

/* ---- start / stop ------------------------------------------------------ */

static int ipv4_opt(disc_topology *t, const char *key, const char *def,
                    struct in_addr *out, char *err, size_t err_size) {
  const char *v = disc_opt(t, key);
  if (!v) v = def;
  if (inet_pton(AF_INET, v, out) != 1) {
    snprintf(err, err_size, "%s=%s is not an IPv4 address", key, v);
    return NODUS_EINVAL;
  }
  return 0;
}

static int sock_fail(int fd, char *err, size_t err_size, const char *what,
                     const char *detail) {
  int e = errno;
  snprintf(err, err_size, "%s%s: %s", what, detail ? detail : "",
           strerror(e));
  if (fd >= 0) close(fd);
  return NODUS_ENET;
}

static void on_closed(uv_handle_t *h) {
  gossip *g = h->data;
  if (--g->open_handles == 0) free(g);
}

static int gossip_start(disc_topology *t, char *err, size_t err_size) {
  unsigned port, ttl, interval, ttl_ms;
  bool broadcast_only;
  struct in_addr if_addr, mcast_if, group;
  int rc;
  if ((rc = disc_opt_uint(t, "port", GOSSIP_DEFAULT_PORT, &port, err, err_size)) ||
      (rc = disc_opt_uint(t, "multicast_ttl", 1, &ttl, err, err_size)) ||
      (rc = disc_opt_uint(t, "interval_ms", GOSSIP_DEFAULT_INTERVAL_MS,
                          &interval, err, err_size)) ||
      (rc = disc_opt_bool(t, "broadcast_only", false, &broadcast_only, err,
                          err_size)) ||
      (rc = ipv4_opt(t, "if_addr", "0.0.0.0", &if_addr, err, err_size)) ||
      (rc = ipv4_opt(t, "multicast_if", "0.0.0.0", &mcast_if, err, err_size)) ||
      (rc = ipv4_opt(t, "multicast_addr", GOSSIP_DEFAULT_GROUP, &group, err,
                     err_size)))
    return rc;
  if (port == 0 || port > 65535) {
    snprintf(err, err_size, "port=%u is not a UDP port", port);
    return NODUS_EINVAL;
  }
  if (ttl > 255) {
    snprintf(err, err_size, "multicast_ttl=%u is more than 255", ttl);
    return NODUS_EINVAL;
  }
  if (interval == 0) {
    snprintf(err, err_size, "interval_ms must be at least 1");
    return NODUS_EINVAL;
  }
  if ((rc = disc_opt_uint(t, "ttl_ms", interval * GOSSIP_TTL_INTERVALS,
                          &ttl_ms, err, err_size)))
    return rc;
  bool multicast = IN_MULTICAST(ntohl(group.s_addr));
  if (!broadcast_only && !multicast) {
    snprintf(err, err_size,
             "multicast_addr=%s is not a multicast address "
             "(224.0.0.0/4; broadcast_only=true to send to a broadcast address)",
             inet_ntoa(group));
    return NODUS_EINVAL;
  }

  gossip *g = calloc(1, sizeof *g);
  if (!g) return NODUS_ENOMEM;
  g->t = t;
  g->interval_ms = interval;
  g->ttl_ms = ttl_ms;
  const char *secret = disc_opt(t, "secret");
  gossip_key_init(&g->key, secret, secret ? strlen(secret) : 0);
  g->self = nodus_node_name(disc_node(t));
  const char *self = nodus_atom_text(g->self, &g->self_len);
  if (!self || g->self_len == 0 || g->self_len > GOSSIP_NAME_MAX) {
    free(g);
    snprintf(err, err_size, "this node has no name to gossip");
    return NODUS_EINVAL;
  }
  memcpy(g->self_name, self, g->self_len);
  g->dest.sin_family = AF_INET;
  g->dest.sin_addr = group;
  g->dest.sin_port = htons((uint16_t)port);

  /* The socket, made by hand: libuv 1.44 sets no SO_REUSEPORT. */
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  unsigned char ttl8 = (unsigned char)ttl, loop = 1;
  struct sockaddr_in bind_to = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr = if_addr};
  char detail[64];
  snprintf(detail, sizeof detail, " %s:%u", inet_ntoa(if_addr), port);
  if (fd < 0) rc = sock_fail(fd, err, err_size, "socket", NULL);
  else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
           setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    rc = sock_fail(fd, err, err_size, "SO_REUSEADDR/SO_REUSEPORT", NULL);
  else if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0)
    rc = sock_fail(fd, err, err_size, "SO_BROADCAST", NULL);
  else if (bind(fd, (struct sockaddr *)&bind_to, sizeof bind_to) < 0)
    rc = sock_fail(fd, err, err_size, "binding", detail);
  if (rc) {
    free(g);
    return rc;
  }
  if (!broadcast_only) {
    struct ip_mreq mreq = {.imr_multiaddr = group, .imr_interface = mcast_if};
    char gdetail[96];
    snprintf(gdetail, sizeof gdetail, " %s", inet_ntoa(group));
    snprintf(gdetail + strlen(gdetail), sizeof gdetail - strlen(gdetail),
             " on interface %s%s", inet_ntoa(mcast_if),
             mcast_if.s_addr == INADDR_ANY ? " (by route: is there a multicast route?)"
                                           : "");
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl8, sizeof ttl8) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0)
      rc = sock_fail(fd, err, err_size, "multicast TTL/loop", NULL);
    else if (mcast_if.s_addr != INADDR_ANY &&
             setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mcast_if,
                        sizeof mcast_if) < 0)
      rc = sock_fail(fd, err, err_size, "multicast_if=", inet_ntoa(mcast_if));
    else if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
      rc = sock_fail(fd, err, err_size, "joining the multicast group", gdetail);
    if (rc) {
      free(g);
      return rc;
    }
  }

  if ((rc = uv_udp_init(disc_loop(t), &g->udp)) < 0) {
    close(fd);
    free(g);
    snprintf(err, err_size, "uv_udp_init: %s", uv_strerror(rc));
    return NODUS_ENET;
  }
  g->udp.data = g;
  g->open_handles = 1;
  disc_set_state(t, g);
  if ((rc = uv_udp_open(&g->udp, fd)) < 0) {
    close(fd);
    snprintf(err, err_size, "uv_udp_open: %s", uv_strerror(rc));
    return NODUS_ENET; /* stop closes the handle */
  }
  uv_timer_init(disc_loop(t), &g->timer);
  g->timer.data = g;
  g->open_handles = 2;

  /* The first heartbeat now: a group we can't send to (no route) is an
   * error here, not silence. */
  if ((rc = send_heartbeat(g)) < 0 && rc != UV_EAGAIN) {
    snprintf(err, err_size, "sending to %s:%u: %s%s",
             inet_ntoa(group), port, uv_strerror(rc),
             rc == UV_ENETUNREACH ? " (no route to the group: add a multicast route)"
                                  : "");
    return NODUS_ENET;
  }
  if ((rc = uv_udp_recv_start(&g->udp, on_alloc, on_recv)) < 0) {
    snprintf(err, err_size, "receiving: %s", uv_strerror(rc));
    return NODUS_ENET;
  }
  uv_timer_start(&g->timer, on_timer, 1 + random_below(interval), 0);
  return 0;
}

static void gossip_stop(disc_topology *t) {
  gossip *g = disc_state(t);
  if (!g) return;
  disc_set_state(t, NULL);
  g->t = NULL;
  int handles = g->open_handles;
  if (handles == 0) {
    free(g);
    return;
  }
  if (handles >= 2) {
    uv_timer_stop(&g->timer);
    uv_close((uv_handle_t *)&g->timer, on_closed);
  }
  uv_udp_recv_stop(&g->udp);
  uv_close((uv_handle_t *)&g->udp, on_closed);
}

const disc_strategy disc_gossip = {
    .name = "gossip",
    .start = gossip_start,
    .stop = gossip_stop,
    .keys = gossip_keys,
};
