/* The cluster scheduler's insides. Internal.
 *
 * Per scheduler and node: a records process (records.c), registered as
 * nodus_cron_<name>, keeps each job's promise and last claimed and done
 * ticks; a distributed supervisor "cron_<name>" runs one owner process
 * per job (owner.c) on one member; runs happen on threads (runs.c).
 *
 * Messages to a records process ({nodus_cron_<name>, Node}); Job is a
 * binary, Epoch an integer, Ref a reference:
 *   {cron_read, ReplyTo, Ref, Job, Epoch}
 *        -> {cron_read_reply, Ref, Node, ok | stale, Claimed, Done}
 *   {cron_claim, ReplyTo, Ref, Job, Epoch, Tick}
 *        -> {cron_claim_reply, Ref, Node, ok | stale | unread}
 *   {cron_done, ReplyTo, Ref, Job, Epoch, Tick}
 *        -> {cron_done_reply, Ref, Node, ok | stale | unread}
 * A read from an epoch below the highest the member has seen for the job
 * is refused ("stale"); one at or above raises it. A claim or a done
 * counts only from exactly that epoch: "stale" below, "unread" above
 * (the member has not answered that owner's read). A tick is claimed
 * (and may run) only once enough members said ok: in quorum mode a
 * majority, so a new owner's read meets every claim that counted.
 */
#ifndef NODUS_CRON_INTERNAL_H
#define NODUS_CRON_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "cluster/cron/expr.h"
#include "nodus/cron.h"
#include "nodus/dsup.h"

#define CRON_NONE INT64_MIN /* no tick yet */

/* A tick as a term: its unix ms, or undefined for none. */
static inline nodus_term cron_tick_term(int64_t tick) {
  return tick == CRON_NONE ? nodus_atom_term(NODUS_ATOM_UNDEFINED) : nodus_int(tick);
}

/* The wall clock, unix ns: ticks are wall-clock instants. */
static inline int64_t cron_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A copy to hand to a builder (~t); NODUS_T_NONE when out of memory,
 * which makes the build fail. */
static inline nodus_term cron_copy(const nodus_term *t) {
  nodus_term c = {0};
  if (nodus_copy(&c, t)) c.type = NODUS_T_NONE;
  return c;
}

/* One job as this member knows it. */
typedef struct cron_job {
  struct nodus_cron *cron;
  nodus_cron_job spec;   /* strings and args copied */
  nodus_cron_expr *expr;
  nodus_tz *tz;
  /* The records (records.c), under cron->lock. */
  uint64_t promised;
  int64_t claimed, done;
  uint64_t done_epoch;
  /* What the owner here shows (owner.c), under cron->lock. */
  int64_t next;         /* CRON_NONE: not owned here */
  uint64_t owner_epoch; /* 0: not owned here */
} cron_job;

struct nodus_cron {
  nodus_node *node;
  char *name;
  char records_name[300]; /* nodus_cron_<name> */
  int mode;
  unsigned quorum; /* acks a claim needs in quorum mode */
  nodus_dsup *dsup;
  nodus_term records_pid;
  bool records_ended; /* its process is gone (the node closed), under lock */
  cron_job *jobs;
  size_t n_jobs;
  pthread_mutex_t lock;
  pthread_cond_t runs_done;
  unsigned runs; /* threads running, under lock */
  struct nodus_cron *next_on_node; /* the service's list (service.c) */
  struct cron_service *svc;        /* NULL once the node closed */
};

/* A run handed to a thread (runs.c); freed by the thread. */
typedef struct cron_run {
  nodus_cron_run info; /* what the job's function sees */
  cron_job *job;
  nodus_term owner;    /* the owner process, for the result */
  uint64_t id;
  atomic_bool cancelled;
  /* The done record's outcome, set by the owner (cron_run_recorded). */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int recorded; /* 0 waiting, 1 ok, -1 not recorded */
  unsigned refs; /* the thread and the owner, under lock */
} cron_run;

/* records.c */
int cron_records_start(struct nodus_cron *c);
void cron_records_stop(struct nodus_cron *c);
cron_job *cron_job_find(struct nodus_cron *c, const uint8_t *name, size_t len);

/* owner.c: the dsup kind "cron_job" */
int cron_owner_start(nodus_proc *sup, const nodus_dsup_start_info *info, void *arg,
                     nodus_term *pid);

/* runs.c */
int cron_run_start(cron_run *run);
/* The owner says whether the run's done record counted (ok) and drops
 * its reference. */
void cron_run_recorded(cron_run *run, bool ok);
void cron_run_release(cron_run *run);

/* service.c: the node's list, for nodus:cron_jobs/0 */
void cron_service_add(struct nodus_cron *c);
void cron_service_remove(struct nodus_cron *c);

#endif
