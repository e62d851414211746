/* Arbitrary bytes into the handshake: byte 0 picks the side (bit 0) and
 * the feed chunk size (bits 1..7, 0 = all at once); the rest is what the
 * peer "sent". The challenge is fixed so a corpus entry can carry a valid
 * digest and reach the last states. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>

/* Relative: fuzz targets get no src/ include path. */
#include "../../src/dist/dist_flags.h"
#include "../../src/dist/handshake.h"

static uint32_t fixed_challenge(void *arg) {
  (void)arg;
  return 0xdeadbeefu;
}

static dist_hs_status decide(void *arg, const dist_hs_peer *peer) {
  (void)arg;
  /* Vary the status with the peer's name, to reach every path. */
  return (dist_hs_status)((unsigned char)peer->name[0] % 5);
}

static bool replace(void *arg, const dist_hs_peer *peer) {
  (void)arg;
  (void)peer;
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  bool initiator = data[0] & 1;
  size_t chunk = data[0] >> 1;
  data++, size--;
  dist_hs_config c = {
      .this_name = initiator ? "alice@host" : "bob@host",
      .cookie = "cookie",
      .flags = NODUS_DFLAGS_DEFAULT,
      .required_flags = DFLAG_MANDATORY_25,
      .creation = 7,
      .initiator = initiator,
      .decide = decide,
      .alive_replace = replace,
      .challenge = fixed_challenge,
  };
  dist_hs *hs;
  if (dist_hs_new(&hs, &c) != 0) return 0;
  if (initiator) dist_hs_start(hs);
  size_t pos = 0;
  dist_hs_result r = DIST_HS_MORE;
  while (pos < size && r == DIST_HS_MORE) {
    size_t n = chunk ? chunk : size - pos, used = 0;
    if (n > size - pos) n = size - pos;
    r = dist_hs_feed(hs, data + pos, n, &used);
    pos += used;
    size_t out;
    dist_hs_output(hs, &out);
    dist_hs_consumed(hs, out);
    if (r == DIST_HS_MORE && used != n) break; /* would be a bug; stop */
  }
  if (r == DIST_HS_MORE) dist_hs_closed(hs);
  (void)dist_hs_error(hs);
  (void)dist_hs_flags(hs);
  dist_hs_free(hs);
  return 0;
}
