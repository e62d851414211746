/* The dns strategy in the kit's network namespaces: 3 C nodes, each on
 * its own host, and dnsmasq (Debian's) on node 1's host serving A, AAAA
 * and SRV records from a hosts file the test rewrites (SIGHUP re-reads it).
 *
 *   a. A records: nodes named dns@IP join when their records are added,
 *      an AAAA record is found as dns@ADDRESS, and with disconnect_missing
 *      a node whose record is removed is disconnected; a name that no
 *      longer exists (NXDOMAIN) changes nothing
 *   b. SRV: nodes named dns@nI.nodes.test find each other from the SRV
 *      targets of _dns._tcp.nodes.test
 *   c. a server that never answers, one that answers garbage and a port
 *      where nothing listens: errors logged and in nodus:discovery(), the
 *      node keeps running, answering and connected; a stop in the middle
 *      of a query
 *
 * The C nodes are this binary again, driven through the kit's stdin FIFO:
 * "start NAME" makes the node (the kit's names can't be basename@IP for
 * all three), then "discover SPEC", "stop", "ping" (the loop answers) and
 * "rpc NODE" (nodus:discovery() of NODE). They run without the global
 * service, whose sync dials every node it hears of and would undo the
 * disconnect step a looks for. Each node process gets a private mount
 * namespace with the test's hosts file over /etc/hosts, so that SRV
 * targets resolve when dialled, as a cluster's own DNS would make them.
 * `--responder IP PORT PORT` is the silent and the garbage server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "cluster_util.h"
#include "disc_node.h"
#include "nodus/discovery.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define SILENT_PORT 5301
#define GARBAGE_PORT 5302
#define REFUSED_PORT 5399 /* nothing listens there */

/* ---- the C node ------------------------------------------------------- */

static const char *g_cookie;

static const nodus_service *const no_global[] = {
    &nodus_service_net_kernel, &nodus_service_rpc, &nodus_service_erpc,
    &nodus_service_introspect, &nodus_service_discovery, NULL};

static void pong(nodus_node *node, void *arg) {
  printf("#pong\n");
  fflush(stdout);
}

static void start_node(const char *name) {
  nodus_node_opts o = {.name = name, .cookie = g_cookie, .log = disc_node_log,
                       .services = no_global};
  nodus_node_events *sub;
  int rc = g_node ? NODUS_ESTATE : nodus_node_init(&o, &g_node);
  if (!rc) rc = nodus_node_events_subscribe(g_node, NODUS_NODES_ALL, disc_node_updown, NULL, &sub);
  if (!rc) rc = nodus_node_start(g_node);
  if (rc) printf("#start-failed %s: %s\n", name, nodus_strerror(rc));
  else printf("#started %s\n", name);
}

static void rpc_discovery(const char *peer) {
  nodus_atom a;
  nodus_term res;
  char *txt = NULL;
  size_t len;
  int rc = nodus_atom_intern(peer, strlen(peer), &a);
  if (!rc) rc = nodus_rpc(g_node, a, "nodus", "discovery", nodus_nil(), 5000, &res);
  if (rc) {
    printf("#rpc-failed %s\n", nodus_strerror(rc));
    return;
  }
  if (nodus_print(&res, NULL, &txt, &len) == 0) {
    for (char *p = txt; *p; p++)
      if (*p == '\n') *p = ' ';
    printf("#rpc-reply %s\n", txt);
  }
  free(txt);
  nodus_term_free(&res);
}

static int node_main(int argc, char **argv) {
  const char *hosts = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--cookie")) g_cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--hosts")) hosts = argv[i + 1];
  }
  if (hosts && (unshare(CLONE_NEWNS) != 0 ||
                mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
                mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) != 0))
    printf("#hosts-failed %s\n", strerror(errno));
  printf("dns node ready\n");
  fflush(stdout);
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!strncmp(line, "start ", 6)) {
      start_node(line + 6);
    } else if (!g_node) {
      printf("#no-node %s\n", line);
    } else if (!strcmp(line, "ping")) {
      nodus_node_call(g_node, pong, NULL);
    } else if (!strncmp(line, "rpc ", 4)) {
      rpc_discovery(line + 4);
    } else {
      disc_node_discovery_command(line); /* discover SPEC, stop */
    }
    fflush(stdout);
  }
  pause(); /* the kit's FIFO never ends; the kit kills us */
  return 0;
}

/* ---- the bad servers ---------------------------------------------------- */

static int udp_on(const char *ip, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  return fd;
}

/* One socket reads queries and never answers; the other answers each
 * with a datagram of noise, then with the query's own header and question
 * followed by "3 answers" that are no records. */
static int responder_main(const char *ip, int silent_port, int garbage_port) {
  struct pollfd p[2] = {{.fd = udp_on(ip, silent_port), .events = POLLIN},
                        {.fd = udp_on(ip, garbage_port), .events = POLLIN}};
  if (p[0].fd < 0 || p[1].fd < 0) return 2;
  printf("responder listening\n");
  fflush(stdout);
  srand((unsigned)getpid());
  for (;;) {
    if (poll(p, 2, -1) <= 0) continue;
    for (int k = 0; k < 2; k++) {
      if (!(p[k].revents & POLLIN)) continue;
      uint8_t q[512], out[600];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(p[k].fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
      if (n < 12) continue;
      printf("#q %s\n", k ? "garbage" : "silent");
      fflush(stdout);
      if (!k) continue;
      for (int i = 0; i < 64; i++) out[i] = (uint8_t)rand();
      sendto(p[k].fd, out, 64, 0, (struct sockaddr *)&from, fl);
      memcpy(out, q, (size_t)n);
      out[2] |= 0x80;      /* a response */
      out[6] = 0, out[7] = 3; /* 3 answers */
      for (int i = 0; i < 30; i++) out[n + i] = (uint8_t)(0xc0 | rand());
      sendto(p[k].fd, out, (size_t)n + 30, 0, (struct sockaddr *)&from, fl);
    }
  }
}

/* ---- the test ------------------------------------------------------------ */

static char dir[] = "/tmp/nodus-dns-XXXXXX";
static char etc_hosts[100], dns_hosts[100], dnsmasq_log[100], responder_log[100];
static char name_a[4][80], name_s[4][80];

static int fifo_send(nodus_kit *kit, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fifo_send(nodus_kit *kit, int i, const char *fmt, ...) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.in", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
  return 0;
}

static int count_after(nodus_kit *kit, int i, long mark, const char *needle) {
  return nodus_kit_log_count(kit, i, mark, needle);
}

/* Node i's last #nodeup/#nodedown line about peer says up. */
static bool linked(nodus_kit *kit, int i, const char *peer) {
  char path[600], line[1024], up[120], down[120];
  snprintf(path, sizeof path, "%s/n%d.log", nodus_kit_state_dir(kit), i);
  snprintf(up, sizeof up, "#nodeup %s", peer);
  snprintf(down, sizeof down, "#nodedown %s ", peer);
  FILE *f = fopen(path, "r");
  bool is_up = false;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!strcmp(line, up)) is_up = true;
    else if (!strncmp(line, down, strlen(down)) || !strncmp(line, "#kit start", 10))
      is_up = false;
  }
  if (f) fclose(f);
  return is_up;
}

static bool mesh(nodus_kit *kit, char names[4][80], int n) {
  for (int a = 1; a <= n; a++)
    for (int b = 1; b <= n; b++)
      if (a != b && !linked(kit, a, names[b])) return false;
  return true;
}

/* How many lines of a file after byte `from` hold needle. */
static int file_count(const char *path, long from, const char *needle) {
  FILE *f = fopen(path, "r");
  char line[1024];
  int n = 0;
  if (!f) return 0;
  fseek(f, from, SEEK_SET);
  while (fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
  fclose(f);
  return n;
}

static long file_size(const char *path) {
  FILE *f = fopen(path, "r");
  long n = 0;
  if (f) fseek(f, 0, SEEK_END), n = ftell(f), fclose(f);
  return n;
}

/* Rewrites path in place: the bind mounts of /etc/hosts hold its inode. */
static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) fputs(text, f), fclose(f);
}

/* argv in node i's namespace (ip netns exec), output to log; dies with us. */
static pid_t spawn_in(nodus_kit *kit, int i, const char *const *argv, const char *log) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644), in = open("/dev/null", O_RDONLY);
  dup2(in, 0), dup2(out, 1), dup2(out, 2);
  const char *full[40] = {"ip", "netns", "exec", nodus_kit_node_netns(kit, i)};
  int n = 4;
  for (int k = 0; argv[k] && n < 39; k++) full[n++] = argv[k];
  full[n] = NULL;
  execvp("ip", (char *const *)full);
  _exit(127);
}

static void end_proc(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++) nodus_kit_sleep_ms(20);
  if (waitpid(pid, NULL, WNOHANG) == 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
}

static pid_t dnsmasq_pid;

/* New records: the hosts file rewritten, dnsmasq told to read it again. */
static void records(const char *text) {
  long m = file_size(dnsmasq_log);
  write_file(dns_hosts, text);
  kill(dnsmasq_pid, SIGHUP);
  CHECK(NODUS_EVENTUALLY(file_count(dnsmasq_log, m, "read ") >= 1, 3000));
}

static void tails(nodus_kit *kit) {
  char cmd[900];
  for (int i = 1; i <= 3; i++) {
    snprintf(cmd, sizeof cmd, "echo '--- n%d log (tail)' >&2; tail -n 40 '%s/n%d.log' >&2", i,
             nodus_kit_state_dir(kit), i);
    if (system(cmd) != 0) fprintf(stderr, "(no log for n%d)\n", i);
  }
  snprintf(cmd, sizeof cmd, "echo '--- dnsmasq (tail)' >&2; tail -n 20 '%s' >&2", dnsmasq_log);
  if (system(cmd) != 0) fprintf(stderr, "(no dnsmasq log)\n");
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--name")) return node_main(argc, argv);
  if (argc == 5 && !strcmp(argv[1], "--responder"))
    return responder_main(argv[2], atoi(argv[3]), atoi(argv[4]));
  int need = cluster_require(CLUSTER_NETNS);
  if (need) return need;
  if (access(DNSMASQ, X_OK) != 0) return check_skip(DNSMASQ " (dnsmasq) not installed");

  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0 || !mkdtemp(dir)) return 1;
  self[sl] = 0;
  snprintf(etc_hosts, sizeof etc_hosts, "%s/etc-hosts", dir);
  snprintf(dns_hosts, sizeof dns_hosts, "%s/dns-hosts", dir);
  snprintf(dnsmasq_log, sizeof dnsmasq_log, "%s/dnsmasq.log", dir);
  snprintf(responder_log, sizeof responder_log, "%s/responder.log", dir);
  write_file(etc_hosts, "127.0.0.1 localhost\n");
  write_file(dns_hosts, "");

  const char *args[] = {"--hosts", etc_hosts, NULL};
  nodus_kit_opts ko = {.nodes = 3, .exec = self, .exec_args = args,
                       .net = NODUS_KIT_NET_NETNS, .log = stderr};
  nodus_kit *kit;
  int rc = nodus_kit_up(&kit, &ko);
  if (rc) {
    fprintf(stderr, "kit up: %s\n", nodus_strerror(rc));
    return 1;
  }
  const char *ip[4] = {NULL, nodus_kit_node_ip(kit, 1), nodus_kit_node_ip(kit, 2),
                       nodus_kit_node_ip(kit, 3)};
  char hosts[400] = "127.0.0.1 localhost\n", line[200];
  for (int i = 1; i <= 3; i++) {
    snprintf(name_a[i], sizeof name_a[i], "dns@%s", ip[i]);
    snprintf(name_s[i], sizeof name_s[i], "dns@n%d.nodes.test", i);
    snprintf(line, sizeof line, "%s n%d.nodes.test\n", ip[i], i);
    strcat(hosts, line);
  }
  write_file(etc_hosts, hosts);
  long mark[4];

  STEP("dnsmasq on node 1's host (%s:53)", ip[1]);
  char addn[150], listen[80], srv[3][80];
  snprintf(addn, sizeof addn, "--addn-hosts=%s", dns_hosts);
  snprintf(listen, sizeof listen, "--listen-address=%s", ip[1]);
  for (int i = 0; i < 3; i++)
    snprintf(srv[i], sizeof srv[i], "--srv-host=_dns._tcp.nodes.test,n%d.nodes.test,4369", i + 1);
  const char *dnsmasq[] = {DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv",
                           "--no-hosts", addn, listen, "--bind-interfaces", "--port=53",
                           "--local=/test/", "--user=root", "--pid-file=", "--log-queries",
                           "--log-facility=-", srv[0], srv[1], srv[2], NULL};
  dnsmasq_pid = spawn_in(kit, 1, dnsmasq, dnsmasq_log);
  CHECK(NODUS_EVENTUALLY(file_count(dnsmasq_log, 0, "read ") >= 1, 5000));

  STEP("a: no records yet: empty polls, nobody joins");
  marks(kit, mark);
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, "start %s", name_a[i]), 0);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "#started") == 1, 5000));
  for (int i = 1; i <= 3; i++)
    CHECK_RC(fifo_send(kit, i,
                       "discover dns:nodes.test,basename=dns,server=%s,interval_ms=300,"
                       "timeout_ms=1000,disconnect_missing=true,backoff_max_ms=500",
                       ip[1]),
             0);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "dns: no records for nodes.test") == 1,
                           5000));
  for (int i = 1; i <= 3; i++) CHECK(count_after(kit, i, mark[i], "#nodeup") == 0);

  STEP("a: A records of the three added: they mesh");
  int64_t t0 = nodus_kit_now_ns();
  snprintf(hosts, sizeof hosts, "%s nodes.test\n%s nodes.test\n%s nodes.test\n", ip[1], ip[2],
           ip[3]);
  records(hosts);
  CHECK(NODUS_EVENTUALLY(mesh(kit, name_a, 3), 5000));
  STEP("a: full mesh %.0f ms after the records", (nodus_kit_now_ns() - t0) / 1e6);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "#found dns@") == 2, 3000));

  STEP("a: an AAAA record is found as dns@ADDRESS, and lost when removed");
  marks(kit, mark);
  char with6[sizeof hosts + 32];
  snprintf(with6, sizeof with6, "%sfd77::9 nodes.test\n", hosts);
  records(with6);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "#found dns@fd77::9 via dns") == 1,
                           3000));
  records(hosts);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "#lost dns@fd77::9 via dns") == 1,
                           3000));
  CHECK(mesh(kit, name_a, 3));

  STEP("a: node 3 leaves (its discovery stopped, its record removed): disconnected");
  marks(kit, mark);
  CHECK_RC(fifo_send(kit, 3, "stop"), 0);
  CHECK(NODUS_EVENTUALLY(count_after(kit, 3, mark[3], "#discover-stopped") == 1, 3000));
  snprintf(hosts, sizeof hosts, "%s nodes.test\n%s nodes.test\n", ip[1], ip[2]);
  records(hosts);
  char needle[200];
  for (int i = 1; i <= 2; i++) {
    snprintf(needle, sizeof needle, "#lost %s via dns", name_a[3]);
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], needle) == 1, 3000));
    CHECK(NODUS_EVENTUALLY(!linked(kit, i, name_a[3]), 3000));
    CHECK(count_after(kit, i, mark[i], "no longer listed (disconnect_missing)") == 1);
  }
  CHECK(!NODUS_EVENTUALLY(linked(kit, 1, name_a[3]) || linked(kit, 2, name_a[3]), 1500));
  CHECK(linked(kit, 1, name_a[2]) && linked(kit, 2, name_a[1]));

  STEP("a: the name gone (NXDOMAIN): an empty poll, nothing changes");
  marks(kit, mark);
  records("");
  for (int i = 1; i <= 2; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "dns: no records for nodes.test") == 1,
                           3000));
  CHECK(!NODUS_EVENTUALLY(count_after(kit, 1, mark[1], "#lost") + count_after(kit, 2, mark[2], "#lost") +
                              count_after(kit, 1, mark[1], "#nodedown") > 0,
                          1500));
  CHECK(linked(kit, 1, name_a[2]) && linked(kit, 2, name_a[1]));

  STEP("b: SRV records name the nodes (dns@nI.nodes.test)");
  for (int i = 1; i <= 3; i++) CHECK_RC(nodus_kit_restart(kit, i), 0);
  marks(kit, mark);
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, "start %s", name_s[i]), 0);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], "#started") == 1, 5000));
  t0 = nodus_kit_now_ns();
  for (int i = 1; i <= 3; i++) /* the basename: our own, "dns" */
    CHECK_RC(fifo_send(kit, i, "discover dns:_dns._tcp.nodes.test,server=%s,interval_ms=300",
                       ip[1]),
             0);
  CHECK(NODUS_EVENTUALLY(mesh(kit, name_s, 3), 5000));
  STEP("b: full mesh %.0f ms after discovery started", (nodus_kit_now_ns() - t0) / 1e6);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count_after(kit, i, mark[i], ".nodes.test via dns") == 2, 3000));

  STEP("c: silent, garbage and refusing servers: logged, the node runs on");
  pid_t responder = 0;
  char sp[8], gp[8];
  snprintf(sp, sizeof sp, "%d", SILENT_PORT);
  snprintf(gp, sizeof gp, "%d", GARBAGE_PORT);
  const char *resp[] = {self, "--responder", ip[2], sp, gp, NULL};
  responder = spawn_in(kit, 2, resp, responder_log);
  CHECK(NODUS_EVENTUALLY(file_count(responder_log, 0, "responder listening") == 1, 5000));
  marks(kit, mark);
  CHECK_RC(fifo_send(kit, 3,
                     "discover dns:_dns._tcp.nodes.test,server=%s,interval_ms=300;"
                     "dns:nodes.test,server=%s:%d,interval_ms=300,timeout_ms=400;"
                     "dns:nodes.test,server=%s:%d,interval_ms=300;"
                     "dns:nodes.test,server=%s:%d,interval_ms=300",
                     ip[1], ip[2], SILENT_PORT, ip[2], GARBAGE_PORT, ip[2], REFUSED_PORT),
           0);
  const char *why[3] = {"no answer within 400 ms", "Misformatted DNS reply",
                        "Could not contact DNS servers"};
  int ports[3] = {SILENT_PORT, GARBAGE_PORT, REFUSED_PORT};
  for (int k = 0; k < 3; k++) {
    snprintf(needle, sizeof needle, "#error - via dns: nodes.test A via %s:%d: %s", ip[2],
             ports[k], why[k]);
    CHECK(NODUS_EVENTUALLY(count_after(kit, 3, mark[3], needle) >= 1, 5000));
    snprintf(needle, sizeof needle, "#log 1 discovery: dns: nodes.test A via %s:%d: %s", ip[2],
             ports[k], why[k]);
    CHECK(count_after(kit, 3, mark[3], needle) == 1); /* logged once, not per poll */
  }
  CHECK(file_count(responder_log, 0, "#q silent") >= 1);
  CHECK(file_count(responder_log, 0, "#q garbage") >= 1);
  CHECK_RC(fifo_send(kit, 3, "ping"), 0);
  CHECK(NODUS_EVENTUALLY(count_after(kit, 3, mark[3], "#pong") == 1, 3000));
  CHECK_RC(fifo_send(kit, 1, "rpc %s", name_s[3]), 0);
  CHECK(NODUS_EVENTUALLY(count_after(kit, 1, mark[1], "#rpc-") == 1, 8000));
  CHECK(count_after(kit, 1, mark[1], "no answer within 400 ms") == 1);
  CHECK(count_after(kit, 1, mark[1], "Misformatted DNS reply") == 1);
  CHECK(count_after(kit, 1, mark[1], "'dns@n1.nodes.test'") == 1); /* the SRV topology's */
  CHECK(count_after(kit, 3, mark[3], "#nodedown") == 0);
  CHECK(count_after(kit, 3, mark[3], "#lost") == 0);
  CHECK(mesh(kit, name_s, 3));
  CHECK(nodus_kit_node_pid(kit, 3) > 0 && kill(nodus_kit_node_pid(kit, 3), 0) == 0);

  STEP("c: a stop in the middle of a query");
  for (int round = 0; round < 3; round++) {
    marks(kit, mark);
    long q = file_size(responder_log);
    CHECK_RC(fifo_send(kit, 3, "discover dns:nodes.test,_x._tcp.nodes.test,server=%s:%d,"
                               "timeout_ms=5000", ip[2], SILENT_PORT),
             0);
    CHECK(NODUS_EVENTUALLY(file_count(responder_log, q, "#q silent") >= 3, 3000));
    CHECK_RC(fifo_send(kit, 3, "stop"), 0);
    CHECK_RC(fifo_send(kit, 3, "ping"), 0);
    CHECK(NODUS_EVENTUALLY(count_after(kit, 3, mark[3], "#pong") == 1, 3000));
    CHECK(count_after(kit, 3, mark[3], "#discover-stopped") == 1);
  }
  CHECK(nodus_kit_node_pid(kit, 3) > 0 && kill(nodus_kit_node_pid(kit, 3), 0) == 0);
  CHECK(mesh(kit, name_s, 3));

  for (int i = 1; i <= 3; i++) /* the sanitizer build's nodes said nothing */
    CHECK(count_after(kit, i, 0, "Sanitizer") + count_after(kit, i, 0, "runtime error") == 0);
  if (check_failed || getenv("DNS_TAILS")) tails(kit);
  end_proc(responder);
  end_proc(dnsmasq_pid);
  nodus_kit_down(kit);
  char rm[200];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_report();
}
