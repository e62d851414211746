/* counter: a supervised gen_server that Elixir calls like one of its own.
 *
 * A supervisor `counter_sup` (one_for_one, at most 3 restarts in 5 s)
 * runs one gen_server registered as `counter`, holding a number:
 *   call :incr     -> the number plus one (kept)
 *   call :get      -> the number
 *   cast {:add, K} -> adds K
 *   call :crash    -> the server stops abnormally (a crash report is
 *                     logged); the supervisor starts a fresh one, at 0
 * More than 3 crashes within 5 s and the supervisor gives up: the program
 * exits with status 1, as an OTP application stops with its top
 * supervisor. SIGINT or SIGTERM ends it with status 0.
 *
 *   $ build/bin/counter --name counter --cookie secret
 *   counter counter@myhost ready
 *
 *   $ iex --sname ex --cookie secret
 *   iex> GenServer.call({:counter, :"counter@myhost"}, :incr)
 *   1
 *   iex> GenServer.call({:counter, :"counter@myhost"}, :incr)
 *   2
 *   iex> GenServer.cast({:counter, :"counter@myhost"}, {:add, 40})
 *   :ok
 *   iex> GenServer.call({:counter, :"counter@myhost"}, :get)
 *   42
 *   iex> try do GenServer.call({:counter, :"counter@myhost"}, :crash)
 *   ...> catch :exit, reason -> reason end
 *   {:crash_requested, {GenServer, :call, [...]}}
 *   iex> Supervisor.which_children({:counter_sup, :"counter@myhost"})
 *   [{:counter, #PID<15443.12.0>, :worker, []}]
 *   iex> GenServer.call({:counter, :"counter@myhost"}, :get)
 *   0
 *
 * tests/interop/test_examples_otp.sh runs these lines against it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

/* ---- the counter gen_server ------------------------------------------------ */

struct counter {
  int64_t n;
};

static int counter_init(nodus_proc *self, const nodus_term *args,
                        void **state) {
  struct counter *c = calloc(1, sizeof *c);
  if (!c) return NODUS_ENOMEM;
  *state = c;
  return 0;
}

static int counter_call(nodus_proc *self, void *state, const nodus_term *req,
                        const nodus_term *from, nodus_term *reply,
                        nodus_term *stop_reason) {
  struct counter *c = state;
  if (nodus_is_atom(req, "incr")) {
    *reply = nodus_int(++c->n);
    return NODUS_GS_REPLY;
  }
  if (nodus_is_atom(req, "get")) {
    *reply = nodus_int(c->n);
    return NODUS_GS_REPLY;
  }
  if (nodus_is_atom(req, "crash")) {
    /* No reply: the caller sees the exit, as with {:stop, reason, state}. */
    nodus_mk_atom(stop_reason, "crash_requested");
    return NODUS_GS_STOP;
  }
  /* Anything else: {error, unknown_call}, and carry on. */
  return nodus_build(reply, "{error, unknown_call}") ? NODUS_ENOMEM
                                                      : NODUS_GS_REPLY;
}

static int counter_cast(nodus_proc *self, void *state, const nodus_term *req,
                        nodus_term *stop_reason) {
  struct counter *c = state;
  int64_t k;
  if (nodus_match(req, "{add, ~i}", &k) == 0) c->n += k;
  return NODUS_GS_OK;
}

static void counter_terminate(nodus_proc *self, void *state,
                              const nodus_term *reason) {
  free(state);
}

static const nodus_gen_server_ops counter_ops = {
    .init = counter_init,
    .handle_call = counter_call,
    .handle_cast = counter_cast,
    .terminate = counter_terminate, /* handle_info NULL: other messages dropped */
};

/* The supervisor's child: the counter, linked to it. */
static int start_counter(nodus_proc *sup, const nodus_term *args, void *arg,
                         nodus_term *pid, nodus_term *reason) {
  return nodus_gen_server_start_link(sup, &counter_ops, NULL, "counter", pid);
}

/* ---- the program ------------------------------------------------------------ */

static int gave_up;

/* The top-level supervisor gave up: end the program, as OTP would. */
static void on_give_up(nodus_node *node, void *arg) {
  gave_up = 1;
  nodus_node_stop(node); /* nodus_node_run_until_signal returns 0 */
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: counter --name NAME [--cookie COOKIE] [--epmd-port PORT]\n"
          "Runs a supervised gen_server `counter` (calls incr, get, crash;\n"
          "cast {add, K}) under the supervisor `counter_sup`.\n");
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--name") && v) {
      opts.name = v, i++;
    } else if (!strcmp(a, "--cookie") && v) {
      opts.cookie = v, i++;
    } else if (!strcmp(a, "--epmd-port") && v) {
      opts.epmd_port = atoi(v), i++;
    } else {
      fprintf(stderr, "counter: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!opts.name) {
    usage(stderr);
    return 2;
  }

  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (rc) {
    fprintf(stderr, "counter: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_child_spec child = {.id = "counter", .start = start_counter,
                            .restart = NODUS_PERMANENT};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE,
                         .intensity = 3,
                         .period_ms = 5000,
                         .children = &child,
                         .n_children = 1,
                         .name = "counter_sup",
                         .on_give_up = on_give_up};
  nodus_term reason = {0};
  rc = nodus_supervisor_start(node, &spec, NULL, &reason);
  if (rc) {
    char *why = NULL;
    if (reason.type != NODUS_T_NONE) nodus_print(&reason, NULL, &why, NULL);
    fprintf(stderr, "counter: the supervisor did not start: %s %s\n",
            nodus_strerror(rc), why ? why : "");
    free(why);
    nodus_term_free(&reason);
    nodus_node_close(node);
    return 1;
  }
  printf("counter %s ready\n", nodus_atom_text(nodus_node_name(node), NULL));
  fflush(stdout);

  rc = nodus_node_run_until_signal(node);
  nodus_node_close(node);
  if (gave_up) {
    fprintf(stderr, "counter: counter_sup gave up (too many restarts)\n");
    return 1;
  }
  return rc > 0 ? 0 : 1;
}
