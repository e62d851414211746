/* The opt-in failure detector (opts.detector_ms): members send each other
 * a UDP heartbeat every detector_ms / 10, and a member silent for
 * detector_ms is declared down: this node drops its connection to it
 * (nodedown, reason disconnect, for every service here, as a tick
 * timeout would, only sooner) and the supervisor acts as on any loss.
 *
 * UDP, not the distribution connection: a heartbeat stuck behind a lost
 * TCP segment waits out retransmissions (200 ms, 400 ms, ...), so packet
 * loss would look like silence; lost datagrams are only lost, and 20%
 * loss drops ten heartbeats in a row once in ten million windows. A
 * member is judged only once it has been heard from; its address is its
 * node name's host part (looked up when it is a name), the port comes in
 * its hello. Anyone can
 * send heartbeats: at worst they keep a member looking alive, which is
 * what BEAM's tick timeout would do. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cluster/dsup/dsup_internal.h"
#include "cluster/dsup/heartbeat.h"
#include "runtime/node_internal.h"

struct dsup_detector {
  uv_udp_t udp;
  uv_timer_t timer;
  nodus_dsup *d; /* NULL once closing: the handles outlive the dsup */
  int64_t last_run_ns; /* the timer's previous run */
  int closed;     /* handles closed so far */
  int lookups;    /* host name lookups under way: they hold det too */
  uint8_t buf[DSUP_HB_MAX];
};

static unsigned period_ms(const nodus_dsup *d) {
  unsigned p = d->opts.detector_ms / 10;
  return p < 10 ? 10 : p;
}

static void det_release(dsup_detector *det) {
  if (det->closed == 2 && det->lookups == 0) free(det);
}

static void on_closed(uv_handle_t *h) {
  dsup_detector *det = h->data;
  det->closed++;
  det_release(det);
}

typedef struct lookup {
  uv_getaddrinfo_t req;
  dsup_detector *det;
  nodus_atom node;
} lookup;

static void on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  lookup *l = req->data;
  dsup_detector *det = l->det;
  det->lookups--;
  dsup_member *m = det->d ? dsup_member_get(det->d, l->node) : NULL;
  if (m) {
    m->hb_lookup = false;
    if (status == 0 && res)
      uv_ip_name(res->ai_addr, m->hb_ip, sizeof m->hb_ip);
    else
      m->hb_retry_ns = dsup_now_ns() + 5 * (int64_t)1000000000;
  }
  if (res) uv_freeaddrinfo(res);
  free(l);
  det_release(det);
}

/* The host part of the member's name as an address: at once when it is
 * one, else looked up (libuv's pool; the next tick has it). */
static bool member_addr(dsup_detector *det, dsup_member *m,
                        struct sockaddr_storage *sa) {
  if (!m->hb_port) return false;
  const char *name = nodus_atom_text(m->node, NULL);
  const char *at = strchr(name, '@');
  if (!at) return false;
  const char *host = m->hb_ip[0] ? m->hb_ip : at + 1;
  if (uv_ip4_addr(host, m->hb_port, (struct sockaddr_in *)sa) == 0) return true;
  if (uv_ip6_addr(host, m->hb_port, (struct sockaddr_in6 *)sa) == 0) return true;
  if (m->hb_ip[0] || m->hb_lookup || dsup_now_ns() < m->hb_retry_ns) return false;
  lookup *l = calloc(1, sizeof *l);
  if (!l) return false;
  l->det = det;
  l->node = m->node;
  l->req.data = l;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
  if (uv_getaddrinfo(det->udp.loop, &l->req, on_lookup, at + 1, NULL, &hints)) {
    free(l);
    return false;
  }
  m->hb_lookup = true;
  det->lookups++;
  return false;
}

static void on_timer(uv_timer_t *t) {
  dsup_detector *det = t->data;
  nodus_dsup *d = det->d;
  if (!d || !d->proc) return;
  int64_t now = dsup_now_ns(), limit = (int64_t)d->opts.detector_ms * 1000000;
  /* Late by more than two periods: this node was the one not running
   * (stopped, starved). Its members get a fresh window, not a verdict. */
  bool was_away = det->last_run_ns &&
                  now - det->last_run_ns > 2 * (int64_t)period_ms(d) * 1000000;
  det->last_run_ns = now;
  if (was_away)
    for (size_t i = 0; i < d->n_members; i++)
      if (d->members[i].hb_heard_ns) d->members[i].hb_heard_ns = now;
  uint8_t msg[DSUP_HB_MAX];
  int len = dsup_hb_encode(msg, d->name, nodus_atom_text(d->self_node, NULL));
  for (size_t i = 0; i < d->n_members; i++) {
    dsup_member *m = &d->members[i];
    struct sockaddr_storage sa;
    if (len < 0 || !member_addr(det, m, &sa)) continue;
    uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
    uv_udp_try_send(&det->udp, &b, 1, (const struct sockaddr *)&sa);
  }
  /* Silent members: collected first, since a loss reorders the array. */
  nodus_atom silent[DSUP_MAX_MEMBERS];
  size_t n = 0;
  for (size_t i = 0; i < d->n_members; i++)
    if (d->members[i].hb_heard_ns && now - d->members[i].hb_heard_ns > limit)
      silent[n++] = d->members[i].node;
  for (size_t i = 0; i < n; i++) {
    nodus_log(d->node, NODUS_LOG_WARN, "dsup",
              "%s: %s silent for more than %u ms: declared down", d->name,
              nodus_atom_text(silent[i], NULL), d->opts.detector_ms);
    dsup_member_down(d, silent[i]);
    nodus_node_disconnect(d->node, silent[i]);
  }
  if (n) dsup_evaluate(d);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  dsup_detector *det = h->data;
  *buf = uv_buf_init((char *)det->buf, sizeof det->buf);
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  dsup_detector *det = u->data;
  nodus_dsup *d = det->d;
  dsup_hb hb;
  if (!d || nread <= 0 || dsup_hb_parse((const uint8_t *)buf->base,
                                        (size_t)nread, &hb))
    return;
  if (hb.dsup_len != strlen(d->name) || memcmp(hb.dsup, d->name, hb.dsup_len))
    return;
  nodus_atom node;
  if (nodus_atom_lookup(hb.node, hb.node_len, &node)) return; /* no new atoms */
  dsup_member *m = dsup_member_get(d, node);
  if (m) m->hb_heard_ns = dsup_now_ns();
}

int dsup_detector_start(nodus_dsup *d) {
  if (!d->opts.detector_ms) return 0;
  dsup_detector *det = calloc(1, sizeof *det);
  if (!det) return NODUS_ENOMEM;
  uv_loop_t *loop = &d->node->loop;
  det->d = d;
  det->udp.data = det->timer.data = det;
  struct sockaddr_in any;
  uv_ip4_addr("0.0.0.0", 0, &any);
  int rc = uv_udp_init(loop, &det->udp);
  if (rc) {
    free(det);
    return NODUS_EIO;
  }
  uv_timer_init(loop, &det->timer);
  struct sockaddr_storage me;
  int len = sizeof me;
  if ((rc = uv_udp_bind(&det->udp, (const struct sockaddr *)&any, 0)) ||
      (rc = uv_udp_getsockname(&det->udp, (struct sockaddr *)&me, &len)) ||
      (rc = uv_udp_recv_start(&det->udp, on_alloc, on_recv))) {
    nodus_log(d->node, NODUS_LOG_ERROR, "dsup", "%s: detector: %s", d->name,
              uv_strerror(rc));
    det->d = NULL;
    uv_close((uv_handle_t *)&det->udp, on_closed);
    uv_close((uv_handle_t *)&det->timer, on_closed);
    return NODUS_EIO;
  }
  d->hb_port = ntohs(((struct sockaddr_in *)&me)->sin_port);
  uv_timer_start(&det->timer, on_timer, period_ms(d), period_ms(d));
  d->detector = det;
  return 0;
}

/* On the loop, when the process ends. */
void dsup_detector_stop(nodus_dsup *d) {
  dsup_detector *det = d->detector;
  if (!det) return;
  d->detector = NULL;
  det->d = NULL;
  uv_close((uv_handle_t *)&det->udp, on_closed);
  uv_close((uv_handle_t *)&det->timer, on_closed);
}
