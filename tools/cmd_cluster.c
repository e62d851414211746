/* nodus cluster: local test clusters by hand, on the test kit.
 *
 * `up` leaves the nodes running and writes the cluster's state to a state
 * dir; every later command re-attaches from there, so each invocation is
 * a separate process. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nodus_testkit.h"

static const char cluster_usage[] =
    "usage: nodus cluster COMMAND [ARGS] [--dir STATE_DIR]\n"
    "\n"
    "  up --nodes N [--beam M] [--exec BIN] [--cookie C] [--ticktime S]\n"
    "     [--elixir] [--loopback] [-- ARGS...]\n"
    "                     start N nodes (the last M are erl), each in its own\n"
    "                     network namespace 10.77.S.I; C nodes run BIN\n"
    "                     (default echo_node) with --name/--cookie and ARGS\n"
    "  status [--json]    nodes, pids, addresses, state\n"
    "  partition SPEC     cut the cluster: '1,2/3' (sides), or --halves,\n"
    "                     --isolate N, --bridge, --ring\n"
    "  heal               remove partitions, loss and delay\n"
    "  kill N | restart N | pause N | resume N\n"
    "  loss N|all PCT     drop PCT%% of what node N receives\n"
    "  delay N|all MS     hold what node N receives for MS\n"
    "  skew N SECONDS     restart node N with its wall clock shifted\n"
    "  ping A B           from node A to node B: pong or pang\n"
    "  eval N EXPR        evaluate an Erlang expression on BEAM node N\n"
    "  log                the fault log (JSON lines)\n"
    "  down [--all]       stop everything; --all also removes what any\n"
    "                     crashed kit run left (namespaces, routes, nodes)\n"
    "\n"
    "The state dir is $NODUS_CLUSTER_DIR, else /run/nodus-cluster (root),\n"
    "else $XDG_RUNTIME_DIR/nodus-cluster. Needs root for namespaces; without\n"
    "them nodes run on loopback and network faults are unsupported.\n";

static void state_dir(char *buf, size_t size, const char *given) {
  const char *env = getenv("NODUS_CLUSTER_DIR");
  if (given)
    snprintf(buf, size, "%s", given);
  else if (env && env[0])
    snprintf(buf, size, "%s", env);
  else if (geteuid() == 0 || !getenv("XDG_RUNTIME_DIR"))
    snprintf(buf, size, "/run/nodus-cluster");
  else
    snprintf(buf, size, "%s/nodus-cluster", getenv("XDG_RUNTIME_DIR"));
}

static int node_arg(nodus_kit *kit, const char *text) {
  char *end;
  long i = text ? strtol(text, &end, 10) : 0;
  if (!text || *end || i < 1 || i > nodus_kit_size(kit)) {
    fprintf(stderr, "nodus cluster: no node '%s' (1..%d)\n",
            text ? text : "", nodus_kit_size(kit));
    return -1;
  }
  return (int)i;
}

/* A JSON string (node names and paths hold no control characters, but
 * quote what JSON needs quoted anyway). */
static void json_str(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

static int status_json(nodus_kit *kit) {
  printf("{\"cluster\":");
  json_str(nodus_kit_prefix(kit));
  printf(",\"netns\":%s,\"cookie\":", nodus_kit_netns(kit) ? "true" : "false");
  json_str(nodus_kit_cookie(kit));
  printf(",\"state_dir\":");
  json_str(nodus_kit_state_dir(kit));
  printf(",\"nodes\":[");
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    int pid = nodus_kit_node_pid(kit, i);
    printf("%s{\"index\":%d,\"kind\":\"%s\",\"name\":", i > 1 ? "," : "", i,
           nodus_kit_node_kind(kit, i) == NODUS_KIT_BEAM ? "beam" : "c");
    json_str(nodus_kit_node_name(kit, i));
    printf(",\"pid\":%d,\"state\":\"%s\",\"netns\":", pid,
           !pid ? "dead" : nodus_kit_node_paused(kit, i) ? "paused" : "running");
    if (nodus_kit_node_netns(kit, i)) json_str(nodus_kit_node_netns(kit, i));
    else printf("null");
    printf("}");
  }
  printf("]}\n");
  return CLI_OK;
}

static int status(nodus_kit *kit) {
  printf("cluster %s  mode %s  cookie %s  state %s\n", nodus_kit_prefix(kit),
         nodus_kit_netns(kit) ? "netns" : "loopback (no network faults)",
         nodus_kit_cookie(kit), nodus_kit_state_dir(kit));
  for (int i = 1; i <= nodus_kit_size(kit); i++) {
    int pid = nodus_kit_node_pid(kit, i);
    const char *ns = nodus_kit_node_netns(kit, i);
    printf("%3d  %-4s  %-40s  pid %-7d  %-7s  %s\n", i,
           nodus_kit_node_kind(kit, i) == NODUS_KIT_BEAM ? "beam" : "c",
           nodus_kit_node_name(kit, i), pid,
           !pid ? "dead" : nodus_kit_node_paused(kit, i) ? "paused" : "running",
           ns ? ns : "-");
  }
  return CLI_OK;
}

static int up(int argc, char **argv, const char *dir) {
  nodus_kit_opts o = {.persist = true, .log = stderr};
  const char *extra[17] = {0};
  int nextra = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--nodes") && v) o.nodes = atoi(v), i++;
    else if (!strcmp(a, "--beam") && v) o.beam = atoi(v), i++;
    else if (!strcmp(a, "--exec") && v) o.exec = v, i++;
    else if (!strcmp(a, "--cookie") && v) o.cookie = v, i++;
    else if (!strcmp(a, "--ticktime") && v) o.ticktime_s = atoi(v), i++;
    else if (!strcmp(a, "--elixir")) o.elixir = true;
    else if (!strcmp(a, "--loopback")) o.net = NODUS_KIT_NET_LOOPBACK;
    else if (!strcmp(a, "--")) {
      for (i++; i < argc && nextra < 16; i++) extra[nextra++] = argv[i];
    } else {
      fprintf(stderr, "nodus cluster up: unexpected '%s'\n", a);
      return CLI_USAGE;
    }
  }
  if (o.nodes < 1 || o.beam < 0 || o.beam > o.nodes) {
    fputs("nodus cluster up: need --nodes N (1..32), --beam M <= N\n", stderr);
    return CLI_USAGE;
  }
  o.exec_args = extra;
  char path[600];
  snprintf(path, sizeof path, "%s/cluster", dir);
  if (access(path, F_OK) == 0) {
    fprintf(stderr, "nodus cluster: a cluster is up (%s); "
                    "`nodus cluster down` first\n", dir);
    return CLI_FAIL;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "nodus cluster: cannot make %s: %s\n", dir,
            strerror(errno));
    return CLI_FAIL;
  }
  o.state_dir = dir;
  nodus_kit *kit;
  int rc = nodus_kit_up(&kit, &o);
  if (rc) {
    fprintf(stderr, "nodus cluster up: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  status(kit);
  nodus_kit_detach(kit);
  return CLI_OK;
}

static int partition(nodus_kit *kit, int argc, char **argv) {
  nodus_kit_grudge g;
  int n = nodus_kit_size(kit);
  const char *a = argc > 0 ? argv[0] : "";
  if (!strcmp(a, "--halves")) nodus_kit_grudge_halves(&g, n);
  else if (!strcmp(a, "--bridge")) nodus_kit_grudge_bridge(&g, n);
  else if (!strcmp(a, "--ring")) nodus_kit_grudge_ring(&g, n);
  else if (!strcmp(a, "--isolate")) {
    int i = node_arg(kit, argc > 1 ? argv[1] : NULL);
    if (i < 0) return CLI_USAGE;
    nodus_kit_grudge_isolate(&g, n, i);
  } else if (nodus_kit_grudge_parse(&g, n, a) != 0) {
    fprintf(stderr, "nodus cluster partition: bad spec '%s' (e.g. 1,2/3)\n", a);
    return CLI_USAGE;
  }
  int rc = nodus_kit_partition(kit, &g);
  char text[256];
  nodus_kit_grudge_format(&g, text, sizeof text);
  if (rc) {
    fprintf(stderr, "nodus cluster partition: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  printf("partitioned %s\n", text);
  return CLI_OK;
}

static int node_and_amount(nodus_kit *kit, int argc, char **argv, int *i,
                           int *amount) {
  if (argc < 2) return -1;
  *i = !strcmp(argv[0], "all") ? 0 : node_arg(kit, argv[0]);
  *amount = atoi(argv[1]);
  return *i < 0 ? -1 : 0;
}

static int run(nodus_kit *kit, const char *cmd, int argc, char **argv) {
  int rc, i, amount;
  if (!strcmp(cmd, "status"))
    return argc > 0 && !strcmp(argv[0], "--json") ? status_json(kit)
                                                  : status(kit);
  if (!strcmp(cmd, "partition")) return partition(kit, argc, argv);
  if (!strcmp(cmd, "heal")) rc = nodus_kit_heal(kit);
  else if (!strcmp(cmd, "log")) {
    char *cat[] = {"cat", (char *)nodus_kit_fault_log(kit), NULL};
    fflush(stdout);
    execvp("cat", cat);
    return CLI_FAIL;
  } else if (!strcmp(cmd, "loss") || !strcmp(cmd, "delay") ||
             !strcmp(cmd, "skew")) {
    if (node_and_amount(kit, argc, argv, &i, &amount)) return CLI_USAGE;
    rc = cmd[0] == 'l'   ? nodus_kit_loss(kit, i, amount)
         : cmd[0] == 'd' ? nodus_kit_delay(kit, i, amount)
         : i == 0        ? NODUS_EINVAL
                         : nodus_kit_skew(kit, i, amount);
  } else if (!strcmp(cmd, "ping")) {
    int a = node_arg(kit, argc > 0 ? argv[0] : NULL);
    int b = node_arg(kit, argc > 1 ? argv[1] : NULL);
    if (a < 0 || b < 0) return CLI_USAGE;
    rc = nodus_kit_ping(kit, a, b, 3000);
    puts(rc == 0 ? "pong" : "pang");
    return rc == 0 ? CLI_OK : CLI_FAIL;
  } else if (!strcmp(cmd, "eval")) {
    if ((i = node_arg(kit, argc > 0 ? argv[0] : NULL)) < 0 || argc < 2)
      return CLI_USAGE;
    char *reply = NULL;
    rc = nodus_kit_eval(kit, i, argv[1], 10000, &reply);
    if (!rc) puts(reply);
    free(reply);
  } else {
    if ((i = node_arg(kit, argc > 0 ? argv[0] : NULL)) < 0) return CLI_USAGE;
    if (!strcmp(cmd, "kill")) rc = nodus_kit_kill(kit, i);
    else if (!strcmp(cmd, "restart")) rc = nodus_kit_restart(kit, i);
    else if (!strcmp(cmd, "pause")) rc = nodus_kit_pause(kit, i);
    else if (!strcmp(cmd, "resume")) rc = nodus_kit_resume(kit, i);
    else {
      fprintf(stderr, "nodus cluster: unknown command '%s'\n%s", cmd,
              cluster_usage);
      return CLI_USAGE;
    }
  }
  if (rc) {
    fprintf(stderr, "nodus cluster %s: %s\n", cmd, nodus_strerror(rc));
    return CLI_FAIL;
  }
  return CLI_OK;
}

int cmd_cluster(int argc, char **argv) {
  if (argc < 1 || cli_wants_help(argc, argv)) {
    fputs(cluster_usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  /* --dir DIR may come anywhere; take it out. */
  const char *given = NULL;
  int n = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--dir") && i + 1 < argc) given = argv[++i];
    else argv[n++] = argv[i];
  }
  argc = n;
  char dir[512];
  state_dir(dir, sizeof dir, given);
  const char *cmd = argv[0];
  if (!strcmp(cmd, "up")) return up(argc - 1, argv + 1, dir);

  nodus_kit *kit = NULL;
  int rc = nodus_kit_attach(&kit, dir);
  if (!strcmp(cmd, "down")) {
    bool all = argc > 1 && !strcmp(argv[1], "--all");
    if (kit) nodus_kit_down(kit);
    int removed = all ? nodus_kit_cleanup(NULL) : 0;
    if (!kit && !all) {
      fprintf(stderr, "nodus cluster: no cluster in %s (--all removes any "
                      "kit leftovers)\n", dir);
      return CLI_FAIL;
    }
    printf("down%s\n", all && removed ? " (and removed leftovers)" : "");
    return CLI_OK;
  }
  if (rc) {
    fprintf(stderr, "nodus cluster: no cluster in %s (`nodus cluster up`)\n",
            dir);
    return CLI_FAIL;
  }
  rc = run(kit, cmd, argc - 1, argv + 1);
  nodus_kit_detach(kit);
  return rc;
}
