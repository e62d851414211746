/* Processes: the table, spawning, mailboxes and the run queue.
 *
 * A process is a handler plus a queue. Delivering a message appends it and
 * puts the process on the node's run queue; an idle handle drains the run
 * queue, a bounded number of messages per process per round so one busy
 * process can't starve the rest or the network. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/node_internal.h"

#define MESSAGES_PER_ROUND 64

void msgq_push(msg_queue *q, msg_item *m) {
  m->next = NULL;
  if (q->tail) q->tail->next = m;
  else q->head = m;
  q->tail = m;
  q->len++;
}

msg_item *msgq_pop(msg_queue *q) {
  msg_item *m = q->head;
  if (!m) return NULL;
  q->head = m->next;
  if (!q->head) q->tail = NULL;
  q->len--;
  return m;
}

void msgq_clear(msg_queue *q) {
  msg_item *m;
  while ((m = msgq_pop(q))) {
    nodus_term_free(&m->msg);
    free(m);
  }
}

nodus_proc *rt_proc_by_pid(nodus_node *node, const nodus_term *pid) {
  RT_ASSERT_LOOP(node);
  if (pid->type != NODUS_T_PID || !rt_is_local_pid(node, pid)) return NULL;
  nodus_proc *p = idmap_get(&node->procs, pid->v.id->w[0]);
  return p && !p->dead && p->pid.v.id->w[1] == pid->v.id->w[1] ? p : NULL;
}

nodus_proc *rt_proc_by_name(nodus_node *node, nodus_atom name) {
  RT_ASSERT_LOOP(node);
  nodus_proc *p = idmap_get(&node->names, name);
  return p && !p->dead ? p : NULL;
}

static void on_idle(uv_idle_t *h) { rt_run_queue(h->data); }

/* An active idle handle makes the loop poll without sleeping: it spins on
 * until spin_ns have passed since the processes last ran. Each turn
 * yields the CPU: loopback packets are delivered by the kernel's softirq
 * thread when it gets a CPU, and spinners that never yield starve it. */
static void on_spin(uv_idle_t *h) {
  nodus_node *node = h->data;
  if (uv_hrtime() - node->last_run_ns > node->spin_ns) uv_idle_stop(h);
  else sched_yield();
}

static void schedule(nodus_proc *p) {
  nodus_node *node = p->node;
  if (p->queued) return;
  p->queued = true;
  p->run_next = NULL;
  if (node->run_tail) node->run_tail->run_next = p;
  else node->run_head = p;
  node->run_tail = p;
  uv_idle_start(&node->runner, on_idle);
}

int rt_spawn(nodus_node *node, const nodus_proc_spec *spec, nodus_proc **out) {
  RT_ASSERT_LOOP(node);
  nodus_proc *p = calloc(1, sizeof *p);
  if (!p) return NODUS_ENOMEM;
  /* Pid numbers are 15 bits of id and 13 of serial on BEAM; we use the full
   * 32-bit id and wrap the serial, skipping ids still in use. */
  uint32_t id;
  do {
    id = ++node->next_pid_id;
    if (id == 0) id = node->next_pid_id = 1;
  } while (idmap_get(&node->procs, id));
  int rc = nodus_mk_pid(&p->pid, node->name, id, 0, node->creation);
  if (!rc) rc = idmap_put(&node->procs, id, p);
  if (rc) {
    nodus_term_free(&p->pid);
    free(p);
    return rc;
  }
  p->node = node;
  p->id = id;
  p->spec = *spec;
  p->spec.register_name = NULL;
  p->reg_name = NODUS_ATOM_EMPTY;
  if (spec->register_name) {
    nodus_term me = p->pid;
    rc = nodus_register(node, spec->register_name, &me);
    if (rc) {
      idmap_del(&node->procs, id);
      nodus_term_free(&p->pid);
      free(p);
      return rc;
    }
  }
  if (spec->on_start) {
    /* Run it from the run queue: the spawner finishes first. */
    p->start_pending = true;
    schedule(p);
  }
  *out = p;
  return 0;
}

void rt_deliver(nodus_proc *p, nodus_term msg) {
  RT_ASSERT_LOOP(p->node);
  if (p->dead || p->exiting) {
    nodus_term_free(&msg);
    return;
  }
  msg_item *m = malloc(sizeof *m);
  if (!m) {
    rt_log(p->node, NODUS_LOG_ERROR, "proc", "out of memory: message lost");
    nodus_term_free(&msg);
    return;
  }
  m->msg = msg;
  msgq_push(&p->queue, m);
  schedule(p);
}

/* Frees what's left once nothing refers to p any more. */
static void proc_destroy(nodus_proc *p) {
  msgq_clear(&p->queue);
  nodus_term_free(&p->exit_reason);
  nodus_term_free(&p->pid);
  free(p);
}

static void proc_finish(nodus_proc *p) {
  nodus_node *node = p->node;
  p->dead = true;
  if (p->reg_name != NODUS_ATOM_EMPTY) {
    idmap_del(&node->names, p->reg_name);
    p->reg_name = NODUS_ATOM_EMPTY;
  }
  msgq_clear(&p->queue);
  rt_timers_cancel_all(p);
  rt_aliases_drop_all(p);
  if (p->spec.on_exit) p->spec.on_exit(p, &p->exit_reason);
  if (p->mailbox) rt_mailbox_proc_exit(p->mailbox);
  rt_proc_signal_exit(p);
  idmap_del(&node->procs, p->id);
  /* A queued process is unlinked from the run queue by rt_run_queue. */
  if (!p->queued) proc_destroy(p);
}

void rt_proc_exit(nodus_proc *p, const nodus_term *reason) {
  RT_ASSERT_LOOP(p->node);
  if (p->dead || p->exiting) return;
  p->exiting = true;
  nodus_term_free(&p->exit_reason);
  if (nodus_copy(&p->exit_reason, reason))
    p->exit_reason = nodus_atom_term(NODUS_ATOM_ERROR);
  if (!p->running) proc_finish(p);
}

void rt_run_queue(nodus_node *node) {
  RT_ASSERT_LOOP(node);
  /* One round over the processes queued now; new arrivals wait a round. */
  nodus_proc *tail = node->run_tail;
  while (node->run_head) {
    nodus_proc *p = node->run_head;
    node->run_head = p->run_next;
    if (!node->run_head) node->run_tail = NULL;
    p->queued = false;
    bool last = p == tail;
    if (p->dead) {
      proc_destroy(p);
    } else {
      if (p->start_pending && !p->exiting) {
        p->start_pending = false;
        p->running = true;
        p->spec.on_start(p);
        p->running = false;
      }
      for (int i = 0; i < MESSAGES_PER_ROUND && !p->exiting; i++) {
        msg_item *m = msgq_pop(&p->queue);
        if (!m) break;
        p->running = true;
        if (p->spec.on_message) p->spec.on_message(p, &m->msg);
        p->running = false;
        nodus_term_free(&m->msg);
        free(m);
      }
      if (p->exiting) proc_finish(p); /* frees p unless it was requeued */
      else if (p->queue.head) schedule(p);
    }
    if (last) break;
  }
  if (!node->run_head) uv_idle_stop(&node->runner);
  if (node->spin_ns && !node->closing) {
    node->last_run_ns = uv_hrtime();
    uv_idle_start(&node->spinner, on_spin);
  }
}

void rt_procs_close_all(nodus_node *node) {
  nodus_term reason = nodus_atom_term(NODUS_ATOM_EMPTY);
  (void)nodus_mk_atom(&reason, "shutdown");
  for (size_t i = 0; i < node->procs.cap; i++) {
    nodus_proc *p = node->procs.slots[i].value;
    /* An exiting process that is not dead is the one whose handler is
     * running (nodus_node_stop from a handler): it finishes when the
     * handler returns. Exiting it again would change nothing, forever. */
    if (p && !p->dead && !p->exiting) {
      rt_proc_exit(p, &reason);
      i = (size_t)-1; /* the table changed under us: start over */
    }
  }
  while (node->run_head) {
    nodus_proc *p = node->run_head;
    node->run_head = p->run_next;
    p->queued = false;
    if (p->dead) proc_destroy(p);
  }
  node->run_tail = NULL;
}

/* ---- public, loop-thread or thread-safe via rt_call_sync ---------------- */

struct spawn_call {
  const nodus_proc_spec *spec;
  nodus_term *pid;
  int rc;
};

static void spawn_on_loop(nodus_node *node, void *arg) {
  struct spawn_call *c = arg;
  nodus_proc *p;
  c->rc = rt_spawn(node, c->spec, &p);
  if (!c->rc && c->pid) c->rc = nodus_copy(c->pid, &p->pid);
}

int nodus_spawn(nodus_node *node, const nodus_proc_spec *spec,
                nodus_term *pid) {
  if (!node || !spec) return NODUS_EINVAL;
  struct spawn_call c = {spec, pid, 0};
  rt_call_sync(node, spawn_on_loop, &c);
  return c.rc;
}

int nodus_spawn_from(nodus_proc *self, const nodus_proc_spec *spec, bool link,
                     nodus_term *pid) {
  nodus_proc *p;
  int rc = rt_spawn(self->node, spec, &p);
  if (rc) return rc;
  if (link) {
    rt_link_add(self, &p->pid);
    rt_link_add(p, &self->pid);
  }
  return pid ? nodus_copy(pid, &p->pid) : 0;
}

const nodus_term *nodus_self(const nodus_proc *self) { return &self->pid; }
nodus_node *nodus_proc_node(const nodus_proc *self) { return self->node; }
void *nodus_proc_state(const nodus_proc *self) { return self->spec.state; }
void nodus_proc_set_state(nodus_proc *self, void *state) {
  self->spec.state = state;
}
void nodus_trap_exit(nodus_proc *self, bool on) { self->spec.trap_exit = on; }

void nodus_exit(nodus_proc *self, const nodus_term *reason) {
  RT_ASSERT_LOOP(self->node);
  rt_proc_exit(self, reason);
}

struct reg_call {
  const char *name;
  const nodus_term *pid;
  nodus_term *out;
  int rc;
};

static void register_on_loop(nodus_node *node, void *arg) {
  struct reg_call *c = arg;
  nodus_atom a;
  if ((c->rc = nodus_atom_intern(c->name, strlen(c->name), &a))) return;
  nodus_proc *p = rt_proc_by_pid(node, c->pid);
  if (!p) {
    c->rc = NODUS_ENOPROC;
    return;
  }
  if (rt_proc_by_name(node, a) || p->reg_name != NODUS_ATOM_EMPTY) {
    c->rc = NODUS_EEXIST;
    return;
  }
  if ((c->rc = idmap_put(&node->names, a, p))) return;
  p->reg_name = a;
}

int nodus_register(nodus_node *node, const char *name, const nodus_term *pid) {
  if (!node || !name || !pid || !strcmp(name, "undefined")) return NODUS_EINVAL;
  struct reg_call c = {name, pid, NULL, 0};
  rt_call_sync(node, register_on_loop, &c);
  return c.rc;
}

static void unregister_on_loop(nodus_node *node, void *arg) {
  struct reg_call *c = arg;
  nodus_atom a;
  if (nodus_atom_lookup(c->name, strlen(c->name), &a) ||
      !rt_proc_by_name(node, a)) {
    c->rc = NODUS_ENOTFOUND;
    return;
  }
  nodus_proc *p = idmap_del(&node->names, a);
  p->reg_name = NODUS_ATOM_EMPTY;
}

int nodus_unregister(nodus_node *node, const char *name) {
  if (!node || !name) return NODUS_EINVAL;
  struct reg_call c = {name, NULL, NULL, 0};
  rt_call_sync(node, unregister_on_loop, &c);
  return c.rc;
}

static void whereis_on_loop(nodus_node *node, void *arg) {
  struct reg_call *c = arg;
  nodus_atom a;
  nodus_proc *p = NULL;
  if (!nodus_atom_lookup(c->name, strlen(c->name), &a))
    p = rt_proc_by_name(node, a);
  c->rc = p ? nodus_copy(c->out, &p->pid) : NODUS_ENOTFOUND;
}

int nodus_whereis(nodus_node *node, const char *name, nodus_term *pid) {
  if (!node || !name || !pid) return NODUS_EINVAL;
  struct reg_call c = {name, NULL, pid, 0};
  rt_call_sync(node, whereis_on_loop, &c);
  return c.rc;
}
