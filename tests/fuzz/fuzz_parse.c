/* Fuzz target: parse arbitrary bytes as an Erlang term literal; whatever
 * parses must print, and the printed text must parse back to a term that
 * prints identically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus/term.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nodus_term t;
  size_t pos = 0;
  int rc = nodus_parse((const char *)data, size, NULL, &t, &pos);
  if (rc) {
    if (rc == NODUS_ESYNTAX && pos > size) abort(); /* position in range */
    return 0;
  }
  char *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  if (nodus_print(&t, NULL, &a, &alen) != 0) abort();
  nodus_term u;
  rc = nodus_parse(a, alen, NULL, &u, &pos);
  if (rc) {
    fprintf(stderr, "printed text does not parse (%d at %zu): %s\n", rc, pos,
            a);
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
