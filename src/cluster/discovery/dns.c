/* dns: the nodes a DNS name gives (libcluster's DNSPoll, plus SRV):
 *
 *   dns:app.ns.svc.cluster.local,basename=app,interval_ms=5000
 *   dns:_app._tcp.app.ns.svc.cluster.local,server=10.0.0.10:53
 *
 * Every interval each list item is asked for: a name for its A and AAAA
 * records, each address giving BASENAME@ADDRESS (the address as
 * inet_ntop writes it, as DNSPoll's :inet_parse.ntoa does); a name that
 * starts with '_' (_service._proto.name) for its SRV records, each target
 * giving BASENAME@TARGET (without the trailing dot), as headless services
 * name their pods. The union of one round is what the topology lists.
 *
 * Names are searched as the resolver does (ares_search: resolv.conf's
 * search domains apply to short names; a trailing dot makes one absolute).
 *
 * Options:
 *   (items)      the names to ask for; at least one
 *   basename     the node name before '@' (default: ours)
 *   interval_ms  5000: time between rounds
 *   timeout_ms   2000: how long a round's queries may take; c-ares asks
 *                again after half of it (or the next server)
 *   server       ip or ip:port ([v6]:port) asked instead of the servers
 *                of /etc/resolv.conf (read once, at start)
 *
 * A round where any query fails (no answer in time, SERVFAIL, refused, an
 * answer that does not parse) is an error and changes nothing; a name
 * that does not exist or has no records adds nothing, and a round that
 * found nothing at all changes nothing either (the core never acts on an
 * empty poll). Every name from an answer goes through disc_node_atom.
 *
 * c-ares runs on the node's loop: its sockets are watched with uv_poll
 * (ARES_OPT_SOCK_STATE_CB), ares_process_fd runs on readiness, a timer
 * runs c-ares' own timeouts, another bounds each round (ares_cancel).
 * Nothing blocks, there is no thread; only ares_init_options reads
 * /etc/resolv.conf, once, at start. */
#include <arpa/inet.h>
#include <ares.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/discovery/discovery_internal.h"

#define DEFAULT_INTERVAL_MS 5000
#define DEFAULT_TIMEOUT_MS 2000
#define MAX_NODES 1024 /* listed from one round, at most */
#define MAX_ADDRS 256  /* addresses taken from one answer */

enum { DNS_CLASS_IN = 1, DNS_TYPE_A = 1, DNS_TYPE_AAAA = 28, DNS_TYPE_SRV = 33 };

typedef struct dns_state dns_state;

typedef struct dns_query {
  dns_state *s;
  const char *name; /* a list item: the topology's, it outlives us */
  int type;
  int status; /* this round's, ARES_SUCCESS for nothing wrong */
} dns_query;

/* One socket c-ares asked us to watch. */
typedef struct dns_watch {
  uv_poll_t poll;
  dns_state *s;
  ares_socket_t fd;
  struct dns_watch *next;
} dns_watch;

struct dns_state {
  disc_topology *t;
  ares_channel channel;
  char basename[256];
  char server[80]; /* for messages */
  unsigned interval_ms, timeout_ms;
  uv_timer_t round_timer, ares_timer, deadline;
  dns_watch *watches;
  int open_handles;
  bool stopping;
  dns_query *queries;
  size_t n_queries;
  /* the round running */
  bool busy, timed_out, empty_logged;
  size_t pending, dropped;
  nodus_atom *found;
  size_t n_found;
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

static void library_init(void) { library_rc = ares_library_init(ARES_LIB_INIT_ALL); }

static const char *type_name(int type) {
  return type == DNS_TYPE_A ? "A" : type == DNS_TYPE_AAAA ? "AAAA" : "SRV";
}

/* ---- freeing, once every handle is closed ------------------------------- */

static void maybe_free(dns_state *s) {
  if (!s->stopping || s->open_handles) return;
  free(s->queries);
  free(s->found);
  free(s);
}

static void watch_closed(uv_handle_t *h) {
  dns_watch *w = h->data;
  dns_state *s = w->s;
  free(w);
  s->open_handles--;
  maybe_free(s);
}

static void timer_closed(uv_handle_t *h) {
  dns_state *s = h->data;
  s->open_handles--;
  maybe_free(s);
}

/* ---- c-ares on the loop ------------------------------------------------- */

/* c-ares' next timeout, or none: checked after every call into it. */
static void on_ares_timer(uv_timer_t *h);
static void arm_ares_timer(dns_state *s) {
  struct timeval tv, *next = s->channel ? ares_timeout(s->channel, NULL, &tv) : NULL;
  if (!next) {
    uv_timer_stop(&s->ares_timer);
    return;
  }
  /* rounded up: a timer due in 0.4 ms must not spin the loop */
  uint64_t ms = (uint64_t)next->tv_sec * 1000 + ((uint64_t)next->tv_usec + 999) / 1000;
  uv_timer_start(&s->ares_timer, on_ares_timer, ms, 0);
}

static void on_ares_timer(uv_timer_t *h) {
  dns_state *s = h->data;
  if (s->stopping) return;
  ares_process_fd(s->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  arm_ares_timer(s);
}

static void on_readiness(uv_poll_t *p, int status, int events) {
  dns_watch *w = p->data;
  dns_state *s = w->s;
  if (s->stopping) return;
  ares_socket_t fd = w->fd; /* w may be closed while c-ares reads */
  /* on a poll error let c-ares read and write: it sees the error itself */
  bool r = status < 0 || (events & UV_READABLE), wr = status < 0 || (events & UV_WRITABLE);
  ares_process_fd(s->channel, r ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
  arm_ares_timer(s);
}

/* c-ares opens, changes or closes a socket (also inside ares_destroy). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
  dns_state *s = data;
  dns_watch **at = &s->watches;
  while (*at && (*at)->fd != fd) at = &(*at)->next;
  dns_watch *w = *at;
  if (!readable && !writable) {
    if (!w) return;
    *at = w->next; /* closed before c-ares closes the fd */
    uv_close((uv_handle_t *)&w->poll, watch_closed);
    return;
  }
  if (!w) {
    if (s->stopping || !(w = calloc(1, sizeof *w))) return; /* it times out */
    w->s = s;
    w->fd = fd;
    if (uv_poll_init_socket(disc_loop(s->t), &w->poll, fd)) {
      free(w);
      return;
    }
    w->poll.data = w;
    w->next = s->watches;
    s->watches = w;
    s->open_handles++;
  }
  uv_poll_start(&w->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                on_readiness);
}

/* ---- a round ------------------------------------------------------------ */

static void add_node(dns_state *s, const char *host) {
  char name[600];
  int len = snprintf(name, sizeof name, "%s@%s", s->basename, host);
  if (s->n_found == MAX_NODES) return;
  if (len > 0 && (size_t)len < sizeof name &&
      disc_node_atom(name, (size_t)len, &s->found[s->n_found]) == 0)
    s->n_found++;
  else
    s->dropped++;
}

/* The nodes of one answer; an ARES_ status. */
static int take_answer(dns_state *s, const dns_query *q, const unsigned char *buf,
                       int len) {
  char text[INET6_ADDRSTRLEN];
  int rc, n = MAX_ADDRS;
  if (q->type == DNS_TYPE_A) {
    struct ares_addrttl a[MAX_ADDRS];
    if ((rc = ares_parse_a_reply(buf, len, NULL, a, &n)) == ARES_SUCCESS)
      for (int i = 0; i < n; i++)
        if (inet_ntop(AF_INET, &a[i].ipaddr, text, sizeof text)) add_node(s, text);
    return rc;
  }
  if (q->type == DNS_TYPE_AAAA) {
    struct ares_addr6ttl a[MAX_ADDRS];
    if ((rc = ares_parse_aaaa_reply(buf, len, NULL, a, &n)) == ARES_SUCCESS)
      for (int i = 0; i < n; i++)
        if (inet_ntop(AF_INET6, &a[i].ip6addr, text, sizeof text)) add_node(s, text);
    return rc;
  }
  struct ares_srv_reply *srv = NULL;
  if ((rc = ares_parse_srv_reply(buf, len, &srv)) != ARES_SUCCESS) return rc;
  for (struct ares_srv_reply *r = srv; r; r = r->next) {
    size_t hl = strlen(r->host);
    if (hl && r->host[hl - 1] == '.') r->host[--hl] = 0;
    if (hl) add_node(s, r->host); /* "." is "no such service here" */
  }
  ares_free_data(srv);
  return ARES_SUCCESS;
}

/* The round's failure, named by the first query that failed (in the
 * spec's order, so the same fault reads the same and is logged once). */
static size_t round_error(dns_state *s, char *buf, size_t size) {
  size_t failed = 0;
  for (size_t i = 0; i < s->n_queries; i++) {
    const dns_query *q = &s->queries[i];
    if (q->status == ARES_SUCCESS || failed++) continue;
    if (q->status == ARES_ECANCELLED && s->timed_out)
      snprintf(buf, size, "%s %s via %s: no answer within %u ms", q->name,
               type_name(q->type), s->server, s->timeout_ms);
    else
      snprintf(buf, size, "%s %s via %s: %s", q->name, type_name(q->type), s->server,
               ares_strerror(q->status));
  }
  return failed;
}

static void round_done(dns_state *s) {
  s->busy = false;
  uv_timer_stop(&s->deadline);
  if (s->dropped)
    disc_log_dropped(s->t, "%zu answer(s) that make no node name with basename %s",
                     s->dropped, s->basename);
  char err[300];
  size_t failed = round_error(s, err, sizeof err);
  if (failed > 1)
    disc_report_error(s->t, "%s (%zu of %zu queries failed)", err, failed, s->n_queries);
  else if (failed)
    disc_report_error(s->t, "%s", err);
  else if (s->n_found) {
    disc_report_all(s->t, s->found, s->n_found);
    s->empty_logged = false;
  } else if (!s->empty_logged) {
    char names[200] = "";
    size_t at = 0;
    for (size_t i = 0; i < s->n_queries && at < sizeof names; i++)
      if (i == 0 || s->queries[i].name != s->queries[i - 1].name)
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", at ? ", " : "",
                               s->queries[i].name);
    nodus_log(disc_node(s->t), NODUS_LOG_INFO, "discovery",
              "dns: no records for %s (an empty poll changes nothing)", names);
    s->empty_logged = true;
  }
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *buf, int len) {
  (void)timeouts;
  dns_query *q = arg;
  dns_state *s = q->s;
  if (status == ARES_EDESTRUCTION || s->stopping) return; /* s is being freed */
  if (status == ARES_SUCCESS) status = take_answer(s, q, buf, len);
  /* no such name, or no records of this type: nothing to add */
  q->status = status == ARES_ENOTFOUND || status == ARES_ENODATA ? ARES_SUCCESS : status;
  if (--s->pending == 0) round_done(s);
}

static void on_deadline(uv_timer_t *h) {
  dns_state *s = h->data;
  if (!s->busy || s->stopping) return;
  s->timed_out = true;
  ares_cancel(s->channel); /* every callback runs now, with ARES_ECANCELLED */
  arm_ares_timer(s);
}

static void on_round(uv_timer_t *h) {
  dns_state *s = h->data;
  if (s->busy || s->stopping) return; /* a slow round: skip a beat */
  s->busy = true;
  s->timed_out = false;
  s->n_found = s->dropped = 0;
  uv_timer_start(&s->deadline, on_deadline, s->timeout_ms, 0);
  s->pending = 1; /* held until every query is sent: an answer may come at once */
  for (size_t i = 0; i < s->n_queries; i++) {
    s->pending++;
    s->queries[i].status = ARES_SUCCESS;
    ares_search(s->channel, s->queries[i].name, DNS_CLASS_IN, s->queries[i].type,
                on_answer, &s->queries[i]);
  }
  arm_ares_timer(s);
  if (--s->pending == 0) round_done(s);
}

/* ---- options ------------------------------------------------------------ */

/* A DNS name as written in a spec: labels of letters, digits, '-' and
 * '_', at most 63 bytes each, 253 in all, an optional trailing dot. */
static bool dns_name_ok(const char *name) {
  size_t len = strlen(name), label = 0;
  if (len && name[len - 1] == '.') len--;
  if (len == 0 || len > 253) return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

static int parse_port(const char *v, unsigned *port) {
  if (v[0] < '0' || v[0] > '9') return NODUS_EINVAL;
  char *end;
  unsigned long p = strtoul(v, &end, 10);
  if (p == 0 || p > 65535 || *end) return NODUS_EINVAL;
  *port = (unsigned)p;
  return 0;
}

/* server=IP, IP:PORT, [IP6]:PORT or IP6: c-ares' "host:port" form in csv. */
static int parse_server(const char *v, char *csv, size_t csv_size) {
  char host[64];
  unsigned port = 53;
  const char *colon = strchr(v, ':');
  if (v[0] == '[') {
    const char *close = strchr(v, ']');
    if (!close || (size_t)(close - v - 1) >= sizeof host) return NODUS_EINVAL;
    memcpy(host, v + 1, (size_t)(close - v - 1));
    host[close - v - 1] = 0;
    if (close[1] && (close[1] != ':' || parse_port(close + 2, &port)))
      return NODUS_EINVAL;
  } else if (colon && !strchr(colon + 1, ':')) { /* one ':': IPv4 and a port */
    if ((size_t)(colon - v) >= sizeof host || parse_port(colon + 1, &port))
      return NODUS_EINVAL;
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = 0;
  } else if (strlen(v) < sizeof host) {
    strcpy(host, v);
  } else {
    return NODUS_EINVAL;
  }
  unsigned char addr[16];
  bool v6 = strchr(host, ':') != NULL;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1) return NODUS_EINVAL;
  snprintf(csv, csv_size, v6 ? "[%s]:%u" : "%s:%u", host, port);
  return 0;
}

/* The first server c-ares will ask, for messages. */
static void describe_servers(dns_state *s) {
  struct ares_addr_port_node *list = NULL;
  snprintf(s->server, sizeof s->server, "the servers of /etc/resolv.conf");
  if (ares_get_servers_ports(s->channel, &list) != ARES_SUCCESS || !list) return;
  char a[INET6_ADDRSTRLEN];
  int port = list->udp_port ? list->udp_port : 53;
  if (inet_ntop(list->family, &list->addr, a, sizeof a))
    snprintf(s->server, sizeof s->server, list->family == AF_INET6 ? "[%s]:%d%s" : "%s:%d%s",
             a, port, list->next ? " (and more)" : "");
  ares_free_data(list);
}

static int parse_opts(dns_state *s, char *csv, size_t csv_size, char *err,
                      size_t err_size) {
  disc_topology *t = s->t;
  size_t n = disc_items(t);
  if (n == 0) {
    snprintf(err, err_size, "a name to ask for is needed (dns:app.example.com)");
    return NODUS_EINVAL;
  }
  int rc;
  if ((rc = disc_opt_uint(t, "interval_ms", DEFAULT_INTERVAL_MS, &s->interval_ms, err,
                          err_size)) ||
      (rc = disc_opt_uint(t, "timeout_ms", DEFAULT_TIMEOUT_MS, &s->timeout_ms, err,
                          err_size)))
    return rc;
  if (!s->interval_ms) s->interval_ms = DEFAULT_INTERVAL_MS;
  if (!s->timeout_ms) s->timeout_ms = DEFAULT_TIMEOUT_MS;

  const char *base = disc_opt(t, "basename");
  const char *own = nodus_atom_text(nodus_node_name(disc_node(t)), NULL);
  size_t base_len = base ? strlen(base) : strcspn(own, "@");
  nodus_atom probe;
  char check[300];
  int cl = snprintf(check, sizeof check, "%.*s@h", (int)base_len, base ? base : own);
  if (base_len == 0 || base_len >= sizeof s->basename || cl < 0 ||
      (size_t)cl >= sizeof check || disc_node_atom(check, (size_t)cl, &probe)) {
    snprintf(err, err_size, "basename=%.100s is not the name part of a node name",
             base ? base : own);
    return NODUS_EINVAL;
  }
  memcpy(s->basename, base ? base : own, base_len);
  s->basename[base_len] = 0;

  const char *server = disc_opt(t, "server");
  csv[0] = 0;
  if (server && parse_server(server, csv, csv_size)) {
    snprintf(err, err_size, "server=%.100s is not an address (ip, ip:port or [ip6]:port)",
             server);
    return NODUS_EINVAL;
  }

  size_t nq = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = disc_item(t, i);
    if (!dns_name_ok(name)) {
      snprintf(err, err_size, "'%.100s' is not a DNS name", name);
      return NODUS_EINVAL;
    }
    nq += name[0] == '_' ? 1 : 2;
  }
  if (!(s->queries = calloc(nq, sizeof *s->queries))) return NODUS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *name = disc_item(t, i);
    if (name[0] == '_') {
      s->queries[s->n_queries++] = (dns_query){s, name, DNS_TYPE_SRV, ARES_SUCCESS};
    } else {
      s->queries[s->n_queries++] = (dns_query){s, name, DNS_TYPE_A, ARES_SUCCESS};
      s->queries[s->n_queries++] = (dns_query){s, name, DNS_TYPE_AAAA, ARES_SUCCESS};
    }
  }
  return 0;
}

/* ---- start and stop ----------------------------------------------------- */

static int dns_start(disc_topology *t, char *err, size_t err_size) {
  pthread_once(&library_once, library_init);
  if (library_rc != ARES_SUCCESS) {
    snprintf(err, err_size, "c-ares: %s", ares_strerror(library_rc));
    return NODUS_EINVAL;
  }
  dns_state *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  s->t = t;
  char csv[96];
  int rc = parse_opts(s, csv, sizeof csv, err, err_size);
  if (!rc && !(s->found = calloc(MAX_NODES, sizeof *s->found))) rc = NODUS_ENOMEM;
  if (!rc) {
    struct ares_options o = {
        .flags = ARES_FLAG_NOALIASES, /* no $HOSTALIASES file read on the loop */
        .timeout = (int)(s->timeout_ms / 2 ? s->timeout_ms / 2 : 1),
        .tries = 2,
        .sock_state_cb = on_sock_state,
        .sock_state_cb_data = s,
    };
    int ar = ares_init_options(&s->channel, &o,
                               ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                   ARES_OPT_SOCK_STATE_CB);
    if (ar == ARES_SUCCESS && csv[0]) ar = ares_set_servers_ports_csv(s->channel, csv);
    if (ar != ARES_SUCCESS) {
      snprintf(err, err_size, "c-ares: %s", ares_strerror(ar));
      rc = NODUS_EINVAL;
    }
  }
  if (rc) {
    if (s->channel) ares_destroy(s->channel); /* no socket is open yet */
    free(s->queries);
    free(s->found);
    free(s);
    return rc;
  }
  describe_servers(s);
  uv_timer_t *timers[] = {&s->round_timer, &s->ares_timer, &s->deadline};
  for (size_t i = 0; i < 3; i++) {
    uv_timer_init(disc_loop(t), timers[i]);
    timers[i]->data = s;
    s->open_handles++;
  }
  uv_timer_start(&s->round_timer, on_round, 0, s->interval_ms);
  disc_set_state(t, s);
  return 0;
}

static void dns_stop(disc_topology *t) {
  dns_state *s = disc_state(t);
  if (!s) return;
  disc_set_state(t, NULL);
  s->stopping = true;
  /* Pending queries end here (ARES_EDESTRUCTION: on_answer touches
   * nothing), and every socket's watch is closed through on_sock_state
   * before c-ares closes the fd. s lives until the last handle closed. */
  ares_destroy(s->channel);
  s->channel = NULL;
  while (s->watches) {
    dns_watch *w = s->watches;
    s->watches = w->next;
    uv_close((uv_handle_t *)&w->poll, watch_closed);
  }
  uv_close((uv_handle_t *)&s->round_timer, timer_closed);
  uv_close((uv_handle_t *)&s->ares_timer, timer_closed);
  uv_close((uv_handle_t *)&s->deadline, timer_closed);
}

static const char *const dns_keys[] = {"", "basename", "interval_ms", "timeout_ms",
                                       "server", NULL};

const disc_strategy disc_dns = {"dns", dns_start, dns_stop, dns_keys};
