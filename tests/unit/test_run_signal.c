/* nodus_node_run_until_signal: SIGINT sent to the waiting thread, SIGTERM
 * sent to the process from a thread that does not block it (the handler
 * path), a node already started by the caller, and a node stopped from
 * within by a top-level supervisor's on_give_up (returns 0; also checks
 * that nodus_node_stop from that callback is safe). Each case runs on a
 * fresh node, since the call stops it. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nodus.h"
#include "nodus/supervisor.h"

static nodus_node *new_node(const char *name) {
  nodus_node *node = NULL;
  nodus_node_opts opts = {.name = name,
                          .cookie = "rs",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE};
  CHECK_RC(nodus_node_init(&opts, &node), 0);
  return node;
}

struct shot {
  pthread_t target; /* pthread_kill to it, or kill() the process */
  bool to_thread;
  int sig;
};

static void *shooter(void *arg) {
  struct shot *s = arg;
  usleep(150 * 1000);
  if (s->to_thread) pthread_kill(s->target, s->sig);
  else kill(getpid(), s->sig);
  return NULL;
}

static void run_with(nodus_node *node, struct shot *s, int want) {
  pthread_t t;
  s->target = pthread_self();
  CHECK(pthread_create(&t, NULL, shooter, s) == 0);
  CHECK_RC(nodus_node_run_until_signal(node), want);
  pthread_join(t, NULL);
}

/* A child that crashes as soon as it runs: its supervisor gives up. */
static void crash_now(nodus_proc *self) {
  nodus_term why;
  nodus_mk_atom(&why, "boom");
  nodus_exit(self, &why);
  nodus_term_free(&why);
}

static int crasher_start(nodus_proc *sup, const nodus_term *args, void *arg,
                         nodus_term *pid, nodus_term *reason) {
  nodus_proc_spec spec = {.on_start = crash_now};
  return nodus_spawn_from(sup, &spec, true, pid);
}

static atomic_int gave_up_calls;

static void stop_node(nodus_node *node, void *arg) {
  atomic_fetch_add(&gave_up_calls, 1);
  nodus_node_stop(node); /* from the loop: run_until_signal returns 0 */
}

int main(void) {
  /* SIGINT to the waiting thread; the node was not started */
  nodus_node *node = new_node("rs1@127.0.0.1");
  struct shot s1 = {.to_thread = true, .sig = SIGINT};
  run_with(node, &s1, SIGINT);
  nodus_node_close(node);

  /* SIGTERM to the process; the shooter thread does not block it, so the
   * kernel may pick it: the handler must catch it there. The node was
   * started by the caller. */
  node = new_node("rs2@127.0.0.1");
  CHECK_RC(nodus_node_start(node), 0);
  struct shot s2 = {.to_thread = false, .sig = SIGTERM};
  run_with(node, &s2, SIGTERM);
  nodus_node_close(node);

  /* The mask and handlers are back as they were: SIGTERM is not blocked */
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  CHECK(!sigismember(&now, SIGTERM) && !sigismember(&now, SIGINT));
  struct sigaction sa;
  sigaction(SIGTERM, NULL, &sa);
  CHECK(sa.sa_handler == SIG_DFL);

  /* A top-level supervisor gives up and stops the node: 0 */
  node = new_node("rs3@127.0.0.1");
  nodus_child_spec kid = {.id = "crasher", .start = crasher_start};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE,
                         .intensity = 1,
                         .period_ms = 5000,
                         .children = &kid,
                         .n_children = 1,
                         .name = "top",
                         .on_give_up = stop_node};
  nodus_term sup = {0}, why = {0};
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, &why), 0);
  CHECK(why.type == NODUS_T_NONE);
  nodus_term_free(&sup);
  CHECK_RC(nodus_node_run_until_signal(node), 0);
  CHECK(atomic_load(&gave_up_calls) == 1);
  nodus_node_close(node);

  CHECK_RC(nodus_node_run_until_signal(NULL), NODUS_EINVAL);
  return check_report();
}
