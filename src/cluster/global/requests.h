/* What a thread asks of the global service and waits for: a request
 * done on the loop by the registrar (register, re-register, unregister)
 * or by a lock holder (set_lock, then del_lock), and how the loop tells
 * the waiting thread. */
#ifndef NODUS_CLUSTER_GLOBAL_REQUESTS_H
#define NODUS_CLUSTER_GLOBAL_REQUESTS_H

#include "cluster/global/global_internal.h"

typedef enum {
  GL_REQ_REGISTER,
  GL_REQ_REREGISTER,
  GL_REQ_UNREGISTER,
  GL_REQ_LOCK,
} gl_req_op;

typedef struct gl_req {
  struct gl_req *next; /* the registrar's queue */
  gl_req_op op;
  nodus_term name;   /* register: the name; lock: the id */
  nodus_term pid, method;
  nodus_global_resolve_fn resolve;
  void *resolve_arg;
  nodus_term nodes;  /* lock: the nodes */
  int retries;       /* lock: -1 infinity */

  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  bool holder_gone; /* lock: the holder ended; it won't touch this again */
  int rc;
} gl_req;

/* Signals the waiting thread (done, rc). */
void gl_req_finish(gl_req *q, int rc);
/* The same, from a holder that lets go of q for good. */
void gl_req_detach(gl_req *q, int rc);

/* registrar.c, on the loop: queue q for the registrar. */
void gl_registrar_enqueue(gl_server *g, gl_req *q);
/* A process holding the lock q describes; it tries at once. */
int gl_holder_spawn(gl_server *g, gl_req *q, nodus_term *pid);

#endif
