/* What a node takes from its peers: the log line budget for drops. */
#include "check.h"
#include "distribution/ratelimit.h"
#include "nodus/error.h"

static void test_ratelimit(void) {
  dist_ratelimit r = {.window_ms = 1000, .burst = 3};
  uint64_t held = 99;
  CHECK(dist_ratelimit_allow(&r, 5000, &held) && held == 0);
  CHECK(dist_ratelimit_allow(&r, 5100, &held) && held == 0);
  CHECK(dist_ratelimit_allow(&r, 5200, &held) && held == 0);
  for (int i = 0; i < 100; i++) CHECK(!dist_ratelimit_allow(&r, 5300, &held));
  /* The next window lets lines through again and tells what was held. */
  CHECK(dist_ratelimit_allow(&r, 6000, &held) && held == 100);
  CHECK(dist_ratelimit_allow(&r, 6001, &held) && held == 0);
  dist_ratelimit d = {0}; /* defaults: 10 a second */
  int let = 0;
  for (int i = 0; i < 50; i++) let += dist_ratelimit_allow(&d, 7, &held);
  CHECK(let == 10);
}

int main(void) {
  test_ratelimit();
  return check_report();
}
