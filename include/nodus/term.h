/* nodus — Erlang terms in C.
 *
 * A nodus_term is a small value (16 bytes) that owns whatever heap parts it
 * has. Ownership rules, in one place:
 *
 *  - Every function that fills a `nodus_term *out` gives the caller one
 *    owned term; release it with nodus_term_free().
 *  - Setters that take a `nodus_term` by value (nodus_tuple_set,
 *    nodus_list_set, nodus_map_put, ...) take ownership of it: do not free
 *    it afterwards.
 *  - Accessors that return `const nodus_term *` borrow: the pointer is valid
 *    while the container is alive and unchanged.
 *  - nodus_copy() makes an independent owned copy. Binary payloads, big
 *    integers and opaque funs are reference counted (atomically), so copies
 *    are cheap and may move to another thread.
 *  - A zeroed nodus_term is NODUS_T_NONE ("no term"); freeing it is a no-op.
 *
 * Atoms live in one process-wide table (as in a BEAM VM), bounded in size;
 * they are never freed. Reading an atom's text is lock-free.
 */
#ifndef NODUS_TERM_H
#define NODUS_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Types, declared in Erlang term order:
 * number < atom < reference < fun < port < pid < tuple < map < nil < list
 * < bitstring. */
typedef enum nodus_type {
  NODUS_T_NONE = 0, /* no term (zeroed storage, failed construction) */
  NODUS_T_INT,      /* fits in int64_t */
  NODUS_T_BIGINT,   /* any integer outside int64_t */
  NODUS_T_FLOAT,
  NODUS_T_ATOM,
  NODUS_T_REF,
  NODUS_T_FUN, /* export fun or closure, kept as opaque ETF bytes */
  NODUS_T_PORT,
  NODUS_T_PID,
  NODUS_T_TUPLE,
  NODUS_T_MAP,
  NODUS_T_NIL,
  NODUS_T_LIST,   /* non-empty list, proper or improper */
  NODUS_T_BINARY, /* binary or bitstring */
} nodus_type;

typedef uint32_t nodus_atom;

typedef struct nodus_big nodus_big;     /* sign + magnitude, refcounted */
typedef struct nodus_bin nodus_bin;     /* byte payload, refcounted */
typedef struct nodus_ident nodus_ident; /* pid, port or reference */

typedef struct nodus_term {
  uint8_t type;  /* nodus_type */
  uint8_t flags; /* per type; see the NODUS_TF_* below (internal) */
  uint16_t reserved;
  uint32_t n; /* tuple arity, list length, map size, binary byte size */
  union {
    int64_t i;                /* NODUS_T_INT */
    double f;                 /* NODUS_T_FLOAT */
    nodus_atom atom;          /* NODUS_T_ATOM */
    struct nodus_term *items; /* TUPLE: n; LIST: n items, then the tail at
                                 items[n]; MAP: n pairs, key then value */
    nodus_big *big;           /* NODUS_T_BIGINT */
    nodus_bin *bin;           /* NODUS_T_BINARY, NODUS_T_FUN (ETF bytes) */
    nodus_ident *id;          /* NODUS_T_PID, NODUS_T_PORT, NODUS_T_REF */
  } v;
} nodus_term;

/* Internal flag bits; exposed so the struct is self-describing. */
#define NODUS_TF_BITS_MASK 0x07 /* BINARY: bits used in last byte, 0 = 8 */
#define NODUS_TF_MAP_SORTED 0x08 /* MAP: pairs are in key order */
#define NODUS_TF_FUN_EXPORT 0x10 /* FUN: EXPORT_EXT (else a closure) */
#define NODUS_TF_ID_V4 0x20      /* PORT: id needs more than 28 bits */

struct nodus_big {
  uint32_t refs;
  uint32_t len;     /* magnitude bytes, top byte non-zero */
  uint8_t negative; /* 1 if negative */
  uint8_t mag[];    /* little-endian magnitude */
};

struct nodus_bin {
  uint32_t refs;
  uint32_t reserved;
  size_t size;
  uint8_t data[];
};

struct nodus_ident {
  nodus_atom node;
  uint32_t creation;
  uint32_t len;   /* REF: number of id words (1..5) */
  uint32_t w[5];  /* PID: w[0] id, w[1] serial; PORT: w[0] low, w[1] high
                     32 bits of the id; REF: the id words, as on the wire */
};

/* ---- Atoms ------------------------------------------------------------- */

/* Well-known atoms, interned at table creation. */
enum {
  NODUS_ATOM_EMPTY = 0, /* '' */
  NODUS_ATOM_TRUE,
  NODUS_ATOM_FALSE,
  NODUS_ATOM_OK,
  NODUS_ATOM_ERROR,
  NODUS_ATOM_UNDEFINED,
  NODUS_ATOM_NONODE, /* 'nonode@nohost' */
  NODUS_ATOM_WELL_KNOWN_COUNT
};

#define NODUS_ATOM_MAX_CHARS 255
#define NODUS_ATOM_TABLE_DEFAULT_LIMIT 1048576

/* Interns `len` bytes of UTF-8 text. NODUS_EBADATOM for invalid UTF-8 or
 * more than 255 code points, NODUS_EATOMTABLE when the table is full. */
int nodus_atom_intern(const char *utf8, size_t len, nodus_atom *out);
/* Looks an atom up without creating it: NODUS_ENOMATCH if it doesn't exist. */
int nodus_atom_lookup(const char *utf8, size_t len, nodus_atom *out);
/* The atom's UTF-8 text (NUL-terminated, static). NULL for a bad index. */
const char *nodus_atom_text(nodus_atom a, size_t *len);
size_t nodus_atom_count(void);
/* Set the table limit (>= current count). Default 1,048,576 like BEAM. */
int nodus_atom_set_limit(size_t limit);
/* Atoms that only nodus_atom_intern may create: the ETF decoder (every
 * atom that comes from a peer) stops at limit - reserve with
 * NODUS_EATOMTABLE, so node names and the node's own atoms always find
 * room. 0: the default, limit / 16 (65,536 of the default limit). */
int nodus_atom_set_reserve(size_t reserve);

typedef struct nodus_atom_table_stats {
  size_t count;          /* atoms in the table */
  size_t limit;          /* nodus_atom_set_limit */
  size_t reserve;        /* of those, what decoded terms may not take */
  uint64_t wire_refused; /* new atoms refused to decoded terms so far */
} nodus_atom_table_stats;
void nodus_atom_stats(nodus_atom_table_stats *stats);

/* ---- Construction ------------------------------------------------------ */

static inline nodus_term nodus_int(int64_t v) {
  nodus_term t = {0};
  t.type = NODUS_T_INT;
  t.v.i = v;
  return t;
}
static inline nodus_term nodus_float(double f) {
  nodus_term t = {0};
  t.type = NODUS_T_FLOAT;
  t.v.f = f;
  return t;
}
static inline nodus_term nodus_atom_term(nodus_atom a) {
  nodus_term t = {0};
  t.type = NODUS_T_ATOM;
  t.v.atom = a;
  return t;
}
static inline nodus_term nodus_nil(void) {
  nodus_term t = {0};
  t.type = NODUS_T_NIL;
  return t;
}
static inline nodus_term nodus_bool(bool b) {
  return nodus_atom_term(b ? NODUS_ATOM_TRUE : NODUS_ATOM_FALSE);
}

int nodus_mk_atom(nodus_term *out, const char *utf8);
/* An integer from sign and little-endian magnitude; NODUS_T_INT when it fits
 * in int64_t, NODUS_T_BIGINT otherwise. */
int nodus_mk_integer(nodus_term *out, bool negative, const uint8_t *le_mag,
                     size_t len);
int nodus_mk_uint64(nodus_term *out, uint64_t v);
int nodus_mk_binary(nodus_term *out, const void *data, size_t len);
/* A bitstring of `nbits` bits taken from the most significant end of data. */
int nodus_mk_bitstring(nodus_term *out, const void *data, size_t nbits);
/* A list of the code points of a UTF-8 string (Erlang's "..." literal). */
int nodus_mk_string(nodus_term *out, const char *utf8, size_t len);
/* Containers are created with every element NODUS_T_NONE (lists: tail nil);
 * fill every slot with the setters before use. */
int nodus_mk_tuple(nodus_term *out, size_t arity);
int nodus_mk_list(nodus_term *out, size_t len);
int nodus_mk_map(nodus_term *out); /* empty map */
int nodus_mk_pid(nodus_term *out, nodus_atom node, uint32_t id,
                 uint32_t serial, uint32_t creation);
int nodus_mk_port(nodus_term *out, nodus_atom node, uint64_t id,
                  uint32_t creation);
int nodus_mk_ref(nodus_term *out, nodus_atom node, uint32_t creation,
                 const uint32_t *words, size_t nwords);
int nodus_mk_export_fun(nodus_term *out, nodus_atom module, nodus_atom fun,
                        uint8_t arity);

/* Setters take ownership of `elem` (also on failure). */
void nodus_tuple_set(nodus_term *tuple, size_t i, nodus_term elem);
void nodus_list_set(nodus_term *list, size_t i, nodus_term elem);
void nodus_list_set_tail(nodus_term *list, nodus_term tail);
/* Inserts or replaces; keeps the map in key order. */
int nodus_map_put(nodus_term *map, nodus_term key, nodus_term value);

/* Build a term from Erlang syntax with holes, e.g.
 *   nodus_build(&t, "{~a, ~i, ~s, ~b, ~t}", "ok", (int64_t)42, "text",
 *               data, (size_t)len, other_term);
 * Holes: ~i int64_t, ~u uint64_t, ~f double, ~a atom text (const char *),
 * ~A nodus_atom, ~s UTF-8 string as a list (const char *), ~b binary
 * (const void *, size_t), ~t nodus_term (ownership taken).
 * Terms passed with ~t are consumed even when the call fails. */
int nodus_build(nodus_term *out, const char *fmt, ...);

/* ---- Inspection -------------------------------------------------------- */

static inline nodus_type nodus_type_of(const nodus_term *t) {
  return (nodus_type)t->type;
}
bool nodus_is_atom(const nodus_term *t, const char *name);
bool nodus_is_proper_list(const nodus_term *t); /* nil or proper list */
int nodus_get_int64(const nodus_term *t, int64_t *out); /* ERANGE, EBADTYPE */
int nodus_get_double(const nodus_term *t, double *out); /* float only */
/* Tuple element, list item, list tail (nil for proper lists). NULL when out
 * of range or not of that type. */
const nodus_term *nodus_tuple_elem(const nodus_term *t, size_t i);
const nodus_term *nodus_list_item(const nodus_term *t, size_t i);
const nodus_term *nodus_list_tail(const nodus_term *t);
size_t nodus_size(const nodus_term *t); /* arity, length, map size, bytes */
/* Map lookup by exact key equality (=:=); NULL if absent. */
const nodus_term *nodus_map_get(const nodus_term *map, const nodus_term *key);
const nodus_term *nodus_map_key(const nodus_term *map, size_t i);
const nodus_term *nodus_map_value(const nodus_term *map, size_t i);
/* Binary payload; *nbits gets the bit length (8 * bytes for binaries). */
const uint8_t *nodus_bin_data(const nodus_term *t, size_t *nbytes,
                              size_t *nbits);

/* Match t against a pattern in Erlang syntax; `_` matches anything, and
 * holes capture: ~i int64_t *, ~f double *, ~a nodus_atom *, ~t
 * const nodus_term ** (borrowed from t), ~b const uint8_t **, size_t *.
 * Literals compare with =:=. Returns 0, NODUS_ENOMATCH or an error. */
int nodus_match(const nodus_term *t, const char *pattern, ...);

/* ---- Order, equality, hash, copy, free ---------------------------------- */

/* Erlang term order: <0, 0, >0. 0 means == (so 1 and 1.0 compare equal). */
int nodus_compare(const nodus_term *a, const nodus_term *b);
/* Exact term order, BEAM's map key order: like nodus_compare, but every
 * integer sorts before every float whatever their values (also nested, so
 * {2} < {1.0}), and 0 means =:=. Used for map keys. */
int nodus_compare_exact(const nodus_term *a, const nodus_term *b);
bool nodus_equal(const nodus_term *a, const nodus_term *b); /* =:= */
/* A hash that agrees with nodus_equal. Not erlang:phash2. */
uint64_t nodus_hash(const nodus_term *t);
int nodus_copy(nodus_term *dst, const nodus_term *src);
/* Frees t's heap parts and sets it to NODUS_T_NONE. */
void nodus_term_free(nodus_term *t);

/* ---- Erlang syntax ----------------------------------------------------- */

typedef struct nodus_print_opts {
  /* Pids, ports and refs of this node print as <0.X.Y>; others with their
   * node name: <'node@host'.X.Y>. Default 'nonode@nohost'. */
  nodus_atom local_node;
} nodus_print_opts;

/* Prints t as io_lib:format("~p", [T]) does, without line wrapping.
 * *out is malloc'd and NUL-terminated; free() it. opts may be NULL. */
int nodus_print(const nodus_term *t, const nodus_print_opts *opts,
                char **out, size_t *len);

typedef struct nodus_parse_opts {
  nodus_atom local_node; /* node of <0.X.Y> pids; default 'nonode@nohost' */
  uint32_t local_creation;
  size_t max_depth; /* default 1000 */
} nodus_parse_opts;

/* Parses one Erlang term literal, e.g. `{ok, [1,2,3], <<"x">>, #{a => 1}}`.
 * On NODUS_ESYNTAX, *err_pos (if not NULL) gets the byte offset. */
int nodus_parse(const char *text, size_t len, const nodus_parse_opts *opts,
                nodus_term *out, size_t *err_pos);

/* ---- External term format ---------------------------------------------- */

#define NODUS_ETF_VERSION 131

/* In both option structs a zero field means "the default". */
typedef struct nodus_decode_opts {
  /* Nesting; default none, as BEAM: what memory allows (nothing in the
   * term layer recurses per level, so a 100,000-deep term decodes,
   * prints, compares, copies, encodes and frees). */
  size_t max_depth;
  size_t max_size;      /* input bytes incl. decompressed; default 256 MiB */
  size_t max_new_atoms; /* atoms a single term may create; default 4096 */
} nodus_decode_opts;

typedef struct nodus_encode_opts {
  /* 1 (default, as OTP 25's term_to_binary): latin-1 atoms as ATOM_EXT,
   * others as (SMALL_)ATOM_UTF8_EXT. 2: every atom as SMALL_ATOM_UTF8_EXT. */
  int minor_version;
  /* -1 or 0: no compression; 1..9: zlib level, used when it saves space, as
   * term_to_binary(T, [{compressed, N}]) does. */
  int compressed;
} nodus_encode_opts;

/* Decodes one term starting with the version byte 131. *used (if not NULL)
 * gets the bytes consumed. opts may be NULL for defaults. */
int nodus_etf_decode(const uint8_t *buf, size_t len,
                     const nodus_decode_opts *opts, nodus_term *out,
                     size_t *used);
/* Encodes t with the version byte into a malloc'd buffer; free() it. */
int nodus_etf_encode(const nodus_term *t, const nodus_encode_opts *opts,
                     uint8_t **out, size_t *len);
/* Uncompressed size of t's encoding (with the version byte), for callers
 * that write into their own buffers with nodus_etf_encode_into. */
int nodus_etf_size(const nodus_term *t, const nodus_encode_opts *opts,
                   size_t *size);
/* Writes the uncompressed encoding; dst must hold nodus_etf_size() bytes.
 * Returns the number of bytes written. */
size_t nodus_etf_encode_into(const nodus_term *t,
                             const nodus_encode_opts *opts, uint8_t *dst);

#ifdef __cplusplus
}
#endif
#endif
