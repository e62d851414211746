/* rex, the rpc server every node runs (kernel's rpc.erl), for the peers
 * and tools that still use its protocol rather than erpc:
 *   {'$gen_call', From, {call | block_call, M, F, A, GroupLeader}}
 *       rpc's old client path, erl_call, and nodus_rpc: replies the rpc
 *       result (the value, or {badrpc, {'EXIT', ...}});
 *   {From, {call, M, F, A, GroupLeader}}   hidden C nodes (erl_interface):
 *       replies {rex, Result} to From;
 *   {'$gen_cast', {cast, M, F, A, GroupLeader}}   rpc:cast's old path;
 *   {From, features_request}   answered [erpc]: we serve erpc's spawns.
 * Functions run as jobs (rpc_exec.c), so rex never waits for one.
 * The group leader is ignored: C functions do no Erlang I/O. */
#include <stdlib.h>

#include "otp/otp_internal.h"

static void rex_done_gen(otp_job *job) {
  otp_gen_reply(job->node, &job->ctx1, otp_rpc_result(job));
  otp_job_free(job);
}

/* erpc:execute_call/4 asked through rex (nodus_erpc does, so a C node
 * gets erpc's exception classes without spawn_request): rpc's view of a
 * process exiting with erpc's reason. */
static void rex_done_gen_erpc(otp_job *job) {
  nodus_term reason = otp_erpc_reason(job, &job->ctx2);
  otp_gen_reply(job->node, &job->ctx1,
                rt_tuple(2, rt_atom("badrpc"),
                         rt_tuple(2, rt_atom("EXIT"), reason)));
  otp_job_free(job);
}

static void rex_done_plain(otp_job *job) {
  nodus_send(job->node, &job->ctx1,
             rt_tuple(2, rt_atom("rex"), otp_rpc_result(job)));
  otp_job_free(job);
}

static void rex_done_cast(otp_job *job) { otp_job_free(job); }

/* {call, M, F, A, GL} (or block_call/cast): true and the parts. */
static bool is_mfa_request(const nodus_term *req, const char *tag,
                           const nodus_term **m, const nodus_term **f,
                           const nodus_term **a) {
  if (req->type != NODUS_T_TUPLE || req->n != 5 ||
      !nodus_is_atom(&req->v.items[0], tag) ||
      req->v.items[1].type != NODUS_T_ATOM ||
      req->v.items[2].type != NODUS_T_ATOM)
    return false;
  *m = &req->v.items[1];
  *f = &req->v.items[2];
  *a = &req->v.items[3];
  return true;
}

static void run_call(nodus_node *node, const nodus_term *from,
                     const nodus_term *m, const nodus_term *f,
                     const nodus_term *a) {
  if (nodus_is_atom(m, "erpc") && nodus_is_atom(f, "execute_call") &&
      a->type == NODUS_T_LIST && a->n == 4 &&
      a->v.items[1].type == NODUS_T_ATOM &&
      a->v.items[2].type == NODUS_T_ATOM) {
    otp_exec(node, a->v.items[1].v.atom, a->v.items[2].v.atom,
             rt_copy(&a->v.items[3]), rex_done_gen_erpc, rt_copy(from),
             rt_copy(&a->v.items[0]));
    return;
  }
  otp_exec(node, m->v.atom, f->v.atom, rt_copy(a), rex_done_gen, rt_copy(from),
           (nodus_term){0});
}

static void rex_msg(nodus_proc *self, const nodus_term *msg) {
  nodus_node *node = nodus_proc_node(self);
  const nodus_term *m, *f, *a;
  if (msg->type != NODUS_T_TUPLE) goto unknown;
  const nodus_term *e = msg->v.items;
  if (msg->n == 2 && e[0].type == NODUS_T_PID) {
    if (nodus_is_atom(&e[1], "features_request")) {
      nodus_send_from(self, &e[0],
                      rt_tuple(3, rt_atom("features_reply"),
                               nodus_atom_term(nodus_node_name(node)),
                               otp_list1(rt_atom("erpc"))));
      return;
    }
    if (is_mfa_request(&e[1], "call", &m, &f, &a)) {
      otp_exec(node, m->v.atom, f->v.atom, rt_copy(a), rex_done_plain,
               rt_copy(&e[0]), (nodus_term){0});
      return;
    }
  } else if (msg->n == 3 && nodus_is_atom(&e[0], "$gen_call") &&
             e[1].type == NODUS_T_TUPLE && e[1].n == 2) {
    if (is_mfa_request(&e[2], "call", &m, &f, &a) ||
        is_mfa_request(&e[2], "block_call", &m, &f, &a)) {
      run_call(node, &e[1], m, f, a);
      return;
    }
  } else if (msg->n == 2 && nodus_is_atom(&e[0], "$gen_cast") &&
             is_mfa_request(&e[1], "cast", &m, &f, &a)) {
    otp_exec(node, m->v.atom, f->v.atom, rt_copy(a), rex_done_cast,
             (nodus_term){0}, (nodus_term){0});
    return;
  }
unknown:
  if (rt_log_once(node, 1u << 9))
    rt_log(node, NODUS_LOG_INFO, "rex",
           "ignoring a request rex does not serve (logged once)");
}

int otp_rex_start(nodus_node *node, otp_node *on) {
  nodus_proc_spec spec = {.on_message = rex_msg, .register_name = "rex"};
  return nodus_spawn(node, &spec, &on->rex_pid);
}
