/* A log line budget: at most `burst` lines per window, and the count of
 * the lines held back told with the next one let through, so a flood of
 * drops or refusals is a few lines a second, not a log flood. */
#ifndef NODUS_DIST_RATELIMIT_H
#define NODUS_DIST_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dist_ratelimit {
  uint64_t window_ms; /* 0: 1000 */
  unsigned burst;     /* 0: 10 */
  uint64_t window_start;
  unsigned used;
  uint64_t held; /* lines held back since the last one let through */
} dist_ratelimit;

/* Whether a line may go out at now_ms; when it may, *held_back gets the
 * number of lines held back before it (and the count restarts). */
bool dist_ratelimit_allow(dist_ratelimit *r, uint64_t now_ms,
                          uint64_t *held_back);

#endif
