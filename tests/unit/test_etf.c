/* ETF codec: byte-exact encodings checked against OTP 25's term_to_binary,
 * decoding of every tag (legacy ones too), round trips, and hostile input
 * (truncation, giant lengths, depth, atoms, zlib) that must fail cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* ---- fixtures: term_to_binary output of erl (OTP 25) -------------------- */

/* fun(X) -> X + 1 end, from a module named etfgen. */
static const uint8_t FUN_CLOSURE[] = {
    131, 112, 0, 0, 0, 74, 1, 37, 189, 91, 242, 195, 17, 124, 21, 98, 177,
    136, 78, 156, 28, 34, 168, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 6, 101, 116,
    102, 103, 101, 110, 97, 0, 98, 1, 45, 234, 223, 88, 100, 0, 13, 110, 111,
    110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 9, 0, 0, 0,
    0, 0, 0, 0, 0
};
/* [lists:seq(1,50), <<"hello hello hello hello">>] with {compressed,1}
 * and {compressed,9}. */
static const uint8_t COMPRESSED_L1[] = {
    131, 80, 0, 0, 0, 87, 120, 1, 203, 97, 96, 96, 96, 202, 102, 48, 98, 100,
    98, 102, 97, 101, 99, 231, 224, 228, 226, 230, 225, 229, 227, 23, 16, 20,
    18, 22, 17, 21, 19, 151, 144, 148, 146, 150, 145, 149, 147, 87, 80, 84,
    82, 86, 81, 85, 83, 215, 208, 212, 210, 214, 209, 213, 211, 55, 48, 52,
    202, 5, 234, 20, 207, 72, 205, 201, 201, 87, 192, 32, 179, 0, 190, 7, 15,
    165
};
static const uint8_t COMPRESSED_L9[] = {
    131, 80, 0, 0, 0, 87, 120, 218, 203, 97, 96, 96, 96, 202, 102, 48, 98,
    100, 98, 102, 97, 101, 99, 231, 224, 228, 226, 230, 225, 229, 227, 23, 16,
    20, 18, 22, 17, 21, 19, 151, 144, 148, 146, 150, 145, 149, 147, 87, 80,
    84, 82, 86, 81, 85, 83, 215, 208, 212, 210, 214, 209, 213, 211, 55, 48,
    52, 202, 5, 234, 20, 207, 72, 205, 201, 201, 87, 192, 32, 179, 0, 190, 7,
    15, 165
};
/* lists:duplicate(15, 7) with {compressed,6}. */
static const uint8_t DUP15_C6[] = {
    131, 80, 0, 0, 0, 18, 120, 156, 203, 102, 224, 103, 71, 5, 0, 11, 208, 0,
    228
};
/* maps:from_list([{I, I} || I <- lists:seq(1,33)]): hash order. */
static const uint8_t BIG_MAP[] = {
    131, 116, 0, 0, 0, 33, 97, 33, 97, 33, 97, 12, 97, 12, 97, 23, 97, 23, 97,
    29, 97, 29, 97, 30, 97, 30, 97, 26, 97, 26, 97, 31, 97, 31, 97, 11, 97,
    11, 97, 9, 97, 9, 97, 32, 97, 32, 97, 25, 97, 25, 97, 28, 97, 28, 97, 6,
    97, 6, 97, 13, 97, 13, 97, 20, 97, 20, 97, 15, 97, 15, 97, 14, 97, 14, 97,
    2, 97, 2, 97, 7, 97, 7, 97, 1, 97, 1, 97, 8, 97, 8, 97, 3, 97, 3, 97, 17,
    97, 17, 97, 22, 97, 22, 97, 21, 97, 21, 97, 4, 97, 4, 97, 24, 97, 24, 97,
    10, 97, 10, 97, 27, 97, 27, 97, 19, 97, 19, 97, 5, 97, 5, 97, 18, 97, 18,
    97, 16, 97, 16
};
/* see build_mixed() */
static const uint8_t MIXED[] = {
    131, 104, 6, 100, 0, 2, 111, 107, 108, 0, 0, 0, 6, 97, 1, 98, 255, 255,
    255, 251, 70, 64, 10, 0, 0, 0, 0, 0, 0, 109, 0, 0, 0, 3, 98, 105, 110,
    107, 0, 3, 115, 116, 114, 116, 0, 0, 0, 2, 100, 0, 1, 107, 100, 0, 1, 118,
    109, 0, 0, 0, 1, 120, 108, 0, 0, 0, 1, 100, 0, 1, 97, 100, 0, 1, 98, 106,
    110, 13, 0, 210, 10, 63, 78, 238, 224, 115, 195, 246, 15, 233, 142, 1,
    110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 64, 100, 0, 5, 104, 233, 108, 108, 111,
    119, 6, 230, 151, 165, 230, 156, 172
};
/* c:pid(0,85,0) and list_to_ref("#Ref<0.3.2.1>") on nonode@nohost. */
static const uint8_t PID[] = {
    131, 88, 100, 0, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111,
    115, 116, 0, 0, 0, 85, 0, 0, 0, 0, 0, 0, 0, 0
};
static const uint8_t REF[] = {
    131, 90, 0, 3, 100, 0, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111,
    104, 111, 115, 116, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3
};

/* ---- helpers ----------------------------------------------------------- */

static void dump(const char *what, const uint8_t *b, size_t n) {
  fprintf(stderr, "  %s (%zu):", what, n);
  for (size_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %u", b[i]);
  fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

static nodus_term atom(const char *s) {
  nodus_term t;
  if (nodus_mk_atom(&t, s)) memset(&t, 0, sizeof t);
  return t;
}

static nodus_term bin(const char *s) {
  nodus_term t;
  if (nodus_mk_binary(&t, s, strlen(s))) memset(&t, 0, sizeof t);
  return t;
}

static nodus_term tuple2(nodus_term a, nodus_term b) {
  nodus_term t;
  nodus_mk_tuple(&t, 2);
  nodus_tuple_set(&t, 0, a);
  nodus_tuple_set(&t, 1, b);
  return t;
}

/* A list of n terms from an array (ownership taken), with a tail. */
static nodus_term list_of(const nodus_term *items, size_t n, nodus_term tail) {
  nodus_term t;
  nodus_mk_list(&t, n);
  for (size_t i = 0; i < n; i++) nodus_list_set(&t, i, items[i]);
  nodus_list_set_tail(&t, tail);
  return t;
}

/* A big integer from decimal digits. */
static nodus_term big_dec(const char *digits, bool negative) {
  uint8_t mag[64] = {0};
  for (const char *c = digits; *c; c++) {
    unsigned carry = (unsigned)(*c - '0');
    for (size_t i = 0; i < sizeof mag; i++) {
      unsigned v = mag[i] * 10u + carry;
      mag[i] = (uint8_t)v;
      carry = v >> 8;
    }
  }
  nodus_term t;
  nodus_mk_integer(&t, negative, mag, sizeof mag);
  return t;
}

static int bytes_eq(int line, const uint8_t *got, size_t glen,
                    const uint8_t *want, size_t wlen) {
  if (glen == wlen && memcmp(got, want, wlen) == 0) return 1;
  fprintf(stderr, "test_etf.c:%d: bytes differ\n", line);
  dump("got", got, glen);
  dump("want", want, wlen);
  return 0;
}

/* Encodes t (consumed) and compares with want; for plain encodings also
 * checks nodus_etf_size and nodus_etf_encode_into agree. */
static void enc_is(int line, nodus_term t, const nodus_encode_opts *o,
                   const uint8_t *want, size_t wlen) {
  uint8_t *out = NULL;
  size_t len = 0;
  int rc = nodus_etf_encode(&t, o, &out, &len);
  CHECK_RC(rc, 0);
  if (rc == 0) CHECK(bytes_eq(line, out, len, want, wlen));
  if (rc == 0 && (!o || o->compressed <= 0)) {
    size_t size = 0;
    CHECK_RC(nodus_etf_size(&t, o, &size), 0);
    CHECK(size == len);
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(nodus_etf_encode_into(&t, o, buf) == size);
    CHECK(memcmp(buf, out, len) == 0);
    free(buf);
  }
  free(out);
  nodus_term_free(&t);
}
#define ENC_IS(t, o, ...) enc_is(__LINE__, (t), (o), B(__VA_ARGS__))

/* Decodes want, checks all of it was used and that re-encoding with o
 * gives the same bytes; returns the term in *keep if asked. */
static void dec_reenc(int line, const uint8_t *b, size_t n,
                      const nodus_encode_opts *o, nodus_term *keep) {
  nodus_term t;
  size_t used = 0;
  int rc = nodus_etf_decode(b, n, NULL, &t, &used);
  if (rc) fprintf(stderr, "test_etf.c:%d: decode failed\n", line);
  CHECK_RC(rc, 0);
  if (rc) return;
  CHECK(used == n);
  uint8_t *out = NULL;
  size_t len = 0;
  CHECK_RC(nodus_etf_encode(&t, o, &out, &len), 0);
  if (out) CHECK(bytes_eq(line, out, len, b, n));
  free(out);
  if (keep) *keep = t;
  else nodus_term_free(&t);
}
#define DEC_REENC(o, ...) dec_reenc(__LINE__, B(__VA_ARGS__), (o), NULL)

/* Decoding b must fail with want and leave *out NONE. */
static void dec_fails(int line, const uint8_t *b, size_t n,
                      const nodus_decode_opts *o, int want) {
  nodus_term t;
  int rc = nodus_etf_decode(b, n, o, &t, NULL);
  if (rc != want) {
    fprintf(stderr, "test_etf.c:%d: decode gave %s, wanted %s\n", line,
            nodus_err_name(rc), nodus_err_name(want));
    dump("input", b, n);
  }
  CHECK_RC(rc, want);
  CHECK(t.type == NODUS_T_NONE);
  if (rc == 0) nodus_term_free(&t);
}
#define DEC_FAILS(o, want, ...) dec_fails(__LINE__, B(__VA_ARGS__), (o), (want))

/* Every proper prefix of a valid encoding is ETRUNC. */
static void truncations(int line, const uint8_t *b, size_t n) {
  for (size_t k = 0; k < n; k++) {
    nodus_term t;
    int rc = nodus_etf_decode(b, k, NULL, &t, NULL);
    if (rc != NODUS_ETRUNC) {
      fprintf(stderr, "test_etf.c:%d: prefix %zu of %zu gave %s\n", line, k,
              n, nodus_err_name(rc));
      CHECK_RC(rc, NODUS_ETRUNC);
      if (rc == 0) nodus_term_free(&t);
      return;
    }
  }
  CHECK(1);
}

/* ---- encodings checked against erl ------------------------------------- */

static void test_scalars(void) {
  ENC_IS(nodus_int(0), NULL, 131, 97, 0);
  ENC_IS(nodus_int(255), NULL, 131, 97, 255);
  ENC_IS(nodus_int(256), NULL, 131, 98, 0, 0, 1, 0);
  ENC_IS(nodus_int(-1), NULL, 131, 98, 255, 255, 255, 255);
  ENC_IS(nodus_int(INT32_MAX), NULL, 131, 98, 127, 255, 255, 255);
  ENC_IS(nodus_int(INT32_MIN), NULL, 131, 98, 128, 0, 0, 0);
  ENC_IS(nodus_int(2147483648), NULL, 131, 110, 4, 0, 0, 0, 0, 128);
  ENC_IS(nodus_int(-2147483649), NULL, 131, 110, 4, 1, 1, 0, 0, 128);
  ENC_IS(nodus_int(INT64_MIN), NULL, 131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0,
         128);
  nodus_term t;
  nodus_mk_integer(&t, false, B(0, 0, 0, 0, 0, 0, 0, 0, 1));
  CHECK(t.type == NODUS_T_BIGINT);
  ENC_IS(t, NULL, 131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1); /* 2^64 */
  ENC_IS(nodus_float(1.5), NULL, 131, 70, 63, 248, 0, 0, 0, 0, 0, 0);
  ENC_IS(nodus_float(-0.0), NULL, 131, 70, 128, 0, 0, 0, 0, 0, 0, 0);
  ENC_IS(nodus_nil(), NULL, 131, 106);

  /* 255 magnitude bytes is the last SMALL_BIG (1 bsl 2032); 256 (1 bsl
   * 2040, negated) is LARGE_BIG. */
  uint8_t mag[256] = {0}, want[263] = {131, 110, 255, 0};
  mag[254] = 1;
  nodus_mk_integer(&t, false, mag, 255);
  memcpy(want + 4, mag, 255);
  enc_is(__LINE__, t, NULL, want, 259);
  mag[254] = 0;
  mag[255] = 1;
  nodus_mk_integer(&t, true, mag, 256);
  memcpy(want, (uint8_t[]){131, 111, 0, 0, 1, 0, 1}, 7);
  memcpy(want + 7, mag, 256);
  enc_is(__LINE__, t, NULL, want, 263);
}

static void test_atoms(void) {
  nodus_encode_opts v2 = {.minor_version = 2};
  ENC_IS(atom("a"), NULL, 131, 100, 0, 1, 97);
  ENC_IS(atom("ok"), NULL, 131, 100, 0, 2, 111, 107);
  ENC_IS(atom(""), NULL, 131, 100, 0, 0);
  ENC_IS(atom("\xc3\xa9" "a"), NULL, 131, 100, 0, 2, 233, 97); /* 'éa' */
  ENC_IS(atom("\xce\xb1"), NULL, 131, 119, 2, 206, 177);        /* 'α' */
  ENC_IS(atom("\xce\xb1" "a"), NULL, 131, 119, 3, 206, 177, 97);
  ENC_IS(atom("a"), &v2, 131, 119, 1, 97);
  ENC_IS(atom("\xc3\xa9"), &v2, 131, 119, 2, 195, 169);

  /* 255 latin-1 characters stay ATOM_EXT; 128 alphas (256 bytes) need
   * ATOM_UTF8_EXT. */
  char text[600];
  uint8_t want[600];
  for (int i = 0; i < 255; i++) memcpy(text + 2 * i, "\xc3\xa9", 2);
  text[510] = 0;
  memcpy(want, (uint8_t[]){131, 100, 0, 255}, 4);
  memset(want + 4, 233, 255);
  enc_is(__LINE__, atom(text), NULL, want, 259);
  for (int i = 0; i < 128; i++) memcpy(text + 2 * i, "\xce\xb1", 2);
  text[256] = 0;
  memcpy(want, (uint8_t[]){131, 118, 1, 0}, 4);
  memcpy(want + 4, text, 256);
  enc_is(__LINE__, atom(text), NULL, want, 260);

  /* Decoding latin-1 atoms yields UTF-8 text; all four tags agree. */
  nodus_term t;
  const char *s;
  nodus_atom want_atom = atom("\xc3\xa9" "a").v.atom;
  CHECK_RC(nodus_etf_decode(B(131, 100, 0, 2, 233, 97), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_ATOM && t.v.atom == want_atom);
  CHECK_RC(nodus_etf_decode(B(131, 115, 2, 233, 97), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_ATOM && t.v.atom == want_atom);
  CHECK_RC(nodus_etf_decode(B(131, 119, 3, 195, 169, 97), NULL, &t, NULL), 0);
  CHECK(t.v.atom == want_atom);
  CHECK_RC(nodus_etf_decode(B(131, 118, 0, 3, 195, 169, 97), NULL, &t, NULL),
           0);
  CHECK(t.v.atom == want_atom);
  s = nodus_atom_text(t.v.atom, NULL);
  CHECK_STR(s, "\xc3\xa9" "a");
  /* Re-encoding legacy atom tags gives OTP 25's choice. */
  DEC_REENC(NULL, 131, 100, 0, 5, 104, 101, 108, 108, 111);
}

static void test_containers(void) {
  nodus_term items[4], t;
  nodus_mk_string(&t, "abc", 3);
  ENC_IS(t, NULL, 131, 107, 0, 3, 97, 98, 99);
  items[0] = nodus_int(1), items[1] = nodus_int(2), items[2] = nodus_int(300);
  ENC_IS(list_of(items, 3, nodus_nil()), NULL, 131, 108, 0, 0, 0, 3, 97, 1, 97,
         2, 98, 0, 0, 1, 44, 106);
  items[0] = nodus_int(1);
  ENC_IS(list_of(items, 1, nodus_int(2)), NULL, 131, 108, 0, 0, 0, 1, 97, 1,
         97, 2);
  items[0] = nodus_int(1), items[1] = nodus_int(2);
  ENC_IS(list_of(items, 2, nodus_int(3)), NULL, 131, 108, 0, 0, 0, 2, 97, 1,
         97, 2, 97, 3);
  items[0] = nodus_int(1), items[1] = nodus_int(256);
  ENC_IS(list_of(items, 2, nodus_nil()), NULL, 131, 108, 0, 0, 0, 2, 97, 1, 98,
         0, 0, 1, 0, 106);
  /* A list whose tail is a list is one list to BEAM: [1|[2,3]] = [1,2,3]. */
  items[0] = nodus_int(2), items[1] = nodus_int(3);
  nodus_term rest = list_of(items, 2, nodus_nil());
  items[0] = nodus_int(1);
  ENC_IS(list_of(items, 1, rest), NULL, 131, 107, 0, 3, 1, 2, 3);
  items[0] = atom("a");
  rest = list_of(items, 1, nodus_nil());
  items[0] = nodus_int(1);
  ENC_IS(list_of(items, 1, rest), NULL, 131, 108, 0, 0, 0, 2, 97, 1, 100, 0,
         1, 97, 106);

  ENC_IS(tuple2(atom("a"), nodus_int(1)), NULL, 131, 104, 2, 100, 0, 1, 97, 97,
         1);
  nodus_mk_tuple(&t, 0);
  ENC_IS(t, NULL, 131, 104, 0);
  nodus_mk_tuple(&t, 256);
  for (int i = 0; i < 256; i++) nodus_tuple_set(&t, (size_t)i, nodus_nil());
  uint8_t want[300] = {131, 105, 0, 0, 1, 0};
  memset(want + 6, 106, 256);
  enc_is(__LINE__, t, NULL, want, 262);

  /* Maps are written in stored order. */
  nodus_mk_map(&t);
  ENC_IS(t, NULL, 131, 116, 0, 0, 0, 0);
  nodus_term *kv = malloc(4 * sizeof *kv);
  kv[0] = atom("a"), kv[1] = nodus_int(1), kv[2] = atom("b"),
  kv[3] = nodus_int(2);
  t = (nodus_term){.type = NODUS_T_MAP, .flags = NODUS_TF_MAP_SORTED, .n = 2};
  t.v.items = kv;
  ENC_IS(t, NULL, 131, 116, 0, 0, 0, 2, 100, 0, 1, 97, 97, 1, 100, 0, 1, 98,
         97, 2);

  ENC_IS(bin("\x01\x02\x03"), NULL, 131, 109, 0, 0, 0, 3, 1, 2, 3);
  ENC_IS(bin(""), NULL, 131, 109, 0, 0, 0, 0);
  nodus_mk_bitstring(&t, "\x01\x02\x3f", 20); /* <<1,2,3:4>> */
  ENC_IS(t, NULL, 131, 77, 0, 0, 0, 3, 4, 1, 2, 48);

  /* STRING_EXT up to 65535 elements, LIST_EXT beyond. */
  static uint8_t big[65536 + 16];
  for (int n = 65535; n <= 65536; n++) {
    nodus_mk_list(&t, (size_t)n);
    for (int i = 0; i < n; i++) t.v.items[i] = nodus_int(1);
    size_t len;
    if (n == 65535) {
      memcpy(big, (uint8_t[]){131, 107, 255, 255}, 4);
      memset(big + 4, 1, (size_t)n);
      len = 4 + (size_t)n;
    } else {
      memcpy(big, (uint8_t[]){131, 108, 0, 1, 0, 0}, 6);
      len = 6; /* then 65536 x {97, 1} and 106: checked by length */
    }
    uint8_t *out;
    size_t olen;
    CHECK_RC(nodus_etf_encode(&t, NULL, &out, &olen), 0);
    if (n == 65535) CHECK(bytes_eq(__LINE__, out, olen, big, len));
    else CHECK(olen == 6 + 2 * 65536 + 1 && memcmp(out, big, 6) == 0);
    free(out);
    nodus_term_free(&t);
  }
}

static void test_idents_and_funs(void) {
  nodus_term t;
  nodus_mk_pid(&t, NODUS_ATOM_NONODE, 85, 0, 0);
  enc_is(__LINE__, t, NULL, PID, sizeof PID);
  nodus_mk_port(&t, NODUS_ATOM_NONODE, 0, 0);
  ENC_IS(t, NULL, 131, 89, 100, 0, 13, 110, 111, 110, 111, 100, 101, 64, 110,
         111, 104, 111, 115, 116, 0, 0, 0, 0, 0, 0, 0, 0);
  nodus_mk_ref(&t, NODUS_ATOM_NONODE, 0, (uint32_t[]){1, 2, 3}, 3);
  enc_is(__LINE__, t, NULL, REF, sizeof REF);
  /* V4_PORT only when the id needs 64 bits (OTP re-encodes a small V4
   * port as NEW_PORT). */
  nodus_mk_port(&t, atom("a@b").v.atom, 0x100000005ull, 1);
  ENC_IS(t, NULL, 131, 120, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 5, 0,
         0, 0, 1);
  DEC_REENC(NULL, 131, 120, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0,
            0, 1);
  nodus_term p;
  CHECK_RC(nodus_etf_decode(B(131, 120, 100, 0, 3, 97, 64, 98, 0, 0, 0, 0, 0,
                              0, 0, 5, 0, 0, 0, 1),
                            NULL, &p, NULL),
           0);
  ENC_IS(p, NULL, 131, 89, 100, 0, 3, 97, 64, 98, 0, 0, 0, 5, 0, 0, 0, 1);

  /* fun lists:map/2, both built and decoded. */
  nodus_mk_export_fun(&t, atom("lists").v.atom, atom("map").v.atom, 2);
  ENC_IS(t, NULL, 131, 113, 100, 0, 5, 108, 105, 115, 116, 115, 100, 0, 3, 109,
         97, 112, 97, 2);
  DEC_REENC(NULL, 131, 113, 100, 0, 5, 108, 105, 115, 116, 115, 100, 0, 3, 109,
            97, 112, 97, 2);
  /* Closures round-trip byte for byte. */
  dec_reenc(__LINE__, FUN_CLOSURE, sizeof FUN_CLOSURE, NULL, &t);
  CHECK(t.type == NODUS_T_FUN && !(t.flags & NODUS_TF_FUN_EXPORT));
  CHECK(t.n == sizeof FUN_CLOSURE - 1);
  nodus_term_free(&t);
  DEC_REENC(NULL, 131, 88, 100, 0, 3, 97, 64, 98, 255, 255, 255, 255, 255, 255,
            255, 255, 0, 0, 0, 1);
}

/* {ok, [1, -5, 3.25, <<"bin">>, "str", #{k => v, <<"x">> => [a|b]}],
 *  123456789012345678901234567890, -(1 bsl 70), 'héllo', '日本'} */
static nodus_term build_mixed(void) {
  nodus_term kv[4] = {atom("k"), atom("v"), bin("x")};
  nodus_term ab[1] = {atom("a")};
  kv[3] = list_of(ab, 1, atom("b"));
  nodus_term map = {.type = NODUS_T_MAP, .flags = NODUS_TF_MAP_SORTED, .n = 2};
  map.v.items = malloc(sizeof kv);
  memcpy(map.v.items, kv, sizeof kv);
  nodus_term str;
  nodus_mk_string(&str, "str", 3);
  nodus_term items[6] = {nodus_int(1), nodus_int(-5), nodus_float(3.25),
                         bin("bin"), str, map};
  nodus_term t;
  nodus_mk_tuple(&t, 6);
  nodus_tuple_set(&t, 0, atom("ok"));
  nodus_tuple_set(&t, 1, list_of(items, 6, nodus_nil()));
  nodus_tuple_set(&t, 2, big_dec("123456789012345678901234567890", false));
  nodus_tuple_set(&t, 3, big_dec("1180591620717411303424", true));
  nodus_tuple_set(&t, 4, atom("h\xc3\xa9llo"));
  nodus_tuple_set(&t, 5, atom("\xe6\x97\xa5\xe6\x9c\xac"));
  return t;
}

static void test_round_trips(void) {
  enc_is(__LINE__, build_mixed(), NULL, MIXED, sizeof MIXED);
  nodus_term t;
  dec_reenc(__LINE__, MIXED, sizeof MIXED, NULL, &t);
  if (t.type == NODUS_T_TUPLE) {
    CHECK(t.n == 6);
    CHECK(t.v.items[2].type == NODUS_T_BIGINT);
    CHECK(t.v.items[3].type == NODUS_T_BIGINT && t.v.items[3].v.big->negative);
    const nodus_term *map = nodus_list_item(&t.v.items[1], 5);
    CHECK(map && map->type == NODUS_T_MAP && map->n == 2);
    CHECK(map && (map->flags & NODUS_TF_MAP_SORTED));
    nodus_term built = build_mixed();
    CHECK(nodus_equal(&t, &built));
    nodus_term_free(&built);
  }
  nodus_term_free(&t);
  dec_reenc(__LINE__, PID, sizeof PID, NULL, NULL);
  dec_reenc(__LINE__, REF, sizeof REF, NULL, NULL);
  /* A 33-key map is hash-ordered by BEAM: decoding keeps that order, so
   * the bytes come back unchanged, and it is not flagged sorted. */
  dec_reenc(__LINE__, BIG_MAP, sizeof BIG_MAP, NULL, &t);
  CHECK(t.type == NODUS_T_MAP && t.n == 33 && !(t.flags & NODUS_TF_MAP_SORTED));
  nodus_term key = nodus_int(7);
  const nodus_term *v = nodus_map_get(&t, &key);
  CHECK(v && v->type == NODUS_T_INT && v->v.i == 7);
  nodus_term_free(&t);
}

static void test_compressed(void) {
  /* [lists:seq(1,50), <<"hello hello hello hello">>] */
  for (int level = 1; level <= 9; level += 8) {
    nodus_term seq;
    nodus_mk_list(&seq, 50);
    for (int i = 0; i < 50; i++) seq.v.items[i] = nodus_int(i + 1);
    nodus_term items[2] = {seq, bin("hello hello hello hello")};
    nodus_encode_opts o = {.compressed = level};
    const uint8_t *want = level == 1 ? COMPRESSED_L1 : COMPRESSED_L9;
    size_t wlen = level == 1 ? sizeof COMPRESSED_L1 : sizeof COMPRESSED_L9;
    enc_is(__LINE__, list_of(items, 2, nodus_nil()), &o, want, wlen);
    dec_reenc(__LINE__, want, wlen, &o, NULL);
  }
  /* OTP keeps the compressed form only when it is no longer than the
   * plain one: 14 sevens stay plain, 15 get compressed. */
  nodus_encode_opts c6 = {.compressed = 6};
  nodus_term t;
  nodus_mk_list(&t, 14);
  for (int i = 0; i < 14; i++) t.v.items[i] = nodus_int(7);
  ENC_IS(t, &c6, 131, 107, 0, 14, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7);
  nodus_mk_list(&t, 15);
  for (int i = 0; i < 15; i++) t.v.items[i] = nodus_int(7);
  enc_is(__LINE__, t, &c6, DUP15_C6, sizeof DUP15_C6);
  ENC_IS(nodus_int(1), &c6, 131, 97, 1);

  /* Declared size wrong either way, corrupt stream, cut-off stream, a
   * size over max_size, a term cut short inside the payload. */
  uint8_t bad[64];
  memcpy(bad, DUP15_C6, sizeof DUP15_C6);
  bad[5] = 19;
  dec_fails(__LINE__, bad, sizeof DUP15_C6, NULL, NODUS_EZLIB);
  bad[5] = 17;
  dec_fails(__LINE__, bad, sizeof DUP15_C6, NULL, NODUS_EZLIB);
  bad[5] = 18;
  bad[10] ^= 0xFF;
  int rc = nodus_etf_decode(bad, sizeof DUP15_C6, NULL, &t, NULL);
  CHECK(rc == NODUS_EZLIB || rc == NODUS_EBADETF);
  CHECK(t.type == NODUS_T_NONE);
  truncations(__LINE__, DUP15_C6, sizeof DUP15_C6);
  truncations(__LINE__, COMPRESSED_L9, sizeof COMPRESSED_L9);
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 80, 255, 255, 255, 255, 120, 156);
  /* zlib of <<97>> (a SMALL_INTEGER without its byte), declared 1 */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 80, 0, 0, 0, 1, 120, 156, 75, 4, 0, 0,
            98, 0, 98);
  /* COMPRESSED is only valid at the top. */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 104, 1, 80, 0, 0, 0, 2, 120, 156, 75,
            100, 4, 0, 0, 197, 0, 99);
  /* Bytes after the zlib stream are not part of the term. */
  size_t used = 0;
  uint8_t more[64];
  memcpy(more, DUP15_C6, sizeof DUP15_C6);
  memcpy(more + sizeof DUP15_C6, "\x01\x02", 2);
  CHECK_RC(nodus_etf_decode(more, sizeof DUP15_C6 + 2, NULL, &t, &used), 0);
  CHECK(used == sizeof DUP15_C6 && t.type == NODUS_T_LIST && t.n == 15);
  nodus_term_free(&t);
  nodus_encode_opts bad_opts = {.compressed = 10};
  uint8_t *out;
  size_t olen;
  t = nodus_nil();
  CHECK_RC(nodus_etf_encode(&t, &bad_opts, &out, &olen), NODUS_EINVAL);
}

/* ---- legacy and unusual encodings -------------------------------------- */

static void test_legacy_decode(void) {
  nodus_term t;
  /* PID_EXT, PORT_EXT, REFERENCE_EXT, NEW_REFERENCE_EXT re-encode as OTP
   * 25 does. */
  uint8_t want_pid[] = {131, 88, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1,
                        0,   0,  0,   2, 0, 0,  0,  3};
  CHECK_RC(nodus_etf_decode(B(131, 103, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 0,
                              0, 0, 2, 3),
                            NULL, &t, NULL),
           0);
  CHECK(t.type == NODUS_T_PID && t.v.id->creation == 3 && t.v.id->w[1] == 2);
  enc_is(__LINE__, t, NULL, want_pid, sizeof want_pid);
  CHECK_RC(nodus_etf_decode(B(131, 101, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 3),
                            NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 90, 0, 1, 100, 0, 3, 97, 64, 98, 0, 0, 0, 3, 0, 0, 0,
         1);
  CHECK_RC(nodus_etf_decode(B(131, 114, 0, 2, 100, 0, 3, 97, 64, 98, 3, 0, 0,
                              0, 1, 0, 0, 0, 2),
                            NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 90, 0, 2, 100, 0, 3, 97, 64, 98, 0, 0, 0, 3, 0, 0, 0, 1,
         0, 0, 0, 2);
  CHECK_RC(nodus_etf_decode(B(131, 102, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 3),
                            NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 89, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 3);
  DEC_REENC(NULL, 131, 90, 0, 5, 100, 0, 1, 97, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
            0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5);

  /* FLOAT_EXT: "%.20e" text padded with NULs. */
  uint8_t old[33] = {131, 99};
  memcpy(old + 2, "1.5000000000000000000e+00", 25);
  CHECK_RC(nodus_etf_decode(old, sizeof old, NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_FLOAT && t.v.f == 1.5);
  ENC_IS(t, NULL, 131, 70, 63, 248, 0, 0, 0, 0, 0, 0);
  memset(old + 2, ' ', 31);
  dec_fails(__LINE__, old, sizeof old, NULL, NODUS_EBADETF);
  memset(old + 2, 0, 31);
  memcpy(old + 2, "inf", 3);
  dec_fails(__LINE__, old, sizeof old, NULL, NODUS_EBADETF);
  memcpy(old + 2, "1.0e+00 x", 9);
  dec_fails(__LINE__, old, sizeof old, NULL, NODUS_EBADETF);

  /* Non-normalised bigs, negative zero, any non-zero sign byte. */
  CHECK_RC(nodus_etf_decode(B(131, 110, 2, 0, 5, 0), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_INT && t.v.i == 5);
  CHECK_RC(nodus_etf_decode(B(131, 110, 1, 1, 0), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_INT && t.v.i == 0);
  CHECK_RC(nodus_etf_decode(B(131, 110, 1, 2, 5), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_INT && t.v.i == -5);
  CHECK_RC(nodus_etf_decode(B(131, 110, 0, 0), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_INT && t.v.i == 0);
  CHECK_RC(nodus_etf_decode(B(131, 111, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 128,
                              0),
                            NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128); /* 2^63 */
  CHECK_RC(nodus_etf_decode(B(131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128), NULL,
                            &t, NULL),
           0);
  CHECK(t.type == NODUS_T_INT && t.v.i == INT64_MIN);

  /* Bit binaries: 8 bits is a binary, stray bits are cleared. */
  CHECK_RC(nodus_etf_decode(B(131, 77, 0, 0, 0, 1, 8, 5), NULL, &t, NULL), 0);
  ENC_IS(t, NULL, 131, 109, 0, 0, 0, 1, 5);
  CHECK_RC(nodus_etf_decode(B(131, 77, 0, 0, 0, 1, 4, 0x3f), NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 77, 0, 0, 0, 1, 4, 0x30);
  CHECK_RC(nodus_etf_decode(B(131, 77, 0, 0, 0, 0, 0), NULL, &t, NULL), 0);
  ENC_IS(t, NULL, 131, 109, 0, 0, 0, 0);

  /* List tails that are lists merge: [1|"ab"], [1|[2]], [] with tail 5. */
  CHECK_RC(nodus_etf_decode(B(131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 97, 98),
                            NULL, &t, NULL),
           0);
  CHECK(t.type == NODUS_T_LIST && t.n == 3 && nodus_is_proper_list(&t));
  ENC_IS(t, NULL, 131, 107, 0, 3, 1, 97, 98);
  CHECK_RC(nodus_etf_decode(B(131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97,
                              2, 106),
                            NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 107, 0, 2, 1, 2);
  CHECK_RC(nodus_etf_decode(B(131, 108, 0, 0, 0, 0, 97, 5), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_INT && t.v.i == 5);
  CHECK_RC(nodus_etf_decode(B(131, 108, 0, 0, 0, 0, 106), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_NIL);
  CHECK_RC(nodus_etf_decode(B(131, 107, 0, 0), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_NIL);
  /* EXPORT_EXT with an INTEGER_EXT arity, as BEAM accepts; it re-encodes
   * the arity as SMALL_INTEGER_EXT, as BEAM does. */
  CHECK_RC(nodus_etf_decode(B(131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 98, 0,
                              0, 0, 1),
                            NULL, &t, NULL),
           0);
  ENC_IS(t, NULL, 131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 97, 1);

  /* A long chain of one-element LIST_EXT tails decodes without recursion
   * into one flat list. */
  size_t links = 200000, n = 1 + 7 * links + 1;
  uint8_t *chain = malloc(n);
  chain[0] = 131;
  for (size_t i = 0; i < links; i++)
    memcpy(chain + 1 + 7 * i, (uint8_t[]){108, 0, 0, 0, 1, 97, 3}, 7);
  chain[n - 1] = 106;
  CHECK_RC(nodus_etf_decode(chain, n, NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_LIST && t.n == links && nodus_is_proper_list(&t));
  nodus_term_free(&t);
  free(chain);

  /* Trailing bytes are left for the caller. */
  size_t used = 0;
  CHECK_RC(nodus_etf_decode(B(131, 97, 1, 0, 7), NULL, &t, &used), 0);
  CHECK(used == 3);
}

/* ---- hostile input ----------------------------------------------------- */

static void test_truncation(void) {
  truncations(__LINE__, MIXED, sizeof MIXED);
  truncations(__LINE__, FUN_CLOSURE, sizeof FUN_CLOSURE);
  truncations(__LINE__, PID, sizeof PID);
  truncations(__LINE__, REF, sizeof REF);
  truncations(__LINE__, BIG_MAP, sizeof BIG_MAP);
  truncations(__LINE__, B(131, 113, 100, 0, 5, 108, 105, 115, 116, 115, 100, 0,
                          3, 109, 97, 112, 97, 2));
  truncations(__LINE__, B(131, 77, 0, 0, 0, 3, 4, 1, 2, 48));
  truncations(__LINE__, B(131, 111, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  truncations(__LINE__, B(131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 97, 98));
  truncations(__LINE__, B(131, 70, 63, 248, 0, 0, 0, 0, 0, 0));
  truncations(__LINE__, B(131, 120, 100, 0, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0,
                          5, 0, 0, 0, 1));
}

static void test_giant_lengths(void) {
  nodus_decode_opts unlimited = {.max_size = SIZE_MAX};
  /* Over max_size: no point waiting for more input. */
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 108, 255, 255, 255, 255, 106);
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 109, 255, 255, 255, 255, 1, 2, 3);
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 105, 255, 255, 255, 255, 106);
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 116, 255, 255, 255, 255, 106);
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 111, 255, 255, 255, 255, 0, 1);
  DEC_FAILS(NULL, NODUS_ETOOBIG, 131, 77, 255, 255, 255, 255, 3, 1);
  /* Within the limit the input is merely short -- and nothing is
   * allocated for the claimed size (ASan would see 64 GiB). */
  DEC_FAILS(&unlimited, NODUS_ETRUNC, 131, 108, 255, 255, 255, 255, 106);
  DEC_FAILS(&unlimited, NODUS_ETRUNC, 131, 109, 255, 255, 255, 255, 1, 2, 3);
  DEC_FAILS(&unlimited, NODUS_ETRUNC, 131, 105, 255, 255, 255, 255, 106);
  DEC_FAILS(&unlimited, NODUS_ETRUNC, 131, 116, 255, 255, 255, 255, 106);
  DEC_FAILS(NULL, NODUS_ETRUNC, 131, 107, 255, 255, 1, 2, 3);
  DEC_FAILS(NULL, NODUS_ETRUNC, 131, 110, 255, 0, 1);
  DEC_FAILS(NULL, NODUS_ETRUNC, 131, 118, 255, 255, 97);
  /* A small max_size applies to valid input too. */
  nodus_decode_opts small = {.max_size = 10};
  dec_fails(__LINE__, MIXED, sizeof MIXED, &small, NODUS_ETOOBIG);
  /* NEW_FUN whose Size field disagrees with its fields. */
  uint8_t fun[sizeof FUN_CLOSURE];
  memcpy(fun, FUN_CLOSURE, sizeof fun);
  fun[5] -= 1;
  dec_fails(__LINE__, fun, sizeof fun, NULL, NODUS_EBADETF);
  fun[5] += 2;
  dec_fails(__LINE__, fun, sizeof fun, NULL, NODUS_ETRUNC);
}

static uint8_t *nested_tuples(size_t depth, size_t *len) {
  uint8_t *b = malloc(depth * 2 + 2);
  b[0] = 131;
  for (size_t i = 0; i < depth; i++) b[1 + 2 * i] = 104, b[2 + 2 * i] = 1;
  b[1 + 2 * depth] = 106;
  *len = depth * 2 + 2;
  return b;
}

static void test_depth(void) {
  size_t len;
  nodus_term t;
  uint8_t *b = nested_tuples(1000, &len);
  CHECK_RC(nodus_etf_decode(b, len, NULL, &t, NULL), 0);
  nodus_term_free(&t);
  free(b);
  /* No depth bound by default, as BEAM; a caller may set one. */
  nodus_decode_opts thousand = {.max_depth = 1000};
  b = nested_tuples(1001, &len);
  dec_fails(__LINE__, b, len, &thousand, NODUS_ETOODEEP);
  free(b);
  b = nested_tuples(1000000, &len); /* no stack overflow */
  dec_fails(__LINE__, b, len, &thousand, NODUS_ETOODEEP);
  CHECK_RC(nodus_etf_decode(b, len, NULL, &t, NULL), 0);
  nodus_term_free(&t); /* nor here (tests/unit/test_deep.c has the rest) */
  free(b);
  /* Lists and maps count too; list tails do not. */
  nodus_decode_opts o = {.max_depth = 2};
  DEC_FAILS(&o, NODUS_ETOODEEP, 131, 108, 0, 0, 0, 1, 108, 0, 0, 0, 1, 108, 0,
            0, 0, 1, 97, 1, 106, 106, 106);
  DEC_FAILS(&o, NODUS_ETOODEEP, 131, 116, 0, 0, 0, 1, 97, 1, 104, 1, 104, 0);
  CHECK_RC(nodus_etf_decode(B(131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1,
                              104, 1, 106, 106),
                            &o, &t, NULL),
           0);
  nodus_term_free(&t);
}

static void test_bogus(void) {
  DEC_FAILS(NULL, NODUS_EBADETF, 0);
  dec_fails(__LINE__, (const uint8_t *)"", 0, NULL, NODUS_ETRUNC);
  DEC_FAILS(NULL, NODUS_EBADETF, 130, 97, 1);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 0);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 255);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 131, 97, 1);
  DEC_FAILS(NULL, NODUS_EUNSUPPORTED, 131, 82, 0);
  DEC_FAILS(NULL, NODUS_EUNSUPPORTED, 131, 121, 0, 0, 0, 0);
  DEC_FAILS(NULL, NODUS_EUNSUPPORTED, 131, 117, 0, 0, 0, 0);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 104, 2, 97, 1, 200);
  /* NaN and infinity do not exist in Erlang. */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 70, 127, 248, 0, 0, 0, 0, 0, 0);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 70, 255, 240, 0, 0, 0, 0, 0, 0);
  /* Bit counts outside 1..8, or bits with no bytes. */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 77, 0, 0, 0, 1, 0, 5);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 77, 0, 0, 0, 1, 9, 5);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 77, 0, 0, 0, 0, 1);
  /* References with 0 or 6 words; a pid whose node is not an atom. */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 90, 0, 0, 100, 0, 1, 97, 0, 0, 0, 0);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 90, 0, 6, 100, 0, 1, 97, 0, 0, 0, 0, 0, 0,
            0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
            0, 0);
  DEC_FAILS(NULL, NODUS_EUNSUPPORTED, 131, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0,
            0, 0, 0, 0);
  /* Export with a non-integer or out-of-range arity. */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 106);
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 98,
            0, 0, 1, 0);
  /* Duplicate map keys, adjacent or not; unsorted keys are fine. */
  DEC_FAILS(NULL, NODUS_EDUPKEY, 131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97,
            2);
  DEC_FAILS(NULL, NODUS_EDUPKEY, 131, 116, 0, 0, 0, 3, 97, 2, 97, 1, 97, 1, 97,
            1, 97, 2, 97, 3);
  nodus_term t;
  CHECK_RC(nodus_etf_decode(B(131, 116, 0, 0, 0, 2, 97, 2, 97, 1, 97, 1, 97, 2),
                            NULL, &t, NULL),
           0);
  CHECK(t.type == NODUS_T_MAP && !(t.flags & NODUS_TF_MAP_SORTED));
  nodus_term one = nodus_int(1);
  const nodus_term *v = nodus_map_get(&t, &one);
  CHECK(v && v->v.i == 2);
  nodus_term_free(&t);
  /* Errors deep inside containers free what was built (ASan checks). */
  DEC_FAILS(NULL, NODUS_EBADETF, 131, 104, 3, 109, 0, 0, 0, 1, 7, 108, 0, 0, 0,
            2, 110, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 106, 70, 127, 248, 0, 0, 0,
            0, 0, 0);
  DEC_FAILS(NULL, NODUS_EDUPKEY, 131, 108, 0, 0, 0, 1, 116, 0, 0, 0, 2, 109, 0,
            0, 0, 1, 7, 109, 0, 0, 0, 1, 8, 109, 0, 0, 0, 1, 7, 97, 1, 106);
}

static void test_bad_atoms(void) {
  DEC_FAILS(NULL, NODUS_EBADATOM, 131, 119, 1, 255);
  DEC_FAILS(NULL, NODUS_EBADATOM, 131, 118, 0, 2, 0xC0, 0x80); /* overlong */
  DEC_FAILS(NULL, NODUS_EBADATOM, 131, 119, 3, 0xED, 0xA0, 0x80); /* surrogate */
  DEC_FAILS(NULL, NODUS_EBADATOM, 131, 119, 2, 0xCE, 0x41);
  /* 256 characters: too long in either encoding. */
  uint8_t b[600] = {131, 100, 1, 0};
  memset(b + 4, 'q', 256);
  dec_fails(__LINE__, b, 260, NULL, NODUS_EBADATOM);
  memcpy(b, (uint8_t[]){131, 118, 2, 0}, 4);
  for (int i = 0; i < 256; i++) memcpy(b + 4 + 2 * i, "\xce\xb1", 2);
  dec_fails(__LINE__, b, 516, NULL, NODUS_EBADATOM);
  /* 255 alphas (510 bytes) are fine. */
  b[2] = 1, b[3] = 254;
  nodus_term t;
  CHECK_RC(nodus_etf_decode(b, 514, NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_ATOM);
}

/* A list of `n` atoms etf_limit_<tag>_<i>, each repeated `rep` times. */
static uint8_t *atom_list(const char *tag, int n, int rep, size_t *len) {
  uint8_t *b = malloc(8 + (size_t)(n * rep) * 64);
  size_t k = 0;
  b[k++] = 131, b[k++] = 108;
  uint32_t count = (uint32_t)(n * rep);
  b[k++] = (uint8_t)(count >> 24), b[k++] = (uint8_t)(count >> 16);
  b[k++] = (uint8_t)(count >> 8), b[k++] = (uint8_t)count;
  for (int i = 0; i < n; i++)
    for (int r = 0; r < rep; r++) {
      char name[64];
      int m = snprintf(name, sizeof name, "etf_limit_%s_%d", tag, i);
      b[k++] = 119, b[k++] = (uint8_t)m;
      memcpy(b + k, name, (size_t)m);
      k += (size_t)m;
    }
  b[k++] = 106;
  *len = k;
  return b;
}

static void test_atom_limit(void) {
  nodus_term t;
  size_t len;
  nodus_decode_opts four = {.max_new_atoms = 4};
  uint8_t *b = atom_list("a", 5, 1, &len);
  dec_fails(__LINE__, b, len, &four, NODUS_EATOMLIMIT);
  free(b);
  /* Repeats of one new atom count once; existing atoms not at all. */
  b = atom_list("b", 4, 3, &len);
  CHECK_RC(nodus_etf_decode(b, len, &four, &t, NULL), 0);
  nodus_term_free(&t);
  nodus_decode_opts one = {.max_new_atoms = 1};
  CHECK_RC(nodus_etf_decode(b, len, &one, &t, NULL), 0);
  nodus_term_free(&t);
  free(b);
  /* The default allows 4096. */
  b = atom_list("c", 4097, 1, &len);
  dec_fails(__LINE__, b, len, NULL, NODUS_EATOMLIMIT);
  free(b);
}

/* Decoded terms stop at limit - reserve; nodus_atom_intern (node names,
 * the node's own atoms) may use the reserve. */
static void test_atom_reserve(void) {
  nodus_atom_table_stats st0, st;
  nodus_atom_stats(&st0);
  CHECK(st0.reserve == st0.limit / 16); /* the default */
  CHECK_RC(nodus_atom_set_limit(st0.count + 30), 0);
  CHECK_RC(nodus_atom_set_reserve(10), 0);
  nodus_atom_stats(&st);
  CHECK(st.limit == st0.count + 30 && st.reserve == 10);
  int decoded = 0, rc = 0;
  for (int i = 0; i < 40 && !rc; i++) {
    uint8_t b[16] = {131, 119, 0};
    int n = snprintf((char *)b + 3, 12, "rsv_%d", i);
    b[2] = (uint8_t)n;
    nodus_term t;
    rc = nodus_etf_decode(b, 3 + (size_t)n, NULL, &t, NULL);
    if (!rc) decoded++, nodus_term_free(&t);
  }
  CHECK_RC(rc, NODUS_EATOMTABLE);
  CHECK(decoded == 20); /* 30 of headroom, 10 of them reserved */
  nodus_atom a;
  CHECK_RC(nodus_atom_lookup("rsv_5", 5, &a), 0); /* known: decodes still */
  CHECK_RC(nodus_etf_decode(B(131, 119, 5, 'r', 's', 'v', '_', '5'), NULL,
                            &(nodus_term){0}, NULL), 0);
  int made = 0;
  for (int i = 0; i < 20; i++) {
    char name[16];
    int n = snprintf(name, sizeof name, "own_%d", i);
    if (nodus_atom_intern(name, (size_t)n, &a) == 0) made++;
  }
  CHECK(made == 10); /* the reserve, then the table is full */
  nodus_atom_stats(&st);
  CHECK(st.count == st.limit && st.wire_refused == st0.wire_refused + 1);
  CHECK_RC(nodus_atom_set_reserve(0), 0);
  CHECK_RC(nodus_atom_set_limit(NODUS_ATOM_TABLE_DEFAULT_LIMIT), 0);
}

/* Runs last: it freezes the process-wide atom table. */
static void test_atom_table_full(void) {
  nodus_term t;
  CHECK_RC(nodus_atom_set_limit(nodus_atom_count()), 0);
  DEC_FAILS(NULL, NODUS_EATOMTABLE, 131, 119, 9, 'e', 't', 'f', '_', 'f', 'u',
            'l', 'l', '!');
  DEC_FAILS(NULL, NODUS_EATOMTABLE, 131, 104, 2, 100, 0, 2, 111, 107, 119, 9,
            'e', 't', 'f', '_', 'f', 'u', 'l', 'l', '!');
  CHECK_RC(nodus_etf_decode(B(131, 100, 0, 2, 111, 107), NULL, &t, NULL), 0);
  CHECK(t.type == NODUS_T_ATOM && t.v.atom == NODUS_ATOM_OK);
}

static void test_encode_errors(void) {
  nodus_term none = {0}, t;
  uint8_t *out = NULL;
  size_t len = 0;
  CHECK_RC(nodus_etf_encode(&none, NULL, &out, &len), NODUS_EINVAL);
  CHECK_RC(nodus_etf_size(&none, NULL, &len), NODUS_EINVAL);
  nodus_mk_tuple(&t, 2);
  nodus_tuple_set(&t, 0, nodus_int(1)); /* slot 1 left NONE */
  CHECK_RC(nodus_etf_encode(&t, NULL, &out, &len), NODUS_EINVAL);
  CHECK_RC(nodus_etf_size(&t, NULL, &len), NODUS_EINVAL);
  nodus_term_free(&t);
  nodus_mk_list(&t, 1); /* element NONE */
  CHECK_RC(nodus_etf_size(&t, NULL, &len), NODUS_EINVAL);
  nodus_term_free(&t);
  t = nodus_float(NAN);
  CHECK_RC(nodus_etf_size(&t, NULL, &len), NODUS_EINVAL);
  t = nodus_atom_term(0xFFFFFFF0u);
  CHECK_RC(nodus_etf_size(&t, NULL, &len), NODUS_EINVAL);
  nodus_encode_opts v3 = {.minor_version = 3};
  t = nodus_nil();
  CHECK_RC(nodus_etf_size(&t, &v3, &len), NODUS_EINVAL);
  CHECK(out == NULL);
}

int main(void) {
  test_scalars();
  test_atoms();
  test_containers();
  test_idents_and_funs();
  test_round_trips();
  test_compressed();
  test_legacy_decode();
  test_truncation();
  test_giant_lengths();
  test_depth();
  test_bogus();
  test_bad_atoms();
  test_atom_limit();
  test_encode_errors();
  test_atom_reserve();
  test_atom_table_full();
  return check_report();
}
