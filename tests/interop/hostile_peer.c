/* A hostile distribution peer: it completes a real handshake with a node,
 * then sends one kind of bad input and reports whether the node closed the
 * connection (exit 0) or not (exit 1).
 *
 * usage: hostile_peer HOST PORT PEER_NODE COOKIE ATTACK
 * ATTACK: none | garbage | giant | half | badterm | unknown_op | bad_tuple
 *         | hangup (asks for 20 replies and closes at once: the node's
 *         writes after the first meet a closed socket, EPIPE; exit 0) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "distribution/dist_flags.h"
#include "distribution/handshake.h"

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

/* Waits up to ms for the peer to close; 1 if it did. */
static int closed_within(int fd, int ms) {
  uint8_t buf[4096];
  for (int waited = 0; waited < ms; waited += 100) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) > 0) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) return 1; /* EOF or reset: closed */
    }
  }
  return 0;
}

static int handshake(int fd, const char *peer, const char *cookie) {
  dist_hs_config cfg = {.this_name = "hostile@127.0.0.1",
                        .peer_name = peer,
                        .cookie = cookie,
                        /* No FRAGMENTS: the node then takes pass-through
                         * frames (112), which this peer writes. */
                        .flags = DFLAG_MANDATORY_25 | DFLAG_PUBLISHED |
                                 DFLAG_UNLINK_ID | DFLAG_V4_NC,
                        .creation = 7,
                        .initiator = true};
  dist_hs *hs;
  if (dist_hs_new(&hs, &cfg) || dist_hs_start(hs)) return -1;
  uint8_t buf[4096];
  int rc = -1;
  for (;;) {
    size_t n;
    const uint8_t *out = dist_hs_output(hs, &n);
    if (n) {
      if (write_all(fd, out, n)) break;
      dist_hs_consumed(hs, n);
    }
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    size_t used;
    dist_hs_result res = dist_hs_feed(hs, buf, (size_t)r, &used);
    if (res == DIST_HS_DONE) {
      out = dist_hs_output(hs, &n);
      if (n) write_all(fd, out, n);
      rc = 0;
      break;
    }
    if (res == DIST_HS_FAILED) {
      fprintf(stderr, "hostile_peer: handshake failed: %s\n", dist_hs_error(hs));
      break;
    }
  }
  dist_hs_free(hs);
  return rc;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static size_t put_atom(uint8_t *p, const char *a) {
  size_t n = strlen(a);
  p[0] = 119, p[1] = (uint8_t)n; /* SMALL_ATOM_UTF8_EXT */
  memcpy(p + 2, a, n);
  return 2 + n;
}

static size_t put_pid(uint8_t *p) { /* <hostile@127.0.0.1.1.0>, creation 7 */
  size_t n = 0;
  p[n++] = 88; /* NEW_PID_EXT */
  n += put_atom(p + n, "hostile@127.0.0.1");
  put32(p + n, 1), put32(p + n + 4, 0), put32(p + n + 8, 7);
  return n + 12;
}

/* One frame: {6, Pid, '', net_kernel} and {'$gen_call', {Pid, I},
 * {is_auth, Peer}}, which net_kernel answers on this connection. */
static size_t is_auth_frame(uint8_t *m, const char *peer, uint8_t i) {
  size_t n = 4;
  m[n++] = 112;
  m[n++] = 131, m[n++] = 104, m[n++] = 4, m[n++] = 97, m[n++] = 6;
  n += put_pid(m + n);
  n += put_atom(m + n, "");
  n += put_atom(m + n, "net_kernel");
  m[n++] = 131, m[n++] = 104, m[n++] = 3;
  n += put_atom(m + n, "$gen_call");
  m[n++] = 104, m[n++] = 2;
  n += put_pid(m + n);
  m[n++] = 97, m[n++] = i;
  m[n++] = 104, m[n++] = 2;
  n += put_atom(m + n, "is_auth");
  n += put_atom(m + n, peer);
  put32(m, (uint32_t)(n - 4));
  return n;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: hostile_peer HOST PORT PEER_NODE COOKIE ATTACK\n");
    return 2;
  }
  const char *attack = argv[5];
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) || handshake(fd, argv[3], argv[4])) {
    fprintf(stderr, "hostile_peer: could not connect and shake hands\n");
    return 2;
  }
  uint8_t m[64];
  size_t n = 0;
  if (!strcmp(attack, "none")) { /* just prove the node still serves */
    close(fd);
    puts("none: handshake ok");
    return 0;
  }
  if (!strcmp(attack, "hangup")) {
    uint8_t frames[20 * 200];
    size_t len = 0;
    for (uint8_t i = 0; i < 20; i++) len += is_auth_frame(frames + len, argv[3], i);
    int rc = write_all(fd, frames, len);
    close(fd);
    puts("hangup: asked and gone");
    return rc ? 1 : 0;
  }
  if (!strcmp(attack, "garbage")) {
    put32(m, 8);
    memcpy(m + 4, "\x01\x02\x03\xff\xfe\xfd\x00\x07", 8);
    n = 12;
  } else if (!strcmp(attack, "giant")) {
    put32(m, 0xFFFFFFF0u);
    memset(m + 4, 'x', 16);
    n = 20;
  } else if (!strcmp(attack, "half")) {
    put32(m, 100);
    m[4] = 112;
    n = 5;
  } else if (!strcmp(attack, "badterm")) {
    const uint8_t t[] = {112, 131, 104, 2, 97, 2, 250, 250};
    put32(m, sizeof t);
    memcpy(m + 4, t, sizeof t);
    n = 4 + sizeof t;
  } else if (!strcmp(attack, "unknown_op")) {
    const uint8_t t[] = {112, 131, 104, 2, 97, 99, 100, 0, 1, 'x'};
    put32(m, sizeof t);
    memcpy(m + 4, t, sizeof t);
    n = 4 + sizeof t;
  } else if (!strcmp(attack, "bad_tuple")) { /* SEND with arity 1 */
    const uint8_t t[] = {112, 131, 104, 1, 97, 2};
    put32(m, sizeof t);
    memcpy(m + 4, t, sizeof t);
    n = 4 + sizeof t;
  } else {
    fprintf(stderr, "hostile_peer: unknown attack %s\n", attack);
    return 2;
  }
  if (write_all(fd, m, n)) return 1;
  if (!strcmp(attack, "half")) shutdown(fd, SHUT_WR); /* never finish it */
  int closed = closed_within(fd, 5000);
  close(fd);
  printf("%s: %s\n", attack, closed ? "closed by node" : "still open");
  return closed ? 0 : 1;
}
