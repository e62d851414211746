/* ETF encode/decode speed of nodus, on the terms bench_etf.erl times on
 * BEAM (run both with bench/run_etf.sh).
 *
 *   bench_etf write DIR         writes each row's encoding to DIR/<row>.etf
 *   bench_etf run DIR [MIN_MS]  times the rows
 *
 * Between the two, bench_etf.erl reads DIR/<row>.etf and writes BEAM's own
 * encoding of the same term to DIR/<row>.beam.etf. Both sides then time
 * encoding the same term and decoding the same bytes (BEAM's: what a node
 * receives from BEAM peers; they differ from ours only in the key order of
 * maps of more than 32 keys). Timed here: nodus_etf_encode (+ free of the
 * buffer) and nodus_etf_decode (+ nodus_term_free); each timed run at least
 * MIN_MS (default 200) ms, best of 5. Prints one line per row: name, bytes,
 * encode ns/op, decode ns/op. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodus/term.h"

#define RUNS 5

static nodus_term atom(const char *name) {
  nodus_term t = {0};
  if (nodus_mk_atom(&t, name) != 0) {
    fprintf(stderr, "bench_etf: cannot make atom %s\n", name);
    exit(1);
  }
  return t;
}

static void must(int rc, const char *what) {
  if (rc) {
    fprintf(stderr, "bench_etf: %s: %s\n", what, nodus_strerror(rc));
    exit(1);
  }
}

/* {seq, 123} */
static nodus_term row_small_tuple(void) {
  nodus_term t;
  must(nodus_mk_tuple(&t, 2), "tuple");
  nodus_tuple_set(&t, 0, atom("seq"));
  nodus_tuple_set(&t, 1, nodus_int(123));
  return t;
}

/* A 1 KiB binary of bytes 0..255 repeated. */
static nodus_term row_binary_1k(void) {
  uint8_t data[1024];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
  nodus_term t;
  must(nodus_mk_binary(&t, data, sizeof data), "binary");
  return t;
}

/* #{k1 => 1, ..., k100 => 100} */
static nodus_term row_map_100(void) {
  nodus_term m;
  must(nodus_mk_map(&m), "map");
  for (int i = 1; i <= 100; i++) {
    char name[16];
    snprintf(name, sizeof name, "k%d", i);
    must(nodus_map_put(&m, atom(name), nodus_int(i)), "map_put");
  }
  return m;
}

/* lists:seq(1, 1000) */
static nodus_term row_list_1000(void) {
  nodus_term l;
  must(nodus_mk_list(&l, 1000), "list");
  for (size_t i = 0; i < 1000; i++) nodus_list_set(&l, i, nodus_int((int64_t)i + 1));
  return l;
}

/* [{user, Id, <<"name">>, [tag1, tag2], #{age => 20 + Id rem 50}}
 *  || Id <- lists:seq(1, 50)] */
static nodus_term row_records_50(void) {
  nodus_term l;
  must(nodus_mk_list(&l, 50), "list");
  for (int id = 1; id <= 50; id++) {
    nodus_term rec, name, tags, m;
    must(nodus_mk_tuple(&rec, 5), "tuple");
    nodus_tuple_set(&rec, 0, atom("user"));
    nodus_tuple_set(&rec, 1, nodus_int(id));
    must(nodus_mk_binary(&name, "name", 4), "binary");
    nodus_tuple_set(&rec, 2, name);
    must(nodus_mk_list(&tags, 2), "list");
    nodus_list_set(&tags, 0, atom("tag1"));
    nodus_list_set(&tags, 1, atom("tag2"));
    nodus_tuple_set(&rec, 3, tags);
    must(nodus_mk_map(&m), "map");
    must(nodus_map_put(&m, atom("age"), nodus_int(20 + id % 50)), "map_put");
    nodus_tuple_set(&rec, 4, m);
    nodus_list_set(&l, (size_t)id - 1, rec);
  }
  return l;
}

static const struct row {
  const char *name;
  nodus_term (*build)(void);
} rows[] = {
    {"small_tuple", row_small_tuple}, {"binary_1k", row_binary_1k},
    {"map_100", row_map_100},         {"list_1000", row_list_1000},
    {"records_50", row_records_50},
};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The compiler must not drop the work: results feed this. */
static volatile size_t sink;

static double time_encode(const nodus_term *t, long iters) {
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    uint8_t *buf;
    size_t len;
    if (nodus_etf_encode(t, NULL, &buf, &len) != 0) exit(1);
    sink += len + buf[len - 1];
    free(buf);
  }
  return now_ns() - t0;
}

static double time_decode(const uint8_t *buf, size_t len, long iters) {
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    nodus_term t;
    if (nodus_etf_decode(buf, len, NULL, &t, NULL) != 0) exit(1);
    sink += t.n;
    nodus_term_free(&t);
  }
  return now_ns() - t0;
}

/* Best ns/op of RUNS runs, each at least min_ns long (iterations grown
 * until a calibration run reaches it), as bench_etf.erl does. */
static double bench(int encode, const nodus_term *t, const uint8_t *buf, size_t len,
                    double min_ns) {
  long iters = 1;
  double elapsed;
  for (;;) {
    elapsed = encode ? time_encode(t, iters) : time_decode(buf, len, iters);
    if (elapsed >= min_ns) break;
    /* Jump close to the target, at most x10 at a time. */
    double scale = elapsed > 0 ? 1.2 * min_ns / elapsed : 10;
    iters = (long)((double)iters * (scale > 10 ? 10 : scale < 2 ? 2 : scale));
  }
  double best = 0;
  for (int r = 0; r < RUNS; r++) {
    elapsed = encode ? time_encode(t, iters) : time_decode(buf, len, iters);
    if (r == 0 || elapsed / (double)iters < best) best = elapsed / (double)iters;
  }
  return best;
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n == cap) buf = realloc(buf, cap = cap ? 2 * cap : 4096);
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "run") != 0)) {
    fprintf(stderr, "usage: %s write DIR | run DIR [MIN_MS]\n", argv[0]);
    return 2;
  }
  bool write = strcmp(argv[1], "write") == 0;
  double min_ns = (argc > 3 ? atof(argv[3]) : 200.0) * 1e6;
  for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
    nodus_term t = rows[r].build();
    char path[4096];
    if (write) {
      uint8_t *buf;
      size_t len;
      must(nodus_etf_encode(&t, NULL, &buf, &len), "encode");
      snprintf(path, sizeof path, "%s/%s.etf", argv[2], rows[r].name);
      FILE *f = fopen(path, "wb");
      if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "bench_etf: cannot write %s\n", path);
        return 1;
      }
      free(buf);
    } else {
      size_t len;
      snprintf(path, sizeof path, "%s/%s.beam.etf", argv[2], rows[r].name);
      uint8_t *buf = read_all(path, &len);
      nodus_term back;
      if (!buf || nodus_etf_decode(buf, len, NULL, &back, NULL) != 0 || !nodus_equal(&back, &t)) {
        fprintf(stderr, "bench_etf: %s missing or not the row's term\n", path);
        return 1;
      }
      nodus_term_free(&back);
      double enc = bench(1, &t, NULL, 0, min_ns);
      double dec = bench(0, NULL, buf, len, min_ns);
      printf("%s %zu %.1f %.1f\n", rows[r].name, len, enc, dec);
      fflush(stdout);
      free(buf);
    }
    nodus_term_free(&t);
  }
  return 0;
}
