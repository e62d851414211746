/* The cluster scheduler on loopback, nodes of this process around a
 * private epmd: a job every 200 ms runs each tick once, on one node, at
 * its time; after its owner's node is lost the ticks go on elsewhere with
 * a higher epoch and no tick runs twice (quorum mode); `forbid` never
 * lets runs overlap and skips the ticks due meanwhile; `replace` asks
 * the running one to stop; after a failover with late_ms short enough to
 * miss ticks, skip runs none of them, run_once the latest, all the last
 * max_catchup; min_nodes 2 runs nothing on a lone node; an
 * {M, F, A} job runs by rpc; a bad schedule or zone refuses the start. */
#define N_NODES 15
#include "dsup_harness.h"

/* Every run of every job, as the job functions saw them. */
#define MAX_RUNS 4096
typedef struct run_rec {
  char job[16];
  int64_t scheduled, started_wall;
  uint64_t epoch;
  int node;
} run_rec;
static run_rec runs[MAX_RUNS];
static int n_runs;
static pthread_mutex_t runs_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int concurrent, max_concurrent, cancelled_seen, done_ok;

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void record(const nodus_cron_run *run, int node) {
  pthread_mutex_lock(&runs_lock);
  if (n_runs < MAX_RUNS) {
    run_rec *r = &runs[n_runs++];
    snprintf(r->job, sizeof r->job, "%s", run->job);
    r->scheduled = run->scheduled_ms, r->started_wall = run->started_ms;
    r->epoch = run->epoch, r->node = node;
  }
  pthread_mutex_unlock(&runs_lock);
}

/* arg: the node index, as an int in the pointer. */
static int64_t quick_job(const nodus_cron_run *run, void *arg) {
  record(run, (int)(intptr_t)arg);
  return 0;
}

static int64_t slow_job(const nodus_cron_run *run, void *arg) {
  int now = atomic_fetch_add(&concurrent, 1) + 1;
  int seen = atomic_load(&max_concurrent);
  while (now > seen && !atomic_compare_exchange_weak(&max_concurrent, &seen, now)) {}
  record(run, (int)(intptr_t)arg);
  for (int i = 0; i < 70 && !nodus_cron_cancelled(run); i++) usleep(5000); /* 350 ms */
  if (nodus_cron_cancelled(run)) atomic_fetch_add(&cancelled_seen, 1);
  atomic_fetch_sub(&concurrent, 1);
  return 0;
}

static void done_cb(const nodus_cron_run *run, int64_t result, bool ok, void *arg) {
  (void)run, (void)result, (void)arg;
  if (ok) atomic_fetch_add(&done_ok, 1);
}

static int count_runs(const char *job) {
  int n = 0;
  pthread_mutex_lock(&runs_lock);
  for (int i = 0; i < n_runs; i++) n += !strcmp(runs[i].job, job);
  pthread_mutex_unlock(&runs_lock);
  return n;
}

static int cmp_rec(const void *a, const void *b) {
  const run_rec *x = a, *y = b;
  return x->scheduled < y->scheduled ? -1 : x->scheduled > y->scheduled;
}

/* The runs of `job`, by scheduled time, into out (returns how many). */
static int runs_of(const char *job, run_rec *out, int max) {
  int n = 0;
  pthread_mutex_lock(&runs_lock);
  for (int i = 0; i < n_runs && n < max; i++)
    if (!strcmp(runs[i].job, job)) out[n++] = runs[i];
  pthread_mutex_unlock(&runs_lock);
  qsort(out, (size_t)n, sizeof *out, cmp_rec);
  return n;
}

static nodus_cron *start_cron(int i, const char *name, nodus_cron_opts *o,
                              nodus_cron_job *job) {
  job->arg = (void *)(intptr_t)i;
  o->name = name;
  o->jobs = job;
  o->n_jobs = 1;
  nodus_cron *c = NULL;
  CHECK_RC(nodus_cron_start(nodes[i], o, &c), 0);
  return c;
}

/* Quorum mode on nodes 0..2: each tick once, on time, then failover. */
static void every_tick_once(void) {
  nodus_cron *cs[3] = {0};
  nodus_cron_job job = {.name = "tick", .schedule = "@every 200ms", .fn = quick_job,
                        .done = done_cb};
  nodus_cron_opts o = {.mode = NODUS_CRON_QUORUM, .cluster_size = 3, .lease_ms = 1000};
  for (int i = 0; i < 3; i++) cs[i] = start_cron(i, "q", &o, &job);
  CHECK(EVENTUALLY(count_runs("tick") >= 10, 6000));
  static run_rec r[MAX_RUNS];
  int n = runs_of("tick", r, MAX_RUNS), owner = n ? r[n - 1].node : -1;
  bool multiples = true, consecutive = true, one_node = true, prompt = true;
  for (int i = 0; i < n; i++) {
    multiples &= r[i].scheduled % 200 == 0;
    one_node &= r[i].node == owner && r[i].epoch == r[0].epoch;
    if (i) consecutive &= r[i].scheduled == r[i - 1].scheduled + 200;
    /* Once running, ticks start within 50 ms of their time. */
    if (i >= 2) prompt &= r[i].started_wall - r[i].scheduled < 50;
  }
  CHECK(multiples && consecutive && one_node && prompt);
  if (!(multiples && consecutive && one_node && prompt))
    for (int i = 0; i < n; i++)
      fprintf(stderr, "  run %lld started %+lld node %d epoch %llu\n", (long long)r[i].scheduled,
              (long long)(r[i].started_wall - r[i].scheduled), r[i].node,
              (unsigned long long)r[i].epoch);
  CHECK(EVENTUALLY(atomic_load(&done_ok) >= n - 1, 2000));

  /* The owner shows its job: next tick to come, last done, itself. */
  nodus_term l = {0};
  const nodus_term *who = NULL;
  int64_t next = 0, last = 0;
  CHECK_RC(nodus_cron_jobs(cs[owner], &l), 0);
  CHECK(l.type == NODUS_T_LIST && l.n == 1 &&
        !nodus_match(&l.v.items[0], "#{name => <<\"tick\">>, next => ~i, last => ~i, owner => ~t}",
                     &next, &last, &who));
  CHECK(next > wall_ms() - 200 && last >= r[0].scheduled);
  CHECK(who && who->type == NODUS_T_ATOM && who->v.atom == nodus_node_name(nodes[owner]));
  nodus_term_free(&l);

  /* Lose the owner's node: the ticks go on elsewhere, none twice. */
  int before = count_runs("tick");
  int64_t lost_at = wall_ms();
  nodus_node_close(nodes[owner]);
  nodes[owner] = NULL;
  nodus_cron_close(cs[owner]); /* after its node: only frees */
  cs[owner] = NULL;
  CHECK(EVENTUALLY(count_runs("tick") >= before + 5, 8000));
  n = runs_of("tick", r, MAX_RUNS);
  bool unique = true, later_epoch = true, moved = false;
  int64_t longest_gap = 0;
  for (int i = 1; i < n; i++) {
    unique &= r[i].scheduled != r[i - 1].scheduled;
    if (r[i].node != owner) moved = true, later_epoch &= r[i].epoch > r[0].epoch;
    if (r[i].scheduled - r[i - 1].scheduled > longest_gap)
      longest_gap = r[i].scheduled - r[i - 1].scheduled;
  }
  CHECK(unique && moved && later_epoch);
  /* The lease (1000 ms) runs out, a member takes over and reads: the
   * ticks missed meanwhile are skipped (the default). */
  CHECK(longest_gap <= 2400);
  printf("quorum: %d runs, longest gap %lld ms across the owner's loss (%lld ms ago)\n", n,
         (long long)longest_gap, (long long)(wall_ms() - lost_at));
  for (int i = 0; i < 3; i++) nodus_cron_close(cs[i]);
}

/* Quorum mode on nodes base..base+2, ticks every 200 ms missed for
 * late_ms 100 across the owner's loss (a lease of 1000 ms): the ticks of
 * the new owner that started more than late_ms after their time are the
 * catch-ups, and the policy says how many. */
static void missed_policy(int base, const char *name, int policy, unsigned max_catchup,
                          int want) {
  nodus_cron *cs[3] = {0};
  nodus_cron_job job = {.name = name, .schedule = "@every 200ms", .fn = quick_job,
                        .missed = policy, .max_catchup = max_catchup, .late_ms = 100,
                        .overlap = NODUS_CRON_ALLOW};
  nodus_cron_opts o = {.mode = NODUS_CRON_QUORUM, .cluster_size = 3, .lease_ms = 1000};
  for (int i = 0; i < 3; i++) cs[i] = start_cron(base + i, name, &o, &job);
  CHECK(EVENTUALLY(count_runs(name) >= 3, 6000));
  static run_rec r[MAX_RUNS];
  int n = runs_of(name, r, MAX_RUNS), owner = n ? r[n - 1].node - base : 0;
  int before = n;
  nodus_node_close(nodes[base + owner]);
  nodes[base + owner] = NULL;
  nodus_cron_close(cs[owner]);
  cs[owner] = NULL;
  CHECK(EVENTUALLY(count_runs(name) >= before + want + 3, 8000));
  n = runs_of(name, r, MAX_RUNS);
  /* The catch-ups: the new owner's runs of ticks already past when it
   * took over (its first run), by more than late_ms. */
  int catchups = 0;
  int64_t takeover = INT64_MAX;
  bool unique = true;
  for (int i = 0; i < n; i++)
    if (r[i].node != base + owner && r[i].started_wall < takeover) takeover = r[i].started_wall;
  for (int i = 0; i < n; i++) {
    if (i) unique &= r[i].scheduled != r[i - 1].scheduled;
    if (r[i].node != base + owner && r[i].scheduled < takeover - 100) catchups++;
  }
  printf("missed %s: %d catch-up runs after the failover (want %d)\n", name, catchups, want);
  CHECK(unique && catchups == want);
  for (int i = 0; i < 3; i++) nodus_cron_close(cs[i]);
}

/* Availability on node 3 alone: forbid, then replace. */
static void overlap(void) {
  nodus_cron *cs[1] = {0};
  nodus_cron_job job = {.name = "slow", .schedule = "@every 100ms", .fn = slow_job};
  nodus_cron_opts o = {.mode = NODUS_CRON_AVAILABILITY};
  cs[0] = start_cron(3, "f", &o, &job);
  CHECK(EVENTUALLY(count_runs("slow") >= 4, 5000));
  nodus_cron_close(cs[0]);
  CHECK(atomic_load(&max_concurrent) == 1);
  static run_rec r[MAX_RUNS];
  int n = runs_of("slow", r, MAX_RUNS);
  bool spaced = true; /* a run takes 350 ms: at least 3 ticks skipped */
  for (int i = 1; i < n; i++) spaced &= r[i].scheduled - r[i - 1].scheduled >= 400;
  CHECK(n >= 4 && spaced);
  CHECK(atomic_load(&cancelled_seen) >= 1); /* the last one, as its owner closed */

  atomic_store(&cancelled_seen, 0);
  atomic_store(&max_concurrent, 0);
  nodus_cron_job rep = {.name = "rep", .schedule = "@every 100ms", .fn = slow_job,
                        .overlap = NODUS_CRON_REPLACE};
  cs[0] = start_cron(3, "r", &o, &rep);
  CHECK(EVENTUALLY(atomic_load(&cancelled_seen) >= 3, 5000));
  nodus_cron_close(cs[0]);
}

/* True once node i's scheduler shows itself as the owner of its job
 * and a next tick. */
static bool owned_here(nodus_cron *c, int i) {
  nodus_term l = {0};
  const nodus_term *who = NULL;
  int64_t next = 0;
  bool yes = !nodus_cron_jobs(c, &l) && l.n == 1 &&
             !nodus_match(&l.v.items[0], "#{next => ~i, owner => ~t}", &next, &who) &&
             who->type == NODUS_T_ATOM && who->v.atom == nodus_node_name(nodes[i]);
  nodus_term_free(&l);
  return yes;
}

/* min_nodes 2 on node 5, alone: nothing; with node 4: it runs. */
static void gating(void) {
  nodus_cron_job job = {.name = "gated", .schedule = "@every 100ms", .fn = quick_job,
                        .min_nodes = 2};
  nodus_cron_opts o = {.mode = NODUS_CRON_AVAILABILITY};
  nodus_cron *alone = start_cron(5, "g", &o, &job);
  /* Its owner runs and arms its ticks; then, for 8 ticks, none runs. */
  CHECK(EVENTUALLY(owned_here(alone, 5), 3000));
  int64_t until = wall_ms() + 800;
  while (wall_ms() < until && count_runs("gated") == 0) usleep(5000);
  CHECK(count_runs("gated") == 0);
  nodus_cron *other = start_cron(4, "g", &o, &job);
  CHECK_RC(nodus_node_connect(nodes[4], nodus_node_name(nodes[5])), 0);
  CHECK(EVENTUALLY(count_runs("gated") >= 3, 5000));
  nodus_cron_close(other);
  nodus_cron_close(alone);
}

static atomic_int rpc_calls;
static int fn_cleanup(nodus_node *node, const nodus_term *args, nodus_term *result,
                      void *arg) {
  (void)node, (void)arg;
  int64_t k = 0, sched = 0, epoch = 0;
  if (nodus_match(args, "[~i, #{job => <<\"mfa\">>, scheduled => ~i, epoch => ~i, attempt => 1}]",
                  &k, &sched, &epoch) ||
      k != 42 || sched % 1000 != 0 || epoch <= 0)
    return NODUS_EINVAL;
  atomic_fetch_add(&rpc_calls, 1);
  *result = nodus_int(7);
  return 0;
}

static atomic_int mfa_results;
static void mfa_done(const nodus_cron_run *run, int64_t result, bool ok, void *arg) {
  (void)run, (void)arg;
  if (ok && result == 7) atomic_fetch_add(&mfa_results, 1);
}

static void mfa_and_bad(void) {
  CHECK_RC(nodus_register_function(nodes[3], "cleaner", "run", fn_cleanup, NULL), 0);
  nodus_term args;
  CHECK_RC(nodus_build(&args, "[42]"), 0);
  char target[128];
  snprintf(target, sizeof target, "%s", nodus_atom_text(nodus_node_name(nodes[3]), NULL));
  nodus_cron_job job = {.name = "mfa", .schedule = "* * * * * *", .rpc_node = target,
                        .module = "cleaner", .function = "run", .args = &args,
                        .done = mfa_done};
  nodus_cron_opts o = {.mode = NODUS_CRON_AVAILABILITY};
  nodus_cron *c = start_cron(4, "m", &o, &job);
  nodus_term_free(&args); /* copied by the start */
  CHECK(EVENTUALLY(atomic_load(&mfa_results) >= 2, 5000));
  CHECK(atomic_load(&rpc_calls) >= 2);
  nodus_cron_close(c);

  nodus_cron *bad = NULL;
  nodus_cron_job b = {.name = "b", .schedule = "0 0 30 2 *", .fn = quick_job};
  o.name = "bad", o.jobs = &b, o.n_jobs = 1;
  CHECK_RC(nodus_cron_start(nodes[4], &o, &bad), NODUS_ESYNTAX);
  b.schedule = "0 9 * * *", b.tz = "Nowhere/City";
  CHECK_RC(nodus_cron_start(nodes[4], &o, &bad), NODUS_ENOTFOUND);
  b.tz = NULL, b.fn = NULL;
  CHECK_RC(nodus_cron_start(nodes[4], &o, &bad), NODUS_EINVAL); /* no fn, no MFA */
  b.fn = quick_job;
  o.mode = NODUS_CRON_QUORUM; /* without a size */
  CHECK_RC(nodus_cron_start(nodes[4], &o, &bad), NODUS_EINVAL);
  CHECK(bad == NULL);
}

int main(void) {
  epmd_port = nodus_kit_free_port();
  for (int i = 0; i < N_NODES; i++)
    if (!(nodes[i] = mk(i))) return check_report();
  connect_all(0, 3);
  connect_all(3, 5); /* node 5 stays alone until gating() */
  connect_all(6, 9);
  connect_all(9, 12);
  connect_all(12, 15);
  every_tick_once();
  missed_policy(6, "skip", NODUS_CRON_SKIP, 0, 0);
  missed_policy(9, "all", NODUS_CRON_ALL, 2, 2);
  missed_policy(12, "once", NODUS_CRON_RUN_ONCE, 0, 1);
  overlap();
  gating();
  mfa_and_bad();
  for (int i = N_NODES - 1; i >= 0; i--)
    if (nodes[i]) nodus_node_close(nodes[i]);
  for (int i = 0; i < N_NODES; i++) nodus_term_free(&last_pid[i]);
  return check_report();
}
