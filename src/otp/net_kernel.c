/* The net_kernel service: the process peers' net_adm:ping asks
 * ({'$gen_call', From, {is_auth, Node}}, answered yes, as BEAM does once
 * the handshake let the peer in). Other requests are logged once and
 * dropped: net_kernel's other calls are for the local node only. */
#include "nodus/service.h"
#include "otp/otp_internal.h"

static void net_kernel_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *from;
  if (nodus_match(msg, "{'$gen_call', ~t, {is_auth, _}}", &from) == 0) {
    nodus_gen_reply(self, from, rt_atom("yes"));
    return;
  }
  nodus_node *node = nodus_proc_node(self);
  if (rt_log_once(node, 1u << 8))
    rt_log(node, NODUS_LOG_INFO, "net_kernel",
           "ignoring a request net_kernel does not serve (logged once)");
}

static int net_kernel_start(nodus_node *node, void **state) {
  nodus_proc_spec spec = {.on_message = net_kernel_msg,
                          .register_name = "net_kernel"};
  return nodus_spawn(node, &spec, NULL);
}

const nodus_service nodus_service_net_kernel = {"net_kernel",
                                                net_kernel_start, NULL};
