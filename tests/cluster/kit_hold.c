/* kit_hold: brings a small cluster up, prints "up PREFIX", then waits to
 * be interrupted (at most 120 s). For the teardown-on-interrupt test. */
#include <stdio.h>
#include <unistd.h>

#include "nodus_testkit.h"

int main(int argc, char **argv) {
  nodus_kit *kit;
  int beam = argc > 1 && argv[1][0] == 'b';
  if (nodus_kit_fixture(&kit, 2, beam, NULL)) return 1;
  printf("up %s\n", nodus_kit_prefix(kit));
  fflush(stdout);
  for (int k = 0; k < 1200; k++) nodus_kit_sleep_ms(100);
  nodus_kit_down(kit);
  return 0;
}
