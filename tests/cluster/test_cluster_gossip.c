/* Gossip discovery (libcluster 3.5's Gossip format) in the kit's network
 * namespaces: 4 C nodes and a BEAM node, each on its own host.
 *
 * The kit's namespaces have no multicast route (only 10.77.S.0/24 on
 * eth0), so a gossip start there fails with a clear error; the test checks
 * that, then adds `ip route add 224.0.0.0/4 dev eth0` in every namespace.
 *
 *   1. plain: nodes 1-3 find each other within 2 heartbeats
 *   2. garbage, truncated and reshaped heartbeats and replays of real ones
 *      sent to the group change nothing (dropped with a log line)
 *   3. secret: 1-3 restarted with secret=s3cret mesh within 2 heartbeats;
 *      node 4 with another secret is never connected
 *   4. BEAM: node 5 runs gossip_beam, an Erlang module this test writes
 *      from the documented format (gen_udp + crypto, no libcluster here),
 *      with the same secret: the C nodes hear it and connect, it hears the
 *      C nodes (and not node 4)
 *
 * The C nodes are this binary again (--name NAME --cookie C, as the kit
 * starts them): a node that prints the kit's #nodeup/#nodedown lines and
 * takes "discover SPEC" and "stop" on stdin (the kit's FIFO), so every
 * node starts discovering at the same instant, after the routes exist.
 * `--inject GROUP PORT` is the hostile sender of step 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "cluster_util.h"
#include "disc_node.h"
#include "nodus/discovery.h"

#define GROUP "233.252.1.32"
#define PORT 45892

/* ---- the C node ------------------------------------------------------- */

static int node_main(int argc, char **argv) {
  return disc_node_main(argc, argv, "gossip", (nodus_node_opts){0}, NULL);
}

/* ---- the hostile sender ------------------------------------------------ */

/* Joins the group, keeps the first real heartbeats it hears, then sends
 * garbage of every kind and each kept packet 20 times again. */
static int inject_main(const char *group, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return 2;
  struct ip_mreq mreq = {.imr_interface.s_addr = INADDR_ANY};
  inet_pton(AF_INET, group, &mreq.imr_multiaddr);
  if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) return 3;
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint8_t kept[3][1500];
  ssize_t kept_len[3];
  int nkept = 0;
  while (nkept < 3) {
    ssize_t n = recv(fd, kept[nkept], sizeof kept[nkept], 0);
    if (n < 0) break;
    kept_len[nkept++] = n;
  }
  printf("kept %d heartbeats\n", nkept);
  struct sockaddr_in to = addr;
  to.sin_addr = mreq.imr_multiaddr;
  int sent = 0;
#define SEND(p, n)                                                           \
  (sent += sendto(fd, (p), (size_t)(n), 0, (struct sockaddr *)&to, sizeof to) >= 0)
  uint8_t junk[1400];
  srand((unsigned)time(NULL));
  for (int i = 0; i < 20; i++) {
    size_t n = (size_t)(rand() % (int)sizeof junk);
    for (size_t j = 0; j < n; j++) junk[j] = (uint8_t)rand();
    SEND(junk, n);
  }
#define SEND_LIT(lit) SEND(lit, sizeof lit - 1)
  SEND_LIT("");
  SEND_LIT("heartbeat::");
  SEND_LIT("heartbeat::\x83\x74\0\0\0\x01\x64\0\x04node\x6d\0\0\0\x03" "a@h"); /* a binary */
  SEND_LIT("heartbeat::\x83\x74\0\0\0\x01\x64\0\x04node\x64\0\x0c" "ghost@nohost" "x"); /* trailing */
  SEND_LIT("heartbeat::\x83\x68\x02\x64\0\x04node\x64\0\x03" "a@h"); /* a tuple */
  SEND_LIT("heartbeat::\x83\x74\0\0\0\x01\x64\0\x04node\x64\0\x05" "nohst"); /* no @ */
  SEND_LIT("heartbeat::\x83\x74\0\0\0\x02\x64\0\x04node\x64\0\x0c" "ghost@nohost"
           "\x64\0\x01" "x" "\x61\x01"); /* another key */
  memset(junk, 'x', sizeof junk);
  memcpy(junk, "heartbeat::", 11);
  SEND(junk, sizeof junk);
  for (int k = 0; k < nkept; k++) {
    for (ssize_t cut = 1; cut < kept_len[k]; cut += 7) SEND(kept[k], cut);
    for (int r = 0; r < 20; r++) SEND(kept[k], kept_len[k]);
  }
  printf("sent %d\n", sent);
  close(fd);
  return nkept > 0 ? 0 : 4;
}

/* ---- the BEAM side ----------------------------------------------------- */

/* libcluster's Gossip, written from the format, not from its code. */
static const char gossip_beam_erl[] =
    "-module(gossip_beam).\n"
    "-export([start/3, heard/0]).\n"
    "start(Secret, Interval, Connect) ->\n"
    "  Parent = self(),\n"
    "  Pid = spawn(fun() -> init(Parent, Secret, Interval, Connect) end),\n"
    "  receive {Pid, R} -> R after 5000 -> timeout end.\n"
    "init(Parent, Secret, Interval, Connect) ->\n"
    "  register(gossip_beam, self()),\n"
    "  Group = {233,252,1,32},\n"
    "  case gen_udp:open(45892, [binary, {active, true}, {ip, {0,0,0,0}},\n"
    "                   {reuseaddr, true}, {broadcast, true}, {multicast_ttl, 1},\n"
    "                   {multicast_loop, true}, {add_membership, {Group, {0,0,0,0}}}]) of\n"
    "    {ok, S} ->\n"
    "      Parent ! {self(), ok},\n"
    "      self() ! heartbeat,\n"
    "      loop(#{sock => S, group => Group, secret => Secret, interval => Interval,\n"
    "             connect => Connect, heard => [], dropped => 0});\n"
    "    Error -> Parent ! {self(), Error}\n"
    "  end.\n"
    "loop(St = #{sock := S, secret := Secret}) ->\n"
    "  receive\n"
    "    heartbeat ->\n"
    "      ok = gen_udp:send(S, maps:get(group, St), 45892, packet(Secret)),\n"
    "      erlang:send_after(rand:uniform(maps:get(interval, St)), self(), heartbeat),\n"
    "      loop(St);\n"
    "    {udp, S, _Ip, _Port, Pkt} ->\n"
    "      Self = node(),\n"
    "      case decode(Secret, Pkt) of\n"
    "        {ok, Self} -> loop(St);\n"
    "        {ok, N} ->\n"
    "          maps:get(connect, St) andalso net_kernel:connect_node(N),\n"
    "          loop(St#{heard := lists:usort([N | maps:get(heard, St)])});\n"
    "        error -> loop(St#{dropped := maps:get(dropped, St) + 1})\n"
    "      end;\n"
    "    {heard, From} ->\n"
    "      From ! {heard, maps:get(heard, St), maps:get(dropped, St)},\n"
    "      loop(St)\n"
    "  end.\n"
    "heard() ->\n"
    "  gossip_beam ! {heard, self()},\n"
    "  receive {heard, H, D} -> {H, D} after 2000 -> timeout end.\n"
    "plain() -> <<\"heartbeat::\", (term_to_binary(#{node => node()}))/binary>>.\n"
    "packet(nil) -> plain();\n"
    "packet(Secret) ->\n"
    "  P = plain(),\n"
    "  Iv = crypto:strong_rand_bytes(16),\n"
    "  Pad = 16 - byte_size(P) rem 16,\n"
    "  C = crypto:crypto_one_time(aes_256_cbc, crypto:hash(sha256, Secret), Iv,\n"
    "                             <<P/binary, (binary:copy(<<Pad>>, Pad))/binary>>, true),\n"
    "  <<Iv/binary, C/binary>>.\n"
    "decode(nil, <<\"heartbeat::\", T/binary>>) ->\n"
    "  try binary_to_term(T) of\n"
    "    #{node := N} when is_atom(N) -> {ok, N};\n"
    "    _ -> error\n"
    "  catch _:_ -> error end;\n"
    "decode(nil, _) -> error;\n"
    "decode(Secret, <<Iv:16/binary, C/binary>>) when C =/= <<>>, byte_size(C) rem 16 =:= 0 ->\n"
    "  P = crypto:crypto_one_time(aes_256_cbc, crypto:hash(sha256, Secret), Iv, C, false),\n"
    "  Pad = binary:last(P),\n"
    "  case Pad >= 1 andalso Pad =< 16 andalso\n"
    "       binary:part(P, byte_size(P), -Pad) =:= binary:copy(<<Pad>>, Pad) of\n"
    "    true -> decode(nil, binary:part(P, 0, byte_size(P) - Pad));\n"
    "    false -> error\n"
    "  end;\n"
    "decode(_, _) -> error.\n";

/* ---- the test ---------------------------------------------------------- */

static int fifo_send(nodus_kit *kit, int i, const char *line) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.in", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "%s\n", line);
  fclose(f);
  return 0;
}

static bool mesh_of(nodus_kit *kit, const long *mark, int n) {
  for (int a = 1; a <= n; a++)
    for (int b = 1; b <= n; b++)
      if (a != b && !saw(kit, a, mark[a], "#nodeup", b)) return false;
  return true;
}

static int count_after(nodus_kit *kit, int i, long mark, const char *needle) {
  return nodus_kit_log_count(kit, i, mark, needle);
}

static bool touched_4(nodus_kit *kit, const long *mark) {
  for (int i = 1; i <= 5; i++)
    if (i != 4 && (saw(kit, i, mark[i], "#nodeup", 4) || saw(kit, 4, mark[4], "#nodeup", i)))
      return true;
  return false;
}

/* gossip_beam:heard()'s reply names nodes 1-3 (printed with ~p, which
 * may break the list over lines: look for each name) */
static bool heard_all(nodus_kit *kit, const char *reply) {
  for (int i = 1; i <= 3; i++) {
    char q[300];
    snprintf(q, sizeof q, "'%s'", nodus_kit_node_name(kit, i));
    if (!strstr(reply, q)) return false;
  }
  return !strncmp(reply, "{ok,{[", 6);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--name")) return node_main(argc, argv);
  if (argc == 4 && !strcmp(argv[1], "--inject")) return inject_main(argv[2], atoi(argv[3]));
  int need = cluster_require(CLUSTER_NETNS | CLUSTER_BEAM);
  if (need) return need;

  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) return 1;
  self[sl] = 0;
  nodus_kit_opts ko = {.nodes = 5, .beam = 1, .exec = self, .net = NODUS_KIT_NET_NETNS,
                       .log = stderr};
  nodus_kit *kit;
  int rc = nodus_kit_up(&kit, &ko);
  if (rc) {
    fprintf(stderr, "kit up: %s\n", nodus_strerror(rc));
    return 1;
  }
  long mark[6];
  char *out = NULL;

  STEP("no multicast route in the kit's namespaces: a clear error at start");
  const char *route_get[] = {"ip", "route", "get", GROUP, NULL};
  rc = nodus_kit_run_on(kit, 1, route_get, 5000, &out);
  fprintf(stderr, "ip route get %s on node 1: %d %s", GROUP, rc, out ? out : "\n");
  bool had_route = rc == 0;
  free(out), out = NULL;
  if (!had_route) {
    marks(kit, mark);
    CHECK_RC(fifo_send(kit, 1, "discover gossip:interval_ms=200"), 0);
    CHECK(NODUS_EVENTUALLY(count_after(kit, 1, mark[1], "#discover-failed NODUS_ENET") == 1,
                           5000));
    CHECK(count_after(kit, 1, mark[1], "multicast route") >= 1);
  }
  for (int i = 1; i <= 5; i++) {
    const char *add[] = {"ip", "route", "add", "224.0.0.0/4", "dev", "eth0", NULL};
    CHECK_RC(nodus_kit_run_on(kit, i, add, 5000, NULL), 0);
  }

  STEP("plain: nodes 1-3 find each other within 2 heartbeats (interval 1000 ms)");
  marks(kit, mark);
  int64_t t0 = nodus_kit_now_ns();
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, "discover gossip:interval_ms=1000"), 0);
  CHECK(NODUS_EVENTUALLY(mesh_of(kit, mark, 3), 2000 + 500));
  fprintf(stderr, "plain mesh after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  /* and each has heard both others itself (a node dialled by a peer may
   * see nodeup before it hears that peer) */
  CHECK(NODUS_EVENTUALLY(count_after(kit, 1, mark[1], "#found") == 2 &&
                             count_after(kit, 2, mark[2], "#found") == 2 &&
                             count_after(kit, 3, mark[3], "#found") == 2,
                         2000 + 500 - (nodus_kit_now_ns() - t0) / 1000000));
  fprintf(stderr, "plain: all found after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  for (int i = 1; i <= 3; i++) CHECK(count_after(kit, i, mark[i], "#discover-started") == 1);

  STEP("garbage, truncated, reshaped and replayed packets change nothing");
  marks(kit, mark);
  const char *inject[] = {self, "--inject", GROUP, "45892", NULL};
  rc = nodus_kit_run_on(kit, 4, inject, 15000, &out);
  fprintf(stderr, "injector: %d %s", rc, out ? out : "\n");
  free(out), out = NULL;
  CHECK_RC(rc, 0);
  nodus_kit_sleep_ms(1500);
  for (int i = 1; i <= 3; i++) {
    log_lines(kit, i, mark[i], "#");
    CHECK(count_after(kit, i, mark[i], "#nodedown") == 0);
    CHECK(count_after(kit, i, mark[i], "#nodeup") == 0);
    CHECK(count_after(kit, i, mark[i], "#found") == 0);
    CHECK(count_after(kit, i, mark[i], "#lost") == 0);
    CHECK(count_after(kit, i, mark[i], "dropped") >= 1);
    CHECK(nodus_kit_node_pid(kit, i) > 0);
    for (int j = 1; j <= 3; j++) if (i != j) CHECK(nodus_kit_connected(kit, i, j));
  }
  CHECK(count_after(kit, 1, 0, "ghost@") == 0);

  STEP("secret: 1-3 restarted with secret=s3cret, 4 with another secret");
  for (int i = 1; i <= 3; i++) CHECK_RC(fifo_send(kit, i, "stop"), 0);
  CHECK(NODUS_EVENTUALLY(count_after(kit, 3, mark[3], "#discover-stopped") == 1, 5000));
  for (int i = 1; i <= 4; i++) CHECK_RC(nodus_kit_restart(kit, i), 0);
  marks(kit, mark);
  CHECK_RC(fifo_send(kit, 4, "discover gossip:secret=0ther,interval_ms=500"), 0);
  t0 = nodus_kit_now_ns();
  for (int i = 1; i <= 3; i++)
    CHECK_RC(fifo_send(kit, i, "discover gossip:secret=s3cret,interval_ms=500"), 0);
  CHECK(NODUS_EVENTUALLY(mesh_of(kit, mark, 3), 1000 + 500));
  fprintf(stderr, "secret mesh after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);
  CHECK(NODUS_EVENTUALLY(count_after(kit, 1, mark[1], "#found") == 2 &&
                             count_after(kit, 2, mark[2], "#found") == 2 &&
                             count_after(kit, 3, mark[3], "#found") == 2,
                         1000 + 500 - (nodus_kit_now_ns() - t0) / 1000000));
  fprintf(stderr, "secret: all found after %.0f ms\n", (nodus_kit_now_ns() - t0) / 1e6);

  STEP("BEAM: libcluster-format heartbeats with the secret, both ways");
  char path[700], expr[2000];
  snprintf(path, sizeof path, "%s/gossip_beam.erl", nodus_kit_state_dir(kit));
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) fputs(gossip_beam_erl, f), fclose(f);
  snprintf(expr, sizeof expr,
           "{ok, M, B} = compile:file(\"%s\", [binary, report]), "
           "{module, M} = code:load_binary(M, \"%s\", B), "
           "gossip_beam:start(<<\"s3cret\">>, 500, false).", path, path);
  rc = nodus_kit_eval(kit, 5, expr, 20000, &out);
  fprintf(stderr, "beam start: %d %s\n", rc, out ? out : "");
  CHECK(rc == 0 && out && !strcmp(out, "{ok,ok}"));
  free(out), out = NULL;
  /* C hears BEAM: every C node connects to it (BEAM never dials here) */
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "#nodeup", 5) &&
                             saw(kit, 2, mark[2], "#nodeup", 5) &&
                             saw(kit, 3, mark[3], "#nodeup", 5),
                         1000 + 500));
  /* BEAM hears C: the names of 1-3 decoded from our heartbeats */
  bool heard = NODUS_EVENTUALLY(
      (free(out), out = NULL, nodus_kit_eval(kit, 5, "gossip_beam:heard().", 5000, &out) == 0 &&
                                  out && heard_all(kit, out)),
      3000);
  fprintf(stderr, "beam heard: %s\n", out ? out : "(none)");
  CHECK(heard);
  free(out), out = NULL;

  STEP("node 4 (another secret) is never connected");
  nodus_kit_sleep_ms(3000); /* ~6 heartbeats of everyone */
  CHECK(!touched_4(kit, mark));
  CHECK(count_after(kit, 4, mark[4], "#found") == 0);
  CHECK(count_after(kit, 4, mark[4], "dropped") >= 1);
  for (int i = 1; i <= 3; i++) CHECK(count_after(kit, i, mark[i], "#found") == 3); /* 2 C + BEAM */
  rc = nodus_kit_eval(kit, 5, "gossip_beam:heard().", 5000, &out);
  CHECK(rc == 0 && out && !strstr(out, nodus_kit_node_name(kit, 4)));
  CHECK(rc == 0 && out && !strstr(out, ",0}}")); /* it dropped node 4's */
  free(out), out = NULL;

  nodus_kit_down(kit);
  printf("test_cluster_gossip: %d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}
