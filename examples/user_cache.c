/* user_cache: a user cache replicated over a pg group.
 *
 * Every node keeps the whole cache in memory. A write is applied here and
 * sent to the cache process of every other node (the members of group
 * `caches` in pg scope `users`; the scope process is registered as
 * `users`, so the cache process takes another name, `user_cache`). Each
 * entry carries a Lamport version and the writer's node, so the newest
 * write wins everywhere (equal versions: the greater node name). When a cache
 * joins the group in our view (a new node, or a partition that healed:
 * pg re-syncs on nodeup) we send it our whole cache; it does the same,
 * both merge, every node converges. Syncing on the pg join rather than on
 * nodeup closes a gap: a write made before the new member showed up in
 * get_members is in the cache by the time its join is announced.
 *
 * A healed partition has to reconnect before any of that can happen, and
 * neither side does it by itself: BEAM nodes (OTP 25) never redial after
 * a nodedown, nodus nodes only redial when something is sent, and pg sends
 * nothing to a node it no longer sees. Discovery does it (nodus/discovery.h):
 * --discover SPEC finds the other caches' nodes (a static list, epmd, a
 * shared folder, ...) and keeps them connected, dialling again after a
 * heal; the reconnect is the nodeup that starts pg's re-sync above. The
 * `connect NODE` command does the same for one node (a static topology of
 * it), so a node joined by hand stays joined too.
 *
 *   user_cache --name NAME [--cookie C] [--epmd-port P] [--ticktime S]
 *              [--discover SPEC]
 *
 * e.g. --discover 'dir:/shared/caches' on every node forms the cluster
 * without naming a peer.
 *
 * --ticktime is net_ticktime in seconds (default 60, as BEAM): how long a
 * silent peer takes to be declared down.
 *
 * Commands, one per line on stdin; one answer line each:
 *   put ID NAME    ok              get ID     ID NAME | none ID
 *   dump           dump N ID=NAME,...   (sorted by ID)
 *   connect NODE   ok              nodes      nodes [Node,...]
 *   quit
 * Events print as they happen: "update ID NAME from NODE", "merged N from
 * NODE", "nodeup NODE", "nodedown NODE REASON". Plain lines in and out, so a
 * terminal, a pipe or the test kit (stdin a FIFO, stdout a log file:
 * `nodus cluster up --exec user_cache`) drive it alike.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>
#include <nodus/discovery.h>

typedef struct entry {
  char id[64], name[128];
  uint64_t version;
  nodus_atom origin; /* the node that wrote it; breaks version ties */
} entry;

static nodus_node *node;
static nodus_pg *scope;
static nodus_term group, self_pid;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* cache + clock */
static entry *cache;
static size_t ncache, capcache;
static uint64_t clock_now; /* Lamport clock */
/* The discoveries this node runs: --discover's, and one static topology
 * per `connect` (stdin thread only). */
static nodus_discovery *discoveries[64];
static size_t ndiscoveries;

static void say(const char *fmt, ...) {
  static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&out);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  pthread_mutex_unlock(&out);
  va_end(ap);
}

static entry *find(const char *id) {
  for (size_t i = 0; i < ncache; i++)
    if (!strcmp(cache[i].id, id)) return &cache[i];
  return NULL;
}

/* Newest (version, origin) wins. Caller holds the lock. True if applied. */
static bool merge(const entry *e) {
  if (e->version > clock_now) clock_now = e->version;
  entry *cur = find(e->id);
  if (cur) {
    int by_origin = strcmp(nodus_atom_text(e->origin, NULL),
                           nodus_atom_text(cur->origin, NULL));
    if (e->version < cur->version || (e->version == cur->version && by_origin <= 0))
      return false;
    *cur = *e;
    return true;
  }
  if (ncache == capcache) {
    size_t cap = capcache ? capcache * 2 : 16;
    entry *c = realloc(cache, cap * sizeof *c);
    if (!c) return false;
    cache = c, capcache = cap;
  }
  cache[ncache++] = *e;
  return true;
}

/* ---- entries on the wire: {Id, Name, Version, Origin}, binaries ---------- */

static int entry_term(const entry *e, nodus_term *out) {
  return nodus_build(out, "{~b, ~b, ~u, ~A}", e->id, strlen(e->id), e->name,
                     strlen(e->name), e->version, e->origin);
}

static bool entry_of(const nodus_term *t, entry *e) {
  const uint8_t *id, *name;
  size_t idn, namen;
  int64_t v;
  nodus_atom origin;
  if (nodus_match(t, "{~b, ~b, ~i, ~a}", &id, &idn, &name, &namen, &v, &origin) ||
      idn >= sizeof e->id || namen >= sizeof e->name || v < 0)
    return false;
  memcpy(e->id, id, idn), e->id[idn] = 0;
  memcpy(e->name, name, namen), e->name[namen] = 0;
  e->version = (uint64_t)v;
  e->origin = origin;
  return true;
}

/* Sends msg (taken) to every other node's cache process. */
static void to_other_caches(nodus_term msg) {
  nodus_term members;
  if (nodus_pg_get_members(scope, &group, &members) == 0) {
    for (size_t i = 0; members.type == NODUS_T_LIST && i < members.n; i++) {
      nodus_term copy;
      if (!nodus_equal(&members.v.items[i], &self_pid) && nodus_copy(&copy, &msg) == 0)
        nodus_send(node, &members.v.items[i], copy);
    }
    nodus_term_free(&members);
  }
  nodus_term_free(&msg);
}

/* ---- the cache process --------------------------------------------------- */

static void send_all_to(const nodus_term *peer_cache) {
  nodus_term list, msg;
  pthread_mutex_lock(&lock);
  int rc = nodus_mk_list(&list, ncache);
  for (size_t i = 0; !rc && i < ncache; i++) {
    nodus_term e;
    if (!(rc = entry_term(&cache[i], &e))) nodus_list_set(&list, i, e);
  }
  pthread_mutex_unlock(&lock);
  if (rc) return;
  if (ncache == 0) list = nodus_nil();
  if (nodus_build(&msg, "{user_sync, ~A, ~t}", nodus_node_name(node), list) == 0)
    nodus_send(node, peer_cache, msg);
}

static void cache_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *t, *list;
  nodus_atom peer, why;
  entry e;
  if (nodus_match(msg, "{user_put, ~t}", &t) == 0 && entry_of(t, &e)) {
    pthread_mutex_lock(&lock);
    bool applied = merge(&e);
    pthread_mutex_unlock(&lock);
    if (applied)
      say("update %s %s from %s", e.id, e.name, nodus_atom_text(e.origin, NULL));
  } else if (nodus_match(msg, "{user_sync, ~a, ~t}", &peer, &list) == 0 &&
             nodus_is_proper_list(list)) {
    size_t n = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++)
      if (entry_of(&list->v.items[i], &e)) n += merge(&e);
    pthread_mutex_unlock(&lock);
    say("merged %zu from %s", n, nodus_atom_text(peer, NULL));
  } else if (nodus_match(msg, "{_, join, caches, ~t}", &list) == 0 &&
             nodus_is_proper_list(list)) {
    /* pg:monitor's note; the new cache sends us its own likewise. */
    for (size_t i = 0; list->type == NODUS_T_LIST && i < list->n; i++) {
      const nodus_term *member = &list->v.items[i];
      if (nodus_equal(member, nodus_self(self))) continue;
      send_all_to(member);
    }
  } else if (nodus_match(msg, "{nodeup, ~a, _}", &peer) == 0) {
    say("nodeup %s", nodus_atom_text(peer, NULL));
  } else if (nodus_match(msg, "{nodedown, ~a, [{nodedown_reason, ~a}]}", &peer,
                         &why) == 0) {
    say("nodedown %s %s", nodus_atom_text(peer, NULL), nodus_atom_text(why, NULL));
  }
}

static void cache_start(nodus_proc *self) {
  nodus_monitor_nodes(self, NODUS_NODES_REASON, true);
}

/* Starts a discovery of spec; its reason on failure. */
static int discover(const char *spec, char *why, size_t why_size) {
  if (ndiscoveries == sizeof discoveries / sizeof *discoveries) {
    snprintf(why, why_size, "too many discoveries");
    return NODUS_EINVAL;
  }
  nodus_discovery_opts o = {.spec = spec};
  int rc = nodus_discovery_start(node, &o, why, why_size, &discoveries[ndiscoveries]);
  if (!rc) ndiscoveries++;
  return rc;
}

/* ---- commands -------------------------------------------------------------- */

static void put(const char *id, const char *name) {
  entry e = {0};
  if (strlen(id) >= sizeof e.id || strlen(name) >= sizeof e.name) {
    say("error too long");
    return;
  }
  strcpy(e.id, id), strcpy(e.name, name);
  e.origin = nodus_node_name(node);
  pthread_mutex_lock(&lock);
  e.version = ++clock_now;
  merge(&e);
  pthread_mutex_unlock(&lock);
  nodus_term t, msg;
  if (entry_term(&e, &t) == 0 && nodus_build(&msg, "{user_put, ~t}", t) == 0)
    to_other_caches(msg);
  say("ok");
}

static int by_id(const void *a, const void *b) {
  return strcmp(((const entry *)a)->id, ((const entry *)b)->id);
}

static void dump(void) {
  pthread_mutex_lock(&lock);
  if (ncache) qsort(cache, ncache, sizeof *cache, by_id); /* cache may be NULL */
  size_t cap = 64 + ncache * 200, len = 0;
  char *line = malloc(cap);
  if (line) {
    len = (size_t)snprintf(line, cap, "dump %zu ", ncache);
    for (size_t i = 0; i < ncache; i++)
      len += (size_t)snprintf(line + len, cap - len, "%s%s=%s", i ? "," : "",
                              cache[i].id, cache[i].name);
  }
  pthread_mutex_unlock(&lock);
  say("%s", line ? line : "error out of memory");
  free(line);
}

static void command(char *line) {
  char *op = strtok(line, " \n"), *a = strtok(NULL, " \n"), *b = strtok(NULL, "\n");
  if (!op) return;
  if (!strcmp(op, "put") && a && b) {
    put(a, b);
  } else if (!strcmp(op, "get") && a) {
    pthread_mutex_lock(&lock);
    entry *e = find(a);
    char name[128];
    if (e) strcpy(name, e->name);
    pthread_mutex_unlock(&lock);
    if (e) say("%s %s", a, name);
    else say("none %s", a);
  } else if (!strcmp(op, "dump")) {
    dump();
  } else if (!strcmp(op, "connect") && a) {
    char spec[600], why[512];
    snprintf(spec, sizeof spec, "static:%s", a);
    if (strchr(a, ',') || strchr(a, ';')) say("error not a node name");
    else if (discover(spec, why, sizeof why)) say("error %s", why);
    else say("ok");
  } else if (!strcmp(op, "nodes")) {
    nodus_term l;
    char *s = NULL;
    size_t n;
    if (nodus_node_list(node, &l) == 0 && nodus_print(&l, NULL, &s, &n) == 0)
      say("nodes %s", s);
    free(s);
    nodus_term_free(&l);
  } else {
    say("error unknown command %s", op);
  }
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  const char *discover_spec = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--name")) opts.name = argv[i + 1];
    else if (!strcmp(argv[i], "--cookie")) opts.cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) opts.epmd_port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--ticktime"))
      opts.net_ticktime_ms = (unsigned)atoi(argv[i + 1]) * 1000;
    else if (!strcmp(argv[i], "--discover")) discover_spec = argv[i + 1];
  }
  if (!opts.name) {
    fprintf(stderr, "usage: user_cache --name NAME [--cookie C] [--epmd-port P] "
                    "[--ticktime S] [--discover SPEC]\n");
    return 2;
  }
  nodus_proc_spec spec = {.on_message = cache_msg,
                          .on_start = cache_start,
                          .register_name = "user_cache"};
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (!rc) rc = nodus_pg_start(node, "users", &scope);
  if (!rc) rc = nodus_mk_atom(&group, "caches");
  if (!rc) rc = nodus_spawn(node, &spec, &self_pid);
  nodus_term ref = {0}, members = {0};
  if (!rc) rc = nodus_pg_monitor(scope, &group, &self_pid, &ref, &members);
  if (!rc) rc = nodus_pg_join(scope, &group, &self_pid);
  nodus_term_free(&ref);
  nodus_term_free(&members);
  char why[512] = "";
  /* After the join: a cache found is one that can sync with us at once. */
  if (!rc && discover_spec) rc = discover(discover_spec, why, sizeof why);
  if (rc) {
    fprintf(stderr, "user_cache: %s\n", why[0] ? why : nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  say("ready %s", nodus_atom_text(nodus_node_name(node), NULL));
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, stdin) > 0 && strncmp(line, "quit", 4)) command(line);
  free(line);
  for (size_t i = 0; i < ndiscoveries; i++) nodus_discovery_stop(discoveries[i]);
  nodus_pg_close(scope);
  nodus_node_close(node);
  nodus_term_free(&self_pid);
  free(cache);
  return 0;
}
