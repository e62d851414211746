/* nodus_kit_delay: holds every packet of an NFQUEUE queue for a fixed
 * delay, then accepts it. The test kit's stand-in for netem, which this
 * kernel lacks. Runs in the namespace whose packets it delays:
 *
 *   nodus_kit_delay --queue 0 --ms 100 [--max-seconds 3600]
 *
 * Packets leave in arrival order (the delay is constant), so a FIFO is
 * the whole scheduler. It prints "ready" once bound to the queue, and
 * exits by itself after --max-seconds so a lost helper cannot linger. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING 65536

static struct {
  uint32_t id;
  int64_t due;
} ring[RING];
static size_t head, tail; /* tail - head packets held */
static int64_t delay_ns;
static struct nfq_q_handle *qh;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg,
                     struct nfq_data *nfa, void *arg) {
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (tail - head == RING) /* full: let it through rather than drop */
    return nfq_set_verdict(q, id, NF_ACCEPT, 0, NULL);
  ring[tail % RING].id = id;
  ring[tail % RING].due = now_ns() + delay_ns;
  tail++;
  return 0;
}

int main(int argc, char **argv) {
  int queue = 0, ms = 100, max_s = 3600;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--queue")) queue = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--ms")) ms = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--max-seconds")) max_s = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: nodus_kit_delay --queue N --ms MS "
                      "[--max-seconds S]\n");
      return 2;
    }
  }
  delay_ns = (int64_t)ms * 1000000;
  struct nfq_handle *h = nfq_open();
  if (!h) {
    perror("nodus_kit_delay: nfq_open");
    return 1;
  }
  nfq_unbind_pf(h, AF_INET);
  if (nfq_bind_pf(h, AF_INET) < 0 ||
      !(qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL)) ||
      nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
    perror("nodus_kit_delay: queue");
    return 1;
  }
  nfq_set_queue_maxlen(qh, RING);
  int fd = nfq_fd(h);
  printf("ready queue=%d ms=%d\n", queue, ms);
  fflush(stdout);
  int64_t stop = now_ns() + (int64_t)max_s * 1000000000;
  char buf[65536] __attribute__((aligned));
  while (now_ns() < stop) {
    int64_t now = now_ns();
    while (head != tail && ring[head % RING].due <= now) {
      nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
      head++;
    }
    int wait_ms = 1000;
    if (head != tail) {
      int64_t left = ring[head % RING].due - now;
      wait_ms = (int)(left / 1000000) + (left % 1000000 ? 1 : 0);
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) > 0) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) nfq_handle_packet(h, buf, (int)n);
      else if (n < 0 && errno == ENOBUFS)
        fprintf(stderr, "nodus_kit_delay: queue overflow, packets lost\n");
    }
  }
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
