/* Internal interface of the Erlang-syntax files of the term layer:
 * print.c, float_format.c, bigint_text.c, parse.c, pattern.c. */
#ifndef NODUS_TERM_SYNTAX_H
#define NODUS_TERM_SYNTAX_H

#include <stdarg.h>

#include "term_internal.h"

/* ---- numbers as text ---------------------------------------------------- */

/* Formats a finite double as OTP 25's float_to_list(F, [short]) does (the
 * ~p / io_lib:write form): shortest round-trip digits, "1.0e-10" or
 * "0.0001" layout. buf needs 32 bytes. Returns the length. */
size_t term_format_double(double f, char *buf);

/* Appends the decimal text of a big integer. */
void term_bigint_to_text(const nodus_big *big, term_buf *out);

/* Builds an integer (INT or BIGINT) from digits in `base` (2..36); the
 * digits are already checked. Underscores are skipped. */
int term_integer_from_digits(const char *digits, size_t len, unsigned base,
                             bool negative, nodus_term *out);

/* ---- the lexer (lex.c) --------------------------------------------------- */

typedef enum lex_kind {
  TK_EOF,
  TK_INT,    /* digits [dstart, dstart + dlen) in base */
  TK_FLOAT,  /* f */
  TK_CHAR,   /* $c: code point in ch */
  TK_ATOM,   /* text (UTF-8) in the lexer's text buffer; quoted flag */
  TK_STRING, /* code points in the lexer's cps buffer */
  TK_VAR,    /* Name or _Name: [pos, end) */
  TK_HOLE,   /* ~x: letter in ch */
  TK_PUNCT,  /* punct: "{", "<<", "=>", ... */
} lex_kind;

typedef struct lex_token {
  lex_kind kind;
  size_t pos, end; /* byte span in the input */
  bool quoted;
  char punct[3];
  double f;
  uint32_t ch;
  size_t dstart, dlen;
  unsigned base;
} lex_token;

typedef struct lexer {
  const char *s;
  size_t len, pos;
  bool holes;      /* accept ~x */
  term_buf text;   /* TK_ATOM text */
  uint32_t *cps;   /* TK_STRING code points */
  size_t ncps, cps_cap;
  size_t err_pos;  /* where the last error is */
} lexer;

void lex_init(lexer *lx, const char *s, size_t len, bool holes);
void lex_free(lexer *lx);
/* Reads the next token; 0 or NODUS_ESYNTAX / NODUS_ENOMEM / NODUS_ETOOBIG
 * with lx->err_pos set. */
int lex_next(lexer *lx, lex_token *tok);
void lex_skip_space(lexer *lx);
/* Raw reads used inside <...> where "0.1.2" is not a float: an unsigned
 * decimal number, or a given character after optional space. */
int lex_uint(lexer *lx, uint64_t *v);
bool lex_accept_char(lexer *lx, char c);
bool lex_is_reserved(const char *s, size_t len);

/* ---- the parser, shared with nodus_build / nodus_match ------------------ */

/* A hole of a pattern is stored in the tree as a NODUS_T_NONE term whose
 * flags hold the hole letter and n its index in text order. `_` (and any
 * `_Name`) is a hole with letter '_'. */
#define SYNTAX_HOLE_MAX 64

typedef struct syntax_holes {
  size_t count;
  char kind[SYNTAX_HOLE_MAX];
} syntax_holes;

/* Parses text; with holes != NULL, `~x` holes and `_` are accepted and
 * recorded (maps then keep their pairs in text order, unsorted, and may
 * hold holes as keys). */
int syntax_parse(const char *text, size_t len, const nodus_parse_opts *opts,
                 syntax_holes *holes, nodus_term *out, size_t *err_pos);

/* Lists the hole letters of a pattern in text order without building
 * anything, tolerating syntax errors (used to consume ~t arguments). */
void syntax_scan_holes(const char *text, size_t len, syntax_holes *holes);

static inline bool syntax_is_hole(const nodus_term *t) {
  return t->type == NODUS_T_NONE && t->flags != 0;
}

#endif
