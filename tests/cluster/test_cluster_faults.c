/* A mixed cluster (node 1 C, nodes 2 and 3 BEAM): loss and latency are
 * measurably applied, clock skew shifts a node's wall clock, and a seeded
 * schedule is reproducible and leaves the cluster whole. */
#include <stdlib.h>
#include <time.h>

#include "cluster_util.h"

static long eval_int(nodus_kit *kit, int i, const char *expr) {
  char *reply = NULL;
  long v = -1;
  if (nodus_kit_eval(kit, i, expr, 20000, &reply) == 0 && reply)
    if (sscanf(reply, "{ok,%ld}", &v) != 1) {
      fprintf(stderr, "eval on %d: %s\n", i, reply);
      v = -1;
    }
  free(reply);
  return v;
}

/* Microseconds per rpc round trip from 2 to 3 (mean of 5). */
static long rtt_us(nodus_kit *kit) {
  char expr[400];
  snprintf(expr, sizeof expr,
           "N = '%s', rpc:call(N, erlang, node, []),"
           "{T, _} = timer:tc(fun() -> [rpc:call(N, erlang, node, []) || "
           "_ <- lists:seq(1, 5)] end), T div 5.",
           nodus_kit_node_name(kit, 3));
  return eval_int(kit, 2, expr);
}

/* UDP datagrams node 3 receives of 200 that node 2 sends: loss made
 * visible without TCP's retransmissions hiding it. */
static long udp_through(nodus_kit *kit, int port) {
  char expr[1200], ip[32];
  snprintf(ip, sizeof ip, "%s", nodus_kit_node_ip(kit, 3));
  for (char *p = ip; *p; p++)
    if (*p == '.') *p = ',';
  snprintf(expr, sizeof expr,
           "Me = self(), P = spawn(fun() -> {ok, _} = gen_udp:open(%d, "
           "[binary, {active, true}, {recbuf, 1048576}]), Me ! opened, "
           "(fun L(N) -> receive {udp, _, _, _, _} -> L(N + 1); "
           "{count, F} -> F ! {count, N} after 20000 -> ok end end)(0) end), "
           "register(kit_udp%d, P), receive opened -> 0 end.",
           port, port);
  if (eval_int(kit, 3, expr) != 0) return -1;
  snprintf(expr, sizeof expr,
           "{ok, S} = gen_udp:open(0), [begin gen_udp:send(S, {%s}, %d, "
           "<<I:32>>), timer:sleep(1) end || I <- lists:seq(1, 200)], "
           "gen_udp:close(S), 0.",
           ip, port);
  if (eval_int(kit, 2, expr) != 0) return -1;
  nodus_kit_sleep_ms(300);
  snprintf(expr, sizeof expr,
           "kit_udp%d ! {count, self()}, receive {count, N} -> N "
           "after 3000 -> -1 end.",
           port);
  return eval_int(kit, 3, expr);
}

int main(void) {
  int need = cluster_require(CLUSTER_NETNS | CLUSTER_BEAM | CLUSTER_DELAY |
                             CLUSTER_SKEW);
  if (need) return need;
  nodus_kit *kit;
  if (nodus_kit_fixture(&kit, 3, 2, NULL)) return 1;
  CHECK(nodus_kit_netns(kit));
  CHECK(nodus_kit_node_kind(kit, 1) == NODUS_KIT_C);
  CHECK(nodus_kit_node_kind(kit, 3) == NODUS_KIT_BEAM);
  CHECK_RC(nodus_kit_ping(kit, 1, 3, 3000), 0); /* mixed: C dials BEAM */
  CHECK_RC(nodus_kit_ping(kit, 2, 1, 3000), 0); /* BEAM dials C */

  STEP("latency: 100 ms on what node 3 receives");
  long before = rtt_us(kit);
  CHECK_RC(nodus_kit_delay(kit, 3, 100), 0);
  long after = rtt_us(kit);
  STEP("round trip %ld us -> %ld us", before, after);
  CHECK(before >= 0 && before < 20000);
  CHECK(after - before > 90000 && after - before < 250000);
  CHECK_RC(nodus_kit_heal(kit), 0);
  long healed = rtt_us(kit);
  CHECK(healed >= 0 && healed < 20000);

  STEP("loss: 30%% of what node 3 receives");
  long clean = udp_through(kit, 7701);
  CHECK_RC(nodus_kit_loss(kit, 3, 30), 0);
  long lossy = udp_through(kit, 7702);
  CHECK_RC(nodus_kit_heal(kit), 0);
  STEP("200 datagrams: %ld through clean, %ld through 30%% loss", clean, lossy);
  CHECK(clean >= 195);
  CHECK(lossy >= 100 && lossy <= 180);

  STEP("clock skew: node 2 an hour ahead");
  CHECK_RC(nodus_kit_skew(kit, 2, 3600), 0);
  long t2 = eval_int(kit, 2, "os:system_time(second).");
  long skew = t2 - (long)time(NULL);
  STEP("node 2's clock is %+ld s off", skew);
  CHECK(skew > 3590 && skew < 3610);
  CHECK_RC(nodus_kit_ping(kit, 2, 3, 3000), 0); /* still a working node */
  CHECK_RC(nodus_kit_skew(kit, 2, 0), 0);
  t2 = eval_int(kit, 2, "os:system_time(second).");
  CHECK(labs(t2 - (long)time(NULL)) < 5);

  STEP("seeded schedule");
  nodus_kit_step a[6], b[6], c[6];
  nodus_kit_schedule(42, 3, true, a, 6);
  nodus_kit_schedule(42, 3, true, b, 6);
  nodus_kit_schedule(43, 3, true, c, 6);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, sizeof a) != 0);
  long lines_before = 0;
  {
    FILE *f = fopen(nodus_kit_fault_log(kit), "r");
    for (int ch; f && (ch = fgetc(f)) != EOF;) lines_before += ch == '\n';
    if (f) fclose(f);
  }
  CHECK_RC(nodus_kit_schedule_run(kit, 7, 3, 300, 100), 0);
  long lines_after = 0;
  FILE *f = fopen(nodus_kit_fault_log(kit), "r");
  for (int ch; f && (ch = fgetc(f)) != EOF;) lines_after += ch == '\n';
  if (f) fclose(f);
  CHECK(lines_after - lines_before >= 7); /* note + 3 faults + 3 undos */
  for (int i = 1; i <= 3; i++) CHECK(nodus_kit_node_pid(kit, i) > 0);
  CHECK(NODUS_EVENTUALLY(nodus_kit_ping(kit, 2, 3, 2000) == 0 &&
                             nodus_kit_ping(kit, 1, 2, 2000) == 0,
                         15000));

  nodus_kit_down(kit);
  return check_report();
}
