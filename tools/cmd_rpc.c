/* nodus rpc NODE MOD FUN 'ARGS' and nodus call NODE NAME 'REQUEST': rpc:call
 * and gen_server:call from the command line, as a hidden node (like
 * erl_call). Results print in Erlang syntax. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nodus.h"

static const char rpc_usage[] =
    "usage: nodus rpc NODE MOD FUN 'ARGS' [--cookie C] [--timeout MS] "
    "[--epmd-port PORT]\n"
    "Runs rpc:call(NODE, MOD, FUN, ARGS) from a hidden node and prints the\n"
    "result in Erlang syntax. ARGS is an Erlang list, e.g. '[1, \"two\"]'.\n"
    "Works with BEAM and nodus nodes. Exit 1 on {badrpc, _}.\n";

static const char call_usage[] =
    "usage: nodus call NODE NAME 'REQUEST' [--cookie C] [--timeout MS] "
    "[--epmd-port PORT]\n"
    "Runs gen_server:call({NAME, NODE}, REQUEST) from a hidden node and\n"
    "prints the reply in Erlang syntax. Exit 1 when the call fails\n"
    "(noproc, nodedown, timeout, or the server exited).\n";

static int print_term(const nodus_term *t) {
  char *text = NULL;
  if (nodus_print(t, NULL, &text, NULL)) return CLI_FAIL;
  puts(text);
  free(text);
  return CLI_OK;
}

static int parse_term(const char *text, nodus_term *out, const char *cmd) {
  size_t pos = 0;
  int rc = nodus_parse(text, strlen(text), NULL, out, &pos);
  if (rc)
    fprintf(stderr, "nodus %s: cannot parse '%s' at byte %zu: %s\n", cmd, text,
            pos, nodus_strerror(rc));
  return rc;
}

int cmd_rpc(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(rpc_usage, stdout);
    return CLI_OK;
  }
  cli_peer_opts o = {0};
  int rc = cli_peer_args(argc, argv, 4, &o, rpc_usage, "rpc");
  if (rc) return rc;
  nodus_term args;
  if (parse_term(o.pos[3], &args, "rpc")) return CLI_USAGE;
  if (!nodus_is_proper_list(&args)) {
    fprintf(stderr, "nodus rpc: ARGS must be a list, e.g. '[]'\n");
    nodus_term_free(&args);
    return CLI_USAGE;
  }
  char peer_name[512];
  cli_full_name(o.pos[0], peer_name, sizeof peer_name);
  nodus_node *node;
  nodus_atom peer;
  if (cli_peer_node(&o, peer_name, "rpc", &node)) {
    nodus_term_free(&args);
    return CLI_FAIL;
  }
  nodus_term result = {0};
  rc = nodus_atom_intern(peer_name, strlen(peer_name), &peer);
  if (!rc)
    rc = nodus_rpc(node, peer, o.pos[1], o.pos[2], args, o.timeout_ms, &result);
  else
    nodus_term_free(&args);
  int out = CLI_FAIL;
  if (rc == 0 || rc == NODUS_EEXIT) {
    print_term(&result);
    out = rc == 0 ? CLI_OK : CLI_FAIL;
  } else {
    fprintf(stderr, "nodus rpc: %s\n", nodus_strerror(rc));
  }
  nodus_term_free(&result);
  nodus_node_close(node);
  return out;
}

int cmd_call(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(call_usage, stdout);
    return CLI_OK;
  }
  cli_peer_opts o = {0};
  int rc = cli_peer_args(argc, argv, 3, &o, call_usage, "call");
  if (rc) return rc;
  nodus_term req;
  if (parse_term(o.pos[2], &req, "call")) return CLI_USAGE;
  char peer_name[512];
  cli_full_name(o.pos[0], peer_name, sizeof peer_name);
  nodus_node *node;
  if (cli_peer_node(&o, peer_name, "call", &node)) {
    nodus_term_free(&req);
    return CLI_FAIL;
  }
  nodus_term server = {0}, reply = {0};
  rc = nodus_build(&server, "{~a, ~a}", o.pos[1], peer_name);
  if (!rc) rc = nodus_call(node, &server, req, o.timeout_ms, &reply);
  else nodus_term_free(&req);
  int out = CLI_FAIL;
  if (rc == 0) {
    out = print_term(&reply);
  } else if (rc == NODUS_EEXIT) {
    fputs("exit: ", stderr);
    char *text = NULL;
    nodus_print(&reply, NULL, &text, NULL);
    fprintf(stderr, "%s\n", text ? text : "?");
    free(text);
  } else {
    fprintf(stderr, "nodus call: %s\n",
            rc == NODUS_ENOPROC    ? "noproc (no such process)"
            : rc == NODUS_ENOCONN  ? "nodedown"
            : rc == NODUS_ETIMEDOUT ? "timeout"
                                    : nodus_strerror(rc));
  }
  nodus_term_free(&server);
  nodus_term_free(&reply);
  nodus_node_close(node);
  return out;
}
