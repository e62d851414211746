/* Floats as Erlang prints them.
 *
 * OTP 25's io_lib:write / ~p print a float with float_to_list(F, [short]):
 * the shortest digit string that reads back as the same double (Ryu), laid
 * out either as "123.45" or as "1.2345e-7". We find the digits with libc:
 * the correctly rounded %.*e at 1..17 significant digits, taking the first
 * precision that strtod reads back exactly (also trying the neighbour one
 * unit up or down, which matters when the double sits on a power of two and
 * its rounding interval is lopsided). The layout rule below was checked
 * against erl on a large random sample of doubles. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

/* Shortest decimal form of |f|: digits (no leading/trailing zeros except
 * for the value 0) and exponent e such that |f| = digits * 10^e. */
typedef struct decimal {
  uint64_t mant;
  int ndigits;
  int exp;
} decimal;

static int count_digits(uint64_t v) {
  int n = 1;
  while (v >= 10) v /= 10, n++;
  return n;
}

static bool reads_back(uint64_t mant, int exp, double want) {
  char text[48];
  snprintf(text, sizeof text, "%" PRIu64 "e%d", mant, exp);
  return strtod(text, NULL) == want;
}

/* Splits "d.ddddde[+-]xx" into an integer mantissa and a decimal exponent. */
static void split_e(const char *s, int prec, uint64_t *mant, int *exp) {
  uint64_t m = 0;
  const char *p = s;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') m = m * 10 + (uint64_t)(*p - '0');
  int e = *p == 'e' ? atoi(p + 1) : 0;
  *mant = m;
  *exp = e - prec;
}

static decimal shortest(double a) {
  decimal d = {0, 1, 0};
  for (int prec = 0; prec <= 16; prec++) {
    char text[48];
    snprintf(text, sizeof text, "%.*e", prec, a);
    uint64_t m;
    int e;
    split_e(text, prec, &m, &e);
    uint64_t try[3] = {m, m + 1, m - 1};
    for (int k = 0; k < 3; k++) {
      if (try[k] == 0) continue;
      if (reads_back(try[k], e, a)) {
        d.mant = try[k];
        d.exp = e;
        goto found;
      }
    }
  }
  /* 17 significant digits always read back; not reached for finite a. */
  d.mant = 0;
  return d;
found:
  while (d.mant % 10 == 0) d.mant /= 10, d.exp++;
  d.ndigits = count_digits(d.mant);
  return d;
}

/* Erlang's choice between fixed and scientific layout for digits*10^exp. */
static bool use_fixed(const decimal *d) {
  int sci = d->exp + d->ndigits - 1;
  int lower = -(d->ndigits + 2), upper;
  if (d->ndigits == 1) {
    lower = -4;
    upper = 2;
  } else if (sci >= 10) {
    upper = 2;
  } else {
    upper = 1;
  }
  if (d->exp < lower || d->exp > upper) return false;
  /* Integers from 2^53 up are not all exact, so Erlang shows them in
   * scientific form. */
  if (d->exp == 0 && d->mant >= (UINT64_C(1) << 53)) return false;
  if (d->exp == 1 && d->mant > (UINT64_C(1) << 52) / 5) return false;
  if (d->exp == 2 && d->mant > (UINT64_C(1) << 51) / 25) return false;
  return true;
}

static size_t layout_fixed(const decimal *d, const char *digits, char *out) {
  size_t o = 0;
  int whole = d->ndigits + d->exp; /* digits before the point */
  if (d->exp >= 0) {
    memcpy(out + o, digits, (size_t)d->ndigits);
    o += (size_t)d->ndigits;
    for (int i = 0; i < d->exp; i++) out[o++] = '0';
    out[o++] = '.';
    out[o++] = '0';
  } else if (whole > 0) {
    memcpy(out + o, digits, (size_t)whole);
    o += (size_t)whole;
    out[o++] = '.';
    memcpy(out + o, digits + whole, (size_t)(d->ndigits - whole));
    o += (size_t)(d->ndigits - whole);
  } else {
    out[o++] = '0';
    out[o++] = '.';
    for (int i = 0; i < -whole; i++) out[o++] = '0';
    memcpy(out + o, digits, (size_t)d->ndigits);
    o += (size_t)d->ndigits;
  }
  return o;
}

static size_t layout_scientific(const decimal *d, const char *digits,
                                char *out) {
  size_t o = 0;
  out[o++] = digits[0];
  out[o++] = '.';
  if (d->ndigits == 1) {
    out[o++] = '0';
  } else {
    memcpy(out + o, digits + 1, (size_t)(d->ndigits - 1));
    o += (size_t)(d->ndigits - 1);
  }
  int n = snprintf(out + o, 8, "e%d", d->exp + d->ndigits - 1);
  return o + (size_t)n;
}

size_t term_format_double(double f, char *buf) {
  size_t o = 0;
  if (signbit(f)) buf[o++] = '-';
  double a = fabs(f);
  if (a == 0) {
    memcpy(buf + o, "0.0", 4);
    return o + 3;
  }
  if (!isfinite(a)) { /* Erlang has no such floats; keep it readable. */
    int n = snprintf(buf + o, 8, "%s", isnan(a) ? "nan" : "inf");
    return o + (size_t)n;
  }
  decimal d = shortest(a);
  char digits[24];
  snprintf(digits, sizeof digits, "%" PRIu64, d.mant);
  o += use_fixed(&d) ? layout_fixed(&d, digits, buf + o)
                     : layout_scientific(&d, digits, buf + o);
  buf[o] = 0;
  return o;
}
