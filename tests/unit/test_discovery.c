/* Discovery on loopback, nodes of this process around a private epmd:
 * static connects and reconnects after the peer restarts (no code of the
 * test dials), dry_run only finds, disconnect_missing; epmd, hosts_file
 * and dir find the nodes; bad options fail at start with a reason;
 * nodus:discovery/0 over rpc. */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nodus_testkit.h"
#include "nodus.h"
#include "nodus/discovery.h"

#define EVENTUALLY(cond, ms)                                        \
  ({                                                                \
    bool ok_ = false;                                               \
    for (int i_ = 0; i_ < (ms) / 10 && !(ok_ = (cond)); i_++)       \
      usleep(10000);                                                \
    ok_ || (cond);                                                  \
  })

static int epmd_port;
static char host[] = "127.0.0.1";

/* Without global: its sync dials every node it hears of, which would
 * undo the disconnect the dir test looks for. */
static const nodus_service *const no_global[] = {
    &nodus_service_net_kernel, &nodus_service_rpc, &nodus_service_erpc,
    &nodus_service_introspect, &nodus_service_discovery, NULL};
static const nodus_service *const *services;

static nodus_node *mk(const char *name, int mode) {
  char full[128];
  snprintf(full, sizeof full, "%s@%s", name, host);
  nodus_node_opts o = {.name = full, .cookie = "disc", .listen_address = host,
                       .epmd_mode = mode, .epmd_port = epmd_port,
                       .net_ticktime_ms = 4000, .services = services};
  nodus_node *n = NULL;
  int rc = nodus_node_init(&o, &n);
  if (rc) fprintf(stderr, "node %s: %s\n", full, nodus_strerror(rc));
  CHECK_RC(rc, 0);
  if (!rc) CHECK_RC(nodus_node_start(n), 0);
  return rc ? NULL : n;
}

static nodus_atom atom(const char *name) {
  char full[128];
  nodus_atom a = 0;
  snprintf(full, sizeof full, "%s@%s", name, host);
  nodus_atom_intern(full, strlen(full), &a);
  return a;
}

static bool connected(nodus_node *n, const char *peer) {
  nodus_term list;
  if (nodus_node_list(n, &list)) return false;
  bool has = false;
  for (size_t i = 0; i < nodus_size(&list); i++)
    has |= nodus_list_item(&list, i)->v.atom == atom(peer);
  nodus_term_free(&list);
  return has;
}

/* Events, counted (the callback runs on a's loop). */
static int n_found, n_lost, n_failed;
static void on_event(nodus_node *node, const nodus_discovery_event *ev,
                     void *arg) {
  if (ev->kind == NODUS_DISCOVERY_FOUND) __atomic_add_fetch(&n_found, 1, __ATOMIC_SEQ_CST);
  if (ev->kind == NODUS_DISCOVERY_LOST) __atomic_add_fetch(&n_lost, 1, __ATOMIC_SEQ_CST);
  if (ev->kind == NODUS_DISCOVERY_CONNECT_FAILED)
    __atomic_add_fetch(&n_failed, 1, __ATOMIC_SEQ_CST);
}

/* The same events through the node's event subscribers: a callback with
 * NODUS_NODES_DISCOVERY (also counting a's nodedowns), and a process
 * subscribed with nodus_monitor_nodes, which keeps the last message. */
static int sub_found, sub_failed, sub_nodedowns;
static void on_node_event(nodus_node *node, const nodus_node_event *ev,
                          void *arg) {
  if (!ev->discovery) {
    if (!ev->up) __atomic_add_fetch(&sub_nodedowns, 1, __ATOMIC_SEQ_CST);
    return;
  }
  if (ev->discovery->kind == NODUS_DISCOVERY_FOUND && ev->node == ev->discovery->node)
    __atomic_add_fetch(&sub_found, 1, __ATOMIC_SEQ_CST);
  if (ev->discovery->kind == NODUS_DISCOVERY_CONNECT_FAILED && ev->discovery->reason)
    __atomic_add_fetch(&sub_failed, 1, __ATOMIC_SEQ_CST);
}

static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_msg[600];
static int watcher_ready;
static void watcher_start(nodus_proc *self) {
  CHECK_RC(nodus_monitor_nodes(self, NODUS_NODES_DISCOVERY, true), 0);
  __atomic_store_n(&watcher_ready, 1, __ATOMIC_SEQ_CST);
}
static void watcher_msg(nodus_proc *self, const nodus_term *msg) {
  char *txt = NULL;
  if (nodus_match(msg, "{nodus_discovery, _, _, _}") || nodus_print(msg, NULL, &txt, NULL))
    return;
  pthread_mutex_lock(&last_lock);
  snprintf(last_msg, sizeof last_msg, "%s", txt);
  pthread_mutex_unlock(&last_lock);
  free(txt);
}
static bool last_has(const char *needle) {
  pthread_mutex_lock(&last_lock);
  bool has = strstr(last_msg, needle) != NULL;
  pthread_mutex_unlock(&last_lock);
  return has;
}

static int found_count(nodus_discovery *d, size_t topo) {
  nodus_term f;
  if (nodus_discovery_found(d, &f)) return -1;
  int n = -1;
  if (topo < nodus_size(&f))
    n = (int)nodus_size(nodus_tuple_elem(nodus_list_item(&f, topo), 1));
  nodus_term_free(&f);
  return n;
}

static void start_fails(nodus_node *n, const char *spec, const char *needle) {
  char err[400] = "";
  nodus_discovery *d = NULL;
  nodus_discovery_opts o = {.spec = spec};
  CHECK_RC(nodus_discovery_start(n, &o, err, sizeof err, &d), NODUS_EINVAL);
  CHECK(d == NULL);
  if (!strstr(err, needle)) fprintf(stderr, "  '%s': '%s' lacks '%s'\n", spec, err, needle);
  CHECK(strstr(err, needle) != NULL);
}

int main(void) {
  epmd_port = nodus_kit_free_port();
  nodus_node *a = mk("da", NODUS_EPMD_EMBEDDED); /* the epmd of them all */
  nodus_node *b = mk("db", NODUS_EPMD_SYSTEM);
  nodus_node *c = mk("dc", NODUS_EPMD_SYSTEM);
  if (!a || !b || !c) return check_report();

  /* ---- static: connects, keeps connected across a restart ---- */
  char spec[700];
  snprintf(spec, sizeof spec,
           "static:db@%s,dc@%s,da@%s,backoff_min_ms=20,backoff_max_ms=200", host,
           host, host);
  nodus_discovery_opts o = {.spec = spec, .on_event = on_event};
  nodus_discovery *d = NULL;
  char err[400];
  nodus_node_events *sub = NULL;
  CHECK_RC(nodus_node_events_subscribe(a, NODUS_NODES_DISCOVERY, on_node_event,
                                       NULL, &sub), 0);
  nodus_proc_spec ws = {.on_start = watcher_start, .on_message = watcher_msg};
  nodus_term watcher;
  CHECK_RC(nodus_spawn(a, &ws, &watcher), 0);
  CHECK(EVENTUALLY(__atomic_load_n(&watcher_ready, __ATOMIC_SEQ_CST), 2000));
  nodus_term_free(&watcher);
  CHECK_RC(nodus_discovery_start(a, &o, err, sizeof err, &d), 0);
  CHECK(EVENTUALLY(connected(a, "db") && connected(a, "dc"), 3000));
  CHECK(EVENTUALLY(n_found == 2, 1000)); /* da itself is ignored */
  CHECK(EVENTUALLY(sub_found == 2, 1000));
  CHECK_RC(found_count(d, 0), 2);
  CHECK(EVENTUALLY(last_has("{nodus_discovery,found,'d"), 1000));
  CHECK(last_has("[{strategy,static},{topology,0}]}"));

  nodus_node_close(b); /* b goes away: a keeps trying, then b comes back */
  CHECK(EVENTUALLY(!connected(a, "db"), 3000));
  CHECK(EVENTUALLY(n_failed > 0, 3000));
  CHECK(EVENTUALLY(sub_failed > 0, 1000));
  CHECK(EVENTUALLY(last_has("{nodus_discovery,connect_failed,'db@127.0.0.1',"
                            "[{strategy,static},{topology,0},{reason,<<\""),
                   1000));
  b = mk("db", NODUS_EPMD_SYSTEM);
  CHECK(EVENTUALLY(connected(a, "db"), 2000)); /* the test dialled nothing */
  nodus_discovery_stop(d);

  /* a disconnect from elsewhere (as after a cut): redialled at once */
  snprintf(spec, sizeof spec, "static:db@%s,backoff_min_ms=20", host);
  o = (nodus_discovery_opts){.spec = spec};
  CHECK_RC(nodus_discovery_start(a, &o, err, sizeof err, &d), 0);
  CHECK(EVENTUALLY(connected(a, "db"), 2000));
  int downs = __atomic_load_n(&sub_nodedowns, __ATOMIC_SEQ_CST);
  CHECK_RC(nodus_node_disconnect(b, atom("da")), 0);
  /* the cut is seen (a nodedown on a), then mended by a's discovery */
  CHECK(EVENTUALLY(__atomic_load_n(&sub_nodedowns, __ATOMIC_SEQ_CST) > downs, 2000));
  CHECK(EVENTUALLY(connected(a, "db") && connected(b, "da"), 2000));
  nodus_discovery_stop(d);
  nodus_node_events_unsubscribe(a, sub);

  /* ---- dry_run: found, never dialled ---- */
  nodus_node *e = mk("de", NODUS_EPMD_SYSTEM);
  n_found = 0;
  snprintf(spec, sizeof spec, "static:da@%s,db@%s", host, host);
  o = (nodus_discovery_opts){.spec = spec, .on_event = on_event, .dry_run = true};
  CHECK_RC(nodus_discovery_start(e, &o, err, sizeof err, &d), 0);
  CHECK(EVENTUALLY(n_found == 2, 1000));
  usleep(300000);
  CHECK(!connected(e, "da") && !connected(e, "db"));
  nodus_discovery_stop(d);

  /* ---- bad specs and options fail at start, saying why ---- */
  start_fails(e, "static", "no node names");
  start_fails(e, "static:nobody", "not a node name");
  start_fails(e, "static:a@h,colour=red", "not an option of static");
  start_fails(e, "nosuch:x", "unknown strategy");

  /* ---- nodus:discovery/0 over rpc ---- */
  snprintf(spec, sizeof spec, "static:da@%s", host);
  o = (nodus_discovery_opts){.spec = spec};
  CHECK_RC(nodus_discovery_start(e, &o, err, sizeof err, &d), 0);
  CHECK(EVENTUALLY(connected(e, "da"), 2000));
  nodus_term res;
  CHECK_RC(nodus_rpc(a, atom("de"), "nodus", "discovery", nodus_nil(), 5000, &res), 0);
  char *txt = NULL;
  size_t len;
  if (nodus_print(&res, NULL, &txt, &len) == 0) {
    fprintf(stderr, "nodus:discovery() = %s\n", txt);
    CHECK(strstr(txt, "strategy => static") != NULL);
    CHECK(strstr(txt, "error => none") != NULL);
    CHECK(strstr(txt, "'da@127.0.0.1'") != NULL);
  }
  free(txt);
  nodus_term_free(&res);
  nodus_discovery_stop(d);
  /* left running on purpose: the node's close ends it */
  CHECK_RC(nodus_discovery_start(e, &o, err, sizeof err, &d), 0);

  /* ---- epmd: the names in the epmd of a host ---- */
  nodus_node *f = mk("df", NODUS_EPMD_SYSTEM);
  snprintf(spec, sizeof spec, "epmd:%s,port=%d,interval_ms=200", host, epmd_port);
  o = (nodus_discovery_opts){.spec = spec};
  CHECK_RC(nodus_discovery_start(f, &o, err, sizeof err, &d), 0);
  CHECK(EVENTUALLY(connected(f, "da") && connected(f, "db") && connected(f, "dc"),
                   3000));
  CHECK(EVENTUALLY(found_count(d, 0) >= 3, 1000));
  nodus_discovery_stop(d);
  snprintf(spec, sizeof spec, "epmd:%s,port=%d,interval_ms=soon", host, epmd_port);
  start_fails(f, spec, "interval_ms=soon");

  /* ---- hosts_file: .hosts.erlang's hosts, then their epmd ---- */
  char folder[] = "/tmp/nodus-disc-XXXXXX", path[200];
  CHECK(mkdtemp(folder) != NULL);
  snprintf(path, sizeof path, "%s/hosts.erlang", folder);
  FILE *hf = fopen(path, "w");
  fprintf(hf, "%% the hosts of the cluster\n'%s'.\n", host);
  fclose(hf);
  nodus_node *g = mk("dg", NODUS_EPMD_SYSTEM);
  snprintf(spec, sizeof spec, "hosts_file:%s,port=%d,interval_ms=200", path,
           epmd_port);
  o = (nodus_discovery_opts){.spec = spec};
  CHECK_RC(nodus_discovery_start(g, &o, err, sizeof err, &d), 0);
  CHECK(EVENTUALLY(connected(g, "da") && connected(g, "db") && connected(g, "df"),
                   3000));
  nodus_discovery_stop(d);
  snprintf(spec, sizeof spec, "hosts_file:%s/none", folder);
  start_fails(g, spec, "cannot read it");
  hf = fopen(path, "w");
  fprintf(hf, "'%s'.\nnot a host\n", host);
  fclose(hf);
  snprintf(spec, sizeof spec, "hosts_file:%s", path);
  start_fails(g, spec, "line 2");

  /* ---- dir: a shared folder of fresh files ---- */
  char shared[300];
  snprintf(shared, sizeof shared, "%s/nodes", folder);
  snprintf(spec, sizeof spec, "dir:%s,interval_ms=100,ttl_ms=600,disconnect_missing=true",
           shared);
  services = no_global;
  nodus_node *h = mk("dh", NODUS_EPMD_SYSTEM), *k = mk("dk", NODUS_EPMD_SYSTEM);
  services = NULL;
  nodus_discovery *dh, *dk;
  o = (nodus_discovery_opts){.spec = spec};
  CHECK_RC(nodus_discovery_start(h, &o, err, sizeof err, &dh), 0);
  CHECK_RC(nodus_discovery_start(k, &o, err, sizeof err, &dk), 0);
  CHECK(EVENTUALLY(connected(h, "dk") && connected(k, "dh"), 3000));
  CHECK(EVENTUALLY(found_count(dh, 0) == 1, 1000));
  char file[400];
  snprintf(file, sizeof file, "%s/dk@%s", shared, host);
  CHECK(access(file, F_OK) == 0);
  nodus_discovery_stop(dk); /* removes its file: h loses it, and disconnects */
  CHECK(EVENTUALLY(access(file, F_OK) != 0, 1000));
  CHECK(EVENTUALLY(found_count(dh, 0) == 0, 2000));
  CHECK(EVENTUALLY(!connected(h, "dk"), 2000));
  nodus_discovery_stop(dh);
  snprintf(spec, sizeof spec, "dir:%s,interval_ms=100,ttl_ms=50", shared);
  start_fails(h, spec, "must be longer");
  start_fails(h, "dir:/proc/nodus-no/such", "/proc/nodus-no/such");
  nodus_node_close(k);
  nodus_node_close(h);
  nodus_node_close(g);
  nodus_node_close(f);
  char rm[400];
  snprintf(rm, sizeof rm, "rm -rf '%s'", folder);
  CHECK(system(rm) == 0);

  /* e's discovery is still running: stopping the node ends it; a stop
   * after that (the end of a main) does nothing. */
  nodus_node_stop(e);
  nodus_term none;
  CHECK_RC(nodus_discovery_found(d, &none), NODUS_ESTATE);
  nodus_discovery_stop(d);
  nodus_node_close(e);
  nodus_node_close(c);
  nodus_node_close(b);
  nodus_node_close(a);
  return check_report();
}
