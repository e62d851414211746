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
int cmd_cluster(int argc, char **argv);
int cmd_discover(int argc, char **argv);

#endif
