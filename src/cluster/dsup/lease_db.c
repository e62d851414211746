/* Lease mode: the lease of each child is a row in PostgreSQL.
 *
 *   acquire  INSERT ... ON CONFLICT DO UPDATE, taken only when the row's
 *            lease ran out or this very incarnation holds it; every take
 *            sets epoch = epoch + 1 in the database, so epochs are ordered
 *            by the database whatever the clocks and pauses of the nodes
 *   renew    UPDATE ... WHERE holder = me AND epoch = mine
 *   release  the same, expiring the row now: the next node takes it at once
 * The holder is this node's name and the ms its dsup started, so a node
 * that restarts waits out its previous life's lease like anyone else.
 *
 * Queries block, so they run on a worker thread of the supervisor, one
 * connection, one query at a time; each answer comes back to the
 * supervisor's process as {dsup_db, Op, Id, Ok, Epoch, SentNs}. The local
 * lease runs from SentNs, taken before the query went out, for 89% of
 * lease_ms: the database's own lease started later. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

enum { DB_ACQUIRE, DB_RENEW, DB_RELEASE };
static const char *const op_names[] = {"acquire", "renew", "release"};

typedef struct db_req {
  nodus_dsup *d;
  int op;
  char *id;
  uint64_t epoch;
  int64_t sent_ns;
} db_req;

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS nodus_dsup_lease ("
    " dsup text NOT NULL, child text NOT NULL, holder text NOT NULL,"
    " epoch bigint NOT NULL, expires_at timestamptz NOT NULL,"
    " PRIMARY KEY (dsup, child))";
static const char acquire_sql[] =
    "INSERT INTO nodus_dsup_lease AS l (dsup, child, holder, epoch, expires_at)"
    " VALUES ($1, $2, $3, 1, clock_timestamp() + $4::int * interval '1 ms')"
    " ON CONFLICT (dsup, child) DO UPDATE SET holder = excluded.holder,"
    " epoch = l.epoch + 1, expires_at = excluded.expires_at"
    " WHERE l.expires_at < clock_timestamp() OR l.holder = excluded.holder"
    " RETURNING epoch";
static const char renew_sql[] =
    "UPDATE nodus_dsup_lease SET expires_at = clock_timestamp() + $4::int *"
    " interval '1 ms' WHERE dsup = $1 AND child = $2 AND holder = $3 AND"
    " epoch = $5 AND expires_at >= clock_timestamp() RETURNING epoch";
static const char release_sql[] =
    "UPDATE nodus_dsup_lease SET expires_at = clock_timestamp() - interval"
    " '1 ms' WHERE dsup = $1 AND child = $2 AND holder = $3 AND epoch = $4"
    " RETURNING epoch";

static void db_log(nodus_dsup *d, const char *what, const char *err) {
  /* One line per change of state, not per failed query. */
  char line[300];
  snprintf(line, sizeof line, "%s: %s", what, err ? err : "");
  char *nl = strchr(line, '\n');
  if (nl) *nl = 0;
  if (d->db_last_error && !strcmp(d->db_last_error, line)) return;
  free(d->db_last_error);
  d->db_last_error = strdup(line);
  nodus_log(d->node, NODUS_LOG_WARN, "dsup", "%s: database %s", d->name, line);
}

/* The connection, made or mended; NULL when the database is not there. */
static PGconn *db_conn(nodus_dsup *d) {
  if (d->db_conn && PQstatus(d->db_conn) == CONNECTION_OK) return d->db_conn;
  if (d->db_conn) PQfinish(d->db_conn);
  char timeout[16], stmt[48];
  snprintf(timeout, sizeof timeout, "%u", d->lease_ms / 1000 + 1);
  const char *keys[] = {"dbname", "connect_timeout", NULL};
  const char *vals[] = {d->opts.db, timeout, NULL};
  d->db_conn = PQconnectdbParams(keys, vals, 1);
  if (PQstatus(d->db_conn) != CONNECTION_OK) {
    db_log(d, "connect", PQerrorMessage(d->db_conn));
    PQfinish(d->db_conn);
    return d->db_conn = NULL;
  }
  /* A query that takes longer than a lease is of no use to anyone; and
   * no NOTICE on stderr (the table that already exists). */
  snprintf(stmt, sizeof stmt, "SET statement_timeout = %u", d->lease_ms);
  PGresult *r = PQexec(d->db_conn, stmt);
  PQclear(r);
  r = PQexec(d->db_conn, "SET client_min_messages = warning");
  PQclear(r);
  r = PQexec(d->db_conn, create_sql);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) db_log(d, "create table", PQresultErrorMessage(r));
  PQclear(r);
  if (!ok) { /* another node creating it at the same instant: try again */
    PQfinish(d->db_conn);
    return d->db_conn = NULL;
  }
  if (d->db_last_error) nodus_log(d->node, NODUS_LOG_INFO, "dsup",
                                  "%s: database connected", d->name);
  free(d->db_last_error);
  d->db_last_error = NULL;
  return d->db_conn;
}

static void db_drop(void *arg) {
  db_req *q = arg;
  free(q->id);
  free(q);
}

static void db_run(void *arg) {
  db_req *q = arg;
  nodus_dsup *d = q->d;
  bool ok = false;
  uint64_t epoch = 0;
  PGconn *c = db_conn(d);
  if (c) {
    char ms[16], ep[24];
    snprintf(ms, sizeof ms, "%u", d->lease_ms);
    snprintf(ep, sizeof ep, "%llu", (unsigned long long)q->epoch);
    /* $1 dsup, $2 child, $3 holder, then ms and epoch as each needs */
    const char *params[] = {d->name, q->id, d->db_holder, ms, ep};
    const char *sql = acquire_sql;
    int n = 4;
    if (q->op == DB_RENEW) sql = renew_sql, n = 5;
    if (q->op == DB_RELEASE) sql = release_sql, params[3] = ep;
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      ok = PQntuples(r) == 1;
      if (ok) epoch = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
      if (d->db_last_error) db_conn(d); /* clears the error */
    } else {
      db_log(d, op_names[q->op], PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  nodus_term msg;
  if (nodus_build(&msg, "{dsup_db, ~a, ~b, ~a, ~u, ~i}", op_names[q->op],
                  q->id, strlen(q->id), ok ? "true" : "false", epoch,
                  q->sent_ns) == 0) {
    /* Under the lock the process's end takes: once it has ended (the
     * node may be closing), nothing more is sent. */
    pthread_mutex_lock(&d->lock);
    if (!d->proc_ended) nodus_send(d->node, &d->pid, msg);
    else nodus_term_free(&msg);
    pthread_mutex_unlock(&d->lock);
  }
  db_drop(q);
}

int dsup_db_start(nodus_dsup *d) {
  snprintf(d->db_holder, sizeof d->db_holder, "%s/%lld",
           nodus_atom_text(d->self_node, NULL), (long long)d->started_ms);
  return dsup_worker_start(&d->db);
}

void dsup_db_stop(nodus_dsup *d) {
  dsup_worker_stop(&d->db);
  if (d->db_conn) PQfinish(d->db_conn);
  d->db_conn = NULL;
  free(d->db_last_error);
  d->db_last_error = NULL;
}

static void post(nodus_dsup *d, dsup_child *c, int op, uint64_t epoch) {
  db_req *q = calloc(1, sizeof *q);
  if (!q || !(q->id = strdup(c->id))) {
    free(q);
    return;
  }
  q->d = d;
  q->op = op;
  q->epoch = epoch;
  q->sent_ns = dsup_now_ns();
  if (op != DB_RELEASE) c->db_pending = true;
  dsup_worker_post(&d->db, db_run, db_drop, q);
}

/* Each tick: renew what we hold, ask for what placement gives us. */
void dsup_db_round(nodus_dsup *d) {
  int64_t now = dsup_now_ns();
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (c->deleted || c->db_pending || dsup_place(d, c) != d->self_node)
      continue;
    bool running = c->pid.type == NODUS_T_PID && !c->stopping;
    if (running && dsup_lease_valid(c, now))
      post(d, c, DB_RENEW, c->lease_epoch);
    else if (!running && !(dsup_lease_valid(c, now) && c->lease_epoch > c->epoch))
      post(d, c, DB_ACQUIRE, 0); /* a start needs an epoch of its own */
  }
}

void dsup_db_release(nodus_dsup *d, dsup_child *c) {
  if (c->lease_epoch) post(d, c, DB_RELEASE, c->lease_epoch);
  pthread_mutex_lock(&d->lock);
  c->lease_until_ns = 0;
  pthread_mutex_unlock(&d->lock);
}

void dsup_on_db(nodus_dsup *d, const nodus_term *msg) {
  nodus_atom op, ok;
  const nodus_term *idb;
  int64_t epoch, sent_ns;
  if (nodus_match(msg, "{dsup_db, ~a, ~t, ~a, ~i, ~i}", &op, &idb, &ok, &epoch,
                  &sent_ns))
    return;
  dsup_child *c = dsup_child_by_idbin(d, idb);
  if (!c) return;
  const char *name = nodus_atom_text(op, NULL);
  if (strcmp(name, "release")) c->db_pending = false;
  if (ok != NODUS_ATOM_TRUE || !strcmp(name, "release")) return;
  if ((uint64_t)epoch > c->max_epoch) c->max_epoch = (uint64_t)epoch;
  int64_t until = sent_ns + (int64_t)d->lease_ms * 1000000 * 89 / 100;
  pthread_mutex_lock(&d->lock);
  if (until > c->lease_until_ns) c->lease_until_ns = until;
  c->lease_epoch = (uint64_t)epoch;
  pthread_mutex_unlock(&d->lock);
}
