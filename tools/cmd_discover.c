/* nodus discover SPEC: runs discovery topologies on a hidden node that
 * only looks (dry_run: it dials nobody and announces nothing) and prints
 * what each finds, as it changes, until interrupted; --once prints the
 * first round and exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nodus.h"
#include "nodus/discovery.h"

static const char discover_usage[] =
    "usage: nodus discover [--once] [--timeout MS] [--cookie COOKIE]\n"
    "                      [--epmd-port PORT] SPEC\n"
    "Runs the topologies of SPEC (docs/discovery.md: e.g. 'epmd:h1,h2',\n"
    "'static:a@h1;dir:/shared/nodes') without joining anything, and prints\n"
    "  found NODE via STRATEGY      lost NODE via STRATEGY\n"
    "  error STRATEGY: REASON       (on stderr)\n"
    "as they happen, until interrupted. --once prints one round and exits\n"
    "(after every topology has answered, or --timeout MS, default 3000):\n"
    "exit 0 when a node was found, 1 when none. A bad SPEC is refused with\n"
    "its position and reason (exit 2).\n";

static volatile int answered_mask; /* topologies that answered (< 32) */
static volatile int n_found;

static void on_event(nodus_node *node, const nodus_discovery_event *ev,
                     void *arg) {
  const char *name = nodus_atom_text(ev->node, NULL);
  switch (ev->kind) {
  case NODUS_DISCOVERY_FOUND:
    printf("found %s via %s\n", name, ev->strategy);
    __atomic_add_fetch(&n_found, 1, __ATOMIC_SEQ_CST);
    break;
  case NODUS_DISCOVERY_LOST:
    printf("lost %s via %s\n", name, ev->strategy);
    break;
  case NODUS_DISCOVERY_ERROR:
    fprintf(stderr, "error %s: %s\n", ev->strategy, ev->reason ? ev->reason : "");
    break;
  case NODUS_DISCOVERY_CONNECT_FAILED: /* dry run: never */
    break;
  }
  fflush(stdout);
  if (ev->topology >= 0 && ev->topology < 31)
    __atomic_or_fetch(&answered_mask, 1 << ev->topology, __ATOMIC_SEQ_CST);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_topologies(const char *spec) {
  int n = 1;
  for (const char *p = spec; *p; p++) n += *p == ';';
  return n;
}

int cmd_discover(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(discover_usage, stdout);
    return CLI_OK;
  }
  const char *spec = NULL, *cookie = NULL;
  bool once = false;
  int timeout_ms = 3000, epmd_port = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--once")) once = true;
    else if (!strcmp(a, "--timeout") && v) timeout_ms = atoi(v), i++;
    else if (!strcmp(a, "--cookie") && v) cookie = v, i++;
    else if (!strcmp(a, "--epmd-port") && v) epmd_port = atoi(v), i++;
    else if (a[0] != '-' && !spec) spec = a;
    else {
      fprintf(stderr, "nodus discover: unexpected '%s'\n%s", a, discover_usage);
      return CLI_USAGE;
    }
  }
  if (!spec) {
    fputs(discover_usage, stderr);
    return CLI_USAGE;
  }
  char err[512];
  if (nodus_discovery_check(spec, err, sizeof err)) {
    fprintf(stderr, "nodus discover: %s\n", err);
    return CLI_USAGE;
  }
  char host[256] = "localhost", self[400];
  gethostname(host, sizeof host - 1);
  char *dot = strchr(host, '.');
  if (dot) *dot = 0;
  snprintf(self, sizeof self, "nodus_discover_%d@%s", (int)getpid(), host);
  /* Never dials: the cookie only has to exist. */
  nodus_node_opts opts = {.name = self,
                          .cookie = cookie ? cookie : "nodus-discover",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE,
                          .epmd_port = epmd_port,
                          .hidden = true};
  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "nodus discover: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  if ((rc = nodus_node_start(node))) {
    fprintf(stderr, "nodus discover: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return CLI_FAIL;
  }
  nodus_discovery_opts d = {.spec = spec, .on_event = on_event, .dry_run = true};
  nodus_discovery *disc;
  if ((rc = nodus_discovery_start(node, &d, err, sizeof err, &disc))) {
    fprintf(stderr, "nodus discover: %s\n", err);
    nodus_node_close(node);
    return CLI_FAIL;
  }
  if (once) {
    /* A round: every topology said something (found or error), then a
     * moment for the rest of its answer; or the timeout. */
    int n = count_topologies(spec);
    int all = n >= 31 ? 0x7fffffff : (1 << n) - 1;
    int64_t end = now_ms() + timeout_ms, settle = 0;
    while (now_ms() < end) {
      if (!settle && (__atomic_load_n(&answered_mask, __ATOMIC_SEQ_CST) & all) == all)
        settle = now_ms() + 200;
      if (settle && now_ms() >= settle) break;
      usleep(10000);
    }
    nodus_discovery_stop(disc);
    nodus_node_close(node);
    return n_found > 0 ? CLI_OK : CLI_FAIL;
  }
  rc = nodus_node_run_until_signal(node);
  nodus_discovery_stop(disc);
  nodus_node_close(node);
  return rc >= 0 ? CLI_OK : CLI_FAIL;
}
