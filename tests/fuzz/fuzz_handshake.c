/* Arbitrary bytes into the handshake: byte 0 picks the side (bit 0) and
 * the feed chunk size (bits 1..7, 0 = all at once); the rest is what the
 * peer "sent". The challenge is fixed so a corpus entry can carry a valid
 * digest and reach the last states. Must never crash or leak; a feed that
 * asks for more has taken every byte; and how the bytes arrive must not
 * matter: fed in chunks and fed all at once, the handshake writes the same
 * bytes, takes the same number of input bytes, and ends the same way (the
 * same result, error text, peer, status and flags). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Relative: fuzz targets get no src/ include path. */
#include "../../src/distribution/dist_flags.h"
#include "../../src/distribution/handshake.h"
#include "fuzz_assert.h"

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

typedef struct outcome {
  uint64_t out_hash; /* FNV-1a 64 of everything it wrote */
  size_t out_len, taken;
  dist_hs_result result;
  char error[256];
  char peer[DIST_NAME_MAX + 1];
  uint64_t flags;
  dist_hs_status status;
} outcome;

static void mix(outcome *o, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    o->out_hash = (o->out_hash ^ p[i]) * 0x100000001b3ull;
  o->out_len += n;
}

/* Returns false when the handshake could not even be made. */
static bool run(bool initiator, const uint8_t *data, size_t size,
                size_t chunk, outcome *o) {
  memset(o, 0, sizeof *o);
  o->out_hash = 0xcbf29ce484222325ull;
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
  if (dist_hs_new(&hs, &c) != 0) return false;
  if (initiator) dist_hs_start(hs);
  size_t pos = 0, out;
  const uint8_t *bytes = dist_hs_output(hs, &out);
  mix(o, bytes, out);
  dist_hs_consumed(hs, out);
  dist_hs_result r = DIST_HS_MORE;
  while (pos < size && r == DIST_HS_MORE) {
    size_t n = chunk ? chunk : size - pos, used = 0;
    if (n > size - pos) n = size - pos;
    r = dist_hs_feed(hs, data + pos, n, &used);
    FUZZ_ASSERT(used <= n);
    FUZZ_ASSERT(r == DIST_HS_MORE || r == DIST_HS_DONE || r == DIST_HS_FAILED);
    /* More wanted: then it took all it was given. */
    FUZZ_ASSERT(r != DIST_HS_MORE || used == n);
    pos += used;
    bytes = dist_hs_output(hs, &out);
    mix(o, bytes, out);
    dist_hs_consumed(hs, out);
  }
  if (r == DIST_HS_MORE) {
    r = dist_hs_closed(hs);
    FUZZ_ASSERT(r == DIST_HS_FAILED);
    bytes = dist_hs_output(hs, &out);
    mix(o, bytes, out);
    dist_hs_consumed(hs, out);
  }
  o->result = r;
  o->taken = pos;
  const char *err = dist_hs_error(hs);
  if (err) snprintf(o->error, sizeof o->error, "%s", err);
  if (r == DIST_HS_DONE) {
    FUZZ_ASSERT(!err || !err[0]);
    o->flags = dist_hs_flags(hs);
    /* What we required, the peer has. */
    FUZZ_ASSERT((o->flags & DFLAG_MANDATORY_25) == DFLAG_MANDATORY_25);
    snprintf(o->peer, sizeof o->peer, "%s", dist_hs_peer_info(hs)->name);
  } else {
    FUZZ_ASSERT(err && err[0]); /* a failure says why */
  }
  o->status = dist_hs_last_status(hs);
  dist_hs_free(hs);
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  bool initiator = data[0] & 1;
  size_t chunk = data[0] >> 1;
  data++, size--;
  outcome chunked, whole;
  if (!run(initiator, data, size, chunk, &chunked)) return 0;
  if (chunk == 0 || chunk >= size) return 0; /* that was all at once */
  FUZZ_ASSERT(run(initiator, data, size, 0, &whole));
  FUZZ_ASSERT(chunked.result == whole.result);
  FUZZ_ASSERT(chunked.taken == whole.taken);
  FUZZ_ASSERT(chunked.out_len == whole.out_len &&
              chunked.out_hash == whole.out_hash);
  FUZZ_ASSERT(!strcmp(chunked.error, whole.error));
  FUZZ_ASSERT(!strcmp(chunked.peer, whole.peer));
  FUZZ_ASSERT(chunked.flags == whole.flags);
  FUZZ_ASSERT(chunked.status == whole.status);
  return 0;
}
