/* hs_probe: drives the handshake and frame state machines over a real
 * blocking socket, against a real BEAM node (tests/interop/
 * test_handshake.sh).
 *
 *   hs_probe connect HOST PORT THIS_NAME PEER_NAME COOKIE SECONDS
 *   hs_probe accept THIS_NAME COOKIE SECONDS
 *
 * "accept" listens on an ephemeral port and registers THIS_NAME's alive
 * part with the local epmd (ALIVE2_REQ, socket kept open), then takes one
 * connection. After the handshake both modes read frames for SECONDS,
 * answer ticks and print one line per event:
 *   HANDSHAKE OK peer=... flags=0x... creation=...
 *   HANDSHAKE FAILED reason...
 *   FRAME n len=... head=<hex>      (first frames and every fragment)
 *   TICK n
 *   MSG n len=... versioned=0|1 frames=k
 * Exit 0 when the handshake completed, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "distribution/dist_flags.h"
#include "distribution/frame.h"
#include "distribution/handshake.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads what is there, waiting at most until deadline. 0 = EOF, -1 =
 * error, -2 = deadline passed. */
static ssize_t read_some(int fd, uint8_t *buf, size_t cap, double deadline) {
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) return -2;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)(left * 1000) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return -1;
    if (rc == 0) continue;
    ssize_t n = read(fd, buf, cap);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

static int connect_tcp(const char *host, const char *port) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai) != 0) return -1;
  int fd = socket(ai->ai_family, ai->ai_socktype, 0);
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static int flush_hs(dist_hs *hs, int fd) {
  size_t n;
  const uint8_t *out = dist_hs_output(hs, &n);
  if (n == 0) return 0;
  if (write_all(fd, out, n) != 0) return -1;
  dist_hs_consumed(hs, n);
  return 0;
}

static void hexhead(const uint8_t *p, size_t n, char *out, size_t cap) {
  size_t k = 0;
  out[0] = 0;
  for (size_t i = 0; i < n && i < 24 && k + 4 < cap; i++)
    k += (size_t)snprintf(out + k, cap - k, "%u,", p[i]);
}

static size_t put_atom(uint8_t *p, const char *a) {
  size_t n = strlen(a);
  p[0] = 119; /* SMALL_ATOM_UTF8_EXT */
  p[1] = (uint8_t)n;
  memcpy(p + 2, a, n);
  return 2 + n;
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* HS_PROBE_SEND=Name: sends {probe, Tag, Binary} to the registered process
 * Name on the peer as REG_SEND {6, FromPid, '', Name}, once small (plain
 * 112 frame) and once with a 150000-byte binary (fragmented if FRAGMENTS
 * was negotiated), using hand-made ETF (the term codec is not ours). */
static void send_probes(int fd, const char *to, const char *self,
                        uint32_t creation, bool fragments) {
  static uint8_t ctl[600], msg[150100];
  size_t c = 0;
  ctl[c++] = 131, ctl[c++] = 104, ctl[c++] = 4, ctl[c++] = 97, ctl[c++] = 6;
  ctl[c++] = 88; /* NEW_PID_EXT */
  c += put_atom(ctl + c, self);
  put_u32(ctl + c, 1), c += 4;
  put_u32(ctl + c, 0), c += 4;
  put_u32(ctl + c, creation), c += 4;
  c += put_atom(ctl + c, "");
  c += put_atom(ctl + c, to);
  const char *only = getenv("HS_PROBE_ONLY"); /* "plain" or "big" */
  for (int round = 0; round < 2; round++) {
    if (only && strcmp(only, round == 0 ? "plain" : "big") != 0) continue;
    size_t binlen = round == 0 ? 10 : 150000, m = 0;
    msg[m++] = 131, msg[m++] = 104, msg[m++] = 3;
    m += put_atom(msg + m, "probe");
    m += put_atom(msg + m, round == 0 ? "plain" : "big");
    msg[m++] = 109;
    put_u32(msg + m, (uint32_t)binlen), m += 4;
    memset(msg + m, 'x', binlen), m += binlen;
    dist_msg_writer w;
    if (dist_msg_writer_init(&w, fragments, 42 + (uint64_t)round, ctl, c, msg,
                             m, DIST_FRAGMENT_SIZE) != 0)
      return;
    printf("SEND %s frames=%llu\n", round == 0 ? "plain" : "big",
           (unsigned long long)dist_msg_writer_frames(&w));
    dist_iov iov[3];
    int n;
    while ((n = dist_msg_writer_next(&w, iov)) > 0)
      for (int i = 0; i < n; i++)
        if (write_all(fd, iov[i].base, iov[i].len) != 0) return;
  }
}

/* After the handshake: frames until the deadline. `rest` holds bytes
 * read together with the last handshake message. */
static void frame_loop(int fd, const uint8_t *rest, size_t rest_len,
                       double deadline) {
  dist_frame_reader rd;
  dist_defrag df;
  dist_frame_reader_init(&rd, 64u << 20);
  dist_defrag_init(&df, 16, 64u << 20);
  static uint8_t buf[1 << 16];
  size_t len = rest_len, frames = 0, ticks = 0, msgs = 0, parts = 0;
  memcpy(buf, rest, rest_len);
  for (;;) {
    size_t pos = 0;
    while (pos < len) {
      size_t used;
      const uint8_t *f;
      size_t flen;
      int rc = dist_frame_next(&rd, buf + pos, len - pos, &used, &f, &flen);
      pos += used;
      if (rc < 0) {
        printf("FRAME ERROR %d\n", rc);
        goto out;
      }
      if (rc == 0) break;
      frames++;
      if (flen == 0) {
        printf("TICK %zu\n", ++ticks);
        if (write_all(fd, dist_frame_tick, 4) != 0) goto out;
        continue;
      }
      char head[128];
      hexhead(f, flen, head, sizeof head);
      bool frag = flen >= 2 && f[0] == 131 && (f[1] == 69 || f[1] == 70);
      if (frames <= 12 || frag)
        printf("FRAME %zu len=%zu head=%s\n", frames, flen, head);
      parts++;
      dist_msg m;
      rc = dist_defrag_frame(&df, f, flen, 0, &m);
      if (rc < 0) {
        printf("DEFRAG ERROR %d\n", rc);
        goto out;
      }
      if (rc == 1) {
        printf("MSG %zu len=%zu versioned=%d frames=%zu\n", ++msgs, m.len,
               m.versioned, parts);
        parts = 0;
      }
    }
    fflush(stdout);
    ssize_t n = read_some(fd, buf, sizeof buf, deadline);
    if (n == -2) break;
    if (n <= 0) {
      printf("CLOSED\n");
      break;
    }
    len = (size_t)n;
  }
out:
  printf("END frames=%zu ticks=%zu msgs=%zu\n", frames, ticks, msgs);
  dist_frame_reader_free(&rd);
  dist_defrag_free(&df);
}

static const char *self_name;
static uint32_t self_creation;

static int run_handshake(int fd, dist_hs *hs, double deadline,
                         double frames_deadline) {
  static uint8_t buf[4096];
  if (flush_hs(hs, fd) != 0) return 1;
  for (;;) {
    ssize_t n = read_some(fd, buf, sizeof buf, deadline);
    dist_hs_result r;
    size_t used = 0;
    if (n == -2) {
      printf("HANDSHAKE FAILED timeout\n");
      return 1;
    }
    if (n <= 0)
      r = dist_hs_closed(hs);
    else
      r = dist_hs_feed(hs, buf, (size_t)n, &used);
    flush_hs(hs, fd);
    if (r == DIST_HS_FAILED) {
      printf("HANDSHAKE FAILED %s\n", dist_hs_error(hs));
      return 1;
    }
    if (r == DIST_HS_DONE) {
      const dist_hs_peer *p = dist_hs_peer_info(hs);
      printf("HANDSHAKE OK peer=%s flags=0x%llx peer_flags=0x%llx "
             "creation=%u\n",
             p->name, (unsigned long long)dist_hs_flags(hs),
             (unsigned long long)p->flags, (unsigned)p->creation);
      fflush(stdout);
      const char *to = getenv("HS_PROBE_SEND");
      if (to)
        send_probes(fd, to, self_name,
                    self_creation, dist_hs_flags(hs) & DFLAG_FRAGMENTS);
      frame_loop(fd, buf + used, (size_t)n - used, frames_deadline);
      return 0;
    }
  }
}

static dist_hs_config base_config(const char *name, const char *cookie,
                                  bool initiator) {
  dist_hs_config c = {0};
  c.this_name = name;
  c.cookie = cookie;
  c.flags = NODUS_DFLAGS_DEFAULT;
  /* For experiments: HS_PROBE_CLEAR_FLAGS=0x800000 offers no FRAGMENTS. */
  const char *clear = getenv("HS_PROBE_CLEAR_FLAGS");
  if (clear) c.flags &= ~strtoull(clear, NULL, 0);
  c.required_flags = DFLAG_MANDATORY_25;
  c.creation = (uint32_t)time(NULL) | 4u;
  c.initiator = initiator;
  self_name = name;
  self_creation = c.creation;
  return c;
}

static int cmd_connect(char **argv) {
  const char *host = argv[0], *port = argv[1], *name = argv[2];
  const char *peer = argv[3], *cookie = argv[4];
  double secs = atof(argv[5]);
  int fd = connect_tcp(host, port);
  if (fd < 0) {
    printf("CONNECT FAILED %s:%s\n", host, port);
    return 1;
  }
  dist_hs_config c = base_config(name, cookie, true);
  c.peer_name = peer;
  dist_hs *hs;
  if (dist_hs_new(&hs, &c) != 0 || dist_hs_start(hs) != 0) return 1;
  int rc = run_handshake(fd, hs, now_s() + 10, now_s() + secs);
  dist_hs_free(hs);
  close(fd);
  return rc;
}

/* ALIVE2_REQ for `alive` on `port`; returns the epmd socket (kept open:
 * closing it unregisters us) or -1. */
static int epmd_register(const char *alive, unsigned port) {
  int fd = connect_tcp("127.0.0.1", "4369");
  if (fd < 0) return -1;
  size_t nlen = strlen(alive);
  uint8_t req[512];
  size_t k = 2;
  req[k++] = 120;
  req[k++] = (uint8_t)(port >> 8);
  req[k++] = (uint8_t)port;
  req[k++] = 77; /* normal node */
  req[k++] = 0;  /* TCP/IPv4 */
  req[k++] = 0, req[k++] = 6; /* highest version */
  req[k++] = 0, req[k++] = 6; /* lowest version */
  req[k++] = (uint8_t)(nlen >> 8);
  req[k++] = (uint8_t)nlen;
  memcpy(req + k, alive, nlen);
  k += nlen;
  req[k++] = 0, req[k++] = 0; /* no extra */
  req[0] = (uint8_t)((k - 2) >> 8);
  req[1] = (uint8_t)(k - 2);
  uint8_t resp[16];
  size_t have = 0;
  if (write_all(fd, req, k) != 0) goto bad;
  while (have < 2) {
    ssize_t n = read_some(fd, resp + have, sizeof resp - have, now_s() + 5);
    if (n <= 0) goto bad;
    have += (size_t)n;
  }
  if ((resp[0] != 118 && resp[0] != 121) || resp[1] != 0) goto bad;
  return fd;
bad:
  close(fd);
  return -1;
}

static int cmd_accept(char **argv) {
  const char *name = argv[0], *cookie = argv[1];
  double secs = atof(argv[2]);
  char alive[256];
  snprintf(alive, sizeof alive, "%s", name);
  char *at = strchr(alive, '@');
  if (at) *at = 0;

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t sl = sizeof sa;
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 4) != 0 ||
      getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
    printf("LISTEN FAILED\n");
    return 1;
  }
  unsigned port = ntohs(sa.sin_port);
  int ep = epmd_register(alive, port);
  if (ep < 0) {
    printf("EPMD REGISTER FAILED\n");
    return 1;
  }
  printf("LISTENING %s port=%u\n", name, port);
  fflush(stdout);

  struct pollfd p = {.fd = ls, .events = POLLIN};
  if (poll(&p, 1, (int)(secs * 1000)) != 1) {
    printf("ACCEPT TIMEOUT\n");
    return 1;
  }
  int fd = accept(ls, NULL, NULL);
  if (fd < 0) return 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  dist_hs_config c = base_config(name, cookie, false);
  dist_hs *hs;
  if (dist_hs_new(&hs, &c) != 0) return 1;
  int rc = run_handshake(fd, hs, now_s() + 10, now_s() + secs);
  dist_hs_free(hs);
  close(fd);
  close(ls);
  close(ep);
  return rc;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 8 && strcmp(argv[1], "connect") == 0) return cmd_connect(argv + 2);
  if (argc == 5 && strcmp(argv[1], "accept") == 0) return cmd_accept(argv + 2);
  fprintf(stderr,
          "usage: hs_probe connect HOST PORT THIS_NAME PEER_NAME COOKIE SECS\n"
          "       hs_probe accept THIS_NAME COOKIE SECS\n");
  return 2;
}
