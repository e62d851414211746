/* erlang:send_after for processes: a libuv timer per pending message. */
#include <stdlib.h>

#include "runtime/node_internal.h"

struct rt_timer {
  rt_timer *next;
  uv_timer_t handle;
  nodus_proc *owner;
  nodus_term to, msg, ref;
};

static void on_closed(uv_handle_t *h) {
  rt_timer *t = h->data;
  nodus_term_free(&t->to);
  nodus_term_free(&t->msg);
  nodus_term_free(&t->ref);
  free(t);
}

static void unlink_timer(rt_timer *t) {
  for (rt_timer **tp = &t->owner->timers; *tp; tp = &(*tp)->next) {
    if (*tp == t) {
      *tp = t->next;
      return;
    }
  }
}

static void on_fire(uv_timer_t *h) {
  rt_timer *t = h->data;
  nodus_proc *owner = t->owner;
  unlink_timer(t);
  nodus_term msg = t->msg;
  t->msg = (nodus_term){0};
  rt_send(owner->node, owner, &t->to, msg);
  uv_close((uv_handle_t *)h, on_closed);
}

int nodus_send_after(nodus_proc *self, unsigned ms, const nodus_term *to,
                     nodus_term msg, nodus_term *tref) {
  RT_ASSERT_LOOP(self->node);
  rt_timer *t = calloc(1, sizeof *t);
  int rc = t ? 0 : NODUS_ENOMEM;
  if (!rc) rc = nodus_copy(&t->to, to);
  if (!rc) rc = nodus_make_ref(self->node, &t->ref);
  if (!rc && tref) rc = nodus_copy(tref, &t->ref);
  if (rc) {
    if (t) {
      nodus_term_free(&t->to);
      nodus_term_free(&t->ref);
      free(t);
    }
    nodus_term_free(&msg);
    return rc;
  }
  t->msg = msg;
  t->owner = self;
  uv_timer_init(&self->node->loop, &t->handle);
  t->handle.data = t;
  uv_timer_start(&t->handle, on_fire, ms, 0);
  t->next = self->timers;
  self->timers = t;
  return 0;
}

int nodus_cancel_timer(nodus_proc *self, const nodus_term *tref) {
  RT_ASSERT_LOOP(self->node);
  for (rt_timer *t = self->timers; t; t = t->next) {
    if (nodus_equal(&t->ref, tref)) {
      unlink_timer(t);
      uv_timer_stop(&t->handle);
      uv_close((uv_handle_t *)&t->handle, on_closed);
      return 0;
    }
  }
  return NODUS_ENOMATCH;
}

void rt_timers_cancel_all(nodus_proc *p) {
  RT_ASSERT_LOOP(p->node);
  while (p->timers) {
    rt_timer *t = p->timers;
    p->timers = t->next;
    uv_timer_stop(&t->handle);
    uv_close((uv_handle_t *)&t->handle, on_closed);
  }
}
