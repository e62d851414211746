/* nodus global names NODE and nodus global whereis NODE NAME: what a
 * node's :global name table holds, asked over rpc from a hidden node.
 * BEAM nodes answer global:registered_names/0 and global:whereis_name/1;
 * C nodes have no Erlang global module and answer the same questions as
 * nodus:global_names/0 and nodus:global_whereis/1. We ask the BEAM way
 * first and, when the node says undef, the nodus way, so one command works
 * on both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nodus.h"

static const char usage[] =
    "usage: nodus global names NODE [--cookie C] [--timeout MS] [--epmd-port PORT]\n"
    "       nodus global whereis NODE NAME [--cookie C] [--timeout MS] "
    "[--epmd-port PORT]\n"
    "names prints the list of the :global names NODE knows\n"
    "(global:registered_names/0). whereis prints the pid registered as NAME\n"
    "(global:whereis_name/1; NAME is an Erlang term, e.g. gecho or '{job,7}'),\n"
    "or says undefined on stderr and exits 1. Works with BEAM and nodus nodes\n"
    "(nodus:global_names/0 and nodus:global_whereis/1 there). Exit 1 when\n"
    "the node cannot be asked ({badrpc, _} on stderr).\n";

static void print_to(FILE *out, const char *prefix, const nodus_term *t) {
  char *text = NULL;
  if (nodus_print(t, NULL, &text, NULL) == 0) fprintf(out, "%s%s\n", prefix, text);
  else fprintf(out, "%s<unprintable>\n", prefix);
  free(text);
}

static bool is_undef(const nodus_term *result) {
  const nodus_term *why;
  return nodus_match(result, "{badrpc, {'EXIT', {undef, ~t}}}", &why) == 0;
}

/* rpc of beam_fn in global, or of nodus_fn in nodus when that is undef.
 * args is taken. 0 and *result, or CLI_FAIL (said on stderr). */
static int ask(nodus_node *node, nodus_atom peer, const char *beam_fn,
               const char *nodus_fn, nodus_term args, int timeout_ms,
               nodus_term *result) {
  nodus_term again;
  int rc = nodus_copy(&again, &args);
  if (rc) {
    nodus_term_free(&args);
    fprintf(stderr, "nodus global: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  *result = (nodus_term){0};
  rc = nodus_rpc(node, peer, "global", beam_fn, args, timeout_ms, result);
  if (rc == NODUS_EEXIT && is_undef(result)) { /* a C node */
    nodus_term_free(result);
    rc = nodus_rpc(node, peer, "nodus", nodus_fn, again, timeout_ms, result);
  } else {
    nodus_term_free(&again);
  }
  if (rc == 0) return 0;
  if (rc == NODUS_EEXIT) print_to(stderr, "nodus global: ", result);
  else fprintf(stderr, "nodus global: %s\n", nodus_strerror(rc));
  nodus_term_free(result);
  return CLI_FAIL;
}

int cmd_global(int argc, char **argv) {
  if (argc < 1 || cli_wants_help(argc, argv)) {
    fputs(usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  bool names = !strcmp(argv[0], "names"), whereis = !strcmp(argv[0], "whereis");
  if (!names && !whereis) {
    fprintf(stderr, "nodus global: unknown command '%s'\n%s", argv[0], usage);
    return CLI_USAGE;
  }
  cli_peer_opts o = {0};
  int rc = cli_peer_args(argc - 1, argv + 1, names ? 1 : 2, &o, usage, "global");
  if (rc) return rc;
  nodus_term args = nodus_nil();
  if (whereis) {
    nodus_term name;
    size_t pos = 0;
    if ((rc = nodus_parse(o.pos[1], strlen(o.pos[1]), NULL, &name, &pos))) {
      fprintf(stderr, "nodus global: cannot parse NAME '%s' at byte %zu: %s\n",
              o.pos[1], pos, nodus_strerror(rc));
      return CLI_USAGE;
    }
    if ((rc = nodus_build(&args, "[~t]", name))) {
      fprintf(stderr, "nodus global: %s\n", nodus_strerror(rc));
      return CLI_FAIL;
    }
  }
  char peer_name[512];
  cli_full_name(o.pos[0], peer_name, sizeof peer_name);
  nodus_node *node;
  nodus_atom peer;
  if (cli_peer_node(&o, peer_name, "global", &node)) {
    nodus_term_free(&args);
    return CLI_FAIL;
  }
  if ((rc = nodus_atom_intern(peer_name, strlen(peer_name), &peer))) {
    nodus_term_free(&args);
    fprintf(stderr, "nodus global: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return CLI_FAIL;
  }
  nodus_term result;
  int out = names ? ask(node, peer, "registered_names", "global_names", args,
                        o.timeout_ms, &result)
                  : ask(node, peer, "whereis_name", "global_whereis", args,
                        o.timeout_ms, &result);
  if (out == 0) {
    if (whereis && nodus_is_atom(&result, "undefined")) {
      fputs("undefined\n", stderr);
      out = CLI_FAIL;
    } else {
      print_to(stdout, "", &result);
    }
    nodus_term_free(&result);
  }
  nodus_node_close(node);
  return out;
}
