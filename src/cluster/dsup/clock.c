/* The two clocks the supervisor reads: monotonic for leases and restart
 * intensity (it keeps counting while a process is stopped, which is what
 * makes a paused owner's lease run out), wall-clock ms for epochs and
 * member ages (comparable between nodes). */
#include <time.h>

#include "cluster/dsup/dsup_internal.h"

int64_t dsup_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t dsup_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
