/* nodus_node_run_until_signal: the end of a node's main, so programs don't
 * copy signal-mask code around.
 *
 * SIGINT and SIGTERM are blocked in the calling thread (and so in the loop
 * thread when it is started here: threads inherit the mask), and taken by
 * sigtimedwait. A thread that did not block them (one started earlier)
 * may still be the one the kernel picks: a handler installed meanwhile
 * catches those, and the wait sees its flag. The wait wakes up every
 * POLL_MS to notice a node stopped from within (nodus_node_stop from a
 * handler, e.g. a supervisor that gave up). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "runtime/node_internal.h"

#define POLL_MS 100

static atomic_bool waiting;            /* one waiter per process */
static volatile sig_atomic_t caught;   /* set by the handler */

static void on_signal(int sig) { caught = sig; }

static bool node_closing(nodus_node *node) {
  pthread_mutex_lock(&node->inbox_lock);
  bool closing = node->closing;
  pthread_mutex_unlock(&node->inbox_lock);
  return closing;
}

int nodus_node_run_until_signal(nodus_node *node) {
  if (!node) return NODUS_EINVAL;
  bool expected = false;
  if (!atomic_compare_exchange_strong(&waiting, &expected, true))
    return NODUS_ESTATE; /* another thread is already waiting */
  sigset_t set, old_mask;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old_mask);
  caught = 0;
  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  int rc = 0;
  if (!node->running && !node->has_thread) rc = nodus_node_start(node);
  int sig = 0;
  const struct timespec poll = {0, POLL_MS * 1000000L};
  while (!rc && !sig) {
    int s = sigtimedwait(&set, NULL, &poll);
    if (s > 0) sig = s;
    else if (caught) sig = caught;
    else if (s < 0 && errno != EAGAIN && errno != EINTR) rc = NODUS_EIO;
    else if (node_closing(node)) break; /* stopped from within: 0 */
  }
  if (!rc) nodus_node_stop(node);

  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  atomic_store(&waiting, false);
  return rc ? rc : sig;
}
