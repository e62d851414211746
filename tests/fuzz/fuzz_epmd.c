/* Fuzz target: every EPMD parser over the same bytes. The first byte picks
 * the parser so one corpus covers all of them; a parse that succeeds is
 * re-encoded and parsed again, and must give the same result. */
#include <stdint.h>
#include <string.h>

#include "../../src/dist/epmd_proto.h"

static void requests(const uint8_t *data, size_t size) {
  /* a stream of framed requests, as a server reads them */
  while (size > 0) {
    const uint8_t *body;
    size_t blen, used;
    if (epmd_req_split(data, size, &body, &blen, &used) < 0) return;
    epmd_request req;
    if (epmd_parse_request(body, blen, &req) == 0 &&
        req.op == EPMD_ALIVE2_REQ) {
      uint8_t buf[EPMD_REQ_MAX + 2];
      int n = epmd_encode_alive2_req(buf, sizeof buf, &req.node);
      epmd_request again;
      if (n < 0 || epmd_parse_request(buf + 2, (size_t)n - 2, &again) != 0 ||
          strcmp(again.node.name, req.node.name) ||
          again.node.port != req.node.port ||
          again.node.extra_len != req.node.extra_len)
        __builtin_trap();
    }
    data += used;
    size -= used;
  }
}

static void replies(const uint8_t *data, size_t size) {
  uint8_t result;
  uint32_t creation;
  size_t used;
  (void)epmd_parse_alive2_resp(data, size, &result, &creation, &used);
  epmd_node_info node;
  if (epmd_parse_port2_resp(data, size, &result, &node, &used) == 0 &&
      result == 0) {
    uint8_t buf[EPMD_PORT2_RESP_MAX];
    int n = epmd_encode_port2_resp(buf, sizeof buf, &node);
    if (n < 0 || (size_t)n != used || memcmp(buf, data, used))
      __builtin_trap();
  }
  uint32_t port;
  if (epmd_parse_names_head(data, size, &port) == 0) {
    size_t pos = 0;
    epmd_name_entry e;
    while (epmd_names_next(data + 4, size - 4, &pos, &e))
      if (strlen(e.name) == 0 || strlen(e.name) > EPMD_NAME_MAX)
        __builtin_trap();
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
