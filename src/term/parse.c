/* Erlang term literals to terms: a recursive-descent parser over lex.c.
 *
 * Accepts everything nodus_print writes, plus the usual literal syntax:
 * integers (Base#digits, $c, any size), floats, atoms, strings (adjacent
 * strings join), binaries with Value:Size integer segments and "string"
 * segments, tuples, lists, improper lists, maps (later duplicate keys win,
 * as in an Erlang map literal), <0.X.Y> and <'node'.X.Y> pids, #Ref<...>,
 * #Port<...>, fun M:F/A. The same parser reads nodus_build / nodus_match
 * patterns, where it also accepts ~x holes and `_`. */
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

#define DEFAULT_MAX_DEPTH 1000
/* Bits one binary segment may ask for (<<0:N>>): bounds the allocation a
 * short text can cause. */
#define MAX_SEGMENT_BITS (1u << 27)

typedef struct parser {
  lexer lx;
  lex_token tok; /* the current token, not yet consumed */
  size_t max_depth;
  nodus_atom local_node;
  uint32_t local_creation;
  syntax_holes *holes;
  size_t err_pos;
} parser;

static int syntax_error(parser *p, size_t pos) {
  p->err_pos = pos;
  return NODUS_ESYNTAX;
}

/* Moves to the next token; lexer errors keep their own position. */
static int advance(parser *p) {
  int rc = lex_next(&p->lx, &p->tok);
  if (rc) p->err_pos = p->lx.err_pos;
  return rc;
}

static bool is_punct(const parser *p, const char *s) {
  return p->tok.kind == TK_PUNCT && strcmp(p->tok.punct, s) == 0;
}

static int expect(parser *p, const char *s) {
  if (!is_punct(p, s)) return syntax_error(p, p->tok.pos);
  return advance(p);
}

/* ---- a growable array of terms, freed with its contents on error ---------- */

typedef struct term_vec {
  nodus_term *v;
  size_t n, cap;
} term_vec;

static int vec_push(term_vec *a, nodus_term t) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 8;
    nodus_term *v = realloc(a->v, cap * sizeof *v);
    if (!v) {
      nodus_term_free(&t);
      return NODUS_ENOMEM;
    }
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n++] = t;
  return 0;
}

static void vec_free(term_vec *a) {
  for (size_t i = 0; i < a->n; i++) nodus_term_free(&a->v[i]);
  free(a->v);
  memset(a, 0, sizeof *a);
}

static int parse_term(parser *p, nodus_term *out, size_t depth);

/* ---- numbers ------------------------------------------------------------- */

static int int_token(parser *p, bool negative, nodus_term *out) {
  const lex_token *t = &p->tok;
  int rc;
  if (t->kind == TK_CHAR) {
    *out = nodus_int(negative ? -(int64_t)t->ch : (int64_t)t->ch);
    rc = 0;
  } else {
    rc = term_integer_from_digits(p->lx.s + t->dstart, t->dlen, t->base,
                                  negative, out);
  }
  if (rc == 0 && (rc = advance(p))) nodus_term_free(out);
  return rc;
}

/* A number, after an optional sign. */
static int parse_number(parser *p, nodus_term *out) {
  bool negative = false;
  size_t pos = p->tok.pos;
  int rc;
  if (is_punct(p, "-") || is_punct(p, "+")) {
    negative = is_punct(p, "-");
    if ((rc = advance(p))) return rc;
  }
  switch (p->tok.kind) {
    case TK_INT:
    case TK_CHAR: return int_token(p, negative, out);
    case TK_FLOAT:
      *out = nodus_float(negative ? -p->tok.f : p->tok.f);
      return advance(p);
    default: return syntax_error(p, pos);
  }
}

/* ---- atoms, strings, holes ---------------------------------------------------- */

static int atom_token(parser *p, nodus_atom *a) {
  int rc = nodus_atom_intern(p->lx.text.data, p->lx.text.len, a);
  if (rc == NODUS_EBADATOM) return syntax_error(p, p->tok.pos);
  return rc ? rc : advance(p);
}

static int parse_atom(parser *p, nodus_term *out) {
  if (!p->tok.quoted &&
      lex_is_reserved(p->lx.text.data, p->lx.text.len))
    return syntax_error(p, p->tok.pos);
  nodus_atom a;
  int rc = atom_token(p, &a);
  if (rc == 0) *out = nodus_atom_term(a);
  return rc;
}

/* "abc" "def": adjacent strings make one list of code points. */
static int parse_string(parser *p, nodus_term *out) {
  uint32_t *cps = NULL;
  size_t n = 0;
  int rc = 0;
  while (rc == 0 && p->tok.kind == TK_STRING) {
    uint32_t *grown = realloc(cps, (n + p->lx.ncps + 1) * sizeof *cps);
    if (!grown) {
      rc = NODUS_ENOMEM;
      break;
    }
    cps = grown;
    if (p->lx.ncps) memcpy(cps + n, p->lx.cps, p->lx.ncps * sizeof *cps);
    n += p->lx.ncps;
    rc = advance(p);
  }
  if (rc == 0) rc = nodus_mk_list(out, n);
  for (size_t i = 0; rc == 0 && i < n; i++)
    out->v.items[i] = nodus_int(cps[i]);
  free(cps);
  return rc;
}

static nodus_term hole_term(char kind, uint32_t index) {
  nodus_term t = {0};
  t.flags = (uint8_t)kind;
  t.n = index;
  return t;
}

static int parse_hole(parser *p, nodus_term *out) {
  static const char kinds[] = "iufaAsbt";
  char k = (char)p->tok.ch;
  if (!p->holes || !strchr(kinds, k)) return syntax_error(p, p->tok.pos);
  if (p->holes->count >= SYNTAX_HOLE_MAX) return NODUS_EINVAL;
  p->holes->kind[p->holes->count] = k;
  *out = hole_term(k, (uint32_t)p->holes->count++);
  return advance(p);
}

/* `_` and `_Name` match anything in patterns; other variables are not
 * terms. */
static int parse_var(parser *p, nodus_term *out) {
  if (!p->holes || p->lx.s[p->tok.pos] != '_')
    return syntax_error(p, p->tok.pos);
  *out = hole_term('_', 0);
  return advance(p);
}

/* ---- containers ------------------------------------------------------------- */

static int enter(parser *p, size_t depth) {
  if (depth + 1 > p->max_depth) {
    p->err_pos = p->tok.pos;
    return NODUS_ETOODEEP;
  }
  return 0;
}

/* Elements up to (not including) the closing token. */
static int parse_elements(parser *p, term_vec *items, const char *close,
                          bool allow_bar, size_t depth) {
  if (is_punct(p, close)) return 0;
  for (;;) {
    nodus_term e;
    int rc = parse_term(p, &e, depth + 1);
    if (rc || (rc = vec_push(items, e))) return rc;
    if (is_punct(p, ",")) {
      if ((rc = advance(p))) return rc;
      continue;
    }
    if (allow_bar && is_punct(p, "|")) return 0;
    if (is_punct(p, close)) return 0;
    return syntax_error(p, p->tok.pos);
  }
}

static int parse_tuple(parser *p, nodus_term *out, size_t depth) {
  term_vec items = {0};
  int rc = advance(p); /* { */
  if (rc == 0) rc = parse_elements(p, &items, "}", false, depth);
  if (rc == 0) rc = expect(p, "}");
  if (rc == 0) rc = nodus_mk_tuple(out, items.n);
  if (rc) {
    vec_free(&items);
    return rc;
  }
  if (items.n) memcpy(out->v.items, items.v, items.n * sizeof *items.v);
  free(items.v);
  return 0;
}

/* Moves a list tail's items into items; tail becomes that list's tail. */
static int splice_tail(term_vec *items, nodus_term *tail) {
  nodus_term l = *tail;
  *tail = nodus_nil();
  int rc = 0;
  uint32_t i = 0;
  for (; i < l.n && rc == 0; i++) {
    rc = vec_push(items, l.v.items[i]);
    memset(&l.v.items[i], 0, sizeof l.v.items[i]);
  }
  if (rc == 0) {
    *tail = l.v.items[l.n];
    memset(&l.v.items[l.n], 0, sizeof l.v.items[l.n]);
  }
  nodus_term_free(&l);
  return rc;
}

static int parse_list(parser *p, nodus_term *out, size_t depth) {
  term_vec items = {0};
  nodus_term tail = nodus_nil();
  int rc = advance(p); /* [ */
  if (rc == 0) rc = parse_elements(p, &items, "]", true, depth);
  if (rc == 0 && items.n > 0 && is_punct(p, "|")) {
    rc = advance(p);
    if (rc == 0) rc = parse_term(p, &tail, depth + 1);
    /* [1|[2,3]] is [1,2,3]: keep lists as one array. */
    if (rc == 0 && tail.type == NODUS_T_LIST) rc = splice_tail(&items, &tail);
  }
  if (rc == 0) rc = expect(p, "]");
  if (rc == 0 && items.n == 0) {
    *out = nodus_nil();
    free(items.v);
    return 0;
  }
  if (rc == 0) rc = nodus_mk_list(out, items.n);
  if (rc) {
    vec_free(&items);
    nodus_term_free(&tail);
    return rc;
  }
  memcpy(out->v.items, items.v, items.n * sizeof *items.v);
  out->v.items[items.n] = tail;
  free(items.v);
  return 0;
}

/* Pairs key, value, key, value... into a map: sorted with nodus_map_put,
 * or kept in text order for patterns (their keys may be holes). */
static int make_map(parser *p, term_vec *pairs, nodus_term *out) {
  int rc;
  if (p->holes) {
    if ((rc = nodus_mk_map(out))) return rc;
    free(out->v.items);
    out->v.items = pairs->v ? pairs->v : term_items_alloc(0);
    if (!out->v.items) return NODUS_ENOMEM;
    out->n = (uint32_t)(pairs->n / 2);
    out->flags = 0;
    memset(pairs, 0, sizeof *pairs);
    return 0;
  }
  if ((rc = nodus_mk_map(out))) return rc;
  size_t i = 0;
  for (; i < pairs->n && rc == 0; i += 2)
    rc = nodus_map_put(out, pairs->v[i], pairs->v[i + 1]);
  /* map_put took the pairs it saw, even failing; free the rest. */
  for (; i < pairs->n; i++) nodus_term_free(&pairs->v[i]);
  free(pairs->v);
  memset(pairs, 0, sizeof *pairs);
  if (rc) nodus_term_free(out);
  return rc;
}

static int parse_map(parser *p, nodus_term *out, size_t depth) {
  term_vec pairs = {0};
  int rc = expect(p, "{");
  while (rc == 0 && !is_punct(p, "}")) {
    if (pairs.n && (rc = expect(p, ","))) break;
    nodus_term k, v;
    if ((rc = parse_term(p, &k, depth + 1))) break;
    if ((rc = vec_push(&pairs, k))) break;
    if ((rc = expect(p, "=>"))) break;
    if ((rc = parse_term(p, &v, depth + 1))) break;
    rc = vec_push(&pairs, v);
  }
  if (rc == 0) rc = advance(p); /* } */
  if (rc == 0) rc = make_map(p, &pairs, out);
  vec_free(&pairs);
  return rc;
}

/* ---- binaries ---------------------------------------------------------------- */

typedef struct bit_writer {
  uint8_t *data;
  size_t bits, cap; /* cap in bytes */
} bit_writer;

static int put_bit(bit_writer *w, unsigned bit) {
  if (w->bits / 8 >= w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    uint8_t *d = realloc(w->data, cap);
    if (!d) return NODUS_ENOMEM;
    memset(d + w->cap, 0, cap - w->cap);
    w->data = d;
    w->cap = cap;
  }
  if (bit) w->data[w->bits / 8] |= (uint8_t)(0x80 >> (w->bits % 8));
  w->bits++;
  return 0;
}

/* Bit i (0 = least significant) of v's two's complement. */
static unsigned value_bit(const nodus_term *v, size_t i) {
  if (v->type == NODUS_T_INT)
    return i < 64 ? (unsigned)((uint64_t)v->v.i >> i) & 1 : v->v.i < 0;
  const nodus_big *b = v->v.big;
  if (!b->negative)
    return i / 8 < b->len ? (b->mag[i / 8] >> (i % 8)) & 1 : 0;
  /* -m = ~(m - 1): borrow through the low zero bytes. */
  size_t byte = i / 8;
  if (byte >= b->len) return 1;
  unsigned borrow = 1;
  for (size_t k = 0; k < byte; k++)
    if (b->mag[k] != 0) borrow = 0;
  unsigned m1 = (unsigned)((b->mag[byte] - borrow) & 0xFF);
  return ((~m1) >> (i % 8)) & 1;
}

static int put_value(bit_writer *w, const nodus_term *v, size_t size) {
  for (size_t i = size; i-- > 0;) {
    int rc = put_bit(w, value_bit(v, i));
    if (rc) return rc;
  }
  return 0;
}

static int parse_segment(parser *p, bit_writer *w) {
  int rc;
  if (p->tok.kind == TK_STRING) {
    /* "abc" is one 8-bit segment per character. */
    nodus_term ch;
    for (size_t i = 0; i < p->lx.ncps; i++) {
      ch = nodus_int(p->lx.cps[i]);
      if ((rc = put_value(w, &ch, 8))) return rc;
    }
    return advance(p);
  }
  size_t pos = p->tok.pos;
  nodus_term v;
  if ((rc = parse_number(p, &v))) return rc;
  if (v.type == NODUS_T_FLOAT) return syntax_error(p, pos);
  uint64_t size = 8;
  if (is_punct(p, ":")) {
    if ((rc = advance(p))) goto out;
    nodus_term s;
    size_t spos = p->tok.pos;
    if (p->tok.kind != TK_INT || (rc = int_token(p, false, &s))) {
      rc = rc ? rc : syntax_error(p, spos);
      goto out;
    }
    if (s.type != NODUS_T_INT || s.v.i > MAX_SEGMENT_BITS) {
      nodus_term_free(&s);
      rc = NODUS_ETOOBIG;
      goto out;
    }
    size = (uint64_t)s.v.i;
  }
  rc = put_value(w, &v, size);
out:
  nodus_term_free(&v);
  return rc;
}

static int parse_binary(parser *p, nodus_term *out) {
  bit_writer w = {0};
  int rc = advance(p); /* << */
  while (rc == 0 && !is_punct(p, ">>")) {
    if ((rc = parse_segment(p, &w))) break;
    if (is_punct(p, ",")) {
      rc = advance(p);
      if (rc == 0 && is_punct(p, ">>")) rc = syntax_error(p, p->tok.pos);
    } else if (!is_punct(p, ">>")) {
      rc = syntax_error(p, p->tok.pos);
    }
  }
  if (rc == 0) rc = advance(p); /* >> */
  if (rc == 0) rc = nodus_mk_bitstring(out, w.data ? w.data : (uint8_t *)"",
                                       w.bits);
  free(w.data);
  return rc;
}

/* ---- pids, ports, refs, funs --------------------------------------------- */

/* The node part of <Node.X.Y>: 0 for the local node, or a node name. */
static int ident_node(parser *p, nodus_atom *node, uint32_t *creation) {
  lexer *lx = &p->lx;
  lex_skip_space(lx);
  size_t pos = lx->pos;
  if (lx->pos < lx->len && lx->s[lx->pos] >= '0' && lx->s[lx->pos] <= '9') {
    uint64_t v;
    int rc = lex_uint(lx, &v);
    if (rc || v != 0) return syntax_error(p, pos); /* indexes are local */
    *node = p->local_node;
    *creation = p->local_creation;
    return 0;
  }
  lex_token t;
  int rc = lex_next(lx, &t);
  if (rc || t.kind != TK_ATOM) return syntax_error(p, pos);
  *creation = 0;
  rc = nodus_atom_intern(lx->text.data, lx->text.len, node);
  return rc == NODUS_EBADATOM ? syntax_error(p, pos) : rc;
}

/* Reads "Node.N1.N2...>" after the '<'; up to max numbers. */
static int ident_body(parser *p, nodus_atom *node, uint32_t *creation,
                      uint64_t *nums, size_t max, size_t *count) {
  int rc = ident_node(p, node, creation);
  if (rc) return rc;
  *count = 0;
  while (lex_accept_char(&p->lx, '.')) {
    if (*count == max) return syntax_error(p, p->lx.pos);
    if ((rc = lex_uint(&p->lx, &nums[(*count)++]))) {
      p->err_pos = p->lx.err_pos;
      return rc;
    }
  }
  if (!lex_accept_char(&p->lx, '>')) return syntax_error(p, p->lx.pos);
  return advance(p);
}

static int parse_pid(parser *p, nodus_term *out) {
  size_t pos = p->tok.pos;
  nodus_atom node;
  uint32_t creation;
  uint64_t n[2];
  size_t count;
  int rc = ident_body(p, &node, &creation, n, 2, &count);
  if (rc) return rc;
  if (count != 2 || n[0] > UINT32_MAX || n[1] > UINT32_MAX)
    return syntax_error(p, pos);
  return nodus_mk_pid(out, node, (uint32_t)n[0], (uint32_t)n[1], creation);
}

/* #Ref<...>, #Port<...>; #Fun<...> names a closure we cannot rebuild. */
static int parse_hash_ident(parser *p, nodus_term *out) {
  size_t pos = p->tok.pos;
  const char *name = p->lx.s + p->tok.pos;
  size_t len = p->tok.end - p->tok.pos;
  int kind = len == 3 && memcmp(name, "Ref", 3) == 0    ? 'R'
             : len == 4 && memcmp(name, "Port", 4) == 0 ? 'P'
             : len == 3 && memcmp(name, "Fun", 3) == 0  ? 'F'
                                                         : 0;
  if (!kind || p->lx.pos >= p->lx.len || p->lx.s[p->lx.pos] != '<')
    return syntax_error(p, pos);
  if (kind == 'F') return NODUS_EUNSUPPORTED;
  p->lx.pos++;
  nodus_atom node;
  uint32_t creation;
  uint64_t n[5];
  size_t count;
  int rc = ident_body(p, &node, &creation, n, kind == 'R' ? 5 : 1, &count);
  if (rc) return rc;
  if (kind == 'P') {
    if (count != 1) return syntax_error(p, pos);
    return nodus_mk_port(out, node, n[0], creation);
  }
  /* Printed last word first. */
  uint32_t words[5];
  for (size_t i = 0; i < count; i++) {
    if (n[i] > UINT32_MAX) return syntax_error(p, pos);
    words[count - 1 - i] = (uint32_t)n[i];
  }
  if (count == 0) return syntax_error(p, pos);
  return nodus_mk_ref(out, node, creation, words, count);
}

static int parse_hash(parser *p, nodus_term *out, size_t depth) {
  int rc = advance(p); /* # */
  if (rc) return rc;
  if (is_punct(p, "{")) {
    if ((rc = enter(p, depth))) return rc;
    return parse_map(p, out, depth);
  }
  if (p->tok.kind == TK_VAR) return parse_hash_ident(p, out);
  return syntax_error(p, p->tok.pos);
}

/* fun M:F/A. Atoms here may be bare reserved words: the VM writes
 * `fun if:end/0` unquoted. */
static int parse_fun(parser *p, nodus_term *out) {
  nodus_atom m, f;
  int rc = advance(p); /* fun */
  if (rc) return rc;
  if (p->tok.kind != TK_ATOM) return syntax_error(p, p->tok.pos);
  if ((rc = atom_token(p, &m)) || (rc = expect(p, ":"))) return rc;
  if (p->tok.kind != TK_ATOM) return syntax_error(p, p->tok.pos);
  if ((rc = atom_token(p, &f)) || (rc = expect(p, "/"))) return rc;
  size_t pos = p->tok.pos;
  nodus_term a;
  if (p->tok.kind != TK_INT || (rc = int_token(p, false, &a)))
    return rc ? rc : syntax_error(p, pos);
  if (a.type != NODUS_T_INT || a.v.i > 255) {
    nodus_term_free(&a);
    return syntax_error(p, pos);
  }
  return nodus_mk_export_fun(out, m, f, (uint8_t)a.v.i);
}

/* ---- any term ------------------------------------------------------------------ */

static int parse_term(parser *p, nodus_term *out, size_t depth) {
  const lex_token *t = &p->tok;
  memset(out, 0, sizeof *out);
  switch (t->kind) {
    case TK_INT:
    case TK_FLOAT:
    case TK_CHAR: return parse_number(p, out);
    case TK_STRING: return parse_string(p, out);
    case TK_HOLE: return parse_hole(p, out);
    case TK_VAR: return parse_var(p, out);
    case TK_ATOM:
      if (!t->quoted && p->lx.text.len == 3 &&
          memcmp(p->lx.text.data, "fun", 3) == 0)
        return parse_fun(p, out);
      return parse_atom(p, out);
    case TK_PUNCT: break;
    case TK_EOF: return syntax_error(p, t->pos);
  }
  int rc;
  if (is_punct(p, "-") || is_punct(p, "+")) return parse_number(p, out);
  if (is_punct(p, "#")) return parse_hash(p, out, depth);
  if (is_punct(p, "<")) {
    /* the lexer stands right after '<': read the pid raw */
    return parse_pid(p, out);
  }
  if ((rc = enter(p, depth))) return rc;
  if (is_punct(p, "{")) return parse_tuple(p, out, depth);
  if (is_punct(p, "[")) return parse_list(p, out, depth);
  if (is_punct(p, "<<")) return parse_binary(p, out);
  return syntax_error(p, t->pos);
}

int syntax_parse(const char *text, size_t len, const nodus_parse_opts *opts,
                 syntax_holes *holes, nodus_term *out, size_t *err_pos) {
  if (!out || (!text && len)) return NODUS_EINVAL;
  memset(out, 0, sizeof *out);
  parser p = {0};
  lex_init(&p.lx, text ? text : "", len, holes != NULL);
  p.max_depth = opts && opts->max_depth ? opts->max_depth : DEFAULT_MAX_DEPTH;
  p.local_node = opts && opts->local_node != NODUS_ATOM_EMPTY
                     ? opts->local_node
                     : NODUS_ATOM_NONODE;
  p.local_creation = opts ? opts->local_creation : 0;
  p.holes = holes;
  if (holes) holes->count = 0;
  nodus_term t = {0};
  int rc = advance(&p);
  if (rc == 0) rc = parse_term(&p, &t, 0);
  if (rc == 0 && is_punct(&p, ".")) rc = advance(&p);
  if (rc == 0 && p.tok.kind != TK_EOF) rc = syntax_error(&p, p.tok.pos);
  lex_free(&p.lx);
  if (rc) {
    nodus_term_free(&t);
    if (err_pos) *err_pos = p.err_pos;
    return rc;
  }
  *out = t;
  return 0;
}

int nodus_parse(const char *text, size_t len, const nodus_parse_opts *opts,
                nodus_term *out, size_t *err_pos) {
  return syntax_parse(text, len, opts, NULL, out, err_pos);
}

void syntax_scan_holes(const char *text, size_t len, syntax_holes *holes) {
  lexer lx;
  lex_token tok;
  holes->count = 0;
  lex_init(&lx, text, len, true);
  int rc;
  while ((rc = lex_next(&lx, &tok)) == 0 && tok.kind != TK_EOF)
    if (tok.kind == TK_HOLE && holes->count < SYNTAX_HOLE_MAX)
      holes->kind[holes->count++] = (char)tok.ch;
  /* From a lexical error on, any "~x" left is taken as a hole, so that
   * nodus_build can still release the ~t terms it was given. */
  for (size_t i = rc ? lx.err_pos : len; i + 1 < len; i++)
    if (text[i] == '~' && holes->count < SYNTAX_HOLE_MAX && text[i + 1] &&
        strchr("iufaAsbt", text[i + 1]))
      holes->kind[holes->count++] = text[i + 1], i++;
  lex_free(&lx);
}
