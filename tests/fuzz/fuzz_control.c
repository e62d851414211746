/* Fuzz target: a distribution message after its frame header — the control
 * tuple and payload, with and without version bytes, as conn.c hands them
 * to the runtime. Partial results must be freeable whatever the outcome;
 * a message that decodes must survive a round trip: dist_ctl_encode of its
 * parts decodes to the same op and =:= control and payload, and encodes
 * again to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distribution/control.h"
#include "fuzz_assert.h"

static void round_trip(const dist_ctl_msg *m) {
  uint8_t *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  FUZZ_ASSERT(dist_ctl_encode(&m->control, &m->payload, &a, &alen) == 0);
  /* Default limits: the re-encoding may be larger than the input was
   * (a compressed term comes back uncompressed). */
  dist_ctl_msg again;
  FUZZ_ASSERT(dist_ctl_decode(a, alen, NULL, &again) == 0);
  FUZZ_ASSERT(again.op == m->op);
  FUZZ_ASSERT(nodus_equal(&again.control, &m->control));
  FUZZ_ASSERT(again.payload.type == m->payload.type);
  if (m->payload.type != NODUS_T_NONE)
    FUZZ_ASSERT(nodus_equal(&again.payload, &m->payload));
  FUZZ_ASSERT(dist_ctl_encode(&again.control, &again.payload, &b, &blen) == 0);
  FUZZ_ASSERT(alen == blen && memcmp(a, b, alen) == 0);
  free(a);
  free(b);
  dist_ctl_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* As a node decodes (no depth bound), with small size and atom limits. */
  nodus_decode_opts opts = {.max_size = 1 << 20, .max_new_atoms = 64};
  dist_ctl_msg msg;
  int rc = dist_ctl_decode(data, size, &opts, &msg);
  FUZZ_ASSERT(rc <= 0);
  if (rc == 0) {
    FUZZ_ASSERT(dist_ctl_has_payload(msg.op) == (msg.payload.type != NODUS_T_NONE));
    round_trip(&msg);
  }
  dist_ctl_free(&msg);
  rc = dist_ctl_decode_unversioned(data, size, &opts, &msg);
  FUZZ_ASSERT(rc <= 0);
  if (rc == 0) {
    FUZZ_ASSERT(dist_ctl_has_payload(msg.op) == (msg.payload.type != NODUS_T_NONE));
    round_trip(&msg);
  }
  dist_ctl_free(&msg);
  return 0;
}
