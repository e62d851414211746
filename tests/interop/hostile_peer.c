/* A hostile distribution peer: it completes a real handshake with a node,
 * then sends one kind of bad input and reports whether the node closed the
 * connection (exit 0) or not (exit 1).
 *
 * usage: hostile_peer HOST PORT PEER_NODE COOKIE ATTACK
 * ATTACK: none | garbage | giant | half | badterm | unknown_op | bad_tuple
 *         | hangup (asks for 20 replies and closes at once: the node's
 *         writes after the first meet a closed socket, EPIPE; exit 0)
 *         | oversize | fragflood | fragstall | fragbig: a message over one
 *         of the node's limits, which it drops alone: exit 0 when the
 *         connection stayed and net_kernel gave exactly the answers that
 *         should come (the limits test_limits.sh gives its node) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
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

/* {6, Pid, '', net_kernel} and {'$gen_call', {Pid, I}, {is_auth, Peer}},
 * which net_kernel answers on this connection: each term with its 131
 * (versioned, after 112) or without (after a 131,68/69 header). */
static size_t is_auth_terms(uint8_t *m, const char *peer, uint8_t i,
                            bool versioned) {
  size_t n = 0;
  if (versioned) m[n++] = 131;
  m[n++] = 104, m[n++] = 4, m[n++] = 97, m[n++] = 6;
  n += put_pid(m + n);
  n += put_atom(m + n, "");
  n += put_atom(m + n, "net_kernel");
  if (versioned) m[n++] = 131;
  m[n++] = 104, m[n++] = 3;
  n += put_atom(m + n, "$gen_call");
  m[n++] = 104, m[n++] = 2;
  n += put_pid(m + n);
  m[n++] = 97, m[n++] = i;
  m[n++] = 104, m[n++] = 2;
  n += put_atom(m + n, "is_auth");
  n += put_atom(m + n, peer);
  return n;
}

/* One pass-through frame asking net_kernel is_auth. */
static size_t is_auth_frame(uint8_t *m, const char *peer, uint8_t i) {
  m[4] = 112;
  size_t n = 5 + is_auth_terms(m + 5, peer, i, true);
  put32(m, (uint32_t)(n - 4));
  return n;
}

static void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}

/* A fragment frame of sequence seq: the first (131,69, with the atom
 * cache count) or a later one (131,70), carrying n bytes of data. */
static size_t frag_frame(uint8_t *m, bool first, uint64_t seq, uint64_t id,
                         const uint8_t *data, size_t n) {
  size_t k = 4;
  m[k++] = 131, m[k++] = first ? 69 : 70;
  put64(m + k, seq), k += 8;
  put64(m + k, id), k += 8;
  if (first) m[k++] = 0;
  memcpy(m + k, data, n), k += n;
  put32(m, (uint32_t)(k - 4));
  return k;
}

/* An is_auth question in two fragments of sequence seq. */
static size_t is_auth_in_two(uint8_t *m, const char *peer, uint8_t i,
                             uint64_t seq, bool first_half,
                             bool second_half) {
  uint8_t t[256];
  size_t n = is_auth_terms(t, peer, i, false), half = n / 2, k = 0;
  if (first_half) k += frag_frame(m + k, true, seq, 2, t, half);
  if (second_half) k += frag_frame(m + k, false, seq, 1, t + half, n - half);
  return k;
}

/* Whether a frame holds the atom yes (net_kernel's answer {Tag, yes});
 * what else the node sends a new visible node (pg, global) does not. */
static bool says_yes(const uint8_t *f, size_t n) {
  for (size_t i = 0; i + 4 <= n; i++)
    if (f[i] == 3 && f[i + 1] == 'y' && f[i + 2] == 'e' && f[i + 3] == 's')
      return true;
  return false;
}

/* Answers from net_kernel within ms (ticks answered, other frames let
 * by); stops at want, then waits a little more to see any that should
 * not come. */
static int count_replies(int fd, int want, int ms) {
  uint8_t buf[65536];
  size_t have = 0;
  int got = 0;
  for (int waited = 0; waited < ms; waited += 50) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t r = read(fd, buf + have, sizeof buf - have);
    if (r <= 0) return -1; /* closed: not what a kept connection does */
    have += (size_t)r;
    size_t off = 0;
    while (have - off >= 4) {
      size_t len = (size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 |
                   (size_t)buf[off + 2] << 8 | buf[off + 3];
      if (have - off - 4 < len) break;
      if (len) got += says_yes(buf + off + 4, len);
      else if (write_all(fd, buf + off, 4)) return -1; /* a tick back */
      off += 4 + len;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
    if (got >= want && waited + 300 < ms) ms = waited + 300;
  }
  return got;
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
  /* Over a limit the node drops that message alone: the connection stays
   * and net_kernel still answers (exit 0 when exactly the answers that
   * should come came; the node's limits are test_limits.sh's). */
  if (!strcmp(attack, "oversize")) { /* a frame over max_message */
    static uint8_t big[4 + 200000];
    put32(big, 200000);
    memset(big + 4, 'x', 200000);
    big[4] = 112;
    uint8_t q[200];
    size_t qn = is_auth_frame(q, argv[3], 1);
    int got = write_all(fd, big, sizeof big) || write_all(fd, q, qn)
                  ? -1 : count_replies(fd, 1, 5000);
    printf("oversize: %d answer(s)\n", got);
    return got == 1 ? 0 : 1;
  }
  if (!strcmp(attack, "fragflood")) { /* 6 at once, 4 allowed */
    uint8_t f[8 * 300];
    size_t k = 0;
    for (uint8_t i = 1; i <= 6; i++)
      k += is_auth_in_two(f + k, argv[3], i, i, true, false);
    for (uint8_t i = 1; i <= 6; i++)
      k += is_auth_in_two(f + k, argv[3], i, i, false, true);
    k += is_auth_frame(f + k, argv[3], 7);
    int got = write_all(fd, f, k) ? -1 : count_replies(fd, 5, 5000);
    printf("fragflood: %d answer(s)\n", got);
    return got == 5 ? 0 : 1;
  }
  if (!strcmp(attack, "fragstall")) { /* waits past fragment_timeout_ms */
    uint8_t f[600];
    size_t k = is_auth_in_two(f, argv[3], 1, 9, true, false);
    if (write_all(fd, f, k)) return 1;
    int waited = count_replies(fd, 1, 1500); /* ticks answered meanwhile */
    k = is_auth_in_two(f, argv[3], 1, 9, false, true); /* thrown away */
    k += is_auth_frame(f + k, argv[3], 2);
    int got = write_all(fd, f, k) ? -1 : count_replies(fd, 1, 5000);
    printf("fragstall: %d answer(s) (%d while stalled)\n", got, waited);
    return got == 1 && waited == 0 ? 0 : 1;
  }
  if (!strcmp(attack, "fragbig")) { /* fragments past max_message */
    static uint8_t chunk[60000], f[4 + 23 + 60000];
    memset(chunk, 'y', sizeof chunk);
    for (uint64_t id = 3; id >= 1; id--) { /* 180,000 bytes in all */
      size_t k = frag_frame(f, id == 3, 11, id, chunk, sizeof chunk);
      if (write_all(fd, f, k)) return 1;
    }
    uint8_t q[200];
    size_t qn = is_auth_frame(q, argv[3], 3);
    int got = write_all(fd, q, qn) ? -1 : count_replies(fd, 1, 5000);
    printf("fragbig: %d answer(s)\n", got);
    return got == 1 ? 0 : 1;
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
