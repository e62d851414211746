/* Fuzz target: the dsup failure detector's heartbeat datagram
 * (src/cluster/dsup/heartbeat.c). A datagram that parses names a dsup and
 * a node of 1..255 bytes inside the buffer, and encodes again to the very
 * same bytes. */
#include <stdint.h>
#include <string.h>

#include "cluster/dsup/heartbeat.h"
#include "fuzz_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dsup_hb hb;
  if (dsup_hb_parse(data, size, &hb)) return 0;
  FUZZ_ASSERT(hb.dsup_len >= 1 && hb.dsup_len <= 255);
  FUZZ_ASSERT(hb.node_len >= 1 && hb.node_len <= 255);
  FUZZ_ASSERT((const uint8_t *)hb.dsup >= data &&
              (const uint8_t *)hb.node + hb.node_len <= data + size);
  /* Names with a NUL can't be C strings: they parse, never encode. */
  if (memchr(hb.dsup, 0, hb.dsup_len) || memchr(hb.node, 0, hb.node_len))
    return 0;
  char a[256], b[256];
  memcpy(a, hb.dsup, hb.dsup_len), a[hb.dsup_len] = 0;
  memcpy(b, hb.node, hb.node_len), b[hb.node_len] = 0;
  uint8_t again[DSUP_HB_MAX];
  int n = dsup_hb_encode(again, a, b);
  FUZZ_ASSERT(n == (int)size && !memcmp(again, data, size));
  return 0;
}
