/* The dns strategy on loopback, against a small DNS server this test runs
 * in a thread (127.0.0.1, a free port): A and AAAA records give
 * basename@address, SRV records basename@target; a name that goes away
 * (NXDOMAIN) changes nothing, a record that goes away is lost; a server
 * that is silent, answers garbage, SERVFAIL or refuses is an ERROR event
 * that keeps the list; options refused with the reason; a stop (and a
 * node close) in the middle of a query. Discoveries run in dry-run mode:
 * they find, they dial nobody. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nodus.h"
#include "nodus/discovery.h"

#define EVENTUALLY(cond, ms)                                        \
  ({                                                                \
    bool ok_ = false;                                               \
    for (int i_ = 0; i_ < (ms) / 10 && !(ok_ = (cond)); i_++)       \
      usleep(10000);                                                \
    ok_ || (cond);                                                  \
  })

/* ---- the DNS server ------------------------------------------------------ */

enum mode { ANSWER, SILENT, GARBAGE, SERVFAIL };
enum { T_A = 1, T_AAAA = 28, T_SRV = 33 };

typedef struct record {
  char name[64];
  int type;
  char data[64]; /* address text, or the SRV target */
} record;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static record records[16];
static int n_records, mode, queries;
static volatile bool server_done;
static int server_fd;

static void set_records(const record *r, int n) {
  pthread_mutex_lock(&lock);
  if (n) memcpy(records, r, (size_t)n * sizeof *r);
  n_records = n;
  pthread_mutex_unlock(&lock);
}

static void set_mode(int m) { __atomic_store_n(&mode, m, __ATOMIC_SEQ_CST); }
static int query_count(void) { return __atomic_load_n(&queries, __ATOMIC_SEQ_CST); }

static size_t put16(uint8_t *p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return 2;
}

/* A name in DNS labels; its length. */
static size_t put_name(uint8_t *p, const char *name) {
  size_t at = 0;
  while (*name) {
    size_t len = strcspn(name, ".");
    p[at++] = (uint8_t)len;
    memcpy(p + at, name, len);
    at += len;
    name += len;
    if (*name == '.') name++;
  }
  p[at++] = 0;
  return at;
}

/* The reply to one query, or 0 for none. */
static size_t reply(const uint8_t *q, size_t qlen, uint8_t *out) {
  if (qlen < 17) return 0;
  char name[256];
  size_t at = 12, nl = 0;
  while (at < qlen && q[at]) { /* the question's name, lower case */
    size_t len = q[at++];
    if (at + len > qlen || nl + len + 1 >= sizeof name) return 0;
    if (nl) name[nl++] = '.';
    for (size_t i = 0; i < len; i++) {
      char c = (char)q[at + i];
      name[nl++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    at += len;
  }
  name[nl] = 0;
  if (at + 5 > qlen) return 0;
  int qtype = q[at + 1] << 8 | q[at + 2];
  size_t qend = at + 5;
  int m = __atomic_load_n(&mode, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&queries, 1, __ATOMIC_SEQ_CST);
  if (m == SILENT) return 0;
  memcpy(out, q, qend);
  out[2] = 0x81; /* QR, RD */
  out[3] = 0x80; /* RA, NOERROR */
  put16(out + 6, 0);
  put16(out + 8, 0);
  put16(out + 10, 0);
  size_t len = qend;
  if (m == SERVFAIL) {
    out[3] |= 2;
    return len;
  }
  if (m == GARBAGE) { /* says 3 answers, gives bytes that are none */
    put16(out + 6, 3);
    for (int i = 0; i < 40; i++) out[len++] = (uint8_t)(0xc0 | (i * 7));
    return len;
  }
  int answers = 0;
  bool known = false;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n_records; i++) {
    const record *r = &records[i];
    if (strcmp(r->name, name)) continue;
    known = true;
    if (r->type != qtype) continue;
    uint8_t rdata[80];
    size_t rl = 0;
    if (r->type == T_A) inet_pton(AF_INET, r->data, rdata), rl = 4;
    if (r->type == T_AAAA) inet_pton(AF_INET6, r->data, rdata), rl = 16;
    if (r->type == T_SRV) {
      rl += put16(rdata, 10);   /* priority */
      rl += put16(rdata + 2, 5); /* weight */
      rl += put16(rdata + 4, 4369);
      rl += put_name(rdata + rl, r->data);
    }
    len += put16(out + len, 0xc00c); /* the question's name */
    len += put16(out + len, (unsigned)r->type);
    len += put16(out + len, 1);
    len += put16(out + len, 0);
    len += put16(out + len, 5); /* ttl */
    len += put16(out + len, (unsigned)rl);
    memcpy(out + len, rdata, rl);
    len += rl;
    answers++;
  }
  pthread_mutex_unlock(&lock);
  put16(out + 6, (unsigned)answers);
  if (!known) out[3] |= 3; /* NXDOMAIN */
  return len;
}

static void *serve(void *arg) {
  (void)arg;
  while (!server_done) {
    struct pollfd p = {.fd = server_fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) continue;
    uint8_t q[512], out[1500];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(server_fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (n <= 0) continue;
    size_t len = reply(q, (size_t)n, out);
    if (len) sendto(server_fd, out, len, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

static int udp_port_of(int fd) {
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  return ntohs(a.sin_port);
}

static int udp_bound(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  return fd;
}

/* ---- events -------------------------------------------------------------- */

static char events[256][300];
static int n_events;

static void on_event(nodus_node *node, const nodus_discovery_event *ev, void *arg) {
  (void)node;
  (void)arg;
  static const char *kinds[] = {"found", "lost", "failed", "error"};
  pthread_mutex_lock(&lock);
  if (n_events < 256)
    snprintf(events[n_events++], sizeof events[0], "%s %s%s%s", kinds[ev->kind],
             ev->node != NODUS_ATOM_EMPTY ? nodus_atom_text(ev->node, NULL) : "-",
             ev->reason ? ": " : "", ev->reason ? ev->reason : "");
  pthread_mutex_unlock(&lock);
}

/* Events from index `from` on that hold needle. */
static int count(int from, const char *needle) {
  int n = 0;
  pthread_mutex_lock(&lock);
  for (int i = from; i < n_events; i++) n += strstr(events[i], needle) != NULL;
  pthread_mutex_unlock(&lock);
  return n;
}

static int mark(void) {
  pthread_mutex_lock(&lock);
  int n = n_events;
  pthread_mutex_unlock(&lock);
  return n;
}

static void dump(int from) {
  pthread_mutex_lock(&lock);
  for (int i = from; i < n_events; i++) fprintf(stderr, "  event: %s\n", events[i]);
  pthread_mutex_unlock(&lock);
}

/* The log lines that hold needle. */
static int log_hits;
static char log_needle[100];
static void on_log(void *arg, int level, const char *node, const char *component,
                   const char *msg) {
  (void)arg;
  (void)node;
  if (level <= NODUS_LOG_INFO) fprintf(stderr, "  log: %s: %s\n", component, msg);
  pthread_mutex_lock(&lock);
  if (log_needle[0] && strstr(msg, log_needle)) log_hits++;
  pthread_mutex_unlock(&lock);
}

static int logged(const char *needle) {
  pthread_mutex_lock(&lock);
  int n = strcmp(needle, log_needle) ? 0 : log_hits;
  if (strcmp(needle, log_needle)) {
    snprintf(log_needle, sizeof log_needle, "%s", needle);
    log_hits = 0;
  }
  pthread_mutex_unlock(&lock);
  return n;
}

/* ---- the node and its discoveries ---------------------------------------- */

/* The nodes the discovery's first topology lists, sorted, space-separated. */
static char *listed(nodus_discovery *d, char *buf, size_t size) {
  nodus_term f;
  buf[0] = 0;
  if (nodus_discovery_found(d, &f)) return buf;
  const nodus_term *nodes = nodus_tuple_elem(nodus_list_item(&f, 0), 1);
  const char *names[64];
  size_t n = nodus_size(nodes);
  for (size_t i = 0; i < n && i < 64; i++)
    names[i] = nodus_atom_text(nodus_list_item(nodes, i)->v.atom, NULL);
  for (size_t i = 1; i < n && i < 64; i++) /* insertion sort */
    for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
      const char *x = names[k];
      names[k] = names[k - 1];
      names[k - 1] = x;
    }
  size_t at = 0;
  for (size_t i = 0; i < n && i < 64 && at < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? " " : "", names[i]);
  nodus_term_free(&f);
  return buf;
}

static bool lists(nodus_discovery *d, const char *want) {
  char buf[600];
  return !strcmp(listed(d, buf, sizeof buf), want);
}

static nodus_discovery *start(nodus_node *n, const char *spec) {
  char err[400] = "";
  nodus_discovery *d = NULL;
  nodus_discovery_opts o = {.spec = spec, .on_event = on_event, .dry_run = true};
  int rc = nodus_discovery_start(n, &o, err, sizeof err, &d);
  if (rc) fprintf(stderr, "  '%s': %s\n", spec, err);
  CHECK_RC(rc, 0);
  return d;
}

static void start_fails(nodus_node *n, const char *spec, const char *needle) {
  char err[400] = "";
  nodus_discovery *d = NULL;
  nodus_discovery_opts o = {.spec = spec, .dry_run = true};
  CHECK_RC(nodus_discovery_start(n, &o, err, sizeof err, &d), NODUS_EINVAL);
  CHECK(d == NULL);
  if (!strstr(err, needle)) fprintf(stderr, "  '%s': '%s' lacks '%s'\n", spec, err, needle);
  CHECK(strstr(err, needle) != NULL);
}

static void check_fails(const char *spec, const char *needle1, const char *needle2) {
  char err[400] = "";
  CHECK_RC(nodus_discovery_check(spec, err, sizeof err), NODUS_EINVAL);
  bool has = strstr(err, needle1) && (!needle2 || strstr(err, needle2));
  if (!has) fprintf(stderr, "  '%s': '%s' lacks '%s'\n", spec, err, needle1);
  CHECK(has);
}

int main(void) {
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  server_fd = udp_bound();
  CHECK(server_fd >= 0);
  if (server_fd < 0) return check_report();
  int port = udp_port_of(server_fd);
  int closed_fd = udp_bound(); /* a port where nothing answers: refused */
  int closed_port = udp_port_of(closed_fd);
  close(closed_fd);
  pthread_t th;
  pthread_create(&th, NULL, serve, NULL);

  nodus_node_opts no = {.name = "du@127.0.0.1", .cookie = "dns",
                        .listen_address = "127.0.0.1", .epmd_mode = NODUS_EPMD_NONE,
                        .log = on_log};
  nodus_node *node = NULL;
  CHECK_RC(nodus_node_init(&no, &node), 0);
  if (!node) return check_report();
  CHECK_RC(nodus_node_start(node), 0);

  /* ---- options: checked before start, and at start ---- */
  check_fails("dns:a.test,colour=red", "position 12", "'colour' is not an option of dns");
  check_fails("dns:a.test,colour=red", "basename", "server");
  check_fails("dns:a.test,timeout_ms=soon", "position 12", "not an unsigned integer");
  check_fails("dns:a.test;dns:b.test,interval_ms=-1", "position 23", "interval_ms");
  CHECK_RC(nodus_discovery_check("dns:a.test,basename=app,server=10.0.0.1:53,"
                                 "interval_ms=100,timeout_ms=50",
                                 NULL, 0),
           0);
  start_fails(node, "dns", "a name to ask for");
  start_fails(node, "dns:a.test,server=nowhere", "server=nowhere");
  start_fails(node, "dns:a.test,server=10.0.0.1:99999", "server=10.0.0.1:99999");
  start_fails(node, "dns:a.test,server=10.0.0.1:", "not an address");
  start_fails(node, "dns:a.test,server=[::1", "server=[::1");
  start_fails(node, "dns:a..test", "'a..test' is not a DNS name");
  start_fails(node, "dns:a.test/x", "is not a DNS name");
  start_fails(node, "dns:a.test,basename=a@b", "basename=a@b");
  start_fails(node, "dns:a.test,basename=sp ace", "basename");

  char spec[400];
  /* ---- A and AAAA: basename@address ---- */
  record r1[] = {{"nodes.test", T_A, "127.0.0.2"},
                 {"nodes.test", T_A, "127.0.0.3"},
                 {"nodes.test", T_AAAA, "fd00::7"},
                 {"_app._tcp.nodes.test", T_SRV, "a.nodes.test"},
                 {"_app._tcp.nodes.test", T_SRV, "b.nodes.test"},
                 {"_app._tcp.nodes.test", T_SRV, "evil@x.test"}};
  set_records(r1, 6);
  int m = mark();
  snprintf(spec, sizeof spec,
           "dns:nodes.test,basename=app,server=127.0.0.1:%d,interval_ms=100,timeout_ms=300",
           port);
  nodus_discovery *d = start(node, spec);
  CHECK(EVENTUALLY(lists(d, "app@127.0.0.2 app@127.0.0.3 app@fd00::7"), 3000));
  CHECK(count(m, "found app@127.0.0.2") == 1 && count(m, "found app@fd00::7") == 1);

  /* a record removed: lost; every record gone (NXDOMAIN): nothing changes */
  set_records(r1 + 1, 5);
  CHECK(EVENTUALLY(lists(d, "app@127.0.0.3 app@fd00::7"), 3000));
  CHECK(count(m, "lost app@127.0.0.2") == 1);
  logged("no records for nodes.test");
  set_records(NULL, 0);
  int q0 = query_count();
  CHECK(EVENTUALLY(query_count() >= q0 + 6, 3000)); /* three rounds */
  CHECK(EVENTUALLY(logged("no records for nodes.test") == 1, 1000));
  usleep(300000);
  CHECK(logged("no records for nodes.test") == 1); /* once, not per poll */
  CHECK(lists(d, "app@127.0.0.3 app@fd00::7"));
  CHECK(count(m, "lost") == 1);

  /* a silent server, garbage, SERVFAIL: errors, the list kept */
  set_records(r1, 6);
  CHECK(EVENTUALLY(lists(d, "app@127.0.0.2 app@127.0.0.3 app@fd00::7"), 3000));
  int m2 = mark();
  set_mode(SILENT);
  CHECK(EVENTUALLY(count(m2, "error -: nodes.test") >= 1, 3000));
  CHECK(count(m2, "no answer within 300 ms") >= 1);
  set_mode(GARBAGE);
  CHECK(EVENTUALLY(count(m2, "Misformatted DNS reply") >= 1, 3000));
  /* c-ares 1.18 takes SERVFAIL for a failing server: it asks again, then
   * says it could not contact any */
  int m3 = mark();
  set_mode(SERVFAIL);
  CHECK(EVENTUALLY(count(m3, "Could not contact DNS servers") >= 1, 3000));
  CHECK(count(m2, "lost") == 0);
  CHECK(lists(d, "app@127.0.0.2 app@127.0.0.3 app@fd00::7"));
  if (check_failed) dump(m2);
  set_mode(ANSWER);
  nodus_discovery_stop(d);

  /* ---- SRV: basename@target; a target that makes no node name dropped ---- */
  m = mark();
  logged("answer(s) that make no node name");
  snprintf(spec, sizeof spec,
           "dns:_app._tcp.nodes.test,basename=app,server=127.0.0.1:%d,interval_ms=100",
           port);
  d = start(node, spec);
  CHECK(EVENTUALLY(lists(d, "app@a.nodes.test app@b.nodes.test"), 3000));
  CHECK(EVENTUALLY(logged("answer(s) that make no node name") >= 1, 1000));
  CHECK(count(m, "evil") == 0);
  nodus_discovery_stop(d);

  /* ---- the default basename is our own; several names at once ---- */
  record r2[] = {{"one.test", T_A, "127.0.0.5"}, {"two.test", T_AAAA, "::1"}};
  set_records(r2, 2);
  snprintf(spec, sizeof spec, "dns:one.test,two.test.,server=127.0.0.1:%d,interval_ms=100",
           port);
  d = start(node, spec);
  CHECK(EVENTUALLY(lists(d, "du@127.0.0.5 du@::1"), 3000));
  nodus_discovery_stop(d);

  /* ---- nothing listening there: refused, an error ---- */
  m = mark();
  snprintf(spec, sizeof spec, "dns:one.test,server=127.0.0.1:%d,interval_ms=100",
           closed_port);
  d = start(node, spec);
  CHECK(EVENTUALLY(count(m, "Could not contact DNS servers") >= 1, 3000));
  if (check_failed) dump(m);
  nodus_discovery_stop(d);

  /* ---- stopped in the middle of a query, then closed with one ---- */
  set_mode(SILENT);
  snprintf(spec, sizeof spec, "dns:one.test,_x._tcp.one.test,server=127.0.0.1:%d,timeout_ms=5000",
           port);
  q0 = query_count();
  d = start(node, spec);
  CHECK(EVENTUALLY(query_count() >= q0 + 3, 2000)); /* all three asked */
  nodus_discovery_stop(d);
  q0 = query_count();
  d = start(node, spec); /* left running: the node's close ends it */
  CHECK(EVENTUALLY(query_count() >= q0 + 3, 2000));
  nodus_node_close(node);
  nodus_discovery_stop(d); /* does nothing now */

  server_done = true;
  pthread_join(th, NULL);
  close(server_fd);
  return check_report();
}
