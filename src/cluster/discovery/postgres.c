/* postgres: nodes that find each other through a PostgreSQL database, in
 * two forms that can run together on one connection (libpq):
 *
 *  - notify: libcluster_postgres's LISTEN/NOTIFY. Each node LISTENs on a
 *    channel and sends its name there every interval; every name heard is
 *    listed for ttl_ms (disc_report_one), so a killed node ages out.
 *  - table: a members table, by default the `clusters` table of Ecto's
 *    story (id text primary key = the node name, inserted_at/updated_at
 *    timestamp(0) without time zone in UTC, as Ecto's timestamps() writes).
 *    Each node upserts its row every interval and lists the rows whose
 *    updated_at is fresher than ttl_ms (disc_report_all); a graceful stop
 *    deletes its row (best effort, at most PG_GOODBYE_MS); the table is
 *    created when missing.
 *
 *   postgres:url=postgresql://app@db:5432/app,mode=both,interval_ms=5000
 *
 * Options:
 *   url            a libpq connection string, URI or key=value
 *                  (postgresql://user:pw@host:port/db?sslmode=require);
 *                  none: libpq's PG* environment and defaults. It cannot
 *                  hold ',' or ';' (the spec grammar).
 *   mode           notify, table or both (default both)
 *   channel        default: the cookie with non-word bytes made '_',
 *                  as libcluster_postgres. We LISTEN on it as given and,
 *                  when it has capitals, also on it lowered, where that
 *                  strategy's unquoted NOTIFY lands.
 *   table          clusters (schema.table also works)
 *   id_column, inserted_at_column, updated_at_column
 *                  id, inserted_at, updated_at
 *   interval_ms    5000: heartbeat, upsert and read period
 *   ttl_ms         max(3 x interval, interval + 2000): a node not heard
 *                  or whose row is older than this is no longer listed
 *   timeout_ms     5000: a connect or query that takes longer drops the
 *                  connection (libpq's connect_timeout does not apply to
 *                  a non-blocking connect)
 *
 * Everything runs on the node's loop without blocking: the connect is
 * PQconnectStartParams/PQconnectPoll (a host name is resolved first with
 * uv_getaddrinfo and passed as hostaddr, since libpq would resolve it
 * inside PQconnectPoll, blocking), queries go one at a time through
 * PQsendQueryParams with the node name as a parameter, identifiers are
 * quoted by PQescapeIdentifier. A failed connect or a lost connection is
 * reported (disc_report_error) and retried with capped, jittered,
 * doubling backoff; meanwhile what the topology lists stays as it was.
 * Names read from the database (payloads, rows) are untrusted: each goes
 * through disc_node_atom before any atom is made.
 *
 * In dry-run mode (nodus discover) nothing is announced: no NOTIFY, no
 * row, no CREATE; it only LISTENs and reads. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/discovery/discovery_internal.h"
#include "cluster/discovery/postgres.h"

#define PG_DEFAULT_INTERVAL_MS 5000
#define PG_DEFAULT_TIMEOUT_MS 5000
#define PG_BACKOFF_MIN_MS 250
#define PG_BACKOFF_MAX_MS 5000
#define PG_GOODBYE_MS 1000
#define PG_MAX_ROWS 4096
#define PG_MAX_HEARD 4096
#define PG_MAX_ADDRS 8
#define PG_QUEUE 8

enum { MODE_NOTIFY = 1, MODE_TABLE = 2, MODE_BOTH = 3 };
enum pg_st { ST_DOWN, ST_RESOLVING, ST_CONNECTING, ST_READY };
enum pg_q { Q_NONE, Q_SETUP, Q_CHECK, Q_CREATE, Q_NOTIFY, Q_UPSERT, Q_READ,
            Q_PING, Q_DELETE };

static const char *const q_what[] = {"-", "setting up", "looking for the table",
                                     "creating the table", "NOTIFY",
                                     "upserting our row", "reading the table",
                                     "ping", "deleting our row"};

typedef struct pg_disc pg_disc;

/* A poll handle on our own dup of libpq's socket: libpq may close its
 * descriptor (a failed attempt, a lost connection) or open another one
 * with the same number while connecting; a dup keeps epoll's entry ours
 * until we close it. */
typedef struct pg_watch {
  uv_poll_t h;
  int fd;
  pg_disc *s;
} pg_watch;

typedef struct heard_node {
  nodus_atom node;
  uint64_t at_ms;
} heard_node;

struct pg_disc {
  disc_topology *t; /* NULL once stopped */
  uv_loop_t *loop;
  nodus_node *node;
  int mode;
  bool dry_run;
  unsigned interval_ms, ttl_ms, timeout_ms;
  PQconninfoOption *conninfo;
  char channel[DISC_PG_NAME_MAX + 1], folded[DISC_PG_NAME_MAX + 1];
  char schema[DISC_PG_NAME_MAX + 1], table[DISC_PG_NAME_MAX + 1];
  char id_col[DISC_PG_NAME_MAX + 1], ins_col[DISC_PG_NAME_MAX + 1],
      upd_col[DISC_PG_NAME_MAX + 1];
  char self[256];

  enum pg_st st;
  PGconn *conn;
  pg_watch *watch;
  int watch_events;
  dev_t watch_dev;
  ino_t watch_ino;
  uv_timer_t beat, retry, deadline;
  uv_getaddrinfo_t gai;
  char resolving[256];
  bool gai_pending, stopping, finished, goodbye, row_written;
  int handles;
  unsigned backoff_ms;
  uint64_t rng, down_since;

  /* this connection's SQL, identifiers quoted for it */
  char *sql_setup, *sql_create, *sql_upsert, *sql_read, *sql_delete, *regclass;
  enum pg_q queue[PG_QUEUE];
  size_t nq;
  enum pg_q busy;
  char qerr[240], qcode[6]; /* the query's first error and its SQLSTATE */
  bool qfailed, table_exists;
  nodus_atom *rows;
  size_t n_rows, dropped;

  heard_node *heard;
  size_t n_heard;
};

static const char *const pg_keys[] = {
    "url",       "mode",               "channel",           "table",
    "id_column", "inserted_at_column", "updated_at_column", "interval_ms",
    "ttl_ms",    "timeout_ms",         NULL};

/* ---- small helpers ------------------------------------------------------ */

size_t disc_pg_channel_of(const char *cookie, char *out) {
  size_t n = 0;
  for (; cookie && cookie[n] && n < DISC_PG_NAME_MAX; n++) {
    unsigned char c = (unsigned char)cookie[n];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_';
    out[n] = word ? (char)c : '_';
  }
  out[n] = 0;
  return n;
}

void disc_pg_fold(const char *name, char *out) {
  size_t i = 0;
  for (; name[i]; i++)
    out[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32) : name[i];
  out[i] = 0;
}

static uint64_t now_ms(pg_disc *s) { return uv_now(s->loop); }

static unsigned jitter(pg_disc *s, unsigned ms) {
  s->rng ^= s->rng << 13, s->rng ^= s->rng >> 7, s->rng ^= s->rng << 17;
  unsigned quarter = ms / 4;
  return quarter ? ms - quarter + (unsigned)(s->rng % (2 * quarter + 1)) : ms;
}

/* libpq's messages span lines ("...failed: Connection refused\n\tIs the
 * server running..."): one line for the log. */
static void one_line(const char *msg, char *out, size_t size) {
  size_t n = 0;
  bool space = false;
  for (const char *p = msg ? msg : ""; *p && n + 1 < size; p++) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = n > 0;
      continue;
    }
    if (space && n + 2 < size) out[n++] = ' ';
    space = false;
    out[n++] = *p;
  }
  out[n] = 0;
}

/* Untrusted text for a log line: printable ASCII only, at most 64. */
static void printable(const char *in, char *out, size_t size) {
  size_t n = 0;
  for (; in[n] && n + 1 < size && n < 64; n++)
    out[n] = in[n] >= 0x20 && in[n] < 0x7f ? in[n] : '?';
  out[n] = 0;
}

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!p) return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

/* ---- the poll handle ----------------------------------------------------- */

static void maybe_free(pg_disc *s);
static void on_poll(uv_poll_t *h, int status, int events);

static void watch_closed(uv_handle_t *h) {
  pg_watch *w = h->data;
  pg_disc *s = w->s;
  close(w->fd);
  free(w);
  s->handles--;
  maybe_free(s);
}

static void unwatch(pg_disc *s) {
  if (!s->watch) return;
  uv_close((uv_handle_t *)&s->watch->h, watch_closed);
  s->watch = NULL;
  s->watch_events = 0;
}

/* Waits for events on libpq's socket now; a new socket (libpq tried the
 * next address, or retried without SSL) gets a new handle. */
static int watch(pg_disc *s, int events) {
  int fd = PQsocket(s->conn);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return NODUS_ENET;
  if (s->watch && (st.st_dev != s->watch_dev || st.st_ino != s->watch_ino))
    unwatch(s);
  if (!s->watch) {
    pg_watch *w = calloc(1, sizeof *w);
    if (!w) return NODUS_ENOMEM;
    w->s = s;
    w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (w->fd < 0 || uv_poll_init_socket(s->loop, &w->h, w->fd) != 0) {
      if (w->fd >= 0) close(w->fd);
      free(w);
      return NODUS_ENET;
    }
    w->h.data = w;
    s->handles++;
    s->watch = w;
    s->watch_dev = st.st_dev;
    s->watch_ino = st.st_ino;
    s->watch_events = 0;
  }
  if (events != s->watch_events) {
    if (uv_poll_start(&s->watch->h, events, on_poll) != 0) return NODUS_ENET;
    s->watch_events = events;
  }
  return 0;
}

/* ---- nodes heard --------------------------------------------------------- */

static bool fresh(pg_disc *s, const heard_node *h, uint64_t now) {
  return now - h->at_ms < s->ttl_ms;
}

static void hear(pg_disc *s, nodus_atom node) {
  uint64_t now = now_ms(s);
  size_t i = 0;
  while (i < s->n_heard && s->heard[i].node != node) i++;
  if (i == s->n_heard) {
    if (s->n_heard == PG_MAX_HEARD) return;
    s->n_heard++;
  }
  s->heard[i] = (heard_node){node, now};
  disc_report_one(s->t, node, s->ttl_ms);
}

/* Forgets nodes not heard within ttl_ms. */
static void prune_heard(pg_disc *s) {
  uint64_t now = now_ms(s);
  for (size_t i = s->n_heard; i-- > 0;)
    if (!fresh(s, &s->heard[i], now)) s->heard[i] = s->heard[--s->n_heard];
}

/* Database down: the nodes heard before stay listed (nothing heard is
 * news of no one), until the connection is back and they had ttl_ms to be
 * heard again. */
static void keep_heard(pg_disc *s) {
  for (size_t i = 0; i < s->n_heard; i++)
    if (s->down_since - s->heard[i].at_ms < s->ttl_ms)
      disc_report_one(s->t, s->heard[i].node, s->ttl_ms);
}

static void on_notify(pg_disc *s, PGnotify *n) {
  if (strcmp(n->relname, s->channel) && strcmp(n->relname, s->folded)) return;
  size_t len = strlen(n->extra);
  if (len == strlen(s->self) && !memcmp(n->extra, s->self, len)) return;
  nodus_atom node;
  if (disc_node_atom(n->extra, len, &node) != 0) {
    char shown[80];
    printable(n->extra, shown, sizeof shown);
    disc_log_dropped(s->t, "a notification on %s from server process %d: not a "
                     "node name: %s", n->relname, n->be_pid, shown);
    return;
  }
  hear(s, node);
}

/* ---- the connection ------------------------------------------------------ */

static void connect_start(pg_disc *s);
static void send_next(pg_disc *s);
static void finish(pg_disc *s);

static void on_retry(uv_timer_t *h) { connect_start(h->data); }

static void free_sql(pg_disc *s) {
  char **all[] = {&s->sql_setup, &s->sql_create, &s->sql_upsert,
                  &s->sql_read,  &s->sql_delete, &s->regclass};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
    free(*all[i]);
    *all[i] = NULL;
  }
}

static void close_conn(pg_disc *s) {
  unwatch(s);
  uv_timer_stop(&s->deadline);
  if (s->conn) PQfinish(s->conn); /* non-blocking: no wait for the server */
  s->conn = NULL;
  free_sql(s);
  s->nq = 0;
  s->busy = Q_NONE;
  s->qfailed = false;
}

/* The connect failed or the connection is gone: report, retry later. */
static void drop(pg_disc *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void drop(pg_disc *s, const char *fmt, ...) {
  char why[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (s->st == ST_READY) s->down_since = now_ms(s);
  close_conn(s);
  s->st = ST_DOWN;
  if (s->stopping) {
    finish(s);
    return;
  }
  disc_report_error(s->t, "%s", why);
  unsigned delay = jitter(s, s->backoff_ms);
  s->backoff_ms = s->backoff_ms >= PG_BACKOFF_MAX_MS / 2 ? PG_BACKOFF_MAX_MS
                                                        : 2 * s->backoff_ms;
  uv_timer_start(&s->retry, on_retry, delay, 0);
}

static void drop_pq(pg_disc *s, const char *what) {
  char msg[300];
  one_line(s->conn ? PQerrorMessage(s->conn) : "", msg, sizeof msg);
  drop(s, "%s: %s", what, msg[0] ? msg : "connection lost");
}

static void quiet_notice(void *arg, const char *message) {}

/* The SQL of this connection, with identifiers quoted for it. */
static int build_sql(pg_disc *s) {
  char *id[7] = {0};
  const char *raw[7] = {s->channel, s->folded, s->schema, s->table,
                        s->id_col,  s->ins_col, s->upd_col};
  int rc = 0;
  for (int i = 0; i < 7 && !rc; i++)
    if (raw[i][0] && !(id[i] = PQescapeIdentifier(s->conn, raw[i], strlen(raw[i]))))
      rc = NODUS_EINVAL;
  if (!rc) {
    const char *ch = id[0], *fo = id[1], *ic = id[4], *nc = id[5], *uc = id[6];
    char *tab = s->schema[0] ? strf("%s.%s", id[2], id[3]) : strf("%s", id[3]);
    const char *now = "date_trunc('second', now() AT TIME ZONE 'UTC')";
    bool table = s->mode & MODE_TABLE, notify = s->mode & MODE_NOTIFY;
    bool two = notify && strcmp(s->channel, s->folded);
    s->sql_setup = strf("%s%s%s%s%s%s", table ? "SET TIME ZONE 'UTC'" : "",
                        table && notify ? "; " : "", notify ? "LISTEN " : "",
                        notify ? ch : "", two ? "; LISTEN " : "", two ? fo : "");
    if (tab) {
      s->regclass = strf("%s", tab);
      s->sql_create = strf("CREATE TABLE IF NOT EXISTS %s (%s text PRIMARY KEY, "
                           "%s timestamp(0) without time zone NOT NULL, "
                           "%s timestamp(0) without time zone NOT NULL)",
                           tab, ic, nc, uc);
      s->sql_upsert = strf("INSERT INTO %s (%s, %s, %s) VALUES ($1, %s, %s) "
                           "ON CONFLICT (%s) DO UPDATE SET %s = EXCLUDED.%s",
                           tab, ic, nc, uc, now, now, ic, uc, uc);
      s->sql_read = strf("SELECT %s FROM %s WHERE %s > (now() AT TIME ZONE 'UTC') "
                         "- $1::int * interval '1 millisecond' LIMIT %d",
                         ic, tab, uc, PG_MAX_ROWS);
      s->sql_delete = strf("DELETE FROM %s WHERE %s = $1", tab, ic);
      free(tab);
    }
    if (!s->sql_setup || !s->regclass || !s->sql_create || !s->sql_upsert ||
        !s->sql_read || !s->sql_delete)
      rc = NODUS_ENOMEM;
  }
  for (int i = 0; i < 7; i++) PQfreemem(id[i]);
  return rc;
}

static void enqueue(pg_disc *s, enum pg_q q, bool front) {
  for (size_t i = 0; i < s->nq; i++)
    if (s->queue[i] == q) return; /* a slow database: no pile of rounds */
  if (s->nq == PG_QUEUE) return;
  if (front) {
    memmove(s->queue + 1, s->queue, s->nq * sizeof *s->queue);
    s->queue[0] = q;
  } else {
    s->queue[s->nq] = q;
  }
  s->nq++;
  if (s->busy == Q_NONE) send_next(s);
}

static void heartbeat(pg_disc *s) {
  prune_heard(s);
  bool sent = false;
  if ((s->mode & MODE_NOTIFY) && !s->dry_run) enqueue(s, Q_NOTIFY, false), sent = true;
  if (s->mode & MODE_TABLE) {
    if (!s->dry_run) enqueue(s, Q_UPSERT, false);
    enqueue(s, Q_READ, false);
    sent = true;
  }
  /* only listening: a query now and then, so a dead server is noticed */
  if (!sent) enqueue(s, Q_PING, false);
}

static void on_beat(uv_timer_t *h) {
  pg_disc *s = h->data;
  if (s->stopping) return;
  if (s->st == ST_READY) heartbeat(s);
  else keep_heard(s);
}

static void connected(pg_disc *s) {
  uv_timer_stop(&s->deadline);
  if (PQsetnonblocking(s->conn, 1) != 0) {
    drop_pq(s, "connecting");
    return;
  }
  int rc = build_sql(s);
  if (rc) {
    drop(s, "connecting: quoting the names: %s", nodus_strerror(rc));
    return;
  }
  s->st = ST_READY;
  s->backoff_ms = PG_BACKOFF_MIN_MS;
  if (watch(s, UV_READABLE)) {
    drop(s, "connected, but its socket can't be watched");
    return;
  }
  nodus_log(s->node, NODUS_LOG_INFO, "discovery",
            "postgres: connected to %s:%s, database %s", PQhost(s->conn),
            PQport(s->conn), PQdb(s->conn));
  /* heard before the outage: a ttl from now to be heard again */
  uint64_t now = now_ms(s);
  for (size_t i = 0; i < s->n_heard; i++)
    if (s->down_since - s->heard[i].at_ms < s->ttl_ms) s->heard[i].at_ms = now;
  enqueue(s, Q_SETUP, false);
  if ((s->mode & MODE_TABLE) && !s->dry_run) enqueue(s, Q_CHECK, false);
  uv_timer_start(&s->beat, on_beat, 0, s->interval_ms);
}

static void connect_step(pg_disc *s) {
  switch (PQconnectPoll(s->conn)) {
  case PGRES_POLLING_READING:
    if (watch(s, UV_READABLE)) drop(s, "connecting: its socket can't be watched");
    break;
  case PGRES_POLLING_WRITING:
    if (watch(s, UV_WRITABLE)) drop(s, "connecting: its socket can't be watched");
    break;
  case PGRES_POLLING_OK:
    connected(s);
    break;
  default:
    drop_pq(s, "connecting");
  }
}

static void on_deadline(uv_timer_t *h) {
  pg_disc *s = h->data;
  if (s->goodbye) finish(s);
  else if (s->st == ST_CONNECTING)
    drop(s, "connecting: no answer within %u ms", s->timeout_ms);
  else if (s->st == ST_READY && s->busy != Q_NONE)
    drop(s, "%s: no answer within %u ms", q_what[s->busy], s->timeout_ms);
}

/* Starts the connect with hostaddr (NULL: libpq's own choice). */
static void connect_with(pg_disc *s, const char *host, const char *hostaddr) {
  const char *kw[64], *val[64];
  int n = 0;
  for (PQconninfoOption *o = s->conninfo; o->keyword && n < 60; o++) {
    if (!o->val || !o->val[0]) continue;
    if (hostaddr && (!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr")))
      continue;
    kw[n] = o->keyword, val[n++] = o->val;
  }
  if (hostaddr) {
    kw[n] = "host", val[n++] = host;
    kw[n] = "hostaddr", val[n++] = hostaddr;
  }
  kw[n] = "fallback_application_name", val[n++] = "nodus-discovery";
  kw[n] = NULL, val[n] = NULL;
  s->conn = PQconnectStartParams(kw, val, 0);
  if (!s->conn) {
    drop(s, "connecting: out of memory");
    return;
  }
  PQsetNoticeProcessor(s->conn, quiet_notice, NULL);
  if (PQstatus(s->conn) == CONNECTION_BAD) {
    drop_pq(s, "connecting");
    return;
  }
  s->st = ST_CONNECTING;
  uv_timer_start(&s->deadline, on_deadline, s->timeout_ms, 0);
  /* libpq: poll as if PQconnectPoll had said WRITING */
  if (watch(s, UV_WRITABLE)) drop(s, "connecting: its socket can't be watched");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  pg_disc *s = req->data;
  s->gai_pending = false;
  if (s->stopping) {
    uv_freeaddrinfo(res);
    maybe_free(s);
    return;
  }
  char ips[PG_MAX_ADDRS][INET6_ADDRSTRLEN], hosts[PG_MAX_ADDRS * 257],
      addrs[PG_MAX_ADDRS * (INET6_ADDRSTRLEN + 1)];
  size_t hn = 0, an = 0;
  int count = 0;
  for (struct addrinfo *a = status == 0 ? res : NULL; a && count < PG_MAX_ADDRS;
       a = a->ai_next) {
    const void *sa;
    if (a->ai_family == AF_INET)
      sa = &((struct sockaddr_in *)a->ai_addr)->sin_addr;
    else if (a->ai_family == AF_INET6)
      sa = &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
    else
      continue;
    if (!inet_ntop(a->ai_family, sa, ips[count], sizeof ips[count])) continue;
    bool dup = false;
    for (int k = 0; k < count && !dup; k++) dup = !strcmp(ips[k], ips[count]);
    if (dup) continue;
    /* libpq tries each in turn; host names each for TLS and .pgpass */
    hn += (size_t)snprintf(hosts + hn, sizeof hosts - hn, "%s%s", count ? "," : "",
                           s->resolving);
    an += (size_t)snprintf(addrs + an, sizeof addrs - an, "%s%s", count ? "," : "",
                           ips[count]);
    count++;
  }
  uv_freeaddrinfo(res);
  if (!count) {
    s->st = ST_DOWN;
    drop(s, "resolving %s: %s", s->resolving,
         status ? uv_strerror(status) : "no address");
    return;
  }
  connect_with(s, hosts, addrs);
}

/* libpq resolves a host name inside PQconnectPoll, blocking the loop: a
 * name (not an address, not a socket folder) is resolved on the pool. */
static const char *needs_resolving(pg_disc *s) {
  const char *host = NULL, *hostaddr = getenv("PGHOSTADDR");
  for (PQconninfoOption *o = s->conninfo; o->keyword; o++) {
    if (!strcmp(o->keyword, "host") && o->val && o->val[0]) host = o->val;
    if (!strcmp(o->keyword, "hostaddr") && o->val && o->val[0]) hostaddr = o->val;
  }
  if (!host) host = getenv("PGHOST");
  if (!host || !host[0] || host[0] == '/' || host[0] == '@' || hostaddr) return NULL;
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
    return NULL;
  return host;
}

static void connect_start(pg_disc *s) {
  if (s->stopping || s->st != ST_DOWN) return;
  const char *host = needs_resolving(s);
  if (!host) {
    connect_with(s, NULL, NULL);
    return;
  }
  snprintf(s->resolving, sizeof s->resolving, "%s", host);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  s->gai.data = s;
  int rc = uv_getaddrinfo(s->loop, &s->gai, on_resolved, s->resolving, NULL, &hints);
  if (rc) {
    drop(s, "resolving %s: %s", s->resolving, uv_strerror(rc));
    return;
  }
  s->gai_pending = true;
  s->st = ST_RESOLVING;
}

/* ---- queries ------------------------------------------------------------- */

static void send_query(pg_disc *s, enum pg_q q) {
  char ttl[16];
  const char *p[2] = {s->self, NULL};
  int ok = 0;
  switch (q) {
  case Q_SETUP: ok = PQsendQuery(s->conn, s->sql_setup); break;
  case Q_CREATE: ok = PQsendQuery(s->conn, s->sql_create); break;
  case Q_PING: ok = PQsendQuery(s->conn, "SELECT 1"); break;
  case Q_CHECK:
    p[0] = s->regclass;
    ok = PQsendQueryParams(s->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL,
                           p, NULL, NULL, 0);
    break;
  case Q_NOTIFY:
    p[0] = s->channel, p[1] = s->self;
    ok = PQsendQueryParams(s->conn, "SELECT pg_notify($1, $2)", 2, NULL, p, NULL,
                           NULL, 0);
    break;
  case Q_UPSERT:
    ok = PQsendQueryParams(s->conn, s->sql_upsert, 1, NULL, p, NULL, NULL, 0);
    s->row_written = ok; /* a row may be there even if its answer is lost */
    break;
  case Q_READ:
    snprintf(ttl, sizeof ttl, "%u", s->ttl_ms);
    p[0] = ttl;
    ok = PQsendQueryParams(s->conn, s->sql_read, 1, NULL, p, NULL, NULL, 0);
    break;
  case Q_DELETE:
    ok = PQsendQueryParams(s->conn, s->sql_delete, 1, NULL, p, NULL, NULL, 0);
    break;
  case Q_NONE: return;
  }
  if (!ok) {
    drop_pq(s, q_what[q]);
    return;
  }
  s->busy = q;
  s->qfailed = false;
  s->n_rows = s->dropped = 0;
  if (!s->goodbye) /* the goodbye's bound is set once, at stop */
    uv_timer_start(&s->deadline, on_deadline, s->timeout_ms, 0);
  int f = PQflush(s->conn);
  if (f < 0) drop_pq(s, q_what[q]);
  else if (watch(s, f ? UV_READABLE | UV_WRITABLE : UV_READABLE))
    drop(s, "%s: the socket can't be watched", q_what[q]);
}

static void send_next(pg_disc *s) {
  if (s->busy != Q_NONE || !s->nq || s->st != ST_READY) return;
  enum pg_q q = s->queue[0];
  memmove(s->queue, s->queue + 1, --s->nq * sizeof *s->queue);
  send_query(s, q);
}

static void take_rows(pg_disc *s, PGresult *r) {
  int n = PQntuples(r);
  for (int i = 0; i < n && s->n_rows < PG_MAX_ROWS; i++) {
    if (PQgetisnull(r, i, 0)) continue;
    const char *v = PQgetvalue(r, i, 0);
    if (disc_node_atom(v, (size_t)PQgetlength(r, i, 0), &s->rows[s->n_rows]) == 0)
      s->n_rows++;
    else
      s->dropped++;
  }
}

static void take_result(pg_disc *s, PGresult *r) {
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    if (st == PGRES_TUPLES_OK && s->busy == Q_READ) take_rows(s, r);
    if (st == PGRES_TUPLES_OK && s->busy == Q_CHECK)
      s->table_exists = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    return;
  }
  if (s->qfailed) return; /* the first error of a query tells */
  s->qfailed = true;
  const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  snprintf(s->qcode, sizeof s->qcode, "%s", code ? code : "");
  one_line(PQresultErrorMessage(r), s->qerr, sizeof s->qerr);
}

static void query_done(pg_disc *s) {
  enum pg_q q = s->busy;
  s->busy = Q_NONE;
  if (s->goodbye) { /* only the DELETE matters now, within its bound */
    if (!s->nq) finish(s);
    else send_next(s);
    return;
  }
  uv_timer_stop(&s->deadline);
  /* a dry run reads a table nobody made yet: no rows, no error */
  if (s->qfailed && q == Q_READ && s->dry_run && !strcmp(s->qcode, "42P01"))
    s->qfailed = false;
  /* nodes starting together: CREATE TABLE IF NOT EXISTS in two sessions
   * at once fails one of them (duplicate_table, or unique_violation on
   * the catalog): the table is there all the same, made by the other */
  if (s->qfailed && q == Q_CREATE &&
      (!strcmp(s->qcode, "42P07") || !strcmp(s->qcode, "23505")))
    s->qfailed = false, q = Q_NONE;
  if (s->qfailed) {
    disc_report_error(s->t, "%s: %s", q_what[q], s->qerr);
  } else if (q == Q_CHECK && !s->table_exists) {
    enqueue(s, Q_CREATE, true);
  } else if (q == Q_CREATE) {
    nodus_log(s->node, NODUS_LOG_INFO, "discovery", "postgres: made table %s%s%s",
              s->schema, s->schema[0] ? "." : "", s->table);
  } else if (q == Q_READ) {
    if (s->dropped)
      disc_log_dropped(s->t, "%zu row(s) of %s whose %s is not a node name",
                       s->dropped, s->table, s->id_col);
    /* with notify too, the nodes heard are listed beside the rows */
    uint64_t now = now_ms(s);
    for (size_t i = 0; i < s->n_heard; i++)
      if (fresh(s, &s->heard[i], now)) s->rows[s->n_rows++] = s->heard[i].node;
    if (s->n_rows) disc_report_all(s->t, s->rows, s->n_rows);
  }
  s->qfailed = false;
  send_next(s);
}

/* Reads what the server sent: notifications, then results. */
static void on_readable(pg_disc *s) {
  if (!PQconsumeInput(s->conn)) {
    drop_pq(s, "connection lost");
    return;
  }
  PGnotify *n;
  while ((n = PQnotifies(s->conn))) {
    if (!s->stopping) on_notify(s, n);
    PQfreemem(n);
  }
  while (s->conn && s->busy != Q_NONE && !PQisBusy(s->conn)) {
    PGresult *r = PQgetResult(s->conn);
    if (!r) {
      query_done(s); /* may send the next query, or finish */
      continue;
    }
    take_result(s, r);
    PQclear(r);
  }
  if (s->conn && PQstatus(s->conn) == CONNECTION_BAD) drop_pq(s, "connection lost");
}

static void on_poll(uv_poll_t *h, int status, int events) {
  pg_disc *s = ((pg_watch *)h->data)->s;
  /* POLLERR (a refused connect, a reset) comes as UV_EBADF with the
   * handle stopped: libpq reads the socket's error itself */
  if (status < 0) s->watch_events = 0;
  if (s->st == ST_CONNECTING) {
    connect_step(s);
    return;
  }
  if (s->st != ST_READY) return;
  if (status < 0 || (events & UV_READABLE)) on_readable(s);
  if (s->st != ST_READY || !s->conn) return;
  if (status < 0) {
    drop(s, "the connection's socket: %s", uv_strerror(status));
    return;
  }
  /* the rest of a query that did not fit the socket buffer */
  if (s->watch_events & UV_WRITABLE) {
    int f = PQflush(s->conn);
    if (f < 0) drop_pq(s, "sending");
    else if (!f && watch(s, UV_READABLE)) drop(s, "the socket can't be watched");
  }
}

/* ---- start / stop -------------------------------------------------------- */

static void maybe_free(pg_disc *s) {
  if (!s->finished || s->handles || s->gai_pending) return;
  PQconninfoFree(s->conninfo);
  free(s->rows);
  free(s->heard);
  free(s);
}

static void timer_closed(uv_handle_t *h) {
  pg_disc *s = h->data;
  s->handles--;
  maybe_free(s);
}

/* Releases everything; the memory goes when the last handle has closed
 * and a resolution under way has come back. */
static void finish(pg_disc *s) {
  if (s->finished) return;
  s->finished = true;
  close_conn(s);
  uv_close((uv_handle_t *)&s->beat, timer_closed);
  uv_close((uv_handle_t *)&s->retry, timer_closed);
  uv_close((uv_handle_t *)&s->deadline, timer_closed);
  if (s->gai_pending) uv_cancel((uv_req_t *)&s->gai);
  maybe_free(s);
}

static int name_opt(disc_topology *t, const char *key, const char *def,
                    char *out, char *err, size_t err_size) {
  const char *v = disc_opt(t, key);
  if (!v) v = def;
  if (strlen(v) > DISC_PG_NAME_MAX) {
    snprintf(err, err_size, "%s=%.80s: longer than PostgreSQL's %d-byte names",
             key, v, DISC_PG_NAME_MAX);
    return NODUS_EINVAL;
  }
  strcpy(out, v);
  return 0;
}

static int parse_opts(pg_disc *s, disc_topology *t, char *err, size_t err_size) {
  const char *mode = disc_opt(t, "mode");
  if (!mode || !strcmp(mode, "both")) s->mode = MODE_BOTH;
  else if (!strcmp(mode, "notify")) s->mode = MODE_NOTIFY;
  else if (!strcmp(mode, "table")) s->mode = MODE_TABLE;
  else {
    snprintf(err, err_size, "mode=%.80s: not notify, table or both", mode);
    return NODUS_EINVAL;
  }
  if (s->mode == MODE_TABLE && disc_opt(t, "channel")) {
    snprintf(err, err_size, "channel is for mode=notify or both");
    return NODUS_EINVAL;
  }
  static const char *const table_keys[] = {"table", "id_column", "inserted_at_column",
                                           "updated_at_column"};
  for (size_t i = 0; i < 4; i++)
    if (s->mode == MODE_NOTIFY && disc_opt(t, table_keys[i])) {
      snprintf(err, err_size, "%s is for mode=table or both", table_keys[i]);
      return NODUS_EINVAL;
    }
  int rc;
  if ((rc = disc_opt_uint(t, "interval_ms", PG_DEFAULT_INTERVAL_MS, &s->interval_ms,
                          err, err_size)) ||
      (rc = disc_opt_uint(t, "timeout_ms", PG_DEFAULT_TIMEOUT_MS, &s->timeout_ms, err,
                          err_size)))
    return rc;
  if (!s->interval_ms || !s->timeout_ms) {
    snprintf(err, err_size, "%s must be at least 1",
             s->interval_ms ? "timeout_ms" : "interval_ms");
    return NODUS_EINVAL;
  }
  unsigned def_ttl = s->interval_ms > 0x7fffffff / 3 ? 0x7fffffff : 3 * s->interval_ms;
  if (def_ttl < s->interval_ms + 2000) def_ttl = s->interval_ms + 2000;
  if ((rc = disc_opt_uint(t, "ttl_ms", def_ttl, &s->ttl_ms, err, err_size))) return rc;
  /* updated_at has whole seconds: a row refreshed every interval looks up
   * to a second older than it is */
  unsigned min_ttl = s->interval_ms + ((s->mode & MODE_TABLE) ? 1000 : 1);
  if (s->ttl_ms < min_ttl) {
    snprintf(err, err_size, "ttl_ms=%u must be at least interval_ms + %u (%u)%s",
             s->ttl_ms, min_ttl - s->interval_ms, min_ttl,
             (s->mode & MODE_TABLE) ? ": updated_at has whole seconds" : "");
    return NODUS_EINVAL;
  }

  char *why = NULL;
  const char *url = disc_opt(t, "url");
  if (!(s->conninfo = PQconninfoParse(url ? url : "", &why))) {
    char msg[300];
    one_line(why ? why : "out of memory", msg, sizeof msg);
    PQfreemem(why);
    snprintf(err, err_size, "url: %s", msg);
    return NODUS_EINVAL;
  }

  const char *ch = disc_opt(t, "channel");
  if (ch) {
    if ((rc = name_opt(t, "channel", "", s->channel, err, err_size))) return rc;
  } else {
    disc_pg_channel_of(nodus_node_cookie(disc_node(t)), s->channel);
  }
  if ((s->mode & MODE_NOTIFY) && !s->channel[0]) {
    snprintf(err, err_size, "no channel: the node has no cookie (give channel=)");
    return NODUS_EINVAL;
  }
  disc_pg_fold(s->channel, s->folded);

  char table[2 * DISC_PG_NAME_MAX + 2];
  const char *tv = disc_opt(t, "table");
  snprintf(table, sizeof table, "%s", tv ? tv : "clusters");
  char *dot = strchr(table, '.');
  const char *bare = dot ? dot + 1 : table;
  if (dot) *dot = 0;
  if ((tv && strlen(tv) >= sizeof table) || strlen(bare) > DISC_PG_NAME_MAX ||
      (dot && strlen(table) > DISC_PG_NAME_MAX) || !bare[0] || (dot && !table[0]) ||
      strchr(bare, '.')) {
    snprintf(err, err_size, "table=%.140s: not [schema.]table with names of at "
             "most %d bytes", tv, DISC_PG_NAME_MAX);
    return NODUS_EINVAL;
  }
  strcpy(s->table, bare);
  if (dot) strcpy(s->schema, table);
  if ((rc = name_opt(t, "id_column", "id", s->id_col, err, err_size)) ||
      (rc = name_opt(t, "inserted_at_column", "inserted_at", s->ins_col, err,
                     err_size)) ||
      (rc = name_opt(t, "updated_at_column", "updated_at", s->upd_col, err,
                     err_size)))
    return rc;
  return 0;
}

static int pg_start(disc_topology *t, char *err, size_t err_size) {
  pg_disc *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  s->t = t;
  s->loop = disc_loop(t);
  s->node = disc_node(t);
  s->dry_run = disc_dry_run(t);
  const char *self = nodus_atom_text(nodus_node_name(s->node), NULL);
  snprintf(s->self, sizeof s->self, "%s", self ? self : "");
  int rc = parse_opts(s, t, err, err_size);
  if (!rc && (!(s->rows = calloc(PG_MAX_ROWS + PG_MAX_HEARD, sizeof *s->rows)) ||
              !(s->heard = calloc(PG_MAX_HEARD, sizeof *s->heard))))
    rc = NODUS_ENOMEM;
  if (rc) {
    s->finished = true;
    maybe_free(s);
    return rc;
  }
  s->backoff_ms = PG_BACKOFF_MIN_MS;
  s->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)s;
  if (!s->rng) s->rng = 1;
  uv_timer_t *timers[] = {&s->beat, &s->retry, &s->deadline};
  for (int i = 0; i < 3; i++) {
    uv_timer_init(s->loop, timers[i]);
    timers[i]->data = s;
  }
  s->handles = 3;
  uv_timer_start(&s->beat, on_beat, s->interval_ms, s->interval_ms);
  disc_set_state(t, s);
  connect_start(s); /* never fails here: errors come as reports */
  return 0;
}

static void pg_stop(disc_topology *t) {
  pg_disc *s = disc_state(t);
  if (!s) return;
  disc_set_state(t, NULL);
  s->t = NULL;
  s->stopping = true;
  uv_timer_stop(&s->beat);
  uv_timer_stop(&s->retry);
  if (s->st == ST_READY && s->row_written && !s->dry_run) {
    /* a graceful stop leaves no row: one DELETE, bounded in time */
    s->goodbye = true;
    s->nq = 0;
    uv_timer_start(&s->deadline, on_deadline, PG_GOODBYE_MS, 0);
    enqueue(s, Q_DELETE, false);
    return;
  }
  finish(s);
}

const disc_strategy disc_postgres = {
    .name = "postgres",
    .start = pg_start,
    .stop = pg_stop,
    .keys = pg_keys,
};
