/* Terms as Erlang text: what OTP 25's io_lib:format("~p", [T]) gives with
 * no line wrapping. The oracle, exactly (a line_length of 0 makes
 * io_lib_pretty write everything on one line; every other option is what
 * ~p passes):
 *
 *   lists:flatten(io_lib_pretty:print(T, [{column, 1}, {line_length, 0},
 *       {depth, -1}, {chars_limit, -1}, {encoding, latin1},
 *       {strings, true}]))
 *
 * which is identical to io_lib:format("~p", [T]) for every term that fits
 * on a line. ~p (not ~tp) works in latin1: atoms with code points above
 * 255 print them as \x{3A9}, lists only count as strings when all their
 * elements are printable latin-1, binaries only when all bytes are.
 *
 * The result is the UTF-8 encoding of that character list (every character
 * is <= 255 except in the two cases below).
 *
 * Where we differ from erl, by necessity:
 *  - pids, ports and refs of other nodes: erl prints a node *index*
 *    (<5123.80.0>), which means nothing outside that VM; we print the node
 *    name instead, always quoted: <'n@h'.80.0>, #Port<'n@h'.3>,
 *    #Ref<'n@h'.1.2.3>. Those of opts->local_node print as erl does.
 *  - funs print as erl's fun_to_list does (fun m:f/1, #Fun<m.1.2>); the
 *    VM writes their atoms as raw UTF-8 bytes, which erl then hands back
 *    as one character per byte: 'é' prints as "Ã©", as in erl, and the
 *    parser reads it back as 'é'.
 *
 * Nesting costs no C stack: containers are frames on a stack of our own
 * (term_stack.h), so a term nested 100,000 deep prints.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"
#include "term_stack.h"

typedef struct printer {
  term_buf *b;
  nodus_atom local_node;
  int err;
} printer;

/* ---- characters --------------------------------------------------------- */

static void put_cp(term_buf *b, uint32_t cp) {
  uint8_t u[4];
  size_t n = term_utf8_encode(cp, u);
  term_buf_put(b, u, n);
}

/* One character inside quotes q, as io_lib's string_char does for latin1
 * output: printable latin-1 as is, control characters escaped, anything
 * above 255 as \x{HEX}. */
static void put_quoted_char(term_buf *b, uint32_t c, char q) {
  static const char named[] = "\n n\r r\t t\v v\b b\f f\033 e\177 d";
  if (c == (uint32_t)q || c == '\\') {
    term_buf_putc(b, '\\');
    term_buf_putc(b, (char)c);
    return;
  }
  if ((c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xFF)) {
    put_cp(b, c);
    return;
  }
  if (c > 0xFF) {
    term_buf_printf(b, "\\x{%" PRIX32 "}", c);
    return;
  }
  for (size_t i = 0; i + 2 < sizeof named; i += 3) {
    if ((uint8_t)named[i] == c) {
      term_buf_putc(b, '\\');
      term_buf_putc(b, named[i + 2]);
      return;
    }
  }
  term_buf_printf(b, "\\%c%c%c", '0' + (int)(c >> 6), '0' + (int)((c >> 3) & 7),
                  '0' + (int)(c & 7));
}

/* ---- atoms ------------------------------------------------------------- */

static bool lower_start(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}

static bool name_char(uint32_t c) {
  return lower_start(c) || (c >= 'A' && c <= 'Z') ||
         (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= '0' && c <= '9') ||
         c == '_' || c == '@';
}

/* io_lib:quote_atom: does the atom need quotes to read back? */
static bool atom_needs_quotes(const char *s, size_t len) {
  if (len == 0 || lex_is_reserved(s, len)) return true;
  size_t i = 0;
  bool first = true;
  while (i < len) {
    uint32_t c;
    int k = term_utf8_decode((const uint8_t *)s + i, len - i, &c);
    if (k < 0) return true;
    if (first ? !lower_start(c) : !name_char(c)) return true;
    first = false;
    i += (size_t)k;
  }
  return false;
}

static void put_atom_quoted(term_buf *b, const char *s, size_t len) {
  term_buf_putc(b, '\'');
  size_t i = 0;
  while (i < len) {
    uint32_t c;
    int k = term_utf8_decode((const uint8_t *)s + i, len - i, &c);
    if (k < 0) c = (uint8_t)s[i], k = 1; /* atom table holds valid UTF-8 */
    put_quoted_char(b, c, '\'');
    i += (size_t)k;
  }
  term_buf_putc(b, '\'');
}

static int put_atom(printer *p, nodus_atom a) {
  size_t len;
  const char *s = nodus_atom_text(a, &len);
  if (!s) return NODUS_EINVAL;
  if (atom_needs_quotes(s, len)) put_atom_quoted(p->b, s, len);
  else term_buf_put(p->b, s, len);
  return 0;
}

/* Node names of remote pids, ports and refs: always quoted. */
static int put_node(printer *p, nodus_atom node) {
  size_t len;
  const char *s = nodus_atom_text(node, &len);
  if (!s) return NODUS_EINVAL;
  put_atom_quoted(p->b, s, len);
  return 0;
}

/* ---- numbers ----------------------------------------------------------- */

static void put_float(term_buf *b, double f) {
  char text[32];
  size_t n = term_format_double(f, text);
  term_buf_put(b, text, n);
}

/* ---- lists and strings --------------------------------------------------- */

/* io_lib:printable_latin1_list. */
static bool printable_latin1(uint32_t c) {
  return (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xFF) ||
         (c >= '\b' && c <= '\r') || c == 033;
}

/* Lists are arrays with a tail, and a tail may itself be a list (from a
 * caller's nodus_list_set_tail): walk the whole chain as one list. */
static const nodus_term *list_end(const nodus_term *t) {
  while (t->type == NODUS_T_LIST) t = &t->v.items[t->n];
  return t;
}

static bool is_printable_list(const nodus_term *t) {
  if (list_end(t)->type != NODUS_T_NIL) return false;
  for (; t->type == NODUS_T_LIST; t = &t->v.items[t->n]) {
    for (uint32_t i = 0; i < t->n; i++) {
      const nodus_term *e = &t->v.items[i];
      if (e->type != NODUS_T_INT || e->v.i < 0 || e->v.i > 0xFF ||
          !printable_latin1((uint32_t)e->v.i))
        return false;
    }
  }
  return true;
}

/* A container being printed: what was handed out, what closes it. */
typedef struct pframe {
  const nodus_term *t;
  term_walk w;  /* lists: cells, then the tail */
  size_t k;     /* children handed out */
  bool reverse; /* a map printed in reverse stored order */
} pframe;

/* A list's head: the whole of it when it prints as a string. */
static bool open_list(printer *p, const nodus_term *t) {
  term_buf *b = p->b;
  if (is_printable_list(t)) {
    term_buf_putc(b, '"');
    for (; t->type == NODUS_T_LIST; t = &t->v.items[t->n])
      for (uint32_t i = 0; i < t->n; i++)
        put_quoted_char(b, (uint32_t)t->v.items[i].v.i, '"');
    term_buf_putc(b, '"');
    return false;
  }
  term_buf_putc(b, '[');
  return true;
}

/* Maps print in maps:to_list order: key order for up to 32 keys (the
 * stored order of decoded and C-built maps alike) and, for BEAM's larger
 * hash-ordered maps, the reverse of the order term_to_binary wrote them
 * in, which decoded maps keep. */
static bool map_reversed(const nodus_term *t) {
  return t->n > 32 && !(t->flags & NODUS_TF_MAP_SORTED);
}

/* The next child of f with the separator before it, or NULL after the
 * closing bracket. */
static const nodus_term *pframe_next(printer *p, pframe *f) {
  term_buf *b = p->b;
  const nodus_term *t = f->t;
  size_t k = f->k++;
  switch (t->type) {
    case NODUS_T_TUPLE:
      if (k == t->n) break;
      if (k) term_buf_putc(b, ',');
      return &t->v.items[k];
    case NODUS_T_MAP: {
      if (k == 2 * (size_t)t->n) break;
      size_t pair = k / 2, i = f->reverse ? t->n - 1 - pair : pair;
      if (k % 2) term_buf_puts(b, " => ");
      else if (k) term_buf_putc(b, ',');
      return &t->v.items[2 * i + k % 2];
    }
    default: { /* a list */
      const nodus_term *c = term_walk_next(&f->w);
      if (c && term_walk_at_tail(&f->w)) {
        if (c->type == NODUS_T_NIL) c = NULL; /* a proper list */
        else term_buf_putc(b, '|');
      } else if (c && k) {
        term_buf_putc(b, ',');
      }
      if (c) return c;
      term_buf_putc(b, ']');
      return NULL;
    }
  }
  term_buf_putc(b, '}');
  return NULL;
}

/* ---- binaries ------------------------------------------------------------ */

static void put_binary(term_buf *b, const nodus_term *t) {
  const uint8_t *d = t->v.bin->data;
  unsigned tail = t->flags & NODUS_TF_BITS_MASK;
  size_t whole = tail ? (size_t)t->n - 1 : t->n;
  bool printable = !tail && whole > 0;
  for (size_t i = 0; printable && i < whole; i++)
    printable = printable_latin1(d[i]);
  term_buf_puts(b, "<<");
  if (printable) {
    term_buf_putc(b, '"');
    for (size_t i = 0; i < whole; i++) put_quoted_char(b, d[i], '"');
    term_buf_putc(b, '"');
  } else {
    for (size_t i = 0; i < whole; i++)
      term_buf_printf(b, i ? ",%u" : "%u", d[i]);
    if (tail)
      term_buf_printf(b, whole ? ",%u:%u" : "%u:%u",
                      (unsigned)(d[whole] >> (8 - tail)), tail);
  }
  term_buf_puts(b, ">>");
}

/* ---- pids, ports, refs ----------------------------------------------------- */

static int put_ident_node(printer *p, nodus_atom node) {
  if (node == p->local_node) {
    term_buf_putc(p->b, '0');
    return 0;
  }
  return put_node(p, node);
}

static int put_ident(printer *p, const nodus_term *t) {
  const nodus_ident *id = t->v.id;
  term_buf *b = p->b;
  int rc;
  switch (t->type) {
    case NODUS_T_PID:
      term_buf_putc(b, '<');
      if ((rc = put_ident_node(p, id->node))) return rc;
      term_buf_printf(b, ".%" PRIu32 ".%" PRIu32 ">", id->w[0], id->w[1]);
      return 0;
    case NODUS_T_PORT:
      term_buf_puts(b, "#Port<");
      if ((rc = put_ident_node(p, id->node))) return rc;
      term_buf_printf(b, ".%" PRIu64 ">",
                      (uint64_t)id->w[0] | (uint64_t)id->w[1] << 32);
      return 0;
    default: {
      /* erl prints the words last first; a local ref always has at least
       * three (binary_to_term pads shorter ones with zeros). */
      uint32_t n = id->len > 5 ? 5 : id->len;
      uint32_t shown = id->node == p->local_node && n < 3 ? 3 : n;
      term_buf_puts(b, "#Ref<");
      if ((rc = put_ident_node(p, id->node))) return rc;
      for (uint32_t i = shown; i-- > 0;)
        term_buf_printf(b, ".%" PRIu32, i < n ? id->w[i] : 0);
      term_buf_putc(b, '>');
      return 0;
    }
  }
}

/* ---- funs ----------------------------------------------------------------- */

/* A cursor over a fun's ETF bytes. */
typedef struct etf_cur {
  const uint8_t *p;
  size_t left;
} etf_cur;

static bool cur_take(etf_cur *c, size_t n, const uint8_t **out) {
  if (c->left < n) return false;
  *out = c->p;
  c->p += n;
  c->left -= n;
  return true;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Reads an atom of any of the four encodings into UTF-8 (latin-1 ones are
 * converted): at most 255 characters, so 510 bytes for latin-1 and 1020
 * for UTF-8. */
static bool cur_atom(etf_cur *c, char *out, size_t *len) {
  const uint8_t *tag, *hdr, *s;
  if (!cur_take(c, 1, &tag)) return false;
  size_t n;
  bool utf8 = *tag == 118 || *tag == 119;
  if (*tag == 100 || *tag == 118) {
    if (!cur_take(c, 2, &hdr)) return false;
    n = (size_t)hdr[0] << 8 | hdr[1];
  } else if (*tag == 115 || *tag == 119) {
    if (!cur_take(c, 1, &hdr)) return false;
    n = hdr[0];
  } else {
    return false;
  }
  if (n > 1020 || !cur_take(c, n, &s)) return false;
  if (utf8) {
    memcpy(out, s, n);
    *len = n;
    return true;
  }
  if (n > 255) return false;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) o += term_utf8_encode(s[i], (uint8_t *)out + o);
  *len = o;
  return true;
}

static bool cur_int(etf_cur *c, int64_t *v) {
  const uint8_t *tag, *d;
  if (!cur_take(c, 1, &tag)) return false;
  if (*tag == 97 && cur_take(c, 1, &d)) {
    *v = d[0];
    return true;
  }
  if (*tag == 98 && cur_take(c, 4, &d)) {
    *v = (int32_t)be32(d);
    return true;
  }
  return false;
}

/* The VM's own atom writer (used by fun_to_list): quotes unless the atom is
 * a latin-1 lower-case letter followed by latin-1 alphanumerics and '_'
 * (no '@', reserved words allowed); escapes a few controls; writes the
 * rest as raw UTF-8. */
static bool vm_lower(uint32_t c) { return lower_start(c); }
static bool vm_alnum(uint32_t c) {
  return vm_lower(c) || (c >= 'A' && c <= 'Z') ||
         (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= '0' && c <= '9');
}

static void put_vm_atom(term_buf *b, const char *s, size_t len) {
  bool quote = len == 0;
  size_t i = 0;
  while (i < len && !quote) {
    uint32_t c;
    int k = term_utf8_decode((const uint8_t *)s + i, len - i, &c);
    if (k < 0) return (void)term_buf_put(b, s, len);
    quote = i == 0 ? !vm_lower(c) : !(vm_alnum(c) || c == '_');
    i += (size_t)k;
  }
  if (quote) term_buf_putc(b, '\'');
  for (i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    const char *esc = NULL;
    switch (c) {
      case '\'': esc = "\\'"; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\f': esc = "\\f"; break;
      case '\t': esc = "\\t"; break;
      case '\r': esc = "\\r"; break;
      case '\b': esc = "\\b"; break;
      case '\v': esc = "\\v"; break;
      default: break;
    }
    if (esc) {
      term_buf_puts(b, esc);
    } else if (c < 0x20) {
      term_buf_printf(b, "\\%03o", c);
    } else if (c == 0xC2 && i + 1 < len && (uint8_t)s[i + 1] < 0xA0) {
      /* U+0080..U+009F: C1 controls, escaped by their latin-1 code. */
      term_buf_printf(b, "\\%03o", (uint8_t)s[++i]);
    } else if (c >= 0x80) { /* a raw byte, which erl shows as a char */
      uint8_t u[4];
      term_buf_put(b, u, term_utf8_encode(c, u));
    } else {
      term_buf_putc(b, (char)c);
    }
  }
  if (quote) term_buf_putc(b, '\'');
}

static int put_fun(printer *p, const nodus_term *t) {
  etf_cur c = {t->v.bin->data, t->n};
  const uint8_t *tag, *skip;
  char mod[1024], fun[1024];
  size_t mlen, flen;
  int64_t a, b;
  if (!cur_take(&c, 1, &tag)) return NODUS_EBADETF;
  if (*tag == 113) { /* EXPORT_EXT: Module Function Arity */
    if (!cur_atom(&c, mod, &mlen) || !cur_atom(&c, fun, &flen) ||
        !cur_int(&c, &a))
      return NODUS_EBADETF;
    term_buf_puts(p->b, "fun ");
    put_vm_atom(p->b, mod, mlen);
    term_buf_putc(p->b, ':');
    put_vm_atom(p->b, fun, flen);
    term_buf_printf(p->b, "/%" PRId64, a);
    return 0;
  }
  if (*tag == 112) {
    /* NEW_FUN_EXT: Size:32 Arity:8 Uniq:16 Index:32 NumFree:32 Module
     * OldIndex OldUniq Pid FreeVars; erl shows Module.OldIndex.OldUniq. */
    if (!cur_take(&c, 4 + 1 + 16 + 4 + 4, &skip) ||
        !cur_atom(&c, mod, &mlen) || !cur_int(&c, &a) || !cur_int(&c, &b))
      return NODUS_EBADETF;
    term_buf_puts(p->b, "#Fun<");
    term_buf_put(p->b, mod, mlen);
    term_buf_printf(p->b, ".%" PRId64 ".%" PRId64 ">", a, b);
    return 0;
  }
  return NODUS_EBADETF;
}

/* ---- dispatch ---------------------------------------------------------------- */

/* A term's head: all of a scalar or a string; the opening bracket of a
 * container with children (*open). */
static int put_head(printer *p, const nodus_term *t, bool *open) {
  term_buf *b = p->b;
  *open = false;
  switch ((nodus_type)t->type) {
    case NODUS_T_INT: term_buf_printf(b, "%" PRId64, t->v.i); return 0;
    case NODUS_T_BIGINT: term_bigint_to_text(t->v.big, b); return 0;
    case NODUS_T_FLOAT: put_float(b, t->v.f); return 0;
    case NODUS_T_ATOM: return put_atom(p, t->v.atom);
    case NODUS_T_NIL: term_buf_puts(b, "[]"); return 0;
    case NODUS_T_LIST: *open = open_list(p, t); return 0;
    case NODUS_T_TUPLE: term_buf_putc(b, '{'); *open = true; return 0;
    case NODUS_T_MAP: term_buf_puts(b, "#{"); *open = true; return 0;
    case NODUS_T_BINARY: put_binary(b, t); return 0;
    case NODUS_T_PID:
    case NODUS_T_PORT:
    case NODUS_T_REF: return put_ident(p, t);
    case NODUS_T_FUN: return put_fun(p, t);
    case NODUS_T_NONE: break;
  }
  return NODUS_EINVAL;
}

static int put_term(printer *p, const nodus_term *t) {
  pframe local[TERM_STACK_LOCAL];
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  int rc = 0;
  while (t) {
    bool open;
    if ((rc = put_head(p, t, &open))) break;
    if (open) {
      pframe *f = term_stack_push(&st);
      if (!f) {
        rc = NODUS_ENOMEM;
        break;
      }
      *f = (pframe){.t = t, .reverse = t->type == NODUS_T_MAP && map_reversed(t)};
      if (t->type == NODUS_T_LIST) term_walk_init(&f->w, t);
    }
    t = NULL;
    for (pframe *f; !t && (f = term_stack_top(&st));)
      if (!(t = pframe_next(p, f))) term_stack_pop(&st);
  }
  term_stack_free(&st);
  return rc;
}

int nodus_print(const nodus_term *t, const nodus_print_opts *opts,
                char **out, size_t *len) {
  if (!t || !out) return NODUS_EINVAL;
  term_buf b;
  term_buf_init(&b);
  /* A zeroed opts means defaults: '' is no node's name. */
  nodus_atom local = opts && opts->local_node != NODUS_ATOM_EMPTY
                         ? opts->local_node
                         : NODUS_ATOM_NONODE;
  printer p = {&b, local, 0};
  int rc = put_term(&p, t);
  if (rc == 0 && b.err) rc = b.err;
  if (rc == 0 && !b.data) term_buf_put(&b, "", 0), rc = b.err;
  if (rc) {
    term_buf_free(&b);
    *out = NULL;
    if (len) *len = 0;
    return rc;
  }
  *out = b.data;
  if (len) *len = b.len;
  return 0;
}
