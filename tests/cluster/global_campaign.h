/* One seed of the :global campaign (issue 11): 3 C + 2 BEAM nodes, names
 * registered from every node (one of its own and one every node contends
 * for) before the faults and while each fault is held; a seeded schedule
 * of partitions, kills, pauses, loss and delay (nodus_kit_schedule), each
 * undone after its hold (heal, restart, resume); then reconnect (pings
 * across) and check:
 *   - global:sync() on every BEAM node (and nodus_global_sync on every C
 *     node) returns within 10 s;
 *   - every node's table is the same within 10 s;
 *   - every entry is a registration that answered yes, by a process still
 *     alive, of a node incarnation not killed since; every registration
 *     that answered yes and whose process lives is in the table (random_exit:
 *     a loser of a clash is killed, so an alive loser is a lost name);
 *   - no C node crashed (every C node alive; no sanitizer or crash line).
 * A failing seed prints FAIL with the seed and the replay line. */
#ifndef NODUS_GLOBAL_CAMPAIGN_H
#define NODUS_GLOBAL_CAMPAIGN_H

#include "global_util.h"

#define CAMPAIGN_NODES 5
#define CAMPAIGN_BEAM 2
#define CAMPAIGN_TICK 2
#define CAMPAIGN_MAX_REGS 256

typedef struct campaign_params {
  int steps, hold_ms, gap_ms;
} campaign_params;

static const campaign_params CAMPAIGN_CI = {.steps = 2, .hold_ms = 3000,
                                            .gap_ms = 500};

typedef struct campaign_result {
  bool pass;
  double seconds, sync_max_s, converge_s;
  int regs, yes, entries;
  char why[512];
} campaign_result;

static inline bool gk_sync_all(nodus_kit *kit, int ms) {
  bool ok = true;
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    if (!gk_alive(kit, i)) continue;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "sync %d", ms);
    char *a = gk_ask(kit, i, cmd, ms + 2000);
    if (!a || strcmp(a, "ok")) {
      fprintf(stderr, "sync on n%d: %s\n", i, a ? a : "(no answer)");
      ok = false;
    }
    free(a);
  }
  return ok;
}

typedef struct campaign_reg {
  char name[32];
  int node, inc;
  char id[32];
  long mark;
  int yes; /* 1 yes, 0 no, -1 no answer (yet) */
  char pid[160];
} campaign_reg;

typedef struct campaign {
  nodus_kit *kit;
  int inc[CAMPAIGN_NODES + 1];
  campaign_reg regs[CAMPAIGN_MAX_REGS];
  int nregs;
} campaign;

static inline void campaign_register(campaign *cp, int round) {
  for (int i = 1; i <= CAMPAIGN_NODES; i++) {
    if (!gk_alive(cp->kit, i) || nodus_kit_node_paused(cp->kit, i)) continue;
    for (int k = 0; k < 2 && cp->nregs < CAMPAIGN_MAX_REGS; k++) {
      campaign_reg *r = &cp->regs[cp->nregs++];
      if (k == 0) snprintf(r->name, sizeof r->name, "s%d_%d", i, round);
      else snprintf(r->name, sizeof r->name, "c%d", round);
      r->node = i;
      r->inc = cp->inc[i];
      r->yes = -1;
      r->mark = nodus_kit_log_mark(cp->kit, i);
      char cmd[64];
      snprintf(cmd, sizeof cmd, "reg %s exit", r->name);
      if (!gk_send(cp->kit, i, cmd, r->id, sizeof r->id)) r->yes = 0;
    }
  }
}

/* Collects answers of registrations of live incarnations; true when
 * every one has answered. */
static inline bool campaign_collect(campaign *cp) {
  bool all = true;
  for (int k = 0; k < cp->nregs; k++) {
    campaign_reg *r = &cp->regs[k];
    if (r->yes >= 0 || r->inc != cp->inc[r->node]) continue;
    char prefix[40];
    snprintf(prefix, sizeof prefix, "%s ", r->id);
    char *a = gk_line_after(cp->kit, r->node, r->mark, prefix);
    if (!a) {
      all = false;
      continue;
    }
    r->yes = !strncmp(a, "yes ", 4) ? 1 : 0;
    const char *sp = strchr(a, ' ');
    snprintf(r->pid, sizeof r->pid, "%s", sp ? sp + 1 : "");
    if (r->yes == 0 && strncmp(a, "no ", 3))
      fprintf(stderr, "reg %s on n%d: %s\n", r->name, r->node, a);
    free(a);
  }
  return all;
}

static inline bool campaign_pid_down(campaign *cp, const campaign_reg *r) {
  char needle[200];
  snprintf(needle, sizeof needle, "#down %s ", r->pid);
  return nodus_kit_log_count(cp->kit, r->node, 0, needle) > 0;
}

static inline void why_add(campaign_result *res, const char *fmt, ...) {
  size_t len = strlen(res->why);
  if (len + 4 >= sizeof res->why) return;
  if (len) {
    strcat(res->why, "; ");
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res->why + len, sizeof res->why - len, fmt, ap);
  va_end(ap);
  res->pass = false;
}

static inline bool campaign_crash_lines(nodus_kit *kit, int i) {
  static const char *const bad[] = {"AddressSanitizer", "runtime error:",
                                    "Segmentation", "Assertion", "core dumped",
                                    "Aborted"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    if (nodus_kit_log_count(kit, i, 0, bad[k]) > 0) return true;
  return false;
}

static inline int campaign_seed(uint64_t seed, const campaign_params *pp,
                         campaign_result *res) {
  static campaign cp;
  memset(&cp, 0, sizeof cp);
  memset(res, 0, sizeof *res);
  res->pass = true;
  int64_t t0 = nodus_kit_now_ns();
  fprintf(stderr, "== seed %llu: %d steps, hold %d ms, gap %d ms\n",
          (unsigned long long)seed, pp->steps, pp->hold_ms, pp->gap_ms);
  /* GLOBAL_CAMPAIGN_BEAM=5: the same schedule on an all-BEAM cluster. */
  const char *nb = getenv("GLOBAL_CAMPAIGN_BEAM");
  int beam = nb && *nb ? atoi(nb) : CAMPAIGN_BEAM;
  if (gk_up(&cp.kit, CAMPAIGN_NODES, beam, CAMPAIGN_TICK)) {
    why_add(res, "cluster up failed");
    return 1;
  }
  nodus_kit *kit = cp.kit;
  if (!gk_mesh(kit, 15000)) why_add(res, "initial mesh");
  if (!gk_sync_all(kit, 10000)) why_add(res, "initial sync");
  campaign_register(&cp, 0);
  if (!NODUS_EVENTUALLY(campaign_collect(&cp), 10000))
    why_add(res, "registrations on the healthy cluster unanswered after 10 s");

  nodus_kit_step steps[64];
  int nsteps = pp->steps < 64 ? pp->steps : 64;
  nodus_kit_schedule(seed, CAMPAIGN_NODES, nodus_kit_netns(kit), steps, nsteps);
  nodus_kit_note(kit, "global campaign seed=%llu", (unsigned long long)seed);
  for (int k = 0; k < nsteps; k++) {
    nodus_kit_step *st = &steps[k];
    char what[128] = "";
    if (st->kind == NODUS_KIT_F_PARTITION)
      nodus_kit_grudge_format(&st->grudge, what, sizeof what);
    else
      snprintf(what, sizeof what, "n%d %d", st->node, st->amount);
    fprintf(stderr, "-- seed %llu step %d: %s %s\n", (unsigned long long)seed,
            k + 1, nodus_kit_fault_name(st->kind), what);
    int rc = 0;
    switch (st->kind) {
    case NODUS_KIT_F_PARTITION: rc = nodus_kit_partition(kit, &st->grudge); break;
    case NODUS_KIT_F_KILL:
      rc = nodus_kit_kill(kit, st->node);
      cp.inc[st->node]++;
      break;
    case NODUS_KIT_F_PAUSE: rc = nodus_kit_pause(kit, st->node); break;
    case NODUS_KIT_F_LOSS: rc = nodus_kit_loss(kit, st->node, st->amount); break;
    case NODUS_KIT_F_DELAY: rc = nodus_kit_delay(kit, st->node, st->amount); break;
    }
    if (rc) why_add(res, "step %d: %s failed: %s", k + 1,
                    nodus_kit_fault_name(st->kind), nodus_strerror(rc));
    nodus_kit_sleep_ms(pp->hold_ms / 2);
    campaign_register(&cp, k + 1);
    nodus_kit_sleep_ms(pp->hold_ms - pp->hold_ms / 2);
    switch (st->kind) {
    case NODUS_KIT_F_KILL:
      rc = nodus_kit_restart(kit, st->node);
      if (!rc && nodus_kit_node_kind(kit, st->node) == NODUS_KIT_BEAM &&
          !gk_load(kit, st->node))
        rc = NODUS_EIO;
      break;
    case NODUS_KIT_F_PAUSE: rc = nodus_kit_resume(kit, st->node); break;
    default: rc = nodus_kit_heal(kit); break;
    }
    if (rc) why_add(res, "step %d: undo failed: %s", k + 1, nodus_strerror(rc));
    nodus_kit_sleep_ms(pp->gap_ms);
  }

  /* Heal everything, reconnect, sync. */
  nodus_kit_heal(kit);
  int64_t healed = nodus_kit_now_ns();
  if (!gk_mesh(kit, 30000)) why_add(res, "no full mesh 30 s after the heal");
  /* global:sync() (nodus_global_sync on C nodes) on every node at once;
   * each must answer within 10 s. */
  char sid[CAMPAIGN_NODES + 1][32];
  long smark[CAMPAIGN_NODES + 1];
  bool sent[CAMPAIGN_NODES + 1] = {false};
  int64_t s0 = nodus_kit_now_ns();
  for (int i = 1; i <= CAMPAIGN_NODES; i++) {
    if (!gk_alive(kit, i)) continue;
    smark[i] = nodus_kit_log_mark(kit, i);
    sent[i] = gk_send(kit, i, "sync 10000", sid[i], sizeof sid[i]);
  }
  for (int i = 1; i <= CAMPAIGN_NODES; i++) {
    if (!sent[i]) continue;
    int left = 12000 - (int)((nodus_kit_now_ns() - s0) / 1000000);
    char *a = gk_wait(kit, i, smark[i], sid[i], left > 0 ? left : 0);
    double dt = (nodus_kit_now_ns() - s0) / 1e9;
    if (a && !strcmp(a, "ok") && dt > res->sync_max_s) res->sync_max_s = dt;
    if (!a || strcmp(a, "ok"))
      why_add(res, "%s n%d: sync %s after %.1f s",
              nodus_kit_node_kind(kit, i) == NODUS_KIT_BEAM ? "BEAM" : "C", i,
              a ? a : "no answer", dt);
    free(a);
  }
  if (!NODUS_EVENTUALLY(campaign_collect(&cp), 15000)) {
    for (int k = 0; k < cp.nregs; k++)
      if (cp.regs[k].yes < 0 && cp.regs[k].inc == cp.inc[cp.regs[k].node])
        why_add(res, "reg %s on n%d never answered", cp.regs[k].name,
                cp.regs[k].node);
  }
  char *table = NULL;
  bool agree = NODUS_EVENTUALLY(({
                                  free(table);
                                  table = NULL;
                                  gk_tables_agree(kit, &table, false);
                                }),
                                10000);
  res->converge_s = (nodus_kit_now_ns() - healed) / 1e9;
  if (!agree) {
    why_add(res, "tables differ 10 s after the sync");
    gk_tables_agree(kit, NULL, true);
  }
  /* Every entry a live, current registration that said yes. */
  for (const char *p = table; agree && p && *p;) {
    const char *end = strchr(p, ',');
    char entry[256];
    snprintf(entry, sizeof entry, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
    p = end ? end + 1 : NULL;
    res->entries++;
    char *eq = strchr(entry, '=');
    if (!eq) continue;
    *eq = 0;
    const campaign_reg *match = NULL;
    for (int k = 0; k < cp.nregs; k++)
      if (!strcmp(cp.regs[k].name, entry) && !strcmp(cp.regs[k].pid, eq + 1) &&
          (!match || cp.regs[k].inc == cp.inc[cp.regs[k].node]))
        match = &cp.regs[k];
    if (!match) why_add(res, "%s=%s: no registration gave it", entry, eq + 1);
    else if (match->yes != 1) why_add(res, "%s=%s: its registration said no", entry, eq + 1);
    else if (match->inc != cp.inc[match->node])
      why_add(res, "%s=%s: its node n%d was killed since", entry, eq + 1, match->node);
    else if (campaign_pid_down(&cp, match))
      why_add(res, "%s=%s: its process is dead", entry, eq + 1);
  }
  /* Every live yes is in the table. */
  for (int k = 0; agree && k < cp.nregs; k++) {
    campaign_reg *r = &cp.regs[k];
    res->regs++;
    if (r->yes != 1) continue;
    res->yes++;
    if (r->inc != cp.inc[r->node] || campaign_pid_down(&cp, r)) continue;
    char p[160];
    if (!gk_table_pid(table, r->name, p, sizeof p) || strcmp(p, r->pid))
      why_add(res, "%s by n%d (%s, alive) lost: table has %s", r->name, r->node,
              r->pid, gk_table_pid(table, r->name, p, sizeof p) ? p : "nothing");
  }
  free(table);
  for (int i = 1; i <= CAMPAIGN_NODES; i++) {
    if (nodus_kit_node_kind(kit, i) != NODUS_KIT_C) continue;
    if (!gk_alive(kit, i)) why_add(res, "C node n%d is not running", i);
    if (campaign_crash_lines(kit, i)) why_add(res, "C node n%d logged a crash", i);
  }
  res->seconds = (nodus_kit_now_ns() - t0) / 1e9;
  if (!res->pass) {
    gk_dump_logs(kit, 40);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "echo '--- fault log' >&2; cat '%s' >&2",
             nodus_kit_fault_log(kit));
    if (system(cmd) != 0) {}
    /* The whole state dir (every node's log, the fault log) for replay. */
    snprintf(cmd, sizeof cmd, "rm -rf /tmp/global-campaign-fail-%llu && "
             "cp -r '%s' /tmp/global-campaign-fail-%llu && "
             "echo 'logs kept in /tmp/global-campaign-fail-%llu' >&2",
             (unsigned long long)seed, nodus_kit_state_dir(kit),
             (unsigned long long)seed, (unsigned long long)seed);
    if (system(cmd) != 0) {}
  }
  nodus_kit_down(kit);
  fprintf(stderr,
          "== seed %llu %s in %.1f s (regs %d, yes %d, entries %d, sync max "
          "%.2f s, converged %.2f s after heal)%s%s\n",
          (unsigned long long)seed, res->pass ? "PASS" : "FAIL", res->seconds,
          res->regs, res->yes, res->entries, res->sync_max_s, res->converge_s,
          res->pass ? "" : ": ", res->why);
  if (!res->pass)
    fprintf(stderr, "   replay: tests/cluster/global_campaign.sh %llu\n",
            (unsigned long long)seed);
  return res->pass ? 0 : 1;
}

#endif
