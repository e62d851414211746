/* The supervisor API for threads: each call is supervisor.erl's request
 * sent with gen_server:call, so the same functions work on a C supervisor
 * and on an Erlang or Elixir one (except start_child with a C spec, which
 * only a C supervisor of this node can run). */
#include <stdlib.h>
#include <string.h>

#include "otp/sup_internal.h"

int otp_sup_park_child(nodus_node *node, const nodus_term *sup,
                       const nodus_child_spec *spec, nodus_term *token);

/* {error, What} -> What, or NULL. */
static const nodus_term *error_of(const nodus_term *r) {
  if (r->type == NODUS_T_TUPLE && r->n == 2 &&
      nodus_is_atom(&r->v.items[0], "error"))
    return &r->v.items[1];
  return NULL;
}

static int sup_call(nodus_node *node, const nodus_term *sup,
                    nodus_term request, nodus_term *reply) {
  if (!node || !sup) {
    nodus_term_free(&request);
    return NODUS_EINVAL;
  }
  return nodus_call(node, sup, request, -1, reply);
}

/* {ok, Pid} | {error, Reason} from a start: the code, *pid the pid (or
 * undefined for ignore), *reason the reason with NODUS_EEXIT. Takes
 * reply. */
static int start_result(nodus_term reply, nodus_term *pid,
                        nodus_term *reason) {
  const nodus_term *e = error_of(&reply);
  int rc = 0;
  nodus_term out = {0};
  if (reply.type == NODUS_T_TUPLE && reply.n >= 2 &&
      nodus_is_atom(&reply.v.items[0], "ok")) {
    out = rt_copy(&reply.v.items[1]);
  } else if (e && (nodus_is_atom(e, "already_present") ||
                   (e->type == NODUS_T_TUPLE && e->n == 2 &&
                    nodus_is_atom(&e->v.items[0], "already_started")))) {
    rc = NODUS_EEXIST;
  } else if (e && nodus_is_atom(e, "max_children")) {
    rc = NODUS_ERANGE;
  } else if (e && nodus_is_atom(e, "not_found")) {
    rc = NODUS_ENOTFOUND;
  } else if (e && (nodus_is_atom(e, "running") ||
                   nodus_is_atom(e, "restarting"))) {
    rc = NODUS_ESTATE;
  } else {
    rc = NODUS_EEXIT;
    out = e ? rt_copy(e) : rt_copy(&reply);
  }
  nodus_term_free(&reply);
  nodus_term *to = rc == 0 ? pid : rc == NODUS_EEXIT ? reason : NULL;
  if (to) *to = out;
  else nodus_term_free(&out);
  return rc;
}

static void clear_out(nodus_term *pid, nodus_term *reason) {
  if (pid) *pid = (nodus_term){0};
  if (reason) *reason = (nodus_term){0};
}

/* ok | {error, Reason} */
static int ok_result(nodus_term reply) {
  const nodus_term *e = error_of(&reply);
  int rc = nodus_is_atom(&reply, "ok")            ? 0
           : !e                                  ? NODUS_EPROTO
           : nodus_is_atom(e, "not_found")        ? NODUS_ENOTFOUND
           : nodus_is_atom(e, "running")          ? NODUS_ESTATE
           : nodus_is_atom(e, "restarting")       ? NODUS_ESTATE
           : nodus_is_atom(e, "simple_one_for_one") ? NODUS_EINVAL
                                                   : NODUS_EEXIT;
  nodus_term_free(&reply);
  return rc;
}

struct park {
  const nodus_term *sup;
  const nodus_child_spec *spec;
  nodus_term token;
  int rc;
};

static void park_on_loop(nodus_node *node, void *arg) {
  struct park *p = arg;
  p->rc = otp_sup_park_child(node, p->sup, p->spec, &p->token);
}

int nodus_supervisor_start_child(nodus_node *node, const nodus_term *sup,
                                 const nodus_child_spec *spec,
                                 nodus_term *pid, nodus_term *reason) {
  clear_out(pid, reason);
  if (!node || !sup || !spec) return NODUS_EINVAL;
  struct park p = {sup, spec, {0}, 0};
  int rc = nodus_node_call(node, park_on_loop, &p);
  if (!rc) rc = p.rc;
  if (rc) return rc;
  nodus_term reply;
  rc = sup_call(node, sup,
                rt_tuple(2, rt_atom("$nodus_start_child"), p.token), &reply);
  return rc ? rc : start_result(reply, pid, reason);
}

int nodus_supervisor_start_dynamic(nodus_node *node, const nodus_term *sup,
                                   const nodus_term *extra_args,
                                   nodus_term *pid, nodus_term *reason) {
  clear_out(pid, reason);
  if (extra_args && !nodus_is_proper_list(extra_args)) return NODUS_EINVAL;
  nodus_term reply;
  int rc = sup_call(node, sup,
                    rt_tuple(2, rt_atom("start_child"),
                             extra_args ? rt_copy(extra_args) : nodus_nil()),
                    &reply);
  return rc ? rc : start_result(reply, pid, reason);
}

int nodus_supervisor_terminate_child(nodus_node *node, const nodus_term *sup,
                                     const nodus_term *id_or_pid) {
  if (!id_or_pid) return NODUS_EINVAL;
  nodus_term reply;
  int rc = sup_call(node, sup,
                    rt_tuple(2, rt_atom("terminate_child"), rt_copy(id_or_pid)),
                    &reply);
  return rc ? rc : ok_result(reply);
}

int nodus_supervisor_restart_child(nodus_node *node, const nodus_term *sup,
                                   const char *id, nodus_term *pid,
                                   nodus_term *reason) {
  clear_out(pid, reason);
  if (!id) return NODUS_EINVAL;
  nodus_term reply;
  int rc = sup_call(node, sup, rt_tuple(2, rt_atom("restart_child"), rt_atom(id)),
                    &reply);
  return rc ? rc : start_result(reply, pid, reason);
}

int nodus_supervisor_delete_child(nodus_node *node, const nodus_term *sup,
                                  const char *id) {
  if (!id) return NODUS_EINVAL;
  nodus_term reply;
  int rc = sup_call(node, sup, rt_tuple(2, rt_atom("delete_child"), rt_atom(id)),
                    &reply);
  return rc ? rc : ok_result(reply);
}

int nodus_supervisor_which_children(nodus_node *node, const nodus_term *sup,
                                    nodus_term *children) {
  if (!children) return NODUS_EINVAL;
  return sup_call(node, sup, rt_atom("which_children"), children);
}

int nodus_supervisor_count_children(nodus_node *node, const nodus_term *sup,
                                    int *specs, int *active, int *supervisors,
                                    int *workers) {
  nodus_term reply;
  int rc = sup_call(node, sup, rt_atom("count_children"), &reply);
  if (rc) return rc;
  static const char *const keys[] = {"specs", "active", "supervisors",
                                     "workers"};
  int *outs[] = {specs, active, supervisors, workers};
  for (size_t k = 0; k < 4; k++) {
    if (!outs[k]) continue;
    *outs[k] = 0;
    for (size_t i = 0; reply.type == NODUS_T_LIST && i < reply.n; i++) {
      const nodus_term *kv = &reply.v.items[i];
      int64_t v;
      if (kv->type == NODUS_T_TUPLE && kv->n == 2 &&
          nodus_is_atom(&kv->v.items[0], keys[k]) &&
          !nodus_get_int64(&kv->v.items[1], &v))
        *outs[k] = (int)v;
    }
  }
  nodus_term_free(&reply);
  return 0;
}

int nodus_supervisor_stop(nodus_node *node, const nodus_term *sup,
                          const nodus_term *reason) {
  nodus_term reply;
  int rc = sup_call(node, sup,
                    rt_tuple(2, rt_atom("$nodus_stop"),
                             reason ? rt_copy(reason) : rt_atom("shutdown")),
                    &reply);
  if (rc) return rc;
  nodus_term_free(&reply);
  return 0;
}
