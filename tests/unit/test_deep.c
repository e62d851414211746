/* Terms nested as deep as BEAM sends them (issue 16): 100,000 levels of
 * lists, tuples, maps, improper tails and map keys, and closures nested in
 * each other's free variables, go through every consumer of decoded terms
 * -- decode, size, encode, encode_into, copy, compare, equal, hash, print,
 * free -- on a thread whose stack is 256 KiB. A consumer that recursed
 * per level would need megabytes and crash (under ASan too, whose frames
 * are bigger), so passing here means none does. */
#include <pthread.h>

#include "check.h"
#include "nodus.h"

#define DEPTH 100000
#define FUN_DEPTH 1000 /* closures: each level's bytes hold the rest */
#define SMALL_STACK (256 * 1024)

enum { K_LIST, K_TUPLE, K_MAP, K_TAIL, K_KEY, K_KINDS };
static const char *const kind_name[K_KINDS] = {"list", "tuple", "map",
                                               "improper tail", "map key"};

/* A nest built from the inside out (no step recurses); `leaf` at the
 * bottom lets two nests differ only there. */
static nodus_term nest(int kind, size_t depth, int64_t leaf) {
  nodus_term t = nodus_int(leaf), a, k;
  for (size_t i = 0; i < depth; i++) {
    nodus_term outer = {0};
    switch (kind) {
      case K_LIST: /* [[...[leaf]...]] */
        nodus_mk_list(&outer, 1);
        nodus_list_set(&outer, 0, t);
        break;
      case K_TUPLE: /* {{...{leaf}...}} */
        nodus_mk_tuple(&outer, 1);
        nodus_tuple_set(&outer, 0, t);
        break;
      case K_MAP: /* #{a => #{a => ...}} */
        nodus_mk_map(&outer);
        nodus_mk_atom(&a, "a");
        nodus_map_put(&outer, a, t);
        break;
      case K_TAIL: /* [1 | {[1 | {...}]}]: tails, not heads */
        nodus_mk_tuple(&a, 1);
        nodus_tuple_set(&a, 0, t);
        nodus_mk_list(&outer, 1);
        nodus_list_set(&outer, 0, nodus_int(1));
        nodus_list_set_tail(&outer, a);
        break;
      default: /* #{#{...} => 1, z => 2}: keys compared while sorting */
        nodus_mk_map(&outer);
        nodus_mk_atom(&k, "z");
        nodus_map_put(&outer, t, nodus_int(1));
        nodus_map_put(&outer, k, nodus_int(2));
        break;
    }
    t = outer;
  }
  return t;
}

/* NEW_FUN_EXT closures, each holding the next as its one free variable. */
static size_t put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
  return 4;
}

static uint8_t *fun_nest(size_t depth, uint32_t last_index, size_t *len) {
  static const uint8_t tail[] = {119, 1, 'm', 97, 0, 97, 7, /* m 0 7 */
                                 88, 119, 3, 'n', '@', 'h', 0, 0, 0, 1, 0,
                                 0, 0, 0, 0, 0, 0, 1}; /* <n@h.1.0> */
  size_t head = 1 + 4 + 1 + 16 + 4 + 4, per = head + sizeof tail;
  size_t cap = 1 + depth * per + 2;
  uint8_t *b = malloc(cap), *inner = malloc(cap);
  size_t ilen = 0;
  for (size_t level = 0; level < depth; level++) {
    uint8_t *p = b;
    size_t n = 0;
    p[n++] = 112;
    uint32_t size = (uint32_t)(per - 1 + ilen);
    n += put32(p + n, size);
    p[n++] = 0;                 /* Arity */
    memset(p + n, 1, 16), n += 16; /* Uniq: not part of the order */
    n += put32(p + n, level == 0 ? last_index : 0); /* Index: is */
    n += put32(p + n, ilen ? 1 : 0); /* NumFree */
    memcpy(p + n, tail, sizeof tail), n += sizeof tail;
    memcpy(p + n, inner, ilen), n += ilen;
    memcpy(inner, b, n);
    ilen = n;
  }
  b[0] = 131;
  memcpy(b + 1, inner, ilen);
  free(inner);
  *len = ilen + 1;
  return b;
}

/* At least one character a level. */
static size_t depth_hint(const nodus_term *t) {
  size_t n = 0;
  while (t->type == NODUS_T_LIST || t->type == NODUS_T_TUPLE ||
         t->type == NODUS_T_MAP) {
    t = t->type == NODUS_T_LIST && t->v.items[t->n].type != NODUS_T_NIL
            ? &t->v.items[t->n]
            : &t->v.items[0];
    n++;
  }
  return n;
}

/* The checks every deep term gets; a and b are equal, c differs from
 * them at the bottom only, below them (leaf 1 < 2). */
static void consume(const char *what, nodus_term *a, nodus_term *b,
                    nodus_term *c) {
  uint8_t *bytes = NULL;
  size_t len = 0, size = 0;
  nodus_term back = {0}, copy = {0};
  CHECK_RC(nodus_etf_size(a, NULL, &size), 0);
  CHECK_RC(nodus_etf_encode(a, NULL, &bytes, &len), 0);
  CHECK(len == size);
  uint8_t *into = malloc(size);
  CHECK(into && nodus_etf_encode_into(a, NULL, into) == size &&
        memcmp(into, bytes, size) == 0);
  free(into);
  CHECK_RC(nodus_etf_decode(bytes, len, NULL, &back, NULL), 0);
  CHECK(nodus_equal(a, &back) && nodus_compare(a, &back) == 0);
  CHECK(nodus_hash(a) == nodus_hash(&back));
  CHECK_RC(nodus_copy(&copy, a), 0);
  CHECK(nodus_equal(&copy, b) && nodus_hash(&copy) == nodus_hash(b));
  CHECK(nodus_compare(a, c) > 0 && nodus_compare(c, b) < 0);
  CHECK(!nodus_equal(a, c) && nodus_compare_exact(c, &copy) < 0);
  char *text = NULL;
  size_t tlen = 0;
  CHECK_RC(nodus_print(a, NULL, &text, &tlen), 0);
  CHECK(text && tlen >= depth_hint(a));
  if (check_failed) fprintf(stderr, "  (in: %s)\n", what);
  free(text);
  free(bytes);
  nodus_term_free(&back);
  nodus_term_free(&copy);
}

static void *deep_main(void *arg) {
  (void)arg;
  for (int k = 0; k < K_KINDS; k++) {
    size_t depth = k == K_KEY ? DEPTH / 10 : DEPTH; /* keys: map sorts */
    nodus_term a = nest(k, depth, 2), b = nest(k, depth, 2),
               c = nest(k, depth, 1);
    consume(kind_name[k], &a, &b, &c);
    nodus_term_free(&a);
    nodus_term_free(&b);
    nodus_term_free(&c);
  }
  /* Closures inside closures' free variables, from their bytes. */
  size_t la, lc;
  uint8_t *ba = fun_nest(FUN_DEPTH, 2, &la), *bc = fun_nest(FUN_DEPTH, 1, &lc);
  nodus_term a, b, c;
  CHECK_RC(nodus_etf_decode(ba, la, NULL, &a, NULL), 0);
  CHECK_RC(nodus_etf_decode(ba, la, NULL, &b, NULL), 0);
  CHECK_RC(nodus_etf_decode(bc, lc, NULL, &c, NULL), 0);
  if (a.type == NODUS_T_FUN && c.type == NODUS_T_FUN)
    consume("closures", &a, &b, &c);
  nodus_term_free(&a);
  nodus_term_free(&b);
  nodus_term_free(&c);
  free(ba);
  free(bc);
  /* A mixed nest straight off the wire: [{#{k => [..]}}] 100,000 deep. */
  size_t n = 3 * DEPTH, at = 0;
  uint8_t *w = malloc(1 + 12 * n + 8);
  w[at++] = 131;
  for (size_t i = 0; i < n; i++) {
    switch (i % 3) {
      case 0: w[at++] = 108, at += put32(w + at, 1); break; /* [X] */
      case 1: w[at++] = 104, w[at++] = 1; break;             /* {X} */
      default: w[at++] = 116, at += put32(w + at, 1);        /* #{k => X} */
               w[at++] = 119, w[at++] = 1, w[at++] = 'k';
    }
  }
  w[at++] = 106;
  for (size_t i = n; i-- > 0;)
    if (i % 3 == 0) w[at++] = 106; /* each list's tail */
  nodus_term m;
  CHECK_RC(nodus_etf_decode(w, at, NULL, &m, NULL), 0);
  uint8_t *again = NULL;
  size_t alen = 0;
  nodus_encode_opts utf8 = {.minor_version = 2}; /* 'k' as written */
  CHECK_RC(nodus_etf_encode(&m, &utf8, &again, &alen), 0);
  CHECK(alen == at && again && memcmp(again, w, at) == 0);
  free(again);
  nodus_term_free(&m);
  free(w);
  return NULL;
}

int main(void) {
  pthread_attr_t attr;
  pthread_t th;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, SMALL_STACK);
  CHECK(pthread_create(&th, &attr, deep_main, NULL) == 0);
  pthread_join(th, NULL);
  pthread_attr_destroy(&attr);
  return check_report();
}
