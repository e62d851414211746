/* :global names for the running instances. Registering blocks while the
 * cluster agrees, so a worker thread of the supervisor's own does it; the loop only asks, and asks again (at most once a second)
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
  nodus_dsup *d;
  nodus_atom name;
  nodus_term pid;
} reg_req;

static void reg_drop(void *arg) {
  reg_req *r = arg;
  nodus_term_free(&r->pid);
  free(r);
}

static void reg_run(void *arg) {
  reg_req *r = arg;
  nodus_dsup *d = r->d;
  nodus_term n = nodus_atom_term(r->name);
  nodus_global_opts o = {.method = NODUS_GLOBAL_RANDOM_NOTIFY};
  int rc = nodus_global_register(d->node, &n, &r->pid, &o);
  if (rc && rc != NODUS_EEXIST && rc != NODUS_ESTATE)
    nodus_log(d->node, NODUS_LOG_WARN, "dsup", "%s: global name %s: %s",
              d->name, nodus_atom_text(r->name, NULL), nodus_strerror(rc));
  reg_drop(r);
}

int dsup_registrar_start(nodus_dsup *d) {
  if (!nodus_node_service(d->node, &nodus_service_global)) return 0;
  return dsup_worker_start(&d->registrar);
}

static void ask(nodus_dsup *d, nodus_atom name, const nodus_term *pid) {
  reg_req *r = calloc(1, sizeof *r);
  if (!r || nodus_copy(&r->pid, pid)) {
    free(r);
    return;
  }
  r->d = d;
  r->name = name;
  dsup_worker_post(&d->registrar, reg_run, reg_drop, r);
}

void dsup_registrar_check(nodus_dsup *d) {
  int64_t now = dsup_now_ns();
  for (size_t i = 0; i < d->n_children; i++) {
    dsup_child *c = d->children[i];
    if (!c->global_name || c->pid.type != NODUS_T_PID || c->stopping)
      continue;
    if (!d->registrar.running) {
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
