/* The ETF decoder's leaves: atoms (with a small cache of the ones just
 * seen), numbers, binaries, strings, pids, ports, references, and the
 * zlib stream of a compressed term. Every length is checked against the
 * bytes present before anything is allocated (see etf_decode.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "etf_decode.h"
#include "etf_tags.h"

/* ---- atoms ------------------------------------------------------------- */

static uint32_t atom_key_hash(const uint8_t *s, size_t len) {
  uint32_t h = 2166136261u ^ (uint32_t)len;
  for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * 16777619u;
  return h;
}

/* Interns an atom from its wire text. ATOM_EXT and SMALL_ATOM_EXT carry
 * latin-1, which is converted to UTF-8 (the table's encoding) first. New
 * atoms count against max_new_atoms so one term cannot fill the table. */
static int atom_from_wire(dec *d, const uint8_t *s, size_t len, int latin1,
                          nodus_atom *out) {
  uint32_t slot = atom_key_hash(s, len) & (ATOM_CACHE_SLOTS - 1);
  atom_cache_entry *c = &d->cache[slot];
  if ((d->cache_used >> slot & 1) && c->len == len && c->latin1 == latin1 &&
      memcmp(c->src, s, len) == 0) {
    *out = c->atom;
    return 0;
  }
  uint8_t conv[2 * NODUS_ATOM_MAX_CHARS];
  const uint8_t *text = s;
  size_t tlen = len;
  if (latin1) {
    if (len > NODUS_ATOM_MAX_CHARS) return NODUS_EBADATOM;
    tlen = 0;
    for (size_t i = 0; i < len; i++) {
      if (s[i] < 0x80) {
        conv[tlen++] = s[i];
      } else {
        conv[tlen++] = (uint8_t)(0xC0 | (s[i] >> 6));
        conv[tlen++] = (uint8_t)(0x80 | (s[i] & 0x3F));
      }
    }
    text = conv;
  }
  int rc = nodus_atom_lookup((const char *)text, tlen, out);
  if (rc == NODUS_ENOMATCH) {
    /* Report bad text as such, not as a limit hit. */
    long chars = term_utf8_count(text, tlen);
    if (chars < 0 || chars > NODUS_ATOM_MAX_CHARS) return NODUS_EBADATOM;
    if (d->new_atoms >= d->max_new_atoms) return NODUS_EATOMLIMIT;
    rc = term_atom_intern_wire((const char *)text, tlen, out);
    if (rc) return rc;
    d->new_atoms++;
  } else if (rc) {
    return rc;
  }
  c->src = s;
  c->len = (uint32_t)len;
  c->latin1 = (uint8_t)latin1;
  c->atom = *out;
  d->cache_used |= (uint64_t)1 << slot;
  return 0;
}

int etf_read_atom(dec *d, nodus_atom *out) {
  NEED(d, 2);
  uint8_t tag = d->p[0];
  size_t len, hdr;
  int latin1;
  switch (tag) {
    case ETF_ATOM: latin1 = 1, hdr = 3; break;
    case ETF_SMALL_ATOM: latin1 = 1, hdr = 2; break;
    case ETF_ATOM_UTF8: latin1 = 0, hdr = 3; break;
    case ETF_SMALL_ATOM_UTF8: latin1 = 0, hdr = 2; break;
    case ETF_ATOM_CACHE_REF: return NODUS_EUNSUPPORTED;
    default: return NODUS_EBADETF;
  }
  NEED(d, hdr);
  len = hdr == 3 ? rd16(d->p + 1) : d->p[1];
  NEED(d, hdr + len);
  int rc = atom_from_wire(d, d->p + hdr, len, latin1, out);
  if (rc) return rc;
  d->p += hdr + len;
  return 0;
}

/* ---- scalars ----------------------------------------------------------- */

/* FLOAT_EXT: 31 bytes of "%.20e" text, NUL padded. Only plain decimal
 * syntax is accepted (strtod alone would take spaces, hex, inf, nan). */
int etf_old_float(dec *d, nodus_term *out) {
  NEED(d, 31);
  char text[32];
  memcpy(text, d->p, 31);
  text[31] = 0;
  size_t n = strlen(text);
  if (n == 0) return NODUS_EBADETF;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789+-.eE", text[i])) return NODUS_EBADETF;
  char *stop;
  double f = strtod(text, &stop);
  if (stop != text + n || !isfinite(f)) return NODUS_EBADETF;
  d->p += 31;
  *out = nodus_float(f);
  return 0;
}

int etf_new_float(dec *d, nodus_term *out) {
  NEED(d, 8);
  uint64_t u = rd64(d->p);
  double f;
  memcpy(&f, &u, sizeof f);
  if (!isfinite(f)) return NODUS_EBADETF; /* BEAM has no NaN or inf */
  d->p += 8;
  *out = nodus_float(f);
  return 0;
}

/* SMALL_BIG / LARGE_BIG: n little-endian magnitude bytes. Values that fit
 * int64 become NODUS_T_INT (without allocating when n <= 8). */
int etf_big(dec *d, uint64_t n, int negative, nodus_term *out) {
  NEED(d, n);
  const uint8_t *m = d->p;
  if (n <= 8) {
    uint64_t v = 0;
    for (size_t i = (size_t)n; i-- > 0;) v = v << 8 | m[i];
    if (v <= (uint64_t)INT64_MAX || (negative && v == (uint64_t)INT64_MAX + 1)) {
      *out = nodus_int(negative ? (int64_t)(0 - v) : (int64_t)v);
      d->p += n;
      return 0;
    }
  }
  if (n > UINT32_MAX) return NODUS_ETOOBIG;
  nodus_big *big = term_big_alloc((size_t)n);
  if (!big) return NODUS_ENOMEM;
  memcpy(big->mag, m, (size_t)n);
  big->negative = negative ? 1 : 0;
  d->p += n;
  return term_big_normalize(big, out);
}

/* BINARY / BIT_BINARY. bits is the count used in the last byte, 0 = 8. */
int etf_binary(dec *d, uint64_t n, unsigned bits, nodus_term *out) {
  NEED(d, n);
  if (n > UINT32_MAX) return NODUS_ETOOBIG;
  nodus_bin *b = term_bin_alloc((size_t)n);
  if (!b) return NODUS_ENOMEM;
  if (n) memcpy(b->data, d->p, (size_t)n);
  if (bits) b->data[n - 1] &= (uint8_t)(0xFF << (8 - bits)); /* as BEAM */
  d->p += n;
  memset(out, 0, sizeof *out);
  out->type = NODUS_T_BINARY;
  out->flags = (uint8_t)bits;
  out->n = (uint32_t)n;
  out->v.bin = b;
  return 0;
}


int etf_string(dec *d, nodus_term *out) {
  NEED(d, 2);
  size_t n = rd16(d->p);
  NEED(d, 2 + n);
  if (n == 0) {
    d->p += 2;
    *out = nodus_nil();
    return 0;
  }
  nodus_term *items = items_alloc(n + 1);
  if (!items) return NODUS_ENOMEM;
  const uint8_t *s = d->p + 2;
  for (size_t i = 0; i < n; i++) items[i] = nodus_int(s[i]);
  items[n] = nodus_nil();
  d->p += 2 + n;
  memset(out, 0, sizeof *out);
  out->type = NODUS_T_LIST;
  out->n = (uint32_t)n;
  out->v.items = items;
  return 0;
}

/* ---- pids, ports, references ------------------------------------------- */

int etf_ident(dec *d, uint8_t tag, nodus_term *out) {
  uint32_t nwords = 0;
  if (tag == ETF_NEW_REFERENCE || tag == ETF_NEWER_REFERENCE) {
    NEED(d, 2);
    nwords = rd16(d->p);
    /* BEAM accepts 0 words too; nodus refs have 1..5. */
    if (nwords < 1 || nwords > ETF_MAX_REF_WORDS) return NODUS_EBADETF;
    d->p += 2;
  }
  nodus_atom node;
  int rc = etf_read_atom(d, &node);
  if (rc) return rc;
  nodus_ident id = {.node = node};
  const uint8_t *p = d->p;
  nodus_type type;
  switch (tag) {
    case ETF_NEW_PID: /* id, serial, creation: 4 bytes each */
    case ETF_PID:     /* ... creation 1 byte */
      NEED(d, tag == ETF_PID ? 9 : 12);
      type = NODUS_T_PID;
      id.len = 2;
      id.w[0] = rd32(p);
      id.w[1] = rd32(p + 4);
      id.creation = tag == ETF_PID ? p[8] : rd32(p + 8);
      d->p += tag == ETF_PID ? 9 : 12;
      break;
    case ETF_PORT:     /* id 4, creation 1 */
    case ETF_NEW_PORT: /* id 4, creation 4 */
      NEED(d, tag == ETF_PORT ? 5 : 8);
      type = NODUS_T_PORT;
      id.len = 2;
      id.w[0] = rd32(p);
      id.creation = tag == ETF_PORT ? p[4] : rd32(p + 4);
      d->p += tag == ETF_PORT ? 5 : 8;
      break;
    case ETF_V4_PORT: /* id 8, creation 4 */
      NEED(d, 12);
      type = NODUS_T_PORT;
      id.len = 2;
      id.w[1] = rd32(p);
      id.w[0] = rd32(p + 4);
      id.creation = rd32(p + 8);
      d->p += 12;
      break;
    case ETF_REFERENCE: /* one id word, creation 1 */
      NEED(d, 5);
      type = NODUS_T_REF;
      id.len = 1;
      id.w[0] = rd32(p);
      id.creation = p[4];
      d->p += 5;
      break;
    default: { /* NEW_REFERENCE: creation 1; NEWER_REFERENCE: creation 4 */
      size_t cb = tag == ETF_NEW_REFERENCE ? 1 : 4;
      NEED(d, cb + 4 * (size_t)nwords);
      type = NODUS_T_REF;
      id.len = nwords;
      id.creation = cb == 1 ? p[0] : rd32(p);
      for (uint32_t i = 0; i < nwords; i++) id.w[i] = rd32(p + cb + 4 * i);
      d->p += cb + 4 * (size_t)nwords;
      break;
    }
  }
  nodus_ident *heap = malloc(sizeof *heap);
  if (!heap) return NODUS_ENOMEM;
  *heap = id;
  memset(out, 0, sizeof *out);
  out->type = (uint8_t)type;
  if (type == NODUS_T_PORT && id.w[1]) out->flags = NODUS_TF_ID_V4;
  out->v.id = heap;
  return 0;
}


/* ---- compressed terms -------------------------------------------------- */

/* Inflates into a buffer that grows up to the declared size (plus one byte
 * to notice a stream that runs longer), so a lying size field costs at most
 * what the stream really produces. */
int etf_inflate(dec *d, size_t declared, uint8_t **out,
                size_t *consumed) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) return NODUS_ENOMEM;
  size_t in_left = left(d);
  size_t limit = declared + 1;
  size_t cap = in_left < limit / 4 ? in_left * 4 : limit;
  if (cap < 4096) cap = limit < 4096 ? limit : 4096;
  uint8_t *buf = malloc(cap);
  int rc = buf ? 0 : NODUS_ENOMEM;
  const uint8_t *in = d->p;
  while (rc == 0) {
    if (zs.avail_in == 0 && in_left) {
      zs.next_in = (Bytef *)in;
      zs.avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
      in += zs.avail_in;
      in_left -= zs.avail_in;
    }
    if (zs.total_out == cap && cap < limit) {
      size_t ncap = cap * 2 < limit ? cap * 2 : limit;
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        rc = NODUS_ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    zs.next_out = buf + zs.total_out;
    zs.avail_out = (uInt)(cap - zs.total_out > UINT32_MAX ? UINT32_MAX
                                                          : cap - zs.total_out);
    int zr = inflate(&zs, Z_NO_FLUSH);
    if (zr == Z_STREAM_END) break;
    if (zr == Z_MEM_ERROR) rc = NODUS_ENOMEM;
    else if (zr != Z_OK && zr != Z_BUF_ERROR) rc = NODUS_EZLIB;
    else if (zs.total_out >= limit) rc = NODUS_EZLIB; /* longer than said */
    else if (zs.avail_in == 0 && in_left == 0 && zs.avail_out > 0)
      rc = short_input(d, left(d) + 1); /* stream cut off */
  }
  if (rc == 0 && zs.total_out != declared) rc = NODUS_EZLIB;
  *consumed = zs.total_in;
  inflateEnd(&zs);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  return 0;
}

