/* The handshake state machine: an initiator and an acceptor talking in
 * memory, hand-made v5 peers, every failure path, hostile input. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "distribution/dist_flags.h"
#include "distribution/handshake.h"
#include "nodus/error.h"

static uint32_t fixed_challenge(void *arg) {
  (void)arg;
  return 0xdeadbeefu;
}

static dist_hs_status decide_status;
static dist_hs_status decide(void *arg, const dist_hs_peer *peer) {
  (void)arg;
  (void)peer;
  return decide_status;
}
static bool replace_answer;
static bool alive_replace(void *arg, const dist_hs_peer *peer) {
  (void)arg;
  (void)peer;
  return replace_answer;
}

static dist_hs_config cfg(bool initiator, const char *cookie) {
  dist_hs_config c = {0};
  c.this_name = initiator ? "alice@host" : "bob@host";
  c.peer_name = initiator ? "bob@host" : NULL;
  c.cookie = cookie;
  c.flags = NODUS_DFLAGS_DEFAULT;
  c.required_flags = DFLAG_MANDATORY_25;
  c.creation = initiator ? 11 : 22;
  c.initiator = initiator;
  c.decide = decide;
  c.alive_replace = alive_replace;
  c.challenge = fixed_challenge;
  return c;
}

/* A transcript of what each side sent, for the hostile-input tests. */
typedef struct tape {
  uint8_t b[4096];
  size_t n;
} tape;

/* Moves bytes both ways, `chunk` bytes per feed, until nothing moves. */
static void pump(dist_hs *a, dist_hs *b, size_t chunk, dist_hs_result *ra,
                 dist_hs_result *rb, tape *ta, tape *tb) {
  *ra = *rb = DIST_HS_MORE;
  for (int guard = 0; guard < 100000; guard++) {
    bool moved = false;
    dist_hs *side[2] = {a, b};
    dist_hs_result *res[2] = {rb, ra};
    tape *tp[2] = {ta, tb};
    for (int s = 0; s < 2; s++) {
      dist_hs *from = side[s], *to = side[1 - s];
      size_t n;
      const uint8_t *o = dist_hs_output(from, &n);
      if (n == 0 || *res[s] != DIST_HS_MORE) continue;
      size_t k = n < chunk ? n : chunk, used = 0;
      if (tp[s] && tp[s]->n + k <= sizeof tp[s]->b) {
        memcpy(tp[s]->b + tp[s]->n, o, k);
        tp[s]->n += k;
      }
      *res[s] = dist_hs_feed(to, o, k, &used);
      dist_hs_consumed(from, k);
      moved = true;
    }
    if (!moved) return;
  }
}

static void run_pair(dist_hs_config ci, dist_hs_config ca, size_t chunk,
                     dist_hs **pi, dist_hs **pa, dist_hs_result *ri,
                     dist_hs_result *ra, tape *ti, tape *ta) {
  CHECK_RC(dist_hs_new(pi, &ci), 0);
  CHECK_RC(dist_hs_new(pa, &ca), 0);
  CHECK_RC(dist_hs_start(*pi), 0);
  pump(*pi, *pa, chunk, ri, ra, ti, ta);
}

static void test_success(size_t chunk) {
  decide_status = DIST_HS_STATUS_OK;
  dist_hs *i, *a;
  dist_hs_result ri, ra;
  run_pair(cfg(true, "secret"), cfg(false, "secret"), chunk, &i, &a, &ri, &ra,
           NULL, NULL);
  CHECK(ri == DIST_HS_DONE);
  CHECK(ra == DIST_HS_DONE);
  CHECK(dist_hs_flags(i) == dist_hs_flags(a));
  CHECK(dist_hs_flags(i) == NODUS_DFLAGS_DEFAULT);
  CHECK_STR(dist_hs_peer_info(i)->name, "bob@host");
  CHECK_STR(dist_hs_peer_info(a)->name, "alice@host");
  CHECK(dist_hs_peer_info(i)->creation == 22);
  CHECK(dist_hs_peer_info(a)->creation == 11);
  CHECK(dist_hs_last_status(i) == DIST_HS_STATUS_OK);
  CHECK_STR(dist_hs_error(i), "");
  size_t n;
  dist_hs_output(i, &n);
  CHECK(n == 0);
  dist_hs_free(i);
  dist_hs_free(a);
}

static void test_wrong_cookie(void) {
  decide_status = DIST_HS_STATUS_OK;
  dist_hs *i, *a;
  dist_hs_result ri, ra;
  run_pair(cfg(true, "secret"), cfg(false, "other"), 4096, &i, &a, &ri, &ra,
           NULL, NULL);
  CHECK(ra == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(a), "wrong cookie") != NULL);
  CHECK(dist_hs_auth_failed(a));
  size_t n;
  dist_hs_output(a, &n);
  CHECK(n == 0); /* nothing more is sent, as BEAM */
  CHECK(ri == DIST_HS_MORE);
  CHECK(!dist_hs_auth_failed(i)); /* not failed yet */
  CHECK(dist_hs_closed(i) == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(i), "wrong cookie") != NULL);
  CHECK(dist_hs_auth_failed(i)); /* what nodus_node_ping calls EAUTH */
  dist_hs_free(i);
  dist_hs_free(a);
}

static void test_status(dist_hs_status st, bool replace, bool want_done,
                        const char *want_err) {
  decide_status = st;
  replace_answer = replace;
  dist_hs *i, *a;
  dist_hs_result ri, ra;
  run_pair(cfg(true, "c"), cfg(false, "c"), 4096, &i, &a, &ri, &ra, NULL,
           NULL);
  CHECK(dist_hs_last_status(i) == st);
  CHECK(dist_hs_last_status(a) == st);
  if (want_done) {
    CHECK(ri == DIST_HS_DONE);
    CHECK(ra == DIST_HS_DONE);
  } else {
    CHECK(ri == DIST_HS_FAILED);
    CHECK(ra == DIST_HS_FAILED);
    CHECK(!dist_hs_auth_failed(i) && !dist_hs_auth_failed(a));
    CHECK(strstr(dist_hs_error(i), want_err) != NULL);
    if (!strstr(dist_hs_error(i), want_err))
      fprintf(stderr, "  error was: %s\n", dist_hs_error(i));
  }
  dist_hs_free(i);
  dist_hs_free(a);
}

static void test_flags(void) {
  decide_status = DIST_HS_STATUS_OK;
  dist_hs *i, *a;
  dist_hs_result ri, ra;
  /* Initiator lacks a mandatory flag: acceptor says not_allowed. */
  dist_hs_config ci = cfg(true, "c");
  ci.flags &= ~DFLAG_MAP_TAG;
  ci.required_flags = 0;
  run_pair(ci, cfg(false, "c"), 4096, &i, &a, &ri, &ra, NULL, NULL);
  CHECK(ra == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(a), "lacks required flags 0x20000") != NULL);
  CHECK(ri == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(i), "not_allowed") != NULL);
  dist_hs_free(i);
  dist_hs_free(a);

  /* Acceptor lacks one the initiator requires: initiator aborts. */
  dist_hs_config ca = cfg(false, "c");
  ca.flags &= ~DFLAG_UTF8_ATOMS;
  ca.required_flags = 0;
  run_pair(cfg(true, "c"), ca, 4096, &i, &a, &ri, &ra, NULL, NULL);
  CHECK(ri == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(i), "lacks required flags 0x10000") != NULL);
  dist_hs_free(i);
  dist_hs_free(a);

  /* MANDATORY_25_DIGEST stands for the whole OTP 25 set. */
  ci = cfg(true, "c");
  ci.flags = DFLAG_MANDATORY_25_DIGEST | DFLAG_PUBLISHED | DFLAG_FRAGMENTS;
  run_pair(ci, cfg(false, "c"), 4096, &i, &a, &ri, &ra, NULL, NULL);
  CHECK(ri == DIST_HS_DONE);
  CHECK(ra == DIST_HS_DONE);
  CHECK((dist_hs_flags(a) & DFLAG_MANDATORY_25) == DFLAG_MANDATORY_25);
  CHECK(dist_hs_flags(a) & DFLAG_FRAGMENTS);
  CHECK(!(dist_hs_flags(a) & DFLAG_SPAWN));
  CHECK(dist_hs_flags(a) == dist_hs_flags(i));
  dist_hs_free(i);
  dist_hs_free(a);
}

static void test_names(void) {
  dist_hs *h;
  dist_hs_config c = cfg(true, "c");
  c.this_name = "nohost";
  CHECK_RC(dist_hs_new(&h, &c), NODUS_EBADNAME);
  char longname[300];
  memset(longname, 'a', sizeof longname);
  memcpy(longname + 260, "@host", 6);
  c.this_name = longname;
  CHECK_RC(dist_hs_new(&h, &c), NODUS_EBADNAME);
  c = cfg(true, "c");
  c.cookie = NULL;
  CHECK_RC(dist_hs_new(&h, &c), NODUS_EINVAL);

  /* The challenge names someone else than we dialled. */
  decide_status = DIST_HS_STATUS_OK;
  dist_hs *i, *a;
  dist_hs_result ri, ra;
  dist_hs_config ci = cfg(true, "c");
  ci.peer_name = "carol@host";
  run_pair(ci, cfg(false, "c"), 4096, &i, &a, &ri, &ra, NULL, NULL);
  CHECK(ri == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(i), "we dialled carol@host") != NULL);
  dist_hs_free(i);
  dist_hs_free(a);
}

/* ---- hand-made peers -------------------------------------------------- */

static size_t msg(uint8_t *out, const void *body, size_t n) {
  out[0] = (uint8_t)(n >> 8);
  out[1] = (uint8_t)n;
  memcpy(out + 2, body, n);
  return n + 2;
}

static void be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void digest(const char *cookie, uint32_t ch, uint8_t out[16]) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "%s%u", cookie, ch);
  unsigned len;
  EVP_Digest(buf, (size_t)n, out, &len, EVP_md5(), NULL);
}

/* Feeds all of data; returns the last result. */
static dist_hs_result feed_all(dist_hs *h, const uint8_t *d, size_t n) {
  size_t used;
  dist_hs_result r = dist_hs_feed(h, d, n, &used);
  CHECK(r != DIST_HS_MORE || used == n);
  return r;
}

/* Takes the pending output; returns its length. */
static size_t take(dist_hs *h, uint8_t *out) {
  size_t n;
  const uint8_t *o = dist_hs_output(h, &n);
  if (n) memcpy(out, o, n);
  dist_hs_consumed(h, n);
  return n;
}

static void test_v5_name(bool handshake23) {
  decide_status = DIST_HS_STATUS_OK;
  dist_hs_config ca = cfg(false, "c");
  ca.required_flags = handshake23 ? DFLAG_MANDATORY_26 : 0;
  dist_hs *a;
  CHECK_RC(dist_hs_new(&a, &ca), 0);
  /* 'n', Version:16 = 5, Flags:32, Name */
  uint8_t body[64], wire[512], out[512];
  uint32_t low = (uint32_t)(DFLAG_MANDATORY_25 | DFLAG_UNLINK_ID |
                            DFLAG_PUBLISHED);
  if (!handshake23) low &= ~(uint32_t)DFLAG_HANDSHAKE_23;
  body[0] = 'n', body[1] = 0, body[2] = 5;
  be32(body + 3, low);
  memcpy(body + 7, "old@host", 8);
  CHECK(feed_all(a, wire, msg(wire, body, 15)) == DIST_HS_MORE);
  size_t n = take(a, out);
  /* status "ok", then the challenge */
  CHECK(n > 6 && memcmp(out, "\0\3sok", 5) == 0);
  const uint8_t *ch = out + 5;
  if (handshake23) {
    CHECK(ch[2] == 'N');
    CHECK(n == 5 + 2 + 19 + 8); /* 'N' challenge with "bob@host" */
    /* 'c', FlagsHigh:32, Creation:32 */
    body[0] = 'c';
    be32(body + 1, (uint32_t)(DFLAG_V4_NC >> 32));
    be32(body + 5, 77);
    CHECK(feed_all(a, wire, msg(wire, body, 9)) == DIST_HS_MORE);
  } else {
    /* 'n', 0,5, Flags:32, Challenge:32, Name */
    CHECK(ch[2] == 'n' && ch[3] == 0 && ch[4] == 5);
    CHECK(memcmp(ch + 9, "\xde\xad\xbe\xef", 4) == 0);
    CHECK(memcmp(ch + 13, "bob@host", 8) == 0);
  }
  body[0] = 'r';
  be32(body + 1, 12345);
  digest("c", 0xdeadbeefu, body + 5);
  CHECK(feed_all(a, wire, msg(wire, body, 21)) == DIST_HS_DONE);
  n = take(a, out);
  uint8_t want[16];
  digest("c", 12345, want);
  CHECK(n == 19 && out[2] == 'a' && memcmp(out + 3, want, 16) == 0);
  const dist_hs_peer *p = dist_hs_peer_info(a);
  CHECK_STR(p->name, "old@host");
  CHECK(p->creation == (handshake23 ? 77u : 0u));
  if (handshake23) CHECK(p->flags & DFLAG_V4_NC);
  dist_hs_free(a);

  /* A 'c' that lacks a required high flag fails after the fact. */
  if (handshake23) {
    CHECK_RC(dist_hs_new(&a, &ca), 0);
    low = (uint32_t)(DFLAG_MANDATORY_25 | DFLAG_UNLINK_ID);
    body[0] = 'n', body[1] = 0, body[2] = 5;
    be32(body + 3, low);
    memcpy(body + 7, "old@host", 8);
    feed_all(a, wire, msg(wire, body, 15));
    take(a, out);
    body[0] = 'c';
    be32(body + 1, 0);
    be32(body + 5, 1);
    CHECK(feed_all(a, wire, msg(wire, body, 9)) == DIST_HS_FAILED);
    CHECK(strstr(dist_hs_error(a), "lacks required flags") != NULL);
    dist_hs_free(a);
  }
}

/* The initiator gets an old 'n' challenge from a v5 acceptor. */
static void test_v5_challenge(void) {
  dist_hs_config ci = cfg(true, "c");
  ci.required_flags = 0;
  dist_hs *i;
  CHECK_RC(dist_hs_new(&i, &ci), 0);
  CHECK_RC(dist_hs_start(i), 0);
  CHECK_RC(dist_hs_start(i), NODUS_ESTATE);
  uint8_t body[64], wire[512], out[512];
  take(i, out);
  CHECK(feed_all(i, wire, msg(wire, "sok", 3)) == DIST_HS_MORE);
  body[0] = 'n', body[1] = 0, body[2] = 5;
  be32(body + 3, (uint32_t)DFLAG_EXTENDED_PIDS_PORTS);
  be32(body + 7, 999);
  memcpy(body + 11, "bob@host", 8);
  CHECK(feed_all(i, wire, msg(wire, body, 19)) == DIST_HS_MORE);
  size_t n = take(i, out);
  uint8_t want[16];
  digest("c", 999, want);
  CHECK(n == 23 && out[2] == 'r' && memcmp(out + 7, want, 16) == 0);
  /* 'a' for our fixed challenge, then the first frame in the same read */
  body[0] = 'a';
  digest("c", 0xdeadbeefu, body + 1);
  size_t k = msg(wire, body, 17);
  memcpy(wire + k, "\0\0\0\0", 4);
  size_t used;
  CHECK(dist_hs_feed(i, wire, k + 4, &used) == DIST_HS_DONE);
  CHECK(used == k);
  CHECK(dist_hs_flags(i) == DFLAG_EXTENDED_PIDS_PORTS);
  /* After done: nothing more is taken. */
  CHECK(dist_hs_feed(i, wire, 4, &used) == DIST_HS_DONE && used == 0);
  dist_hs_free(i);
}

/* Odd inputs at specific points. */
static void test_odd_messages(void) {
  struct {
    bool initiator;
    const char *body;
    size_t len;
    const char *err;
  } cases[] = {
      {false, "X", 1, "expected send_name"},
      {false, "N\0\0\0\0\0\0\0\0", 9, "truncated"},
      {false, "N\0\0\0\0\0\0\0\0\0\0\0\0\0\5ab", 17, "longer than message"},
      {false, "N\0\0\0\0\0\0\0\0\0\0\0\0\0\4abcd", 19, "not name@host"},
      {false, "N\0\0\0\0\0\0\0\0\0\0\0\0\0\4a@@b", 19, "not name@host"},
      {false, "N\0\0\0\2\0\0\0\0\0\0\0\0\0\3a@b", 18, "dynamic name"},
      {true, "snamed:", 7, "dynamic name"},
      {true, "swhat", 5, "unknown status"},
      {true, "x", 1, "expected status"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    dist_hs_config conf = cfg(cases[c].initiator, "c");
    conf.required_flags = 0;
    dist_hs *h;
    CHECK_RC(dist_hs_new(&h, &conf), 0);
    if (cases[c].initiator) dist_hs_start(h);
    uint8_t wire[512], out[512];
    take(h, out);
    CHECK(feed_all(h, wire, msg(wire, cases[c].body, cases[c].len)) ==
          DIST_HS_FAILED);
    if (!strstr(dist_hs_error(h), cases[c].err)) {
      fprintf(stderr, "case %zu: error \"%s\"\n", c, dist_hs_error(h));
      CHECK(0);
    }
    dist_hs_free(h);
  }
  /* A 300-byte name in 'N'. */
  dist_hs *h;
  dist_hs_config conf = cfg(false, "c");
  CHECK_RC(dist_hs_new(&h, &conf), 0);
  uint8_t body[400] = {'N'}, wire[512];
  body[13] = 300 >> 8, body[14] = 300 & 255;
  memset(body + 15, 'a', 300);
  body[100] = '@';
  CHECK(feed_all(h, wire, msg(wire, body, 315)) == DIST_HS_FAILED);
  CHECK(strstr(dist_hs_error(h), "longer than 255") != NULL);
  dist_hs_free(h);
  /* Empty message, and input before start. */
  CHECK_RC(dist_hs_new(&h, &conf), 0);
  CHECK(feed_all(h, (const uint8_t *)"\0\0", 2) == DIST_HS_FAILED);
  dist_hs_free(h);
  conf = cfg(true, "c");
  CHECK_RC(dist_hs_new(&h, &conf), 0);
  CHECK(feed_all(h, (const uint8_t *)"\0\1s", 3) == DIST_HS_FAILED);
  dist_hs_free(h);
}

/* Every prefix and every single-byte corruption of real transcripts:
 * no crash, no leak, and a truncated stream never completes. */
static void test_hostile(void) {
  decide_status = DIST_HS_STATUS_OK;
  tape ti = {0}, ta = {0};
  dist_hs *i, *a;
  dist_hs_result ri, ra;
  run_pair(cfg(true, "c"), cfg(false, "c"), 4096, &i, &a, &ri, &ra, &ti,
           &ta);
  CHECK(ri == DIST_HS_DONE && ra == DIST_HS_DONE);
  dist_hs_free(i);
  dist_hs_free(a);
  CHECK(ti.n > 0 && ta.n > 0);
  int failures = 0;
  for (int side = 0; side < 2; side++) {
    tape *t = side == 0 ? &ti : &ta; /* bytes the other side receives */
    bool initiator = side == 1;
    for (size_t cut = 0; cut <= t->n; cut++) {
      for (int mode = 0; mode < 3; mode++) {
        uint8_t buf[4096];
        memcpy(buf, t->b, t->n);
        size_t len = t->n;
        if (mode == 0) len = cut; /* truncated */
        if (mode == 1 && cut < t->n) buf[cut] ^= 0x5a; /* corrupted */
        if (mode == 2 && cut < t->n) buf[cut] = 0xff;
        dist_hs_config c = cfg(initiator, "c");
        dist_hs *h;
        if (dist_hs_new(&h, &c) != 0) continue;
        if (initiator) dist_hs_start(h);
        size_t used;
        dist_hs_result r = dist_hs_feed(h, buf, len, &used);
        if (mode == 0 && cut < t->n && r == DIST_HS_DONE) failures++;
        if (r == DIST_HS_MORE) dist_hs_closed(h);
        dist_hs_error(h);
        dist_hs_free(h);
      }
    }
  }
  CHECK(failures == 0);
}

int main(void) {
  test_success(4096);
  test_success(1); /* byte at a time */
  test_success(3);
  test_wrong_cookie();
  test_status(DIST_HS_STATUS_OK_SIMULTANEOUS, false, true, "");
  test_status(DIST_HS_STATUS_NOK, false, false, "nok");
  test_status(DIST_HS_STATUS_NOT_ALLOWED, false, false, "not_allowed");
  test_status(DIST_HS_STATUS_ALIVE, true, true, "");
  test_status(DIST_HS_STATUS_ALIVE, false, false, "alive");
  test_flags();
  test_names();
  test_v5_name(true);
  test_v5_name(false);
  test_v5_challenge();
  test_odd_messages();
  test_hostile();
  return check_report();
}
