/* Internals shared by the kit's files. */
#ifndef NODUS_KIT_INTERNAL_H
#define NODUS_KIT_INTERNAL_H

/* Arguments of the C nodes' command line, besides --name and --cookie;
 * more is refused at up (never silently cut). */
#define KIT_MAX_EXEC_ARGS 64

#include <sys/types.h>

#include "nodus_testkit.h"

#define KIT_ROUTE_PROTO "177" /* marks our blackhole routes for cleanup */
#define KIT_ENV_MARK "NODUS_KIT_RUN" /* in every child's environment */
#define KIT_NAME_MAX 128

typedef struct kit_node {
  int kind;
  pid_t pid;
  bool paused;
  int skew_s;
  char name[KIT_NAME_MAX]; /* PREFIXnI@IP */
  char ip[32];
  char ns[64]; /* empty in loopback mode */
} kit_node;

struct nodus_kit {
  char prefix[32];  /* nk + 6 hex, unique per run */
  char dir[512];    /* state dir */
  bool own_dir;     /* remove on down */
  bool netns;
  bool persist;
  bool elixir;
  int subnet;       /* 10.77.subnet.0/24 */
  int epmd_port;    /* loopback mode: private epmd port; netns: 4369 */
  pid_t epmd_pid;   /* loopback mode's epmd, or 0 */
  int ticktime_s;
  int ready_timeout_ms;
  char cookie[64];
  char bin_dir[512];
  char exec[640];
  char *exec_args[KIT_MAX_EXEC_ARGS];
  int n_exec_args;
  int n;
  kit_node nodes[NODUS_KIT_MAX_NODES + 1]; /* 1-based */
  pid_t delay_pids[NODUS_KIT_MAX_NODES + 1];
  FILE *log;
  unsigned seq; /* eval request ids */
};

/* kit_proc.c: processes and commands */
typedef struct kit_spawn {
  const char *ns;       /* namespace to enter, or NULL */
  const char *const *argv;
  const char *const *env; /* extra NAME=VALUE entries, NULL-terminated */
  const char *stdin_path; /* opened O_RDWR (a FIFO stays open), or NULL */
  const char *out_path;   /* stdout+stderr appended, or NULL: /dev/null */
  bool die_with_parent;
  const char *mark;       /* value of NODUS_KIT_RUN */
} kit_spawn;
pid_t kit_spawn_proc(const kit_spawn *s);
/* Runs argv (in ns when not NULL) with stdin_text fed in; returns the exit
 * status, -1 on failure to run, NODUS_ETIMEDOUT (child killed) on timeout. */
int kit_run(const char *ns, const char *const *argv, const char *stdin_text,
            int timeout_ms, char **out);
/* kit_run for a shell-free formatted `ip ...` style argv in one string,
 * split on spaces. Quiet. */
int kit_runf(const char *ns, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool kit_pid_alive(pid_t pid);
/* SIGKILL, then waits (reaps our children) up to timeout_ms. */
int kit_kill_wait(pid_t pid, int timeout_ms);
/* SIGSTOP, then waits up to timeout_ms until every thread has stopped. */
int kit_stop_wait(pid_t pid, int timeout_ms);
char *kit_read_file(const char *path, long from, long *size);
int kit_rm_rf(const char *path);
bool kit_netns_exists(const char *ns);

/* kit_net.c */
int kit_net_up(nodus_kit *kit);
void kit_net_down(nodus_kit *kit);
int kit_nft(nodus_kit *kit, int i, const char *ruleset);
void kit_nft_delete(nodus_kit *kit, int i, const char *table);

/* kit_node.c */
int kit_node_start(nodus_kit *kit, int i);
int kit_node_wait_ready(nodus_kit *kit, int i, int timeout_ms);
void kit_node_path(const nodus_kit *kit, int i, const char *suffix,
                   char *buf, size_t size);
int kit_epmd_start(nodus_kit *kit);

/* kit_cluster.c */
int kit_save(nodus_kit *kit);
void kit_fault(nodus_kit *kit, const char *fault, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
