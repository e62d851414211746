/* nodus — remote tasks, wire-compatible with Elixir's Task.Supervisor.
 *
 *   Task.Supervisor.async({Name, Node}, M, F, A) |> Task.await()
 *
 * works in both directions: a C thread runs a function under the task
 * supervisor of any node (an Elixir one, or a C one), and a C node runs a
 * task supervisor that Elixir (and C) callers start tasks on; the tasks
 * run C functions registered with nodus_register_function (otp.h).
 *
 * The protocol, as Elixir 1.14 speaks it: the caller asks the supervisor
 * with gen_server:call {start_task, [{Node, NameOrPid, Pid}, monitor],
 * temporary, nil} and gets {ok, TaskPid}; it links to and monitors the
 * task, and sends it {Pid, Ref, ReplyTo, Callers, {M, F, A}}. The task
 * monitors the caller, runs M:F(A...) and sends {Ref, Result} to ReplyTo,
 * or crashes, which the caller sees in the monitor's DOWN. */
#ifndef NODUS_TASK_H
#define NODUS_TASK_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_task nodus_task;

/* Task.Supervisor.async from a thread: starts module:function(args...)
 * under `supervisor` (a pid, a local name atom or {Name, Node}) and
 * returns at once; the outcome comes with nodus_task_await. args (a list)
 * is taken. Thread-safe; not from a handler (use nodus_task_async_from). */
int nodus_task_async(nodus_node *node, const nodus_term *supervisor,
                     const char *module, const char *function,
                     nodus_term args, nodus_task **task);
/* Task.await: waits up to timeout_ms (-1: forever) and frees the task.
 * 0 and *result = the function's value; NODUS_ENOCONN when the node is
 * down or went down mid-task; NODUS_ENOPROC when there is no such
 * supervisor; NODUS_EEXIT with *result = the exit reason when the task
 * crashed (e.g. {undef, [...]}, {Reason, Stack}) or the supervisor
 * refused it ({error, max_children}); NODUS_ETIMEDOUT, after which the
 * task is shut down (it is linked to its caller, as in Elixir). */
int nodus_task_await(nodus_task *task, int timeout_ms, nodus_term *result);
/* Task.shutdown: gives up the task (it is stopped) and frees it. */
void nodus_task_shutdown(nodus_task *task);

/* The same from a process: the outcome comes as one message
 * {nodus_task, Ref, {ok, Result} | {error, noconnection | noproc |
 * timeout | {exit, Reason}}}; *ref (owned) is Ref. timeout_ms -1: none.
 * The task ends if self ends first. */
int nodus_task_async_from(nodus_proc *self, const nodus_term *supervisor,
                          const char *module, const char *function,
                          nodus_term args, int timeout_ms, nodus_term *ref);

/* Starts a task supervisor registered as `name` (e.g.
 * "Elixir.Chat.TaskSupervisor"), the one Task.Supervisor.async and
 * start_child from Elixir or C talk to. Its tasks run registered
 * functions; an unknown one crashes the task with undef, as on BEAM. */
int nodus_task_supervisor_start(nodus_node *node, const char *name,
                                nodus_term *pid);

#ifdef __cplusplus
}
#endif
#endif
