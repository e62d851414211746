/* postgres discovery against a real PostgreSQL server: 3 C nodes and a
 * BEAM node on 127.0.0.1 (the kit's loopback mode, a private epmd).
 *
 * The server is the machine's PostgreSQL (Debian's, /usr/lib/postgresql/
 * N/bin): initdb and postgres in a temporary folder, trust auth, on
 * 127.0.0.1 and a free port, run as `nobody` when we are root (postgres
 * refuses root). It is this process's child with a parent-death signal,
 * so even a crashed test leaves no server; the normal end stops it.
 *
 *   1. notify: C nodes with mode=notify and the BEAM node running
 *      pg_beam, an Erlang module written from libcluster_postgres's
 *      behaviour with psql as its transport (LISTEN "Chan" quoted, as
 *      Postgrex does; NOTIFY Chan, 'node' unquoted every interval, which
 *      PostgreSQL folds to lower case). Everyone finds everyone, both
 *      ways; no table is made.
 *   2. payloads that are not node names are dropped with a log line.
 *   3. table: mode=table makes the `clusters` table with Ecto's column
 *      types, one row per C node; a row written as Ecto would (psql) is
 *      found, and lost once it is older than the TTL.
 *   4. a graceful stop deletes the node's row.
 *   5. kill -9 of node 3: its row stays, nodes 1 and 2 stop listing it
 *      after the TTL (their log, and nodus:discovery/0 over rpc).
 *   6. both forms (the default), then the database stopped for 5 s (fast
 *      shutdown, as pg_ctl stop -m fast) and started again: the nodes stay
 *      up and connected, log the error, reconnect, refresh their rows, see
 *      a row added after the restart, and the BEAM node hears them again.
 *   7. nodus discover --once (dry run) lists the nodes and writes nothing.
 *
 * The C nodes are this binary again (--name NAME --cookie C, as the kit
 * starts them), taking "discover SPEC" and "stop" on stdin (the kit's
 * FIFO) and printing the kit's #nodeup/#nodedown lines, the discovery's
 * events (#found N via S, #lost, #error) and its log lines (#log). */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cluster_util.h"
#include "disc_node.h"
#include "nodus/discovery.h"

#define COOKIE "Nodus-PG.Test"
#define CHANNEL "Nodus_PG_Test" /* the cookie, non-word bytes made '_' */
#define INTERVAL_MS 500
#define TTL_MS 2500 /* the default for 500: interval + 2000 */

/* ---- the C node ------------------------------------------------------- */

/* #nodeup/#nodedown with the time, for the TTL checks */
static void on_node_event(nodus_node *node, const nodus_node_event *ev,
                          void *arg) {
  if (ev->up)
    printf("#nodeup %s at %.3f\n", nodus_atom_text(ev->node, NULL),
           nodus_kit_now_ns() / 1e9);
  else
    printf("#nodedown %s %s at %.3f\n", nodus_atom_text(ev->node, NULL),
           nodus_atom_text(ev->reason, NULL), nodus_kit_now_ns() / 1e9);
  fflush(stdout);
}

static int node_main(int argc, char **argv) {
  /* the kit's BEAM nodes run net_ticktime 4: a C node ticking at the
   * default 60 s would be timed out by them whenever it is quiet */
  return disc_node_main(argc, argv, "postgres",
                        (nodus_node_opts){.net_ticktime_ms = 4000}, on_node_event);
}

#include "pg_server.h"

/* ---- the BEAM side ----------------------------------------------------- */

/* What libcluster_postgres does, written from its behaviour, with psql as
 * the transport: LISTEN "Channel" (Postgrex quotes it), NOTIFY Channel,
 * 'node' unquoted every interval, net_kernel:connect_node/1 on each name
 * heard. psql prints a notification after the next command it runs, so
 * a SELECT 1 goes every 100 ms; a psql that exits (database down) is
 * started again. heard() lists the names heard within the TTL. */
static const char pg_beam_erl[] =
    "-module(pg_beam).\n"
    "-export([start/4, heard/0, reset/0]).\n"
    "start(Args, Channel, Interval, Ttl) ->\n"
    "  Parent = self(),\n"
    "  Pid = spawn(fun() -> init(Parent, Args, Channel, Interval, Ttl) end),\n"
    "  receive {Pid, R} -> R after 5000 -> timeout end.\n"
    "init(Parent, Args, Channel, Interval, Ttl) ->\n"
    "  register(pg_beam, self()),\n"
    "  %% psql dying mid-write (the database down) ends its port with\n"
    "  %% epipe: an exit signal that must not end this process\n"
    "  process_flag(trap_exit, true),\n"
    "  Parent ! {self(), ok},\n"
    "  self() ! heartbeat,\n"
    "  self() ! poll,\n"
    "  loop(open(#{args => Args, channel => Channel, interval => Interval,\n"
    "              ttl => Ttl, heard => #{}, port => none})).\n"
    "open(St = #{args := Args, channel := Ch}) ->\n"
    "  P = open_port({spawn_executable, os:find_executable(\"psql\")},\n"
    "                [{args, Args}, binary, {line, 16384}, exit_status,\n"
    "                 stderr_to_stdout, use_stdio]),\n"
    "  %% psql may be gone already (the database is down): its exit_status\n"
    "  %% comes as a message and the loop reopens it\n"
    "  catch port_command(P, [\"LISTEN \\\"\", Ch, \"\\\";\\n\"]),\n"
    "  St#{port := P}.\n"
    "send(#{port := none}, _) -> ok;\n"
    "send(#{port := P}, Sql) -> catch port_command(P, Sql), ok.\n"
    "now_ms() -> erlang:monotonic_time(millisecond).\n"
    "loop(St = #{port := P}) ->\n"
    "  receive\n"
    "    heartbeat ->\n"
    "      send(St, [\"NOTIFY \", maps:get(channel, St), \", '\",\n"
    "                atom_to_list(node()), \"';\\n\"]),\n"
    "      erlang:send_after(maps:get(interval, St), self(), heartbeat),\n"
    "      loop(St);\n"
    "    poll ->\n"
    "      send(St, \"SELECT 1;\\n\"),\n"
    "      erlang:send_after(100, self(), poll),\n"
    "      loop(St);\n"
    "    {P, {data, {eol, Line}}} -> loop(line(Line, St));\n"
    "    {P, {data, {noeol, _}}} -> loop(St);\n"
    "    {P, {exit_status, _}} ->\n"
    "      erlang:send_after(300, self(), reopen),\n"
    "      loop(St#{port := none});\n"
    "    {'EXIT', P, _} ->\n"
    "      erlang:send_after(300, self(), reopen),\n"
    "      loop(St#{port := none});\n"
    "    {'EXIT', _, _} -> loop(St);\n"
    "    reopen when P =:= none -> loop(open(St));\n"
    "    reopen -> loop(St);\n"
    "    {heard, From} ->\n"
    "      Now = now_ms(), Ttl = maps:get(ttl, St),\n"
    "      From ! {heard, lists:sort([N || {N, T} <- maps:to_list(maps:get(heard, St)),\n"
    "                                      Now - T < Ttl])},\n"
    "      loop(St);\n"
    "    reset -> loop(St#{heard := #{}})\n"
    "  end.\n"
    "line(Line, St) ->\n"
    "  Re = \"^Asynchronous notification \\\"([^\\\"]*)\\\" with payload \\\"(.*)\\\" \"\n"
    "       \"received from server process with PID [0-9]+[.]$\",\n"
    "  case re:run(Line, Re, [{capture, all_but_first, binary}]) of\n"
    "    {match, [_Chan, Payload]} ->\n"
    "      %% libcluster_postgres does String.to_atom/1: a name too long\n"
    "      %% for an atom would crash it; here it is skipped\n"
    "      case catch binary_to_atom(Payload, utf8) of\n"
    "        N when is_atom(N), N =/= node() ->\n"
    "          catch net_kernel:connect_node(N),\n"
    "          St#{heard := maps:put(N, now_ms(), maps:get(heard, St))};\n"
    "        _ -> St\n"
    "      end;\n"
    "    nomatch -> St\n"
    "  end.\n"
    "heard() ->\n"
    "  pg_beam ! {heard, self()},\n"
    "  receive {heard, H} -> H after 2000 -> timeout end.\n"
    "reset() -> pg_beam ! reset, ok.\n";

/* ---- helpers ------------------------------------------------------------ */

#define BEAM 4

static int fifo_send(nodus_kit *kit, int i, const char *line) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.in", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "%s\n", line);
  fclose(f);
  return 0;
}

static void discover_all(nodus_kit *kit, const char *opts) {
  char line[512];
  snprintf(line, sizeof line, "discover postgres:url=%s,interval_ms=%d%s%s", pg.url,
           INTERVAL_MS, opts[0] ? "," : "", opts);
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, line), 0);
}

static int count(nodus_kit *kit, int i, long mark, const char *needle) {
  return nodus_kit_log_count(kit, i, mark, needle);
}

/* Node i logged "#KIND <name of j> via postgres" after mark. */
static bool event(nodus_kit *kit, int i, long mark, const char *kind, int j) {
  char needle[300];
  snprintf(needle, sizeof needle, "#%s %s via postgres", kind, nodus_kit_node_name(kit, j));
  return count(kit, i, mark, needle) > 0;
}

static bool event_name(nodus_kit *kit, int i, long mark, const char *kind,
                       const char *name) {
  char needle[300];
  snprintf(needle, sizeof needle, "#%s %s via postgres", kind, name);
  return count(kit, i, mark, needle) > 0;
}

/* Each C node of `who` (bits 1..3) found each other one of `whom`. */
static bool all_found(nodus_kit *kit, const long *mark, int who, int whom) {
  for (int i = 1; i <= 3; i++)
    for (int j = 1; j <= BEAM; j++)
      if ((who & (1 << i)) && (whom & (1 << j)) && i != j &&
          !event(kit, i, mark[i], "found", j))
        return false;
  return true;
}

/* pg_beam:heard() names every C node in `who`. */
static bool beam_heard(nodus_kit *kit, int who, char **reply) {
  free(*reply);
  *reply = NULL;
  if (nodus_kit_eval(kit, BEAM, "pg_beam:heard().", 5000, reply) != 0 || !*reply)
    return false;
  for (int i = 1; i <= 3; i++) {
    char q[300];
    snprintf(q, sizeof q, "'%s'", nodus_kit_node_name(kit, i));
    if (((who >> i) & 1) != (strstr(*reply, q) != NULL)) return false;
  }
  return true;
}

/* What node i's topologies list, over rpc from the BEAM node, as
 * "['a@h','b@h']" (sorted). */
static bool listed_is(nodus_kit *kit, int i, const char *want) {
  char expr[600], *reply = NULL;
  snprintf(expr, sizeof expr,
           "lists:sort(lists:append([maps:get(nodes, M) || "
           "M <- rpc:call('%s', nodus, discovery, [], 5000)])).",
           nodus_kit_node_name(kit, i));
  bool ok = nodus_kit_eval(kit, BEAM, expr, 8000, &reply) == 0 && reply &&
            !strncmp(reply, "{ok,", 4) && !strncmp(reply + 4, want, strlen(want)) &&
            !strcmp(reply + 4 + strlen(want), "}");
  free(reply);
  return ok;
}

static char *rows_of(void) {
  char *out = NULL;
  psql("SELECT string_agg(id, ' ' ORDER BY id) FROM clusters", &out);
  return out;
}

/* ---- the test ---------------------------------------------------------- */

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--name")) return node_main(argc, argv);
  int need = cluster_require(CLUSTER_BEAM);
  if (need) return need;
  if (!find_pg_bin()) return check_skip("PostgreSQL server binaries (postgresql)");
  if (!check_have("psql")) return check_skip("psql (postgresql-client)");
  int rc = pg_setup();
  if (rc) return rc;

  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) return 1;
  self[sl] = 0;
  nodus_kit_opts ko = {.nodes = 4, .beam = 1, .exec = self, .cookie = COOKIE,
                       .net = NODUS_KIT_NET_LOOPBACK, .log = stderr,
                       .state_dir = getenv("PG_TEST_KEEP")};
  nodus_kit *kit;
  if ((rc = nodus_kit_up(&kit, &ko))) {
    fprintf(stderr, "kit up: %s\n", nodus_strerror(rc));
    return 1;
  }
  const char *n[5] = {NULL};
  for (int i = 1; i <= BEAM; i++) n[i] = nodus_kit_node_name(kit, i);
  long mark[5];
  char *out = NULL, sql[1200], expr[2000];
  int64_t t0;
  const int C = 2 | 4 | 8, ALL = C | 16;

  STEP("notify: 3 C nodes (mode=notify) and a libcluster_postgres-like BEAM node");
  char path[700];
  snprintf(path, sizeof path, "%s/pg_beam.erl", nodus_kit_state_dir(kit));
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) fputs(pg_beam_erl, f), fclose(f);
  snprintf(expr, sizeof expr,
           "{ok, M, B} = compile:file(\"%s\", [binary, report]), "
           "{module, M} = code:load_binary(M, \"%s\", B), "
           "pg_beam:start([\"-X\", \"-q\", \"-A\", \"-t\", \"-h\", \"127.0.0.1\", "
           "\"-p\", \"%s\", \"-U\", \"postgres\", \"-d\", \"postgres\"], "
           "\"%s\", %d, %d).",
           path, path, pg.port, CHANNEL, INTERVAL_MS, TTL_MS);
  marks(kit, mark);
  t0 = nodus_kit_now_ns();
  rc = nodus_kit_eval(kit, BEAM, expr, 20000, &out);
  fprintf(stderr, "pg_beam start: %d %s\n", rc, out ? out : "");
  CHECK(rc == 0 && out && !strcmp(out, "{ok,ok}"));
  free(out), out = NULL;
  discover_all(kit, "mode=notify");
  /* C hears C and BEAM (its NOTIFY, folded to lower case) */
  CHECK(NODUS_EVENTUALLY(all_found(kit, mark, C, ALL), 5000));
  fprintf(stderr, "notify: all found after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  for (int i = 1; i <= 3; i++) CHECK(NODUS_EVENTUALLY(saw(kit, i, mark[i], "#nodeup", BEAM), 5000));
  /* BEAM hears C (our pg_notify on the channel as it LISTENs) */
  CHECK(NODUS_EVENTUALLY(beam_heard(kit, C, &out), 5000));
  fprintf(stderr, "pg_beam heard: %s\n", out ? out : "(none)");
  free(out), out = NULL;
  snprintf(sql, sizeof sql, "{ok,['%s','%s','%s']}", n[1], n[2], n[3]);
  CHECK(NODUS_EVENTUALLY(beam_nodes_are(kit, BEAM, sql), 3000));
  CHECK(psql_is("SELECT to_regclass('clusters') IS NULL", "t")); /* no table */
  for (int i = 1; i <= 3; i++) CHECK(count(kit, i, mark[i], "#error") == 0);

  STEP("payloads that are not node names: dropped with a log line");
  marks(kit, mark);
  char longname[400];
  memset(longname, 'a', 300);
  strcpy(longname + 300, "@h");
  snprintf(sql, sizeof sql,
           "NOTIFY \"%s\", 'not a node'; NOTIFY \"%s\", 'x@'; NOTIFY \"%s\", '@h'; "
           "NOTIFY \"%s\", '%s'; NOTIFY \"%s\", ''; "
           "SELECT pg_notify('%s', E'evil\\n@h'); SELECT pg_notify('%s', 'a@h;DROP')",
           CHANNEL, CHANNEL, CHANNEL, CHANNEL, longname, CHANNEL, CHANNEL, CHANNEL);
  rc = psql(sql, &out);
  CHECK_RC(rc, 0);
  if (rc) fprintf(stderr, "psql: %s\n", out ? out : "");
  free(out), out = NULL;
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count(kit, i, mark[i], "not a node name") >= 1, 3000));
  nodus_kit_sleep_ms(INTERVAL_MS); /* and nothing else came of them */
  for (int i = 1; i <= 3; i++) {
    CHECK(count(kit, i, mark[i], "#found") == 0);
    CHECK(count(kit, i, mark[i], "#lost") == 0);
  }

  STEP("table: mode=table makes the clusters table, one row per C node");
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, "stop"), 0);
  CHECK(NODUS_EVENTUALLY(count(kit, 1, mark[1], "#discover-stopped") == 1 &&
                             count(kit, 2, mark[2], "#discover-stopped") == 1 &&
                             count(kit, 3, mark[3], "#discover-stopped") == 1,
                         5000));
  marks(kit, mark);
  t0 = nodus_kit_now_ns();
  discover_all(kit, "mode=table");
  char want_rows[1000];
  snprintf(want_rows, sizeof want_rows, "%s %s %s", n[1], n[2], n[3]);
  CHECK(NODUS_EVENTUALLY((free(out), out = rows_of(), out && !strcmp(out, want_rows)), 5000));
  fprintf(stderr, "rows: %s\n", out ? out : "(none)");
  free(out), out = NULL;
  CHECK(NODUS_EVENTUALLY(all_found(kit, mark, C, C), 5000));
  fprintf(stderr, "table: all found after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  /* Ecto's migration types: timestamps() is timestamp(0) without tz */
  CHECK(psql_is("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) "
                "|| CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) "
                "FROM pg_attribute WHERE attrelid = 'clusters'::regclass AND attnum > 0",
                "id text not null, inserted_at timestamp(0) without time zone not null, "
                "updated_at timestamp(0) without time zone not null"));
  CHECK(psql_is("SELECT count(*) FROM pg_index WHERE indrelid = 'clusters'::regclass "
                "AND indisprimary", "1"));
  /* UTC, and refreshed every interval */
  CHECK(NODUS_EVENTUALLY(psql_is("SELECT bool_and(updated_at > inserted_at AND "
                                 "updated_at <= now() AT TIME ZONE 'UTC' + interval '1 s' "
                                 "AND updated_at > now() AT TIME ZONE 'UTC' - interval '3 s') "
                                 "FROM clusters", "t"), 4000));
  for (int i = 1; i <= 3; i++) log_lines(kit, i, mark[i], "#error");
  for (int i = 1; i <= 3; i++) CHECK(count(kit, i, mark[i], "#error") == 0);

  STEP("table: a row written as Ecto would is found, and lost past the TTL");
  marks(kit, mark);
  snprintf(sql, sizeof sql,
           "INSERT INTO clusters (id, inserted_at, updated_at) VALUES ('%s', "
           "date_trunc('second', now() AT TIME ZONE 'utc'), "
           "date_trunc('second', now() AT TIME ZONE 'utc'))", n[BEAM]);
  CHECK_RC(psql(sql, NULL), 0);
  t0 = nodus_kit_now_ns();
  CHECK(NODUS_EVENTUALLY(all_found(kit, mark, C, 16), 3000));
  fprintf(stderr, "Ecto row found after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  /* the story's ClusterSync writes its row once: it ages out */
  CHECK(NODUS_EVENTUALLY(event(kit, 1, mark[1], "lost", BEAM) &&
                             event(kit, 2, mark[2], "lost", BEAM) &&
                             event(kit, 3, mark[3], "lost", BEAM),
                         TTL_MS + 1000 + 2 * INTERVAL_MS + 1000));
  fprintf(stderr, "Ecto row lost after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  snprintf(sql, sizeof sql, "DELETE FROM clusters WHERE id = '%s'", n[BEAM]);
  CHECK_RC(psql(sql, NULL), 0);
  /* a row whose id is no node name: dropped with a log line */
  marks(kit, mark);
  CHECK_RC(psql("INSERT INTO clusters VALUES ('not a node', now() AT TIME ZONE 'utc', "
                "now() AT TIME ZONE 'utc')", NULL), 0);
  for (int i = 1; i <= 3; i++)
    CHECK(NODUS_EVENTUALLY(count(kit, i, mark[i], "row(s) of clusters whose id is not a "
                                 "node name") >= 1, 3000));
  CHECK_RC(psql("DELETE FROM clusters WHERE id = 'not a node'", NULL), 0);
  for (int i = 1; i <= 3; i++) CHECK(count(kit, i, mark[i], "#found") == 0);

  STEP("a graceful stop deletes the node's row");
  marks(kit, mark);
  CHECK_RC(fifo_send(kit, 3, "stop"), 0);
  snprintf(want_rows, sizeof want_rows, "%s %s", n[1], n[2]);
  CHECK(NODUS_EVENTUALLY((free(out), out = rows_of(), out && !strcmp(out, want_rows)), 3000));
  free(out), out = NULL;
  snprintf(sql, sizeof sql, "discover postgres:url=%s,interval_ms=%d,mode=table", pg.url,
           INTERVAL_MS);
  CHECK_RC(fifo_send(kit, 3, sql), 0);
  snprintf(want_rows, sizeof want_rows, "%s %s %s", n[1], n[2], n[3]);
  CHECK(NODUS_EVENTUALLY((free(out), out = rows_of(), out && !strcmp(out, want_rows)), 3000));
  free(out), out = NULL;

  STEP("kill -9 of node 3: its row stays; 1 and 2 stop listing it after the TTL");
  char want1[300], want2[300], want12[600];
  snprintf(want1, sizeof want1, "['%s','%s']", n[2], n[3]);
  CHECK(NODUS_EVENTUALLY(listed_is(kit, 1, want1), 3000));
  marks(kit, mark);
  t0 = nodus_kit_now_ns();
  CHECK_RC(nodus_kit_kill(kit, 3), 0);
  CHECK(NODUS_EVENTUALLY(event(kit, 1, mark[1], "lost", 3) && event(kit, 2, mark[2], "lost", 3),
                         TTL_MS + 1000 + 2 * INTERVAL_MS + 1000));
  fprintf(stderr, "node 3 lost after %.0f ms (ttl %d ms)\n", (nodus_kit_now_ns() - t0) / 1e6,
          TTL_MS);
  /* by the TTL, not at once: its last row was up to an interval old at
   * the kill, and updated_at (whole seconds) up to a second older */
  CHECK((nodus_kit_now_ns() - t0) / 1000000 >= TTL_MS - INTERVAL_MS - 1000 - 100);
  snprintf(want1, sizeof want1, "['%s']", n[2]);
  snprintf(want2, sizeof want2, "['%s']", n[1]);
  CHECK(listed_is(kit, 1, want1));
  CHECK(listed_is(kit, 2, want2));
  snprintf(sql, sizeof sql, "SELECT count(*) FROM clusters WHERE id = '%s'", n[3]);
  CHECK(psql_is(sql, "1")); /* killed: no goodbye */
  /* back: its row is upserted again (ON CONFLICT), 1 and 2 find it */
  CHECK_RC(nodus_kit_restart(kit, 3), 0);
  marks(kit, mark);
  snprintf(sql, sizeof sql, "discover postgres:url=%s,interval_ms=%d,mode=table", pg.url,
           INTERVAL_MS);
  CHECK_RC(fifo_send(kit, 3, sql), 0);
  CHECK(NODUS_EVENTUALLY(event(kit, 1, mark[1], "found", 3) && event(kit, 2, mark[2], "found", 3) &&
                             all_found(kit, mark, 8, 2 | 4),
                         4000));

  STEP("both forms (the default), then the database down for 5 s");
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, "stop"), 0);
  marks(kit, mark);
  discover_all(kit, "");
  CHECK(NODUS_EVENTUALLY(all_found(kit, mark, C, ALL), 5000)); /* rows + BEAM's NOTIFY */
  snprintf(want12, sizeof want12, "['%s','%s','%s']", n[2], n[3], n[BEAM]);
  CHECK(NODUS_EVENTUALLY(listed_is(kit, 1, want12), 3000));
  marks(kit, mark);
  int64_t down_at = nodus_kit_now_ns();
  nodus_kit_note(kit, "postgres: fast shutdown");
  pg_server_stop();
  /* every node logs it and keeps running; held down 5 s */
  CHECK(NODUS_EVENTUALLY(count(kit, 1, mark[1], "#error - via postgres") >= 1 &&
                             count(kit, 2, mark[2], "#error - via postgres") >= 1 &&
                             count(kit, 3, mark[3], "#error - via postgres") >= 1,
                         3000));
  fprintf(stderr, "all report the error after %.0f ms\n", (nodus_kit_now_ns() - down_at) / 1e6);
  log_lines(kit, 1, mark[1], "#log 1 discovery");
  CHECK(NODUS_EVENTUALLY(nodus_kit_now_ns() - down_at >= 5000 * 1000000LL, 6000));
  for (int i = 1; i <= 3; i++) log_lines(kit, i, mark[i], "#nodedown");
  for (int i = 1; i <= 3; i++) {
    CHECK(nodus_kit_node_pid(kit, i) > 0);
    CHECK(count(kit, i, mark[i], "#nodedown") == 0);
    CHECK(count(kit, i, mark[i], "#lost") == 0); /* the list stays as it was */
    CHECK(count(kit, i, mark[i], "#log 1 discovery: postgres:") >= 1); /* warn */
    for (int j = 1; j <= BEAM; j++) if (i != j) CHECK(nodus_kit_connected(kit, i, j));
  }
  CHECK(listed_is(kit, 1, want12));

  STEP("the database back: reconnect, fresh rows, a new row seen, BEAM hears again");
  marks(kit, mark);
  nodus_kit_note(kit, "postgres: started again");
  CHECK_RC(pg_server_start(), 0);
  int64_t up_at = nodus_kit_now_ns();
  CHECK_RC(nodus_kit_eval(kit, BEAM, "pg_beam:reset().", 5000, NULL), 0);
  CHECK(NODUS_EVENTUALLY(count(kit, 1, mark[1], "postgres: connected to") >= 1 &&
                             count(kit, 2, mark[2], "postgres: connected to") >= 1 &&
                             count(kit, 3, mark[3], "postgres: connected to") >= 1,
                         8000));
  fprintf(stderr, "all reconnected %.0f ms after the start\n",
          (nodus_kit_now_ns() - up_at) / 1e6);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM clusters WHERE id IN ('%s', '%s', '%s') AND updated_at >= "
           "date_trunc('second', pg_postmaster_start_time() AT TIME ZONE 'UTC')",
           n[1], n[2], n[3]);
  CHECK(NODUS_EVENTUALLY(psql_is(sql, "3"), 3000));
  CHECK_RC(psql("INSERT INTO clusters VALUES ('ghost@127.0.0.1', now() AT TIME ZONE 'utc', "
                "now() AT TIME ZONE 'utc')", NULL), 0);
  CHECK(NODUS_EVENTUALLY(event_name(kit, 1, mark[1], "found", "ghost@127.0.0.1") &&
                             event_name(kit, 2, mark[2], "found", "ghost@127.0.0.1") &&
                             event_name(kit, 3, mark[3], "found", "ghost@127.0.0.1"),
                         3000));
  CHECK_RC(psql("DELETE FROM clusters WHERE id = 'ghost@127.0.0.1'", NULL), 0);
  CHECK(NODUS_EVENTUALLY(beam_heard(kit, C, &out), 5000));
  fprintf(stderr, "pg_beam heard after the restart: %s\n", out ? out : "(none)");
  free(out), out = NULL;
  for (int i = 1; i <= 3; i++) {
    CHECK(count(kit, i, mark[i], "#nodedown") == 0);
    CHECK(count(kit, i, mark[i], "discovery: postgres: working again") >= 1);
  }

  STEP("nodus discover --once (dry run): lists the nodes, writes nothing");
  char cli[600];
  const char *bin = getenv("NODUS_BIN_DIR");
  snprintf(cli, sizeof cli, "%s/nodus", bin ? bin : ".");
  if (access(cli, X_OK) != 0) {
    fprintf(stderr, "no %s: step skipped\n", cli);
  } else {
    CHECK_RC(nodus_kit_eval(kit, BEAM, "pg_beam:reset().", 5000, NULL), 0);
    snprintf(sql, sizeof sql, "postgres:url=%s,interval_ms=%d", pg.url, INTERVAL_MS);
    const char *dargv[] = {cli, "discover", "--once", "--cookie", COOKIE, sql, NULL};
    rc = run(dargv, 15000, &out);
    fprintf(stderr, "nodus discover: %d\n%s", rc, out ? out : "");
    CHECK_RC(rc, 0);
    for (int i = 1; i <= 3; i++) { /* the rows; BEAM's NOTIFY may come later */
      char found[300];
      snprintf(found, sizeof found, "found %s via postgres", n[i]);
      CHECK(out && strstr(out, found));
    }
    free(out), out = NULL;
    CHECK(psql_is("SELECT count(*) FROM clusters WHERE id LIKE 'nodus_discover%'", "0"));
    nodus_kit_sleep_ms(2 * INTERVAL_MS);
    CHECK(nodus_kit_eval(kit, BEAM, "pg_beam:heard().", 5000, &out) == 0 && out &&
          !strstr(out, "nodus_discover"));
    free(out), out = NULL;
  }

  nodus_kit_down(kit);
  pg_cleanup();
  printf("test_cluster_postgres: %d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}
