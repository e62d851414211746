/* An embedded EPMD server on a libuv loop: what `epmd` does, for nodes that
 * bring their own, for the `nodus epmd` command and for tests.
 *
 * It serves ALIVE2 (register; the name lives as long as the registering
 * connection), PORT_PLEASE2, NAMES (epmd's text format, so
 * net_adm:names/0 reads it) and, when allowed, KILL. Clients are hostile
 * until parsed: requests are bounded, a connection that sends garbage or
 * dawdles is closed, the others keep being served. */
#ifndef NODUS_DIST_EPMD_SERVER_H
#define NODUS_DIST_EPMD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "epmd_proto.h"

typedef struct epmd_server epmd_server;

typedef enum epmd_server_event {
  EPMD_EV_REGISTERED,   /* node and creation valid */
  EPMD_EV_UNREGISTERED, /* node and creation valid */
  EPMD_EV_KILLED,       /* a KILL_REQ was accepted; the owner should stop */
} epmd_server_event;

typedef struct epmd_server_opts {
  const char *address;  /* NULL: "127.0.0.1"; "0.0.0.0"/"::" for all */
  int port;             /* 0: any free port (see epmd_server_port) */
  unsigned idle_ms;     /* an unregistered client must finish a request in
                           this time; 0: 10000 */
  unsigned max_clients; /* open connections at most; 0: 1024 */
  /* Accept ALIVE2/KILL from non-loopback peers too. Real epmd only takes
   * them from the local host unless started -relaxed_command_check. */
  bool relaxed;
  /* Answer KILL_REQ ("OK") when no node is registered; then on_event gets
   * EPMD_EV_KILLED. Otherwise KILL is answered "NO". */
  bool allow_kill;
  /* Registration events (may be NULL). */
  void (*on_event)(void *arg, epmd_server_event ev,
                   const epmd_node_info *node, uint32_t creation);
  /* Log hook for this layer: level as NODUS_LOG_* (0 error .. 3 debug).
   * One line per event (rejected client, malformed request). May be NULL. */
  void (*log)(void *arg, int level, const char *msg);
  void *arg;
} epmd_server_opts;

/* Binds and listens. Returns 0 and *out, or a negative NODUS_E* code
 * (NODUS_EEXIST when the address is in use, NODUS_EINVAL for a bad
 * address). */
int epmd_server_start(uv_loop_t *loop, const epmd_server_opts *opts,
                      epmd_server **out);
/* The port it listens on (useful after port 0). */
int epmd_server_port(const epmd_server *srv);
/* How many names are registered. */
size_t epmd_server_count(const epmd_server *srv);
/* Stops listening, drops every client and registration, and frees the
 * server once libuv has closed all its handles; then calls done (may be
 * NULL) with done_arg. No events are reported after this call. */
void epmd_server_close(epmd_server *srv, void (*done)(void *done_arg),
                       void *done_arg);

#endif
