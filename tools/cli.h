/* Shared pieces of the nodus command line. Each subcommand family lives in
 * its own cmd_*.c file and exposes one entry point. */
#ifndef NODUS_TOOLS_CLI_H
#define NODUS_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes: 0 success, 1 failure (pang, badrpc, bad input), 2 usage. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

#include "nodus.h"

/* The commands that ask one node (rpc, call, global): positional words,
 * --cookie, --timeout MS (default 10000), --epmd-port. */
#define CLI_PEER_MAX_POS 4
typedef struct cli_peer_opts {
  const char *pos[CLI_PEER_MAX_POS];
  int npos;
  const char *cookie;
  int timeout_ms, epmd_port;
} cli_peer_opts;
/* Exactly `want` positional words (the last may start with '-'); else
 * CLI_USAGE with usage on stderr. */
int cli_peer_args(int argc, char **argv, int want, cli_peer_opts *o,
                  const char *usage, const char *cmd);
/* NODE or NODE@HOST (this host's short name when omitted). */
void cli_full_name(const char *target, char *out, size_t n);
/* A hidden node named nodus_CMD_PID on the peer's host, started. */
int cli_peer_node(const cli_peer_opts *o, const char *peer, const char *cmd,
                  nodus_node **node);

/* True when argv has --help or -h. */
bool cli_wants_help(int argc, char **argv);
/* Reads a whole file ("-" or NULL: stdin) into a malloc'd buffer. */
int cli_read_all(const char *path, unsigned char **out, size_t *len);

int cmd_term(int argc, char **argv);
int cmd_epmd(int argc, char **argv);
int cmd_names(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_rpc(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_global(int argc, char **argv);
int cmd_dsup(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_cron(int argc, char **argv);

#endif
