/* EPMD client on a libuv loop: register this node, look up another node's
 * port, list the names an epmd knows. Everything runs on the caller's loop
 * through callbacks and never blocks; each operation has a deadline and
 * closes its own handles on every path.
 *
 * Operations are library-allocated `epmd_op`s:
 * - epmd_register(): the registration lives as long as its TCP connection
 *   (closing it unregisters, that is epmd's rule), so the op stays until
 *   epmd_unregister(). Call epmd_unregister() exactly once for every op
 *   epmd_register() handed out, whatever the callbacks said.
 * - epmd_port_please() and epmd_names(): one shot. The callback is called
 *   exactly once (unless cancelled) and the op is freed after it returns;
 *   epmd_cancel() before that drops the op without a callback.
 * Start functions that fail return a negative NODUS_E* code and call no
 * callback. Callbacks may call epmd_unregister()/start new operations. */
#ifndef NODUS_DIST_EPMD_CLIENT_H
#define NODUS_DIST_EPMD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "epmd_proto.h"

/* erl_epmd waits 10 s for a reply; so do we unless told otherwise. */
#define EPMD_CLIENT_TIMEOUT_MS 10000

typedef struct epmd_client_opts {
  const char *host;    /* IP literal or host name; NULL: "127.0.0.1" */
  int port;            /* 0: $ERL_EPMD_PORT, else 4369 */
  unsigned timeout_ms; /* 0: EPMD_CLIENT_TIMEOUT_MS */
} epmd_client_opts;

typedef struct epmd_op epmd_op;

/* The port an opts asks for: opts->port, else $ERL_EPMD_PORT, else 4369. */
int epmd_client_port(const epmd_client_opts *opts);

/* ---- register ---- */

/* status 0: registered, creation as epmd assigned it (a 16-bit one from an
 * old epmd). NODUS_EEXIST: epmd refused the name (OTP reads any error
 * result as a duplicate name). Other negative codes: connect/timeout/
 * protocol failure. After a success the callback is called once more if
 * the connection to epmd is lost (status NODUS_ENOCONN, creation 0): the
 * node is then unregistered; unregister and register again to recover. */
typedef void (*epmd_register_cb)(epmd_op *op, int status, uint32_t creation,
                                 void *data);

/* Registers `node_name` ("name@host" or "name"; the part before '@' is sent)
 * as listening on listen_port, as a normal (or hidden) node speaking
 * distribution versions 6..5, as OTP 25 registers. The timeout covers the
 * connect and the reply only. */
int epmd_register(uv_loop_t *loop, const epmd_client_opts *opts,
                  const char *node_name, uint16_t listen_port, bool hidden,
                  epmd_register_cb cb, void *data, epmd_op **out);
/* Closes the registration connection (so epmd forgets the name) and frees
 * the op once libuv has closed its handles. No more callbacks. */
void epmd_unregister(epmd_op *op);

/* ---- port please ---- */

/* status 0: *node holds the port, node type and version range (valid
 * during the call). NODUS_ENOTFOUND: epmd doesn't know the name. */
typedef void (*epmd_port_cb)(int status, const epmd_node_info *node,
                             void *data);

int epmd_port_please(uv_loop_t *loop, const epmd_client_opts *opts,
                     const char *node_name, epmd_port_cb cb, void *data,
                     epmd_op **out /* may be NULL */);

/* ---- names ---- */

typedef struct epmd_name_list {
  uint32_t epmd_port; /* as epmd reported it */
  epmd_name_entry *entries; /* malloc'd; free with epmd_name_list_free */
  size_t count;
} epmd_name_list;

void epmd_name_list_free(epmd_name_list *list);

/* status 0: *list is valid during the call (copy what you keep). */
typedef void (*epmd_names_cb)(int status, const epmd_name_list *list,
                              void *data);

int epmd_names(uv_loop_t *loop, const epmd_client_opts *opts,
               epmd_names_cb cb, void *data, epmd_op **out /* may be NULL */);

/* Drops a pending one-shot op without calling its callback. Only before
 * the callback has run. */
void epmd_cancel(epmd_op *op);

/* ---- blocking wrappers for the command line (a private loop each) ---- */

/* Fills *out (free with epmd_name_list_free). */
int epmd_names_sync(const epmd_client_opts *opts, epmd_name_list *out);
/* 0 and *out filled, NODUS_ENOTFOUND, or a failure code. */
int epmd_port_please_sync(const epmd_client_opts *opts, const char *node_name,
                          epmd_node_info *out);

#endif
