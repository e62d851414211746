/* rpc and erpc from C to any node, through the peer's rex server
 * (gen_server:call({rex, Node}, {call, M, F, A, user})), which every BEAM
 * node and every nodus node runs. rex answers as rpc:call does; asking it
 * to run erpc:execute_call(Ref, M, F, A) instead makes the peer itself
 * sort the outcome into erpc's classes (return, throw, exit, error with
 * its stack), so nodus_erpc reports exactly what erpc:call would raise. */
#include <string.h>

#include "otp/otp_internal.h"

static int rex_call(nodus_node *node, nodus_atom peer, nodus_term m,
                    nodus_term f, nodus_term args, int timeout_ms,
                    nodus_term *reply) {
  nodus_term server = rt_tuple(2, rt_atom("rex"), nodus_atom_term(peer));
  /* Group leader `user`: output goes to the peer's console, as for a
   * hidden node's rpc (a pid here would make us answer io requests). */
  nodus_term req = rt_tuple(5, rt_atom("call"), m, f, args, rt_atom("user"));
  int rc = nodus_call(node, &server, req, timeout_ms, reply);
  nodus_term_free(&server);
  return rc;
}

static nodus_term badrpc(nodus_term reason) {
  return rt_tuple(2, rt_atom("badrpc"), reason);
}

int nodus_rpc(nodus_node *node, nodus_atom peer, const char *module,
              const char *function, nodus_term args, int timeout_ms,
              nodus_term *result) {
  nodus_term m, f, reply = {0};
  if (!node || !module || !function || !result ||
      !nodus_is_proper_list(&args)) {
    nodus_term_free(&args);
    return NODUS_EINVAL;
  }
  int rc = nodus_mk_atom(&m, module);
  if (!rc) rc = nodus_mk_atom(&f, function);
  if (rc) {
    nodus_term_free(&args);
    return rc;
  }
  rc = rex_call(node, peer, m, f, args, timeout_ms, &reply);
  switch (rc) {
    case 0:
      *result = reply;
      /* rex's own answer for a failed call is {badrpc, Reason} */
      if (reply.type == NODUS_T_TUPLE && reply.n == 2 &&
          nodus_is_atom(&reply.v.items[0], "badrpc"))
        return NODUS_EEXIT;
      return 0;
    case NODUS_ETIMEDOUT: *result = badrpc(rt_atom("timeout")); break;
    case NODUS_ENOCONN:
    case NODUS_ENOPROC: *result = badrpc(rt_atom("nodedown")); break;
    case NODUS_EEXIT:
      *result = badrpc(rt_tuple(2, rt_atom("EXIT"), reply));
      break;
    default: return rc;
  }
  return NODUS_EEXIT;
}

/* {Class, Reason} as erpc:call raises it. */
static nodus_term raised(const char *cls, nodus_term reason) {
  return rt_tuple(2, rt_atom(cls), reason);
}

/* rex's {badrpc, {'EXIT', {Ref, Class, ...}}} for our Ref, as erpc's
 * result/4 reads the DOWN reason. */
static int erpc_outcome(const nodus_term *ref, nodus_term reply,
                        nodus_term *result) {
  const nodus_term *r = NULL;
  if (reply.type == NODUS_T_TUPLE && reply.n == 2 &&
      nodus_is_atom(&reply.v.items[0], "badrpc") &&
      reply.v.items[1].type == NODUS_T_TUPLE && reply.v.items[1].n == 2 &&
      nodus_is_atom(&reply.v.items[1].v.items[0], "EXIT"))
    r = &reply.v.items[1].v.items[1];
  if (!r || r->type != NODUS_T_TUPLE || r->n < 3 ||
      !nodus_equal(&r->v.items[0], ref)) {
    /* Not erpc's answer (a peer without erpc): report what came. */
    *result = raised("error", rt_tuple(2, rt_atom("erpc"), reply));
    return NODUS_EEXIT;
  }
  const nodus_term *cls = &r->v.items[1], *v = &r->v.items[2];
  int rc = NODUS_EEXIT;
  if (nodus_is_atom(cls, "return")) {
    *result = rt_copy(v);
    rc = 0;
  } else if (nodus_is_atom(cls, "throw")) {
    *result = raised("throw", rt_copy(v));
  } else if (nodus_is_atom(cls, "exit")) {
    *result = raised("exit", rt_tuple(2, rt_atom("exception"), rt_copy(v)));
  } else if (r->n == 4) {
    *result = raised("error", rt_tuple(3, rt_atom("exception"), rt_copy(v),
                                       rt_copy(&r->v.items[3])));
  } else {
    *result = raised("error", rt_copy(v)); /* {erpc, Reason} */
  }
  nodus_term_free(&reply);
  return rc;
}

int nodus_erpc(nodus_node *node, nodus_atom peer, const char *module,
               const char *function, nodus_term args, int timeout_ms,
               nodus_term *result) {
  nodus_term m, f, ref, reply = {0};
  if (!node || !module || !function || !result ||
      !nodus_is_proper_list(&args)) {
    nodus_term_free(&args);
    return NODUS_EINVAL;
  }
  int rc = nodus_mk_atom(&m, module);
  if (!rc) rc = nodus_mk_atom(&f, function);
  if (!rc) rc = nodus_make_ref(node, &ref);
  if (rc) {
    nodus_term_free(&args);
    return rc;
  }
  nodus_term inner;
  rc = nodus_mk_list(&inner, 4);
  if (rc) {
    nodus_term_free(&args);
    nodus_term_free(&ref);
    return rc;
  }
  nodus_list_set(&inner, 0, rt_copy(&ref));
  nodus_list_set(&inner, 1, m);
  nodus_list_set(&inner, 2, f);
  nodus_list_set(&inner, 3, args);
  rc = rex_call(node, peer, rt_atom("erpc"), rt_atom("execute_call"), inner,
                timeout_ms, &reply);
  switch (rc) {
    case 0: rc = erpc_outcome(&ref, reply, result); break;
    case NODUS_ETIMEDOUT:
      *result = raised("error", rt_tuple(2, rt_atom("erpc"), rt_atom("timeout")));
      rc = NODUS_EEXIT;
      break;
    case NODUS_ENOCONN:
    case NODUS_ENOPROC:
      *result = raised("error",
                       rt_tuple(2, rt_atom("erpc"), rt_atom("noconnection")));
      rc = NODUS_EEXIT;
      break;
    case NODUS_EEXIT:
      *result = raised("exit", rt_tuple(2, rt_atom("signal"), reply));
      break;
    default: break;
  }
  nodus_term_free(&ref);
  return rc;
}
