/* The failure detector's datagram: "NDHB", version 1, then the dsup's
 * name and the sending node's name, each a length byte and its bytes.
 * Parsing is all a peer's bytes go through (fuzz_dsup_heartbeat). */
#ifndef NODUS_CLUSTER_DSUP_HEARTBEAT_H
#define NODUS_CLUSTER_DSUP_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#define DSUP_HB_MAX 520

typedef struct dsup_hb {
  const char *dsup, *node; /* into the buffer, not NUL-terminated */
  size_t dsup_len, node_len;
} dsup_hb;

/* Writes one into buf (DSUP_HB_MAX bytes): its length, or -1 when a name
 * is longer than 255 bytes or empty. */
int dsup_hb_encode(uint8_t *buf, const char *dsup, const char *node);
/* 0, or -1 for anything that is not exactly one heartbeat. */
int dsup_hb_parse(const uint8_t *buf, size_t len, dsup_hb *out);

#endif
