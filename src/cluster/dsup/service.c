/* The dsup node service: knows the supervisors running on the node and
 * serves nodus:dsup_children/0 over rpc/erpc (the CLI's `nodus dsup
 * status NODE`): one map per supervisor,
 *   #{name => <<"N">>, mode => availability | quorum | lease,
 *     members => [Node], min_nodes => N, quorum => Q | undefined,
 *     children => [{Id, Node | undefined, Epoch, Pid | undefined}]}. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"
#include "nodus/otp.h"
#include "nodus/service.h"

typedef struct dsup_service {
  pthread_mutex_t lock;
  nodus_dsup *list;
} dsup_service;

void dsup_service_add(nodus_dsup *d) {
  dsup_service *s = nodus_node_service(d->node, &nodus_service_dsup);
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  d->next_on_node = s->list;
  s->list = d;
  d->svc = s;
  pthread_mutex_unlock(&s->lock);
}

void dsup_service_remove(nodus_dsup *d) {
  dsup_service *s = d->svc;
  if (!s) return; /* none, or the node (and its service) closed first */
  pthread_mutex_lock(&s->lock);
  for (nodus_dsup **p = &s->list; *p; p = &(*p)->next_on_node)
    if (*p == d) {
      *p = d->next_on_node;
      break;
    }
  d->svc = NULL;
  pthread_mutex_unlock(&s->lock);
}

static const char *mode_name(int mode) {
  return mode == NODUS_DSUP_QUORUM ? "quorum"
         : mode == NODUS_DSUP_LEASE ? "lease" : "availability";
}

static nodus_term describe(nodus_dsup *d) {
  nodus_term m, v;
  if (nodus_mk_map(&m)) return nodus_nil();
  nodus_term k;
  if (!nodus_mk_atom(&k, "name") && !nodus_mk_binary(&v, d->name, strlen(d->name)))
    nodus_map_put(&m, k, v);
  if (!nodus_mk_atom(&k, "mode") && !nodus_mk_atom(&v, mode_name(d->opts.mode)))
    nodus_map_put(&m, k, v);
  if (!nodus_mk_atom(&k, "members")) nodus_map_put(&m, k, dsup_members_term(d));
  if (!nodus_mk_atom(&k, "min_nodes"))
    nodus_map_put(&m, k, nodus_int(d->opts.min_nodes ? d->opts.min_nodes : 1));
  if (!nodus_mk_atom(&k, "quorum"))
    nodus_map_put(&m, k, d->opts.mode == NODUS_DSUP_QUORUM
                             ? nodus_int(dsup_quorum(d))
                             : nodus_atom_term(NODUS_ATOM_UNDEFINED));
  if (!nodus_mk_atom(&k, "children")) nodus_map_put(&m, k, dsup_children_term(d));
  return m;
}

static int fn_children(nodus_node *node, const nodus_term *args,
                       nodus_term *result, void *arg) {
  dsup_service *s = arg;
  if (nodus_size(args) != 0) {
    (void)nodus_mk_atom(result, "undef");
    return NODUS_EEXIT;
  }
  /* On the loop: the supervisors' state is the loop's. */
  pthread_mutex_lock(&s->lock);
  size_t n = 0;
  for (nodus_dsup *d = s->list; d; d = d->next_on_node) n += d->proc != NULL;
  int rc = nodus_mk_list(result, n);
  size_t i = 0;
  for (nodus_dsup *d = s->list; !rc && d; d = d->next_on_node)
    if (d->proc) nodus_list_set(result, i++, describe(d));
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static int dsup_service_start(nodus_node *node, void **state) {
  dsup_service *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  pthread_mutex_init(&s->lock, NULL);
  *state = s;
  int rc = nodus_register_function_on_loop(node, "nodus", "dsup_children",
                                           fn_children, s);
  if (rc == NODUS_ESTATE) { /* no rpc service */
    nodus_log(node, NODUS_LOG_INFO, "dsup",
              "no rpc service: nodus:dsup_children/0 not served");
    rc = 0;
  }
  return rc;
}

static void dsup_service_stop(nodus_node *node, void *state) {
  dsup_service *s = state;
  if (!s) return;
  /* Handles may outlive the node: they must not reach back here. */
  pthread_mutex_lock(&s->lock);
  for (nodus_dsup *d = s->list; d; d = d->next_on_node) d->svc = NULL;
  pthread_mutex_unlock(&s->lock);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

const nodus_service nodus_service_dsup = {"dsup", dsup_service_start,
                                          dsup_service_stop};
