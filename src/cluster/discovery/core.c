/* Discovery's core: topologies, what each lists, and the connect manager.
 *
 * Strategies report nodes (disc_report_all/_one); the core keeps, per
 * topology, the nodes it lists now (FOUND and LOST are the changes), and
 * per node the number of topologies listing it. A listed node that is not
 * connected is dialled: first its epmd is asked for its port with a short
 * deadline (our own lookup, so a host still cut off costs one timed-out
 * request we can abandon, not a dial stuck for net_setuptime in the peer
 * table), then nodus_node_connect dials that port. Node events say when it
 * is up or down; a failure waits a capped, doubling, jittered backoff. A
 * node that goes down while listed is dialled again after the shortest
 * backoff: that is the reconnect after a heal.
 *
 * The uv handles live on the node's loop. A node closing with a discovery
 * still running ends it through an anchor process (its on_exit runs while
 * the loop can still close handles); nodus_discovery_stop does the same
 * earlier. Everything here runs on the loop. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/discovery/core_internal.h"
#include "distribution/epmd_client.h"
#include "nodus/otp.h"
#include "runtime/node_internal.h"

#define DEFAULT_BACKOFF_MIN_MS 100
#define DEFAULT_BACKOFF_MAX_MS 5000
#define DEFAULT_CONNECT_TIMEOUT_MS 1000
#define ERROR_LOG_EVERY_MS 60000 /* the same error again: once a minute */
#define DROPPED_LOG_EVERY_MS 10000
#define TTL_SWEEP_MS 100

enum peer_state { P_IDLE, P_WAIT, P_PROBE, P_DIAL };

typedef struct disc_peer {
  nodus_discovery *d;
  nodus_atom name;
  unsigned listed; /* topologies listing it */
  bool up;
  enum peer_state st;
  unsigned backoff_ms;
  uv_timer_t timer;
  epmd_op *probe;
  char last_fail[200]; /* logged once per change */
} disc_peer;

typedef struct listed_node {
  nodus_atom node;
  uint64_t deadline_ms; /* 0: no TTL */
} listed_node;

struct disc_topology {
  nodus_discovery *d;
  int index;
  const disc_strategy *s;
  disc_kv *kv;
  size_t n_kv;
  void *state;
  bool started, disconnect_missing;
  listed_node *nodes;
  size_t n_nodes, cap_nodes;
  uv_timer_t ttl_timer;
  bool ttl_on;
  char last_error[256];
  bool has_error;
  uint64_t error_logged_ms, dropped_logged_ms;
  unsigned errors_unlogged, dropped_unlogged;
};

struct nodus_discovery {
  nodus_node *node;
  uv_loop_t *loop;
  disc_topology **topos;
  size_t n_topos;
  disc_peer **peers;
  size_t n_peers, cap_peers;
  nodus_atom *up;
  size_t n_up, cap_up;
  nodus_node_events *sub;
  unsigned backoff_min, backoff_max, connect_timeout;
  nodus_discovery_fn on_event;
  void *arg;
  bool dry_run, stopped;
  nodus_term anchor;
  nodus_discovery **owner_slot;
  int closing_handles;
  uint64_t rng;
  nodus_discovery *next_running; /* the process-wide list, for rpc */
};

/* Every running discovery, so nodus:discovery/0 shows those a program
 * started itself (--discover) beside the service's. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static nodus_discovery *running;

static void running_add(nodus_discovery *d) {
  pthread_mutex_lock(&running_lock);
  d->next_running = running;
  running = d;
  pthread_mutex_unlock(&running_lock);
}

static void running_del(nodus_discovery *d) {
  pthread_mutex_lock(&running_lock);
  for (nodus_discovery **p = &running; *p; p = &(*p)->next_running)
    if (*p == d) {
      *p = d->next_running;
      break;
    }
  pthread_mutex_unlock(&running_lock);
}

/* The node of d while d runs, else NULL (ended by its node's close: d is
 * gone, only its address is compared). */
static nodus_node *running_node(nodus_discovery *d) {
  nodus_node *node = NULL;
  pthread_mutex_lock(&running_lock);
  for (nodus_discovery *r = running; r && !node; r = r->next_running)
    if (r == d) node = d->node;
  pthread_mutex_unlock(&running_lock);
  return node;
}

/* ---- small helpers --------------------------------------------------------- */

static const char *text(nodus_atom a) { return nodus_atom_text(a, NULL); }

static unsigned jitter(nodus_discovery *d, unsigned ms) {
  /* xorshift: ±25% so nodes cut off together don't redial in lockstep */
  d->rng ^= d->rng << 13;
  d->rng ^= d->rng >> 7;
  d->rng ^= d->rng << 17;
  unsigned spread = ms / 2;
  return ms - ms / 4 + (spread ? (unsigned)(d->rng % (spread + 1)) : 0);
}

static const char *const event_kinds[] = {
    [NODUS_DISCOVERY_FOUND] = "found",
    [NODUS_DISCOVERY_LOST] = "lost",
    [NODUS_DISCOVERY_CONNECT_FAILED] = "connect_failed",
    [NODUS_DISCOVERY_ERROR] = "error",
};

/* {nodus_discovery, Kind, Node, [{strategy, S}, {topology, I} | Reason]}
 * for processes subscribed with NODUS_NODES_DISCOVERY. */
static nodus_term event_message(const nodus_discovery_event *ev) {
  nodus_term info = nodus_nil(), reason = nodus_nil();
  size_t n = ev->reason ? 3 : 2;
  if (ev->reason && nodus_mk_binary(&reason, ev->reason, strlen(ev->reason)))
    n = 2;
  if (nodus_mk_list(&info, n) == 0) {
    nodus_list_set(&info, 0, rt_tuple(2, rt_atom("strategy"), rt_atom(ev->strategy)));
    nodus_list_set(&info, 1, rt_tuple(2, rt_atom("topology"),
                                      nodus_int(ev->topology)));
    if (n == 3) nodus_list_set(&info, 2, rt_tuple(2, rt_atom("reason"), reason));
  } else {
    nodus_term_free(&reason);
  }
  return rt_tuple(4, rt_atom("nodus_discovery"), rt_atom(event_kinds[ev->kind]),
                  nodus_atom_term(ev->node), info);
}

/* To the discovery's callback and to the node's event subscribers. */
static void emit(nodus_discovery *d, nodus_discovery_event_kind kind,
                 nodus_atom node, disc_topology *t, const char *reason) {
  nodus_discovery_event ev = {.kind = kind,
                              .node = node,
                              .strategy = t ? t->s->name : "",
                              .topology = t ? t->index : -1,
                              .reason = reason};
  if (d->on_event) d->on_event(d->node, &ev, d->arg);
  nodus_node_event nev = {.node = node, .discovery = &ev};
  rt_node_events_emit_discovery(d->node, &nev, event_message(&ev));
}

static void free_discovery(nodus_discovery *d) {
  for (size_t i = 0; i < d->n_topos; i++) {
    disc_topology *t = d->topos[i];
    for (size_t k = 0; k < t->n_kv; k++) {
      free(t->kv[k].key);
      free(t->kv[k].value);
    }
    free(t->kv);
    free(t->nodes);
    free(t);
  }
  free(d->topos);
  free(d->peers);
  free(d->up);
  nodus_term_free(&d->anchor);
  free(d);
}

/* Topology timers carry their topology, peer timers their peer: both
 * begin with the discovery's pointer. */
static void handle_closed(uv_handle_t *h) {
  nodus_discovery *d = *(nodus_discovery **)h->data;
  if (--d->closing_handles == 0 && d->stopped) free_discovery(d);
}

static void peer_closed(uv_handle_t *h) {
  nodus_discovery *d = *(nodus_discovery **)h->data;
  free(h->data);
  if (--d->closing_handles == 0 && d->stopped) free_discovery(d);
}

static void close_handle(nodus_discovery *d, uv_handle_t *h, uv_close_cb cb) {
  d->closing_handles++;
  uv_close(h, cb);
}

/* ---- the set of connected nodes ------------------------------------------- */

static bool is_up(nodus_discovery *d, nodus_atom n) {
  for (size_t i = 0; i < d->n_up; i++)
    if (d->up[i] == n) return true;
  return false;
}

static void up_set(nodus_discovery *d, nodus_atom n, bool up) {
  for (size_t i = 0; i < d->n_up; i++)
    if (d->up[i] == n) {
      if (!up) d->up[i] = d->up[--d->n_up];
      return;
    }
  if (!up) return;
  if (d->n_up == d->cap_up) {
    size_t cap = d->cap_up ? 2 * d->cap_up : 16;
    nodus_atom *grown = realloc(d->up, cap * sizeof *grown);
    if (!grown) return;
    d->up = grown;
    d->cap_up = cap;
  }
  d->up[d->n_up++] = n;
}

/* ---- the connect manager ---------------------------------------------------- */

static disc_peer *peer_find(nodus_discovery *d, nodus_atom n, size_t *at) {
  for (size_t i = 0; i < d->n_peers; i++)
    if (d->peers[i]->name == n) {
      if (at) *at = i;
      return d->peers[i];
    }
  return NULL;
}

static void on_peer_timer(uv_timer_t *h);

static void attempt_after(disc_peer *p, unsigned ms) {
  p->st = P_WAIT;
  uv_timer_start(&p->timer, on_peer_timer, ms, 0);
}

static void peer_failed(disc_peer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void peer_failed(disc_peer *p, const char *fmt, ...) {
  nodus_discovery *d = p->d;
  char why[sizeof p->last_fail];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (strcmp(why, p->last_fail)) {
    nodus_log(d->node, NODUS_LOG_WARN, "discovery",
              "cannot connect to %s: %s (retrying with backoff)", text(p->name),
              why);
    snprintf(p->last_fail, sizeof p->last_fail, "%s", why);
  }
  /* The event goes to every topology listing it: report it once, with
   * the first such topology. */
  disc_topology *t = NULL;
  for (size_t i = 0; i < d->n_topos && !t; i++)
    for (size_t k = 0; k < d->topos[i]->n_nodes && !t; k++)
      if (d->topos[i]->nodes[k].node == p->name) t = d->topos[i];
  emit(d, NODUS_DISCOVERY_CONNECT_FAILED, p->name, t, why);
  attempt_after(p, jitter(d, p->backoff_ms));
  p->backoff_ms = p->backoff_ms >= d->backoff_max / 2 ? d->backoff_max
                                                       : p->backoff_ms * 2;
}

/* Dials p, at port when we learnt it (0: as the node would, epmd or the
 * port the program gave). The port is handed over for this one dial. */
static void dial(disc_peer *p, int port) {
  nodus_discovery *d = p->d;
  if (port) nodus_node_set_peer_port(d->node, p->name, port);
  int rc = nodus_node_connect(d->node, p->name);
  if (port) nodus_node_set_peer_port(d->node, p->name, 0);
  if (rc) {
    peer_failed(p, "%s", nodus_strerror(rc));
    return;
  }
  if (is_up(d, p->name)) { /* it was up already */
    p->st = P_IDLE;
    return;
  }
  p->st = P_DIAL;
  uv_timer_start(&p->timer, on_peer_timer, 2 * d->connect_timeout + 1000, 0);
}

static const char *host_of(nodus_atom n) {
  const char *at = strchr(text(n), '@');
  return at ? at + 1 : "";
}

static void on_probe(int status, const epmd_node_info *info, void *data) {
  disc_peer *p = data;
  p->probe = NULL;
  if (status == 0) dial(p, info->port);
  else if (status == NODUS_ENOTFOUND)
    peer_failed(p, "not registered in epmd on %s", host_of(p->name));
  else if (status == NODUS_ETIMEDOUT)
    peer_failed(p, "epmd on %s: no answer within %u ms", host_of(p->name),
                p->d->connect_timeout);
  else /* no epmd there: the node may know the port (nodus_node_set_peer_port) */
    dial(p, 0);
}

static void on_peer_timer(uv_timer_t *h) {
  disc_peer *p = h->data;
  nodus_discovery *d = p->d;
  if (p->up || d->stopped) return;
  if (p->st == P_DIAL) {
    peer_failed(p, "no connection within %u ms (handshake refused?)",
                2 * d->connect_timeout + 1000);
    return;
  }
  epmd_client_opts eo = {.host = host_of(p->name),
                         .port = d->node->opts.epmd_port,
                         .timeout_ms = d->connect_timeout};
  p->st = P_PROBE;
  int rc = epmd_port_please(d->loop, &eo, text(p->name), on_probe, p, &p->probe);
  if (rc) {
    p->probe = NULL;
    peer_failed(p, "epmd on %s: %s", eo.host, nodus_strerror(rc));
  }
}

static void peer_stop_work(disc_peer *p) {
  if (p->probe) epmd_cancel(p->probe);
  p->probe = NULL;
  uv_timer_stop(&p->timer);
  p->st = P_IDLE;
}

static void peer_listed(nodus_discovery *d, nodus_atom n) {
  if (d->dry_run) return;
  disc_peer *p = peer_find(d, n, NULL);
  if (p) {
    p->listed++;
    return;
  }
  if (d->n_peers == d->cap_peers) {
    size_t cap = d->cap_peers ? 2 * d->cap_peers : 16;
    disc_peer **grown = realloc(d->peers, cap * sizeof *grown);
    if (!grown) return;
    d->peers = grown;
    d->cap_peers = cap;
  }
  if (!(p = calloc(1, sizeof *p))) return;
  p->d = d;
  p->name = n;
  p->listed = 1;
  p->backoff_ms = d->backoff_min;
  p->up = is_up(d, n);
  uv_timer_init(d->loop, &p->timer);
  p->timer.data = p;
  d->peers[d->n_peers++] = p;
  if (!p->up) attempt_after(p, 0);
}

static void peer_release(nodus_discovery *d, size_t at) {
  disc_peer *p = d->peers[at];
  d->peers[at] = d->peers[--d->n_peers];
  peer_stop_work(p);
  close_handle(d, (uv_handle_t *)&p->timer, peer_closed);
}

static void peer_unlisted(nodus_discovery *d, nodus_atom n, bool disconnect) {
  size_t at;
  disc_peer *p = peer_find(d, n, &at);
  if (!p || --p->listed > 0) return;
  if (disconnect && p->up) {
    nodus_log(d->node, NODUS_LOG_INFO, "discovery",
              "disconnecting %s: no longer listed (disconnect_missing)",
              text(n));
    nodus_node_disconnect(d->node, n);
  }
  peer_release(d, at);
}

static void on_node_event(nodus_node *node, const nodus_node_event *ev,
                          void *arg) {
  nodus_discovery *d = arg;
  if (d->stopped) return;
  up_set(d, ev->node, ev->up);
  disc_peer *p = peer_find(d, ev->node, NULL);
  if (!p) return;
  p->up = ev->up;
  if (ev->up) {
    peer_stop_work(p);
    if (p->last_fail[0])
      nodus_log(d->node, NODUS_LOG_INFO, "discovery", "connected to %s",
                text(p->name));
    p->last_fail[0] = 0;
    p->backoff_ms = d->backoff_min;
  } else if (p->st == P_IDLE) {
    /* Lost while listed (a cut, a restart): dial again soon. */
    attempt_after(p, jitter(d, d->backoff_min));
  }
}

/* ---- what strategies call -------------------------------------------------- */

nodus_node *disc_node(disc_topology *t) { return t->d->node; }
uv_loop_t *disc_loop(disc_topology *t) { return t->d->loop; }
void *disc_state(disc_topology *t) { return t->state; }
void disc_set_state(disc_topology *t, void *state) { t->state = state; }
bool disc_dry_run(disc_topology *t) { return t->d->dry_run; }

const char *disc_opt(disc_topology *t, const char *key) {
  const char *v = NULL;
  for (size_t i = 0; i < t->n_kv; i++) /* the last one wins */
    if (t->kv[i].key && !strcmp(t->kv[i].key, key)) v = t->kv[i].value;
  return v;
}

size_t disc_items(disc_topology *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->n_kv; i++)
    if (!t->kv[i].key) n++;
  return n;
}

const char *disc_item(disc_topology *t, size_t i) {
  for (size_t k = 0; k < t->n_kv; k++)
    if (!t->kv[k].key && i-- == 0) return t->kv[k].value;
  return NULL;
}

int disc_opt_uint(disc_topology *t, const char *key, unsigned def,
                  unsigned *out, char *err, size_t err_size) {
  const char *v = disc_opt(t, key);
  *out = def;
  if (!v) return 0;
  if (disc_parse_uint(v, out)) {
    snprintf(err, err_size, "%s=%s is not an unsigned integer", key, v);
    return NODUS_EINVAL;
  }
  return 0;
}

int disc_opt_bool(disc_topology *t, const char *key, bool def, bool *out,
                  char *err, size_t err_size) {
  const char *v = disc_opt(t, key);
  *out = def;
  if (!v) return 0;
  if (disc_parse_bool(v, out)) {
    snprintf(err, err_size, "%s=%s is not true or false", key, v);
    return NODUS_EINVAL;
  }
  return 0;
}

static bool name_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int disc_node_atom(const char *s, size_t len, nodus_atom *out) {
  /* name@host: a name epmd would register, a host name or address; both
   * plain ASCII, so a hostile packet or file makes no odd atoms. */
  if (!s || len < 3 || len > 255) return NODUS_EBADNAME;
  const char *at = memchr(s, '@', len);
  if (!at || at == s || at == s + len - 1) return NODUS_EBADNAME;
  for (const char *p = s; p < at; p++)
    if (!name_byte((unsigned char)*p)) return NODUS_EBADNAME;
  for (const char *p = at + 1; p < s + len; p++)
    if (!name_byte((unsigned char)*p) && *p != ':' && *p != '[' && *p != ']')
      return NODUS_EBADNAME;
  return nodus_atom_intern(s, len, out) ? NODUS_EBADNAME : 0;
}

static ssize_t listed_at(disc_topology *t, nodus_atom n) {
  for (size_t i = 0; i < t->n_nodes; i++)
    if (t->nodes[i].node == n) return (ssize_t)i;
  return -1;
}

static void found(disc_topology *t, nodus_atom n, uint64_t deadline) {
  if (t->n_nodes == t->cap_nodes) {
    size_t cap = t->cap_nodes ? 2 * t->cap_nodes : 16;
    listed_node *grown = realloc(t->nodes, cap * sizeof *grown);
    if (!grown) return;
    t->nodes = grown;
    t->cap_nodes = cap;
  }
  t->nodes[t->n_nodes++] = (listed_node){n, deadline};
  nodus_log(t->d->node, NODUS_LOG_INFO, "discovery", "%s: found %s", t->s->name,
            text(n));
  emit(t->d, NODUS_DISCOVERY_FOUND, n, t, NULL);
  peer_listed(t->d, n);
}

static void lost(disc_topology *t, size_t i) {
  nodus_atom n = t->nodes[i].node;
  t->nodes[i] = t->nodes[--t->n_nodes];
  nodus_log(t->d->node, NODUS_LOG_INFO, "discovery", "%s: lost %s", t->s->name,
            text(n));
  emit(t->d, NODUS_DISCOVERY_LOST, n, t, NULL);
  peer_unlisted(t->d, n, t->disconnect_missing);
}

static void poll_ok(disc_topology *t) {
  if (!t->has_error) return;
  nodus_log(t->d->node, NODUS_LOG_INFO, "discovery", "%s: working again",
            t->s->name);
  t->has_error = false;
  t->errors_unlogged = 0;
}

void disc_report_all(disc_topology *t, const nodus_atom *nodes, size_t n) {
  nodus_discovery *d = t->d;
  if (d->stopped || n == 0) return;
  poll_ok(t);
  nodus_atom self = nodus_node_name(d->node);
  for (size_t i = t->n_nodes; i-- > 0;) {
    bool still = false;
    for (size_t k = 0; k < n && !still; k++) still = nodes[k] == t->nodes[i].node;
    if (!still) lost(t, i);
    else t->nodes[i].deadline_ms = 0;
  }
  for (size_t k = 0; k < n; k++)
    if (nodes[k] != self && nodes[k] != NODUS_ATOM_EMPTY &&
        listed_at(t, nodes[k]) < 0)
      found(t, nodes[k], 0);
}

static void on_ttl_timer(uv_timer_t *h) {
  disc_topology *t = h->data;
  uint64_t now = uv_now(t->d->loop);
  bool any = false;
  for (size_t i = t->n_nodes; i-- > 0;) {
    if (!t->nodes[i].deadline_ms) continue;
    if (now >= t->nodes[i].deadline_ms) lost(t, i);
    else any = true;
  }
  if (!any) {
    uv_timer_stop(h);
    t->ttl_on = false;
  }
}

void disc_report_one(disc_topology *t, nodus_atom n, unsigned ttl_ms) {
  nodus_discovery *d = t->d;
  if (d->stopped || n == NODUS_ATOM_EMPTY || n == nodus_node_name(d->node))
    return;
  uint64_t deadline = ttl_ms ? uv_now(d->loop) + ttl_ms : 0;
  ssize_t i = listed_at(t, n);
  if (i >= 0) t->nodes[i].deadline_ms = deadline;
  else found(t, n, deadline);
  if (ttl_ms && !t->ttl_on) {
    t->ttl_on = true;
    uv_timer_start(&t->ttl_timer, on_ttl_timer, TTL_SWEEP_MS, TTL_SWEEP_MS);
  }
}

void disc_report_error(disc_topology *t, const char *fmt, ...) {
  nodus_discovery *d = t->d;
  if (d->stopped) return;
  char why[sizeof t->last_error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  uint64_t now = uv_now(d->loop);
  bool changed = !t->has_error || strcmp(why, t->last_error);
  if (changed || now - t->error_logged_ms >= ERROR_LOG_EVERY_MS) {
    if (!changed && t->errors_unlogged)
      nodus_log(d->node, NODUS_LOG_WARN, "discovery", "%s: %s (%u more times)",
                t->s->name, why, t->errors_unlogged);
    else
      nodus_log(d->node, NODUS_LOG_WARN, "discovery", "%s: %s", t->s->name, why);
    t->error_logged_ms = now;
    t->errors_unlogged = 0;
  } else {
    t->errors_unlogged++;
  }
  snprintf(t->last_error, sizeof t->last_error, "%s", why);
  t->has_error = true;
  emit(d, NODUS_DISCOVERY_ERROR, NODUS_ATOM_EMPTY, t, why);
}

void disc_log_dropped(disc_topology *t, const char *fmt, ...) {
  nodus_discovery *d = t->d;
  uint64_t now = uv_now(d->loop);
  if (t->dropped_logged_ms && now - t->dropped_logged_ms < DROPPED_LOG_EVERY_MS) {
    t->dropped_unlogged++;
    return;
  }
  char why[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (t->dropped_unlogged)
    nodus_log(d->node, NODUS_LOG_WARN, "discovery",
              "%s: dropped %s (and %u more since the last line)", t->s->name,
              why, t->dropped_unlogged);
  else
    nodus_log(d->node, NODUS_LOG_WARN, "discovery", "%s: dropped %s",
              t->s->name, why);
  t->dropped_logged_ms = now ? now : 1;
  t->dropped_unlogged = 0;
}

/* ---- start and stop -------------------------------------------------------- */

/* Ends everything: strategies, timers, lookups, the subscription. The
 * memory goes once libuv has closed the last handle. */
static void teardown(nodus_discovery *d) {
  if (d->stopped) return;
  d->stopped = true;
  running_del(d);
  for (size_t i = 0; i < d->n_topos; i++) {
    disc_topology *t = d->topos[i];
    if (t->started && t->s->stop) t->s->stop(t);
    t->started = false;
    close_handle(d, (uv_handle_t *)&t->ttl_timer, handle_closed);
  }
  while (d->n_peers) peer_release(d, d->n_peers - 1);
  if (d->sub) nodus_node_events_unsubscribe(d->node, d->sub);
  d->sub = NULL;
  if (d->owner_slot) *d->owner_slot = NULL;
  if (d->closing_handles == 0) free_discovery(d);
}

static void anchor_message(nodus_proc *self, const nodus_term *msg) {
  nodus_term normal;
  if (nodus_is_atom(msg, "stop") && nodus_mk_atom(&normal, "normal") == 0)
    nodus_exit(self, &normal);
}

/* The node is closing with the discovery still running. */
static void anchor_exit(nodus_proc *self, const nodus_term *reason) {
  nodus_discovery *d = nodus_proc_state(self);
  if (d) teardown(d);
}

static void stop_anchor(nodus_discovery *d) {
  nodus_proc *p = nodus_proc_lookup(d->node, &d->anchor);
  if (!p) return;
  nodus_proc_set_state(p, NULL);
  nodus_term stop;
  if (nodus_mk_atom(&stop, "stop") == 0) nodus_send(d->node, &d->anchor, stop);
}

static void apply_common(nodus_discovery *d, disc_topology *t) {
  for (size_t i = 0; i < t->n_kv; i++) {
    const char *k = t->kv[i].key, *v = t->kv[i].value;
    unsigned u;
    bool b;
    if (!k) continue;
    if (!strcmp(k, "disconnect_missing") && !disc_parse_bool(v, &b))
      t->disconnect_missing = b;
    else if (!strcmp(k, "backoff_min_ms") && !disc_parse_uint(v, &u) && u)
      d->backoff_min = u;
    else if (!strcmp(k, "backoff_max_ms") && !disc_parse_uint(v, &u) && u)
      d->backoff_max = u;
    else if (!strcmp(k, "connect_timeout_ms") && !disc_parse_uint(v, &u) && u)
      d->connect_timeout = u;
  }
}

struct start_call {
  const nodus_discovery_opts *opts;
  char *err;
  size_t err_size;
  nodus_discovery *d;
  int rc;
};

static int setup(nodus_discovery *d, const nodus_discovery_opts *o, char *err,
                 size_t err_size) {
  disc_spec_topo *spec = NULL;
  size_t n = 0;
  int rc = 0;
  for (size_t i = 0; i < o->n_topologies && !rc; i++)
    rc = disc_spec_from_struct(&o->topologies[i], &spec, &n, err, err_size);
  if (!rc && o->spec) rc = disc_spec_parse(o->spec, &spec, &n, err, err_size);
  if (!rc && n == 0) {
    snprintf(err, err_size, "no topology");
    rc = NODUS_EINVAL;
  }
  if (!rc && !(d->topos = calloc(n, sizeof *d->topos))) rc = NODUS_ENOMEM;
  for (size_t i = 0; i < n && !rc; i++) {
    disc_topology *t = calloc(1, sizeof *t);
    if (!t) {
      rc = NODUS_ENOMEM;
      break;
    }
    t->d = d;
    t->index = (int)i;
    t->s = spec[i].strategy;
    t->kv = spec[i].kv;
    t->n_kv = spec[i].n_kv;
    spec[i].kv = NULL;
    spec[i].n_kv = 0;
    uv_timer_init(d->loop, &t->ttl_timer);
    t->ttl_timer.data = t;
    d->topos[d->n_topos++] = t;
    apply_common(d, t);
  }
  disc_spec_free(spec, n);
  if (rc) return rc;
  if (d->backoff_max < d->backoff_min) d->backoff_max = d->backoff_min;

  nodus_proc_spec anchor = {.on_message = anchor_message,
                            .on_exit = anchor_exit,
                            .state = d};
  if ((rc = nodus_spawn(d->node, &anchor, &d->anchor))) return rc;
  if (!d->dry_run) {
    nodus_term list;
    if ((rc = nodus_node_events_subscribe(d->node, NODUS_NODES_ALL,
                                          on_node_event, d, &d->sub)))
      return rc;
    if (nodus_node_list(d->node, &list) == 0) {
      for (size_t i = 0; i < nodus_size(&list); i++)
        up_set(d, nodus_list_item(&list, i)->v.atom, true);
      nodus_term_free(&list);
    }
  }
  running_add(d);
  for (size_t i = 0; i < d->n_topos; i++) {
    disc_topology *t = d->topos[i];
    char why[400] = "";
    t->started = true; /* stop runs after a start that failed half-way */
    if ((rc = t->s->start(t, why, sizeof why))) {
      snprintf(err, err_size, "topology %zu (%s): %s", i + 1, t->s->name,
               why[0] ? why : nodus_strerror(rc));
      return rc;
    }
  }
  return 0;
}

static void start_on_loop(nodus_node *node, void *arg) {
  struct start_call *c = arg;
  const nodus_discovery_opts *o = c->opts;
  nodus_discovery *d = calloc(1, sizeof *d);
  if (!d) {
    c->rc = NODUS_ENOMEM;
    return;
  }
  d->node = node;
  d->loop = &node->loop;
  d->backoff_min = o->backoff_min_ms ? o->backoff_min_ms : DEFAULT_BACKOFF_MIN_MS;
  d->backoff_max = o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
  d->connect_timeout = DEFAULT_CONNECT_TIMEOUT_MS;
  d->on_event = o->on_event;
  d->arg = o->arg;
  d->dry_run = o->dry_run;
  d->rng = (uint64_t)uv_hrtime() ^ ((uint64_t)(uintptr_t)d << 16) ^
           (uint64_t)nodus_node_name(node) << 32;
  if (!d->rng) d->rng = 1;
  c->rc = setup(d, o, c->err, c->err_size);
  if (c->rc) {
    nodus_log(node, NODUS_LOG_ERROR, "discovery", "not started: %s", c->err);
    d->on_event = NULL;
    stop_anchor(d);
    teardown(d);
    return;
  }
  c->d = d;
}

int nodus_discovery_start(nodus_node *node, const nodus_discovery_opts *opts,
                          char *err, size_t err_size, nodus_discovery **out) {
  char local[512];
  if (!err || !err_size) err = local, err_size = sizeof local;
  err[0] = 0;
  if (!node || !opts || !out) return NODUS_EINVAL;
  *out = NULL;
  struct start_call c = {opts, err, err_size, NULL, 0};
  int rc = nodus_node_call(node, start_on_loop, &c);
  if (rc) {
    snprintf(err, err_size, "the node is closing");
    return rc;
  }
  if (c.rc) {
    if (!err[0]) snprintf(err, err_size, "%s", nodus_strerror(c.rc));
    return c.rc;
  }
  *out = c.d;
  return 0;
}

static void stop_on_loop(nodus_node *node, void *arg) {
  nodus_discovery *d = arg;
  if (!running_node(d)) return; /* the node's close ended it meanwhile */
  stop_anchor(d);
  teardown(d);
}

void nodus_discovery_stop(nodus_discovery *d) {
  /* A node stopped or closed has ended its discoveries already. */
  nodus_node *node = d ? running_node(d) : NULL;
  if (node) nodus_node_call(node, stop_on_loop, d);
}

void disc_set_owner_slot(nodus_discovery *d, nodus_discovery **slot) {
  d->owner_slot = slot;
}

/* ---- what it found ---------------------------------------------------------- */

static int nodes_list(disc_topology *t, nodus_term *out) {
  int rc = nodus_mk_list(out, t->n_nodes);
  for (size_t i = 0; !rc && i < t->n_nodes; i++)
    nodus_list_set(out, i, nodus_atom_term(t->nodes[i].node));
  return rc;
}

struct found_call {
  nodus_discovery *d;
  nodus_term *out;
  int rc;
};

static void found_on_loop(nodus_node *node, void *arg) {
  struct found_call *c = arg;
  nodus_discovery *d = c->d;
  if (!running_node(d)) {
    c->rc = NODUS_ESTATE;
    return;
  }
  nodus_term list;
  if ((c->rc = nodus_mk_list(&list, d->n_topos))) return;
  for (size_t i = 0; i < d->n_topos && !c->rc; i++) {
    nodus_term s, nodes;
    if ((c->rc = nodus_mk_atom(&s, d->topos[i]->s->name)) ||
        (c->rc = nodes_list(d->topos[i], &nodes)))
      break;
    nodus_term tuple;
    if ((c->rc = nodus_build(&tuple, "{~t, ~t}", s, nodes))) break;
    nodus_list_set(&list, i, tuple);
  }
  if (c->rc) nodus_term_free(&list);
  else *c->out = list;
}

int nodus_discovery_found(nodus_discovery *d, nodus_term *out) {
  if (!d || !out) return NODUS_EINVAL;
  nodus_node *node = running_node(d);
  if (!node) return NODUS_ESTATE;
  struct found_call c = {d, out, 0};
  int rc = nodus_node_call(node, found_on_loop, &c);
  return rc ? rc : c.rc;
}

static int describe_topology(disc_topology *t, nodus_term *out) {
  nodus_term m, k, v;
  int rc = nodus_mk_map(&m);
  if (rc) return rc;
#define PUT(key, make)                                            \
  do {                                                            \
    if (!rc && !(rc = nodus_mk_atom(&k, key)) && !(rc = (make))) \
      rc = nodus_map_put(&m, k, v);                               \
  } while (0)
  PUT("index", (v = nodus_int(t->index), 0));
  PUT("strategy", nodus_mk_atom(&v, t->s->name));
  PUT("nodes", nodes_list(t, &v));
  PUT("error", t->has_error ? nodus_mk_binary(&v, t->last_error,
                                              strlen(t->last_error))
                            : nodus_mk_atom(&v, "none"));
#undef PUT
  if (rc) nodus_term_free(&m);
  else *out = m;
  return rc;
}

/* Any thread: every running discovery of the node, under the list's lock
 * (topology state changes on the loop; rpc on the loop reads it). */
int disc_describe_node(nodus_node *node, nodus_term *out) {
  size_t n = 0;
  pthread_mutex_lock(&running_lock);
  for (nodus_discovery *d = running; d; d = d->next_running)
    if (d->node == node) n += d->n_topos;
  int rc = nodus_mk_list(out, n);
  size_t at = 0;
  for (nodus_discovery *d = running; d && !rc; d = d->next_running)
    if (d->node == node)
      for (size_t i = 0; i < d->n_topos && !rc; i++) {
        nodus_term m;
        if (!(rc = describe_topology(d->topos[i], &m)))
          nodus_list_set(out, at++, m);
      }
  pthread_mutex_unlock(&running_lock);
  if (rc && out->type != NODUS_T_NONE) nodus_term_free(out);
  return rc;
}

bool disc_node_hidden(nodus_node *node) { return node->opts.hidden; }
