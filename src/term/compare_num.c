/* Exact comparison of Erlang numbers.
 *
 * Erlang compares integers and floats by their mathematical values, with no
 * rounding: 9007199254740993 > 9007199254740992.0 although both convert to
 * the same double, and 2^1000 > 1.0e300. So an integer never goes through
 * double here; instead a float's integer part is spelled out as a magnitude
 * (a finite double is an integer times a power of two) and compared byte by
 * byte with the integer's magnitude.
 *
 * Erlang has no NaN or infinities, but C callers can make them: infinities
 * order naturally and NaN sorts after every other number (equal to itself),
 * which keeps the order total. */
#include <math.h>
#include <string.h>

#include "term_internal.h"

#define CMP3(x, y) (((x) > (y)) - ((x) < (y)))

/* An integer (INT or BIGINT) as sign and little-endian magnitude without
 * top zero bytes; zero is never negative. */
typedef struct int_view {
  bool negative;
  uint32_t len;
  const uint8_t *mag;
  uint8_t small[8]; /* magnitude storage for NODUS_T_INT */
} int_view;

static void int_view_init(int_view *v, const nodus_term *t) {
  if (t->type == NODUS_T_INT) {
    uint64_t m = t->v.i < 0 ? 0 - (uint64_t)t->v.i : (uint64_t)t->v.i;
    for (int k = 0; k < 8; k++) v->small[k] = (uint8_t)(m >> (8 * k));
    v->negative = t->v.i < 0;
    v->mag = v->small;
    v->len = 8;
  } else {
    v->negative = t->v.big->negative != 0;
    v->mag = t->v.big->mag;
    v->len = t->v.big->len;
  }
  while (v->len > 0 && v->mag[v->len - 1] == 0) v->len--;
  if (v->len == 0) v->negative = false;
}

static int mag_compare(const uint8_t *a, uint32_t alen, const uint8_t *b,
                       uint32_t blen) {
  if (alen != blen) return alen < blen ? -1 : 1;
  for (uint32_t i = alen; i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

static int int_compare(const nodus_term *a, const nodus_term *b) {
  if (a->type == NODUS_T_INT && b->type == NODUS_T_INT)
    return CMP3(a->v.i, b->v.i);
  int_view va, vb;
  int_view_init(&va, a);
  int_view_init(&vb, b);
  if (va.negative != vb.negative) return va.negative ? -1 : 1;
  int c = mag_compare(va.mag, va.len, vb.mag, vb.len);
  return va.negative ? -c : c;
}

/* |f|'s integer part as a magnitude, and whether f has a fractional part.
 * The largest double is below 2^1024: 128 bytes, plus room for the shift. */
typedef struct float_mag {
  uint8_t mag[136];
  uint32_t len;
  bool fraction;
} float_mag;

static void float_mag_init(float_mag *m, double f) {
  double a = fabs(f);
  memset(m->mag, 0, sizeof m->mag);
  m->len = 0;
  m->fraction = false;
  if (a < 1.0) {
    m->fraction = a != 0.0;
    return;
  }
  int e;
  double fr = frexp(a, &e);                 /* a = fr * 2^e, fr in [0.5, 1) */
  uint64_t mant = (uint64_t)ldexp(fr, 53);  /* exact: 53 significant bits */
  int shift = e - 53;
  if (shift < 0) { /* 1 <= a < 2^53: some low bits are the fraction */
    m->fraction = (mant & ((UINT64_C(1) << -shift) - 1)) != 0;
    mant >>= -shift;
    shift = 0;
  }
  int byte = shift / 8, bit = shift % 8;
  for (int k = 0; k < 8; k++) {
    unsigned v = (unsigned)((mant >> (8 * k)) & 0xFF) << bit;
    m->mag[byte + k] |= (uint8_t)v;
    m->mag[byte + k + 1] |= (uint8_t)(v >> 8);
  }
  m->len = (uint32_t)byte + 9;
  while (m->len > 0 && m->mag[m->len - 1] == 0) m->len--;
}

/* Integer i against float f, exactly. */
static int int_float_compare(const nodus_term *i, double f) {
  if (isnan(f)) return -1;
  /* Fast path: f's integer part fits in int64, so truncation is exact and
   * so is the fraction f - trunc(f). */
  if (i->type == NODUS_T_INT && f >= -0x1p63 && f < 0x1p63) {
    int64_t t = (int64_t)f;
    if (i->v.i != t) return i->v.i < t ? -1 : 1;
    double frac = f - (double)t;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
  }
  if (isinf(f)) return f > 0 ? -1 : 1;
  int_view v;
  int_view_init(&v, i);
  bool fneg = f < 0; /* -0.0 counts as zero, like in Erlang */
  if (v.negative != fneg) return v.negative ? -1 : 1;
  float_mag m;
  float_mag_init(&m, f);
  int c = mag_compare(v.mag, v.len, m.mag, m.len);
  if (c == 0 && m.fraction) c = -1; /* |i| == trunc|f| < |f| */
  return fneg ? -c : c;
}

static int float_compare(double a, double b) {
  bool na = isnan(a), nb = isnan(b);
  if (na || nb) return CMP3(na, nb);
  return CMP3(a, b); /* -0.0 == 0.0 */
}

/* Both terms are numbers (INT, BIGINT or FLOAT): <0, 0, >0 by value. */
int term_number_compare(const nodus_term *a, const nodus_term *b) {
  bool fa = a->type == NODUS_T_FLOAT, fb = b->type == NODUS_T_FLOAT;
  if (fa && fb) return float_compare(a->v.f, b->v.f);
  if (!fa && !fb) return int_compare(a, b);
  return fa ? -int_float_compare(b, a->v.f) : int_float_compare(a, b->v.f);
}
