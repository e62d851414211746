/* The C node of the discovery cluster tests (gossip, dns, postgres): the
 * test binary run again by the kit (--name NAME --cookie C). It prints the
 * kit's #nodeup / #nodedown lines, every discovery event as
 * "#KIND NODE via STRATEGY[: REASON]" and info logs as "#log LEVEL
 * COMPONENT: MSG", and takes commands on stdin (the kit's FIFO), so every
 * node of a test starts discovering at the instant the test says:
 *   discover SPEC   (re)starts its discovery: #discover-started SPEC, or
 *                   #discover-failed ERR: REASON
 *   stop            stops it: #discover-stopped
 * (test_cluster_dns runs its own stdin loop around
 * disc_node_discovery_command, with commands of its own.) */
#ifndef NODUS_TESTS_DISC_NODE_H
#define NODUS_TESTS_DISC_NODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nodus/discovery.h"

static nodus_node *g_node;
static nodus_discovery *g_disc;

static inline void disc_node_log(void *arg, int level, const char *node,
                                 const char *component, const char *msg) {
  if (level > NODUS_LOG_INFO) return;
  printf("#log %d %s: %s\n", level, component ? component : "-", msg);
  fflush(stdout);
}

static inline void disc_node_updown(nodus_node *node, const nodus_node_event *ev,
                                    void *arg) {
  if (ev->up)
    printf("#nodeup %s\n", nodus_atom_text(ev->node, NULL));
  else
    printf("#nodedown %s %s\n", nodus_atom_text(ev->node, NULL),
           nodus_atom_text(ev->reason, NULL));
  fflush(stdout);
}

static inline void disc_node_event(nodus_node *node, const nodus_discovery_event *ev,
                                   void *arg) {
  static const char *kinds[] = {"found", "lost", "connect_failed", "error"};
  printf("#%s %s via %s%s%s\n", kinds[ev->kind],
         ev->node != NODUS_ATOM_EMPTY ? nodus_atom_text(ev->node, NULL) : "-",
         ev->strategy, ev->reason ? ": " : "", ev->reason ? ev->reason : "");
  fflush(stdout);
}

/* "discover SPEC" and "stop"; false for any other line. */
static inline bool disc_node_discovery_command(const char *line) {
  if (!strncmp(line, "discover ", 9)) {
    if (g_disc) nodus_discovery_stop(g_disc), g_disc = NULL;
    nodus_discovery_opts o = {.spec = line + 9, .on_event = disc_node_event};
    char err[512] = "";
    int rc = nodus_discovery_start(g_node, &o, err, sizeof err, &g_disc);
    if (rc) printf("#discover-failed %s: %s\n", nodus_err_name(rc), err);
    else printf("#discover-started %s\n", line + 9);
  } else if (!strcmp(line, "stop")) {
    if (g_disc) nodus_discovery_stop(g_disc), g_disc = NULL;
    printf("#discover-stopped\n");
  } else {
    return false;
  }
  fflush(stdout);
  return true;
}

static inline void *disc_node_stdin(void *arg) {
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    disc_node_discovery_command(line);
  }
  return NULL;
}

/* The node's main: opts gets --name and --cookie from argv (and
 * disc_node_log); node events go to on_event (NULL: disc_node_updown).
 * Prints "KIND node NAME ready", runs until a signal. */
static inline int disc_node_main(int argc, char **argv, const char *kind,
                                 nodus_node_opts opts, nodus_node_event_fn on_event) {
  opts.log = disc_node_log;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--name")) opts.name = argv[i + 1];
    else if (!strcmp(argv[i], "--cookie")) opts.cookie = argv[i + 1];
  }
  int rc = nodus_node_init(&opts, &g_node);
  nodus_node_events *sub;
  if (!rc)
    rc = nodus_node_events_subscribe(g_node, NODUS_NODES_ALL,
                                     on_event ? on_event : disc_node_updown, NULL, &sub);
  if (!rc) rc = nodus_node_start(g_node);
  if (rc) {
    printf("node: %s\n", nodus_strerror(rc));
    return 1;
  }
  pthread_t th;
  pthread_create(&th, NULL, disc_node_stdin, NULL);
  pthread_detach(th);
  printf("%s node %s ready\n", kind, nodus_atom_text(nodus_node_name(g_node), NULL));
  fflush(stdout);
  rc = nodus_node_run_until_signal(g_node);
  if (g_disc) nodus_discovery_stop(g_disc);
  nodus_node_close(g_node);
  return rc > 0 ? 0 : 1;
}

#endif
