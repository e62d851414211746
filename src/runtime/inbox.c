/* The cross-thread inbox: other threads never touch the node's state;
 * they post a call (fn, arg) here and wake the loop, which runs it.
 * Synchronous posts wait on the inbox's condition until it ran. */
#include <stdlib.h>

#include "runtime/node_internal.h"

bool rt_on_loop(const nodus_node *node) {
  if (!node->running) return !node->has_thread;
  return pthread_equal(pthread_self(), node->loop_thread);
}

int rt_inbox_post(nodus_node *node, rt_call *c) {
  pthread_mutex_lock(&node->inbox_lock);
  if (node->closing) {
    pthread_mutex_unlock(&node->inbox_lock);
    return NODUS_ESTATE;
  }
  c->next = NULL;
  if (node->inbox_tail) node->inbox_tail->next = c;
  else node->inbox_head = c;
  node->inbox_tail = c;
  pthread_mutex_unlock(&node->inbox_lock);
  uv_async_send(&node->wakeup);
  return 0;
}

void rt_call_sync(nodus_node *node, void (*fn)(nodus_node *, void *),
                  void *arg) {
  if (rt_on_loop(node)) {
    fn(node, arg);
    return;
  }
  rt_call c = {.fn = fn, .arg = arg, .sync = true};
  if (rt_inbox_post(node, &c)) return;
  pthread_mutex_lock(&node->inbox_lock);
  while (!c.done) pthread_cond_wait(&node->inbox_cond, &node->inbox_lock);
  pthread_mutex_unlock(&node->inbox_lock);
}

int rt_call_async(nodus_node *node, void (*fn)(nodus_node *, void *),
                  void *arg) {
  rt_call *c = calloc(1, sizeof *c);
  if (!c) return NODUS_ENOMEM;
  c->fn = fn;
  c->arg = arg;
  int rc = rt_inbox_post(node, c);
  if (rc) free(c);
  return rc;
}

void rt_inbox_on_wakeup(uv_async_t *h) {
  nodus_node *node = h->data;
  pthread_mutex_lock(&node->inbox_lock);
  rt_call *c = node->inbox_head;
  node->inbox_head = node->inbox_tail = NULL;
  pthread_mutex_unlock(&node->inbox_lock);
  while (c) {
    rt_call *next = c->next;
    c->fn(node, c->arg);
    if (c->sync) {
      pthread_mutex_lock(&node->inbox_lock);
      c->done = true;
      pthread_cond_broadcast(&node->inbox_cond);
      pthread_mutex_unlock(&node->inbox_lock);
    } else {
      free(c);
    }
    c = next;
  }
  if (node->stopping) rt_node_shutdown(node);
}


/* At close: calls that raced with the shutdown never ran; release their
 * waiters. */
void rt_inbox_release(nodus_node *node) {
  pthread_mutex_lock(&node->inbox_lock);
  for (rt_call *c = node->inbox_head, *next; c; c = next) {
    next = c->next;
    if (c->sync) c->done = true;
    else free(c); /* its arg leaks only if a sender raced the close */
  }
  node->inbox_head = node->inbox_tail = NULL;
  pthread_cond_broadcast(&node->inbox_cond);
  pthread_mutex_unlock(&node->inbox_lock);
}
