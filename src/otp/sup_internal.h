/* Supervisors inside the otp layer: what the task supervisor (task_sup.c)
 * needs beyond the public supervisor.h. */
#ifndef NODUS_OTP_SUP_INTERNAL_H
#define NODUS_OTP_SUP_INTERNAL_H

#include "nodus/supervisor.h"
#include "otp/otp_internal.h"

/* Starts a supervisor; parent (may be NULL) is linked and its EXIT shuts
 * the supervisor down. With tasks, it also answers Task.Supervisor's
 * {start_task, Args, Restart, Shutdown} (a dynamic child started with
 * Args, which the template's start function reads). *pid and *reason as
 * nodus_supervisor_start's. */
int otp_sup_start(nodus_node *node, nodus_proc *parent,
                  const nodus_sup_spec *spec, bool tasks, nodus_term *pid,
                  nodus_term *reason);

#endif
