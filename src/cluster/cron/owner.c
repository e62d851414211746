/* A job's owner: the dsup child that runs the job's ticks on one member.
 *
 * Taking over, it reads the members' records (cron_internal.h) with its
 * epoch, which makes them refuse every older owner, and starts after the
 * last tick claimed anywhere it heard. Each tick is then claimed on the
 * members before it runs and recorded done after; in quorum mode both
 * need a majority, so a tick runs at most once, ever: a later owner's
 * read meets every claim that counted. Ticks it finds past (a failover,
 * a pause) are "missed" when later than late_ms, and the job's policy
 * says which of those still run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cron/cron_internal.h"
#include "nodus/error.h"

#define MAX_ROUNDS 32
#define MAX_RUNNING 32
#define MAX_CATCHUP 64
#define SCAN_LIMIT 100000 /* ticks looked at in one catch-up */

enum { ROUND_READ, ROUND_CLAIM, ROUND_DONE };

typedef struct round {
  bool used;
  int kind;
  nodus_term ref;
  int64_t tick;
  cron_run *run; /* ROUND_DONE: not owned (the running list owns it) */
  unsigned asked, answered, ok;
  bool stale, unread;
  int64_t max_claimed; /* ROUND_READ */
} round;

typedef struct owner {
  cron_job *job;
  struct nodus_cron *c;
  nodus_dsup *dsup;
  uint64_t epoch;
  bool ready;
  int64_t last; /* the last tick claimed, as far as this owner knows */
  nodus_term timer;
  round rounds[MAX_ROUNDS];
  cron_run *running[MAX_RUNNING];
  unsigned n_running;
  unsigned claiming; /* claim rounds in flight: runs about to start */
  bool rereading;    /* a read round again, for members that said unread */
  uint64_t run_ids;
} owner;

static int64_t now_ms(void) { return cron_now_ns() / 1000000; }

static void say(owner *o, int level, const char *fmt, int64_t tick, const char *why) {
  nodus_log(o->c->node, level, "cron", "job %s tick %" PRId64 " epoch %" PRIu64 ": %s %s",
            o->job->spec.name, tick, o->epoch, fmt, why ? why : "");
}

static unsigned late_ms(const owner *o) { return o->job->spec.late_ms ? o->job->spec.late_ms : 1000; }

/* ---- rounds: one message to every member, the answers counted -------- */

static unsigned needed(const owner *o, const round *r) {
  return o->c->mode == NODUS_CRON_QUORUM ? o->c->quorum : r->asked;
}

static void round_end(nodus_proc *self, owner *o, round *r, bool ok);

static int round_start(nodus_proc *self, owner *o, int kind, int64_t tick, cron_run *run) {
  round *r = NULL;
  for (int i = 0; i < MAX_ROUNDS && !r; i++)
    if (!o->rounds[i].used) r = &o->rounds[i];
  if (!r) return NODUS_EBUSY;
  nodus_term members = {0};
  if (nodus_dsup_members(o->dsup, &members) ||
      nodus_make_ref(o->c->node, &r->ref)) {
    nodus_term_free(&members);
    return NODUS_ENOMEM;
  }
  r->used = true, r->kind = kind, r->tick = tick, r->run = run;
  r->asked = r->answered = r->ok = 0, r->stale = r->unread = false, r->max_claimed = CRON_NONE;
  static const char *const cmd[] = {"cron_read", "cron_claim", "cron_done"};
  const char *job = o->job->spec.name;
  for (size_t i = 0; i < nodus_size(&members); i++) {
    const nodus_term *node = nodus_list_item(&members, i);
    nodus_term to, msg;
    if (nodus_build(&to, "{~a, ~t}", o->c->records_name, cron_copy(node))) continue;
    int rc = kind == ROUND_READ
                 ? nodus_build(&msg, "{~a, ~t, ~t, ~b, ~u}", cmd[kind], cron_copy(nodus_self(self)),
                               cron_copy(&r->ref), job, strlen(job), o->epoch)
                 : nodus_build(&msg, "{~a, ~t, ~t, ~b, ~u, ~i}", cmd[kind],
                               cron_copy(nodus_self(self)), cron_copy(&r->ref), job,
                               strlen(job), o->epoch, tick);
    if (!rc && !nodus_send_from(self, &to, msg)) r->asked++;
    nodus_term_free(&to);
  }
  nodus_term_free(&members);
  /* A round waits at most late_ms (a claim that late is a missed tick). */
  nodus_term t;
  if (!nodus_build(&t, "{cron_round_timeout, ~t}", cron_copy(&r->ref)))
    nodus_send_after(self, late_ms(o), nodus_self(self), t, NULL);
  if (r->asked == 0) round_end(self, o, r, false);
  return 0;
}

static round *round_find(owner *o, const nodus_term *ref) {
  for (int i = 0; i < MAX_ROUNDS; i++)
    if (o->rounds[i].used && nodus_compare(&o->rounds[i].ref, ref) == 0) return &o->rounds[i];
  return NULL;
}

static void on_answer(nodus_proc *self, owner *o, const nodus_term *ref, nodus_atom verdict,
                      const nodus_term *claimed) {
  round *r = round_find(o, ref);
  if (!r) return;
  r->answered++;
  if (verdict == NODUS_ATOM_OK) r->ok++;
  else if (!strcmp(nodus_atom_text(verdict, NULL), "unread")) r->unread = true;
  else r->stale = true;
  if (claimed && claimed->type == NODUS_T_INT &&
      (r->max_claimed == CRON_NONE || claimed->v.i > r->max_claimed))
    r->max_claimed = claimed->v.i;
  if (r->stale) round_end(self, o, r, false);
  else if (r->ok >= needed(o, r)) round_end(self, o, r, true);
  else if (r->answered == r->asked) round_end(self, o, r, false);
}

static void on_timeout(nodus_proc *self, owner *o, const nodus_term *ref) {
  round *r = round_find(o, ref);
  if (!r) return;
  /* Availability mode counts whoever answered in time. */
  round_end(self, o, r, o->c->mode == NODUS_CRON_AVAILABILITY && r->ok > 0 && !r->stale);
}

/* ---- ticks --------------------------------------------------------- */

static void publish(owner *o, int64_t next) {
  pthread_mutex_lock(&o->c->lock);
  o->job->next = next;
  o->job->owner_epoch = o->epoch;
  pthread_mutex_unlock(&o->c->lock);
}

/* The timer counts whole ms from the loop's cached clock, which lags:
 * rounded up here, and checked again when it fires (a tick never starts
 * before its time). */
static void arm(nodus_proc *self, owner *o, int64_t tick) {
  nodus_term msg;
  int64_t delay = (tick * 1000000 - cron_now_ns() + 999999) / 1000000;
  publish(o, tick);
  if (!nodus_build(&msg, "{cron_tick, ~i}", tick))
    nodus_send_after(self, delay > 0 ? (unsigned)delay : 0, nodus_self(self), msg, NULL);
}

static unsigned members_seen(owner *o) {
  nodus_term m = {0};
  unsigned n = nodus_dsup_members(o->dsup, &m) ? 1 : (unsigned)nodus_size(&m);
  nodus_term_free(&m);
  return n;
}

/* Claims `tick` to run it, unless a rule says no (logged). */
static void fire(nodus_proc *self, owner *o, int64_t tick) {
  const nodus_cron_job *s = &o->job->spec;
  int64_t late = now_ms() - tick;
  if (!nodus_dsup_valid(o->dsup, s->name, o->epoch)) {
    say(o, NODUS_LOG_WARN, "skipped:", tick, "not the owner any more");
    return;
  }
  if (s->min_nodes > 1 && members_seen(o) < s->min_nodes) {
    say(o, NODUS_LOG_INFO, "gated:", tick, "fewer members than min_nodes");
    return;
  }
  if (s->starting_deadline_ms && late > (int64_t)s->starting_deadline_ms) {
    say(o, NODUS_LOG_INFO, "dropped:", tick, "past its starting deadline");
    return;
  }
  if (o->n_running + o->claiming && s->overlap == NODUS_CRON_FORBID) {
    say(o, NODUS_LOG_INFO, "skipped:", tick, "the previous run is still running (forbid)");
    return;
  }
  if (o->n_running && s->overlap == NODUS_CRON_REPLACE)
    for (unsigned i = 0; i < o->n_running; i++) atomic_store(&o->running[i]->cancelled, true);
  o->claiming++;
  if (round_start(self, o, ROUND_CLAIM, tick, NULL)) {
    o->claiming--;
    say(o, NODUS_LOG_WARN, "skipped:", tick, "too many rounds in flight");
  }
}

/* Every tick after `after` that is due now, by the missed policy, then
 * a timer for the first one to come. */
static void schedule(nodus_proc *self, owner *o, int64_t after) {
  const nodus_cron_job *s = &o->job->spec;
  int64_t now = now_ms(), t = after, missed_first = CRON_NONE, missed_last = CRON_NONE;
  int64_t catchup[MAX_CATCHUP];
  unsigned cap = s->missed == NODUS_CRON_ALL ? (s->max_catchup ? s->max_catchup : 10)
                 : s->missed == NODUS_CRON_RUN_ONCE ? 1 : 0;
  if (cap > MAX_CATCHUP) cap = MAX_CATCHUP;
  unsigned n_catchup = 0, n_missed = 0, scanned = 0;
  for (;;) {
    int64_t next;
    if (nodus_cron_next_after(o->job->expr, o->job->tz, t, &next)) {
      publish(o, CRON_NONE);
      return; /* no tick before the year 10000 */
    }
    if (next > now) {
      t = next;
      break;
    }
    if (now - next <= (int64_t)late_ms(o)) {
      fire(self, o, next); /* late, but within late_ms: on time */
    } else {
      if (missed_first == CRON_NONE) missed_first = next;
      missed_last = next, n_missed++;
      if (cap) { /* keep the newest `cap` */
        if (n_catchup == cap) memmove(catchup, catchup + 1, (cap - 1) * sizeof *catchup), n_catchup--;
        catchup[n_catchup++] = next;
      }
    }
    t = next;
    if (++scanned == SCAN_LIMIT) { /* a long gap of a fast schedule */
      t = now - late_ms(o);
      n_catchup = 0;
      continue;
    }
  }
  if (n_missed) {
    char why[160];
    snprintf(why, sizeof why, "%u tick(s) missed, %" PRId64 "..%" PRId64 "; %u run late",
             n_missed, missed_first, missed_last, n_catchup);
    say(o, NODUS_LOG_WARN, "missed:", missed_last, why);
    for (unsigned i = 0; i < n_catchup; i++) fire(self, o, catchup[i]);
  }
  arm(self, o, t);
}

/* ---- runs ---------------------------------------------------------- */

static void run_claimed(nodus_proc *self, owner *o, int64_t tick) {
  if (tick > o->last || o->last == CRON_NONE) o->last = tick;
  if (o->n_running == MAX_RUNNING) {
    say(o, NODUS_LOG_WARN, "not run:", tick, "too many runs at once");
    return;
  }
  cron_run *run = calloc(1, sizeof *run);
  if (!run) return;
  run->job = o->job;
  run->info.job = o->job->spec.name;
  run->info.scheduled_ms = tick;
  run->info.started_ms = now_ms();
  run->info.epoch = o->epoch;
  run->info.attempt = 1;
  run->info.cron = o->c;
  run->owner = cron_copy(nodus_self(self));
  run->id = ++o->run_ids;
  run->refs = 2;
  pthread_mutex_init(&run->lock, NULL);
  pthread_cond_init(&run->cond, NULL);
  if (cron_run_start(run)) {
    run->refs = 1;
    cron_run_release(run);
    say(o, NODUS_LOG_ERROR, "not run:", tick, "no thread");
    return;
  }
  o->running[o->n_running++] = run;
}

static cron_run *running_take(owner *o, uint64_t id) {
  for (unsigned i = 0; i < o->n_running; i++)
    if (o->running[i]->id == id) {
      cron_run *run = o->running[i];
      o->running[i] = o->running[--o->n_running];
      return run;
    }
  return NULL;
}

static void round_end(nodus_proc *self, owner *o, round *r, bool ok) {
  int kind = r->kind;
  int64_t tick = r->tick, max_claimed = r->max_claimed;
  cron_run *run = r->run;
  bool stale = r->stale, unread = r->unread;
  nodus_term_free(&r->ref);
  r->used = false;
  /* A member that had not answered this owner's read (away, or restarted
   * and forgot): read again, so it counts from the next tick on. */
  if (unread && o->ready && !o->rereading) {
    o->rereading = true;
    if (round_start(self, o, ROUND_READ, 0, NULL)) o->rereading = false;
  }
  switch (kind) {
  case ROUND_READ:
    if (o->ready) { /* a read again: only what it learnt */
      o->rereading = false;
      if (ok && max_claimed != CRON_NONE && (o->last == CRON_NONE || max_claimed > o->last))
        o->last = max_claimed;
      return;
    }
    if (!ok) {
      nodus_term msg = nodus_atom_term(NODUS_ATOM_UNDEFINED);
      if (!nodus_mk_atom(&msg, "cron_read_again"))
        nodus_send_after(self, late_ms(o), nodus_self(self), msg, NULL);
      return;
    }
    o->ready = true;
    o->last = max_claimed;
    /* A job no member has claimed a tick of starts with the next one. */
    schedule(self, o, o->last != CRON_NONE ? o->last : now_ms());
    return;
  case ROUND_CLAIM:
    o->claiming--;
    if (ok) run_claimed(self, o, tick);
    else say(o, NODUS_LOG_WARN, "not run:", tick,
             stale ? "a newer owner has taken over"
             : unread ? "the claim got no quorum (members to read again)"
                      : "the claim got no quorum");
    return;
  case ROUND_DONE:
    if (!ok) say(o, NODUS_LOG_WARN, "ran, but", tick, "its done record got no quorum");
    cron_run_recorded(run, ok);
    return;
  }
}

/* ---- the process ----------------------------------------------------- */

static void on_message(nodus_proc *self, const nodus_term *msg) {
  owner *o = nodus_proc_state(self);
  const nodus_term *ref, *claimed, *done;
  nodus_atom node, verdict;
  int64_t tick, result, id;
  if (!nodus_match(msg, "{cron_read_reply, ~t, ~a, ~a, ~t, ~t}", &ref, &node, &verdict,
                   &claimed, &done)) {
    on_answer(self, o, ref, verdict, claimed);
  } else if (!nodus_match(msg, "{cron_claim_reply, ~t, ~a, ~a}", &ref, &node, &verdict) ||
             !nodus_match(msg, "{cron_done_reply, ~t, ~a, ~a}", &ref, &node, &verdict)) {
    on_answer(self, o, ref, verdict, NULL);
  } else if (!nodus_match(msg, "{cron_round_timeout, ~t}", &ref)) {
    on_timeout(self, o, ref);
  } else if (!nodus_match(msg, "{cron_tick, ~i}", &tick)) {
    if (o->ready && cron_now_ns() < tick * 1000000) {
      arm(self, o, tick); /* early: the timer's clock lags the wall clock */
    } else if (o->ready) {
      fire(self, o, tick);
      schedule(self, o, tick);
    }
  } else if (!nodus_match(msg, "{cron_ran, ~i, ~i}", &id, &result)) {
    cron_run *run = running_take(o, (uint64_t)id);
    if (run && round_start(self, o, ROUND_DONE, run->info.scheduled_ms, run))
      cron_run_recorded(run, false);
  } else if (nodus_is_atom(msg, "cron_read_again")) {
    if (!o->ready && round_start(self, o, ROUND_READ, 0, NULL))
      say(o, NODUS_LOG_ERROR, "cannot read the records", 0, NULL);
  }
}

static void on_start(nodus_proc *self) {
  owner *o = nodus_proc_state(self);
  publish(o, CRON_NONE);
  if (round_start(self, o, ROUND_READ, 0, NULL))
    say(o, NODUS_LOG_ERROR, "cannot read the records", 0, NULL);
}

/* Stopped by its supervisor (moved, lost its lease, closing): runs in
 * progress are asked to stop, and their done records will not count. */
static void on_exit_(nodus_proc *self, const nodus_term *reason) {
  (void)reason;
  owner *o = nodus_proc_state(self);
  for (unsigned i = 0; i < o->n_running; i++) {
    atomic_store(&o->running[i]->cancelled, true);
    cron_run_recorded(o->running[i], false);
  }
  for (int i = 0; i < MAX_ROUNDS; i++)
    if (o->rounds[i].used) {
      if (o->rounds[i].kind == ROUND_DONE) cron_run_recorded(o->rounds[i].run, false);
      nodus_term_free(&o->rounds[i].ref);
    }
  pthread_mutex_lock(&o->c->lock);
  if (o->job->owner_epoch == o->epoch) o->job->next = CRON_NONE, o->job->owner_epoch = 0;
  pthread_mutex_unlock(&o->c->lock);
  free(o);
}

int cron_owner_start(nodus_proc *sup, const nodus_dsup_start_info *info, void *arg,
                     nodus_term *pid) {
  struct nodus_cron *c = arg;
  cron_job *job = cron_job_find(c, (const uint8_t *)info->id, strlen(info->id));
  if (!job) return NODUS_ENOTFOUND;
  owner *o = calloc(1, sizeof *o);
  if (!o) return NODUS_ENOMEM;
  o->job = job, o->c = c, o->dsup = info->dsup, o->epoch = info->epoch, o->last = CRON_NONE;
  nodus_proc_spec spec = {.on_message = on_message, .on_start = on_start, .on_exit = on_exit_,
                          .state = o};
  int rc = nodus_spawn_from(sup, &spec, true, pid);
  if (rc) free(o);
  return rc;
}
