/* Mailboxes: processes whose messages queue up for a thread, so code on
 * other threads can be written straight-line (receive ... after). The
 * queue has its own lock; everything else goes through the loop. */
#include <stdlib.h>

#include "runtime/node_internal.h"
#include "runtime/waiter.h"

struct nodus_mailbox {
  nodus_node *node;
  nodus_proc *proc; /* loop thread only; NULL once the process ended */
  nodus_term pid;
  rt_waiter w; /* guards queue and ended */
  msg_queue queue;
  bool ended;
};

static void mailbox_msg(nodus_proc *self, const nodus_term *msg) {
  nodus_mailbox *mb = self->mailbox;
  msg_item *m = malloc(sizeof *m);
  if (!m || nodus_copy(&m->msg, msg)) {
    free(m);
    rt_log(self->node, NODUS_LOG_ERROR, "mailbox", "out of memory: lost one");
    return;
  }
  pthread_mutex_lock(&mb->w.lock);
  msgq_push(&mb->queue, m);
  pthread_cond_signal(&mb->w.cond);
  pthread_mutex_unlock(&mb->w.lock);
}

void rt_mailbox_proc_exit(nodus_mailbox *mb) {
  pthread_mutex_lock(&mb->w.lock);
  mb->proc = NULL;
  mb->ended = true;
  pthread_cond_broadcast(&mb->w.cond);
  pthread_mutex_unlock(&mb->w.lock);
}

struct open_call {
  nodus_mailbox *mb;
  int rc;
};

static void open_on_loop(nodus_node *node, void *arg) {
  struct open_call *c = arg;
  nodus_proc_spec spec = {.on_message = mailbox_msg};
  nodus_proc *p;
  c->rc = rt_spawn(node, &spec, &p);
  if (c->rc) return;
  p->mailbox = c->mb;
  c->mb->proc = p;
  c->rc = nodus_copy(&c->mb->pid, &p->pid);
}

int nodus_mailbox_open(nodus_node *node, nodus_mailbox **out) {
  nodus_mailbox *mb = calloc(1, sizeof *mb);
  if (!mb) return NODUS_ENOMEM;
  mb->node = node;
  rt_waiter_init(&mb->w);
  struct open_call c = {mb, NODUS_ESTATE};
  rt_call_sync(node, open_on_loop, &c);
  if (c.rc) {
    nodus_mailbox_close(mb);
    return c.rc;
  }
  *out = mb;
  return 0;
}

const nodus_term *nodus_mailbox_pid(const nodus_mailbox *mb) { return &mb->pid; }

int nodus_mailbox_recv(nodus_mailbox *mb, nodus_term *msg, int timeout_ms) {
  rt_deadline until = rt_deadline_in(timeout_ms);
  pthread_mutex_lock(&mb->w.lock);
  while (!mb->queue.head) {
    if (mb->ended || timeout_ms == 0) break;
    if (!rt_waiter_wait(&mb->w, &until)) break;
  }
  msg_item *m = msgq_pop(&mb->queue);
  bool ended = mb->ended;
  pthread_mutex_unlock(&mb->w.lock);
  if (!m) return ended ? NODUS_ENOPROC : NODUS_ETIMEDOUT;
  *msg = m->msg;
  free(m);
  return 0;
}

struct mb_call {
  nodus_mailbox *mb;
  const nodus_term *target;
  nodus_term msg, *ref;
  int rc;
};

static void send_on_loop(nodus_node *node, void *arg) {
  struct mb_call *c = arg;
  c->rc = rt_send(node, c->mb->proc, c->target, c->msg);
}

int nodus_mailbox_send(nodus_mailbox *mb, const nodus_term *to,
                       nodus_term msg) {
  struct mb_call c = {mb, to, msg, NULL, NODUS_ESTATE};
  rt_call_sync(mb->node, send_on_loop, &c);
  if (c.rc == NODUS_ESTATE) nodus_term_free(&msg); /* the loop never ran it */
  return c.rc;
}

static void monitor_on_loop(nodus_node *node, void *arg) {
  struct mb_call *c = arg;
  c->rc = c->mb->proc ? nodus_monitor(c->mb->proc, c->target, c->ref)
                      : NODUS_ENOPROC;
}

int nodus_mailbox_monitor(nodus_mailbox *mb, const nodus_term *target,
                          nodus_term *ref) {
  struct mb_call c = {mb, target, {0}, ref, NODUS_ESTATE};
  rt_call_sync(mb->node, monitor_on_loop, &c);
  return c.rc;
}

static void link_on_loop(nodus_node *node, void *arg) {
  struct mb_call *c = arg;
  c->rc = c->mb->proc ? nodus_link(c->mb->proc, c->target) : NODUS_ENOPROC;
}

int nodus_mailbox_link(nodus_mailbox *mb, const nodus_term *pid) {
  struct mb_call c = {mb, pid, {0}, NULL, NODUS_ESTATE};
  rt_call_sync(mb->node, link_on_loop, &c);
  return c.rc;
}

/* A selective receive: the first queued message pick accepts, the others
 * left in order. 0, NODUS_ETIMEDOUT, or NODUS_ENOPROC (the process ended
 * and nothing matched). */
static int recv_matching(nodus_mailbox *mb,
                         bool (*pick)(const nodus_term *, const void *),
                         const void *arg, nodus_term *msg, int timeout_ms) {
  rt_deadline until = rt_deadline_in(timeout_ms);
  int rc = NODUS_ETIMEDOUT;
  pthread_mutex_lock(&mb->w.lock);
  for (;;) {
    msg_item *prev = NULL, *m = mb->queue.head;
    while (m && !pick(&m->msg, arg)) prev = m, m = m->next;
    if (m) {
      if (prev) prev->next = m->next;
      else mb->queue.head = m->next;
      if (mb->queue.tail == m) mb->queue.tail = prev;
      mb->queue.len--;
      *msg = m->msg;
      free(m);
      rc = 0;
      break;
    }
    if (mb->ended) {
      rc = NODUS_ENOPROC;
      break;
    }
    if (timeout_ms == 0) break;
    if (!rt_waiter_wait(&mb->w, &until))
      timeout_ms = 0; /* one more look, then give up */
  }
  pthread_mutex_unlock(&mb->w.lock);
  return rc;
}

struct spawn_call {
  nodus_mailbox *mb;
  nodus_atom node;
  const char *module, *function;
  const nodus_term *args;
  unsigned flags;
  nodus_term ref;
  int rc;
};

static void spawn_request_on_loop(nodus_node *node, void *arg) {
  struct spawn_call *c = arg;
  c->rc = c->mb->proc ? nodus_spawn_request(c->mb->proc, c->node, c->module,
                                            c->function, c->args, c->flags,
                                            &c->ref)
                      : NODUS_ENOPROC;
}

/* {spawn_reply, Ref, _, _} */
static bool is_spawn_reply(const nodus_term *msg, const void *ref) {
  return msg->type == NODUS_T_TUPLE && msg->n == 4 &&
         nodus_is_atom(&msg->v.items[0], "spawn_reply") &&
         nodus_equal(&msg->v.items[1], ref);
}

int nodus_mailbox_spawn_request(nodus_mailbox *mb, nodus_atom node,
                                const char *module, const char *function,
                                const nodus_term *args, unsigned flags,
                                int timeout_ms, nodus_term *result,
                                nodus_term *req_id) {
  if (result) *result = (nodus_term){0};
  if (!mb) return NODUS_EINVAL;
  struct spawn_call c = {mb, node, module, function, args, flags, {0},
                         NODUS_ESTATE};
  rt_call_sync(mb->node, spawn_request_on_loop, &c);
  if (c.rc) return c.rc;
  nodus_term reply;
  int rc = recv_matching(mb, is_spawn_reply, &c.ref, &reply, timeout_ms);
  if (!rc) {
    bool ok = nodus_is_atom(&reply.v.items[2], "ok");
    const nodus_term *what = &reply.v.items[3];
    rc = ok ? 0
            : nodus_is_atom(what, "noconnection") ? NODUS_ENOCONN : NODUS_EEXIT;
    if (result) {
      *result = *what;
      reply.v.items[3] = (nodus_term){0};
    }
    nodus_term_free(&reply);
  }
  if (req_id) *req_id = c.ref;
  else nodus_term_free(&c.ref);
  return rc;
}

static void close_on_loop(nodus_node *node, void *arg) {
  nodus_mailbox *mb = arg;
  if (!mb->proc) return;
  nodus_proc *p = mb->proc;
  p->mailbox = NULL;
  mb->proc = NULL;
  nodus_term normal = rt_atom("normal");
  rt_proc_exit(p, &normal);
}

void nodus_mailbox_close(nodus_mailbox *mb) {
  if (!mb) return;
  rt_call_sync(mb->node, close_on_loop, mb);
  msgq_clear(&mb->queue);
  nodus_term_free(&mb->pid);
  rt_waiter_destroy(&mb->w);
  free(mb);
}
