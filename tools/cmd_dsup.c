/* nodus dsup status NODE: the distributed supervisors a C node runs,
 * asked over rpc (nodus:dsup_children/0) from a hidden node: each one's
 * mode, the members it sees, its gating, and where each child runs with
 * its epoch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nodus.h"

static const char usage[] =
    "usage: nodus dsup status NODE [--cookie C] [--timeout MS] [--epmd-port PORT]\n"
    "\n"
    "Prints, for every distributed supervisor NODE runs (nodus/dsup.h), its\n"
    "mode, the members it sees, min_nodes and quorum, then one line per\n"
    "child: where it runs as NODE sees it, its epoch, and its pid when it\n"
    "runs on NODE. Exit 1 when NODE cannot be asked or runs none.\n";

static void print_term(const nodus_term *t) {
  char *text = NULL;
  fputs(nodus_print(t, NULL, &text, NULL) == 0 ? text : "?", stdout);
  free(text);
}

static const nodus_term *field(const nodus_term *map, const char *key) {
  nodus_term k;
  if (nodus_mk_atom(&k, key)) return NULL;
  return nodus_map_get(map, &k);
}

static void print_dsup(const nodus_term *m) {
  const nodus_term *name = field(m, "name"), *mode = field(m, "mode"),
                   *members = field(m, "members"), *kids = field(m, "children"),
                   *minn = field(m, "min_nodes"), *quorum = field(m, "quorum");
  size_t len = 0, bits;
  const uint8_t *p = name ? nodus_bin_data(name, &len, &bits) : NULL;
  printf("%.*s  mode=%s  members=%zu", (int)len, p ? (const char *)p : "?",
         mode && mode->type == NODUS_T_ATOM ? nodus_atom_text(mode->v.atom, NULL) : "?",
         members ? nodus_size(members) : 0);
  if (minn) printf("  min_nodes="), print_term(minn);
  if (quorum && quorum->type == NODUS_T_INT) {
    printf("  quorum="), print_term(quorum);
    printf(members && nodus_size(members) >= (size_t)quorum->v.i ? " (held)"
                                                                 : " (lost)");
  }
  printf("\n  members:");
  for (size_t i = 0; members && i < nodus_size(members); i++)
    printf(" "), print_term(nodus_list_item(members, i));
  printf("\n");
  for (size_t i = 0; kids && i < nodus_size(kids); i++) {
    const nodus_term *id, *where, *pid;
    uint64_t epoch;
    int64_t e;
    const nodus_term *kid = nodus_list_item(kids, i);
    if (!kid || nodus_match(kid, "{~t, ~t, ~i, ~t}", &id, &where, &e, &pid)) continue;
    epoch = (uint64_t)e;
    p = nodus_bin_data(id, &len, &bits);
    printf("  %.*s  ", (int)len, p ? (const char *)p : "?");
    if (nodus_is_atom(where, "undefined")) printf("not running");
    else printf("on "), print_term(where);
    printf("  epoch=%llu", (unsigned long long)epoch);
    if (pid->type == NODUS_T_PID) printf("  pid="), print_term(pid);
    printf("\n");
  }
}

int cmd_dsup(int argc, char **argv) {
  if (argc < 1 || cli_wants_help(argc, argv)) {
    fputs(usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  if (strcmp(argv[0], "status")) {
    fprintf(stderr, "nodus dsup: unknown command '%s'\n%s", argv[0], usage);
    return CLI_USAGE;
  }
  cli_peer_opts o = {0};
  int rc = cli_peer_args(argc - 1, argv + 1, 1, &o, usage, "dsup");
  if (rc) return rc;
  char peer_name[512];
  cli_full_name(o.pos[0], peer_name, sizeof peer_name);
  nodus_node *node;
  nodus_atom peer;
  if (cli_peer_node(&o, peer_name, "dsup", &node)) return CLI_FAIL;
  if ((rc = nodus_atom_intern(peer_name, strlen(peer_name), &peer))) {
    fprintf(stderr, "nodus dsup: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return CLI_FAIL;
  }
  nodus_term result = {0};
  rc = nodus_rpc(node, peer, "nodus", "dsup_children", nodus_nil(), o.timeout_ms,
                 &result);
  int out = CLI_OK;
  if (rc) {
    fprintf(stderr, "nodus dsup: ");
    if (rc == NODUS_EEXIT) print_term(&result), fputc('\n', stderr);
    else fprintf(stderr, "%s\n", nodus_strerror(rc));
    out = CLI_FAIL;
  } else if (nodus_size(&result) == 0) {
    fprintf(stderr, "nodus dsup: %s runs no distributed supervisor\n", peer_name);
    out = CLI_FAIL;
  } else {
    for (size_t i = 0; i < nodus_size(&result); i++)
      print_dsup(nodus_list_item(&result, i));
  }
  nodus_term_free(&result);
  nodus_node_close(node);
  return out;
}
