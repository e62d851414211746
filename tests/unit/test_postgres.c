/* The postgres strategy without a database: its default channel (as
 * libcluster_postgres makes it), option errors at start with the reason,
 * and a database that is not there (refused, silent, unresolvable): start
 * returns at once, the failure comes as an ERROR event, it is retried,
 * and stop releases everything even mid-connect (ASan). The strategy with
 * a real server: tests/cluster/test_cluster_postgres.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cluster/discovery/postgres.h"
#include "nodus.h"
#include "nodus/discovery.h"

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_channel(void) {
  char ch[DISC_PG_NAME_MAX + 1], folded[DISC_PG_NAME_MAX + 1];
  CHECK(disc_pg_channel_of("secret", ch) == 6);
  CHECK_STR(ch, "secret");
  disc_pg_channel_of("My-Cookie.2:x y", ch);
  CHECK_STR(ch, "My_Cookie_2_x_y");
  disc_pg_channel_of("n\xc3\xb6_1", ch); /* each byte of UTF-8 is \W */
  CHECK_STR(ch, "n___1");
  char longc[200];
  memset(longc, 'A', sizeof longc - 1);
  longc[sizeof longc - 1] = 0;
  CHECK(disc_pg_channel_of(longc, ch) == DISC_PG_NAME_MAX);
  CHECK(strlen(ch) == DISC_PG_NAME_MAX);
  disc_pg_fold("My_Cookie_2", folded);
  CHECK_STR(folded, "my_cookie_2");
}

static void test_check(void) {
  char err[300];
  CHECK_RC(nodus_discovery_check(
               "postgres:url=postgresql://app:pw@db:5432/app?sslmode=disable,"
               "mode=both,channel=c,table=public.clusters,id_column=id,"
               "inserted_at_column=i,updated_at_column=u,interval_ms=100,"
               "ttl_ms=5000,timeout_ms=300",
               err, sizeof err), 0);
  CHECK_RC(nodus_discovery_check("postgres:url=host=/tmp port=5433 dbname=x", err,
                                 sizeof err), 0);
  CHECK_RC(nodus_discovery_check("postgres:colour=red", err, sizeof err), NODUS_EINVAL);
  CHECK(strstr(err, "'colour' is not an option of postgres") != NULL);
  CHECK_RC(nodus_discovery_check("postgres:ttl_ms=soon", err, sizeof err), NODUS_EINVAL);
  CHECK_RC(nodus_discovery_check("postgres:postgresql://h/db", err, sizeof err),
           NODUS_EINVAL); /* the url is an option, not an item */
}

/* ---- a node and its events ------------------------------------------------ */

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_errors;
static char last_error[512];

static void on_event(nodus_node *node, const nodus_discovery_event *ev, void *arg) {
  if (ev->kind != NODUS_DISCOVERY_ERROR) return;
  pthread_mutex_lock(&ev_lock);
  n_errors++;
  snprintf(last_error, sizeof last_error, "%s", ev->reason ? ev->reason : "");
  pthread_mutex_unlock(&ev_lock);
}

static int errors(char *copy, size_t size) {
  pthread_mutex_lock(&ev_lock);
  int n = n_errors;
  if (copy) snprintf(copy, size, "%s", last_error);
  pthread_mutex_unlock(&ev_lock);
  return n;
}

static void reset_errors(void) {
  pthread_mutex_lock(&ev_lock);
  n_errors = 0;
  last_error[0] = 0;
  pthread_mutex_unlock(&ev_lock);
}

/* Waits up to ms for at least n ERROR events; the last reason in why. */
static bool wait_errors(int n, int ms, char *why, size_t size) {
  int64_t end = now_ms() + ms;
  while (errors(why, size) < n && now_ms() < end) usleep(10000);
  return errors(why, size) >= n;
}

static void quiet(void *arg, int level, const char *node, const char *component,
                  const char *msg) {}

static void test_start_errors(nodus_node *n) {
  static const struct {
    const char *spec, *says;
  } bad[] = {
      {"postgres:mode=sometimes", "not notify, table or both"},
      {"postgres:interval_ms=0", "interval_ms must be at least 1"},
      {"postgres:timeout_ms=0", "timeout_ms must be at least 1"},
      {"postgres:interval_ms=1000,ttl_ms=1500", "whole seconds"},
      {"postgres:mode=notify,interval_ms=1000,ttl_ms=1000", "at least interval_ms + 1"},
      {"postgres:url=postgresql://[::1/db", "url: "},
      {"postgres:url=colour=red", "url: "},
      {"postgres:mode=notify,table=t", "table is for mode=table or both"},
      {"postgres:mode=table,channel=c", "channel is for mode=notify or both"},
      {"postgres:table=a.b.c", "not [schema.]table"},
      {"postgres:table=.b", "not [schema.]table"},
      {"postgres:channel=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       "longer than PostgreSQL's 63-byte names"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    nodus_discovery_opts d = {.spec = bad[i].spec, .dry_run = true};
    nodus_discovery *disc = NULL;
    char err[512] = "";
    int rc = nodus_discovery_start(n, &d, err, sizeof err, &disc);
    if (rc != NODUS_EINVAL || !strstr(err, bad[i].says))
      fprintf(stderr, "%s: %s: %s\n", bad[i].spec, nodus_err_name(rc), err);
    CHECK_RC(rc, NODUS_EINVAL);
    CHECK(strstr(err, bad[i].says) != NULL);
    if (!rc) nodus_discovery_stop(disc);
  }
}

/* A TCP port on 127.0.0.1 that refuses (closed) or never answers
 * (listening, never accepting: the kernel finishes the handshake, libpq
 * waits for the server's first message). */
static int tcp_port(bool listening, int *fd_out) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
      (listening && listen(fd, 8) != 0))
    return -1;
  if (listening) *fd_out = fd;
  else close(fd);
  return ntohs(a.sin_port);
}

static nodus_discovery *start(nodus_node *n, const char *spec, bool dry_run) {
  nodus_discovery_opts d = {.spec = spec, .on_event = on_event, .dry_run = dry_run};
  nodus_discovery *disc = NULL;
  char err[512] = "";
  int64_t t0 = now_ms();
  int rc = nodus_discovery_start(n, &d, err, sizeof err, &disc);
  if (rc) fprintf(stderr, "%s: %s: %s\n", spec, nodus_err_name(rc), err);
  CHECK_RC(rc, 0);
  CHECK(now_ms() - t0 < 200); /* nothing waits for the database */
  return disc;
}

static void test_no_database(nodus_node *n) {
  char spec[300], why[512];
  int silent_fd = -1;
  int refused = tcp_port(false, NULL), silent = tcp_port(true, &silent_fd);
  CHECK(refused > 0 && silent > 0);

  /* refused: an error at once, then retries (250 ms, 500 ms, ...) */
  reset_errors();
  snprintf(spec, sizeof spec,
           "postgres:url=postgresql://postgres@127.0.0.1:%d/db,interval_ms=200", refused);
  nodus_discovery *d = start(n, spec, false);
  CHECK(wait_errors(1, 2000, why, sizeof why));
  fprintf(stderr, "refused: %s\n", why);
  CHECK(strstr(why, "connecting: ") && strstr(why, "refused"));
  CHECK(wait_errors(3, 3000, why, sizeof why));
  int64_t t0 = now_ms();
  nodus_discovery_stop(d);
  CHECK(now_ms() - t0 < 200);

  /* a server that never answers: dropped after timeout_ms */
  reset_errors();
  snprintf(spec, sizeof spec,
           "postgres:url=postgresql://postgres@127.0.0.1:%d/db,timeout_ms=300", silent);
  t0 = now_ms();
  d = start(n, spec, false);
  CHECK(wait_errors(1, 3000, why, sizeof why));
  int64_t took = now_ms() - t0;
  fprintf(stderr, "silent: after %lld ms: %s\n", (long long)took, why);
  CHECK(strstr(why, "no answer within 300 ms") != NULL);
  CHECK(took >= 250 && took < 1500);
  nodus_discovery_stop(d);

  /* stopped mid-connect, and mid-resolution: nothing left behind */
  reset_errors();
  d = start(n, spec, false);
  usleep(50000);
  nodus_discovery_stop(d);
  d = start(n, "postgres:url=postgresql://nodus-no-such-host.invalid/db", true);
  nodus_discovery_stop(d);
  CHECK(errors(NULL, 0) == 0);

  /* a name that does not resolve: resolved off the loop, reported */
  reset_errors();
  d = start(n, "postgres:url=postgresql://nodus-no-such-host.invalid/db,mode=notify", true);
  CHECK(wait_errors(1, 10000, why, sizeof why));
  fprintf(stderr, "unresolvable: %s\n", why);
  CHECK(strstr(why, "resolving nodus-no-such-host.invalid") != NULL);
  nodus_discovery_stop(d);

  /* a unix socket folder with no server */
  reset_errors();
  d = start(n, "postgres:url=postgresql:///db?host=/nonexistent/nodus", true);
  CHECK(wait_errors(1, 2000, why, sizeof why));
  fprintf(stderr, "no socket: %s\n", why);
  CHECK(strstr(why, "/nonexistent/nodus") != NULL);
  nodus_discovery_stop(d);
  if (silent_fd >= 0) close(silent_fd);
}

int main(void) {
  test_channel();
  test_check();
  nodus_node_opts o = {.name = "pg_unit@127.0.0.1", .cookie = "c",
                       .listen_address = "127.0.0.1", .epmd_mode = NODUS_EPMD_NONE,
                       .log = quiet};
  nodus_node *n = NULL;
  CHECK_RC(nodus_node_init(&o, &n), 0);
  if (!n) return check_report();
  CHECK_RC(nodus_node_start(n), 0);
  test_start_errors(n);
  test_no_database(n);
  /* closing the node with a topology still connecting ends it too */
  char spec[200];
  int refused = tcp_port(false, NULL);
  snprintf(spec, sizeof spec, "postgres:url=postgresql://u@127.0.0.1:%d/db", refused);
  start(n, spec, false);
  nodus_node_close(n);
  printf("test_postgres: %d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}
