/* Fuzz target for the ETF decoder: any input must decode or fail with a
 * clean error (ASan/UBSan watch for the rest). What decodes must survive a
 * round trip: encode, decode again, and get an =:= term (equal in term
 * order too, with the same hash) whose encoding is the same bytes; a copy
 * is =:= too, and it prints. The decoder has no depth bound by default
 * (it doesn't recurse, nor do the others): the first decode has none, and
 * one with max_depth 64 must agree with it or refuse with ETOODEEP. Small
 * size and atom limits keep each run fast and reach the limit paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"

static void fail(const char *what) {
  fprintf(stderr, "fuzz_etf_decode: %s\n", what);
  abort(); /* test code: make the fuzzer record the input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Atoms are never freed: a long run may fill the table, after which
   * inputs with new atoms fail with EATOMTABLE, which is fine. */
  nodus_decode_opts opts = {.max_size = 1 << 20, .max_new_atoms = 64};
  nodus_term t;
  size_t used = 0;
  int rc = nodus_etf_decode(data, size, &opts, &t, &used);
  if (rc) {
    if (rc >= 0 || t.type != NODUS_T_NONE) fail("bad failure result");
    return 0;
  }
  if (used == 0 || used > size) fail("bad used");
  nodus_decode_opts shallow = {.max_depth = 64, .max_size = 1 << 20,
                               .max_new_atoms = 64};
  nodus_term s;
  rc = nodus_etf_decode(data, size, &shallow, &s, NULL);
  if (rc != 0 && rc != NODUS_ETOODEEP) fail("a depth bound changed the error");
  if (rc == 0 && !nodus_equal(&t, &s)) fail("a depth bound changed the term");
  nodus_term_free(&s);
  nodus_term copy;
  if (nodus_copy(&copy, &t)) fail("copy failed");
  if (!nodus_equal(&t, &copy) || nodus_hash(&t) != nodus_hash(&copy))
    fail("the copy differs");
  nodus_term_free(&copy);
  char *text = NULL;
  if (nodus_print(&t, NULL, &text, NULL)) fail("a decoded term does not print");
  free(text);

  uint8_t *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0, sz = 0;
  if (nodus_etf_encode(&t, NULL, &a, &alen)) fail("re-encode failed");
  if (nodus_etf_size(&t, NULL, &sz) || sz != alen) fail("size disagrees");
  nodus_term u;
  nodus_decode_opts loose = {.max_size = 1 << 22, .max_new_atoms = 1};
  if (nodus_etf_decode(a, alen, &loose, &u, NULL)) fail("re-decode failed");
  if (!nodus_equal(&t, &u)) fail("round trip changed the term");
  if (nodus_compare(&t, &u) != 0 || nodus_compare_exact(&t, &u) != 0)
    fail("round trip changed the term's order");
  if (nodus_hash(&t) != nodus_hash(&u)) fail("=:= terms hash differently");
  if (nodus_etf_encode(&u, NULL, &b, &blen)) fail("second encode failed");
  if (alen != blen || memcmp(a, b, alen) != 0) fail("encodings differ");
  /* Compressed output must decode to the same term. */
  uint8_t *c = NULL;
  size_t clen = 0;
  nodus_encode_opts z = {.compressed = 6};
  nodus_term w;
  if (nodus_etf_encode(&t, &z, &c, &clen)) fail("compressed encode failed");
  if (nodus_etf_decode(c, clen, &loose, &w, NULL)) fail("zlib re-decode");
  if (!nodus_equal(&t, &w)) fail("compressed round trip changed the term");
  free(a);
  free(b);
  free(c);
  nodus_term_free(&t);
  nodus_term_free(&u);
  nodus_term_free(&w);
  return 0;
}
