/* Frames, ticks, split reads, fragments in and out, limits. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "distribution/frame.h"
#include "nodus/error.h"

static size_t put_frame(uint8_t *out, const uint8_t *body, size_t n) {
  out[0] = (uint8_t)(n >> 24), out[1] = (uint8_t)(n >> 16);
  out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
  if (n) memcpy(out + 4, body, n);
  return 4 + n;
}

static void be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static void test_reader(void) {
  uint8_t wire[256];
  size_t n = 0;
  n += put_frame(wire + n, (const uint8_t *)"p\x83h", 3);
  n += put_frame(wire + n, NULL, 0); /* tick */
  n += put_frame(wire + n, (const uint8_t *)"hello", 5);
  for (size_t chunk = 1; chunk <= n; chunk++) {
    dist_frame_reader r;
    dist_frame_reader_init(&r, 1024);
    size_t got[8], frames = 0, pos = 0;
    bool zero_copy_seen = false;
    while (pos < n) {
      size_t end = pos + chunk < n ? pos + chunk : n, p = pos;
      while (p < end) {
        size_t used;
        const uint8_t *f;
        size_t fl;
        int rc = dist_frame_next(&r, wire + p, end - p, &used, &f, &fl);
        CHECK(rc >= 0);
        p += used;
        if (rc == 1 && frames < 8) {
          if (fl && f >= wire && f < wire + n) zero_copy_seen = true;
          if (frames == 2) CHECK(memcmp(f, "hello", 5) == 0);
          got[frames++] = fl;
        }
        if (rc == 0) CHECK(p == end);
      }
      pos = end;
    }
    CHECK(frames == 3);
    CHECK(got[0] == 3 && got[1] == 0 && got[2] == 5);
    if (chunk == n) CHECK(zero_copy_seen);
    dist_frame_reader_free(&r);
  }
  /* Over the limit: that frame is skipped, the next one read. */
  dist_frame_reader r;
  dist_frame_reader_init(&r, 4);
  size_t used;
  const uint8_t *f;
  size_t fl;
  n = put_frame(wire, (const uint8_t *)"hello", 5);
  n += put_frame(wire + n, (const uint8_t *)"ok", 2);
  CHECK_RC(dist_frame_next(&r, wire, n, &used, &f, &fl), DIST_FRAME_SKIPPED);
  CHECK(fl == 5 && used == 9);
  CHECK_RC(dist_frame_next(&r, wire + used, n - used, &used, &f, &fl), 1);
  CHECK(fl == 2 && memcmp(f, "ok", 2) == 0);
  /* Byte by byte: skipped once, then the next frame whole. */
  int skipped = 0, frames = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = dist_frame_next(&r, wire + i, 1, &used, &f, &fl);
    CHECK(used == 1);
    skipped += rc == DIST_FRAME_SKIPPED;
    if (rc == 1) {
      frames++;
      CHECK(fl == 2 && memcmp(f, "ok", 2) == 0);
    }
  }
  CHECK(skipped == 1 && frames == 1);
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff}, junk[100] = {0};
  CHECK_RC(dist_frame_next(&r, huge, 4, &used, &f, &fl), DIST_FRAME_SKIPPED);
  CHECK(fl == 0xffffffffu && r.skip == fl);
  CHECK_RC(dist_frame_next(&r, junk, sizeof junk, &used, &f, &fl), 0);
  CHECK(used == sizeof junk && r.skip == 0xffffffffu - sizeof junk);
  dist_frame_reader_free(&r);
}

/* A 131,69/70 fragment frame (without the length prefix). */
static size_t frag(uint8_t *out, bool first, uint64_t seq, uint64_t id,
                   const char *data) {
  size_t k = 0;
  out[k++] = 131;
  out[k++] = first ? 69 : 70;
  be64(out + k, seq), k += 8;
  be64(out + k, id), k += 8;
  if (first) out[k++] = 0;
  memcpy(out + k, data, strlen(data));
  return k + strlen(data);
}

static void test_defrag(void) {
  dist_defrag d;
  dist_defrag_init(&d, 2, 64);
  dist_msg m;
  uint8_t f[128];
  /* Plain and 68 headers. */
  CHECK_RC(dist_defrag_frame(&d, (const uint8_t *)"p\x83hX", 4, 0, &m), 1);
  CHECK(m.versioned && m.len == 3 && m.data[0] == 131);
  CHECK_RC(dist_defrag_frame(&d, (const uint8_t *)"\x83\x44\0hX", 5, 0, &m), 1);
  CHECK(!m.versioned && m.len == 2 && m.data[0] == 'h');
  CHECK_RC(dist_defrag_frame(&d, (const uint8_t *)"\x83\x44\1hX", 5, 0, &m),
           NODUS_EUNSUPPORTED);
  CHECK_RC(dist_defrag_frame(&d, (const uint8_t *)"p", 1, 0, &m), NODUS_EBADETF);
  CHECK_RC(dist_defrag_frame(&d, (const uint8_t *)"px", 2, 0, &m), NODUS_EBADETF);
  CHECK_RC(dist_defrag_frame(&d, (const uint8_t *)"\x83\x47", 2, 0, &m),
           NODUS_EBADETF);

  /* Two interleaved sequences. */
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 7, 3, "AAA"), 0, &m), 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 9, 2, "xx"), 0, &m), 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 7, 2, "BBB"), 0, &m), 0);
  /* A third sequence is over max_open: dropped alone, its fragments
   * thrown away as they come, the stream goes on. */
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 11, 3, "z"), 0, &m),
           DIST_DEFRAG_DROPPED);
  CHECK(strstr(d.why, "more than 2 messages in fragments at once") != NULL);
  CHECK(d.open == 2 && d.discarding == 1);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 11, 2, "zz"), 0, &m), 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 9, 1, "yy"), 0, &m), 1);
  CHECK(m.len == 4 && memcmp(m.data, "xxyy", 4) == 0 && !m.versioned);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 11, 1, "z"), 0, &m), 0);
  CHECK(d.discarding == 0); /* its last fragment: forgotten */
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 7, 1, "C"), 0, &m), 1);
  CHECK(m.len == 7 && memcmp(m.data, "AAABBBC", 7) == 0);
  CHECK(d.open == 0 && d.buffered == 0);

  /* A sequence of one. */
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 5, 1, "one"), 0, &m), 1);
  CHECK(m.len == 3);
  /* Errors: unknown sequence, wrong order, FragId 0, duplicate start. */
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 99, 1, "q"), 0, &m),
           NODUS_EBADETF);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 1, 3, "a"), 0, &m), 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 1, 1, "b"), 0, &m),
           NODUS_EBADETF);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 1, 3, "a"), 0, &m),
           NODUS_EBADETF);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 2, 0, "a"), 0, &m),
           NODUS_EBADETF);
  CHECK_RC(dist_defrag_frame(&d, f, 18, 0, &m), NODUS_EBADETF); /* truncated */
  /* Byte limit: 64 a message, dropped alone. */
  char big[80];
  memset(big, 'k', 70);
  big[70] = 0;
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 3, 2, big), 0, &m),
           DIST_DEFRAG_DROPPED);
  CHECK(strstr(d.why, "over 64 bytes (max_message)") != NULL);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 3, 1, "k"), 0, &m), 0);
  memset(big, 'k', 40);
  big[40] = 0;
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 4, 3, big), 0, &m), 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 4, 2, big), 0, &m),
           DIST_DEFRAG_DROPPED); /* 40 + 40 > 64: goes in the middle */
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 4, 1, "k"), 0, &m), 0);
  CHECK(d.buffered == 1 && d.discarding == 0); /* sequence 1's "a" */
  dist_defrag_free(&d); /* frees the open sequence 1 */
}

/* The node-wide bounds, shared by two connections' reassemblers, and the
 * wait for a message's next fragment. */
static void test_defrag_shared(void) {
  dist_defrag_shared sh = {.max_open = 2, .max_bytes = 10};
  dist_defrag a, b;
  dist_defrag_init(&a, 8, 1000);
  dist_defrag_init(&b, 8, 1000);
  a.shared = b.shared = &sh;
  dist_msg m;
  uint8_t f[64];
  CHECK_RC(dist_defrag_frame(&a, f, frag(f, true, 1, 2, "aaaa"), 0, &m), 0);
  CHECK_RC(dist_defrag_frame(&b, f, frag(f, true, 1, 2, "bbbb"), 0, &m), 0);
  CHECK(sh.open == 2 && sh.bytes == 8);
  CHECK_RC(dist_defrag_frame(&b, f, frag(f, true, 2, 2, "c"), 0, &m),
           DIST_DEFRAG_DROPPED);
  CHECK(strstr(b.why, "on this node (max_fragmented_total)") != NULL);
  CHECK_RC(dist_defrag_frame(&a, f, frag(f, false, 1, 1, "aaa"), 0, &m),
           DIST_DEFRAG_DROPPED); /* 8 + 3 > 10 bytes on the node */
  CHECK(strstr(a.why, "(max_fragment_bytes)") != NULL);
  CHECK(sh.open == 1 && sh.bytes == 4 && a.discarding == 0);
  CHECK_RC(dist_defrag_frame(&b, f, frag(f, false, 1, 1, "b"), 0, &m), 1);
  CHECK(m.len == 5 && sh.open == 0 && sh.bytes == 0);
  dist_defrag_free(&a);
  dist_defrag_free(&b);

  /* A message whose next fragment is late is dropped; what comes of it
   * afterwards is thrown away. */
  dist_defrag d;
  dist_defrag_init(&d, 8, 1000);
  d.timeout_ms = 100;
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, true, 5, 3, "x"), 1000, &m), 0);
  CHECK_RC(dist_defrag_expire(&d, 1050), 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 5, 2, "y"), 1090, &m), 0);
  CHECK_RC(dist_defrag_expire(&d, 1150), 0); /* 60 ms since the last one */
  CHECK_RC(dist_defrag_expire(&d, 1191), DIST_DEFRAG_DROPPED);
  CHECK(strstr(d.why, "1 message in fragments waited more than 100 ms") !=
        NULL);
  CHECK(d.open == 0 && d.discarding == 1 && d.buffered == 0);
  CHECK_RC(dist_defrag_frame(&d, f, frag(f, false, 5, 1, "z"), 2000, &m), 0);
  CHECK(d.discarding == 0);
  dist_defrag_free(&d);
}

/* Writes a message through dist_msg_writer, reads it back through the
 * reader and the reassembler. */
static void roundtrip(bool fragments, size_t payload_len, size_t frag_size,
                      uint64_t want_frames) {
  uint8_t ctl[] = {131, 104, 2, 97, 2, 100};
  uint8_t *payload = malloc(payload_len);
  payload[0] = 131;
  for (size_t i = 1; i < payload_len; i++) payload[i] = (uint8_t)i;
  dist_msg_writer w;
  CHECK_RC(dist_msg_writer_init(&w, fragments, 77, ctl, sizeof ctl, payload,
                                payload_len, frag_size),
           0);
  CHECK(dist_msg_writer_frames(&w) == want_frames);
  size_t cap = payload_len + 64 * (size_t)want_frames + 64, n = 0;
  uint8_t *wire = malloc(cap);
  dist_iov iov[3];
  int k;
  uint64_t frames = 0;
  while ((k = dist_msg_writer_next(&w, iov)) > 0) {
    frames++;
    for (int i = 0; i < k; i++) {
      memcpy(wire + n, iov[i].base, iov[i].len);
      n += iov[i].len;
    }
  }
  CHECK(frames == want_frames);
  dist_frame_reader r;
  dist_frame_reader_init(&r, 1u << 24);
  dist_defrag d;
  dist_defrag_init(&d, 4, 1u << 24);
  size_t pos = 0, msgs = 0;
  while (pos < n) {
    size_t used, fl;
    const uint8_t *f;
    int rc = dist_frame_next(&r, wire + pos, n - pos, &used, &f, &fl);
    pos += used;
    CHECK(rc == 1);
    if (rc != 1) break;
    if (fragments && frames > 1) CHECK(fl <= frag_size + 19);
    dist_msg m;
    rc = dist_defrag_frame(&d, f, fl, 0, &m);
    CHECK(rc >= 0);
    if (rc == 1) {
      msgs++;
      size_t skip = m.versioned ? 0 : 1; /* no 131 after a dist header */
      CHECK(m.versioned == !fragments);
      CHECK(m.len == sizeof ctl + payload_len - 2 * skip);
      CHECK(memcmp(m.data, ctl + skip, sizeof ctl - skip) == 0);
      CHECK(memcmp(m.data + sizeof ctl - skip, payload + skip,
                   payload_len - skip) == 0);
    }
  }
  CHECK(msgs == 1);
  dist_frame_reader_free(&r);
  dist_defrag_free(&d);
  free(wire);
  free(payload);
}

static void test_writer(void) {
  roundtrip(false, 200000, DIST_FRAGMENT_SIZE, 1);
  roundtrip(true, 100, DIST_FRAGMENT_SIZE, 1); /* 131,68,0 */
  /* BEAM's split: 200000 + 5 control bytes after 131s -> 4 fragments */
  roundtrip(true, 200000, DIST_FRAGMENT_SIZE, 4);
  roundtrip(true, 1000, 10, 101);
  roundtrip(true, 11, 10, 2);
  /* Control-only message with fragments on. */
  uint8_t ctl[] = {131, 104, 1, 97, 1};
  dist_msg_writer w;
  CHECK_RC(dist_msg_writer_init(&w, true, 1, ctl, sizeof ctl, NULL, 0, 10),
           0);
  dist_iov iov[3];
  CHECK(dist_msg_writer_next(&w, iov) == 2);
  CHECK(iov[0].len == 7 && iov[0].base[4] == 131 && iov[0].base[5] == 68);
  CHECK(iov[0].base[3] == 3 + 4);
  CHECK(dist_msg_writer_next(&w, iov) == 0);
  /* Bad input. */
  uint8_t bad[] = {104, 1, 97, 1};
  CHECK_RC(dist_msg_writer_init(&w, true, 1, bad, sizeof bad, NULL, 0, 10),
           NODUS_EINVAL);
  CHECK_RC(dist_msg_writer_init(&w, true, 1, ctl, sizeof ctl, bad, 4, 10),
           NODUS_EINVAL);
  CHECK_RC(dist_msg_writer_init(&w, true, 1, ctl, sizeof ctl, NULL, 0, 0),
           NODUS_EINVAL);
  uint8_t hdr[5];
  CHECK_RC(dist_frame_pass_through_header(hdr, 3, 4), 0);
  CHECK(hdr[3] == 8 && hdr[4] == 112);
}

int main(void) {
  test_reader();
  test_defrag();
  test_defrag_shared();
  test_writer();
  return check_report();
}
