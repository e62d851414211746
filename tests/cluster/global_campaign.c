/* global_campaign SEED... : the :global campaign of global_campaign.h over
 * the given seeds (a seed or FIRST-LAST). STEPS, HOLD_MS and GAP_MS in the
 * environment change the schedule's length and timing (default 3 steps,
 * 3000 ms held, 500 ms between). Prints one line per seed and a summary;
 * exits 1 when any seed failed. Run by tests/cluster/global_campaign.sh.
 *
 * GLOBAL_CAMPAIGN_COMPARE=1 runs every seed twice, on the mixed cluster
 * (3 C + 2 BEAM) and then on 5 BEAM nodes, because OTP's own :global does
 * not converge under every schedule (non-transitive cuts especially): the
 * summary gives both failure counts, and it exits 1 when the mixed
 * cluster failed more seeds than BEAM alone. */
#include "global_campaign.h"

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : dflt;
}

int main(int argc, char **argv) {
  int need = cluster_require(CLUSTER_NETNS | CLUSTER_BEAM);
  if (need) return need;
  campaign_params p = {.steps = env_int("STEPS", 3),
                       .hold_ms = env_int("HOLD_MS", 3000),
                       .gap_ms = env_int("GAP_MS", 500)};
  int64_t t0 = nodus_kit_now_ns();
  int runs = 0, fails = 0, beam_fails = 0;
  char failed[4096] = "", beam_failed[4096] = "";
  bool compare = env_int("GLOBAL_CAMPAIGN_COMPARE", 0) != 0;
  double worst_sync = 0, worst_conv = 0;
  for (int a = 1; a < argc; a++) {
    unsigned long long lo, hi;
    int got = sscanf(argv[a], "%llu-%llu", &lo, &hi);
    if (got < 1) {
      fprintf(stderr, "global_campaign: bad seed '%s'\n", argv[a]);
      return 2;
    }
    if (got == 1) hi = lo;
    for (unsigned long long s = lo; s <= hi; s++) {
      campaign_result r;
      runs++;
      if (campaign_seed(s, &p, &r)) {
        fails++;
        size_t l = strlen(failed);
        snprintf(failed + l, sizeof failed - l, "%s%llu", l ? " " : "", s);
      }
      if (r.sync_max_s > worst_sync) worst_sync = r.sync_max_s;
      if (r.converge_s > worst_conv) worst_conv = r.converge_s;
      if (!compare) continue;
      setenv("GLOBAL_CAMPAIGN_BEAM", "5", 1);
      if (campaign_seed(s, &p, &r)) {
        beam_fails++;
        size_t l = strlen(beam_failed);
        snprintf(beam_failed + l, sizeof beam_failed - l, "%s%llu", l ? " " : "", s);
      }
      unsetenv("GLOBAL_CAMPAIGN_BEAM");
    }
  }
  if (compare) {
    printf("global campaign, all-BEAM reference: %d seeds, %d failed%s%s\n", runs,
           beam_fails, beam_fails ? ": " : "", beam_failed);
    printf("global campaign: %d seeds, mixed %d failed%s%s; %.1f s\n", runs, fails,
           fails ? ": " : "", failed, (nodus_kit_now_ns() - t0) / 1e9);
    return fails > beam_fails ? 1 : 0;
  }
  printf("global campaign: %d seeds, %d passed, %d failed%s%s; %.1f s; "
         "slowest sync %.2f s, slowest convergence %.2f s after heal\n",
         runs, runs - fails, fails, fails ? ": " : "", failed,
         (nodus_kit_now_ns() - t0) / 1e9, worst_sync, worst_conv);
  return fails ? 1 : 0;
}
