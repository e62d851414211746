/* :global names for the running instances. Registering blocks while the
 * cluster agrees, so a thread of the supervisor's own does it, fed by a
 * queue; the loop only asks, and asks again (at most once a second)
 * while whereis does not give the instance. A clash after a heal is
 * resolved by global as random_notify_name does (the loser keeps running
 * and is told {global_name_conflict, Name}); placement then stops the
 * instance that should not run, and the survivor gets the name back at
 * the next check. */
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"
#include "nodus/global.h"
#include "nodus/service.h"

/* One request: register name for pid. */
typedef struct reg_req {
  struct reg_req *next;
  nodus_atom name;
  nodus_term pid;
} reg_req;

static void *registrar_main(void *arg) {
  nodus_dsup *d = arg;
  pthread_mutex_lock(&d->lock);
  for (;;) {
    while (!d->reg_queue && !d->reg_stop) pthread_cond_wait(&d->reg_cond, &d->lock);
    if (d->reg_stop) break;
    reg_req *r = d->reg_queue;
    d->reg_queue = r->next;
    pthread_mutex_unlock(&d->lock);
    nodus_term n = nodus_atom_term(r->name);
    nodus_global_opts o = {.method = NODUS_GLOBAL_RANDOM_NOTIFY};
    int rc = nodus_global_register(d->node, &n, &r->pid, &o);
    if (rc && rc != NODUS_EEXIST && rc != NODUS_ESTATE)
      nodus_log(d->node, NODUS_LOG_WARN, "dsup", "%s: global name %s: %s",
                d->name, nodus_atom_text(r->name, NULL), nodus_strerror(rc));
    nodus_term_free(&r->pid);
    free(r);
    pthread_mutex_lock(&d->lock);
  }
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

int dsup_registrar_start(nodus_dsup *d) {
  if (!nodus_node_service(d->node, &nodus_service_global)) return 0;
  pthread_cond_init(&d->reg_cond, NULL);
  if (pthread_create(&d->registrar, NULL, registrar_main, d)) {
    pthread_cond_destroy(&d->reg_cond);
    return NODUS_ENOMEM;
  }
  d->registrar_running = true;
  return 0;
}

/* Asks the thread to end (on the loop too: it never waits for it). */
void dsup_registrar_quit(nodus_dsup *d) {
  pthread_mutex_lock(&d->lock);
  d->reg_stop = true;
  pthread_cond_signal(&d->reg_cond);
  pthread_mutex_unlock(&d->lock);
}

/* Not on the loop: the thread may be waiting for it. */
void dsup_registrar_stop(nodus_dsup *d) {
  if (!d->registrar_running) return;
  dsup_registrar_quit(d);
  pthread_join(d->registrar, NULL);
  while (d->reg_queue) {
    reg_req *r = d->reg_queue;
    d->reg_queue = r->next;
    nodus_term_free(&r->pid);
    free(r);
  }
  pthread_cond_destroy(&d->reg_cond);
  d->registrar_running = false;
}

static void ask(nodus_dsup *d, nodus_atom name, const nodus_term *pid) {
  reg_req *r = calloc(1, sizeof *r);
  if (!r || nodus_copy(&r->pid, pid)) {
    free(r);
    return;
  }
  r->name = name;
  pthread_mutex_lock(&d->lock);
  reg_req **tail = &d->reg_queue;
  while (*tail) tail = &(*tail)->next;
  *tail = r;
  pthread_cond_signal(&d->reg_cond);
  pthread_mutex_unlock(&d->lock);
}

void dsup_registrar_check(nodus_dsup *d) {
  int64_t now = dsup_now_ns();
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (!c->global_name || c->pid.type != NODUS_T_PID || c->stopping)
      continue;
    if (!d->registrar_running) {
      if (!(d->logged & 2))
        nodus_log(d->node, NODUS_LOG_WARN, "dsup",
                  "%s: no global service: global names not registered "
                  "(logged once)", d->name);
      d->logged |= 2;
      return;
    }
    if (c->register_asked_ns && now - c->register_asked_ns < 1000000000)
      continue;
    nodus_term name, have = {0};
    if (nodus_mk_atom(&name, c->global_name)) continue;
    bool ours = nodus_global_whereis(d->node, &name, &have) == 0 &&
                nodus_equal(&have, &c->pid);
    nodus_term_free(&have);
    if (ours) continue;
    c->register_asked_ns = now;
    ask(d, name.v.atom, &c->pid);
  }
}
