/* Threads that wait for the loop: a lock and a monotonic-clock condition
 * with deadlines (mailboxes), and on top of it a one-shot handoff of an
 * outcome from the loop to one waiting thread (nodus_call, tasks), shared
 * by the two until both let go. */
#ifndef NODUS_RT_WAITER_H
#define NODUS_RT_WAITER_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "nodus/term.h"

typedef struct rt_deadline {
  struct timespec at; /* CLOCK_MONOTONIC */
  bool forever;
} rt_deadline;
/* timeout_ms < 0: forever; 0: already passed. */
rt_deadline rt_deadline_in(int timeout_ms);

typedef struct rt_waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
} rt_waiter;
void rt_waiter_init(rt_waiter *w);
void rt_waiter_destroy(rt_waiter *w);
/* With w->lock held: waits for a signal; false once the deadline passed. */
bool rt_waiter_wait(rt_waiter *w, const rt_deadline *d);

/* One outcome (a code and a term) from the loop to a thread. Both sides
 * hold a reference; the side that releases the last one frees the
 * container. */
typedef struct rt_handoff {
  rt_waiter w;
  int refs;
  bool done;
  int rc;
  nodus_term result;
} rt_handoff;
void rt_handoff_init(rt_handoff *h);    /* two references */
void rt_handoff_destroy(rt_handoff *h); /* frees an untaken result */
/* Drops one reference; true when it was the last. */
bool rt_handoff_release(rt_handoff *h);
/* The loop side: the outcome (result taken), once. */
void rt_handoff_put(rt_handoff *h, int rc, nodus_term result);
/* The thread side: waits until the outcome is there or the deadline
 * passed. True with *rc and *result (NULL: freed) moved out; false when
 * it timed out. */
bool rt_handoff_take(rt_handoff *h, const rt_deadline *d, int *rc,
                     nodus_term *result);

#endif
