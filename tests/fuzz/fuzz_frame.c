/* Arbitrary bytes through the frame reader and fragment reassembly:
 * byte 0 is the read chunk size (0 = all at once). Small limits so the
 * error paths are reached. Must never crash or leak, and how the bytes
 * arrive must not matter: read in chunks of that size and read all at
 * once, the same frames and whole messages come out, then the same error
 * or none, and every frame and message stays within its limits. A frame
 * or message over a limit is dropped alone (skipped, thrown away), and
 * the node-wide counts all come back when the reassembler goes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Relative: fuzz targets get no src/ include path. */
#include "../../src/distribution/frame.h"
#include "fuzz_assert.h"

#define MAX_FRAME (1u << 20)
#define MAX_BYTES (1u << 20)

/* What came out, as a running hash (FNV-1a 64) of every event. */
typedef struct outcome {
  uint64_t h;
  size_t frames, ticks, msgs;
  int error; /* the first negative code, 0 if none */
} outcome;

static void mix(outcome *o, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) o->h = (o->h ^ b[i]) * 0x100000001b3ull;
}
static void mix_u64(outcome *o, uint64_t v) { mix(o, &v, sizeof v); }

static void run(const uint8_t *data, size_t size, size_t chunk, outcome *o) {
  *o = (outcome){.h = 0xcbf29ce484222325ull};
  dist_frame_reader r;
  dist_defrag d;
  dist_frame_reader_init(&r, MAX_FRAME);
  dist_defrag_init(&d, 4, MAX_BYTES / 2);
  dist_defrag_shared sh = {.max_open = 6, .max_bytes = MAX_BYTES};
  d.shared = &sh;
  d.timeout_ms = 3;
  size_t pos = 0;
  while (pos < size && !o->error) {
    size_t n = chunk ? chunk : size - pos;
    if (n > size - pos) n = size - pos;
    size_t end = pos + n;
    while (pos < end) {
      size_t used = 0;
      const uint8_t *f;
      size_t fl;
      int rc = dist_frame_next(&r, data + pos, end - pos, &used, &f, &fl);
      FUZZ_ASSERT(used <= end - pos);
      pos += used;
      if (rc < 0) {
        o->error = rc;
        break;
      }
      FUZZ_ASSERT(rc == 0 || rc == 1 || rc == DIST_FRAME_SKIPPED);
      if (rc == 0) {
        FUZZ_ASSERT(pos == end); /* 0: all of it taken */
        break;
      }
      if (rc == DIST_FRAME_SKIPPED) { /* over the limit: dropped alone */
        FUZZ_ASSERT(fl > MAX_FRAME);
        mix_u64(o, 3);
        mix_u64(o, fl);
        continue;
      }
      FUZZ_ASSERT(fl <= MAX_FRAME);
      mix_u64(o, 1);
      mix_u64(o, fl);
      mix(o, f, fl);
      if (fl == 0) {
        o->ticks++;
        continue;
      }
      o->frames++;
      dist_msg m;
      rc = dist_defrag_frame(&d, f, fl, o->frames, &m);
      if (rc < 0) {
        o->error = rc;
        break;
      }
      FUZZ_ASSERT(rc == 0 || rc == 1 || rc == DIST_DEFRAG_DROPPED);
      FUZZ_ASSERT(d.open <= 4 && sh.open <= 6 && sh.bytes <= MAX_BYTES);
      if (rc == DIST_DEFRAG_DROPPED) mix_u64(o, 4);
      /* A message waiting more than 3 frames for its next fragment goes. */
      if (dist_defrag_expire(&d, o->frames) == DIST_DEFRAG_DROPPED)
        mix_u64(o, 5);
      if (rc == 1) {
        /* In the frame, or reassembled within the limit. */
        FUZZ_ASSERT(m.len <= (fl > MAX_BYTES ? fl : MAX_BYTES));
        o->msgs++;
        mix_u64(o, 2);
        mix_u64(o, m.len);
        mix_u64(o, m.versioned);
        if (m.len) mix(o, m.data, m.len);
      }
    }
  }
  dist_frame_reader_free(&r);
  dist_defrag_free(&d);
  FUZZ_ASSERT(sh.open == 0 && sh.bytes == 0); /* all given back */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = data[0];
  data++, size--;
  outcome chunked, whole;
  run(data, size, chunk, &chunked);
  if (chunk == 0 || chunk >= size) return 0; /* that was all at once */
  run(data, size, 0, &whole);
  FUZZ_ASSERT(chunked.error == whole.error);
  FUZZ_ASSERT(chunked.frames == whole.frames && chunked.ticks == whole.ticks &&
              chunked.msgs == whole.msgs);
  FUZZ_ASSERT(chunked.h == whole.h);
  return 0;
}
