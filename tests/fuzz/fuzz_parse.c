/* Fuzz target: parse arbitrary bytes as an Erlang term literal; whatever
 * parses must print, and the printed text must parse back to an =:= term
 * that prints identically — except export funs with non-ASCII atoms, which
 * print as erl shows them (each UTF-8 byte as a character) and, as in
 * erl, do not read back. Every term that parses also goes through ETF:
 * encode and decode give an =:= term. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_assert.h"
#include "nodus/term.h"

static int has_non_ascii_fun(const nodus_term *t) {
  switch (t->type) {
    case NODUS_T_FUN:
      for (uint32_t i = 0; i < t->n; i++)
        if (t->v.bin->data[i] >= 0x80) return 1;
      return 0;
    case NODUS_T_TUPLE:
    case NODUS_T_LIST:
    case NODUS_T_MAP: {
      size_t n = t->type == NODUS_T_TUPLE ? t->n
                 : t->type == NODUS_T_LIST ? (size_t)t->n + 1
                                           : 2 * (size_t)t->n;
      for (size_t i = 0; i < n; i++)
        if (has_non_ascii_fun(&t->v.items[i])) return 1;
      return 0;
    }
    default: return 0;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nodus_term t;
  size_t pos = 0;
  int rc = nodus_parse((const char *)data, size, NULL, &t, &pos);
  if (rc) {
    if (rc == NODUS_ESYNTAX && pos > size) abort(); /* position in range */
    return 0;
  }
  uint8_t *etf = NULL;
  size_t etf_len = 0;
  nodus_term e;
  FUZZ_ASSERT(nodus_etf_encode(&t, NULL, &etf, &etf_len) == 0);
  FUZZ_ASSERT(nodus_etf_decode(etf, etf_len, NULL, &e, NULL) == 0);
  FUZZ_ASSERT(nodus_equal(&t, &e));
  free(etf);
  nodus_term_free(&e);
  char *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  if (nodus_print(&t, NULL, &a, &alen) != 0) abort();
  if (has_non_ascii_fun(&t)) {
    free(a);
    nodus_term_free(&t);
    return 0;
  }
  nodus_term u;
  rc = nodus_parse(a, alen, NULL, &u, &pos);
  if (rc) {
    fprintf(stderr, "printed text does not parse (%d at %zu): %s\n", rc, pos,
            a);
    abort();
  }
  if (!nodus_equal(&t, &u)) {
    fprintf(stderr, "parse(print(T)) is not T: %s\n", a);
    abort();
  }
  if (nodus_print(&u, NULL, &b, &blen) != 0) abort();
  if (alen != blen || memcmp(a, b, alen) != 0) {
    fprintf(stderr, "round trip differs:\n%s\n%s\n", a, b);
    abort();
  }
  free(a);
  free(b);
  nodus_term_free(&t);
  nodus_term_free(&u);
  return 0;
}
