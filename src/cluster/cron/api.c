/* The scheduler's public calls: start (every schedule and zone checked
 * before anything runs), close, and what runs and callers may ask. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cron/cron_internal.h"
#include "nodus/error.h"
#include "nodus/supervisor.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void job_free(cron_job *j) {
  free((char *)j->spec.name);
  free((char *)j->spec.schedule);
  free((char *)j->spec.tz);
  free((char *)j->spec.rpc_node);
  free((char *)j->spec.module);
  free((char *)j->spec.function);
  if (j->spec.args) {
    nodus_term_free((nodus_term *)j->spec.args);
    free((nodus_term *)j->spec.args);
  }
  nodus_cron_expr_free(j->expr);
  nodus_tz_close(j->tz);
}

static void cron_free(nodus_cron *c) {
  for (size_t i = 0; i < c->n_jobs; i++) job_free(&c->jobs[i]);
  free(c->jobs);
  free(c->name);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->runs_done);
  free(c);
}

/* A job's schedule and zone, checked; the reason logged when wrong. */
static int job_init(nodus_node *node, cron_job *j, const nodus_cron_job *spec) {
  nodus_cron_error err;
  if (!spec->name || !spec->name[0] || !spec->schedule ||
      (!spec->fn && (!spec->module || !spec->function)))
    return NODUS_EINVAL;
  int rc = nodus_cron_parse(spec->schedule, &j->expr, &err);
  if (rc == NODUS_ESYNTAX)
    nodus_log(node, NODUS_LOG_ERROR, "cron", "job %s: schedule \"%s\", column %u: %s",
              spec->name, spec->schedule, err.position, err.reason);
  if (rc) return rc;
  if ((rc = nodus_tz_open(spec->tz, &j->tz))) {
    nodus_log(node, NODUS_LOG_ERROR, "cron", "job %s: zone \"%s\": %s", spec->name, spec->tz,
              rc == NODUS_ENOTFOUND ? "no such zone in the tz database" : nodus_strerror(rc));
    return rc;
  }
  j->spec = *spec;
  j->spec.name = strdup(spec->name);
  j->spec.schedule = strdup(spec->schedule);
  j->spec.tz = dup_or_null(spec->tz);
  j->spec.rpc_node = dup_or_null(spec->rpc_node);
  j->spec.module = dup_or_null(spec->module);
  j->spec.function = dup_or_null(spec->function);
  j->spec.args = NULL;
  if (spec->args) {
    nodus_term *a = malloc(sizeof *a);
    if (!a) return NODUS_ENOMEM;
    *a = cron_copy(spec->args);
    j->spec.args = a;
  }
  if (!j->spec.name || !j->spec.schedule) return NODUS_ENOMEM;
  j->promised = 0, j->claimed = j->done = j->next = CRON_NONE;
  return 0;
}

int nodus_cron_start(nodus_node *node, const nodus_cron_opts *opts, nodus_cron **out) {
  if (!node || !opts || !out || (opts->n_jobs && !opts->jobs)) return NODUS_EINVAL;
  if (opts->mode == NODUS_CRON_QUORUM && !opts->quorum && !opts->cluster_size)
    return NODUS_EINVAL;
  nodus_cron *c = calloc(1, sizeof *c);
  if (!c) return NODUS_ENOMEM;
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->runs_done, NULL);
  c->node = node;
  c->name = strdup(opts->name ? opts->name : "cron");
  c->mode = opts->mode;
  c->quorum = opts->quorum ? opts->quorum : opts->cluster_size / 2 + 1;
  c->jobs = calloc(opts->n_jobs ? opts->n_jobs : 1, sizeof *c->jobs);
  int rc = c->name && c->jobs ? 0 : NODUS_ENOMEM;
  if (!rc && strlen(c->name) > 200) rc = NODUS_EINVAL;
  for (size_t i = 0; !rc && i < opts->n_jobs; i++) {
    c->jobs[i].cron = c;
    rc = job_init(node, &c->jobs[i], &opts->jobs[i]);
    c->n_jobs = i + 1;
    for (size_t k = 0; !rc && k < i; k++)
      if (!strcmp(c->jobs[k].spec.name, opts->jobs[i].name)) rc = NODUS_EEXIST;
  }
  if (rc) {
    cron_free(c);
    return rc;
  }
  snprintf(c->records_name, sizeof c->records_name, "nodus_cron_%s", c->name);
  if ((rc = cron_records_start(c))) {
    cron_free(c);
    return rc;
  }
  char dsup_name[256];
  snprintf(dsup_name, sizeof dsup_name, "cron_%s", c->name);
  nodus_dsup_kind kind = {.name = "cron_job", .start = cron_owner_start, .arg = c};
  nodus_dsup_opts d = {.name = dsup_name,
                       .mode = opts->mode == NODUS_CRON_AVAILABILITY ? NODUS_DSUP_AVAILABILITY
                                                                     : NODUS_DSUP_QUORUM,
                       .kinds = &kind,
                       .n_kinds = 1,
                       .quorum = opts->quorum,
                       .cluster_size = opts->cluster_size,
                       .lease_ms = opts->lease_ms,
                       .detector_ms = opts->detector_ms};
  if ((rc = nodus_dsup_start(node, &d, &c->dsup))) {
    cron_records_stop(c);
    cron_free(c);
    return rc;
  }
  for (size_t i = 0; !rc && i < c->n_jobs; i++) {
    nodus_dsup_child_spec child = {.id = c->jobs[i].spec.name, .kind = "cron_job",
                                   .restart = NODUS_PERMANENT};
    rc = nodus_dsup_start_child(c->dsup, &child);
  }
  if (rc) {
    nodus_cron_close(c);
    return rc;
  }
  cron_service_add(c);
  *out = c;
  return 0;
}

void nodus_cron_close(nodus_cron *c) {
  if (!c) return;
  cron_service_remove(c); /* first: nodus:cron_jobs/0 no longer sees it */
  nodus_dsup_close(c->dsup); /* the owners stop: their runs are cancelled */
  pthread_mutex_lock(&c->lock);
  while (c->runs) pthread_cond_wait(&c->runs_done, &c->lock);
  pthread_mutex_unlock(&c->lock);
  cron_records_stop(c);
  cron_free(c);
}

bool nodus_cron_valid(const nodus_cron_run *run) {
  return run && nodus_dsup_valid(run->cron->dsup, run->job, run->epoch);
}

bool nodus_cron_cancelled(const nodus_cron_run *run) {
  return run && atomic_load(&((const cron_run *)(const void *)run)->cancelled);
}

static nodus_term text_term(const char *s) {
  nodus_term t = {0};
  if (!s || nodus_mk_binary(&t, s, strlen(s))) return nodus_atom_term(NODUS_ATOM_UNDEFINED);
  return t;
}

/* Where each job's owner runs, as the supervisor sees it. */
static nodus_term owner_of(const nodus_term *children, const char *job) {
  for (size_t i = 0; children && i < nodus_size(children); i++) {
    const nodus_term *id, *where, *pid;
    int64_t epoch;
    const uint8_t *p;
    size_t len, bits;
    if (nodus_match(nodus_list_item(children, i), "{~t, ~t, ~i, ~t}", &id, &where, &epoch, &pid))
      continue;
    p = nodus_bin_data(id, &len, &bits);
    if (p && len == strlen(job) && !memcmp(p, job, len)) return cron_copy(where);
  }
  return nodus_atom_term(NODUS_ATOM_UNDEFINED);
}

int nodus_cron_jobs(nodus_cron *c, nodus_term *out) {
  if (!c || !out) return NODUS_EINVAL;
  nodus_term children = {0};
  (void)nodus_dsup_which_children(c->dsup, &children);
  int rc = nodus_mk_list(out, c->n_jobs);
  int64_t now = cron_now_ns() / 1000000;
  for (size_t i = 0; !rc && i < c->n_jobs; i++) {
    cron_job *j = &c->jobs[i];
    pthread_mutex_lock(&c->lock);
    int64_t next = j->next, done = j->done, claimed = j->claimed;
    uint64_t epoch = j->owner_epoch ? j->owner_epoch : j->done_epoch;
    pthread_mutex_unlock(&c->lock);
    if (next == CRON_NONE && nodus_cron_next_after(j->expr, j->tz, now, &next)) next = CRON_NONE;
    nodus_term m;
    rc = nodus_build(&m, "#{name => ~t, schedule => ~t, tz => ~t, next => ~t, last => ~t, "
                         "claimed => ~t, owner => ~t, epoch => ~u}",
                     text_term(j->spec.name), text_term(j->spec.schedule),
                     text_term(j->spec.tz ? j->spec.tz : "UTC"), cron_tick_term(next),
                     cron_tick_term(done), cron_tick_term(claimed), owner_of(&children, j->spec.name),
                     epoch);
    if (!rc) nodus_list_set(out, i, m);
  }
  nodus_term_free(&children);
  if (rc) nodus_term_free(out);
  return rc;
}
