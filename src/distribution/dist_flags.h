/* Distribution capability flags (dist.h / erl_dist_protocol), as bits of
 * the 64-bit flag field of the v6 handshake. */
#ifndef NODUS_DIST_FLAGS_H
#define NODUS_DIST_FLAGS_H

#include <stdint.h>

#define DFLAG_PUBLISHED 0x1ull
#define DFLAG_ATOM_CACHE 0x2ull
#define DFLAG_EXTENDED_REFERENCES 0x4ull
#define DFLAG_DIST_MONITOR 0x8ull
#define DFLAG_FUN_TAGS 0x10ull
#define DFLAG_DIST_MONITOR_NAME 0x20ull
#define DFLAG_HIDDEN_ATOM_CACHE 0x40ull
#define DFLAG_NEW_FUN_TAGS 0x80ull
#define DFLAG_EXTENDED_PIDS_PORTS 0x100ull
#define DFLAG_EXPORT_PTR_TAG 0x200ull
#define DFLAG_BIT_BINARIES 0x400ull
#define DFLAG_NEW_FLOATS 0x800ull
#define DFLAG_UNICODE_IO 0x1000ull
#define DFLAG_DIST_HDR_ATOM_CACHE 0x2000ull
#define DFLAG_SMALL_ATOM_TAGS 0x4000ull
#define DFLAG_UTF8_ATOMS 0x10000ull
#define DFLAG_MAP_TAG 0x20000ull
#define DFLAG_BIG_CREATION 0x40000ull
#define DFLAG_SEND_SENDER 0x80000ull
#define DFLAG_BIG_SEQTRACE_LABELS 0x100000ull
#define DFLAG_EXIT_PAYLOAD 0x400000ull
#define DFLAG_FRAGMENTS 0x800000ull
#define DFLAG_HANDSHAKE_23 0x1000000ull
#define DFLAG_UNLINK_ID 0x2000000ull
#define DFLAG_MANDATORY_25_DIGEST 0x4000000ull
#define DFLAG_SPAWN (1ull << 32)
#define DFLAG_NAME_ME (1ull << 33)
#define DFLAG_V4_NC (1ull << 34)
#define DFLAG_ALIAS (1ull << 35)

/* What OTP 25 requires of every peer. */
#define DFLAG_MANDATORY_25                                                  \
  (DFLAG_EXTENDED_REFERENCES | DFLAG_FUN_TAGS | DFLAG_NEW_FUN_TAGS |        \
   DFLAG_EXTENDED_PIDS_PORTS | DFLAG_EXPORT_PTR_TAG | DFLAG_BIT_BINARIES |  \
   DFLAG_NEW_FLOATS | DFLAG_UTF8_ATOMS | DFLAG_MAP_TAG |                    \
   DFLAG_BIG_CREATION | DFLAG_HANDSHAKE_23)
/* ... and OTP 26 adds these. */
#define DFLAG_MANDATORY_26 (DFLAG_MANDATORY_25 | DFLAG_UNLINK_ID | DFLAG_V4_NC)

/* What a nodus node offers. No atom cache: messages use the pass-through
 * header. */
#define NODUS_DFLAGS_DEFAULT                                                \
  (DFLAG_MANDATORY_26 | DFLAG_PUBLISHED | DFLAG_DIST_MONITOR |              \
   DFLAG_DIST_MONITOR_NAME | DFLAG_UNICODE_IO | DFLAG_SMALL_ATOM_TAGS |     \
   DFLAG_SEND_SENDER | DFLAG_BIG_SEQTRACE_LABELS | DFLAG_EXIT_PAYLOAD |     \
   DFLAG_FRAGMENTS | DFLAG_SPAWN | DFLAG_ALIAS)

#endif
