/* gen_server call rate C -> C (two nodes in this process, on loopback),
 * with 1 and 16 callers (processes, and threads), and the rpc round trip C -> BEAM.
 *
 *   bench_gen_server --epmd-port P --cookie C --seconds S [--beam NODE]
 *
 * Prints lines the run script reads:
 *   c_calls CALLERS CALLS_PER_SEC         (callers are processes, as BEAM's)
 *   c_thread_calls CALLERS CALLS_PER_SEC  (callers are threads: nodus_call)
 *   c_rpc_us MEDIAN_US            (when --beam is given)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nodus.h>

static nodus_node *server_node, *client_node;
static nodus_term server;
static double seconds = 2.0;

static int echo_call(nodus_proc *self, void *st, const nodus_term *req,
                     const nodus_term *from, nodus_term *reply,
                     nodus_term *stop) {
  return nodus_copy(reply, req) ? NODUS_ENOMEM : NODUS_GS_REPLY;
}

static int no_init(nodus_proc *self, const nodus_term *args, void **state) {
  return 0;
}

static const nodus_gen_server_ops echo_ops = {no_init, echo_call, NULL, NULL,
                                              NULL};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct caller {
  pthread_t thread;
  long calls, errors;
  double until;
};

static void *caller_main(void *arg) {
  struct caller *c = arg;
  int64_t i = 0;
  while (now() < c->until) {
    for (int k = 0; k < 32; k++, i++) {
      nodus_term reply;
      int rc = nodus_call(client_node, &server, nodus_int(i), 5000, &reply);
      if (rc == 0 && reply.type == NODUS_T_INT && reply.v.i == i) c->calls++;
      else c->errors++;
      nodus_term_free(&reply);
    }
  }
  return NULL;
}

static double call_rate(int n) {
  struct caller *cs = calloc((size_t)n, sizeof *cs);
  double start = now();
  for (int i = 0; i < n; i++) {
    cs[i].until = start + seconds;
    pthread_create(&cs[i].thread, NULL, caller_main, &cs[i]);
  }
  long calls = 0, errors = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(cs[i].thread, NULL);
    calls += cs[i].calls;
    errors += cs[i].errors;
  }
  double took = now() - start;
  free(cs);
  if (errors) fprintf(stderr, "bench_gen_server: %ld failed calls\n", errors);
  return (double)calls / took;
}

/* Callers as processes on the client node, like BEAM's: each keeps one
 * call in flight with nodus_call_async and starts the next when the
 * reply message arrives. */
static _Atomic long proc_calls, proc_errors;
static _Atomic int proc_stop;

static void call_next(nodus_proc *self) {
  nodus_term ref;
  int64_t *i = nodus_proc_state(self);
  if (nodus_call_async(self, &server, nodus_int((*i)++), 5000, &ref) == 0)
    nodus_term_free(&ref);
  else
    proc_errors++;
}

static void caller_proc(nodus_proc *self, const nodus_term *msg) {
  if (nodus_match(msg, "{nodus_call, _, {ok, _}}") == 0) proc_calls++;
  else if (nodus_match(msg, "{go}") != 0) proc_errors++;
  if (!proc_stop) call_next(self);
  else nodus_exit(self, &(nodus_term){.type = NODUS_T_ATOM, .v.atom = NODUS_ATOM_OK});
}

static double proc_call_rate(int n) {
  int64_t *counters = calloc((size_t)n, sizeof *counters);
  nodus_term go;
  proc_calls = proc_errors = 0;
  proc_stop = 0;
  double start = now();
  for (int i = 0; i < n; i++) {
    nodus_proc_spec spec = {.on_message = caller_proc, .state = &counters[i]};
    nodus_term pid;
    if (nodus_spawn(client_node, &spec, &pid) == 0) {
      nodus_build(&go, "{go}");
      nodus_send(client_node, &pid, go);
      nodus_term_free(&pid);
    }
  }
  struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
  nanosleep(&ts, NULL);
  long calls = proc_calls;
  double took = now() - start;
  proc_stop = 1;
  ts = (struct timespec){0, 200 * 1000000L}; /* let the last calls finish */
  nanosleep(&ts, NULL);
  free(counters);
  if (proc_errors) fprintf(stderr, "bench_gen_server: %ld failed calls\n", (long)proc_errors);
  return (double)calls / took;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double rpc_median_us(const char *beam) {
  nodus_atom peer;
  if (nodus_atom_intern(beam, strlen(beam), &peer)) return -1;
  enum { N = 2000 };
  static double t[N];
  int n = 0;
  double until = now() + seconds;
  for (int i = 0; i < N && now() < until; i++) {
    nodus_term r;
    double t0 = now();
    int rc = nodus_rpc(client_node, peer, "erlang", "node", nodus_nil(), 5000,
                       &r);
    double t1 = now();
    nodus_term_free(&r);
    if (rc) return -1;
    if (i >= 10) t[n++] = (t1 - t0) * 1e6; /* after warm-up */
  }
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n ? t[n / 2] : -1;
}

int main(int argc, char **argv) {
  const char *cookie = "nodusbench", *beam = NULL;
  int epmd_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--cookie")) cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) epmd_port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--beam")) beam = argv[i + 1];
  }
  char host[256] = "localhost", sname[300], cname[300];
  gethostname(host, sizeof host - 1);
  char *dot = strchr(host, '.');
  if (dot) *dot = 0;
  snprintf(sname, sizeof sname, "gsb_server_%d@%s", (int)getpid(), host);
  snprintf(cname, sizeof cname, "gsb_client_%d@%s", (int)getpid(), host);
  nodus_node_opts so = {.name = sname, .cookie = cookie,
                        .epmd_mode = NODUS_EPMD_SYSTEM, .epmd_port = epmd_port};
  nodus_node_opts co = so;
  co.name = cname;
  int rc = nodus_node_init(&so, &server_node);
  if (!rc) rc = nodus_node_init(&co, &client_node);
  if (!rc) rc = nodus_node_start(server_node);
  if (!rc) rc = nodus_node_start(client_node);
  if (!rc) rc = nodus_gen_server_start(server_node, &echo_ops, NULL, "echo", NULL);
  if (!rc) rc = nodus_build(&server, "{echo, ~a}", sname);
  if (rc) {
    fprintf(stderr, "bench_gen_server: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_term warm;
  for (int i = 0; i < 100; i++) {
    if (nodus_call(client_node, &server, nodus_int(i), 5000, &warm) == 0)
      nodus_term_free(&warm);
  }
  printf("c_calls 1 %.0f\n", proc_call_rate(1));
  fflush(stdout);
  printf("c_calls 16 %.0f\n", proc_call_rate(16));
  fflush(stdout);
  printf("c_thread_calls 1 %.0f\n", call_rate(1));
  fflush(stdout);
  printf("c_thread_calls 16 %.0f\n", call_rate(16));
  fflush(stdout);
  if (beam) {
    printf("c_rpc_us %.1f\n", rpc_median_us(beam));
    fflush(stdout);
  }
  nodus_term_free(&server);
  nodus_node_close(client_node);
  nodus_node_close(server_node);
  return 0;
}
