/* EPMD wire format: encoders against bytes captured from OTP 25's epmd
 * and erl_epmd, parsers against truncation at every position and hostile
 * lengths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "distribution/epmd_proto.h"
#include "nodus.h"

static epmd_node_info node_ab(void) {
  epmd_node_info n;
  memset(&n, 0, sizeof n);
  n.port = 5555;
  n.node_type = EPMD_NODE_NORMAL;
  n.protocol = EPMD_PROTO_TCP;
  n.highest = 6;
  n.lowest = 5;
  strcpy(n.name, "ab");
  n.name_len = 2;
  return n;
}

/* ALIVE2_REQ as OTP 25's erl_epmd builds it for "ab", port 5555
 * (versions 6..5). */
static const uint8_t alive2_ab[] = {0, 15, 120, 0x15, 0xb3, 77, 0, 0, 6,
                                    0, 5, 0,  2,   'a',  'b',  0,  0};
/* PORT2_RESP from the real epmd for that registration (captured). */
static const uint8_t port2_ab[] = {119, 0,   0x15, 0xb3, 77, 0, 0, 6,
                                   0,   5,   0,    2,    'a', 'b', 0, 0};

static void test_alive2_req(void) {
  uint8_t buf[64];
  epmd_node_info n = node_ab();
  CHECK_RC(epmd_encode_alive2_req(buf, sizeof buf, &n), (int)sizeof alive2_ab);
  CHECK(!memcmp(buf, alive2_ab, sizeof alive2_ab));
  CHECK_RC(epmd_encode_alive2_req(buf, sizeof alive2_ab - 1, &n),
           NODUS_ETOOBIG);
  n.name_len = 0;
  CHECK_RC(epmd_encode_alive2_req(buf, sizeof buf, &n), NODUS_EINVAL);

  /* split + parse round trip */
  const uint8_t *body;
  size_t blen, used;
  CHECK_RC(epmd_req_split(alive2_ab, sizeof alive2_ab, &body, &blen, &used),
           0);
  CHECK(used == sizeof alive2_ab && blen == 15);
  epmd_request req;
  CHECK_RC(epmd_parse_request(body, blen, &req), 0);
  CHECK(req.op == EPMD_ALIVE2_REQ && req.node.port == 5555);
  CHECK(req.node.node_type == 77 && req.node.highest == 6 &&
        req.node.lowest == 5 && req.node.extra_len == 0);
  CHECK_STR(req.node.name, "ab");

  /* every truncation of the frame needs more bytes */
  for (size_t i = 0; i < sizeof alive2_ab; i++)
    CHECK_RC(epmd_req_split(alive2_ab, i, &body, &blen, &used),
             NODUS_ETRUNC);
  /* every truncation of the body inside a frame is a protocol error */
  for (size_t i = 1; i < 15; i++)
    CHECK_RC(epmd_parse_request(alive2_ab + 2, i, &req), NODUS_EPROTO);
}

static void test_alive2_extra_and_lies(void) {
  uint8_t buf[EPMD_REQ_MAX + 2];
  epmd_node_info n = node_ab();
  n.extra_len = 5;
  memcpy(n.extra, "hello", 5);
  int len = epmd_encode_alive2_req(buf, sizeof buf, &n);
  CHECK(len == 22);
  epmd_request req;
  CHECK_RC(epmd_parse_request(buf + 2, (size_t)len - 2, &req), 0);
  CHECK(req.node.extra_len == 5 && !memcmp(req.node.extra, "hello", 5));

  /* Nlen larger than the frame */
  uint8_t lie[32];
  memcpy(lie, alive2_ab + 2, 15);
  lie[10] = 0xff;
  CHECK_RC(epmd_parse_request(lie, 15, &req), NODUS_EPROTO);
  lie[9] = 0, lie[10] = 0; /* empty name */
  CHECK_RC(epmd_parse_request(lie, 15, &req), NODUS_EPROTO);
  /* Elen beyond the bound */
  memcpy(lie, alive2_ab + 2, 15);
  lie[13] = 0xff, lie[14] = 0xff;
  CHECK_RC(epmd_parse_request(lie, 15, &req), NODUS_ETOOBIG);
  /* names with spaces, newlines, '@', NUL or bad UTF-8 */
  const char *bad[] = {"a b", "a\nb", "a@b", "a\x01", "\xff", "\xc3"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memcpy(lie, alive2_ab + 2, 15);
    size_t nl = strlen(bad[i]);
    lie[10] = (uint8_t)nl;
    memcpy(lie + 11, bad[i], nl);
    lie[11 + nl] = 0, lie[12 + nl] = 0;
    CHECK_RC(epmd_parse_request(lie, 13 + nl, &req), NODUS_EPROTO);
  }
  uint8_t nul[] = {122, 'a', 0, 'b'};
  CHECK_RC(epmd_parse_request(nul, sizeof nul, &req), NODUS_EPROTO);
  CHECK(epmd_name_valid("caf\xc3\xa9", 5)); /* UTF-8 is fine */
  char longname[300];
  memset(longname, 'x', sizeof longname);
  CHECK(epmd_name_valid(longname, 255));
  CHECK(!epmd_name_valid(longname, 256));
}

static void test_framing(void) {
  const uint8_t *body;
  size_t blen, used;
  uint8_t zero[] = {0, 0};
  CHECK_RC(epmd_req_split(zero, 2, &body, &blen, &used), NODUS_EPROTO);
  uint8_t giant[] = {0xff, 0xff, 'n'};
  CHECK_RC(epmd_req_split(giant, 3, &body, &blen, &used), NODUS_ETOOBIG);
  uint8_t two[] = {0, 1, 'n', 0, 1, 'n'};
  CHECK_RC(epmd_req_split(two, 6, &body, &blen, &used), 0);
  CHECK(used == 3 && blen == 1 && body == two + 2);
  epmd_request req;
  CHECK_RC(epmd_parse_request(body, blen, &req), 0);
  CHECK(req.op == EPMD_NAMES_REQ);
  uint8_t junk[] = {'n', 'X'}; /* epmd ignores what follows */
  CHECK_RC(epmd_parse_request(junk, 2, &req), 0);
  uint8_t unknown[] = {'Q'};
  CHECK_RC(epmd_parse_request(unknown, 1, &req), NODUS_EPROTO);
  CHECK_RC(epmd_parse_request(unknown, 0, &req), NODUS_EPROTO);
}

static void test_small_requests(void) {
  uint8_t buf[300];
  CHECK_RC(epmd_encode_names_req(buf, sizeof buf), 3);
  CHECK(buf[0] == 0 && buf[1] == 1 && buf[2] == 110);
  CHECK_RC(epmd_encode_kill_req(buf, sizeof buf), 3);
  CHECK(buf[2] == 107);
  CHECK_RC(epmd_encode_names_req(buf, 2), NODUS_ETOOBIG);
  CHECK_RC(epmd_encode_port_please2_req(buf, sizeof buf, "ab"), 5);
  static const uint8_t pp[] = {0, 3, 122, 'a', 'b'};
  CHECK(!memcmp(buf, pp, 5));
  CHECK_RC(epmd_encode_port_please2_req(buf, 4, "ab"), NODUS_ETOOBIG);
  CHECK_RC(epmd_encode_port_please2_req(buf, sizeof buf, ""), NODUS_EINVAL);
  CHECK_RC(epmd_encode_port_please2_req(buf, sizeof buf, "a@b"),
           NODUS_EINVAL);
  epmd_request req;
  CHECK_RC(epmd_parse_request(pp + 2, 3, &req), 0);
  CHECK(req.op == EPMD_PORT_PLEASE2_REQ);
  CHECK_STR(req.node.name, "ab");
  CHECK_RC(epmd_parse_request(pp + 2, 1, &req), NODUS_EPROTO);
}

static void test_alive2_resp(void) {
  uint8_t buf[8];
  /* bytes the real epmd sent: 'v', 0, creation 0x6b072324 */
  static const uint8_t x[] = {118, 0, 0x6b, 0x07, 0x23, 0x24};
  CHECK_RC(epmd_encode_alive2_x_resp(buf, sizeof buf, 0, 0x6b072324), 6);
  CHECK(!memcmp(buf, x, 6));
  uint8_t result = 9;
  uint32_t creation = 0;
  size_t used = 0;
  CHECK_RC(epmd_parse_alive2_resp(x, 6, &result, &creation, &used), 0);
  CHECK(result == 0 && creation == 0x6b072324 && used == 6);
  for (size_t i = 0; i < 6; i++)
    CHECK_RC(epmd_parse_alive2_resp(x, i, &result, &creation, &used),
             NODUS_ETRUNC);
  /* old epmd / version 5 node: 'y', 0, creation 3 */
  static const uint8_t y[] = {121, 0, 0, 3};
  CHECK_RC(epmd_encode_alive2_resp(buf, sizeof buf, 0, 3), 4);
  CHECK(!memcmp(buf, y, 4));
  CHECK_RC(epmd_parse_alive2_resp(y, 4, &result, &creation, &used), 0);
  CHECK(creation == 3 && used == 4);
  CHECK_RC(epmd_parse_alive2_resp(y, 3, &result, &creation, &used),
           NODUS_ETRUNC);
  static const uint8_t dup[] = {118, 1, 0, 0, 0, 0x63};
  CHECK_RC(epmd_parse_alive2_resp(dup, 6, &result, &creation, &used), 0);
  CHECK(result == 1);
  static const uint8_t garbage[] = {'H', 'T', 'T', 'P'};
  CHECK_RC(epmd_parse_alive2_resp(garbage, 4, &result, &creation, &used),
           NODUS_EPROTO);
}

static void test_port2_resp(void) {
  uint8_t buf[EPMD_PORT2_RESP_MAX];
  epmd_node_info n = node_ab();
  CHECK_RC(epmd_encode_port2_resp(buf, sizeof buf, &n), (int)sizeof port2_ab);
  CHECK(!memcmp(buf, port2_ab, sizeof port2_ab));
  uint8_t result = 9;
  size_t used = 0;
  epmd_node_info got;
  memset(&got, 0, sizeof got);
  CHECK_RC(epmd_parse_port2_resp(port2_ab, sizeof port2_ab, &result, &got,
                                 &used),
           0);
  CHECK(result == 0 && used == sizeof port2_ab && got.port == 5555 &&
        got.highest == 6 && got.lowest == 5 && got.node_type == 77);
  CHECK_STR(got.name, "ab");
  for (size_t i = 0; i < sizeof port2_ab; i++)
    CHECK_RC(epmd_parse_port2_resp(port2_ab, i, &result, &got, &used),
             NODUS_ETRUNC);
  CHECK_RC(epmd_encode_port2_resp(buf, sizeof buf, NULL), 2);
  CHECK(buf[0] == 119 && buf[1] == 1);
  CHECK_RC(epmd_parse_port2_resp(buf, 2, &result, &got, &used), 0);
  CHECK(result == 1 && used == 2);
  uint8_t wrong[] = {118, 0};
  CHECK_RC(epmd_parse_port2_resp(wrong, 2, &result, &got, &used),
           NODUS_EPROTO);
  uint8_t lie[sizeof port2_ab];
  memcpy(lie, port2_ab, sizeof lie);
  lie[10] = 0xff; /* Nlen > 255 */
  CHECK_RC(epmd_parse_port2_resp(lie, sizeof lie, &result, &got, &used),
           NODUS_EPROTO);
}

static void test_names(void) {
  uint8_t buf[600];
  int n = epmd_encode_names_head(buf, sizeof buf, 14555);
  CHECK(n == 4 && buf[2] == 0x38 && buf[3] == 0xdb);
  int k = epmd_encode_names_line(buf + 4, sizeof buf - 4, "cd", 5555);
  CHECK(k == 21 && !memcmp(buf + 4, "name cd at port 5555\n", 21));
  CHECK_RC(epmd_encode_names_line(buf, 10, "cd", 5555), NODUS_ETOOBIG);
  /* the exact reply the real epmd gave, plus lines erl_epmd would skip */
  static const char text[] =
      "name cd at port 5555\n"
      "garbage line\n"
      "name x at port 99999\n"
      "name y at port 12a\n"
      "name  at port 1\n"
      "name ab at port 5556\n"
      "name half at port 7";
  size_t pos = 0;
  epmd_name_entry e;
  CHECK_RC(epmd_names_next((const uint8_t *)text, strlen(text), &pos, &e), 1);
  CHECK_STR(e.name, "cd");
  CHECK(e.port == 5555);
  CHECK_RC(epmd_names_next((const uint8_t *)text, strlen(text), &pos, &e), 1);
  CHECK_STR(e.name, "ab");
  CHECK(e.port == 5556);
  CHECK_RC(epmd_names_next((const uint8_t *)text, strlen(text), &pos, &e), 0);
  uint32_t port;
  CHECK_RC(epmd_parse_names_head(buf, 3, &port), NODUS_ETRUNC);
  CHECK_RC(epmd_parse_names_head(buf, 4, &port), 0);
  CHECK(port == 14555);
  /* a 300-byte name in a line is skipped, not overflowed */
  char big[400] = "name ";
  memset(big + 5, 'z', 300);
  strcpy(big + 305, " at port 1\n");
  pos = 0;
  CHECK_RC(epmd_names_next((const uint8_t *)big, strlen(big), &pos, &e), 0);
}

/* Random bytes through every parser: no crash, no over-read (ASan). */
static void test_random(void) {
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; round++) {
    size_t len = (size_t)(round % 64);
    uint8_t *b = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      b[i] = (uint8_t)(seed >> 16);
    }
    if (len) b[0] = (uint8_t)(100 + round % 24);
    epmd_request req;
    epmd_node_info node;
    epmd_name_entry e;
    const uint8_t *body;
    size_t blen, used, pos = 0;
    uint8_t result;
    uint32_t creation;
    (void)epmd_req_split(b, len, &body, &blen, &used);
    (void)epmd_parse_request(b, len, &req);
    (void)epmd_parse_alive2_resp(b, len, &result, &creation, &used);
    (void)epmd_parse_port2_resp(b, len, &result, &node, &used);
    while (epmd_names_next(b, len, &pos, &e)) {
    }
    free(b);
  }
  CHECK(1);
}

int main(void) {
  test_alive2_req();
  test_alive2_extra_and_lies();
  test_framing();
  test_small_requests();
  test_alive2_resp();
  test_port2_resp();
  test_names();
  test_random();
  return check_report();
}
