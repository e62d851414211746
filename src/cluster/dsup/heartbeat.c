/* The heartbeat datagram, both ways (heartbeat.h). */
#include <string.h>

#include "cluster/dsup/heartbeat.h"

int dsup_hb_encode(uint8_t *buf, const char *dsup, const char *node) {
  size_t a = strlen(dsup), b = strlen(node);
  if (!a || !b || a > 255 || b > 255) return -1;
  memcpy(buf, "NDHB", 4);
  buf[4] = 1;
  buf[5] = (uint8_t)a;
  memcpy(buf + 6, dsup, a);
  buf[6 + a] = (uint8_t)b;
  memcpy(buf + 7 + a, node, b);
  return (int)(7 + a + b);
}

int dsup_hb_parse(const uint8_t *buf, size_t len, dsup_hb *out) {
  if (len < 9 || memcmp(buf, "NDHB", 4) || buf[4] != 1) return -1;
  size_t a = buf[5];
  if (!a || 6 + a + 1 > len) return -1;
  size_t b = buf[6 + a];
  if (!b || 7 + a + b != len) return -1;
  out->dsup = (const char *)buf + 6;
  out->dsup_len = a;
  out->node = (const char *)buf + 7 + a;
  out->node_len = b;
  return 0;
}
