/* nodus test kit: local clusters of C and BEAM nodes, real network faults,
 * operation histories and checkers.
 *
 * A kit starts N nodes as separate OS processes. In netns mode (the
 * default when the machine allows it) each node gets its own network
 * namespace ("host") with address 10.77.S.i on a bridge that lives in a
 * namespace of its own; a blackhole route for 10.77.S.0/24 in the root
 * namespace guarantees no test packet leaves the machine. Faults are nft
 * tables inside the node namespaces, signals, and an NFQUEUE delay helper.
 * Where namespaces cannot be made, loopback mode runs every node on
 * 127.0.0.1 with a private epmd port; network faults then fail with
 * NODUS_EUNSUPPORTED (kill, restart, pause, resume and clock skew still work).
 *
 * Control is out of band, never over the network under test: every node's
 * stdin is a FIFO in the state dir and its stdout/stderr a log file there.
 * BEAM nodes run an eval loop on stdin ("@ID Expr." in, "@ID Reply" out)
 * and print "#nodeup N"/"#nodedown N" lines; C nodes are driven by signals
 * and print "#nodeup N"/"#nodedown N REASON" from the node-events API
 * (nodus_node_events_subscribe, as echo_node does), so both kinds tell
 * the kit the same way. A program given with --exec prints those lines
 * for the kit to see its connections.
 *
 * Nodes are numbered 1..N everywhere (API, CLI, names PREFIXnI). Every call
 * returns 0 or a negative NODUS_E* code. Strings returned are owned by the
 * kit unless said otherwise.
 */
#ifndef NODUS_TESTKIT_H
#define NODUS_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <nodus.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NODUS_KIT_MAX_NODES 32
#define NODUS_KIT_FAMILY "nk" /* every run prefix starts with this */

typedef struct nodus_kit nodus_kit;

enum nodus_kit_kind { NODUS_KIT_C = 0, NODUS_KIT_BEAM = 1 };
enum nodus_kit_net {
  NODUS_KIT_NET_AUTO = 0, /* netns when possible, else loopback */
  NODUS_KIT_NET_NETNS,    /* fail when namespaces cannot be made */
  NODUS_KIT_NET_LOOPBACK,
};

typedef struct nodus_kit_opts {
  int nodes;             /* N, 1..NODUS_KIT_MAX_NODES */
  int beam;              /* the last `beam` of the N are BEAM nodes */
  const char *exec;      /* C node binary; NULL: <bindir>/echo_node */
  const char *const *exec_args; /* extra args for C nodes, NULL-terminated */
  const char *cookie;    /* NULL: a random one per run */
  const char *state_dir; /* NULL: /tmp/nodus-kit-PREFIX (removed on down) */
  const char *bin_dir;   /* NULL: $NODUS_BIN_DIR, else the build's bin */
  int net;               /* enum nodus_kit_net */
  int ticktime_s;        /* net_ticktime of every node; 0: 4 */
  bool elixir;           /* BEAM nodes get Elixir's code paths (-pa) */
  bool persist;          /* nodes outlive this process (the CLI) */
  int ready_timeout_ms;  /* 0: 20000 */
  FILE *log;             /* fault and progress log echo; NULL: quiet */
} nodus_kit_opts;

/* Makes the hosts, starts every node, waits until each answers. On failure
 * everything made so far is removed. Installs atexit and signal handlers
 * (SIGINT, SIGTERM, SIGHUP) that tear the kit down. */
int nodus_kit_up(nodus_kit **kit, const nodus_kit_opts *opts);
/* For tests: N nodes (the last `beam` BEAM), defaults otherwise, progress
 * and faults echoed to stderr. Prints why when it fails. */
int nodus_kit_fixture(nodus_kit **kit, int nodes, int beam,
                      const char *const *exec_args);
/* Re-opens a persisted kit from its state dir (the CLI). */
int nodus_kit_attach(nodus_kit **kit, const char *state_dir);
/* Stops every node, removes namespaces, route, state dir; frees the kit. */
void nodus_kit_down(nodus_kit *kit);
/* Frees the kit's memory, leaving the cluster running (the CLI). */
void nodus_kit_detach(nodus_kit *kit);
/* Removes every namespace, route and process whose run prefix starts with
 * `prefix` (NULL: NODUS_KIT_FAMILY, i.e. every kit run). Returns how many
 * things it removed. For crashed runs and `nodus cluster down`. */
int nodus_kit_cleanup(const char *prefix);

int nodus_kit_size(const nodus_kit *kit);
bool nodus_kit_netns(const nodus_kit *kit); /* false: loopback mode */
const char *nodus_kit_prefix(const nodus_kit *kit);
const char *nodus_kit_cookie(const nodus_kit *kit);
const char *nodus_kit_state_dir(const nodus_kit *kit);
const char *nodus_kit_node_name(const nodus_kit *kit, int i); /* full name */
const char *nodus_kit_node_ip(const nodus_kit *kit, int i);
const char *nodus_kit_node_netns(const nodus_kit *kit, int i); /* NULL: none */
int nodus_kit_node_kind(const nodus_kit *kit, int i);
int nodus_kit_node_pid(const nodus_kit *kit, int i); /* 0: not running */
bool nodus_kit_node_paused(const nodus_kit *kit, int i);
/* Monotonic nanoseconds, the clock of fault logs and histories. */
int64_t nodus_kit_now_ns(void);
/* A TCP port nothing listens on now (the kernel's pick for port 0), for a
 * private epmd or server: a port made up from the time or the pid can be
 * some other program's. -1 on error. */
int nodus_kit_free_port(void);

/* ---- out-of-band control ------------------------------------------------ */

/* BEAM nodes: evaluates `expr` (Erlang expressions ending in '.') on node i,
 * *reply gets "{ok,Value}" or "{error,{Class,Reason}}" on one line
 * (malloc'd, caller frees). NODUS_ETIMEDOUT when no answer in time (paused
 * node), NODUS_EBADTYPE for a C node. */
int nodus_kit_eval(nodus_kit *kit, int i, const char *expr, int timeout_ms,
                   char **reply);
/* Node i's log size now: a mark to search from. */
long nodus_kit_log_mark(const nodus_kit *kit, int i);
/* Counts lines of node i's log after `mark` that contain `needle`. */
int nodus_kit_log_count(const nodus_kit *kit, int i, long mark,
                        const char *needle);
/* Runs argv inside node i's host (namespace), waits, returns its exit
 * status (or a negative code); output goes to *out when out != NULL. */
int nodus_kit_run_on(nodus_kit *kit, int i, const char *const *argv,
                     int timeout_ms, char **out);
/* Node `from` reaches node `to`: BEAM nodes run net_adm:ping; for a C node
 * the kit makes it dial `to` (asks its net_kernel to answer to a pid on
 * `to`: C nodes connect on send) and pings `to` from from's host.
 * 0 pong, NODUS_ENOCONN pang. */
int nodus_kit_ping(nodus_kit *kit, int from, int to, int timeout_ms);

/* Whether node i itself holds a connection to node j (BEAM: nodes(); C:
 * the last #nodeup/#nodedown line about j in its log). */
bool nodus_kit_connected(nodus_kit *kit, int i, int j);

/* ---- faults: all logged with a timestamp --------------------------------- */

/* A grudge: drops[i] has bit j set when node i drops what node j sends.
 * The generators make symmetric grudges (both directions cut). */
typedef struct nodus_kit_grudge {
  int n;
  uint64_t drops[NODUS_KIT_MAX_NODES + 1];
} nodus_kit_grudge;

/* First half {1..n/2} against the rest. */
void nodus_kit_grudge_halves(nodus_kit_grudge *g, int n);
/* Node i alone against the rest. */
void nodus_kit_grudge_isolate(nodus_kit_grudge *g, int n, int i);
/* Two halves that cannot talk, and the middle node (n/2+1) that talks to
 * both: the partial partition that catches "connected to a majority". */
void nodus_kit_grudge_bridge(nodus_kit_grudge *g, int n);
/* Every node sees a majority (itself and its ring neighbours), but no two
 * adjacent nodes see the same majority. Needs n >= 5 to cut anything. */
void nodus_kit_grudge_ring(nodus_kit_grudge *g, int n);
/* "1,2/3" or "1/2/3,4": sides separated by '/', nodes by ','. A node on no
 * side is cut from everyone. NODUS_ESYNTAX on bad text. */
int nodus_kit_grudge_parse(nodus_kit_grudge *g, int n, const char *spec);
/* "1,2/3"-like text for logs (sides of the grudge's reachability). */
void nodus_kit_grudge_format(const nodus_kit_grudge *g, char *buf,
                             size_t size);

int nodus_kit_partition(nodus_kit *kit, const nodus_kit_grudge *g);
/* Removes partitions, loss and delay. */
int nodus_kit_heal(nodus_kit *kit);
int nodus_kit_kill(nodus_kit *kit, int i);    /* SIGKILL, waits for death */
int nodus_kit_restart(nodus_kit *kit, int i); /* kill if alive, start, ready */
int nodus_kit_pause(nodus_kit *kit, int i);   /* SIGSTOP; returns once every thread stopped */
int nodus_kit_resume(nodus_kit *kit, int i);  /* SIGCONT */
/* Drops `percent` of what node i (0: every node) receives. */
int nodus_kit_loss(nodus_kit *kit, int i, int percent);
/* Holds each packet node i (0: every node) receives for `ms`. */
int nodus_kit_delay(nodus_kit *kit, int i, int ms);
/* Restarts node i with its wall clock shifted by `seconds` (libfaketime;
 * monotonic time is left alone). 0 restores the real clock. */
int nodus_kit_skew(nodus_kit *kit, int i, int seconds);
/* Appends one line to the fault log (and opts.log): what the caller did. */
void nodus_kit_note(nodus_kit *kit, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The fault log: JSON lines {"time":ns,"fault":...,"detail":...}. */
const char *nodus_kit_fault_log(const nodus_kit *kit);

/* A seeded random schedule: `steps` faults, each held `hold_ms` and then
 * undone (heal, restart, resume), with `gap_ms` between them. The same
 * seed gives the same schedule. */
typedef struct nodus_kit_step {
  int kind; /* enum nodus_kit_fault */
  int node; /* for kill/pause/loss/delay */
  int amount; /* loss percent, delay ms */
  nodus_kit_grudge grudge;
} nodus_kit_step;
enum nodus_kit_fault {
  NODUS_KIT_F_PARTITION,
  NODUS_KIT_F_KILL,
  NODUS_KIT_F_PAUSE,
  NODUS_KIT_F_LOSS,
  NODUS_KIT_F_DELAY,
  NODUS_KIT_F_COUNT
};
/* Fills steps[0..count) from seed; network faults are left out when
 * netns is false. */
void nodus_kit_schedule(uint64_t seed, int n, bool netns,
                        nodus_kit_step *steps, int count);
int nodus_kit_schedule_run(nodus_kit *kit, uint64_t seed, int count,
                           int hold_ms, int gap_ms);
const char *nodus_kit_fault_name(int kind);

/* ---- histories ---------------------------------------------------------- */

/* One operation event. type: invoke, ok, fail or info (unknown outcome).
 * f: the operation ("read", "write", "cas", "acquire", "release",
 * "observe", ...). Values are integers; has_value false means null. */
typedef struct nodus_kit_op {
  int64_t time_ns;
  int process;
  char type[8];
  char f[16];
  char key[64];
  bool has_value;
  int64_t value;
  bool has_expect; /* cas: expected old value (null when !has_expect) */
  int64_t expect;
} nodus_kit_op;

typedef struct nodus_kit_history {
  nodus_kit_op *ops;
  size_t len, cap;
} nodus_kit_history;

/* A history file: one JSON object per line, e.g.
 * {"time":12,"process":1,"type":"invoke","f":"write","key":"k","value":3}
 * Appends are line-atomic (O_APPEND, one write). */
int nodus_kit_history_record(FILE *f, const nodus_kit_op *op);
int nodus_kit_history_add(nodus_kit_history *h, const nodus_kit_op *op);
/* Parses JSON lines; NODUS_ESYNTAX with the line number in *bad_line. */
int nodus_kit_history_load(nodus_kit_history *h, const char *path,
                           int *bad_line);
int nodus_kit_history_parse_line(const char *line, nodus_kit_op *op);
void nodus_kit_history_free(nodus_kit_history *h);

/* ---- checkers: 0 valid, 1 violation (explained in msg), <0 error --------- */

/* Singleton: a holder holds key from its ok "acquire" until its ok
 * "release" (info/fail release, or none: until the history ends). At any
 * instant at most one holder per key, except overlaps no longer than
 * allowance_ns (a handoff's grace). */
int nodus_kit_check_singleton(const nodus_kit_history *h,
                              int64_t allowance_ns, char *msg, size_t size);
/* Per-key linearizability of a register (read/write/cas, initial value
 * null) by Wing-Gong with Lowe's memoization. info means the op may or may
 * not have happened; fail means it did not. */
int nodus_kit_check_linearizable(const nodus_kit_history *h, char *msg,
                                 size_t size);
/* Convergence: ok "observe" ops (process = observer, value = what it saw).
 * Per key, the final value is the last one observed; the key converged
 * when every process that observed after heal_ns has been seen holding it
 * after the last observation of any other value. Valid when that is
 * within bound_ns of the heal. */
int nodus_kit_check_converged(const nodus_kit_history *h, int64_t heal_ns,
                              int64_t bound_ns, char *msg, size_t size);

/* Ticks of a scheduled job (nodus/cron.h), one record per run. */
typedef struct nodus_kit_tick {
  int64_t scheduled_ms; /* the tick's time */
  int64_t ran_ms;       /* when the run started */
  uint64_t epoch;       /* the owner's epoch */
  int process;          /* who ran it */
} nodus_kit_tick;

/* Valid when every scheduled time ran at most once; epochs never go down
 * in scheduled-time order and a tick run by another process than the one
 * before has a higher epoch (each new owner's is above every older one);
 * with max_gap_ms > 0, no two consecutive ticks that ran are further
 * apart than that, nor the first from from_ms or the last from to_ms
 * (when given, > 0). Sorts ticks in place. */
int nodus_kit_check_ticks(nodus_kit_tick *ticks, size_t n, int64_t max_gap_ms,
                          int64_t from_ms, int64_t to_ms, char *msg, size_t size);

/* ---- waiting ------------------------------------------------------------ */

/* Polls cond(arg) every poll_ms until true or timeout_ms pass. 0 when it
 * became true, NODUS_ETIMEDOUT otherwise. */
int nodus_kit_wait(bool (*cond)(void *arg), void *arg, int timeout_ms,
                   int poll_ms);
/* EVENTUALLY(expr, ms): true when expr became true within ms. */
#define NODUS_EVENTUALLY(expr, ms)                                       \
  ({                                                                     \
    int64_t ev_deadline_ = nodus_kit_now_ns() + (int64_t)(ms)*1000000;  \
    bool ev_ok_;                                                         \
    while (!(ev_ok_ = (expr)) && nodus_kit_now_ns() < ev_deadline_)      \
      nodus_kit_sleep_ms(20);                                            \
    ev_ok_;                                                              \
  })
void nodus_kit_sleep_ms(int ms);

#ifdef __cplusplus
}
#endif
#endif
