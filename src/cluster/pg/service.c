/* The pg node service: answers nodus:pg_which_groups(Scope) and
 * nodus:pg_get_members(Scope, Group) over rpc/erpc from the scopes this
 * node runs, so tools and BEAM shells see a C node's groups the way
 * pg:which_groups/1 and pg:get_members/2 show a BEAM node's. For a scope
 * that is not running, which_groups is badarg and get_members [], as pg's
 * missing ETS table makes them on BEAM. */
#include "cluster/pg/pg_internal.h"
#include "nodus/otp.h"
#include "nodus/service.h"

/* 0 when args is [Scope | _] of n elements; else what BEAM raises: undef
 * for another arity, badarg for a scope that is not an atom. */
static int check_args(const nodus_term *args, size_t n, nodus_term *result) {
  if (args->type != NODUS_T_LIST || args->n != n) {
    (void)nodus_mk_atom(result, "undef");
    return NODUS_EEXIT;
  }
  return args->v.items[0].type == NODUS_T_ATOM ? 0 : NODUS_EINVAL;
}

static nodus_pg *scope_of(nodus_node *node, const nodus_term *args) {
  return pg_registry_get(node, args->v.items[0].v.atom);
}

static int fn_which_groups(nodus_node *node, const nodus_term *args,
                           nodus_term *result, void *arg) {
  int rc = check_args(args, 1, result);
  if (rc) return rc;
  nodus_pg *pg = scope_of(node, args);
  if (!pg) return NODUS_EINVAL;
  rc = nodus_pg_which_groups(pg, result);
  pg_unref(pg);
  return rc;
}

static int fn_get_members(nodus_node *node, const nodus_term *args,
                          nodus_term *result, void *arg) {
  int rc = check_args(args, 2, result);
  if (rc) return rc;
  nodus_pg *pg = scope_of(node, args);
  if (!pg) { /* pg:get_members/2 catches the missing table */
    *result = nodus_nil();
    return 0;
  }
  rc = nodus_pg_get_members(pg, &args->v.items[1], result);
  pg_unref(pg);
  return rc;
}

static int pg_service_start(nodus_node *node, void **state) {
  int rc = nodus_register_function_on_loop(node, "nodus", "pg_which_groups",
                                           fn_which_groups, NULL);
  if (!rc)
    rc = nodus_register_function_on_loop(node, "nodus", "pg_get_members",
                                         fn_get_members, NULL);
  if (rc == NODUS_ESTATE) { /* no rpc service: nothing to answer through */
    nodus_log(node, NODUS_LOG_INFO, "pg",
              "no rpc service: nodus:pg_* not served");
    rc = 0;
  }
  return rc;
}

const nodus_service nodus_service_pg = {"pg", pg_service_start, NULL};
