/* :global names for the running instances. Registering blocks while the
 * cluster agrees, so a thread of the supervisor's own does it, fed by a
 * mailbox; the loop only asks, and asks again (at most once a second)
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

static void *registrar_main(void *arg) {
  nodus_dsup *d = arg;
  for (;;) {
    nodus_term msg;
    if (nodus_mailbox_recv(d->registrar_mb, &msg, -1)) break;
    bool stop = nodus_is_atom(&msg, "stop");
    nodus_atom name;
    const nodus_term *pid;
    if (!stop && !nodus_match(&msg, "{register, ~a, ~t}", &name, &pid)) {
      nodus_term n = nodus_atom_term(name);
      nodus_global_opts o = {.method = NODUS_GLOBAL_RANDOM_NOTIFY};
      int rc = nodus_global_register(d->node, &n, pid, &o);
      if (rc && rc != NODUS_EEXIST)
        nodus_log(d->node, NODUS_LOG_WARN, "dsup", "%s: global name %s: %s",
                  d->name, nodus_atom_text(name, NULL), nodus_strerror(rc));
    }
    nodus_term_free(&msg);
    if (stop) break;
  }
  return NULL;
}

int dsup_registrar_start(nodus_dsup *d) {
  if (!nodus_node_service(d->node, &nodus_service_global)) return 0;
  int rc = nodus_mailbox_open(d->node, &d->registrar_mb);
  if (rc) return rc;
  if (pthread_create(&d->registrar, NULL, registrar_main, d)) {
    nodus_mailbox_close(d->registrar_mb);
    d->registrar_mb = NULL;
    return NODUS_ENOMEM;
  }
  d->registrar_running = true;
  return 0;
}

/* Not on the loop: the thread may be waiting for it. */
void dsup_registrar_stop(nodus_dsup *d) {
  if (!d->registrar_running) return;
  nodus_term stop;
  if (nodus_mk_atom(&stop, "stop") == 0)
    nodus_send(d->node, nodus_mailbox_pid(d->registrar_mb), stop);
  pthread_join(d->registrar, NULL);
  nodus_mailbox_close(d->registrar_mb);
  d->registrar_mb = NULL;
  d->registrar_running = false;
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
    nodus_term pid, msg;
    if (ours || nodus_copy(&pid, &c->pid)) continue; /* atoms own nothing */
    if (nodus_build(&msg, "{register, ~t, ~t}", name, pid)) continue;
    c->register_asked_ns = now;
    nodus_send_from(d->proc, nodus_mailbox_pid(d->registrar_mb), msg);
  }
}
