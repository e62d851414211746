/* examples/user_cache across a real partition: three C nodes, each on its
 * own host, driven through their stdin FIFOs (commands) and read through
 * their log files (answers), as the kit runs any C node.
 *
 *   1. the caches find each other (--discover dir:FOLDER, a folder shared
 *      by the three hosts, no peer named); put 1 alice on n1; every node
 *      has it;
 *   2. partition {n1} | {n2, n3}; put 2 bob on n1, put 2 robert and
 *      3 carol on n2; each side sees only its own writes;
 *   3. heal and do nothing else: within 10 s every node's dump is the same,
 *      1=alice, 2=the winner by the example's rule, 3=carol.
 *
 * Step 3 leans on discovery to reconnect (the listed nodes are dialled
 * again with backoff; the example has no redial code): neither nodus nor
 * BEAM redials after a nodedown by itself, and the test must not ping
 * for it, or it would prove nothing about a cluster healing on its own. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "cluster_util.h"

static nodus_kit *kit;

/* One command line to node i's stdin, the FIFO "nI.in" in the state dir.
 * The node holds the FIFO open itself, so this open never blocks. */
static bool tell(int i, const char *fmt, ...) {
  char path[600], line[512];
  snprintf(path, sizeof path, "%s/n%d.in", nodus_kit_state_dir(kit), i);
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (len < 0 || len >= (int)sizeof line - 1) return false;
  line[len++] = '\n';
  int fd = open(path, O_WRONLY | O_NONBLOCK);
  if (fd < 0) return false;
  bool ok = write(fd, line, (size_t)len) == len; /* < PIPE_BUF: atomic */
  close(fd);
  return ok;
}

/* The first whole line of node i's log after `mark` that starts with
 * `prefix` (malloc'd), or NULL. */
static char *line_after(int i, long mark, const char *prefix) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.log", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *line = NULL, *hit = NULL;
  size_t cap = 0;
  ssize_t n;
  if (fseek(f, mark, SEEK_SET) == 0)
    while (!hit && (n = getline(&line, &cap, f)) > 0)
      if (line[n - 1] == '\n' && !strncmp(line, prefix, strlen(prefix))) {
        line[n - 1] = 0;
        hit = strdup(line);
      }
  free(line);
  fclose(f);
  return hit;
}

/* Sends a command and waits for its one-line answer starting with `want`
 * (user_cache answers every command with one line, in order). */
static char *ask(int i, const char *cmd, const char *want) {
  long mark = nodus_kit_log_mark(kit, i);
  if (!tell(i, "%s", cmd)) return NULL;
  char *answer = NULL;
  NODUS_EVENTUALLY((answer = line_after(i, mark, want)) != NULL, 3000);
  return answer;
}

static bool ask_ok(int i, const char *cmd) {
  char *answer = ask(i, cmd, "ok");
  bool ok = answer && !strcmp(answer, "ok");
  free(answer);
  return ok;
}

/* Node i's dump ("dump N ID=NAME,...") is exactly `want`. */
static bool dump_is(int i, const char *want) {
  char *got = ask(i, "dump", "dump ");
  bool same = got && !strcmp(got, want);
  free(got);
  return same;
}

/* Every node's dump is `want`; prints the dumps when told to (failures). */
static bool all_dumps(const char *want, bool show) {
  bool same = true;
  for (int i = 1; i <= 3; i++) {
    char *got = ask(i, "dump", "dump ");
    if (!got || strcmp(got, want)) same = false;
    if (show) fprintf(stderr, "   n%d: %s\n", i, got ? got : "(no answer)");
    free(got);
  }
  return same;
}

/* The user_cache binary beside the kit's helpers: $NODUS_BIN_DIR (ctest
 * sets it), else this test's own directory (build/bin). */
static void exec_path(char *buf, size_t size) {
  const char *dir = getenv("NODUS_BIN_DIR");
  char self[512];
  ssize_t n;
  if ((!dir || !dir[0]) &&
      (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    self[n] = 0;
    dir = dirname(self);
  }
  snprintf(buf, size, "%s/user_cache", dir ? dir : "build/bin");
}

/* The last lines of every node's log, on stderr. */
static void dump_logs(nodus_kit *k) {
  for (int i = 1; i <= nodus_kit_size(k); i++) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "echo '--- n%d log (tail)'; tail -n 40 '%s/n%d.log' >&2",
             i, nodus_kit_state_dir(k), i);
    if (system(cmd) != 0) fprintf(stderr, "(no log for n%d)\n", i);
  }
}

int main(void) {
  int need = cluster_require(CLUSTER_NETNS);
  if (need) return need;
  char exec[600];
  exec_path(exec, sizeof exec);
  /* ticktime 2 s: a cut link is declared down in 2-3 s, not BEAM's 60.
   * The folder is the hosts' shared volume (namespaces share the file
   * system). */
  char folder[] = "/tmp/nodus-uc-XXXXXX", spec[200];
  if (!mkdtemp(folder)) return 1;
  snprintf(spec, sizeof spec,
           "dir:%s,interval_ms=200,ttl_ms=3000,backoff_max_ms=500", folder);
  const char *args[] = {"--ticktime", "2", "--discover", spec, NULL};
  nodus_kit_opts o = {.nodes = 3, .exec = exec, .exec_args = args,
                      .ticktime_s = 2, .log = stderr};
  int rc = nodus_kit_up(&kit, &o);
  if (rc) {
    fprintf(stderr, "cluster up failed: %s\n", nodus_strerror(rc));
    return 1;
  }
  CHECK(nodus_kit_netns(kit)); /* partitions need namespaces (root) */
  if (!nodus_kit_netns(kit)) {
    nodus_kit_down(kit);
    return check_report();
  }
  const char *n1 = nodus_kit_node_name(kit, 1), *n2 = nodus_kit_node_name(kit, 2);
  long mark[4];
  char cmd[300];

  STEP("the three caches find each other, put 1 alice on n1");
  /* The caches know each other once pg has synced: each merged the others'
   * (empty) caches when their joins showed up. The marks are 0: they may
   * have met before the kit said the nodes were up. */
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(nodus_kit_log_count(kit, i, 0, "merged 0 from") >= 2,
                           5000));
  CHECK(ask_ok(1, "put 1 alice"));
  CHECK(NODUS_EVENTUALLY(all_dumps("dump 1 1=alice", false), 5000));

  STEP("partition {n1} | {n2, n3}");
  marks(kit, mark);
  nodus_kit_grudge g;
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1/2,3"), 0);
  CHECK_RC(nodus_kit_partition(kit, &g), 0);
  /* Write only once both sides have dropped the other: a write sent into
   * a link that is cut but not yet down would be lost with it, which is
   * fine for the cache but would make "each side sees only its own
   * writes" a race rather than a fact. */
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 2) &&
                             saw(kit, 1, mark[1], "nodedown", 3) &&
                             saw(kit, 2, mark[2], "nodedown", 1) &&
                             saw(kit, 3, mark[3], "nodedown", 1),
                         10000));
  CHECK(!saw(kit, 2, mark[2], "nodedown", 3));

  STEP("write on both sides");
  CHECK(ask_ok(1, "put 2 bob"));
  CHECK(ask_ok(2, "put 2 robert"));
  CHECK(ask_ok(2, "put 3 carol"));
  const char *majority = "dump 3 1=alice,2=robert,3=carol";
  CHECK(NODUS_EVENTUALLY(dump_is(3, majority), 5000)); /* n2's writes reach n3 */
  CHECK(dump_is(2, majority));
  CHECK(dump_is(1, "dump 2 1=alice,2=bob")); /* and not n1 */

  STEP("heal; the caches must reconnect and converge by themselves");
  /* Id 2: bob and robert both have version 2 (n1's and n2's Lamport
   * clocks were both 1, from alice, when they wrote), so the tie goes to
   * the greater node name: n2's robert. Derived, not assumed. */
  const char *winner = strcmp(n1, n2) > 0 ? "bob" : "robert";
  char want[200];
  snprintf(want, sizeof want, "dump 3 1=alice,2=%s,3=carol", winner);
  CHECK_STR(winner, "robert");
  marks(kit, mark);
  int64_t healed = nodus_kit_now_ns();
  CHECK_RC(nodus_kit_heal(kit), 0);
  bool converged = NODUS_EVENTUALLY(all_dumps(want, false), 10000);
  CHECK(converged);
  STEP("%s in %.2f s", converged ? "converged" : "NOT converged",
       (double)(nodus_kit_now_ns() - healed) / 1e9);
  if (!converged) all_dumps(want, true);
  /* It was a reconnect (nodeup) and a merge, not a link that never died. */
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodeup", 2) &&
                             saw(kit, 1, mark[1], "nodeup", 3) &&
                             saw(kit, 2, mark[2], "nodeup", 1) &&
                             saw(kit, 3, mark[3], "nodeup", 1),
                         5000));
  for (int a = 1; a <= 3; a++)
    for (int b = 1; b <= 3; b++)
      if (a != b) CHECK(NODUS_EVENTUALLY(nodus_kit_connected(kit, a, b), 5000));

  if (check_failed) dump_logs(kit); /* what the nodes said, for the record */
  nodus_kit_down(kit);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", folder);
  CHECK(system(cmd) == 0);
  return check_report();
}
