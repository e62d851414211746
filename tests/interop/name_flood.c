/* name_flood: floods a node with handshakes that name fresh nodes and
 * never prove the cookie, as an attacker without the cookie would try to
 * fill its atom table (issue 16).
 *
 *   name_flood HOST PORT COUNT PREFIX [PARALLEL]
 *
 * COUNT connections, PARALLEL (default 64) at a time, each: send_name
 * 'N' with the name PREFIX<i>@flood and the flags of an OTP 25 node, then
 * read the node's status and challenge, then either a challenge reply
 * with a wrong digest (even i) or nothing, just close (odd i). Prints
 *   flood sent=N challenged=C refused=R seconds=S rate=X/s
 * where challenged counts the node's challenges (it went on past the
 * name) and refused its status other than ok. Exit 0 when every
 * connection got an answer from the node. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "distribution/dist_flags.h"

#define MAX_PARALLEL 512

typedef enum { FREE, CONNECTING, READING, CLOSING } slot_state;

typedef struct slot {
  int fd;
  slot_state st;
  unsigned long idx;
  uint8_t buf[1024];
  size_t have;
  double since;
} slot;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}

static struct sockaddr_in target;
static const char *prefix;
static unsigned long sent, challenged, refused, lost;

static int start(slot *s, unsigned long idx) {
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s->fd < 0) return -1;
  int one = 1;
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->idx = idx;
  s->have = 0;
  s->since = now_s();
  int rc = connect(s->fd, (struct sockaddr *)&target, sizeof target);
  if (rc && errno != EINPROGRESS) {
    close(s->fd);
    return -1;
  }
  s->st = CONNECTING;
  return 0;
}

static void finish(slot *s) {
  close(s->fd);
  s->fd = -1;
  s->st = FREE;
}

/* send_name v6: 'N', Flags:64, Creation:32, Nlen:16, Name */
static void send_name(slot *s) {
  char name[128];
  int n = snprintf(name, sizeof name, "%s%lu@flood", prefix, s->idx);
  uint8_t m[2 + 15 + 128];
  put16(m, (uint16_t)(15 + n));
  m[2] = 'N';
  put64(m + 3, DFLAG_MANDATORY_25 | DFLAG_PUBLISHED | DFLAG_UNLINK_ID |
                   DFLAG_V4_NC);
  put32(m + 11, 1);
  put16(m + 15, (uint16_t)n);
  memcpy(m + 17, name, (size_t)n);
  if (write(s->fd, m, 17 + (size_t)n) != (ssize_t)(17 + n)) {
    lost++;
    finish(s);
    return;
  }
  sent++;
  s->st = READING;
}

/* Whether buf holds the status and, after "ok", the challenge. */
static void on_bytes(slot *s) {
  size_t off = 0;
  int msgs = 0;
  bool ok = false;
  while (s->have - off >= 2) {
    size_t len = (size_t)s->buf[off] << 8 | s->buf[off + 1];
    if (s->have - off - 2 < len) return; /* wait for the rest */
    const uint8_t *b = s->buf + off + 2;
    msgs++;
    if (msgs == 1) {
      ok = len >= 3 && b[0] == 's' && b[1] == 'o' && b[2] == 'k';
      if (!ok) {
        refused++;
        finish(s);
        return;
      }
    } else if (b[0] == 'N') {
      challenged++;
      if (s->idx % 2 == 0) { /* a reply with a wrong digest */
        uint8_t r[2 + 21] = {0, 21, 'r'};
        if (write(s->fd, r, sizeof r) != (ssize_t)sizeof r) {
          finish(s);
          return;
        }
        s->st = CLOSING; /* the node closes on the bad digest */
        s->have = 0;
        return;
      }
      finish(s);
      return;
    }
    off += 2 + len;
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: name_flood HOST PORT COUNT PREFIX [PARALLEL]\n");
    return 2;
  }
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1) return 2;
  unsigned long count = strtoul(argv[3], NULL, 10), next = 0, done = 0;
  prefix = argv[4];
  int parallel = argc > 5 ? atoi(argv[5]) : 64;
  if (parallel < 1 || parallel > MAX_PARALLEL) parallel = 64;
  static slot slots[MAX_PARALLEL];
  struct pollfd pfd[MAX_PARALLEL];
  for (int i = 0; i < parallel; i++) slots[i].st = FREE, slots[i].fd = -1;
  double t0 = now_s();
  while (done < count) {
    int n = 0;
    for (int i = 0; i < parallel; i++) {
      slot *s = &slots[i];
      if (s->st == FREE && next < count) {
        if (start(s, next) == 0) next++;
        else usleep(1000); /* out of sockets or ports: let some close */
      }
      /* An answer that never comes: count it lost, move on. */
      if (s->st != FREE && now_s() - s->since > 20) {
        lost++;
        finish(s);
        done++;
      }
      pfd[i].fd = s->st == FREE ? -1 : s->fd;
      pfd[i].events = s->st == CONNECTING ? POLLOUT : POLLIN;
      pfd[i].revents = 0;
      if (s->st != FREE) n++;
    }
    if (n == 0) break;
    if (poll(pfd, (nfds_t)parallel, 1000) < 0 && errno != EINTR) return 2;
    for (int i = 0; i < parallel; i++) {
      slot *s = &slots[i];
      if (s->st == FREE || !pfd[i].revents) continue;
      if (s->st == CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
          lost++;
          finish(s);
          done++;
          continue;
        }
        send_name(s);
        if (s->st == FREE) done++;
        continue;
      }
      ssize_t r = read(s->fd, s->buf + s->have, sizeof s->buf - s->have);
      if (r <= 0) { /* the node closed: after the reply, as it should */
        if (s->st == READING) lost++;
        finish(s);
        done++;
        continue;
      }
      s->have += (size_t)r;
      if (s->st == READING) {
        on_bytes(s);
        if (s->st == FREE) done++;
      } else {
        s->have = 0; /* CLOSING: nothing is expected but EOF */
      }
    }
  }
  double secs = now_s() - t0;
  printf("flood sent=%lu challenged=%lu refused=%lu lost=%lu seconds=%.1f "
         "rate=%.0f/s\n",
         sent, challenged, refused, lost, secs, secs > 0 ? sent / secs : 0.0);
  return lost == 0 && sent == count ? 0 : 1;
}
