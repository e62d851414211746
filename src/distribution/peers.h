/* The peer table: a node's connections to other nodes, one per node name.
 *
 * A peer exists from the first send to its name (or from an accepted
 * connection that named it) until its connection goes down. The first
 * send connects (epmd PORT_PLEASE2, or a port given by
 * dist_peers_set_port, then TCP, then the handshake); messages sent before
 * the handshake ends wait here, encoded, and go out in order once it is
 * up, or are dropped if it never comes up (as BEAM drops sends to a node
 * it cannot reach). Two nodes that connect to each other at once keep one
 * connection, as dist_util does: the larger name keeps its own attempt.
 *
 * What the runtime sees: sends to a node name, and three callbacks, a
 * message arrived, a peer came up, a peer left. Everything runs on the
 * node's loop. */
#ifndef NODUS_DIST_PEERS_H
#define NODUS_DIST_PEERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "distribution/control.h"
#include "distribution/limits.h"
#include "nodus/term.h"

typedef struct dist_peers dist_peers;
typedef struct dist_peer dist_peer;

/* A peer left the table. */
typedef struct dist_peer_down {
  nodus_atom name;
  void *user;  /* its user area (dist_peer_user), freed after on_down */
  bool was_up; /* on_up was called for it */
  bool hidden; /* it was up, as a hidden node */
  nodus_atom reason; /* as BEAM's nodedown_reason, when was_up */
} dist_peer_down;

typedef struct dist_peers_callbacks {
  /* The handshake with p ended well: nodeup. Messages that waited for it
   * have gone out. */
  void (*on_up)(dist_peer *p, bool hidden, void *arg);
  /* One whole message from p (dist_conn_callbacks.on_message); read it
   * with dist_peer_decode. */
  void (*on_message)(dist_peer *p, const uint8_t *msg, size_t len,
                     bool versioned, void *arg);
  /* A peer is gone: its connection went down, it could not be reached,
   * its connection was refused, or the table closed. It is out of the
   * table already, so a send to its name starts a new peer. */
  void (*on_down)(const dist_peer_down *down, void *arg);
} dist_peers_callbacks;

typedef struct dist_peers_config {
  uv_loop_t *loop;
  nodus_atom this_node;
  const char *this_name; /* our full name, name@host; copied */
  const char *cookie;    /* copied */
  uint64_t flags;        /* what we offer (dist_flags.h) */
  uint32_t creation;     /* until dist_peers_set_creation */
  unsigned ticktime_ms;
  int epmd_port; /* where peers' epmds listen */
  /* What peers may send; zero fields: the defaults. */
  dist_limits limits;
  /* Bytes of zeroed user area each peer carries (dist_peer_user). */
  size_t user_size;
  dist_peers_callbacks cb;
  void *arg;
  /* Log hook: level as NODUS_LOG_*; one line, printf-style. */
  void (*log)(void *arg, int level, const char *fmt, va_list ap);
} dist_peers_config;

int dist_peers_new(const dist_peers_config *cfg, dist_peers **out);
/* Accepts connections on addr:port (0: any port); *bound gets the port.
 * 0, NODUS_EINVAL, NODUS_EEXIST (in use) or NODUS_ENET. */
int dist_peers_listen(dist_peers *ps, const char *addr, int port, int *bound);
/* The creation epmd gave us, for handshakes from now on. */
void dist_peers_set_creation(dist_peers *ps, uint32_t creation);
/* The node is stopping: no new peers or accepted connections from now
 * on; the peers there carry on until dist_peers_close. */
void dist_peers_stop(dist_peers *ps);
/* Stops listening and closes every connection; each peer leaves through
 * on_down. The closes finish on the loop: run it before dist_peers_free. */
void dist_peers_close(dist_peers *ps);
void dist_peers_free(dist_peers *ps);

/* The peer of that name; with connect, one is started when there is none
 * (NULL: the name has no host, we are stopping, it is our own name, or no
 * resources; a start that fails at once has been through on_down). */
dist_peer *dist_peers_get(dist_peers *ps, nodus_atom name, bool connect);
/* Sends a control tuple (taken) and a payload (taken; NODUS_T_NONE for
 * none) to a node, connecting if needed. NODUS_ENOCONN: no peer. */
int dist_peers_send(dist_peers *ps, nodus_atom name, nodus_term control,
                    nodus_term payload);
/* The flags negotiated with an up peer; before that, what every OTP 25
 * node offers, for choosing the form of a control message. */
uint64_t dist_peers_flags(const dist_peers *ps, nodus_atom name);
/* Where name listens (no epmd asked); 0 forgets it. */
int dist_peers_set_port(dist_peers *ps, nodus_atom name, int port);
/* Whether name's last handshake failed on the cookie; forgets it. */
bool dist_peers_take_auth_refused(dist_peers *ps, nodus_atom name);
/* erlang:disconnect_node/1: closes name's connection, if any (its
 * nodedown reason is disconnect). */
void dist_peers_disconnect(dist_peers *ps, nodus_atom name);
/* Iterates over the peers: *cursor starts at 0; NULL at the end. */
dist_peer *dist_peers_next(const dist_peers *ps, size_t *cursor);

nodus_atom dist_peer_name(const dist_peer *p);
bool dist_peer_up(const dist_peer *p);
uint64_t dist_peer_flags(const dist_peer *p); /* dist_peers_flags */
void *dist_peer_user(dist_peer *p);
/* The copy-free send of a message whose control is encoded already
 * (ctl_len bytes with its 131), as one frame on an up connection: 1 when
 * sent (payload taken), 0 when p is not up or the message does not go as
 * one frame (payload untouched: send it otherwise), <0 an error (payload
 * taken). */
int dist_peer_send_encoded(dist_peer *p, const uint8_t *ctl, size_t ctl_len,
                           nodus_term *payload);
/* Decodes a message p sent (on_message's bytes) into msg (free it with
 * dist_ctl_free). A malformed or unknown one closes p's connection, as
 * BEAM does, with a log line saying what was wrong; one that is well
 * formed but over a limit (new atoms when the atom table has no room for
 * peers' atoms, too many new atoms, memory) is dropped alone with a
 * rate-limited log line. Either way it returns the error (msg then needs
 * no free). */
int dist_peer_decode(dist_peer *p, const uint8_t *data, size_t len,
                     bool versioned, dist_ctl_msg *msg);
/* The decoding limits of p's messages, for decoding parts of one. */
const nodus_decode_opts *dist_peer_decode_opts(const dist_peer *p);
/* Whether rc, from decoding a message of p's (or a part of one), puts
 * it over a limit: then it is logged as dropped (rate-limited), and the
 * message must not be decoded again (the atoms a first try made would
 * not count as new). op and why name it, as dist_ctl_msg does. */
bool dist_peer_drop(dist_peer *p, int rc, int op, const char *why);

#endif
