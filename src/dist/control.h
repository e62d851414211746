/* Distribution control messages: the operation codes, and splitting a
 * received message into its control tuple and payload. */
#ifndef NODUS_DIST_CONTROL_H
#define NODUS_DIST_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "dist/dist_flags.h"
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

/* A decoded message: the control tuple, and the payload when the
 * operation carries one (NODUS_T_NONE otherwise). */
typedef struct dist_ctl_msg {
  int op;
  nodus_term control;
  nodus_term payload;
} dist_ctl_msg;

/* Decodes `len` bytes (control term then optional payload, each with 131)
 * and checks the control tuple's shape for its op: NODUS_EBADETF for a
 * malformed message, NODUS_EUNSUPPORTED for an unknown op (msg->op set). */
int dist_ctl_decode(const uint8_t *buf, size_t len,
                    const nodus_decode_opts *opts, dist_ctl_msg *msg);
/* The same for terms without version bytes (after a fragment header). */
int dist_ctl_decode_unversioned(const uint8_t *buf, size_t len,
                                const nodus_decode_opts *opts,
                                dist_ctl_msg *msg);
void dist_ctl_free(dist_ctl_msg *msg);
/* Whether an op is followed by a payload term. */
int dist_ctl_has_payload(int op);
/* SPAWN_REPLY flags: what the spawning node set up for the requester. */
#define DIST_SPAWN_FLAG_LINK 1
#define DIST_SPAWN_FLAG_MONITOR 2

/* Typed builders of control tuples: *out gets an owned tuple (the
 * arguments are copied), or the call fails with NODUS_ENOMEM. */
/* {29, ReqId, From, GroupLeader, {Module, Function, Arity}, Opts}; the
 * argument list goes as the payload. */
int dist_ctl_spawn_request(nodus_term *out, const nodus_term *req_id,
                           const nodus_term *from, const nodus_term *group_leader,
                           nodus_atom module, nodus_atom function,
                           uint32_t arity, const nodus_term *opts);
/* {31, ReqId, To, Flags, Result}: Result is the new pid or an error atom. */
int dist_ctl_spawn_reply(nodus_term *out, const nodus_term *req_id,
                         const nodus_term *to, unsigned flags,
                         const nodus_term *result);

/* Encodes control and payload (NONE: none) into one malloc'd buffer. */
int dist_ctl_encode(const nodus_term *control, const nodus_term *payload,
                    uint8_t **out, size_t *len);

#endif
