/* Waiting threads: see waiter.h. */
#include <errno.h>

#include "runtime/waiter.h"

rt_deadline rt_deadline_in(int timeout_ms) {
  rt_deadline d = {.forever = timeout_ms < 0};
  clock_gettime(CLOCK_MONOTONIC, &d.at);
  if (timeout_ms > 0) {
    d.at.tv_sec += timeout_ms / 1000;
    d.at.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (d.at.tv_nsec >= 1000000000L) {
      d.at.tv_sec++;
      d.at.tv_nsec -= 1000000000L;
    }
  }
  return d;
}

void rt_waiter_init(rt_waiter *w) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  /* Deadlines must not move with the wall clock. */
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&w->lock, NULL);
}

void rt_waiter_destroy(rt_waiter *w) {
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->cond);
}

bool rt_waiter_wait(rt_waiter *w, const rt_deadline *d) {
  if (d->forever) {
    pthread_cond_wait(&w->cond, &w->lock);
    return true;
  }
  return pthread_cond_timedwait(&w->cond, &w->lock, &d->at) != ETIMEDOUT;
}

void rt_handoff_init(rt_handoff *h) {
  rt_waiter_init(&h->w);
  h->refs = 2;
  h->done = false;
  h->rc = 0;
  h->result = (nodus_term){0};
}

void rt_handoff_destroy(rt_handoff *h) {
  nodus_term_free(&h->result);
  rt_waiter_destroy(&h->w);
}

bool rt_handoff_release(rt_handoff *h) {
  pthread_mutex_lock(&h->w.lock);
  bool last = --h->refs == 0;
  pthread_mutex_unlock(&h->w.lock);
  return last;
}

void rt_handoff_put(rt_handoff *h, int rc, nodus_term result) {
  pthread_mutex_lock(&h->w.lock);
  if (h->done) {
    nodus_term_free(&result);
  } else {
    h->done = true;
    h->rc = rc;
    h->result = result;
    pthread_cond_signal(&h->w.cond);
  }
  pthread_mutex_unlock(&h->w.lock);
}

bool rt_handoff_take(rt_handoff *h, const rt_deadline *d, int *rc,
                     nodus_term *result) {
  pthread_mutex_lock(&h->w.lock);
  while (!h->done && rt_waiter_wait(&h->w, d)) {
  }
  bool done = h->done;
  if (done) {
    *rc = h->rc;
    if (result) *result = h->result;
    else nodus_term_free(&h->result);
    h->result = (nodus_term){0};
  }
  pthread_mutex_unlock(&h->w.lock);
  return done;
}
