/* pg_listener: a C process in a pg group that Elixir sends to.
 *
 * It registers a process `listener`, joins it to the group `listeners`
 * in the pg scope `pg` (pg's default scope, the one :pg.start_link()
 * starts), and prints every message it receives as "got TERM".
 *
 *   $ build/bin/pg_listener --name listener --cookie secret
 *   pg_listener listener@myhost joined pg:listeners
 *
 *   $ iex --sname ex --cookie secret
 *   iex> Node.connect(:"listener@myhost")
 *   true
 *   iex> :pg.start_link()
 *   {:ok, #PID<0.112.0>}
 *   iex> :pg.get_members(:pg, :listeners) |> Enum.each(&send(&1, :hello))
 *   :ok
 *
 * and pg_listener prints `got hello`. The scopes of both nodes sync when
 * they meet: if get_members gives [] at once, ask again a moment later.
 * --scope and --group choose others. SIGINT or SIGTERM ends it: the
 * listener leaves the group everywhere as its scope closes.
 *
 * tests/interop/test_examples_otp.sh runs these lines against it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

static void listener(nodus_proc *self, const nodus_term *msg) {
  char *text = NULL;
  nodus_print_opts o = {.local_node = nodus_node_name(nodus_proc_node(self))};
  if (nodus_print(msg, &o, &text, NULL) == 0) {
    printf("got %s\n", text);
    fflush(stdout);
  }
  free(text);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: pg_listener --name NAME [--cookie COOKIE] [--epmd-port PORT]\n"
          "                   [--scope SCOPE] [--group GROUP]\n"
          "Joins a process to GROUP (default listeners) in the pg scope SCOPE\n"
          "(default pg) and prints what it receives.\n");
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  const char *scope = "pg", *group_name = "listeners";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--name") && v) {
      opts.name = v, i++;
    } else if (!strcmp(a, "--cookie") && v) {
      opts.cookie = v, i++;
    } else if (!strcmp(a, "--epmd-port") && v) {
      opts.epmd_port = atoi(v), i++;
    } else if (!strcmp(a, "--scope") && v) {
      scope = v, i++;
    } else if (!strcmp(a, "--group") && v) {
      group_name = v, i++;
    } else {
      fprintf(stderr, "pg_listener: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!opts.name) {
    usage(stderr);
    return 2;
  }

  nodus_node *node;
  nodus_pg *pg = NULL;
  nodus_term pid = {0}, group = {0};
  nodus_proc_spec spec = {.on_message = listener, .register_name = "listener"};
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "pg_listener: %s\n", nodus_strerror(rc));
    return 1;
  }
  if (!(rc = nodus_node_start(node)) && !(rc = nodus_spawn(node, &spec, &pid)) &&
      !(rc = nodus_pg_start(node, scope, &pg)) &&
      !(rc = nodus_mk_atom(&group, group_name)))
    rc = nodus_pg_join(pg, &group, &pid);
  nodus_term_free(&pid);
  nodus_term_free(&group);
  if (rc) {
    fprintf(stderr, "pg_listener: %s\n", nodus_strerror(rc));
    nodus_pg_close(pg);
    nodus_node_close(node);
    return 1;
  }
  printf("pg_listener %s joined %s:%s\n",
         nodus_atom_text(nodus_node_name(node), NULL), scope, group_name);
  fflush(stdout);

  rc = nodus_node_run_until_signal(node);
  /* The node has stopped, and the scope with it: closing the handle only
   * frees it (any order with nodus_node_close is safe: pg.h). */
  nodus_pg_close(pg);
  nodus_node_close(node);
  return rc > 0 ? 0 : 1;
}
