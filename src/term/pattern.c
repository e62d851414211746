/* nodus_build and nodus_match: Erlang syntax with holes.
 *
 * Both parse the text with the literal parser in pattern mode, where a
 * `~x` hole becomes a placeholder node numbered in text order (and `_` a
 * wildcard), then walk the tree: build puts the arguments into the holes,
 * match compares the tree with a term and fills the capture pointers. The
 * arguments are read from the va_list in text order before anything is
 * built, so a failure can still release every ~t term it was given. */
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

/* ---- nodus_build ----------------------------------------------------------- */

typedef struct build_arg {
  char kind;
  bool used; /* ~t: its term now lives in the tree */
  union {
    int64_t i;
    uint64_t u;
    double f;
    const char *s;
    nodus_atom atom;
    nodus_term t;
    struct {
      const void *data;
      size_t len;
    } bin;
  } v;
} build_arg;

/* Reads the arguments; returns how many it could (it stops at a hole
 * letter it does not know, whose type it cannot guess). */
static size_t fetch_build_args(const syntax_holes *h, build_arg *args,
                               va_list ap) {
  size_t i = 0;
  for (; i < h->count; i++) {
    build_arg *a = &args[i];
    memset(a, 0, sizeof *a);
    a->kind = h->kind[i];
    switch (a->kind) {
      case 'i': a->v.i = va_arg(ap, int64_t); break;
      case 'u': a->v.u = va_arg(ap, uint64_t); break;
      case 'f': a->v.f = va_arg(ap, double); break;
      case 'a':
      case 's': a->v.s = va_arg(ap, const char *); break;
      case 'A': a->v.atom = va_arg(ap, nodus_atom); break;
      case 'b':
        a->v.bin.data = va_arg(ap, const void *);
        a->v.bin.len = va_arg(ap, size_t);
        break;
      case 't': a->v.t = va_arg(ap, nodus_term); break;
      default: return i;
    }
  }
  return i;
}

static int hole_value(build_arg *a, nodus_term *out) {
  switch (a->kind) {
    case 'i': *out = nodus_int(a->v.i); return 0;
    case 'u': return nodus_mk_uint64(out, a->v.u);
    case 'f': *out = nodus_float(a->v.f); return 0;
    case 'A': *out = nodus_atom_term(a->v.atom); return 0;
    case 'a': return a->v.s ? nodus_mk_atom(out, a->v.s) : NODUS_EINVAL;
    case 's':
      return a->v.s ? nodus_mk_string(out, a->v.s, strlen(a->v.s))
                    : NODUS_EINVAL;
    case 'b':
      if (!a->v.bin.data && a->v.bin.len) return NODUS_EINVAL;
      return nodus_mk_binary(out, a->v.bin.data ? a->v.bin.data : "",
                             a->v.bin.len);
    case 't':
      if (a->v.t.type == NODUS_T_NONE) return NODUS_EINVAL;
      *out = a->v.t;
      a->used = true;
      return 0;
    default: return NODUS_EINVAL;
  }
}

static int fill(nodus_term *t, build_arg *args, size_t nargs);

/* Pattern maps keep their pairs in text order; once filled they become a
 * real map, in key order, later duplicates winning. */
static int fill_map(nodus_term *t, build_arg *args, size_t nargs) {
  for (uint32_t i = 0; i < 2 * t->n; i++) {
    int rc = fill(&t->v.items[i], args, nargs);
    if (rc) return rc;
  }
  nodus_term map;
  int rc = nodus_mk_map(&map);
  if (rc) return rc;
  uint32_t i = 0;
  for (; i < t->n && rc == 0; i++) {
    rc = nodus_map_put(&map, t->v.items[2 * i], t->v.items[2 * i + 1]);
    memset(&t->v.items[2 * i], 0, 2 * sizeof(nodus_term));
  }
  if (rc) {
    nodus_term_free(&map);
    return rc;
  }
  nodus_term_free(t);
  *t = map;
  return 0;
}

static int fill(nodus_term *t, build_arg *args, size_t nargs) {
  if (syntax_is_hole(t)) {
    if (t->flags == '_' || t->n >= nargs) return NODUS_EINVAL;
    nodus_term v;
    int rc = hole_value(&args[t->n], &v);
    if (rc == 0) *t = v;
    return rc;
  }
  size_t slots = t->type == NODUS_T_TUPLE  ? t->n
                 : t->type == NODUS_T_LIST ? (size_t)t->n + 1
                                           : 0;
  if (t->type == NODUS_T_MAP) return fill_map(t, args, nargs);
  for (size_t i = 0; i < slots; i++) {
    int rc = fill(&t->v.items[i], args, nargs);
    if (rc) return rc;
  }
  return 0;
}

int nodus_build(nodus_term *out, const char *fmt, ...) {
  syntax_holes scanned, parsed;
  build_arg args[SYNTAX_HOLE_MAX];
  size_t len = fmt ? strlen(fmt) : 0;
  if (fmt) syntax_scan_holes(fmt, len, &scanned);
  else scanned.count = 0;
  va_list ap;
  va_start(ap, fmt);
  size_t nargs = fetch_build_args(&scanned, args, ap);
  va_end(ap);

  nodus_term t = {0};
  int rc = !out || !fmt ? NODUS_EINVAL
           : nargs < scanned.count ? NODUS_EINVAL
                                   : syntax_parse(fmt, len, NULL, &parsed, &t,
                                                  NULL);
  if (rc == 0 && parsed.count != nargs) rc = NODUS_EINVAL;
  if (rc == 0) rc = fill(&t, args, nargs);
  for (size_t i = 0; i < nargs; i++)
    if (args[i].kind == 't' && !args[i].used) nodus_term_free(&args[i].v.t);
  if (rc) {
    nodus_term_free(&t);
    if (out) memset(out, 0, sizeof *out);
    return rc;
  }
  *out = t;
  return 0;
}

/* ---- nodus_match ------------------------------------------------------------- */

typedef struct capture {
  char kind;
  void *dst;       /* where the value goes on success */
  size_t *dst_len; /* ~b: the size */
  union {
    int64_t i;
    double f;
    nodus_atom atom;
    const nodus_term *t;
    struct {
      const uint8_t *data;
      size_t len;
    } bin;
  } v;
} capture;

static int fetch_match_args(const syntax_holes *h, capture *caps, va_list ap) {
  for (size_t i = 0; i < h->count; i++) {
    capture *c = &caps[i];
    memset(c, 0, sizeof *c);
    c->kind = h->kind[i];
    switch (c->kind) {
      case 'i':
      case 'f':
      case 'a':
      case 't': c->dst = va_arg(ap, void *); break;
      case 'b':
        c->dst = va_arg(ap, void *);
        c->dst_len = va_arg(ap, size_t *);
        break;
      default: return NODUS_EINVAL; /* ~u ~A ~s build only */
    }
    if (!c->dst || (c->kind == 'b' && !c->dst_len)) return NODUS_EINVAL;
  }
  return 0;
}

static int match(const nodus_term *pat, const nodus_term *t, capture *caps);

static int match_hole(const nodus_term *pat, const nodus_term *t,
                      capture *caps) {
  if (pat->flags == '_') return 0;
  capture *c = &caps[pat->n];
  switch (c->kind) {
    case 'i':
      if (t->type != NODUS_T_INT) return NODUS_ENOMATCH;
      c->v.i = t->v.i;
      return 0;
    case 'f':
      if (t->type != NODUS_T_FLOAT) return NODUS_ENOMATCH;
      c->v.f = t->v.f;
      return 0;
    case 'a':
      if (t->type != NODUS_T_ATOM) return NODUS_ENOMATCH;
      c->v.atom = t->v.atom;
      return 0;
    case 't': c->v.t = t; return 0;
    case 'b':
      if (t->type != NODUS_T_BINARY || (t->flags & NODUS_TF_BITS_MASK))
        return NODUS_ENOMATCH;
      c->v.bin.data = t->v.bin->data;
      c->v.bin.len = t->n;
      return 0;
    default: return NODUS_EINVAL;
  }
}

static bool has_holes(const nodus_term *t) {
  if (syntax_is_hole(t)) return true;
  size_t slots = t->type == NODUS_T_TUPLE  ? t->n
                 : t->type == NODUS_T_LIST ? (size_t)t->n + 1
                 : t->type == NODUS_T_MAP  ? (size_t)t->n * 2
                                           : 0;
  for (size_t i = 0; i < slots; i++)
    if (has_holes(&t->v.items[i])) return true;
  return false;
}

/* Lists match cons by cons, so [H|T] patterns work on lists stored as one
 * array: (pat, pi) and (t, ti) are "the list from element i on". */
static int match_list(const nodus_term *pat, const nodus_term *t,
                      capture *caps) {
  size_t pi = 0, ti = 0;
  for (;;) {
    while (pat->type == NODUS_T_LIST && pi == pat->n)
      pat = &pat->v.items[pat->n], pi = 0;
    while (t->type == NODUS_T_LIST && ti == t->n)
      t = &t->v.items[t->n], ti = 0;
    if (pat->type == NODUS_T_LIST) {
      if (t->type != NODUS_T_LIST) return NODUS_ENOMATCH;
      int rc = match(&pat->v.items[pi++], &t->v.items[ti++], caps);
      if (rc) return rc;
      continue;
    }
    /* The pattern's tail against what is left of t. */
    if (t->type == NODUS_T_LIST && ti > 0) {
      if (syntax_is_hole(pat) && pat->flags == '_') return 0;
      /* A capture would need the suffix as a term of its own. */
      if (syntax_is_hole(pat) && caps[pat->n].kind == 't')
        return NODUS_EUNSUPPORTED;
      return NODUS_ENOMATCH;
    }
    return match(pat, t, caps);
  }
}

static int match_map(const nodus_term *pat, const nodus_term *t,
                     capture *caps) {
  if (t->type != NODUS_T_MAP) return NODUS_ENOMATCH;
  for (uint32_t i = 0; i < pat->n; i++) {
    const nodus_term *k = &pat->v.items[2 * i];
    if (has_holes(k)) return NODUS_EINVAL; /* keys must be literals */
    const nodus_term *v = nodus_map_get(t, k);
    if (!v) return NODUS_ENOMATCH;
    int rc = match(&pat->v.items[2 * i + 1], v, caps);
    if (rc) return rc;
  }
  return 0;
}

static int match(const nodus_term *pat, const nodus_term *t, capture *caps) {
  if (syntax_is_hole(pat)) return match_hole(pat, t, caps);
  switch (pat->type) {
    case NODUS_T_TUPLE:
      if (t->type != NODUS_T_TUPLE || t->n != pat->n) return NODUS_ENOMATCH;
      for (uint32_t i = 0; i < pat->n; i++) {
        int rc = match(&pat->v.items[i], &t->v.items[i], caps);
        if (rc) return rc;
      }
      return 0;
    case NODUS_T_LIST: return match_list(pat, t, caps);
    case NODUS_T_MAP: return match_map(pat, t, caps);
    default: return nodus_equal(pat, t) ? 0 : NODUS_ENOMATCH;
  }
}

static void commit(const capture *caps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const capture *c = &caps[i];
    switch (c->kind) {
      case 'i': *(int64_t *)c->dst = c->v.i; break;
      case 'f': *(double *)c->dst = c->v.f; break;
      case 'a': *(nodus_atom *)c->dst = c->v.atom; break;
      case 't': *(const nodus_term **)c->dst = c->v.t; break;
      case 'b':
        *(const uint8_t **)c->dst = c->v.bin.data;
        *c->dst_len = c->v.bin.len;
        break;
      default: break;
    }
  }
}

int nodus_match(const nodus_term *t, const char *pattern, ...) {
  if (!t || !pattern) return NODUS_EINVAL;
  syntax_holes holes;
  nodus_term pat;
  int rc = syntax_parse(pattern, strlen(pattern), NULL, &holes, &pat, NULL);
  if (rc) return rc;
  capture caps[SYNTAX_HOLE_MAX];
  va_list ap;
  va_start(ap, pattern);
  rc = fetch_match_args(&holes, caps, ap);
  va_end(ap);
  /* Captures reach the caller only on a full match. */
  if (rc == 0) rc = match(&pat, t, caps);
  if (rc == 0) commit(caps, holes.count);
  nodus_term_free(&pat);
  return rc;
}
