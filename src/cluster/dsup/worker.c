/* A thread that runs jobs in order, for the work the loop must not wait
 * for (a :global registration, a database query). Post from the loop;
 * stop from any other thread (a running job may be waiting for the
 * loop). Jobs still queued at stop are freed without running. */
#include <stdlib.h>

#include "cluster/dsup/dsup_internal.h"

typedef struct dsup_job {
  struct dsup_job *next;
  void (*run)(void *arg); /* on the worker thread */
  void (*drop)(void *arg); /* frees arg when the job never runs */
  void *arg;
} dsup_job;

static void *worker_main(void *arg) {
  dsup_worker *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->queue && !w->quit) pthread_cond_wait(&w->cond, &w->lock);
    if (w->quit) break;
    dsup_job *j = w->queue;
    w->queue = j->next;
    w->queued--;
    pthread_mutex_unlock(&w->lock);
    j->run(j->arg);
    free(j);
    pthread_mutex_lock(&w->lock);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int dsup_worker_start(dsup_worker *w) {
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  w->queue = NULL;
  w->queued = 0;
  w->quit = false;
  if (pthread_create(&w->thread, NULL, worker_main, w)) {
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    return NODUS_ENOMEM;
  }
  w->running = true;
  return 0;
}

int dsup_worker_post(dsup_worker *w, void (*run)(void *), void (*drop)(void *),
                     void *arg) {
  dsup_job *j = w->running ? calloc(1, sizeof *j) : NULL;
  if (!j) {
    drop(arg);
    return w->running ? NODUS_ENOMEM : NODUS_ESTATE;
  }
  j->run = run;
  j->drop = drop;
  j->arg = arg;
  pthread_mutex_lock(&w->lock);
  dsup_job **tail = &w->queue;
  while (*tail) tail = &(*tail)->next;
  *tail = j;
  w->queued++;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

void dsup_worker_quit(dsup_worker *w) {
  if (!w->running) return;
  pthread_mutex_lock(&w->lock);
  w->quit = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

void dsup_worker_stop(dsup_worker *w) {
  if (!w->running) return;
  dsup_worker_quit(w);
  pthread_join(w->thread, NULL);
  while (w->queue) {
    dsup_job *j = w->queue;
    w->queue = j->next;
    j->drop(j->arg);
    free(j);
  }
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
  w->running = false;
}
