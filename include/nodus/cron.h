/* nodus — cluster cron: schedules, time zones and their next ticks.
 *
 * Schedules. A schedule is one of:
 *   - 5 fields, "minute hour day-of-month month day-of-week", or 6 with
 *     seconds first, "second minute hour dom month dow". Each field is
 *     `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n` or `a/n`
 *     (a to the field's end), or a comma list of those. Months take
 *     JAN..DEC, days of the week SUN..SAT (either case); day of week 0 and
 *     7 are both Sunday. As Vixie cron: when both day-of-month and
 *     day-of-week are restricted (neither starts with `*`), a day matches
 *     if EITHER does; otherwise both must (the unrestricted one always
 *     does).
 *   - a nickname: @yearly (= @annually) "0 0 1 1 *", @monthly "0 0 1 * *",
 *     @weekly "0 0 * * 0", @daily (= @midnight) "0 0 * * *", @hourly
 *     "0 * * * *".
 *   - an interval, "@every 5s" (units ms, s, m, h; combined as "1m30s";
 *     at least 10 ms): ticks at the multiples of the interval since the
 *     Unix epoch, so every node computes the same ticks; zones don't apply.
 * A bad schedule is refused when it is parsed, with the 1-based position
 * of the fault and the reason; so is one that can never match (Feb 30).
 *
 * Time zones are read from the system's tz database (TZif files under
 * $TZDIR or /usr/share/zoneinfo), UTC when none is given. Local times that
 * a change of offset skips or repeats:
 *   - skipped (spring forward): a tick whose local time falls in the gap
 *     runs once, at the first instant after the gap (02:30 on the night
 *     Europe/Berlin goes 02:00 -> 03:00 runs at 03:00 CEST). Several ticks
 *     in one gap run once together.
 *   - repeated (fall back): a local time that occurs twice runs once, at
 *     its first occurrence; during the repeated hour nothing whose local
 *     time already ran runs again. A job that must follow elapsed time
 *     through the night uses UTC or @every.
 *
 * The cluster scheduler (nodus_cron_start, below) runs jobs on these
 * schedules, once per tick on the whole cluster.
 */
#ifndef NODUS_CRON_H
#define NODUS_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus/node.h"


#ifdef __cplusplus
extern "C" {
#endif

/* ---- time zones ------------------------------------------------------- */

typedef struct nodus_tz nodus_tz;

/* Opens zone `name` ("Europe/Berlin"); NULL, "", "UTC" or "Etc/UTC" give
 * UTC. NODUS_ENOTFOUND when there is no such zone, NODUS_EINVAL for a
 * name that is not a zone name (absolute, "..", too long), NODUS_ESYNTAX
 * for a file that is not a valid TZif file. */
int nodus_tz_open(const char *name, nodus_tz **tz);
void nodus_tz_close(nodus_tz *tz);
/* The zone's name as opened ("UTC" for UTC). */
const char *nodus_tz_name(const nodus_tz *tz);
/* Offset from UTC, in seconds east, in effect at unix_s. */
int32_t nodus_tz_offset(const nodus_tz *tz, int64_t unix_s);

/* ---- schedules -------------------------------------------------------- */

typedef struct nodus_cron_expr nodus_cron_expr;

typedef struct nodus_cron_error {
  unsigned position; /* 1-based column in the text where it went wrong */
  char reason[96];
} nodus_cron_error;

/* Parses a schedule (see above). NODUS_ESYNTAX with *err filled (err may
 * be NULL), NODUS_ENOMEM. */
int nodus_cron_parse(const char *text, nodus_cron_expr **expr,
                     nodus_cron_error *err);
void nodus_cron_expr_free(nodus_cron_expr *expr);
/* True for an "@every" schedule (zones don't apply to it). */
bool nodus_cron_is_interval(const nodus_cron_expr *expr);

/* The first tick strictly after after_ms (unix ms), in zone tz (NULL:
 * UTC): 0 with *next_ms, or NODUS_ERANGE past the year 9999. */
int nodus_cron_next_after(const nodus_cron_expr *expr, const nodus_tz *tz,
                          int64_t after_ms, int64_t *next_ms);

/* unix_ms as local time in tz (NULL: UTC), "YYYY-MM-DDTHH:MM:SS+HH:MM"
 * (with ".mmm" before the offset when unix_ms has milliseconds, and ":SS"
 * after it for an offset of odd seconds, as old local mean times). The
 * length written, or NODUS_ERANGE when buf is too small (40 bytes do) or
 * the year is outside 0..9999. */
int nodus_cron_format_time(const nodus_tz *tz, int64_t unix_ms, char *buf,
                           size_t len);

/* Reads "YYYY-MM-DDTHH:MM[:SS[.mmm]]" (or a space for the T) followed by
 * "Z", "+HH:MM" or "-HH:MM"; without an offset, as local time in tz
 * (NULL: UTC), a skipped or repeated local time resolved as ticks are
 * (see above). NODUS_ESYNTAX for anything else. */
int nodus_cron_parse_time(const nodus_tz *tz, const char *text, int64_t *unix_ms);

/* ---- the cluster scheduler ------------------------------------------- */

/* nodus_cron_start runs a scheduler's jobs on the cluster: every member
 * node starts it with the same jobs, and each job's ticks run on one of
 * them. Each job has an owner, a singleton of a distributed supervisor
 * (nodus/dsup.h; quorum mode by default), and every member keeps the
 * job's records: the highest owner epoch it has seen, the last tick
 * claimed and the last tick done. An owner, on taking over, reads the
 * records of the members (raising their epoch, so they refuse every older
 * owner from then on) and goes on after the last tick claimed; each tick
 * is claimed on the members before it runs and recorded done after it
 * ran. In quorum mode reads, claims and dones need a majority
 * (quorum, or cluster_size / 2 + 1); in availability mode, the members
 * that answer within late_ms. A claim counts only at members whose
 * records this owner has read. Records live in the members' memory: a
 * member that restarts comes back without them (and is read again before
 * it counts), so a claim is remembered while a majority of the members
 * keep theirs until the next owner's read (at most a minority restarting
 * in that time).
 *
 * What that gives, per job:
 *   quorum mode        each tick runs at most once, ever, under kills,
 *                      partitions and pauses (a tick whose owner was lost
 *                      mid-run is not run again); a minority runs nothing.
 *   availability mode  at most once in each connected group of members:
 *                      during a partition each side may run a tick.
 * Failover: a lost owner's ticks go on on another member once the
 * distributed supervisor restarts its owner there (quorum mode: within
 * lease_ms; availability: on nodedown), plus one read round.
 *
 * A tick is "missed" when it could not start within late_ms of its time
 * (its owner was lost, paused or cut off; the records were slow to read).
 * The job's `missed` policy says what becomes of missed ticks; a tick
 * past starting_deadline_ms is dropped whatever the policy. Skipped,
 * missed, gated and dropped ticks are logged (component "cron").
 *
 * Runs: a C function on a thread of its own for each run, or {M, F, A}
 * by rpc on a node the job names (a BEAM node included). Every run gets
 * {job, scheduled time, epoch, attempt}: an effect keyed on (job,
 * scheduled time) in the user's store is idempotent, and one fenced by
 * the epoch is refused to a stale owner. */

typedef struct nodus_cron nodus_cron;

enum nodus_cron_mode {
  NODUS_CRON_QUORUM = 0, /* the default: at most once, ever */
  NODUS_CRON_AVAILABILITY,
};

enum nodus_cron_missed {
  NODUS_CRON_SKIP = 0,  /* drop missed ticks (each is logged) */
  NODUS_CRON_RUN_ONCE,  /* run the latest missed tick once, drop the rest */
  NODUS_CRON_ALL,       /* run each missed tick, oldest first, up to
                           max_catchup; the older ones are dropped */
};

enum nodus_cron_overlap {
  NODUS_CRON_FORBID = 0, /* a tick due while a run is running is skipped */
  NODUS_CRON_ALLOW,      /* runs may overlap */
  NODUS_CRON_REPLACE,    /* the running one is asked to stop
                            (nodus_cron_cancelled) and the new one starts */
};

/* What each run is handed. */
typedef struct nodus_cron_run {
  const char *job;
  int64_t scheduled_ms; /* the tick's time, unix ms */
  int64_t started_ms;   /* when this run started, unix ms */
  uint64_t epoch;       /* the owner's fencing epoch (nodus/dsup.h) */
  unsigned attempt;     /* 1 (a tick runs once) */
  nodus_cron *cron;
} nodus_cron_run;

/* A C job: runs on a thread of its own, may block. Its result (>= 0, or a
 * negative code for a failure) goes to `done`. */
typedef int64_t (*nodus_cron_fn)(const nodus_cron_run *run, void *arg);
/* Called on a thread once the tick's done record has been acknowledged
 * (see above), with the job's result; ok is false when it could not be
 * recorded (the owner lost its quorum meanwhile). */
typedef void (*nodus_cron_done_fn)(const nodus_cron_run *run, int64_t result,
                                   bool ok, void *arg);

typedef struct nodus_cron_job {
  const char *name;     /* unique in the scheduler; the same on every member */
  const char *schedule; /* see "Schedules" */
  const char *tz;       /* NULL: UTC */
  int missed;           /* enum nodus_cron_missed */
  unsigned max_catchup; /* NODUS_CRON_ALL: 0 = 10 */
  /* A tick not started within starting_deadline_ms of its time is
   * dropped, whatever the policy (Kubernetes' startingDeadlineSeconds).
   * 0: no deadline. */
  unsigned starting_deadline_ms;
  unsigned late_ms;     /* see "missed" above; 0 = 1000 */
  int overlap;          /* enum nodus_cron_overlap */
  /* Run nothing while fewer than min_nodes members are connected, this
   * node included (0 or 1: alone is enough). Gated ticks are logged. */
  unsigned min_nodes;
  /* Either a C function... */
  nodus_cron_fn fn;
  nodus_cron_done_fn done; /* optional */
  void *arg;
  /* ...or, with fn NULL, rpc:call(rpc_node, module, function, Args ++
   * [#{job => <<Name>>, scheduled => Ms, epoch => E, attempt => N}])
   * (rpc_node NULL: the owner itself); the result is the integer the
   * function returns (0 for another value), or NODUS_EEXIT on badrpc. */
  const char *rpc_node;
  const char *module;
  const char *function;
  const nodus_term *args; /* a list; NULL: [] */
} nodus_cron_job;

typedef struct nodus_cron_opts {
  const char *name;    /* NULL: "cron"; the same on every member */
  int mode;            /* enum nodus_cron_mode */
  /* As nodus_dsup_opts: quorum mode needs cluster_size (or quorum). */
  unsigned quorum;
  unsigned cluster_size;
  unsigned lease_ms;   /* 0 = 2000 */
  unsigned detector_ms;
  const nodus_cron_job *jobs;
  size_t n_jobs;
} nodus_cron_opts;

/* Starts this node's member of scheduler `opts->name`. Every member gives
 * the same jobs (names, schedules and policies; their functions are this
 * node's). A bad schedule or zone: NODUS_ESYNTAX / NODUS_ENOTFOUND, and
 * nothing is started (the reason is logged). */
int nodus_cron_start(nodus_node *node, const nodus_cron_opts *opts,
                     nodus_cron **cron);
/* Leaves (the jobs' schedulers move to the other members) and frees. The
 * loop must be running, as for nodus_dsup_close; runs in progress are
 * asked to stop and waited for. */
void nodus_cron_close(nodus_cron *cron);

/* For a run: true while its node still owns the job with this epoch (what
 * to ask before a side effect; see nodus_dsup_valid). */
bool nodus_cron_valid(const nodus_cron_run *run);
/* For a run: true once it has been asked to stop (overlap REPLACE, its
 * owner stopping: the job moving, the scheduler closing). */
bool nodus_cron_cancelled(const nodus_cron_run *run);

/* The jobs as this node sees them: a list of maps #{name, schedule, tz,
 * next (unix ms | undefined), last (unix ms of the last tick done |
 * undefined), owner (node | undefined), epoch}, owned by the caller. */
int nodus_cron_jobs(nodus_cron *cron, nodus_term *out);

#ifdef __cplusplus
}
#endif
#endif
