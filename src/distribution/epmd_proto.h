/* EPMD wire format (erl_dist_protocol, "EPMD Protocol"): pure encoders and
 * parsers, no I/O, so the client, the embedded server and the fuzzer share
 * them.
 *
 * Every request is Len:16 followed by Len bytes whose first byte is the
 * request code. Replies have no length prefix: the client knows their shape
 * from the first byte (ALIVE2_X_RESP, PORT2_RESP) or reads to EOF (NAMES).
 *
 * Encoders write into a caller buffer of `cap` bytes and return the number
 * of bytes written, or NODUS_EINVAL (bad argument) / NODUS_ETOOBIG (does not
 * fit). Parsers never read past `len` and return NODUS_ETRUNC when more
 * bytes are needed, NODUS_EPROTO when the bytes can never become valid. */
#ifndef NODUS_DIST_EPMD_PROTO_H
#define NODUS_DIST_EPMD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPMD_DEFAULT_PORT 4369

#define EPMD_ALIVE2_X_RESP 118 /* 'v': Result:8 Creation:32 */
#define EPMD_ALIVE2_REQ 120    /* 'x' */
#define EPMD_ALIVE2_RESP 121   /* 'y': Result:8 Creation:16 (old) */
#define EPMD_PORT2_RESP 119    /* 'w' */
#define EPMD_PORT_PLEASE2_REQ 122 /* 'z' */
#define EPMD_NAMES_REQ 110     /* 'n' */
#define EPMD_DUMP_REQ 100      /* 'd' */
#define EPMD_KILL_REQ 107      /* 'k' */
#define EPMD_STOP_REQ 115      /* 's' */

#define EPMD_NODE_NORMAL 77 /* 'M' */
#define EPMD_NODE_HIDDEN 72 /* 'H' */
#define EPMD_PROTO_TCP 0

/* What OTP 25 sends in ALIVE2_REQ. dist.hrl says 6..6, but kernel's
 * Makefile compiles erl_epmd with -Depmd_dist_low=5, so a real OTP 25.2
 * node registers 6..5 (seen in epmd's PORT2_RESP); we match it. */
#define EPMD_DIST_HIGHEST 6
#define EPMD_DIST_LOWEST 5

/* Bounds. Node names are at most 255 bytes (atom limit); the extra field is
 * unused by OTP, we allow a little. A request longer than EPMD_REQ_MAX can
 * only be hostile. */
#define EPMD_NAME_MAX 255
#define EPMD_EXTRA_MAX 1024
#define EPMD_REQ_MAX (13 + EPMD_NAME_MAX + EPMD_EXTRA_MAX)
/* The largest PORT2_RESP: tag, result, 10 fixed bytes, name, Elen, extra. */
#define EPMD_PORT2_RESP_MAX (14 + EPMD_NAME_MAX + EPMD_EXTRA_MAX)

/* A registered node as carried by ALIVE2_REQ and PORT2_RESP. */
typedef struct epmd_node_info {
  uint16_t port;      /* the node's distribution listen port */
  uint8_t node_type;  /* EPMD_NODE_NORMAL or EPMD_NODE_HIDDEN */
  uint8_t protocol;   /* EPMD_PROTO_TCP */
  uint16_t highest;   /* highest distribution version */
  uint16_t lowest;    /* lowest distribution version */
  char name[EPMD_NAME_MAX + 1]; /* the alive part, NUL-terminated */
  size_t name_len;
  uint8_t extra[EPMD_EXTRA_MAX];
  size_t extra_len;
} epmd_node_info;

/* One parsed request (the bytes after the length prefix). */
typedef struct epmd_request {
  uint8_t op; /* EPMD_*_REQ */
  /* EPMD_ALIVE2_REQ: all fields; EPMD_PORT_PLEASE2_REQ: name only. */
  epmd_node_info node;
} epmd_request;

/* One line of a NAMES reply. */
typedef struct epmd_name_entry {
  char name[EPMD_NAME_MAX + 1];
  uint16_t port;
} epmd_name_entry;

/* True when name[0..len) can be a registered name: 1..255 bytes of valid
 * UTF-8 without control characters, spaces, DEL or '@'. (Spaces and
 * newlines would break the NAMES text format.) */
bool epmd_name_valid(const char *name, size_t len);

/* ---- framing ---- */

/* Finds one length-prefixed request at the start of buf. On success sets
 * *body and *body_len to the request bytes and *used to prefix + body. Returns
 * NODUS_ETRUNC when incomplete, NODUS_EPROTO for a zero length and
 * NODUS_ETOOBIG for one above EPMD_REQ_MAX. */
int epmd_req_split(const uint8_t *buf, size_t len, const uint8_t **body,
                   size_t *body_len, size_t *used);

/* ---- requests (encoders include the 2-byte length prefix) ---- */

int epmd_encode_alive2_req(uint8_t *out, size_t cap,
                           const epmd_node_info *node);
int epmd_encode_port_please2_req(uint8_t *out, size_t cap, const char *name);
int epmd_encode_names_req(uint8_t *out, size_t cap);
int epmd_encode_kill_req(uint8_t *out, size_t cap);

/* Parses a request body (no length prefix): ALIVE2, PORT_PLEASE2, NAMES,
 * DUMP, KILL, STOP. Trailing bytes after a complete fixed-size request are
 * ignored, as epmd does; names are checked with epmd_name_valid(). Returns
 * 0, NODUS_EPROTO (unknown op, inconsistent lengths, bad name) or
 * NODUS_ETOOBIG (extra field too long). */
int epmd_parse_request(const uint8_t *body, size_t len, epmd_request *req);

/* ---- replies ---- */

int epmd_encode_alive2_x_resp(uint8_t *out, size_t cap, uint8_t result,
                              uint32_t creation);
int epmd_encode_alive2_resp(uint8_t *out, size_t cap, uint8_t result,
                            uint16_t creation);
/* node == NULL: the "not found" reply [119, 1]. */
int epmd_encode_port2_resp(uint8_t *out, size_t cap,
                           const epmd_node_info *node);
/* The 4-byte epmd port that starts a NAMES reply. */
int epmd_encode_names_head(uint8_t *out, size_t cap, uint32_t epmd_port);
/* "name NAME at port PORT\n" (epmd's format; net_adm:names/0 parses it). */
int epmd_encode_names_line(uint8_t *out, size_t cap, const char *name,
                           uint16_t port);

/* Parses ALIVE2_X_RESP (6 bytes) or the old ALIVE2_RESP (4 bytes). Sets
 * *result (0 = ok), *creation and *used. */
int epmd_parse_alive2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                           uint32_t *creation, size_t *used);

/* Parses PORT2_RESP. *result 0: *node is filled; otherwise the node was not
 * found and *node is untouched. Sets *used. */
int epmd_parse_port2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                          epmd_node_info *node, size_t *used);

/* NAMES reply: the 4-byte epmd port, then text. epmd_parse_names_head()
 * reads the port; epmd_names_next() walks the text from *pos, returning 1
 * with *entry filled, 0 at the end. Lines that don't parse are skipped, as
 * OTP's erl_epmd does; a last line without '\n' is ignored. */
int epmd_parse_names_head(const uint8_t *buf, size_t len,
                          uint32_t *epmd_port);
int epmd_names_next(const uint8_t *text, size_t len, size_t *pos,
                    epmd_name_entry *entry);

#endif
