/* Distribution control messages: the wire format of every control tuple
 * the runtime sends or receives. Builders make the tuples (choosing the
 * PAYLOAD_/SEND_SENDER forms from the peer's flags); the decoder splits a
 * received message into control and payload, checks the tuple's shape for
 * its op once (exact arity, pids, references, atoms where BEAM requires
 * them) and names its fields, so the runtime never reads by position. */
#ifndef NODUS_DIST_CONTROL_H
#define NODUS_DIST_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "distribution/dist_flags.h"
#include "nodus/term.h"

enum dist_ctl_op {
  CTL_LINK = 1,
  CTL_SEND = 2,
  CTL_EXIT = 3,
  CTL_UNLINK = 4,
  CTL_NODE_LINK = 5,
  CTL_REG_SEND = 6,
  CTL_GROUP_LEADER = 7,
  CTL_EXIT2 = 8,
  CTL_SEND_TT = 12,
  CTL_EXIT_TT = 13,
  CTL_REG_SEND_TT = 16,
  CTL_EXIT2_TT = 18,
  CTL_MONITOR_P = 19,
  CTL_DEMONITOR_P = 20,
  CTL_MONITOR_P_EXIT = 21,
  CTL_SEND_SENDER = 22,
  CTL_SEND_SENDER_TT = 23,
  CTL_PAYLOAD_EXIT = 24,
  CTL_PAYLOAD_EXIT_TT = 25,
  CTL_PAYLOAD_EXIT2 = 26,
  CTL_PAYLOAD_EXIT2_TT = 27,
  CTL_PAYLOAD_MONITOR_P_EXIT = 28,
  CTL_SPAWN_REQUEST = 29,
  CTL_SPAWN_REQUEST_TT = 30,
  CTL_SPAWN_REPLY = 31,
  CTL_SPAWN_REPLY_TT = 32,
  CTL_ALIAS_SEND = 33,
  CTL_ALIAS_SEND_TT = 34,
  CTL_UNLINK_ID = 35,
  CTL_UNLINK_ID_ACK = 36,
};

/* SPAWN_REPLY flags: what the spawning node set up for the requester. */
#define DIST_SPAWN_FLAG_LINK 1
#define DIST_SPAWN_FLAG_MONITOR 2

/* ---- decoded messages --------------------------------------------------- */

/* The named fields of each family. They borrow: each points into the
 * message's control tuple (or, for a reason carried as the payload, at
 * msg->payload). token is the trace token of the _TT forms, else NULL. */

/* SEND, SEND_TT, SEND_SENDER(_TT), REG_SEND(_TT), ALIAS_SEND(_TT); the
 * message is the payload. */
struct dist_ctl_send {
  const nodus_term *from; /* the sender (REG_SEND: a pid); NULL for SEND
                             and SEND_TT, whose slot is the unused '' */
  const nodus_term *to;   /* SEND*: a pid; REG_SEND*: a name (atom);
                             ALIAS_SEND*: the alias (reference) */
  const nodus_term *token;
};
/* LINK, UNLINK: pids. */
struct dist_ctl_link {
  const nodus_term *from, *to;
};
/* UNLINK_ID, UNLINK_ID_ACK: pids and the unlink id (UNLINK_ID: not 0). */
struct dist_ctl_unlink_id {
  uint64_t id;
  const nodus_term *from, *to;
};
/* EXIT, EXIT2 and their _TT and PAYLOAD_ forms: pids; reason is in the
 * control tuple, or the payload when `payload`. link: an exit signal of a
 * broken link (EXIT), else exit/2 (EXIT2). */
struct dist_ctl_exit {
  const nodus_term *from, *to, *reason, *token;
  bool link, payload;
};
/* MONITOR_P, DEMONITOR_P: from is the watcher (a pid), to the watched pid
 * or name (atom), ref a reference. */
struct dist_ctl_monitor {
  const nodus_term *from, *to, *ref;
};
/* MONITOR_P_EXIT, PAYLOAD_MONITOR_P_EXIT: from is the watched pid or name
 * that ended, to the watcher (a pid), ref a reference; reason in the
 * tuple or (payload) the payload. */
struct dist_ctl_monitor_exit {
  const nodus_term *from, *to, *ref, *reason;
  bool payload;
};
/* SPAWN_REQUEST(_TT): {29, ReqId, From, GroupLeader, {M, F, Arity},
 * Opts}; the argument list is the payload (args). */
struct dist_ctl_spawn_request {
  const nodus_term *req_id;       /* a reference */
  const nodus_term *from;         /* a pid */
  const nodus_term *group_leader; /* a pid */
  nodus_atom module, function;
  uint32_t arity;
  const nodus_term *opts; /* a proper list */
  const nodus_term *args; /* the payload */
  const nodus_term *token;
};
/* SPAWN_REPLY(_TT): {31, ReqId, To, Flags, Result}. */
struct dist_ctl_spawn_reply {
  const nodus_term *req_id; /* a reference */
  const nodus_term *to;     /* the requester, a pid */
  unsigned flags;           /* DIST_SPAWN_FLAG_* */
  const nodus_term *result; /* the new pid, or an error atom */
  const nodus_term *token;
};
/* GROUP_LEADER: pids. */
struct dist_ctl_group_leader {
  const nodus_term *leader, *member;
};

/* A decoded message: op, the control tuple and the payload when the op
 * carries one (NODUS_T_NONE otherwise), and the fields of op's family
 * (NODE_LINK has none). The fields may point at payload: a message is
 * used where it was decoded, never copied by value, except a send (whose
 * fields point into the control tuple only). */
typedef struct dist_ctl_msg {
  int op;
  nodus_term control;
  nodus_term payload;
  const char *why; /* after a failed decode: what was wrong (static) */
  union {
    struct dist_ctl_send send;
    struct dist_ctl_link link;
    struct dist_ctl_unlink_id unlink_id;
    struct dist_ctl_exit exit;
    struct dist_ctl_monitor monitor;
    struct dist_ctl_monitor_exit monitor_exit;
    struct dist_ctl_spawn_request spawn_request;
    struct dist_ctl_spawn_reply spawn_reply;
    struct dist_ctl_group_leader group_leader;
  };
} dist_ctl_msg;

/* Decodes `len` bytes (control term then optional payload, each with 131)
 * and checks the control tuple's shape for its op. 0, or: NODUS_EBADETF
 * (the bytes are not the terms they should be), NODUS_EPROTO (a control
 * tuple of the wrong shape for its op), NODUS_EUNSUPPORTED (an unknown
 * op), or a decoding limit's error; msg->why says what was wrong, msg->op
 * is set once the op was read. The message is freeable whatever the
 * outcome. */
int dist_ctl_decode(const uint8_t *buf, size_t len,
                    const nodus_decode_opts *opts, dist_ctl_msg *msg);
/* The same for terms without version bytes (after a distribution
 * header). */
int dist_ctl_decode_unversioned(const uint8_t *buf, size_t len,
                                const nodus_decode_opts *opts,
                                dist_ctl_msg *msg);
/* Checks msg->control's shape for its op and fills msg->op and the named
 * fields (the decoders' second half): 0, NODUS_EPROTO or
 * NODUS_EUNSUPPORTED, with msg->why. The payload is not looked at. */
int dist_ctl_parse(dist_ctl_msg *msg);
/* One payload term, as the decoders read it: with its 131 (versioned) or
 * without. *used gets the bytes it took. */
int dist_ctl_decode_payload(const uint8_t *buf, size_t len, bool versioned,
                            const nodus_decode_opts *opts, nodus_term *out,
                            size_t *used);
void dist_ctl_free(dist_ctl_msg *msg);
/* Whether an op is followed by a payload term. */
int dist_ctl_has_payload(int op);
/* The op's name without CTL_ ("SEND_SENDER"), "unknown" for others. */
const char *dist_ctl_op_name(int op);

/* ---- builders ------------------------------------------------------------ */

/* Each gives *out an owned control tuple (arguments are copied) and, where
 * the op may carry one, *payload the payload term (NODUS_T_NONE when the
 * chosen form has none); NODUS_ENOMEM leaves nothing to free. `flags` are
 * the peer's distribution flags. */

/* A message to a remote pid: {SEND_SENDER, From, To} when the peer has
 * DFLAG_SEND_SENDER and there is a sender, else {SEND, '', To}. */
int dist_ctl_send(nodus_term *out, uint64_t flags, const nodus_term *from,
                  const nodus_term *to);
/* {REG_SEND, From, '', Name}. */
int dist_ctl_reg_send(nodus_term *out, const nodus_term *from,
                      nodus_atom name);
/* {ALIAS_SEND, From, Alias}. */
int dist_ctl_alias_send(nodus_term *out, const nodus_term *from,
                        const nodus_term *alias);
/* {LINK, From, To}. */
int dist_ctl_link(nodus_term *out, const nodus_term *from,
                  const nodus_term *to);
/* {UNLINK_ID, Id, From, To} and {UNLINK_ID_ACK, Id, From, To}. */
int dist_ctl_unlink_id(nodus_term *out, uint64_t id, const nodus_term *from,
                       const nodus_term *to);
int dist_ctl_unlink_id_ack(nodus_term *out, uint64_t id,
                           const nodus_term *from, const nodus_term *to);
/* An exit signal: of a broken link (link: EXIT) or exit/2 (EXIT2); with
 * DFLAG_EXIT_PAYLOAD {PAYLOAD_EXIT(2), From, To} and the reason as the
 * payload, else {EXIT(2), From, To, Reason}. */
int dist_ctl_exit(nodus_term *out, nodus_term *payload, uint64_t flags,
                  bool link, const nodus_term *from, const nodus_term *to,
                  const nodus_term *reason);
/* {MONITOR_P, From, To, Ref} and {DEMONITOR_P, From, To, Ref}: From the
 * watcher, To the watched pid or name. */
int dist_ctl_monitor(nodus_term *out, const nodus_term *from,
                     const nodus_term *to, const nodus_term *ref);
int dist_ctl_demonitor(nodus_term *out, const nodus_term *from,
                       const nodus_term *to, const nodus_term *ref);
/* The watched (from: pid or name) ended: with DFLAG_EXIT_PAYLOAD
 * {PAYLOAD_MONITOR_P_EXIT, From, To, Ref} and the reason as the payload,
 * else {MONITOR_P_EXIT, From, To, Ref, Reason}. */
int dist_ctl_monitor_exit(nodus_term *out, nodus_term *payload,
                          uint64_t flags, const nodus_term *from,
                          const nodus_term *to, const nodus_term *ref,
                          const nodus_term *reason);
/* {29, ReqId, From, GroupLeader, {Module, Function, Arity}, Opts}; the
 * argument list goes as the payload (the caller's). */
int dist_ctl_spawn_request(nodus_term *out, const nodus_term *req_id,
                           const nodus_term *from, const nodus_term *group_leader,
                           nodus_atom module, nodus_atom function,
                           uint32_t arity, const nodus_term *opts);
/* {31, ReqId, To, Flags, Result}: Result is the new pid or an error atom. */
int dist_ctl_spawn_reply(nodus_term *out, const nodus_term *req_id,
                         const nodus_term *to, unsigned flags,
                         const nodus_term *result);

/* Encodes control and payload (NONE: none) into one malloc'd buffer, each
 * with its 131. The runtime encodes straight into the connection's buffer;
 * this is the encoder of the fuzz target's round trip. */
int dist_ctl_encode(const nodus_term *control, const nodus_term *payload,
                    uint8_t **out, size_t *len);

#endif
