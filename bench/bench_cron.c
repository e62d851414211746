/* bench_cron: the cluster scheduler's tick delay on a quiet node
 * (run_cron.sh runs the BEAM side, bench_cron.erl, in the same run).
 *
 *   bench_cron NAME [SCHEDULE] [N]     defaults "@every 100ms", 200
 *
 * One node NAME (short: NAME@this host) on loopback, registered with the
 * epmd on $ERL_EPMD_PORT (run_cron.sh's private one; an embedded one when
 * none answers), cookie nodusbench, with a scheduler alone in
 * availability mode and one job on SCHEDULE. The job's C function takes
 * CLOCK_REALTIME (ns) at entry and records entry − scheduled_ms: the delay
 * from the tick's scheduled instant to the job's code running (the timer
 * on the loop, the claim round on the records, the run's thread). The
 * first tick is a warm-up and not counted; then N ticks. Prints one
 * "key value" line per figure (µs: p50_us p99_us max_us min_us mean_us;
 * count, missed: ticks of the schedule between the first and the last
 * that did not run), closes the scheduler (loop running), then the node.
 * BENCH_CRON_RAW=1: every delay on stderr ("delay_us D scheduled_ms T").
 * Every wait has a deadline. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nodus.h>

#define WARMUP 1

static int64_t *delays_ns, *sched_ms;
static int want;          /* WARMUP + N */
static atomic_int seen;   /* runs so far, warm-up included */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_in = PTHREAD_COND_INITIALIZER;

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t job(const nodus_cron_run *run, void *arg) {
  int64_t entry = wall_ns(); /* first: nothing of ours before it */
  (void)arg;
  int i = atomic_fetch_add(&seen, 1);
  if (i < want) {
    delays_ns[i] = entry - run->scheduled_ms * 1000000;
    sched_ms[i] = run->scheduled_ms;
  }
  if (i + 1 == want) {
    pthread_mutex_lock(&lock);
    pthread_cond_signal(&all_in);
    pthread_mutex_unlock(&lock);
  }
  return 0;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_cron: %s (%d)\n", what, rc);
  exit(1);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p of them at or below. */
static double pct_us(const int64_t *sorted, int n, double p) {
  int k = (int)((p * n) + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return sorted[k - 1] / 1e3;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_cron NAME [SCHEDULE] [N]\n");
    return 2;
  }
  const char *name = argv[1];
  const char *schedule = argc > 2 ? argv[2] : "@every 100ms";
  int n = argc > 3 ? atoi(argv[3]) : 200;
  if (n < 1) die("N must be at least 1", n);
  want = WARMUP + n;
  delays_ns = calloc((size_t)want, sizeof *delays_ns);
  sched_ms = calloc((size_t)want, sizeof *sched_ms);
  if (!delays_ns || !sched_ms) die("out of memory", 0);

  /* The deadline: the want-th tick from now, plus 10 s. */
  nodus_cron_expr *expr;
  nodus_cron_error err;
  int rc = nodus_cron_parse(schedule, &expr, &err);
  if (rc) {
    fprintf(stderr, "bench_cron: bad schedule at %u: %s\n", err.position, err.reason);
    return 2;
  }
  int64_t t = wall_ns() / 1000000;
  for (int i = 0; i < want + 2; i++)
    if (nodus_cron_next_after(expr, NULL, t, &t)) die("the schedule ends", 0);
  nodus_cron_expr_free(expr);
  struct timespec until = {.tv_sec = (time_t)(t / 1000 + 10), .tv_nsec = (long)(t % 1000) * 1000000};

  nodus_node_opts no = {.name = name, .cookie = "nodusbench", .listen_address = "127.0.0.1",
                        .epmd_mode = NODUS_EPMD_AUTO};
  nodus_node *node;
  if ((rc = nodus_node_init(&no, &node)) || (rc = nodus_node_start(node)))
    die("cannot start the node", rc);

  nodus_cron_job j = {.name = "tick", .schedule = schedule, .fn = job};
  nodus_cron_opts co = {.name = "bench", .mode = NODUS_CRON_AVAILABILITY, .jobs = &j, .n_jobs = 1};
  nodus_cron *cron;
  if ((rc = nodus_cron_start(node, &co, &cron))) die("nodus_cron_start failed", rc);

  pthread_mutex_lock(&lock);
  while (atomic_load(&seen) < want)
    if (pthread_cond_timedwait(&all_in, &lock, &until)) break;
  pthread_mutex_unlock(&lock);
  int got = atomic_load(&seen);
  nodus_cron_close(cron); /* with the loop running; waits for the runs */
  nodus_node_close(node);
  if (got < want) {
    fprintf(stderr, "bench_cron: %d of %d ticks by the deadline\n", got, want);
    return 1;
  }

  int count = n;
  int64_t *d = delays_ns + WARMUP, *s = sched_ms + WARMUP;
  /* Ticks between the first and the last counted that did not run. */
  int missed = 0;
  if ((rc = nodus_cron_parse(schedule, &expr, NULL))) die("parse", rc);
  int64_t *ss = malloc((size_t)count * sizeof *ss);
  memcpy(ss, s, (size_t)count * sizeof *ss);
  qsort(ss, (size_t)count, sizeof *ss, cmp_i64);
  for (int i = 1; i < count; i++) {
    int64_t nx;
    if (nodus_cron_next_after(expr, NULL, ss[i - 1], &nx)) break;
    while (nx < ss[i]) {
      missed++;
      if (nodus_cron_next_after(expr, NULL, nx, &nx)) break;
    }
  }
  nodus_cron_expr_free(expr);
  free(ss);

  if (getenv("BENCH_CRON_RAW") && *getenv("BENCH_CRON_RAW") && strcmp(getenv("BENCH_CRON_RAW"), "0"))
    for (int i = 0; i < count; i++)
      fprintf(stderr, "delay_us %.3f scheduled_ms %" PRId64 "\n", d[i] / 1e3, s[i]);
  double sum = 0;
  for (int i = 0; i < count; i++) sum += (double)d[i];
  qsort(d, (size_t)count, sizeof *d, cmp_i64);
  printf("p50_us %.1f\n", pct_us(d, count, 0.50));
  printf("p99_us %.1f\n", pct_us(d, count, 0.99));
  printf("max_us %.1f\n", d[count - 1] / 1e3);
  printf("min_us %.1f\n", d[0] / 1e3);
  printf("mean_us %.1f\n", sum / count / 1e3);
  printf("count %d\n", count);
  printf("missed %d\n", missed);
  free(delays_ns);
  free(sched_ms);
  return 0;
}
