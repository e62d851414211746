/* The checkers pass clean histories and flag planted violations; the
 * history format round-trips; grudges cut what they say. No cluster. */
#include <stdlib.h>
#include <unistd.h>

#include "cluster_util.h"

#define MS 1000000LL

static nodus_kit_history h;

static void ev(int64_t t_ms, int proc, const char *type, const char *f,
               const char *key, int has, int64_t v) {
  nodus_kit_op op = {.time_ns = t_ms * MS, .process = proc, .has_value = has,
                     .value = v};
  snprintf(op.type, sizeof op.type, "%s", type);
  snprintf(op.f, sizeof op.f, "%s", f);
  snprintf(op.key, sizeof op.key, "%s", key);
  nodus_kit_history_add(&h, &op);
}

static void cas(int64_t t_ms, int proc, const char *type, int has_old,
                int64_t old, int64_t v) {
  ev(t_ms, proc, type, "cas", "k", 1, v);
  h.ops[h.len - 1].has_expect = has_old;
  h.ops[h.len - 1].expect = old;
}

static void reset(void) { nodus_kit_history_free(&h); }

static int lin(void) {
  char msg[256];
  int rc = nodus_kit_check_linearizable(&h, msg, sizeof msg);
  fprintf(stderr, "   linearizable: %s\n", msg);
  return rc;
}

static void test_linearizable(void) {
  /* Sequential writes and reads. */
  ev(0, 1, "invoke", "write", "k", 1, 1); ev(1, 1, "ok", "write", "k", 1, 1);
  ev(2, 2, "invoke", "read", "k", 0, 0);  ev(3, 2, "ok", "read", "k", 1, 1);
  CHECK(lin() == 0);
  reset();
  /* Stale read after a completed write: planted violation. */
  ev(0, 1, "invoke", "write", "k", 1, 1); ev(1, 1, "ok", "write", "k", 1, 1);
  ev(2, 1, "invoke", "write", "k", 1, 2); ev(3, 1, "ok", "write", "k", 1, 2);
  ev(4, 2, "invoke", "read", "k", 0, 0);  ev(5, 2, "ok", "read", "k", 1, 1);
  CHECK(lin() == 1);
  reset();
  /* A concurrent read may see either value. */
  ev(0, 1, "invoke", "write", "k", 1, 1); ev(1, 1, "ok", "write", "k", 1, 1);
  ev(2, 1, "invoke", "write", "k", 1, 2);
  ev(3, 2, "invoke", "read", "k", 0, 0);  ev(4, 2, "ok", "read", "k", 1, 1);
  ev(5, 3, "invoke", "read", "k", 0, 0);  ev(6, 3, "ok", "read", "k", 1, 2);
  ev(7, 1, "ok", "write", "k", 1, 2);
  CHECK(lin() == 0);
  reset();
  /* ...but not go back: 2 then 1 by reads that do not overlap. */
  ev(0, 1, "invoke", "write", "k", 1, 1); ev(1, 1, "ok", "write", "k", 1, 1);
  ev(2, 1, "invoke", "write", "k", 1, 2);
  ev(3, 2, "invoke", "read", "k", 0, 0);  ev(4, 2, "ok", "read", "k", 1, 2);
  ev(5, 3, "invoke", "read", "k", 0, 0);  ev(6, 3, "ok", "read", "k", 1, 1);
  ev(7, 1, "ok", "write", "k", 1, 2);
  CHECK(lin() == 1);
  reset();
  /* A registry: register = cas(null -> pid). Two ok registrations of the
   * same unregistered name cannot both be right... */
  cas(0, 1, "invoke", 0, 0, 11); cas(2, 1, "ok", 0, 0, 11);
  cas(1, 2, "invoke", 0, 0, 22); cas(3, 2, "ok", 0, 0, 22);
  CHECK(lin() == 1);
  reset();
  /* ...unless the second one failed; an info one may or may not count. */
  cas(0, 1, "invoke", 0, 0, 11); cas(2, 1, "ok", 0, 0, 11);
  cas(1, 2, "invoke", 0, 0, 22); cas(3, 2, "fail", 0, 0, 22);
  cas(4, 3, "invoke", 1, 11, 33); cas(5, 3, "info", 1, 11, 33);
  ev(6, 4, "invoke", "read", "k", 0, 0);  ev(7, 4, "ok", "read", "k", 1, 33);
  ev(8, 4, "invoke", "read", "k", 0, 0);  ev(9, 4, "ok", "read", "k", 1, 33);
  CHECK(lin() == 0);
  reset();
  /* Reading null after a registration completed. */
  cas(0, 1, "invoke", 0, 0, 11); cas(1, 1, "ok", 0, 0, 11);
  ev(2, 2, "invoke", "read", "k", 0, 0);  ev(3, 2, "ok", "read", "k", 0, 0);
  CHECK(lin() == 1);
  reset();
  /* Keys are independent: the same pattern split over keys is fine. */
  ev(0, 1, "invoke", "write", "a", 1, 1); ev(1, 1, "ok", "write", "a", 1, 1);
  ev(2, 2, "invoke", "read", "b", 0, 0);  ev(3, 2, "ok", "read", "b", 0, 0);
  CHECK(lin() == 0);
  reset();
  /* A bigger clean history: 4 processes, 200 ops, concurrent windows. */
  int64_t t = 0, reg = -1;
  for (int k = 0; k < 50; k++) {
    ev(t, 1, "invoke", "write", "k", 1, k);
    ev(t + 1, 2, "invoke", "read", "k", 0, 0);
    ev(t + 2, 1, "ok", "write", "k", 1, k);
    /* Read overlapped the write: may see old or new. */
    ev(t + 3, 2, "ok", "read", "k", (k % 2 == 0) || reg >= 0, k % 2 ? reg : k);
    reg = k;
    t += 10;
  }
  CHECK(lin() == 0);
  reset();
}

static int single(int64_t allowance_ms) {
  char msg[256];
  int rc = nodus_kit_check_singleton(&h, allowance_ms * MS, msg, sizeof msg);
  fprintf(stderr, "   singleton: %s\n", msg);
  return rc;
}

static void test_singleton(void) {
  /* A clean handoff: 1 releases, then 2 acquires. */
  ev(0, 1, "invoke", "acquire", "job", 0, 0); ev(1, 1, "ok", "acquire", "job", 0, 0);
  ev(10, 1, "invoke", "release", "job", 0, 0); ev(11, 1, "ok", "release", "job", 0, 0);
  ev(12, 2, "invoke", "acquire", "job", 0, 0); ev(13, 2, "ok", "acquire", "job", 0, 0);
  CHECK(single(0) == 0);
  reset();
  /* Planted: 2 acquires while 1 still holds, 50 ms of overlap. */
  ev(0, 1, "invoke", "acquire", "job", 0, 0); ev(1, 1, "ok", "acquire", "job", 0, 0);
  ev(10, 2, "invoke", "acquire", "job", 0, 0); ev(11, 2, "ok", "acquire", "job", 0, 0);
  ev(61, 1, "invoke", "release", "job", 0, 0); ev(62, 1, "ok", "release", "job", 0, 0);
  CHECK(single(0) == 1);
  CHECK(single(20) == 1);
  CHECK(single(100) == 0); /* within a stated allowance */
  reset();
  /* Planted: two holders to the end. */
  ev(0, 1, "invoke", "acquire", "job", 0, 0); ev(1, 1, "ok", "acquire", "job", 0, 0);
  ev(5, 2, "invoke", "acquire", "job", 0, 0); ev(6, 2, "ok", "acquire", "job", 0, 0);
  CHECK(single(1000) == 1);
  reset();
  /* Unknown outcomes get the benefit of the doubt: an info acquire is not
   * a holder, an info release may have released at its invoke. */
  ev(0, 1, "invoke", "acquire", "job", 0, 0); ev(1, 1, "ok", "acquire", "job", 0, 0);
  ev(5, 2, "invoke", "acquire", "job", 0, 0); ev(6, 2, "info", "acquire", "job", 0, 0);
  ev(10, 1, "invoke", "release", "job", 0, 0); ev(30, 1, "info", "release", "job", 0, 0);
  ev(12, 3, "invoke", "acquire", "job", 0, 0); ev(13, 3, "ok", "acquire", "job", 0, 0);
  CHECK(single(0) == 0);
  reset();
  /* Different names never conflict. */
  ev(0, 1, "invoke", "acquire", "a", 0, 0); ev(1, 1, "ok", "acquire", "a", 0, 0);
  ev(0, 2, "invoke", "acquire", "b", 0, 0); ev(1, 2, "ok", "acquire", "b", 0, 0);
  CHECK(single(0) == 0);
  reset();
}

static int conv(int64_t heal_ms, int64_t bound_ms) {
  char msg[256];
  int rc = nodus_kit_check_converged(&h, heal_ms * MS, bound_ms * MS, msg,
                                     sizeof msg);
  fprintf(stderr, "   converged: %s\n", msg);
  return rc;
}

static void test_converged(void) {
  /* Diverged during the partition, agree 300 ms after the heal at 1000. */
  for (int p = 1; p <= 3; p++) ev(500, p, "ok", "observe", "members", 1, p);
  ev(1100, 1, "ok", "observe", "members", 1, 1);
  ev(1150, 2, "ok", "observe", "members", 1, 3);
  ev(1300, 1, "ok", "observe", "members", 1, 3);
  ev(1400, 2, "ok", "observe", "members", 1, 3);
  ev(1500, 3, "ok", "observe", "members", 1, 3);
  CHECK(conv(1000, 500) == 0);
  CHECK(conv(1000, 200) == 1); /* planted: a bound it misses */
  /* Planted: node 2 ends on another value. */
  ev(1600, 2, "ok", "observe", "members", 1, 9);
  CHECK(conv(1000, 5000) == 1);
  reset();
}

static void test_history_file(void) {
  char path[] = "/tmp/nodus-kit-hist-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "a");
  nodus_kit_op op = {.time_ns = 123456789, .process = 3, .has_value = true,
                     .value = -42};
  strcpy(op.type, "invoke"), strcpy(op.f, "cas"), strcpy(op.key, "reg");
  op.has_expect = false;
  CHECK_RC(nodus_kit_history_record(f, &op), 0);
  strcpy(op.type, "ok");
  op.has_value = false;
  CHECK_RC(nodus_kit_history_record(f, &op), 0);
  fputs("{\"time\": 5, \"process\": 1, \"type\": \"info\", \"f\": \"read\", "
        "\"key\": \"x\", \"value\": null, \"extra\": [1]}\n", f);
  fclose(f);
  nodus_kit_history got = {0};
  int bad = 0;
  /* The extra array is not the flat shape we write: rejected, line 3. */
  CHECK_RC(nodus_kit_history_load(&got, path, &bad), NODUS_ESYNTAX);
  CHECK(bad == 3);
  CHECK(got.len == 2);
  CHECK(got.len == 2 && got.ops[0].time_ns == 123456789 &&
        got.ops[0].process == 3 && got.ops[0].value == -42 &&
        got.ops[0].has_value && !got.ops[0].has_expect &&
        !strcmp(got.ops[0].f, "cas") && !strcmp(got.ops[0].key, "reg"));
  CHECK(got.len == 2 && !got.ops[1].has_value && !strcmp(got.ops[1].type, "ok"));
  nodus_kit_history_free(&got);
  nodus_kit_op one;
  CHECK_RC(nodus_kit_history_parse_line(
               "{\"time\":1,\"process\":2,\"type\":\"fail\",\"f\":\"write\","
               "\"key\":\"k\",\"value\":7}", &one), 0);
  CHECK(one.value == 7 && !strcmp(one.type, "fail"));
  CHECK_RC(nodus_kit_history_parse_line("{\"time\":1,\"type\":\"done\"}", &one),
           NODUS_ESYNTAX);
  unlink(path);
}

static void test_grudges(void) {
  nodus_kit_grudge g;
  char text[128];
  nodus_kit_grudge_halves(&g, 4);
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "1,2/3,4");
  nodus_kit_grudge_isolate(&g, 3, 2);
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "1,3/2");
  nodus_kit_grudge_bridge(&g, 5);
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "cut 1-4 1-5 2-4 2-5");
  nodus_kit_grudge_ring(&g, 5);
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "cut 1-3 1-4 2-4 2-5 3-5");
  CHECK_RC(nodus_kit_grudge_parse(&g, 4, "1,2/3"), 0);
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "1,2/3/4"); /* an unnamed node is cut from everyone */
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1"), 0);
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "1/2,3");
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1,4/2"), NODUS_ESYNTAX);
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1,1/2"), NODUS_ESYNTAX);
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1/"), NODUS_ESYNTAX);
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "a/b"), NODUS_ESYNTAX);
}

/* Ticks: a clean run, a tick twice, an epoch going down, a new owner
 * with the same epoch, a gap; and the gap bounds at both ends. */
static void test_ticks(void) {
  char msg[256];
  nodus_kit_tick ok[] = {{3000, 3001, 5, 1}, {1000, 1001, 5, 1}, {2000, 2002, 5, 1},
                         {4000, 4003, 9, 2}};
  CHECK(nodus_kit_check_ticks(ok, 4, 1000, 500, 4500, msg, sizeof msg) == 0);
  CHECK(strstr(msg, "4 ticks") != NULL);
  nodus_kit_tick twice[] = {{1000, 1001, 5, 1}, {2000, 2001, 5, 1}, {2000, 2900, 9, 2}};
  CHECK(nodus_kit_check_ticks(twice, 3, 0, 0, 0, msg, sizeof msg) == 1);
  CHECK(strstr(msg, "tick 2000 ran twice") != NULL);
  nodus_kit_tick down[] = {{1000, 1001, 9, 2}, {2000, 2001, 5, 1}};
  CHECK(nodus_kit_check_ticks(down, 2, 0, 0, 0, msg, sizeof msg) == 1);
  nodus_kit_tick same[] = {{1000, 1001, 5, 1}, {2000, 2001, 5, 2}};
  CHECK(nodus_kit_check_ticks(same, 2, 0, 0, 0, msg, sizeof msg) == 1);
  nodus_kit_tick gap[] = {{1000, 1001, 5, 1}, {4000, 4001, 9, 2}};
  CHECK(nodus_kit_check_ticks(gap, 2, 2500, 0, 0, msg, sizeof msg) == 1);
  CHECK(strstr(msg, "3000 ms without a tick") != NULL);
  CHECK(nodus_kit_check_ticks(gap, 2, 3000, 0, 0, msg, sizeof msg) == 0);
  CHECK(nodus_kit_check_ticks(gap, 2, 3000, 0, 9000, msg, sizeof msg) == 1); /* 5000 at the end */
  CHECK(nodus_kit_check_ticks(gap, 2, 3000, -1, 0, msg, sizeof msg) == 0);
  CHECK(nodus_kit_check_ticks(NULL, 0, 1000, 1000, 5000, msg, sizeof msg) == 1); /* none ran */
}

int main(void) {
  test_linearizable();
  test_singleton();
  test_converged();
  test_ticks();
  test_history_file();
  test_grudges();
  return check_report();
}
