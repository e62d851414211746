/* Replays BEAM's verdicts on pairs of terms through nodus's term order.
 *
 * Usage: compare_check PAIRS_FILE
 *
 * The file (written by the generator in test_compare.sh) holds records
 * <<Len:32, term_to_binary({A, B, Cmp, Exact, XCmp})>>: Cmp is BEAM's
 * -1/0/1 from A < B and A == B, Exact is A =:= B, XCmp the exact (map key)
 * order. For each pair this checks nodus_compare both ways round,
 * nodus_compare_exact, nodus_equal, that =:= terms hash alike, and that a
 * map in wire order equals (and hashes like) its sorted copy. Mismatches
 * are listed; the last line is "N passed, N failed". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"
#include "term/term_internal.h"

static int sgn(int c) { return (c > 0) - (c < 0); }

static unsigned shown;
enum { SHOW_MAX = 40 };

static void show_term(const char *label, const nodus_term *t) {
  char *text = NULL;
  size_t len = 0;
  if (nodus_print(t, NULL, &text, &len) == 0) {
    fprintf(stderr, "    %s = %.*s\n", label, len > 400 ? 400 : (int)len,
            text);
    free(text);
    return;
  }
  uint8_t *etf = NULL;
  size_t n = 0;
  fprintf(stderr, "    %s = (type %d) ", label, t->type);
  if (nodus_etf_encode(t, NULL, &etf, &n) == 0) {
    for (size_t i = 0; i < n && i < 200; i++) fprintf(stderr, "%u,", etf[i]);
    free(etf);
  }
  fprintf(stderr, "\n");
}

static void show_bytes(const uint8_t *p, size_t n) {
  fprintf(stderr, "    record bytes: <<");
  for (size_t i = 0; i < n && i < 300; i++)
    fprintf(stderr, "%s%u", i ? "," : "", p[i]);
  fprintf(stderr, "%s>>\n", n > 300 ? ",..." : "");
}

/* Collects the failures of one record; prints the first few in full. */
typedef struct verdict {
  size_t index;
  const nodus_term *a, *b;
  int problems;
} verdict;

static void problem(verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(verdict *v, const char *fmt, ...) {
  if (shown < SHOW_MAX) {
    if (v->problems == 0) {
      fprintf(stderr, "pair %zu:\n", v->index);
      if (v->a) show_term("A", v->a);
      if (v->b) show_term("B", v->b);
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
  }
  v->problems++;
}

/* A map stored in wire order against its sorted copy. */
static void check_map_orders(verdict *v, const nodus_term *m) {
  if (m->type != NODUS_T_MAP || (m->flags & NODUS_TF_MAP_SORTED)) return;
  nodus_term copy;
  if (nodus_copy(&copy, m) != 0) return;
  int rc = term_map_sort(&copy);
  if (rc != 0) {
    problem(v, "term_map_sort on a wire-order map gave %s",
            nodus_err_name(rc));
  } else {
    if (!nodus_equal(m, &copy))
      problem(v, "a wire-order map is not =:= its sorted copy");
    if (nodus_hash(m) != nodus_hash(&copy))
      problem(v, "a wire-order map hashes unlike its sorted copy");
    if (nodus_compare(m, &copy) != 0)
      problem(v, "a wire-order map compares %d to its sorted copy",
              nodus_compare(m, &copy));
  }
  nodus_term_free(&copy);
}

static int get_small(const nodus_term *t, int *out) {
  int64_t v;
  if (nodus_get_int64(t, &v) != 0 || v < -1 || v > 1) return -1;
  *out = (int)v;
  return 0;
}

static void check_pair(verdict *v, const nodus_term *rec) {
  int cmp, xcmp;
  if (rec->type != NODUS_T_TUPLE || rec->n != 5 ||
      get_small(&rec->v.items[2], &cmp) || get_small(&rec->v.items[4], &xcmp) ||
      rec->v.items[3].type != NODUS_T_ATOM) {
    problem(v, "record has the wrong shape (type %d, arity %u)", rec->type,
            (unsigned)rec->n);
    return;
  }
  const nodus_term *a = &rec->v.items[0], *b = &rec->v.items[1];
  bool exact = nodus_is_atom(&rec->v.items[3], "true");
  v->a = a;
  v->b = b;
  int got = sgn(nodus_compare(a, b));
  if (got != cmp) problem(v, "nodus_compare(A, B) = %d, erl says %d", got, cmp);
  got = sgn(nodus_compare(b, a));
  if (got != -cmp)
    problem(v, "nodus_compare(B, A) = %d, erl says %d", got, -cmp);
  got = sgn(nodus_compare_exact(a, b));
  if (got != xcmp)
    problem(v, "nodus_compare_exact(A, B) = %d, erl (map key order) says %d",
            got, xcmp);
  got = sgn(nodus_compare_exact(b, a));
  if (got != -xcmp)
    problem(v, "nodus_compare_exact(B, A) = %d, erl says %d", got, -xcmp);
  if (nodus_equal(a, b) != exact)
    problem(v, "nodus_equal(A, B) = %d, erl's =:= says %d",
            (int)nodus_equal(a, b), (int)exact);
  if (exact && nodus_hash(a) != nodus_hash(b))
    problem(v, "A =:= B but their hashes differ");
  if (!nodus_equal(a, a) || nodus_compare(a, a) != 0)
    problem(v, "A is not equal to itself");
  check_map_orders(v, a);
  check_map_orders(v, b);
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 20, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (!bigger) free(buf);
      buf = bigger;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PAIRS_FILE\n", argv[0]);
    return 2;
  }
  size_t len;
  uint8_t *data = read_file(argv[1], &len);
  if (!data) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    printf("0 passed, 1 failed\n");
    return 1;
  }
  size_t passed = 0, failed = 0, index = 0, off = 0;
  while (off + 4 <= len) {
    size_t n = (size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
               (size_t)data[off + 2] << 8 | data[off + 3];
    off += 4;
    if (n > len - off) {
      fprintf(stderr, "pair %zu: record runs past the end of the file\n",
              index);
      failed++;
      break;
    }
    verdict v = {index, NULL, NULL, 0};
    nodus_term rec;
    int rc = nodus_etf_decode(data + off, n, NULL, &rec, NULL);
    if (rc != 0) {
      if (shown < SHOW_MAX) {
        fprintf(stderr, "pair %zu: nodus_etf_decode failed: %s\n", index,
                nodus_err_name(rc));
        show_bytes(data + off, n);
      }
      v.problems++;
    } else {
      check_pair(&v, &rec);
      nodus_term_free(&rec);
    }
    if (v.problems) {
      shown++;
      failed++;
    } else {
      passed++;
    }
    off += n;
    index++;
  }
  if (off != len) failed++; /* trailing bytes */
  if (index == 0) failed++; /* an empty file proves nothing */
  printf("%zu passed, %zu failed\n", passed, failed);
  free(data);
  return failed ? 1 : 0;
}
