/* singleton_worker: the stories' background job that must run on one and
 * only one node of the cluster (nodus/dsup.h).
 *
 * Every member node runs the same command line:
 *
 *   singleton_worker --name NAME --cookie C [--discover SPEC]
 *                    [--peers a@h,b@h] --mode availability|quorum|lease
 *                    [--min-nodes N] [--quorum K] [--cluster-size N]
 *                    [--lease-ms MS] [--db CONNINFO] [--history PATH]
 *                    [--detector-ms MS]
 *                    [--global-name NAME]
 *                    [--period-ms MS] [--ticktime S] [--epmd-port P]
 *
 * It starts a distributed supervisor "singleton_worker" with one kind,
 * "worker", and adds the child "job" (permanent, registered as the
 * :global --global-name, default background_work: from Elixir,
 * GenServer.call({:global, :background_work}, :whoami) answers {:ok,
 * node, epoch}). Wherever the dsup runs
 * the child, every --period-ms (default 1000) the child asks
 * nodus_dsup_valid() whether it is still the one, with the fencing epoch
 * it was started with, and only then does its work: a line
 *
 *   work <unix_ms> node=<node> epoch=<E>
 *
 * on stdout and, with --history PATH, one JSON line in the test kit's
 * history format, appended (O_APPEND, one write per line, so every node
 * may share one file):
 *
 *   {"time":<ns, CLOCK_REALTIME>,"process":<P>,"type":"ok","f":"work",
 *    "key":"job","value":<E>}
 *
 * P is the number the node's name ends in (n3@h: 3), else the pid. The
 * child's start and end are logged too, on stdout and in the history
 * (f "start" and "stop", value the epoch):
 *
 *   singleton started epoch=<E> node=<node> t=<unix_ms>
 *   singleton stopped reason=<R> epoch=<E> node=<node> t=<unix_ms>
 *
 * Modes (the guarantees are nodus/dsup.h's): availability runs the job
 * once per connected group of nodes; quorum runs it only while this node
 * holds a lease granted by a majority (--quorum, or a majority of
 * --cluster-size); lease runs it only while this node holds the child's
 * lease row in the PostgreSQL database --db (a libpq connection string),
 * the epoch coming from the database. --min-nodes N: nothing runs while
 * this node sees fewer than N members, itself included ("only when
 * clustered"). --detector-ms MS turns the failure detector on: a member
 * silent that long (paused, cut off) is declared down at once, not after
 * the tick timeout.
 *
 * In lease mode every period's work is also a fenced write to --db: a row
 * in singleton_work (epoch, at_ms, node) only while singleton_fence's
 * epoch is not newer (one statement), tried whatever the local check says,
 * and logged as "fenced write ok|refused epoch=<E> t=<unix_ms>"; one more
 * as the instance stops (its last state saved): an instance that slept
 * through its lease has its writes refused.
 *
 * --peers a@h,b@h is the static discovery topology of those nodes (dialled
 * until connected, and again after every loss); --discover SPEC any other
 * (nodus/discovery.h, e.g. 'dir:/shared/folder'); both may be given.
 *
 * It prints "#nodeup NODE t=<unix_ms>" and "#nodedown NODE REASON
 * t=<unix_ms>" as connections come and go (the lines the test kit watches)
 * and "singleton_worker NODE ready" once it runs; it leaves on SIGINT or
 * SIGTERM (nodus_dsup_close: its instance moves to another member at
 * once, its lease given back).
 * NODUS_LOG=info in the environment shows the supervisor's own log.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <nodus.h>
#include <nodus/discovery.h>
#include <nodus/dsup.h>

#define CHILD_ID "job"

static const char *self_name = "?";
static int process_no;
static int history_fd = -1;
static unsigned period_ms = 1000;

/* One child instance's state, freed by its on_exit. */
typedef struct job {
  nodus_dsup *dsup;
  uint64_t epoch;
  unsigned skipped; /* ticks where nodus_dsup_valid said no */
} job;

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void history(int64_t t_ns, const char *f, uint64_t epoch) {
  if (history_fd < 0) return;
  char line[256];
  int len = snprintf(line, sizeof line,
                     "{\"time\":%" PRId64 ",\"process\":%d,\"type\":\"ok\","
                     "\"f\":\"%s\",\"key\":\"" CHILD_ID "\",\"value\":%" PRIu64
                     "}\n",
                     t_ns, process_no, f, epoch);
  if (len > 0 && len < (int)sizeof line && write(history_fd, line, (size_t)len) != len)
    fprintf(stderr, "singleton_worker: history write failed\n");
}

/* ---- lease mode: fenced writes ------------------------------------------- */

/* With --db, every period's work is also a row in the database, fenced by
 * the epoch: singleton_work gets the row only while singleton_fence holds
 * no newer epoch, in one statement. The write is tried whatever the local
 * check says, since the database is the judge here: an instance that slept
 * through its lease and wakes up still believing it is the one has its
 * write refused. Writes run on a thread (a handler must not block), fed by
 * a mailbox. */
static nodus_mailbox *writer_mb;
static pthread_t writer_thread;
static const char *writer_conninfo;

static const char fenced_sql[] =
    "WITH f AS (INSERT INTO singleton_fence AS s (id, epoch) VALUES (1, $1)"
    " ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch"
    " WHERE s.epoch <= excluded.epoch RETURNING 1)"
    " INSERT INTO singleton_work (epoch, at_ms, node) SELECT $1, $2, $3 FROM f"
    " RETURNING 1";

static PGconn *writer_connect(void) {
  PGconn *db = PQconnectdb(writer_conninfo);
  if (PQstatus(db) != CONNECTION_OK) {
    fprintf(stderr, "singleton_worker: database: %s", PQerrorMessage(db));
    PQfinish(db);
    return NULL;
  }
  PQclear(PQexec(db, "SET client_min_messages = warning"));
  PQclear(PQexec(db, "CREATE TABLE IF NOT EXISTS singleton_fence (id int PRIMARY KEY,"
                     " epoch bigint NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS singleton_work (epoch bigint NOT NULL,"
                     " at_ms bigint NOT NULL, node text NOT NULL)"));
  return db;
}

static void *writer_main(void *arg) {
  (void)arg;
  PGconn *db = NULL;
  for (;;) {
    nodus_term msg;
    if (nodus_mailbox_recv(writer_mb, &msg, -1)) break;
    int64_t epoch, ms;
    bool stop = nodus_is_atom(&msg, "stop");
    if (!stop && !nodus_match(&msg, "{write, ~i, ~i}", &epoch, &ms) &&
        (db || (db = writer_connect()))) {
      char e[24], t[24];
      snprintf(e, sizeof e, "%" PRId64, epoch);
      snprintf(t, sizeof t, "%" PRId64, ms);
      const char *params[] = {e, t, self_name};
      PGresult *r = PQexecParams(db, fenced_sql, 3, NULL, params, NULL, NULL, 0);
      if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "singleton_worker: fenced write: %s", PQresultErrorMessage(r));
        if (PQstatus(db) != CONNECTION_OK) PQfinish(db), db = NULL;
      } else {
        printf("fenced write %s epoch=%" PRId64 " t=%" PRId64 "\n",
               PQntuples(r) == 1 ? "ok" : "refused", epoch, ms);
      }
      PQclear(r);
    }
    nodus_term_free(&msg);
    if (stop) break;
  }
  if (db) PQfinish(db);
  return NULL;
}

static void writer_stop(void) {
  nodus_term stop;
  if (!writer_mb || nodus_mk_atom(&stop, "stop")) return;
  nodus_mailbox_send(writer_mb, nodus_mailbox_pid(writer_mb), stop);
  pthread_join(writer_thread, NULL);
  nodus_mailbox_close(writer_mb);
  writer_mb = NULL;
}

static void fenced_write(nodus_proc *self, uint64_t epoch, int64_t t_ns) {
  nodus_term msg;
  if (!writer_mb ||
      nodus_build(&msg, "{write, ~i, ~i}", (int64_t)epoch, t_ns / 1000000))
    return;
  nodus_send_from(self, nodus_mailbox_pid(writer_mb), msg);
}

/* ---- the singleton -------------------------------------------------------- */

static void tick_later(nodus_proc *self, unsigned ms) {
  nodus_term msg;
  if (nodus_mk_atom(&msg, "tick") == 0)
    nodus_send_after(self, ms, nodus_self(self), msg, NULL);
}

/* One period's work, only while this instance is still the one. The time
 * is read before the check: the lease was valid at the time stamped. */
static void work(nodus_proc *self, job *j) {
  int64_t t = realtime_ns();
  fenced_write(self, j->epoch, t); /* lease mode: the database judges */
  if (!nodus_dsup_valid(j->dsup, CHILD_ID, j->epoch)) {
    if (j->skipped++ == 0)
      printf("singleton waiting epoch=%" PRIu64 ": not valid here now\n", j->epoch);
    return;
  }
  printf("work %" PRId64 " node=%s epoch=%" PRIu64 "\n", t / 1000000, self_name,
         j->epoch);
  history(t, "work", j->epoch);
}

static void job_start(nodus_proc *self) {
  job *j = nodus_proc_state(self);
  int64_t t = realtime_ns();
  printf("singleton started epoch=%" PRIu64 " node=%s t=%" PRId64 "\n", j->epoch,
         self_name, t / 1000000);
  history(t, "start", j->epoch);
  work(self, j);
  tick_later(self, period_ms);
}

/* GenServer.call({:global, :background_work}, :whoami) from Elixir:
 * {:ok, node, epoch}, this instance's. Other calls: {:error, :unknown}. */
static void job_call(nodus_proc *self, const nodus_term *from,
                     const nodus_term *req) {
  job *j = nodus_proc_state(self);
  nodus_term reply;
  int rc = nodus_is_atom(req, "whoami")
               ? nodus_build(&reply, "{ok, ~a, ~u}", self_name, j->epoch)
               : nodus_build(&reply, "{error, unknown}");
  if (rc == 0) nodus_gen_reply(self, from, reply);
}

static void job_message(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from, *req;
  if (!nodus_match(msg, "{'$gen_call', ~t, ~t}", &from, &req)) {
    job_call(self, from, req);
    return;
  }
  if (!nodus_is_atom(msg, "tick")) return; /* {global_name_conflict, _}... */
  work(self, nodus_proc_state(self));
  tick_later(self, period_ms);
}

static void job_exit(nodus_proc *self, const nodus_term *reason) {
  job *j = nodus_proc_state(self);
  char *text = NULL;
  nodus_print(reason, NULL, &text, NULL);
  int64_t t = realtime_ns();
  printf("singleton stopped reason=%s epoch=%" PRIu64 " node=%s t=%" PRId64 "\n",
         text ? text : "?", j->epoch, self_name, t / 1000000);
  history(t, "stop", j->epoch);
  /* A job that saves its last state as it stops, as real ones do: in
   * lease mode a fenced write too, refused when a newer epoch has run. */
  fenced_write(self, j->epoch, t);
  free(text);
  free(j);
}

/* The kind "worker": a process linked to the supervisor's, which ends it
 * with an exit signal when it must stop (it does not trap exits). */
static int start_worker(nodus_proc *sup, const nodus_dsup_start_info *info,
                        void *arg, nodus_term *pid) {
  (void)arg;
  job *j = calloc(1, sizeof *j);
  if (!j) return NODUS_ENOMEM;
  j->dsup = info->dsup;
  j->epoch = info->epoch;
  nodus_proc_spec spec = {.on_message = job_message,
                          .on_start = job_start,
                          .on_exit = job_exit,
                          .state = j};
  int rc = nodus_spawn_from(sup, &spec, true, pid);
  if (rc) free(j);
  return rc;
}

/* ---- the node ---------------------------------------------------------------- */

static void on_node_event(nodus_node *node, const nodus_node_event *ev, void *arg) {
  (void)node, (void)arg;
  int64_t ms = realtime_ns() / 1000000;
  if (ev->up)
    printf("#nodeup %s t=%" PRId64 "\n", nodus_atom_text(ev->node, NULL), ms);
  else
    printf("#nodedown %s %s t=%" PRId64 "\n", nodus_atom_text(ev->node, NULL),
           nodus_atom_text(ev->reason, NULL), ms);
}

/* The number the name part of `name` ends in (nk12_n3@10.0.0.3: 3), else
 * the pid: the history's "process". */
static int process_number(const char *name) {
  const char *at = strchr(name, '@');
  const char *end = at ? at : name + strlen(name), *p = end;
  while (p > name && isdigit((unsigned char)p[-1])) p--;
  if (p == end || end - p > 6) return (int)getpid();
  return atoi(p);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: singleton_worker --name NAME [--cookie C] [--discover SPEC]\n"
          "         [--peers a@h,b@h] --mode availability|quorum|lease\n"
          "         [--min-nodes N] [--quorum K] [--cluster-size N] [--lease-ms MS]\n"
          "         [--detector-ms MS]\n"
          "         [--db CONNINFO]\n"
          "         [--history PATH] [--global-name NAME] [--period-ms MS]\n"
          "         [--ticktime S] [--epmd-port P]\n"
          "Runs the child \"job\" of the distributed supervisor singleton_worker\n"
          "on one node of the cluster: every --period-ms (1000) it prints\n"
          "\"work <unix_ms> node=<node> epoch=<E>\" while nodus_dsup_valid says\n"
          "it is still the one (and appends a JSON line to --history).\n"
          "quorum mode needs --cluster-size or --quorum, lease mode --db.\n");
}

static bool number(const char *s, long min, long max, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  nodus_node_opts opts = {0};
  nodus_dsup_opts dopts = {.name = "singleton_worker", .mode = -1};
  const char *discover = NULL, *peers = NULL, *history_path = NULL;
  const char *global_name = "background_work";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long n = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "singleton_worker: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--name")) opts.name = v;
    else if (!strcmp(a, "--cookie")) opts.cookie = v;
    else if (!strcmp(a, "--discover")) discover = v;
    else if (!strcmp(a, "--peers")) peers = v;
    else if (!strcmp(a, "--history")) history_path = v;
    else if (!strcmp(a, "--global-name")) global_name = v;
    else if (!strcmp(a, "--mode") && !strcmp(v, "availability"))
      dopts.mode = NODUS_DSUP_AVAILABILITY;
    else if (!strcmp(a, "--mode") && !strcmp(v, "quorum")) dopts.mode = NODUS_DSUP_QUORUM;
    else if (!strcmp(a, "--mode") && !strcmp(v, "lease")) dopts.mode = NODUS_DSUP_LEASE;
    else if (!strcmp(a, "--db")) dopts.db = v;
    else if (!strcmp(a, "--min-nodes") && number(v, 0, 256, &n)) dopts.min_nodes = (unsigned)n;
    else if (!strcmp(a, "--quorum") && number(v, 1, 256, &n)) dopts.quorum = (unsigned)n;
    else if (!strcmp(a, "--cluster-size") && number(v, 1, 256, &n))
      dopts.cluster_size = (unsigned)n;
    else if (!strcmp(a, "--lease-ms") && number(v, 100, 3600000, &n)) dopts.lease_ms = (unsigned)n;
    else if (!strcmp(a, "--detector-ms") && number(v, 100, 3600000, &n))
      dopts.detector_ms = (unsigned)n;
    else if (!strcmp(a, "--period-ms") && number(v, 1, 3600000, &n)) period_ms = (unsigned)n;
    else if (!strcmp(a, "--ticktime") && number(v, 1, 3600, &n))
      opts.net_ticktime_ms = (unsigned)n * 1000;
    else if (!strcmp(a, "--epmd-port") && number(v, 1, 65535, &n)) opts.epmd_port = (int)n;
    else {
      fprintf(stderr, "singleton_worker: bad option or value '%s %s'\n", a, v);
      usage(stderr);
      return 2;
    }
  }
  if (!opts.name || dopts.mode < 0) {
    fprintf(stderr,
            "singleton_worker: --name and --mode availability|quorum|lease are required\n");
    usage(stderr);
    return 2;
  }
  if (dopts.mode == NODUS_DSUP_QUORUM && !dopts.quorum && !dopts.cluster_size) {
    fprintf(stderr, "singleton_worker: quorum mode needs --cluster-size N or --quorum K\n");
    return 2;
  }
  if (dopts.mode == NODUS_DSUP_LEASE && !dopts.db) {
    fprintf(stderr, "singleton_worker: lease mode needs --db CONNINFO\n");
    return 2;
  }
  if (history_path &&
      (history_fd = open(history_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
    perror(history_path);
    return 1;
  }

  /* --peers a,b is the static topology of a and b; with --discover too,
   * both run (SPEC;static:a,b). */
  char *spec = NULL;
  if (peers && discover) {
    if (asprintf(&spec, "%s;static:%s", discover, peers) < 0) return 1;
  } else if (peers) {
    if (asprintf(&spec, "static:%s", peers) < 0) return 1;
  } else if (discover) {
    spec = strdup(discover);
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "singleton_worker: %s\n", nodus_strerror(rc));
    free(spec);
    return 1;
  }
  self_name = nodus_atom_text(nodus_node_name(node), NULL);
  process_no = process_number(self_name);

  nodus_dsup_kind kinds[] = {{.name = "worker", .start = start_worker}};
  dopts.kinds = kinds;
  dopts.n_kinds = 1;
  nodus_dsup_child_spec child = {.id = CHILD_ID,
                                 .kind = "worker",
                                 .restart = NODUS_PERMANENT,
                                 .global_name = global_name[0] ? global_name : NULL};
  nodus_node_events *events = NULL;
  nodus_dsup *dsup = NULL;
  nodus_discovery *disc = NULL;
  char why[512] = "";
  if (!(rc = nodus_node_events_subscribe(node, NODUS_NODES_ALL, on_node_event, NULL,
                                         &events)))
    rc = nodus_node_start(node);
  if (!rc && dopts.mode == NODUS_DSUP_LEASE) { /* the fenced writer first */
    writer_conninfo = dopts.db;
    if (!(rc = nodus_mailbox_open(node, &writer_mb)) &&
        pthread_create(&writer_thread, NULL, writer_main, NULL)) {
      nodus_mailbox_close(writer_mb);
      writer_mb = NULL;
      rc = NODUS_ENOMEM;
    }
  }
  if (!rc && !(rc = nodus_dsup_start(node, &dopts, &dsup)))
    rc = nodus_dsup_start_child(dsup, &child);
  /* Discovery last: every node it connects is met by a running dsup. */
  if (!rc && spec) {
    nodus_discovery_opts d = {.spec = spec};
    if ((rc = nodus_discovery_start(node, &d, why, sizeof why, &disc)))
      fprintf(stderr, "singleton_worker: --discover/--peers: %s\n", why);
  }
  free(spec);
  if (rc) {
    fprintf(stderr, "singleton_worker: %s\n", nodus_strerror(rc));
    nodus_dsup_close(dsup);
    writer_stop();
    nodus_node_close(node);
    return 1;
  }
  static const char *const modes[] = {"availability", "quorum", "lease"};
  printf("singleton_worker %s ready (mode %s, min_nodes %u)\n", self_name,
         modes[dopts.mode], dopts.min_nodes);

  /* Not nodus_node_run_until_signal: it stops the loop before it returns,
   * and nodus_dsup_close needs the loop to move the job away and give its
   * lease back (after a stopped loop it only frees, and the other members
   * wait for the lease to run out). So the signal is awaited here, the
   * loop still running; SIGINT and SIGTERM were blocked before the loop
   * thread started, so it inherited the mask. */
  int sig = 0;
  sigwait(&stop_signals, &sig);
  printf("singleton_worker %s: signal %d, leaving\n", self_name, sig);
  nodus_discovery_stop(disc);
  nodus_dsup_close(dsup);
  writer_stop();
  nodus_node_close(node);
  if (history_fd >= 0) close(history_fd);
  return 0;
}
