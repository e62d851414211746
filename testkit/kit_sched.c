/* Seeded random fault schedules: the same seed gives the same faults, so
 * a failing run can be replayed with NODUS_SEED. */
#include <stdio.h>

#include "kit_internal.h"

/* splitmix64: tiny, good enough, and the same on every platform. */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int below(uint64_t *s, int n) { return (int)(next(s) % (uint64_t)n); }

const char *nodus_kit_fault_name(int kind) {
  static const char *const names[] = {"partition", "kill", "pause", "loss",
                                      "delay"};
  return kind >= 0 && kind < NODUS_KIT_F_COUNT ? names[kind] : "?";
}

void nodus_kit_schedule(uint64_t seed, int n, bool netns,
                        nodus_kit_step *steps, int count) {
  uint64_t s = seed;
  for (int k = 0; k < count; k++) {
    nodus_kit_step *st = &steps[k];
    *st = (nodus_kit_step){0};
    int kind;
    do kind = below(&s, NODUS_KIT_F_COUNT);
    while (!netns && (kind == NODUS_KIT_F_PARTITION ||
                      kind == NODUS_KIT_F_LOSS || kind == NODUS_KIT_F_DELAY));
    st->kind = kind;
    st->node = 1 + below(&s, n);
    switch (kind) {
    case NODUS_KIT_F_PARTITION:
      switch (below(&s, n >= 5 ? 4 : 3)) {
      case 0: nodus_kit_grudge_halves(&st->grudge, n); break;
      case 1: nodus_kit_grudge_isolate(&st->grudge, n, st->node); break;
      case 2: nodus_kit_grudge_bridge(&st->grudge, n); break;
      default: nodus_kit_grudge_ring(&st->grudge, n); break;
      }
      break;
    case NODUS_KIT_F_LOSS: st->amount = 10 + 10 * below(&s, 5); break;
    case NODUS_KIT_F_DELAY: st->amount = 20 + 20 * below(&s, 5); break;
    default: break;
    }
  }
}

int nodus_kit_schedule_run(nodus_kit *kit, uint64_t seed, int count,
                           int hold_ms, int gap_ms) {
  if (count < 0 || count > 1000) return NODUS_EINVAL;
  nodus_kit_step steps[count > 0 ? count : 1];
  nodus_kit_schedule(seed, kit->n, kit->netns, steps, count);
  nodus_kit_note(kit, "schedule seed=%llu steps=%d hold_ms=%d gap_ms=%d",
                 (unsigned long long)seed, count, hold_ms, gap_ms);
  int rc = 0;
  for (int k = 0; k < count && !rc; k++) {
    nodus_kit_step *st = &steps[k];
    switch (st->kind) {
    case NODUS_KIT_F_PARTITION: rc = nodus_kit_partition(kit, &st->grudge); break;
    case NODUS_KIT_F_KILL: rc = nodus_kit_kill(kit, st->node); break;
    case NODUS_KIT_F_PAUSE: rc = nodus_kit_pause(kit, st->node); break;
    case NODUS_KIT_F_LOSS: rc = nodus_kit_loss(kit, st->node, st->amount); break;
    case NODUS_KIT_F_DELAY: rc = nodus_kit_delay(kit, st->node, st->amount); break;
    }
    if (rc) break;
    nodus_kit_sleep_ms(hold_ms);
    switch (st->kind) {
    case NODUS_KIT_F_KILL: rc = nodus_kit_restart(kit, st->node); break;
    case NODUS_KIT_F_PAUSE: rc = nodus_kit_resume(kit, st->node); break;
    default: rc = nodus_kit_heal(kit); break;
    }
    nodus_kit_sleep_ms(gap_ms);
  }
  return rc;
}
