/* ETF conformance against a real BEAM (driven by test_etf_conformance.sh).
 *
 *   etf_conformance beam2c CORPUS
 *     Reads the terms etf_corpus.erl wrote (BEAM's encodings and ~p text)
 *     and checks that nodus decodes every encoding, re-encodes it to the
 *     same bytes, and prints it as BEAM does.
 *   etf_conformance c2beam OUT COUNT SEED
 *     Builds COUNT random terms with the constructors and writes their
 *     encodings and printed text for etf_corpus:check/1 to judge.
 *
 * Both print "N passed, N failed" and exit non-zero on any failure. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus/term.h"
#include "term_random.h"

#define HEX_LIMIT 160   /* bytes of an encoding shown in a report */

/* ---- small helpers ------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Hex of p[from..], at most HEX_LIMIT bytes, with the elided parts noted. */
static void put_hex(FILE *out, const uint8_t *p, size_t n, size_t from) {
  if (from > n) from = n;
  if (from) fprintf(out, "(%zu bytes) ", from);
  for (size_t i = from; i < n && i < from + HEX_LIMIT; i++) fprintf(out, "%02x", p[i]);
  if (n > from + HEX_LIMIT) fprintf(out, " ... (%zu bytes in all)", n);
}

/* Replaces every occurrence of `from` in *s by `to` (s is malloc'd). */
static void replace_all(char **s, const char *from, const char *to) {
  size_t fl = strlen(from), tl = strlen(to), count = 0;
  for (const char *p = *s; (p = strstr(p, from)); p += fl) count++;
  if (!count) return;
  size_t n = strlen(*s);
  char *r = malloc(n + count * (tl > fl ? tl - fl : 0) + 1), *o = r;
  const char *p = *s, *q;
  while ((q = strstr(p, from))) {
    memcpy(o, p, (size_t)(q - p));
    o += q - p;
    memcpy(o, to, tl);
    o += tl;
    p = q + fl;
  }
  strcpy(o, p);
  free(*s);
  *s = r;
}

/* ---- failure bookkeeping ------------------------------------------------- */

enum {
  K_DECODE,
  K_REENCODE1,
  K_REENCODE2,
  K_SIZE,
  K_COMPRESSED,
  K_CONSISTENT,
  K_PRINT,
  K_COUNT
};
static const char *const kind_name[K_COUNT] = {
    "decode",           "re-encode minor_version 1",
    "re-encode minor_version 2", "nodus_etf_size/encode_into",
    "compressed decode equals", "decodes of one term agree",
    "print equals ~p"};
static unsigned long kind_fails[K_COUNT];
static unsigned long terms_failed;
/* Failing terms shown in detail: 20, or NODUS_CONF_MAX_REPORT. */
static unsigned long max_reported = 20;

/* Checks of one term. Details go out for the first max_reported failing
 * terms, at most 5 lines of them per term. */
typedef struct term_ctx {
  size_t idx;
  const char *text; /* BEAM's ~p */
  int failed;       /* failed checks of this term */
  bool report;
} term_ctx;

static bool reporting(const term_ctx *c) { return c->report && c->failed <= 5; }

static void fail(term_ctx *c, int kind, const char *fmt, ...) {
  kind_fails[kind]++;
  if (c->failed++ == 0) {
    c->report = ++terms_failed <= max_reported;
    if (c->report)
      fprintf(stderr, "---- term #%zu: %.400s%s\n", c->idx, c->text,
              strlen(c->text) > 400 ? " ..." : "");
  }
  if (!reporting(c)) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "  [%s] ", kind_name[kind]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void fail_bytes(term_ctx *c, int kind, const char *what, const uint8_t *want,
                       size_t wlen, const uint8_t *got, size_t glen) {
  fail(c, kind, "%s", what);
  if (!reporting(c)) return;
  size_t at = 0;
  while (at < wlen && at < glen && want[at] == got[at]) at++;
  /* Show the bytes from a little before the first difference. */
  size_t from = at > 24 ? at - 24 : 0;
  fprintf(stderr, "    first difference at byte %zu (sizes: beam %zu, nodus %zu)\n    beam:  ",
          at, wlen, glen);
  put_hex(stderr, want, wlen, from);
  fprintf(stderr, "\n    nodus: ");
  if (got) put_hex(stderr, got, glen, from);
  else fprintf(stderr, "(none)");
  fputc('\n', stderr);
}

/* ---- BEAM -> C ----------------------------------------------------------- */

typedef struct cursor {
  const uint8_t *p, *end;
  bool bad;
} cursor;

static uint32_t get_u32(cursor *c) {
  if (c->end - c->p < 4) {
    c->bad = true;
    return 0;
  }
  uint32_t v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 |
               (uint32_t)c->p[2] << 8 | c->p[3];
  c->p += 4;
  return v;
}

static const uint8_t *get_field(cursor *c, size_t *len) {
  *len = get_u32(c);
  if (c->bad || (size_t)(c->end - c->p) < *len) {
    c->bad = true;
    return NULL;
  }
  const uint8_t *f = c->p;
  c->p += *len;
  return f;
}

typedef struct node_sub {
  char quoted[300], raw[300], index[24];
} node_sub;

/* nodus prints another node's pid as <'node@host'.X.Y> (or unquoted when
 * the atom needs no quotes), BEAM as <N.X.Y> with N its own slot number for
 * that node: rewrite ours to BEAM's before comparing. */
static void substitute_nodes(char **text, const node_sub *subs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    replace_all(text, subs[i].quoted, subs[i].index);
    replace_all(text, subs[i].raw, subs[i].index);
  }
}

static int check_encoding(term_ctx *c, const nodus_term *t, int minor, int kind,
                          const uint8_t *want, size_t wlen) {
  nodus_encode_opts eo = {.minor_version = minor, .compressed = 0};
  uint8_t *got = NULL;
  size_t glen = 0;
  int rc = nodus_etf_encode(t, &eo, &got, &glen);
  if (rc) {
    fail(c, kind, "nodus_etf_encode: %s", nodus_err_name(rc));
    return rc;
  }
  if (glen != wlen || memcmp(got, want, wlen) != 0)
    fail_bytes(c, kind, "bytes differ", want, wlen, got, glen);
  size_t sz = 0;
  rc = nodus_etf_size(t, &eo, &sz);
  if (rc || sz != glen) {
    fail(c, K_SIZE, "nodus_etf_size gave %zu (rc %s), nodus_etf_encode wrote %zu", sz,
         nodus_err_name(rc), glen);
  } else {
    uint8_t *buf = malloc(sz ? sz : 1);
    size_t w = nodus_etf_encode_into(t, &eo, buf);
    if (w != glen || memcmp(buf, got, glen) != 0)
      fail_bytes(c, K_SIZE, "nodus_etf_encode_into differs from nodus_etf_encode", got,
                 glen, buf, w);
    free(buf);
  }
  free(got);
  return 0;
}

static int beam2c(const char *path) {
  size_t flen;
  uint8_t *file = read_file(path, &flen);
  if (!file) {
    fprintf(stderr, "etf_conformance: cannot read %s\n", path);
    return 2;
  }
  cursor cur = {file, file + flen, false};
  if (flen < 12 || memcmp(file, "NODUSCORPUS1", 12) != 0) {
    fprintf(stderr, "etf_conformance: %s is not a corpus file\n", path);
    return 2;
  }
  cur.p += 12;
  size_t nsubs = get_u32(&cur);
  node_sub *subs = calloc(nsubs ? nsubs : 1, sizeof *subs);
  for (size_t i = 0; i < nsubs && !cur.bad; i++) {
    if (cur.end - cur.p < 2) {
      cur.bad = true;
      break;
    }
    size_t nl = (size_t)cur.p[0] << 8 | cur.p[1];
    cur.p += 2;
    if (nl > 250 || (size_t)(cur.end - cur.p) < nl) {
      cur.bad = true;
      break;
    }
    char name[256];
    memcpy(name, cur.p, nl);
    name[nl] = 0;
    cur.p += nl;
    uint32_t ix = get_u32(&cur);
    snprintf(subs[i].quoted, sizeof subs[i].quoted, "<'%s'.", name);
    snprintf(subs[i].raw, sizeof subs[i].raw, "<%s.", name);
    snprintf(subs[i].index, sizeof subs[i].index, "<%" PRIu32 ".", ix);
  }
  size_t count = get_u32(&cur);
  size_t checked = 0;
  for (size_t idx = 0; idx < count && !cur.bad; idx++) {
    if (cur.p >= cur.end) {
      cur.bad = true;
      break;
    }
    cur.p++; /* flags: none defined for BEAM -> C */
    size_t tlen, elen[4];
    const uint8_t *text = get_field(&cur, &tlen);
    const uint8_t *enc[4];
    for (int k = 0; k < 4; k++) enc[k] = get_field(&cur, &elen[k]);
    if (cur.bad) break;
    char *want_text = malloc(tlen + 1);
    memcpy(want_text, text, tlen);
    want_text[tlen] = 0;
    term_ctx c = {idx, want_text, 0, false};
    checked++;

    /* enc: 0 term_to_binary(T), 1 minor_version 1, 2 minor_version 2,
     * 3 compressed. */
    nodus_term dec[4] = {{0}};
    bool ok[4] = {false};
    for (int k = 0; k < 4; k++) {
      size_t used = 0;
      int rc = nodus_etf_decode(enc[k], elen[k], NULL, &dec[k], &used);
      if (rc) {
        fail(&c, K_DECODE, "encoding %d: %s", k, nodus_err_name(rc));
        if (reporting(&c)) {
          fprintf(stderr, "    bytes: ");
          put_hex(stderr, enc[k], elen[k], 0);
          fputc('\n', stderr);
        }
      } else if (used != elen[k]) {
        fail(&c, K_DECODE, "encoding %d: used %zu of %zu bytes", k, used, elen[k]);
      } else {
        ok[k] = true;
      }
    }
    /* Re-encoding gives BEAM's bytes. OTP 25's term_to_binary(T) is
     * minor_version 1. */
    static const int minor_of[3] = {1, 1, 2};
    static const int kind_of[3] = {K_REENCODE1, K_REENCODE1, K_REENCODE2};
    for (int k = 0; k < 3; k++)
      if (ok[k]) check_encoding(&c, &dec[k], minor_of[k], kind_of[k], enc[k], elen[k]);
    if (ok[0] && ok[3] && !nodus_equal(&dec[3], &dec[0]))
      fail(&c, K_COMPRESSED, "compressed encoding decodes to another term");
    /* The decodes of one term must agree whatever the atom tags. */
    for (int k = 1; k <= 2; k++)
      if (ok[0] && ok[k] &&
          (!nodus_equal(&dec[0], &dec[k]) || nodus_compare(&dec[0], &dec[k]) != 0 ||
           nodus_hash(&dec[0]) != nodus_hash(&dec[k])))
        fail(&c, K_CONSISTENT, "decode of encoding %d differs from encoding 0 "
             "(equal/compare/hash)", k);
    /* Printing: every decode of the term prints as ~p does. */
    for (int k = 0; k < 3; k += 2) {
      if (!ok[k]) continue;
      char *got = NULL;
      size_t glen = 0;
      int rc = nodus_print(&dec[k], NULL, &got, &glen);
      if (rc) {
        fail(&c, K_PRINT, "encoding %d: nodus_print: %s", k, nodus_err_name(rc));
        continue;
      }
      substitute_nodes(&got, subs, nsubs);
      if (strcmp(got, want_text) != 0) {
        size_t at = 0;
        while (got[at] && got[at] == want_text[at]) at++;
        /* Show both from a little before the first difference (at a UTF-8
         * character boundary). */
        size_t from = at > 60 ? at - 60 : 0;
        while (from > 0 && (want_text[from] & 0xC0) == 0x80) from--;
        fail(&c, K_PRINT, "encoding %d: text differs at byte %zu\n    beam:  %s%.300s\n"
             "    nodus: %s%.300s", k, at, from ? "..." : "", want_text + from,
             from ? "..." : "", got + from);
      }
      free(got);
    }
    for (int k = 0; k < 4; k++) nodus_term_free(&dec[k]);
    free(want_text);
  }
  if (cur.bad) fprintf(stderr, "etf_conformance: corpus truncated after %zu terms\n", checked);
  for (int k = 0; k < K_COUNT; k++)
    if (kind_fails[k])
      fprintf(stderr, "failed check %-28s %lu times\n", kind_name[k], kind_fails[k]);
  printf("BEAM->C: %zu passed, %lu failed (of %zu terms)\n", checked - terms_failed,
         terms_failed, count);
  free(subs);
  free(file);
  return (terms_failed || cur.bad || checked != count) ? 1 : 0;
}

/* ---- C -> BEAM ----------------------------------------------------------- */

static void put_u32(FILE *f, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  fwrite(b, 1, 4, f);
}

static int c2beam(const char *path, size_t count, uint64_t seed) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "etf_conformance: cannot write %s\n", path);
    return 2;
  }
  tgen g = {.rand = {seed}};
  size_t written = 0, failed = 0, large = 0;
  /* The record count goes first; patch it at the end. */
  fwrite("NODUSCTOB1", 1, 10, f);
  long count_at = ftell(f);
  put_u32(f, 0);
  for (size_t i = 0; i < count; i++) {
    /* One term in ten may hold maps of more than 32 keys; those are kept
     * free of pids, funs and the like, so that Erlang can read their text
     * back (see large_map_checks in etf_corpus.erl). */
    bool wide = i % 10 == 9;
    g.plain = wide;
    g.large_maps = wide;
    nodus_term t = tgen_term(&g, 3);
    uint8_t *e1 = NULL, *e2 = NULL;
    size_t l1 = 0, l2 = 0, tl = 0;
    char *text = NULL;
    nodus_encode_opts o1 = {.minor_version = 1}, o2 = {.minor_version = 2};
    int r1 = nodus_etf_encode(&t, &o1, &e1, &l1);
    int r2 = nodus_etf_encode(&t, &o2, &e2, &l2);
    int r3 = nodus_print(&t, NULL, &text, &tl);
    if (r1 || r2 || r3) {
      if (failed++ < max_reported)
        fprintf(stderr, "C->BEAM #%zu: encode %s / %s, print %s\n", i, nodus_err_name(r1),
                nodus_err_name(r2), nodus_err_name(r3));
    } else {
      large += (g.has & TG_HAS_LARGE_MAP) != 0;
      fputc((g.has & TG_HAS_LARGE_MAP) ? 1 : 0, f);
      put_u32(f, (uint32_t)tl);
      fwrite(text, 1, tl, f);
      put_u32(f, (uint32_t)l1);
      fwrite(e1, 1, l1, f);
      put_u32(f, (uint32_t)l2);
      fwrite(e2, 1, l2, f);
      written++;
    }
    free(e1);
    free(e2);
    free(text);
    nodus_term_free(&t);
  }
  fseek(f, count_at, SEEK_SET);
  put_u32(f, (uint32_t)written);
  if (fclose(f) != 0) return 2;
  printf("C->BEAM: wrote %zu terms (%zu with maps of > 32 keys), %zu could not be "
         "encoded or printed by nodus\n", written, large, failed);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  const char *mr = getenv("NODUS_CONF_MAX_REPORT");
  if (mr && *mr) max_reported = strtoul(mr, NULL, 10);
  if (argc == 3 && strcmp(argv[1], "beam2c") == 0) return beam2c(argv[2]);
  if (argc == 5 && strcmp(argv[1], "c2beam") == 0)
    return c2beam(argv[2], (size_t)strtoull(argv[3], NULL, 10),
                  strtoull(argv[4], NULL, 10));
  fprintf(stderr, "usage: %s beam2c CORPUS | c2beam OUT COUNT SEED\n", argv[0]);
  return 2;
}
