/* The atoms BEAM's own services send a visible node, made when the node
 * starts: once peers' terms have used up their part of the atom table
 * (atom_watch.c), a message is dropped only if it needs an atom that is
 * not there yet, so these must be there before any peer can fill it, or
 * a new node's ping, rpc, global or pg traffic would be lost. Taken from
 * what OTP 25's net_kernel, rex/erpc, gen, global and pg send
 * (docs/interop.md) and from a trace of a fresh node's first minute. */
#include <string.h>

#include "runtime/node_internal.h"

static const char *const known[] = {
    /* gen, net_kernel, rex, erpc, monitors and links */
    "$gen_call", "$gen_cast", "alias", "is_auth", "yes", "no", "rex",
    "features_request", "features_reply", "erpc", "execute_call",
    "execute_cast", "call", "cast", "block_call", "reply", "error_only",
    "monitor", "link", "return", "normal", "noproc", "noconnection",
    "DOWN", "EXIT", "process", "nodeup", "nodedown", "badarg", "undef",
    "badrpc", "timeout", "infinity", "killed", "kill", "shutdown",
    "exception", "throw", "exit", "net_kernel", "spawn_request",
    "spawn_reply", "group_leader", "user", "io_request", "io_reply",
    "put_chars", "unicode", "latin1", "connection_closed",
    "net_tick_timeout", "disconnect", "ignore",
    /* global */
    "global_name_server", "global", "init_connect", "init_connect_ack",
    "locker", "his_the_locker", "no_longer_a_pid", "connection_id",
    "lost_connection", "remove_connection", "cancel_connect",
    "$gl_locker_tick", "set_lock", "lock_set", "exchange", "lock_is_set",
    "exchange_ops", "resolved", "new_nodes", "in_sync", "resolve",
    "unused", "vsn", "lock", "send_new_nodes", "cancel", "add_to_known",
    "del_lock", "no_fun", "remove_from_known", "register", "unregister",
    /* pg and Phoenix.PubSub */
    "pg", "discover", "sync", "join", "leave", "Elixir.Phoenix.PubSub",
    "forward_to_local",
};

int rt_known_atoms_make(void) {
  for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
    nodus_atom a;
    int rc = nodus_atom_intern(known[i], strlen(known[i]), &a);
    if (rc) return rc;
  }
  return 0;
}
