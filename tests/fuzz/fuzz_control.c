/* Fuzz target: a distribution message after its frame header — the control
 * tuple and payload, with and without version bytes, as conn.c hands them
 * to the runtime. */
#include <stddef.h>
#include <stdint.h>

#include "dist/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nodus_decode_opts opts = {.max_depth = 64, .max_size = 1 << 20,
                            .max_new_atoms = 64};
  dist_ctl_msg msg;
  /* Partial results must be freeable whatever the outcome. */
  dist_ctl_decode(data, size, &opts, &msg);
  dist_ctl_free(&msg);
  dist_ctl_decode_unversioned(data, size, &opts, &msg);
  dist_ctl_free(&msg);
  return 0;
}
