/* Tags of the Erlang external term format (erts "erl_ext_dist"). */
#ifndef NODUS_ETF_TAGS_H
#define NODUS_ETF_TAGS_H

enum etf_tag {
  ETF_NEW_FLOAT = 70,
  ETF_BIT_BINARY = 77,
  ETF_COMPRESSED = 80,
  ETF_ATOM_CACHE_REF = 82,
  ETF_NEW_PID = 88,
  ETF_NEW_PORT = 89,
  ETF_NEWER_REFERENCE = 90,
  ETF_SMALL_INTEGER = 97,
  ETF_INTEGER = 98,
  ETF_FLOAT = 99, /* legacy: 31-byte "%.20e" text */
  ETF_ATOM = 100, /* latin-1, 2-byte length */
  ETF_REFERENCE = 101,
  ETF_PORT = 102,
  ETF_PID = 103,
  ETF_SMALL_TUPLE = 104,
  ETF_LARGE_TUPLE = 105,
  ETF_NIL = 106,
  ETF_STRING = 107,
  ETF_LIST = 108,
  ETF_BINARY = 109,
  ETF_SMALL_BIG = 110,
  ETF_LARGE_BIG = 111,
  ETF_NEW_FUN = 112,
  ETF_EXPORT = 113,
  ETF_NEW_REFERENCE = 114,
  ETF_SMALL_ATOM = 115, /* latin-1, 1-byte length */
  ETF_MAP = 116,
  ETF_FUN = 117, /* pre-OTP-23 closures: unsupported */
  ETF_ATOM_UTF8 = 118,
  ETF_SMALL_ATOM_UTF8 = 119,
  ETF_V4_PORT = 120,
  ETF_LOCAL = 121,
};

/* Reference ids carry at most this many 32-bit words (OTP 25). */
#define ETF_MAX_REF_WORDS 5

#endif
