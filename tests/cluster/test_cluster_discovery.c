/* Reconnect after heal (issue 12): three C nodes (echo_node) with static
 * discovery listing the three, each on its own host. They mesh by
 * themselves; a partition {n1} | {n2, n3} cuts n1 off; after the heal the
 * full mesh is back within 1 s, and nothing but discovery dialled: the
 * test never pings, and echo_node has no redial code.
 *
 * The kit names nodes PREFIX_nI@10.77.S.I once it is up, and passes every
 * C node the same arguments; so each node runs through a small wrapper
 * that derives the three names from its own --name and hands echo_node
 * --discover static:... (what a deployment writes in its config). */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster_util.h"

static void bin_dir(char *buf, size_t size) {
  const char *dir = getenv("NODUS_BIN_DIR");
  char self[512];
  ssize_t n;
  if ((!dir || !dir[0]) &&
      (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    self[n] = 0;
    dir = dirname(self);
  }
  snprintf(buf, size, "%s", dir ? dir : "build/bin");
}

static bool full_mesh(nodus_kit *kit) {
  for (int a = 1; a <= 3; a++)
    for (int b = 1; b <= 3; b++)
      if (a != b && !nodus_kit_connected(kit, a, b)) return false;
  return true;
}

/* Waits for the full mesh, polling every 5 ms; the time it took (ms), or
 * -1 after timeout_ms. */
static double mesh_after(nodus_kit *kit, int64_t since, int timeout_ms) {
  while ((nodus_kit_now_ns() - since) / 1000000 < timeout_ms) {
    if (full_mesh(kit)) return (double)(nodus_kit_now_ns() - since) / 1e6;
    usleep(5000);
  }
  return -1;
}

int main(void) {
  int need = cluster_require(CLUSTER_NETNS);
  if (need) return need;
  char dir[512], wrapper[] = "/tmp/nodus-disc-wrap-XXXXXX";
  bin_dir(dir, sizeof dir);
  int fd = mkstemp(wrapper);
  if (fd < 0) return 1;
  /* $2 is PREFIX_nI@10.77.S.I: the others are PREFIX_nJ@10.77.S.J. The
   * backoff is capped at 200 ms and an epmd that does not answer within
   * 300 ms is tried again: so a heal is noticed within about half a
   * second. */
  FILE *w = fdopen(fd, "w");
  fprintf(w,
          "#!/bin/sh\n"
          "name=$2; prefix=${name%%_n*}; ip=${name#*@}; net=${ip%%.*}\n"
          "spec=static:${prefix}_n1@$net.1,${prefix}_n2@$net.2,${prefix}_n3@$net.3"
          ",backoff_min_ms=50,backoff_max_ms=200,connect_timeout_ms=300\n"
          "exec '%s/echo_node' \"$@\" --discover \"$spec\"\n",
          dir);
  fclose(w);
  chmod(wrapper, 0755);

  nodus_kit *kit;
  const char *args[] = {"--ticktime", "2", NULL};
  nodus_kit_opts o = {.nodes = 3, .exec = wrapper, .exec_args = args,
                      .ticktime_s = 2, .log = stderr};
  int rc = nodus_kit_up(&kit, &o);
  if (rc) {
    fprintf(stderr, "cluster up failed: %s\n", nodus_strerror(rc));
    unlink(wrapper);
    return 1;
  }
  CHECK(nodus_kit_netns(kit));
  if (!nodus_kit_netns(kit)) {
    nodus_kit_down(kit);
    unlink(wrapper);
    return check_report();
  }

  STEP("the three nodes mesh by themselves");
  double ms = mesh_after(kit, nodus_kit_now_ns(), 5000);
  CHECK(ms >= 0);
  STEP("full mesh %.0f ms after the kit saw them ready", ms);

  for (int round = 1; round <= 2; round++) {
    STEP("round %d: partition {n1} | {n2, n3}", round);
    long mark[4];
    marks(kit, mark);
    nodus_kit_grudge g;
    CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1/2,3"), 0);
    CHECK_RC(nodus_kit_partition(kit, &g), 0);
    CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 2) &&
                               saw(kit, 1, mark[1], "nodedown", 3) &&
                               saw(kit, 2, mark[2], "nodedown", 1) &&
                               saw(kit, 3, mark[3], "nodedown", 1),
                           10000));
    /* Cut off a while longer: the redials fail and back off to the cap. */
    usleep(1500000);
    CHECK(!nodus_kit_connected(kit, 1, 2) && !nodus_kit_connected(kit, 2, 1));

    marks(kit, mark);
    int64_t healed = nodus_kit_now_ns();
    CHECK_RC(nodus_kit_heal(kit), 0);
    ms = mesh_after(kit, healed, 5000);
    STEP("round %d: full mesh %.0f ms after the heal", round, ms);
    CHECK(ms >= 0);
    CHECK(ms <= 1000);
    /* a reconnect, not a link that never died */
    CHECK(saw(kit, 1, mark[1], "nodeup", 2) && saw(kit, 1, mark[1], "nodeup", 3));
  }

  if (check_failed)
    for (int i = 1; i <= 3; i++) {
      char cmd[700];
      snprintf(cmd, sizeof cmd, "echo '--- n%d log (tail)' >&2; tail -n 30 '%s/n%d.log' >&2",
               i, nodus_kit_state_dir(kit), i);
      if (system(cmd) != 0) fprintf(stderr, "(no log for n%d)\n", i);
    }
  nodus_kit_down(kit);
  unlink(wrapper);
  return check_report();
}
