/* EPMD wire format: see epmd_proto.h. */
#include "epmd_proto.h"

#include <stdio.h>
#include <string.h>

#include "term/term_internal.h"
#include "nodus/error.h"
#include "distribution/wire.h"





bool epmd_name_valid(const char *name, size_t len) {
  if (!name || len == 0 || len > EPMD_NAME_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)name[i];
    if (c <= ' ' || c == 0x7f || c == '@') return false;
  }
  return term_utf8_count((const uint8_t *)name, len) >= 0;
}

/* ---- framing ---- */

int epmd_req_split(const uint8_t *buf, size_t len, const uint8_t **body,
                   size_t *body_len, size_t *used) {
  if (len < 2) return NODUS_ETRUNC;
  size_t n = get16(buf);
  if (n == 0) return NODUS_EPROTO;
  if (n > EPMD_REQ_MAX) return NODUS_ETOOBIG;
  if (len - 2 < n) return NODUS_ETRUNC;
  *body = buf + 2;
  *body_len = n;
  *used = 2 + n;
  return 0;
}

/* ---- requests ---- */

int epmd_encode_alive2_req(uint8_t *out, size_t cap,
                           const epmd_node_info *node) {
  if (!out || !node || !epmd_name_valid(node->name, node->name_len) ||
      node->extra_len > EPMD_EXTRA_MAX)
    return NODUS_EINVAL;
  size_t body = 13 + node->name_len + node->extra_len;
  if (cap < 2 + body) return NODUS_ETOOBIG;
  uint8_t *p = out;
  put16(p, (uint16_t)body);
  p[2] = EPMD_ALIVE2_REQ;
  put16(p + 3, node->port);
  p[5] = node->node_type;
  p[6] = node->protocol;
  put16(p + 7, node->highest);
  put16(p + 9, node->lowest);
  put16(p + 11, (uint16_t)node->name_len);
  memcpy(p + 13, node->name, node->name_len);
  p += 13 + node->name_len;
  put16(p, (uint16_t)node->extra_len);
  if (node->extra_len) memcpy(p + 2, node->extra, node->extra_len);
  return (int)(2 + body);
}

int epmd_encode_port_please2_req(uint8_t *out, size_t cap, const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (!out || !epmd_name_valid(name, n)) return NODUS_EINVAL;
  if (cap < 3 + n) return NODUS_ETOOBIG;
  put16(out, (uint16_t)(1 + n));
  out[2] = EPMD_PORT_PLEASE2_REQ;
  memcpy(out + 3, name, n);
  return (int)(3 + n);
}

static int encode_op_only(uint8_t *out, size_t cap, uint8_t op) {
  if (!out) return NODUS_EINVAL;
  if (cap < 3) return NODUS_ETOOBIG;
  put16(out, 1);
  out[2] = op;
  return 3;
}

int epmd_encode_names_req(uint8_t *out, size_t cap) {
  return encode_op_only(out, cap, EPMD_NAMES_REQ);
}

int epmd_encode_kill_req(uint8_t *out, size_t cap) {
  return encode_op_only(out, cap, EPMD_KILL_REQ);
}

/* Copies a name of n bytes from the wire into node->name after checking it. */
static int take_name(epmd_node_info *node, const uint8_t *p, size_t n) {
  if (!epmd_name_valid((const char *)p, n)) return NODUS_EPROTO;
  memcpy(node->name, p, n);
  node->name[n] = '\0';
  node->name_len = n;
  return 0;
}

/* The fields shared by ALIVE2_REQ and PORT2_RESP, from PortNo on:
 * PortNo:16 NodeType:8 Protocol:8 High:16 Low:16 Nlen:16 Name Elen:16
 * Extra. Returns bytes used, NODUS_ETRUNC or NODUS_EPROTO/ETOOBIG. */
static int parse_node_fields(const uint8_t *p, size_t len,
                             epmd_node_info *node) {
  if (len < 10) return NODUS_ETRUNC;
  size_t nlen = get16(p + 8);
  if (nlen == 0 || nlen > EPMD_NAME_MAX) return NODUS_EPROTO;
  if (len - 10 < nlen + 2) return NODUS_ETRUNC;
  size_t elen = get16(p + 10 + nlen);
  if (elen > EPMD_EXTRA_MAX) return NODUS_ETOOBIG;
  if (len - 12 - nlen < elen) return NODUS_ETRUNC;
  int rc = take_name(node, p + 10, nlen);
  if (rc) return rc;
  node->port = get16(p);
  node->node_type = p[2];
  node->protocol = p[3];
  node->highest = get16(p + 4);
  node->lowest = get16(p + 6);
  memcpy(node->extra, p + 12 + nlen, elen);
  node->extra_len = elen;
  return (int)(12 + nlen + elen);
}

int epmd_parse_request(const uint8_t *body, size_t len, epmd_request *req) {
  if (!body || !req || len == 0) return NODUS_EPROTO;
  memset(req, 0, sizeof *req);
  req->op = body[0];
  switch (body[0]) {
    case EPMD_ALIVE2_REQ: {
      int rc = parse_node_fields(body + 1, len - 1, &req->node);
      /* Inside a complete frame, "needs more bytes" means the lengths lie. */
      if (rc == NODUS_ETRUNC) return NODUS_EPROTO;
      return rc < 0 ? rc : 0;
    }
    case EPMD_PORT_PLEASE2_REQ:
      return take_name(&req->node, body + 1, len - 1);
    case EPMD_NAMES_REQ:
    case EPMD_DUMP_REQ:
    case EPMD_KILL_REQ:
      return 0;
    case EPMD_STOP_REQ:
      return len > 1 ? take_name(&req->node, body + 1, len - 1)
                     : NODUS_EPROTO;
    default:
      return NODUS_EPROTO;
  }
}

/* ---- replies ---- */

int epmd_encode_alive2_x_resp(uint8_t *out, size_t cap, uint8_t result,
                              uint32_t creation) {
  if (!out) return NODUS_EINVAL;
  if (cap < 6) return NODUS_ETOOBIG;
  out[0] = EPMD_ALIVE2_X_RESP;
  out[1] = result;
  put32(out + 2, creation);
  return 6;
}

int epmd_encode_alive2_resp(uint8_t *out, size_t cap, uint8_t result,
                            uint16_t creation) {
  if (!out) return NODUS_EINVAL;
  if (cap < 4) return NODUS_ETOOBIG;
  out[0] = EPMD_ALIVE2_RESP;
  out[1] = result;
  put16(out + 2, creation);
  return 4;
}

int epmd_encode_port2_resp(uint8_t *out, size_t cap,
                           const epmd_node_info *node) {
  if (!out) return NODUS_EINVAL;
  if (!node) {
    if (cap < 2) return NODUS_ETOOBIG;
    out[0] = EPMD_PORT2_RESP;
    out[1] = 1;
    return 2;
  }
  if (!epmd_name_valid(node->name, node->name_len) ||
      node->extra_len > EPMD_EXTRA_MAX)
    return NODUS_EINVAL;
  size_t n = 14 + node->name_len + node->extra_len;
  if (cap < n) return NODUS_ETOOBIG;
  out[0] = EPMD_PORT2_RESP;
  out[1] = 0;
  put16(out + 2, node->port);
  out[4] = node->node_type;
  out[5] = node->protocol;
  put16(out + 6, node->highest);
  put16(out + 8, node->lowest);
  put16(out + 10, (uint16_t)node->name_len);
  memcpy(out + 12, node->name, node->name_len);
  put16(out + 12 + node->name_len, (uint16_t)node->extra_len);
  if (node->extra_len)
    memcpy(out + 14 + node->name_len, node->extra, node->extra_len);
  return (int)n;
}

int epmd_encode_names_head(uint8_t *out, size_t cap, uint32_t epmd_port) {
  if (!out) return NODUS_EINVAL;
  if (cap < 4) return NODUS_ETOOBIG;
  put32(out, epmd_port);
  return 4;
}

int epmd_encode_names_line(uint8_t *out, size_t cap, const char *name,
                           uint16_t port) {
  size_t n = name ? strlen(name) : 0;
  if (!out || !epmd_name_valid(name, n)) return NODUS_EINVAL;
  /* snprintf needs room for its NUL; the line itself has none. */
  char line[EPMD_NAME_MAX + 32];
  int w = snprintf(line, sizeof line, "name %s at port %u\n", name,
                   (unsigned)port);
  if (w < 0 || (size_t)w >= sizeof line) return NODUS_EINVAL;
  if (cap < (size_t)w) return NODUS_ETOOBIG;
  memcpy(out, line, (size_t)w);
  return w;
}

int epmd_parse_alive2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                           uint32_t *creation, size_t *used) {
  if (len < 1) return NODUS_ETRUNC;
  switch (buf[0]) {
    case EPMD_ALIVE2_X_RESP:
      if (len < 6) return NODUS_ETRUNC;
      *result = buf[1];
      *creation = get32(buf + 2);
      *used = 6;
      return 0;
    case EPMD_ALIVE2_RESP:
      if (len < 4) return NODUS_ETRUNC;
      *result = buf[1];
      *creation = get16(buf + 2);
      *used = 4;
      return 0;
    default:
      return NODUS_EPROTO;
  }
}

int epmd_parse_port2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                          epmd_node_info *node, size_t *used) {
  if (len < 1) return NODUS_ETRUNC;
  if (buf[0] != EPMD_PORT2_RESP) return NODUS_EPROTO;
  if (len < 2) return NODUS_ETRUNC;
  if (buf[1] != 0) {
    *result = buf[1];
    *used = 2;
    return 0;
  }
  /* Parse into a scratch copy so *node stays untouched on failure. */
  epmd_node_info tmp;
  int rc = parse_node_fields(buf + 2, len - 2, &tmp);
  if (rc < 0) return rc;
  *node = tmp;
  *result = 0;
  *used = 2 + (size_t)rc;
  return 0;
}

int epmd_parse_names_head(const uint8_t *buf, size_t len,
                          uint32_t *epmd_port) {
  if (len < 4) return NODUS_ETRUNC;
  *epmd_port = get32(buf);
  return 0;
}

/* Parses "name NAME at port PORT" (no newline) into *e. */
static bool parse_names_line(const uint8_t *s, size_t n, epmd_name_entry *e) {
  static const char head[] = "name ", mid[] = "at port ";
  if (n < sizeof head - 1 || memcmp(s, head, sizeof head - 1)) return false;
  size_t i = sizeof head - 1, start = i;
  while (i < n && s[i] != ' ') {
    if (s[i] == '\0') return false;
    i++;
  }
  size_t nlen = i - start;
  if (i == n || nlen == 0 || nlen > EPMD_NAME_MAX) return false;
  i++; /* the space */
  if (n - i < sizeof mid - 1 || memcmp(s + i, mid, sizeof mid - 1))
    return false;
  i += sizeof mid - 1;
  if (i == n || n - i > 5) return false;
  uint32_t port = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    port = port * 10 + (uint32_t)(s[i] - '0');
  }
  if (port > 65535) return false;
  memcpy(e->name, s + start, nlen);
  e->name[nlen] = '\0';
  e->port = (uint16_t)port;
  return true;
}

int epmd_names_next(const uint8_t *text, size_t len, size_t *pos,
                    epmd_name_entry *entry) {
  while (*pos < len) {
    const uint8_t *line = text + *pos;
    const uint8_t *nl = memchr(line, '\n', len - *pos);
    if (!nl) {
      *pos = len; /* unterminated last line: ignored */
      return 0;
    }
    size_t n = (size_t)(nl - line);
    *pos += n + 1;
    if (parse_names_line(line, n, entry)) return 1;
  }
  return 0;
}
