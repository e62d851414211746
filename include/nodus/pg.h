/* nodus — process groups, wire-compatible with OTP's pg (OTP 23+).
 *
 * A scope is a process registered under the scope's name on every node
 * that runs it; scopes of the same name find each other (on start and on
 * nodeup), exchange their local members and keep each other up to date,
 * exactly as pg.erl does, so C and BEAM nodes share groups. A group is
 * any term; members are pids; a pid may join a group more than once and
 * then appears that many times. A group exists while it has members.
 *
 * Threads: every call is thread-safe and may also be made from a handler.
 * Reads (get_members, which_groups) take the scope's read lock and never
 * wait for the loop, as pg reads its ETS table; changes (join, leave,
 * monitors) run on the node's loop and return when done, as pg's calls.
 *
 * Lifetime, the same as a pub/sub handle's (pubsub.h): nodus_pg_start
 * gives a handle, nodus_pg_close ends it, once. Closing stops the scope
 * (pg's scope process ends and its members leave everywhere) and frees the
 * handle. Close before or after nodus_node_close, as you like: after it
 * the scope has already ended with the node and close only frees; but not
 * while nodus_node_close runs on another thread. Every other call needs
 * the node: not after nodus_node_close. Once the scope has ended (closed
 * through another handle, or the node closing), changes return
 * NODUS_ESTATE and reads return empty lists.
 *
 * Shared scopes: a second nodus_pg_start of a running scope gives another
 * handle to the same scope (pub/sub holds one to its own). Closing any
 * handle stops the scope for all; nodus_pg_release gives a handle up
 * without stopping it, so the scope then runs until some holder closes
 * it or the node closes. */
#ifndef NODUS_PG_H
#define NODUS_PG_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_pg nodus_pg;

/* pg:start(Scope): starts the scope `name` on the node, or gives another
 * reference to it when this node already runs it. NODUS_EEXIST when some
 * other process holds the name. */
int nodus_pg_start(nodus_node *node, const char *scope, nodus_pg **pg);
/* Stops the scope (if it still runs) and frees pg. NULL: nothing. */
void nodus_pg_close(nodus_pg *pg);
/* Frees pg and leaves the scope running. NULL: nothing. */
void nodus_pg_release(nodus_pg *pg);
nodus_atom nodus_pg_scope_name(const nodus_pg *pg);

/* pg:join/leave: pid_or_pids is a pid or a list of pids of this node
 * (NODUS_EINVAL otherwise). leave gives NODUS_ENOMATCH (not_joined) when
 * none of them was in the group. */
int nodus_pg_join(nodus_pg *pg, const nodus_term *group,
                  const nodus_term *pid_or_pids);
int nodus_pg_leave(nodus_pg *pg, const nodus_term *group,
                   const nodus_term *pid_or_pids);

/* Lists of pids (owned by the caller): every member, or this node's. */
int nodus_pg_get_members(nodus_pg *pg, const nodus_term *group,
                         nodus_term *pids);
int nodus_pg_get_local_members(nodus_pg *pg, const nodus_term *group,
                               nodus_term *pids);
/* Lists of groups with members anywhere, or with members here. */
int nodus_pg_which_groups(nodus_pg *pg, nodus_term *groups);
int nodus_pg_which_local_groups(nodus_pg *pg, nodus_term *groups);

/* pg:monitor_scope/monitor (OTP 25.1+): `watcher` (a pid, usually local)
 * then gets {Ref, join | leave, Group, [Pid]} for every change, in the
 * scope or in one group, until it exits or nodus_pg_demonitor. *ref gets
 * Ref; *groups the scope's groups now, #{Group => [Pid]}; *members the
 * group's members now. All owned by the caller. */
int nodus_pg_monitor_scope(nodus_pg *pg, const nodus_term *watcher,
                           nodus_term *ref, nodus_term *groups);
int nodus_pg_monitor(nodus_pg *pg, const nodus_term *group,
                     const nodus_term *watcher, nodus_term *ref,
                     nodus_term *members);
/* NODUS_ENOMATCH (false) for an unknown ref. Notifications already sent
 * stay in the watcher's queue (pg:demonitor flushes them; C can't). */
int nodus_pg_demonitor(nodus_pg *pg, const nodus_term *ref);

#ifdef __cplusplus
}
#endif
#endif
