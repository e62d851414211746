/* Fuzz target: every EPMD parser over the same bytes. The first byte picks
 * the parser so one corpus covers all of them; a parse that succeeds is
 * re-encoded and parsed again, and must give the same result (every
 * field), and replies re-encode to the bytes they came from. */
#include <stdint.h>
#include <string.h>

#include "../../src/distribution/epmd_proto.h"
#include "fuzz_assert.h"

static bool same_node(const epmd_node_info *a, const epmd_node_info *b) {
  return a->port == b->port && a->node_type == b->node_type &&
         a->protocol == b->protocol && a->highest == b->highest &&
         a->lowest == b->lowest && a->name_len == b->name_len &&
         strlen(a->name) == a->name_len && !strcmp(a->name, b->name) &&
         a->extra_len == b->extra_len &&
         !memcmp(a->extra, b->extra, a->extra_len);
}

static void requests(const uint8_t *data, size_t size) {
  /* a stream of framed requests, as a server reads them */
  while (size > 0) {
    const uint8_t *body;
    size_t blen, used;
    if (epmd_req_split(data, size, &body, &blen, &used) < 0) return;
    FUZZ_ASSERT(used >= 3 && used <= size && blen == used - 2);
    epmd_request req;
    if (epmd_parse_request(body, blen, &req) == 0 &&
        req.op == EPMD_ALIVE2_REQ) {
      uint8_t buf[EPMD_REQ_MAX + 2];
      int n = epmd_encode_alive2_req(buf, sizeof buf, &req.node);
      epmd_request again;
      FUZZ_ASSERT(n > 2);
      FUZZ_ASSERT(epmd_parse_request(buf + 2, (size_t)n - 2, &again) == 0);
      FUZZ_ASSERT(again.op == EPMD_ALIVE2_REQ);
      FUZZ_ASSERT(same_node(&again.node, &req.node));
    } else if (epmd_parse_request(body, blen, &req) == 0 &&
               req.op == EPMD_PORT_PLEASE2_REQ) {
      uint8_t buf[EPMD_REQ_MAX + 2];
      FUZZ_ASSERT(epmd_name_valid(req.node.name, req.node.name_len));
      int n = epmd_encode_port_please2_req(buf, sizeof buf, req.node.name);
      epmd_request again;
      FUZZ_ASSERT(n == (int)(3 + req.node.name_len));
      FUZZ_ASSERT(epmd_parse_request(buf + 2, (size_t)n - 2, &again) == 0);
      FUZZ_ASSERT(again.op == EPMD_PORT_PLEASE2_REQ);
      FUZZ_ASSERT(!strcmp(again.node.name, req.node.name));
    }
    data += used;
    size -= used;
  }
}

static void replies(const uint8_t *data, size_t size) {
  uint8_t result;
  uint32_t creation;
  size_t used;
  if (epmd_parse_alive2_resp(data, size, &result, &creation, &used) == 0) {
    uint8_t buf[8];
    int n = data[0] == EPMD_ALIVE2_X_RESP
                ? epmd_encode_alive2_x_resp(buf, sizeof buf, result, creation)
                : epmd_encode_alive2_resp(buf, sizeof buf, result,
                                          (uint16_t)creation);
    FUZZ_ASSERT(n > 0 && (size_t)n == used && used <= size);
    FUZZ_ASSERT(!memcmp(buf, data, used));
  }
  epmd_node_info node;
  if (epmd_parse_port2_resp(data, size, &result, &node, &used) == 0 &&
      result == 0) {
    uint8_t buf[EPMD_PORT2_RESP_MAX];
    int n = epmd_encode_port2_resp(buf, sizeof buf, &node);
    FUZZ_ASSERT(n > 0 && (size_t)n == used && used <= size);
    FUZZ_ASSERT(!memcmp(buf, data, used));
    epmd_node_info again;
    size_t used2;
    FUZZ_ASSERT(epmd_parse_port2_resp(buf, (size_t)n, &result, &again, &used2) == 0);
    FUZZ_ASSERT(result == 0 && used2 == used && same_node(&again, &node));
  }
  uint32_t port;
  if (epmd_parse_names_head(data, size, &port) == 0) {
    size_t pos = 0;
    epmd_name_entry e;
    while (epmd_names_next(data + 4, size - 4, &pos, &e)) {
      size_t len = strlen(e.name);
      FUZZ_ASSERT(len > 0 && len <= EPMD_NAME_MAX && pos <= size - 4);
      /* A line epmd could have written reads back as the same entry. */
      uint8_t line[EPMD_NAME_MAX + 32];
      int n = epmd_encode_names_line(line, sizeof line, e.name, e.port);
      if (!epmd_name_valid(e.name, len)) {
        FUZZ_ASSERT(n < 0);
        continue;
      }
      FUZZ_ASSERT(n > 0);
      size_t p2 = 0;
      epmd_name_entry again;
      FUZZ_ASSERT(epmd_names_next(line, (size_t)n, &p2, &again) == 1);
      FUZZ_ASSERT(p2 == (size_t)n && again.port == e.port &&
                  !strcmp(again.name, e.name));
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1)
    requests(data + 1, size - 1);
  else
    replies(data + 1, size - 1);
  return 0;
}
