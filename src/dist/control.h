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
/* Encodes control and payload (NONE: none) into one malloc'd buffer. */
int dist_ctl_encode(const nodus_term *control, const nodus_term *payload,
                    uint8_t **out, size_t *len);

#endif
