/* The dsup's failure detector (nodus_dsup_opts.detector_ms) on a real
 * cluster: 3 C nodes running examples/singleton_worker --mode availability
 * --detector-ms 1000, each on its own host, with a 60 s net_ticktime so
 * that only the detector can explain a fast failover (a tick timeout
 * would take 45-75 s). Every node appends its work to one shared history
 * file (O_APPEND, one write a line).
 *
 *   1. SIGSTOP the owner's node (nodus_kit_pause): its connections stay
 *      up, only its heartbeats stop. A survivor prints "singleton started"
 *      within 1.5 s of the pause call (its t=<unix_ms> against the time the
 *      pause began; the figure is printed), with a higher epoch, and the
 *      survivors' logs say the owner was "declared down"; that instance
 *      is then the only one working (over 1 s, the owner still stopped),
 *      not one on each survivor. SIGCONT it: once the survivors are
 *      connected to it again (discovery redials it), exactly one instance
 *      runs, within 10 s of the resume.
 *   2. No false positives under loss: 20% of what every node receives is
 *      dropped (nodus_kit_loss(kit, 0, 20)) for 20 s. Every 200 ms: no node
 *      has logged "declared down" or a nodedown, and the one instance of
 *      before keeps working (same node, same epoch, no gap in its work
 *      longer than GAP_MS). Then heal: still that one instance.
 *
 * The supervisor's own log (NODUS_LOG=info, inherited by the kit's nodes)
 * goes to the nodes' logs; the detector's verdicts are warnings there:
 * "nodus NODE [warning] dsup: singleton_worker: PEER silent for more than
 * 1000 ms: declared down". One line "FIGURE detector ..." has the figures.
 * DET_KEEP=1 keeps the history file (its folder is printed). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster_util.h"

#define PERIOD_MS 100        /* the job's period: a work line every 100 ms */
#define DETECTOR_MS "1000"   /* silent this long: declared down */
#define TICKTIME_S "60"      /* a tick timeout would take 45-75 s */
#define FAILOVER_LIMIT_MS 1500
#define ONE_AFTER_RESUME_MS 10000
#define LOSS_PERCENT 20
#define LOSS_WINDOW_MS 20000
#define GAP_MS 1000          /* longest allowed pause in the work under loss */
#define MAX_INST 256

static char exec_path[600], folder[64], hist_path[700];

static int64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void find_exec(void) {
  const char *dir = getenv("NODUS_BIN_DIR");
  char self[512];
  ssize_t n;
  if ((!dir || !dir[0]) &&
      (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    self[n] = 0;
    dir = dirname(self);
  }
  snprintf(exec_path, sizeof exec_path, "%s/singleton_worker", dir ? dir : "build/bin");
}

/* ---- the history ------------------------------------------------------------ */

/* Every whole line of the history (a line being written is left for the
 * next load). */
static void load(nodus_kit_history *h) {
  *h = (nodus_kit_history){0};
  FILE *f = fopen(hist_path, "r");
  if (!f) return;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  nodus_kit_op op;
  while ((n = getline(&line, &cap, f)) > 0)
    if (line[n - 1] == '\n' && nodus_kit_history_parse_line(line, &op) == 0)
      nodus_kit_history_add(h, &op);
  free(line);
  fclose(f);
}

/* One instance: an epoch on a node, the span of its work, its longest gap
 * between two works. */
typedef struct inst {
  uint64_t epoch;
  int process;
  int64_t first, last, max_gap; /* ns */
  size_t works;
  bool other_process; /* the same epoch worked on another node too */
} inst;

/* The instances that worked within [from, to] (history order is append
 * order, which is time order per node). */
static size_t instances(int64_t from, int64_t to, inst *out, size_t max) {
  nodus_kit_history h;
  load(&h);
  size_t n = 0;
  for (size_t k = 0; k < h.len; k++) {
    const nodus_kit_op *op = &h.ops[k];
    if (strcmp(op->f, "work") || !op->has_value || op->time_ns < from || op->time_ns > to)
      continue;
    size_t i = 0;
    while (i < n && out[i].epoch != (uint64_t)op->value) i++;
    if (i < n && out[i].process != op->process) out[i].other_process = true;
    if (i == n) {
      if (n == max) continue;
      out[n++] = (inst){.epoch = (uint64_t)op->value, .process = op->process,
                        .first = op->time_ns, .last = op->time_ns};
    }
    if (op->time_ns - out[i].last > out[i].max_gap) out[i].max_gap = op->time_ns - out[i].last;
    if (op->time_ns < out[i].first) out[i].first = op->time_ns;
    if (op->time_ns > out[i].last) out[i].last = op->time_ns;
    out[i].works++;
  }
  nodus_kit_history_free(&h);
  return n;
}

/* Exactly one instance worked during the last stable_ms (at least half of
 * its periods, the last one recent), none else, and that window starts
 * after `since`. */
static bool one_instance(int64_t since, int stable_ms, inst *who) {
  static inst v[MAX_INST];
  int64_t now = real_ns(), from = now - (int64_t)stable_ms * 1000000;
  if (from < since) return false;
  size_t n = instances(from, now, v, MAX_INST);
  if (n != 1 || v[0].other_process || v[0].works < (size_t)(stable_ms / PERIOD_MS / 2) ||
      now - v[0].last > 4 * (int64_t)PERIOD_MS * 1000000)
    return false;
  *who = v[0];
  return true;
}

static void print_instances(int64_t from) {
  static inst v[MAX_INST];
  size_t n = instances(from, INT64_MAX, v, MAX_INST);
  for (size_t i = 0; i < n; i++)
    fprintf(stderr,
            "   instance epoch=%" PRIu64 " n%d work %.3f .. %.3f (%zu lines, longest gap "
            "%.0f ms)%s\n",
            v[i].epoch, v[i].process, (double)v[i].first / 1e9, (double)v[i].last / 1e9,
            v[i].works, (double)v[i].max_gap / 1e6,
            v[i].other_process ? " ALSO ON ANOTHER NODE" : "");
}

/* ---- the nodes' logs -------------------------------------------------------- */

/* The first line of node i's log after mark holding needle, into line;
 * false when there is none. */
static bool first_line(nodus_kit *kit, int i, long mark, const char *needle, char *line,
                       size_t size) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.log", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  fseek(f, mark, SEEK_SET);
  bool found = false;
  while (!found && fgets(line, (int)size, f))
    found = strstr(line, needle) && strchr(line, '\n');
  fclose(f);
  return found;
}

/* The earliest "singleton started" after the marks on a node other than
 * `not`: its node, epoch and t= (unix ms). */
static bool survivor_start(nodus_kit *kit, const long *mark, int not, int *node,
                           uint64_t *epoch, int64_t *t_ms) {
  bool any = false;
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    char line[1024];
    if (i == not || !first_line(kit, i, mark[i], "singleton started", line, sizeof line))
      continue;
    const char *e = strstr(line, "epoch="), *t = strstr(line, " t=");
    if (!e || !t) continue;
    int64_t ms = strtoll(t + 3, NULL, 10);
    if (!any || ms < *t_ms) {
      any = true;
      *node = i;
      *epoch = strtoull(e + 6, NULL, 10);
      *t_ms = ms;
    }
  }
  return any;
}

static int count_all(nodus_kit *kit, const long *mark, const char *needle) {
  int n = 0;
  for (int i = 1; i <= nodus_kit_size(kit); i++)
    n += nodus_kit_log_count(kit, i, mark[i], needle);
  return n;
}

static void show_all(nodus_kit *kit, const long *mark, const char *needle) {
  for (int i = 1; i <= nodus_kit_size(kit); i++) log_lines(kit, i, mark[i], needle);
}

static bool all_connected(nodus_kit *kit) {
  for (int i = 1; i <= nodus_kit_size(kit); i++)
    for (int j = 1; j <= nodus_kit_size(kit); j++)
      if (i != j && !nodus_kit_connected(kit, i, j)) return false;
  return true;
}

/* Every node but `skip` connected to every other one. */
static bool others_connected(nodus_kit *kit, int skip) {
  for (int i = 1; i <= nodus_kit_size(kit); i++)
    for (int j = 1; j <= nodus_kit_size(kit); j++)
      if (i != j && i != skip && !nodus_kit_connected(kit, i, j)) return false;
  return true;
}

static void dump_logs(nodus_kit *kit) {
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    char cmd[900];
    snprintf(cmd, sizeof cmd,
             "echo '--- n%d log (singleton, dsup, node events; last 60)' >&2; "
             "grep -E 'singleton (started|stopped|waiting)|dsup|#node|kit start' "
             "'%s/n%d.log' | tail -n 60 >&2",
             i, nodus_kit_state_dir(kit), i);
    if (system(cmd) != 0) fprintf(stderr, "(no log for n%d)\n", i);
  }
}

/* ---- the test ----------------------------------------------------------------- */

int main(void) {
  int need = cluster_require(CLUSTER_NETNS);
  if (need) return need;
  find_exec();
  if (access(exec_path, X_OK) != 0) {
    fprintf(stderr, "no %s: build the singleton_worker example\n", exec_path);
    return 1;
  }
  snprintf(folder, sizeof folder, "/tmp/nodus-dsupdet-XXXXXX");
  if (!mkdtemp(folder)) return 1;
  char members[100], spec[200], period_s[16];
  snprintf(members, sizeof members, "%s/members", folder);
  mkdir(members, 0755);
  snprintf(hist_path, sizeof hist_path, "%s/history.jsonl", folder);
  /* The supervisor's log (the detector's "declared down" is a warning,
   * its other lines info) in the nodes' logs: they inherit the
   * environment. */
  setenv("NODUS_LOG", "info", 0);
  int64_t t0 = nodus_kit_now_ns();

  /* Discovery by a shared folder: the nodes' names exist only once the
   * kit made them. It dials a lost member again (backoff <= 500 ms). */
  snprintf(spec, sizeof spec, "dir:%s,interval_ms=200,ttl_ms=3000,backoff_max_ms=500",
           members);
  snprintf(period_s, sizeof period_s, "%d", PERIOD_MS);
  const char *args[] = {"--ticktime", TICKTIME_S, "--detector-ms", DETECTOR_MS,
                        "--mode", "availability", "--history", hist_path,
                        "--period-ms", period_s, "--discover", spec, NULL};
  /* ticktime_s is for BEAM and echo_node nodes; --exec gets --ticktime
   * from args above. */
  nodus_kit_opts o = {.nodes = 3, .exec = exec_path, .exec_args = args,
                      .ticktime_s = 60, .log = stderr};
  nodus_kit *kit = NULL;
  int rc = nodus_kit_up(&kit, &o);
  if (rc) {
    fprintf(stderr, "cluster up failed: %s\n", nodus_strerror(rc));
    return 1;
  }
  if (!nodus_kit_netns(kit)) {
    nodus_kit_down(kit);
    return check_skip("no network namespaces: this test needs them (loss, detector by IP)");
  }
  long mark[NODUS_KIT_MAX_NODES + 1];
  double failover_ms = -1, one_after_resume_ms = -1;
  int fp_declared = -1, fp_nodedown = -1;
  inst owner = {0}, after = {0};
  bool pass = true;

  STEP("3 nodes up; waiting for a full mesh and one instance");
  bool ok = NODUS_EVENTUALLY(all_connected(kit), 15000);
  CHECK(ok);
  ok = ok && NODUS_EVENTUALLY(one_instance(0, 1000, &owner), 15000);
  CHECK(ok);
  if (!ok) goto out;

  /* ---- 1. SIGSTOP the owner ---- */
  int p = owner.process;
  STEP("1. one instance: n%d epoch %" PRIu64 "; SIGSTOP n%d", p, owner.epoch, p);
  marks(kit, mark);
  int64_t t_pause = real_ns();
  CHECK_RC(rc = nodus_kit_pause(kit, p), 0);
  int64_t t_paused = real_ns();
  int who = 0;
  uint64_t epoch = 0;
  int64_t t_start = 0;
  ok = NODUS_EVENTUALLY(survivor_start(kit, mark, p, &who, &epoch, &t_start),
                        FAILOVER_LIMIT_MS + 3000);
  CHECK(ok);
  if (ok) {
    failover_ms = (double)t_start - (double)t_pause / 1e6;
    fprintf(stderr,
            "   failover: n%d started epoch %" PRIu64 " %.0f ms after the pause began "
            "(the pause call took %.1f ms; t= has 1 ms resolution; limit %d ms)\n",
            who, epoch, failover_ms, (double)(t_paused - t_pause) / 1e6, FAILOVER_LIMIT_MS);
    CHECK(failover_ms <= FAILOVER_LIMIT_MS);
    CHECK(epoch > owner.epoch);
    pass &= failover_ms <= FAILOVER_LIMIT_MS && epoch > owner.epoch;
  }
  /* The detector said so (not a tick: 60 s). */
  char needle[300];
  snprintf(needle, sizeof needle, "%s silent for more than", nodus_kit_node_name(kit, p));
  int declared = count_all(kit, mark, needle);
  show_all(kit, mark, "declared down");
  CHECK(declared >= 1);
  pass &= ok && declared >= 1 && rc == 0;

  /* One survivor took over, not both: over the last second its instance
   * is the only one that worked, the owner still stopped. */
  inst taker = {0};
  ok = ok && NODUS_EVENTUALLY(one_instance(t_pause, 1000, &taker), 3000);
  CHECK(ok && taker.process == who && taker.epoch == epoch);
  pass &= ok && taker.process == who && taker.epoch == epoch;
  if (ok)
    fprintf(stderr, "   n%d epoch %" PRIu64 " the only instance working over 1 s, n%d "
                    "still stopped\n",
            taker.process, taker.epoch, p);

  STEP("SIGCONT n%d; one instance once the survivors are connected to it again", p);
  int64_t t_resume = real_ns();
  CHECK_RC(nodus_kit_resume(kit, p), 0);
  int64_t t_mesh = 0;
  ok = NODUS_EVENTUALLY(others_connected(kit, p) && (t_mesh = real_ns()),
                        ONE_AFTER_RESUME_MS);
  CHECK(ok);
  if (ok) {
    fprintf(stderr, "   the survivors see n%d again %.0f ms after the resume\n", p,
            (double)(t_mesh - t_resume) / 1e6);
    ok = NODUS_EVENTUALLY(one_instance(t_mesh, 1000, &after),
                          ONE_AFTER_RESUME_MS - (real_ns() - t_resume) / 1000000);
    CHECK(ok);
  }
  if (ok) {
    one_after_resume_ms = (double)(real_ns() - t_resume) / 1e6;
    fprintf(stderr,
            "   one instance (n%d epoch %" PRIu64 ", stable 1 s) %.0f ms after the "
            "resume (limit %d ms)\n",
            after.process, after.epoch, one_after_resume_ms, ONE_AFTER_RESUME_MS);
  }
  pass &= ok;
  if (!ok) goto out;

  /* ---- 2. no false positives under 20% loss ---- */
  STEP("2. %d%% loss on every node for %d s: nobody declared down, n%d epoch %" PRIu64
       " keeps working",
       LOSS_PERCENT, LOSS_WINDOW_MS / 1000, after.process, after.epoch);
  /* The whole mesh first (the resumed node too), so that a late nodedown
   * of the resume is not taken for one of the loss. */
  ok = NODUS_EVENTUALLY(all_connected(kit), 5000);
  CHECK(ok);
  marks(kit, mark);
  int64_t t_loss = real_ns();
  CHECK_RC(rc = nodus_kit_loss(kit, 0, LOSS_PERCENT), 0);
  pass &= ok && rc == 0;
  int64_t loss_end = t_loss + (int64_t)LOSS_WINDOW_MS * 1000000;
  static inst v[MAX_INST];
  bool work_ok = true;
  for (;;) {
    fp_declared = count_all(kit, mark, "declared down");
    fp_nodedown = count_all(kit, mark, "#nodedown");
    size_t k = instances(t_loss, INT64_MAX, v, MAX_INST);
    int64_t now = real_ns();
    /* Only that instance, and it worked within the last GAP_MS (from the
     * loss's start on: its first work may be a period away). */
    work_ok = k == 0 ? now - t_loss <= (int64_t)GAP_MS * 1000000
                     : k == 1 && v[0].epoch == after.epoch &&
                           v[0].process == after.process && !v[0].other_process &&
                           v[0].first - t_loss <= (int64_t)GAP_MS * 1000000 &&
                           v[0].max_gap <= (int64_t)GAP_MS * 1000000 &&
                           now - v[0].last <= (int64_t)GAP_MS * 1000000;
    if (fp_declared || fp_nodedown || !work_ok || now >= loss_end) break;
    nodus_kit_sleep_ms(200);
  }
  double loss_s = (double)(real_ns() - t_loss) / 1e9;
  size_t k = instances(t_loss, INT64_MAX, v, MAX_INST);
  fprintf(stderr,
          "   %.1f s of %d%% loss: %d \"declared down\", %d nodedown lines; %zu instance(s) "
          "worked, n%d epoch %" PRIu64 ": %zu works, longest gap %.0f ms\n",
          loss_s, LOSS_PERCENT, fp_declared, fp_nodedown, k, k ? v[0].process : 0,
          k ? v[0].epoch : 0, k ? v[0].works : 0, k ? (double)v[0].max_gap / 1e6 : -1.0);
  if (fp_declared || fp_nodedown) {
    show_all(kit, mark, "declared down");
    show_all(kit, mark, "#nodedown");
  }
  CHECK(fp_declared == 0);
  CHECK(fp_nodedown == 0);
  CHECK(work_ok);
  CHECK(loss_s * 1000 >= LOSS_WINDOW_MS);
  pass &= fp_declared == 0 && fp_nodedown == 0 && work_ok;
  if (!work_ok) print_instances(t_loss);

  STEP("heal: still n%d epoch %" PRIu64 " alone", after.process, after.epoch);
  int64_t t_heal = real_ns();
  CHECK_RC(rc = nodus_kit_heal(kit), 0);
  inst last = {0};
  ok = NODUS_EVENTUALLY(one_instance(t_heal, 1000, &last), 5000);
  CHECK(ok);
  CHECK(ok && last.epoch == after.epoch && last.process == after.process);
  CHECK(count_all(kit, mark, "declared down") == 0);
  pass &= rc == 0 && ok && last.epoch == after.epoch && last.process == after.process &&
          count_all(kit, mark, "declared down") == 0;

out:
  if (!pass) {
    print_instances(INT64_MIN);
    dump_logs(kit);
  }
  nodus_kit_down(kit);
  printf("FIGURE detector failover_after_pause_ms=%.0f one_instance_after_resume_ms=%.0f "
         "loss_declared_down=%d loss_nodedown=%d runtime_s=%.1f %s\n",
         failover_ms, one_after_resume_ms, fp_declared, fp_nodedown,
         (double)(nodus_kit_now_ns() - t0) / 1e9, pass ? "PASS" : "FAIL");
  fflush(stdout);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", folder);
  if (getenv("DET_KEEP")) fprintf(stderr, "history kept in %s\n", folder);
  else if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", folder);
  return check_report();
}
