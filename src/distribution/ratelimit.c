/* The log line budget (see ratelimit.h). */
#include "distribution/ratelimit.h"

bool dist_ratelimit_allow(dist_ratelimit *r, uint64_t now_ms,
                          uint64_t *held_back) {
  uint64_t window = r->window_ms ? r->window_ms : 1000;
  unsigned burst = r->burst ? r->burst : 10;
  if (now_ms - r->window_start >= window || now_ms < r->window_start) {
    r->window_start = now_ms;
    r->used = 0;
  }
  if (r->used >= burst) {
    r->held++;
    return false;
  }
  r->used++;
  *held_back = r->held;
  r->held = 0;
  return true;
}
