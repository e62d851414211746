/* Tokens of Erlang term literals, read from UTF-8 text.
 *
 * A pull lexer: the parser asks for one token at a time, which lets it read
 * the inside of <0.80.0> and #Ref<0.1.2.3> raw (as a whole-token lexer
 * would see floats there). Follows erl_scan for what it covers: numbers
 * with '_' separators and Base#digits, $c characters, quoted atoms and
 * strings with every escape (\n, \x{3A9}, \101, \^a, ...), % comments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

/* Longest integer literal we read (digits): enough for any real use, and
 * it bounds the quadratic cost of the conversion. */
#define LEX_MAX_DIGITS 100000

static const char *const reserved_words[] = {
    "after", "and",     "andalso", "band", "begin", "bnot", "bor",
    "bsl",   "bsr",     "bxor",    "case", "catch", "cond", "div",
    "end",   "fun",     "if",      "let",  "not",   "of",   "or",
    "orelse", "receive", "rem",    "try",  "when",  "xor",
};

bool lex_is_reserved(const char *s, size_t len) {
  for (size_t i = 0; i < sizeof reserved_words / sizeof *reserved_words; i++)
    if (strlen(reserved_words[i]) == len &&
        memcmp(reserved_words[i], s, len) == 0)
      return true;
  return false;
}

void lex_init(lexer *lx, const char *s, size_t len, bool holes) {
  memset(lx, 0, sizeof *lx);
  lx->s = s;
  lx->len = len;
  lx->holes = holes;
  term_buf_init(&lx->text);
}

void lex_free(lexer *lx) {
  term_buf_free(&lx->text);
  free(lx->cps);
  lx->cps = NULL;
}

static int fail_at(lexer *lx, size_t pos) {
  lx->err_pos = pos;
  return NODUS_ESYNTAX;
}

static int peek(const lexer *lx, size_t ahead) {
  size_t i = lx->pos + ahead;
  return i < lx->len ? (unsigned char)lx->s[i] : -1;
}

/* Decodes the UTF-8 character at pos; -1 when invalid or at the end. */
static int decode_at(const lexer *lx, size_t pos, uint32_t *cp) {
  if (pos >= lx->len) return -1;
  return term_utf8_decode((const uint8_t *)lx->s + pos, lx->len - pos, cp);
}

void lex_skip_space(lexer *lx) {
  while (lx->pos < lx->len) {
    int c = peek(lx, 0);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
        c == '\v') {
      lx->pos++;
    } else if (c == '%') {
      while (lx->pos < lx->len && lx->s[lx->pos] != '\n') lx->pos++;
    } else {
      break;
    }
  }
}

bool lex_accept_char(lexer *lx, char c) {
  lex_skip_space(lx);
  if (peek(lx, 0) != (unsigned char)c) return false;
  lx->pos++;
  return true;
}

int lex_uint(lexer *lx, uint64_t *v) {
  lex_skip_space(lx);
  size_t start = lx->pos;
  uint64_t acc = 0;
  while (peek(lx, 0) >= '0' && peek(lx, 0) <= '9') {
    unsigned d = (unsigned)(peek(lx, 0) - '0');
    if (acc > (UINT64_MAX - d) / 10) return fail_at(lx, start);
    acc = acc * 10 + d;
    lx->pos++;
  }
  if (lx->pos == start) return fail_at(lx, start);
  *v = acc;
  return 0;
}

/* ---- character classes (latin-1, as erl_scan) ----------------------------- */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static bool is_lower(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}

static bool is_upper(uint32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7);
}

static bool is_name_char(uint32_t c) {
  return is_lower(c) || is_upper(c) || (c >= '0' && c <= '9') || c == '_' ||
         c == '@';
}

static int digit_in_base(int c, unsigned base) {
  int d = c >= '0' && c <= '9'   ? c - '0'
          : c >= 'a' && c <= 'z' ? c - 'a' + 10
          : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                 : 99;
  return d < (int)base ? d : -1;
}

/* ---- code point buffer ------------------------------------------------------- */

static int push_cp(lexer *lx, uint32_t cp) {
  if (lx->ncps == lx->cps_cap) {
    size_t cap = lx->cps_cap ? lx->cps_cap * 2 : 64;
    uint32_t *n = realloc(lx->cps, cap * sizeof *n);
    if (!n) return NODUS_ENOMEM;
    lx->cps = n;
    lx->cps_cap = cap;
  }
  lx->cps[lx->ncps++] = cp;
  return 0;
}

/* ---- escapes ----------------------------------------------------------------- */

/* Reads the escape after a backslash (lx->pos is just past it). */
static int read_escape(lexer *lx, uint32_t *cp) {
  size_t start = lx->pos - 1;
  int c = peek(lx, 0);
  if (c < 0) return fail_at(lx, start);
  if (c >= '0' && c <= '7') {
    uint32_t v = 0;
    for (int i = 0; i < 3 && peek(lx, 0) >= '0' && peek(lx, 0) <= '7'; i++)
      v = v * 8 + (uint32_t)(peek(lx, 0) - '0'), lx->pos++;
    *cp = v;
    return 0;
  }
  if (c == 'x') {
    lx->pos++;
    if (peek(lx, 0) == '{') {
      lx->pos++;
      uint32_t v = 0;
      size_t n = 0;
      while (digit_in_base(peek(lx, 0), 16) >= 0) {
        v = v * 16 + (uint32_t)digit_in_base(peek(lx, 0), 16);
        if (v > 0x10FFFF) return fail_at(lx, start);
        lx->pos++, n++;
      }
      if (n == 0 || peek(lx, 0) != '}') return fail_at(lx, start);
      lx->pos++;
      *cp = v;
      return 0;
    }
    int h = digit_in_base(peek(lx, 0), 16), l = digit_in_base(peek(lx, 1), 16);
    if (h < 0 || l < 0) return fail_at(lx, start);
    lx->pos += 2;
    *cp = (uint32_t)(h * 16 + l);
    return 0;
  }
  if (c == '^') {
    int k = peek(lx, 1);
    if (k < 0 || k >= 0x80) return fail_at(lx, start);
    lx->pos += 2;
    *cp = (uint32_t)k & 31;
    return 0;
  }
  static const char from[] = "bdefnrstv", to[] = "\b\177\033\f\n\r \t\v";
  const char *hit = c < 0x80 ? strchr(from, c) : NULL;
  if (hit && c) {
    lx->pos++;
    *cp = (uint8_t)to[hit - from];
    return 0;
  }
  /* Any other character stands for itself: \' \" \\ ... */
  int k = decode_at(lx, lx->pos, cp);
  if (k < 0) return fail_at(lx, lx->pos);
  lx->pos += (size_t)k;
  return 0;
}

/* Reads a quoted run up to the closing q into lx->cps. */
static int read_quoted(lexer *lx, char q) {
  size_t start = lx->pos;
  lx->pos++; /* opening quote */
  lx->ncps = 0;
  for (;;) {
    int c = peek(lx, 0);
    if (c < 0) return fail_at(lx, start);
    if (c == (unsigned char)q) {
      lx->pos++;
      return 0;
    }
    uint32_t cp;
    if (c == '\\') {
      lx->pos++;
      int rc = read_escape(lx, &cp);
      if (rc) return rc;
    } else {
      int k = decode_at(lx, lx->pos, &cp);
      if (k < 0) return fail_at(lx, lx->pos);
      lx->pos += (size_t)k;
    }
    int rc = push_cp(lx, cp);
    if (rc) return rc;
  }
}

/* Turns lx->cps into the atom text; atoms hold at most 255 characters. */
static int cps_to_atom_text(lexer *lx, size_t start) {
  if (lx->ncps > NODUS_ATOM_MAX_CHARS) return fail_at(lx, start);
  lx->text.len = 0;
  for (size_t i = 0; i < lx->ncps; i++) {
    uint32_t cp = lx->cps[i];
    if (cp >= 0xD800 && cp <= 0xDFFF) return fail_at(lx, start);
    uint8_t u[4];
    term_buf_put(&lx->text, u, term_utf8_encode(cp, u));
  }
  if (!lx->text.data) term_buf_put(&lx->text, "", 0);
  return lx->text.err;
}

/* ---- token readers ------------------------------------------------------------- */

/* Digits of base with single '_' between digits; returns how many bytes. */
static size_t scan_digits(lexer *lx, unsigned base) {
  size_t start = lx->pos;
  while (digit_in_base(peek(lx, 0), base) >= 0 ||
         (peek(lx, 0) == '_' && lx->pos > start &&
          digit_in_base(peek(lx, 1), base) >= 0))
    lx->pos++;
  return lx->pos - start;
}

static size_t count_digits(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += s[i] != '_';
  return k;
}

/* Converts "123.456e-7" (without '_') to a double without depending on the
 * locale's decimal point: strtod sees "123456e-10". */
static int float_value(lexer *lx, size_t start, size_t int_end,
                       size_t frac_end, long exp, double *out) {
  size_t cap = frac_end - start + 32, o = 0;
  char *buf = malloc(cap);
  if (!buf) return NODUS_ENOMEM;
  long frac_digits = 0;
  for (size_t i = start; i < frac_end; i++) {
    char c = lx->s[i];
    if (!is_digit((unsigned char)c)) continue;
    buf[o++] = c;
    if (i > int_end) frac_digits++;
  }
  snprintf(buf + o, cap - o, "e%ld", exp - frac_digits);
  double v = strtod(buf, NULL);
  free(buf);
  /* 1.0e999 does not read in Erlang either. */
  if (v > 1.7976931348623157e308) return fail_at(lx, start);
  *out = v;
  return 0;
}

static int read_number(lexer *lx, lex_token *tok) {
  size_t start = lx->pos;
  size_t n = scan_digits(lx, 10);
  if (peek(lx, 0) == '#' && n <= 2) {
    /* Base#Digits, base 2..36 */
    unsigned base = 0;
    for (size_t i = start; i < lx->pos; i++)
      if (lx->s[i] != '_') base = base * 10 + (unsigned)(lx->s[i] - '0');
    if (base < 2 || base > 36) return fail_at(lx, start);
    lx->pos++;
    size_t ds = lx->pos, dn = scan_digits(lx, base);
    if (dn == 0) return fail_at(lx, start);
    if (count_digits(lx->s + ds, dn) > LEX_MAX_DIGITS) {
      lx->err_pos = start;
      return NODUS_ETOOBIG;
    }
    tok->kind = TK_INT;
    tok->dstart = ds, tok->dlen = dn, tok->base = base;
    return 0;
  }
  if (peek(lx, 0) == '.' && is_digit(peek(lx, 1))) {
    size_t int_end = lx->pos;
    lx->pos++;
    scan_digits(lx, 10);
    size_t frac_end = lx->pos;
    long exp = 0;
    int c = peek(lx, 0);
    if (c == 'e' || c == 'E') {
      size_t save = lx->pos;
      lx->pos++;
      bool neg = false;
      if (peek(lx, 0) == '+' || peek(lx, 0) == '-') neg = peek(lx, 0) == '-', lx->pos++;
      if (!is_digit(peek(lx, 0))) {
        lx->pos = save; /* "1.0e" : the e is not ours */
      } else {
        while (is_digit(peek(lx, 0)) || (peek(lx, 0) == '_' && is_digit(peek(lx, 1)))) {
          if (peek(lx, 0) != '_' && exp < 100000) exp = exp * 10 + (peek(lx, 0) - '0');
          lx->pos++;
        }
        if (neg) exp = -exp;
      }
    }
    tok->kind = TK_FLOAT;
    return float_value(lx, start, int_end, frac_end, exp, &tok->f);
  }
  if (count_digits(lx->s + start, n) > LEX_MAX_DIGITS) {
    lx->err_pos = start;
    return NODUS_ETOOBIG;
  }
  tok->kind = TK_INT;
  tok->dstart = start, tok->dlen = n, tok->base = 10;
  return 0;
}

static int read_char_literal(lexer *lx, lex_token *tok) {
  size_t start = lx->pos;
  lx->pos++; /* $ */
  uint32_t cp;
  if (peek(lx, 0) == '\\') {
    lx->pos++;
    int rc = read_escape(lx, &cp);
    if (rc) return rc;
  } else {
    int k = decode_at(lx, lx->pos, &cp);
    if (k < 0) return fail_at(lx, start);
    lx->pos += (size_t)k;
  }
  tok->kind = TK_CHAR;
  tok->ch = cp;
  return 0;
}

/* A bare atom or a variable: a run of name characters. */
static int read_name(lexer *lx, lex_token *tok, uint32_t first) {
  size_t start = lx->pos;
  for (;;) {
    uint32_t cp;
    int k = decode_at(lx, lx->pos, &cp);
    if (k < 0 || !is_name_char(cp)) break;
    lx->pos += (size_t)k;
  }
  if (first == '_' || is_upper(first)) {
    tok->kind = TK_VAR;
    return 0;
  }
  tok->kind = TK_ATOM;
  tok->quoted = false;
  lx->ncps = 0;
  for (size_t i = start; i < lx->pos;) {
    uint32_t cp;
    i += (size_t)decode_at(lx, i, &cp);
    int rc = push_cp(lx, cp);
    if (rc) return rc;
  }
  return cps_to_atom_text(lx, start);
}

static const char *const puncts[] = {"<<", ">>", "=>", "{", "}", "[", "]",
                                     "(",  ")",  ",",  "|", ".", "#", ":",
                                     "/",  "<",  ">",  "-", "+"};

static int read_punct(lexer *lx, lex_token *tok) {
  for (size_t i = 0; i < sizeof puncts / sizeof *puncts; i++) {
    size_t n = strlen(puncts[i]);
    if (lx->len - lx->pos >= n && memcmp(lx->s + lx->pos, puncts[i], n) == 0) {
      tok->kind = TK_PUNCT;
      memcpy(tok->punct, puncts[i], n + 1);
      lx->pos += n;
      return 0;
    }
  }
  return fail_at(lx, lx->pos);
}

int lex_next(lexer *lx, lex_token *tok) {
  lex_skip_space(lx);
  memset(tok, 0, sizeof *tok);
  tok->pos = lx->pos;
  int rc;
  int c = peek(lx, 0);
  uint32_t cp = 0;
  if (c < 0) {
    tok->kind = TK_EOF;
    rc = 0;
  } else if (is_digit(c)) {
    rc = read_number(lx, tok);
  } else if (c == '$') {
    rc = read_char_literal(lx, tok);
  } else if (c == '\'') {
    rc = read_quoted(lx, '\'');
    if (rc == 0) rc = cps_to_atom_text(lx, tok->pos);
    tok->kind = TK_ATOM;
    tok->quoted = true;
  } else if (c == '"') {
    rc = read_quoted(lx, '"');
    tok->kind = TK_STRING;
  } else if (c == '~' && lx->holes) {
    int k = peek(lx, 1);
    if (!((k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z'))) {
      rc = fail_at(lx, lx->pos);
    } else {
      lx->pos += 2;
      tok->kind = TK_HOLE;
      tok->ch = (uint32_t)k;
      rc = 0;
    }
  } else if (decode_at(lx, lx->pos, &cp) > 0 &&
             (is_lower(cp) || is_upper(cp) || cp == '_')) {
    rc = read_name(lx, tok, cp);
  } else {
    rc = read_punct(lx, tok);
  }
  tok->end = lx->pos;
  return rc;
}
