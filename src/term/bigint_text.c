/* Big integers to and from text, through OpenSSL's BIGNUM (already a
 * dependency for the cookie digest), so we carry no bignum code. */
#include <openssl/bn.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

void term_bigint_to_text(const nodus_big *big, term_buf *out) {
  BIGNUM *bn = BN_lebin2bn(big->mag, (int)big->len, NULL);
  char *dec = bn ? BN_bn2dec(bn) : NULL;
  if (!dec) {
    out->err = out->err ? out->err : NODUS_ENOMEM;
  } else {
    if (big->negative) term_buf_putc(out, '-');
    term_buf_puts(out, dec);
  }
  OPENSSL_free(dec);
  BN_free(bn);
}

static int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

/* Fast path: accumulate in 64 bits while it cannot overflow. */
static bool small_value(const char *s, size_t len, unsigned base,
                        uint64_t *v) {
  uint64_t acc = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '_') continue;
    unsigned d = (unsigned)digit_value(s[i]);
    if (acc > (UINT64_MAX - d) / base) return false;
    acc = acc * base + d;
  }
  *v = acc;
  return true;
}

static int from_bignum(const BIGNUM *bn, bool negative, nodus_term *out) {
  int n = BN_num_bytes(bn);
  uint8_t *mag = malloc(n ? (size_t)n : 1);
  if (!mag) return NODUS_ENOMEM;
  if (n && BN_bn2lebinpad(bn, mag, n) != n) {
    free(mag);
    return NODUS_ENOMEM;
  }
  int rc = nodus_mk_integer(out, negative, mag, (size_t)n);
  free(mag);
  return rc;
}

int term_integer_from_digits(const char *digits, size_t len, unsigned base,
                             bool negative, nodus_term *out) {
  uint64_t v;
  if (small_value(digits, len, base, &v)) {
    uint8_t mag[8];
    for (int i = 0; i < 8; i++) mag[i] = (uint8_t)(v >> (8 * i));
    return nodus_mk_integer(out, negative, mag, 8);
  }
  BIGNUM *bn = BN_new();
  if (!bn) return NODUS_ENOMEM;
  /* Digits go in by chunks that fit a word, to keep the quadratic cost
   * down. */
  int rc = 0;
  BN_ULONG chunk = 0, scale = 1;
  for (size_t i = 0; i < len && rc == 0; i++) {
    if (digits[i] == '_') continue;
    chunk = chunk * base + (BN_ULONG)digit_value(digits[i]);
    scale *= base;
    if (scale > (BN_ULONG)-1 / 64 || i + 1 == len) {
      if (!BN_mul_word(bn, scale) || !BN_add_word(bn, chunk))
        rc = NODUS_ENOMEM;
      chunk = 0;
      scale = 1;
    }
  }
  if (rc == 0 && scale > 1 && (!BN_mul_word(bn, scale) ||
                               !BN_add_word(bn, chunk)))
    rc = NODUS_ENOMEM;
  if (rc == 0) rc = from_bignum(bn, negative, out);
  BN_free(bn);
  return rc;
}
