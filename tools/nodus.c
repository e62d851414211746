/* nodus: the command line. One subcommand family per cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nodus.h"

static const char usage[] =
    "usage: nodus COMMAND [ARGS...]\n"
    "\n"
    "commands:\n"
    "  term encode|decode   Erlang terms <-> external term format bytes\n"
    "  epmd                 run an Erlang port mapper daemon\n"
    "  names [HOST]         list the nodes an epmd knows\n"
    "  ping NODE            net_adm:ping: prints pong or pang\n"
    "  rpc NODE MOD FUN ARGS  rpc:call, prints the result (exit 1: badrpc)\n"
    "  call NODE NAME REQ   gen_server:call({NAME, NODE}, REQ), prints the reply\n"
    "  global names|whereis NODE [NAME]\n"
    "                       the :global names a node knows, the pid of one\n"
    "  dsup status NODE     the distributed supervisors a node runs, their\n"
    "                       members and where each child runs (epochs)\n"
    "  cron next EXPR       the next times of a schedule (--tz, --from, --count)\n"
    "  cron list NODE       the schedulers a node runs, each job's next and\n"
    "                       last tick, owner and epoch\n"
    "  discover [--once] SPEC\n"
    "                       what discovery topologies find (found NODE via S)\n"
    "  cluster up|status|partition|heal|kill|restart|pause|resume|down\n"
    "                       local test clusters with real network faults\n"
    "\n"
    "options: --help (on every command), --version\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(usage, stdout);
    return CLI_OK;
  }
  if (!strcmp(cmd, "--version")) {
    printf("nodus %s\n", nodus_version()); /* the library linked */
    return CLI_OK;
  }
  if (!strcmp(cmd, "term")) return cmd_term(argc - 2, argv + 2);
  if (!strcmp(cmd, "epmd")) return cmd_epmd(argc - 2, argv + 2);
  if (!strcmp(cmd, "names")) return cmd_names(argc - 2, argv + 2);
  if (!strcmp(cmd, "ping")) return cmd_ping(argc - 2, argv + 2);
  if (!strcmp(cmd, "rpc")) return cmd_rpc(argc - 2, argv + 2);
  if (!strcmp(cmd, "call")) return cmd_call(argc - 2, argv + 2);
  if (!strcmp(cmd, "global")) return cmd_global(argc - 2, argv + 2);
  if (!strcmp(cmd, "cluster")) return cmd_cluster(argc - 2, argv + 2);
  if (!strcmp(cmd, "dsup")) return cmd_dsup(argc - 2, argv + 2);
  if (!strcmp(cmd, "discover")) return cmd_discover(argc - 2, argv + 2);
  if (!strcmp(cmd, "cron")) return cmd_cron(argc - 2, argv + 2);
  fprintf(stderr, "nodus: unknown command '%s'\n%s", cmd, usage);
  return CLI_USAGE;
}
