/* Local subscriptions: topic -> subscriber pids, duplicates allowed, under
 * one mutex so any thread may subscribe or dispatch. Subscribers are
 * monitored from the loop (adapter.c) and dropped when they exit, as an
 * Elixir Registry drops the entries of a dead process. */
#include <stdlib.h>

#include "cluster/pubsub/pubsub_internal.h"

int ps_registry_add(nodus_pubsub *ps, const nodus_term *topic,
                    const nodus_term *pid) {
  int rc = 0;
  pthread_mutex_lock(&ps->lock);
  termvec *v = termmap_get(&ps->topics, topic);
  if (!v) {
    if (!(v = calloc(1, sizeof *v))) rc = NODUS_ENOMEM;
    else if ((rc = termmap_put(&ps->topics, topic, v))) free(v);
  }
  if (!rc) rc = termvec_push(v, pid);
  pthread_mutex_unlock(&ps->lock);
  return rc;
}

static void drop_topic_if_empty(nodus_pubsub *ps, const nodus_term *topic,
                                termvec *v) {
  if (v->len) return;
  termmap_del(&ps->topics, topic);
  termvec_free(v);
  free(v);
}

int ps_registry_remove(nodus_pubsub *ps, const nodus_term *topic,
                       const nodus_term *pid) {
  pthread_mutex_lock(&ps->lock);
  termvec *v = termmap_get(&ps->topics, topic);
  bool any = false;
  while (v && termvec_remove_one(v, pid)) any = true;
  if (v) drop_topic_if_empty(ps, topic, v);
  pthread_mutex_unlock(&ps->lock);
  return any ? 0 : NODUS_ENOMATCH;
}

void ps_registry_drop_pid(nodus_pubsub *ps, const nodus_term *pid) {
  pthread_mutex_lock(&ps->lock);
  /* Collect the emptied topics first: deleting while iterating would
   * move slots under the loop. */
  termvec empty = {0};
  TERMMAP_FOREACH(&ps->topics, s) {
    termvec *v = s->value;
    while (termvec_remove_one(v, pid)) {
    }
    if (!v->len) termvec_push(&empty, &s->key);
  }
  for (size_t i = 0; i < empty.len; i++)
    drop_topic_if_empty(ps, &empty.items[i],
                        termmap_get(&ps->topics, &empty.items[i]));
  termvec_free(&empty);
  pthread_mutex_unlock(&ps->lock);
}

void ps_dispatch_local(nodus_pubsub *ps, const nodus_term *topic,
                       const nodus_term *from, const nodus_term *msg) {
  /* Copy the pids out and send without the lock: sends allocate, and
   * subscribing threads should not wait for them. */
  termvec to = {0};
  pthread_mutex_lock(&ps->lock);
  termvec *v = termmap_get(&ps->topics, topic);
  for (size_t i = 0; v && i < v->len; i++)
    if (!from || !nodus_equal(&v->items[i], from))
      termvec_push(&to, &v->items[i]);
  pthread_mutex_unlock(&ps->lock);
  for (size_t i = 0; i < to.len; i++) {
    nodus_term copy;
    if (nodus_copy(&copy, msg) == 0) nodus_send(ps->node, &to.items[i], copy);
  }
  termvec_free(&to);
}

void ps_registry_free(nodus_pubsub *ps) {
  TERMMAP_FOREACH(&ps->topics, s) {
    termvec_free(s->value);
    free(s->value);
  }
  termmap_free(&ps->topics);
}
