/* bench_node: the C side of the distribution benchmarks.
 *
 * A node with four registered processes that bench/bench_dist.erl drives
 * (the same four exist in Erlang there, with the same protocol):
 *
 *   sink    {start, From, N, AckTo, AckEvery} arms it and answers
 *           From ! {armed, self()}; then it counts every message, sends
 *           AckTo ! {ack, Count} every AckEvery messages and
 *           From ! {done, N} at the Nth.
 *   sender  {send, To, N, Kind, Window}: sends N messages of Kind (seq:
 *           {seq, I}; bin100 / bin4k: one 100 B / 4 KiB binary) to To,
 *           never more than Window ahead of the last {ack, Count}. It
 *           yields to the loop every 1000 sends (a {continue} to itself)
 *           so the output batches are written while it works.
 *   echo    {From, Msg} -> From ! {echo, Msg}
 *   pinger  {rt, To, N, From}: N sequential round trips {self(), I} ->
 *           {echo, I} with the echo To, timed with clock_gettime; answers
 *           From ! {rt_result, MedianNs, P99Ns}.
 *
 * Every process also answers {hello, From} with From ! {hello, self()}, so
 * the controller can learn pids,
 *
 * and {os_pid, From} with From ! {os_pid, getpid()} (CPU accounting).
 *
 *   bench_node --name NAME [--cookie C] [--epmd-port P] [--spin-us US]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nodus.h>

#define CHUNK 1000 /* sends between yields to the loop */

static nodus_atom a_seq, a_start, a_ack, a_done, a_armed, a_continue, a_send,
    a_echo, a_rt, a_rt_result, a_hello, a_os_pid, a_bin100, a_bin4k;

static nodus_atom atom(const char *s) {
  nodus_atom a;
  if (nodus_atom_intern(s, strlen(s), &a)) abort(); /* startup only */
  return a;
}

static bool is_tag(const nodus_term *msg, size_t arity, nodus_atom tag) {
  return msg->type == NODUS_T_TUPLE && msg->n == arity &&
         msg->v.items[0].type == NODUS_T_ATOM && msg->v.items[0].v.atom == tag;
}

static nodus_term pair(nodus_term a, nodus_term b) {
  nodus_term t;
  if (nodus_mk_tuple(&t, 2)) {
    nodus_term_free(&a);
    nodus_term_free(&b);
    return (nodus_term){0};
  }
  nodus_tuple_set(&t, 0, a);
  nodus_tuple_set(&t, 1, b);
  return t;
}

static nodus_term copy_of(const nodus_term *t) {
  nodus_term c;
  return nodus_copy(&c, t) ? (nodus_term){0} : c;
}

/* {hello, From} -> From ! {hello, self()}, {os_pid, From} -> From !
 * {os_pid, getpid()}; true when msg was one of them. */
static bool hello(nodus_proc *self, const nodus_term *msg) {
  if (is_tag(msg, 2, a_hello)) {
    nodus_send_from(self, &msg->v.items[1],
                    pair(nodus_atom_term(a_hello), copy_of(nodus_self(self))));
    return true;
  }
  if (is_tag(msg, 2, a_os_pid)) {
    nodus_send_from(self, &msg->v.items[1],
                    pair(nodus_atom_term(a_os_pid), nodus_int(getpid())));
    return true;
  }
  return false;
}

/* ---- sink -------------------------------------------------------------- */

typedef struct sink {
  nodus_term from, ack_to;
  int64_t want, got, ack_every;
} sink;

static void sink_msg(nodus_proc *self, const nodus_term *msg) {
  sink *s = nodus_proc_state(self);
  if (s->want > 0 && !is_tag(msg, 5, a_start)) {
    s->got++;
    if (s->ack_every > 0 && s->got % s->ack_every == 0)
      nodus_send_from(self, &s->ack_to,
                      pair(nodus_atom_term(a_ack), nodus_int(s->got)));
    if (s->got == s->want) {
      nodus_send_from(self, &s->from,
                      pair(nodus_atom_term(a_done), nodus_int(s->got)));
      s->want = 0;
    }
    return;
  }
  if (hello(self, msg)) return;
  const nodus_term *from, *ack_to;
  int64_t n, every;
  if (nodus_match(msg, "{start, ~t, ~i, ~t, ~i}", &from, &n, &ack_to,
                  &every) == 0 && n > 0) {
    nodus_term_free(&s->from);
    nodus_term_free(&s->ack_to);
    s->from = copy_of(from);
    s->ack_to = copy_of(ack_to);
    s->want = n;
    s->got = 0;
    s->ack_every = every;
    nodus_send_from(self, from,
                    pair(nodus_atom_term(a_armed), copy_of(nodus_self(self))));
  }
}

/* ---- sender ------------------------------------------------------------ */

typedef struct sender {
  nodus_term to, bin;
  nodus_atom kind;
  int64_t n, sent, acked, window;
  bool continue_pending;
} sender;

static void sender_pump(nodus_proc *self, sender *s) {
  for (int i = 0; i < CHUNK && s->sent < s->n && s->sent - s->acked < s->window;
       i++) {
    nodus_term m = s->kind == a_seq
                       ? pair(nodus_atom_term(a_seq), nodus_int(s->sent))
                       : copy_of(&s->bin); /* refcounted, as BEAM's refc */
    nodus_send_from(self, &s->to, m);
    s->sent++;
  }
  if (s->sent < s->n && s->sent - s->acked < s->window &&
      !s->continue_pending) {
    s->continue_pending = true;
    nodus_send_from(self, nodus_self(self), nodus_atom_term(a_continue));
  }
}

static void sender_msg(nodus_proc *self, const nodus_term *msg) {
  sender *s = nodus_proc_state(self);
  if (msg->type == NODUS_T_ATOM && msg->v.atom == a_continue) {
    s->continue_pending = false;
    sender_pump(self, s);
    return;
  }
  if (is_tag(msg, 2, a_ack) && msg->v.items[1].type == NODUS_T_INT) {
    if (msg->v.items[1].v.i > s->acked) s->acked = msg->v.items[1].v.i;
    if (!s->continue_pending) sender_pump(self, s);
    return;
  }
  if (hello(self, msg)) return;
  const nodus_term *to;
  int64_t n, window;
  nodus_atom kind;
  if (nodus_match(msg, "{send, ~t, ~i, ~a, ~i}", &to, &n, &kind, &window) ||
      (kind != a_seq && kind != a_bin100 && kind != a_bin4k))
    return;
  nodus_term_free(&s->to);
  nodus_term_free(&s->bin);
  s->to = copy_of(to);
  s->kind = kind;
  s->n = n;
  s->sent = s->acked = 0;
  s->window = window > 0 ? window : INT64_MAX;
  if (kind != a_seq) {
    size_t len = kind == a_bin100 ? 100 : 4096;
    uint8_t *data = malloc(len);
    if (!data) return;
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)i;
    nodus_mk_binary(&s->bin, data, len);
    free(data);
  }
  sender_pump(self, s);
}

/* ---- echo -------------------------------------------------------------- */

static void echo_msg(nodus_proc *self, const nodus_term *msg) {
  if (hello(self, msg)) return;
  if (msg->type != NODUS_T_TUPLE || msg->n != 2 ||
      msg->v.items[0].type != NODUS_T_PID)
    return;
  nodus_send_from(self, &msg->v.items[0],
                  pair(nodus_atom_term(a_echo), copy_of(&msg->v.items[1])));
}

/* ---- pinger ------------------------------------------------------------ */

typedef struct pinger {
  nodus_term to, from;
  int64_t n, i;
  uint64_t t0;
  uint64_t *samples;
} pinger;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void pinger_next(nodus_proc *self, pinger *p) {
  p->t0 = now_ns();
  nodus_send_from(self, &p->to,
                  pair(copy_of(nodus_self(self)), nodus_int(p->i)));
}

static void pinger_msg(nodus_proc *self, const nodus_term *msg) {
  pinger *p = nodus_proc_state(self);
  if (is_tag(msg, 2, a_echo)) {
    uint64_t t = now_ns();
    if (!p->samples || msg->v.items[1].type != NODUS_T_INT ||
        msg->v.items[1].v.i != p->i)
      return;
    p->samples[p->i++] = t - p->t0;
    if (p->i < p->n) {
      pinger_next(self, p);
      return;
    }
    qsort(p->samples, (size_t)p->n, sizeof *p->samples, cmp_u64);
    nodus_term r;
    if (nodus_build(&r, "{~A, ~i, ~i}", a_rt_result,
                    (int64_t)p->samples[p->n / 2],
                    (int64_t)p->samples[(p->n * 99) / 100]) == 0)
      nodus_send_from(self, &p->from, r);
    free(p->samples);
    p->samples = NULL;
    return;
  }
  if (hello(self, msg)) return;
  const nodus_term *to, *from;
  int64_t n;
  if (nodus_match(msg, "{rt, ~t, ~i, ~t}", &to, &n, &from) || n <= 0) return;
  free(p->samples);
  p->samples = calloc((size_t)n, sizeof *p->samples);
  if (!p->samples) return;
  nodus_term_free(&p->to);
  nodus_term_free(&p->from);
  p->to = copy_of(to);
  p->from = copy_of(from);
  p->n = n;
  p->i = 0;
  pinger_next(self, p);
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--name") && v) opts.name = v, i++;
    else if (!strcmp(a, "--cookie") && v) opts.cookie = v, i++;
    else if (!strcmp(a, "--epmd-port") && v) opts.epmd_port = atoi(v), i++;
    else if (!strcmp(a, "--spin-us") && v) opts.spin_us = atoi(v), i++;
    else {
      fprintf(stderr, "usage: bench_node --name NAME [--cookie C] "
                      "[--epmd-port P] [--spin-us US]\n");
      return 2;
    }
  }
  if (!opts.name) {
    fprintf(stderr, "bench_node: --name is required\n");
    return 2;
  }
  a_seq = atom("seq"), a_start = atom("start"), a_ack = atom("ack");
  a_done = atom("done"), a_armed = atom("armed"), a_continue = atom("continue");
  a_send = atom("send"), a_echo = atom("echo"), a_rt = atom("rt");
  a_rt_result = atom("rt_result"), a_hello = atom("hello");
  a_os_pid = atom("os_pid");
  a_bin100 = atom("bin100"), a_bin4k = atom("bin4k");

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "bench_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  static sink sk;
  static sender sd;
  static pinger pg;
  const nodus_proc_spec specs[] = {
      {.on_message = sink_msg, .state = &sk, .register_name = "sink"},
      {.on_message = sender_msg, .state = &sd, .register_name = "sender"},
      {.on_message = echo_msg, .register_name = "echo"},
      {.on_message = pinger_msg, .state = &pg, .register_name = "pinger"},
  };
  for (size_t i = 0; i < sizeof specs / sizeof specs[0] && !rc; i++)
    rc = nodus_spawn(node, &specs[i], NULL);
  if (rc || (rc = nodus_node_start(node))) {
    fprintf(stderr, "bench_node: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  printf("bench_node %s ready\n", nodus_atom_text(nodus_node_name(node), NULL));
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  nodus_node_close(node);
  return 0;
}
