/* distribution/control: each builder's tuple (and PAYLOAD_ choice) is the one the
 * runtime sent before the typed API, byte for byte; the decoder fills the
 * named fields, and rejects wrong arities and field types with a reason
 * (NODUS_EPROTO), unknown ops with NODUS_EUNSUPPORTED and the op. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "distribution/control.h"
#include "nodus/error.h"

static nodus_term pid_a, pid_b, ref_r;
static nodus_atom name_x;

static nodus_term cp(const nodus_term *t) {
  nodus_term c;
  if (nodus_copy(&c, t)) abort();
  return c;
}

static nodus_term atom(const char *s) {
  nodus_term t;
  if (nodus_mk_atom(&t, s)) abort();
  return t;
}

/* got (taken) is =:= want (taken) and encodes to the same bytes. */
static void same(nodus_term got, nodus_term want) {
  CHECK(got.type != NODUS_T_NONE && want.type != NODUS_T_NONE);
  CHECK(nodus_equal(&got, &want));
  uint8_t *a = NULL, *b = NULL;
  size_t al = 0, bl = 0;
  CHECK_RC(dist_ctl_encode(&got, NULL, &a, &al), 0);
  CHECK_RC(dist_ctl_encode(&want, NULL, &b, &bl), 0);
  CHECK(al == bl && a && b && memcmp(a, b, al) == 0);
  free(a);
  free(b);
  nodus_term_free(&got);
  nodus_term_free(&want);
}

/* Encodes control (taken) and payload (taken, NONE: none) and decodes
 * them, versioned and not; m gets the versioned decode. */
static int round_trip(nodus_term control, nodus_term payload,
                      dist_ctl_msg *m) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = dist_ctl_encode(&control, &payload, &buf, &len);
  if (!rc) {
    /* Without version bytes: drop each term's 131. */
    size_t clen;
    nodus_etf_size(&control, NULL, &clen);
    uint8_t *body = malloc(len);
    size_t n = 0;
    memcpy(body, buf + 1, clen - 1);
    n = clen - 1;
    if (len > clen) {
      memcpy(body + n, buf + clen + 1, len - clen - 1);
      n += len - clen - 1;
    }
    dist_ctl_msg u;
    int urc = dist_ctl_decode_unversioned(body, n, NULL, &u);
    rc = dist_ctl_decode(buf, len, NULL, m);
    CHECK(urc == rc && u.op == m->op);
    if (!rc && !urc) {
      CHECK(nodus_equal(&u.control, &m->control));
      CHECK(u.payload.type == m->payload.type);
    }
    dist_ctl_free(&u);
    free(body);
  } else {
    memset(m, 0, sizeof *m);
  }
  free(buf);
  nodus_term_free(&control);
  nodus_term_free(&payload);
  return rc;
}

static void test_builders(void) {
  nodus_term ctl, pay, e;
  nodus_term reason = atom("boom");
  const uint64_t all = NODUS_DFLAGS_DEFAULT, none = DFLAG_MANDATORY_25;

  CHECK_RC(dist_ctl_send(&ctl, all, &pid_a, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{22, ~t, ~t}", cp(&pid_a), cp(&pid_b)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_send(&ctl, none, &pid_a, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{2, '', ~t}", cp(&pid_b)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_send(&ctl, all, NULL, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{2, '', ~t}", cp(&pid_b)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_reg_send(&ctl, &pid_a, name_x), 0);
  CHECK_RC(nodus_build(&e, "{6, ~t, '', x}", cp(&pid_a)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_alias_send(&ctl, &pid_a, &ref_r), 0);
  CHECK_RC(nodus_build(&e, "{33, ~t, ~t}", cp(&pid_a), cp(&ref_r)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_link(&ctl, &pid_a, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{1, ~t, ~t}", cp(&pid_a), cp(&pid_b)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_unlink_id(&ctl, 7, &pid_a, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{35, 7, ~t, ~t}", cp(&pid_a), cp(&pid_b)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_unlink_id_ack(&ctl, UINT64_MAX, &pid_a, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{36, 18446744073709551615, ~t, ~t}", cp(&pid_a),
                       cp(&pid_b)),
           0);
  same(ctl, e);
  for (int link = 0; link < 2; link++) {
    CHECK_RC(dist_ctl_exit(&ctl, &pay, all, link, &pid_a, &pid_b, &reason), 0);
    CHECK_RC(nodus_build(&e, "{~i, ~t, ~t}", (int64_t)(link ? 24 : 26),
                         cp(&pid_a), cp(&pid_b)),
             0);
    same(ctl, e);
    same(pay, cp(&reason));
    CHECK_RC(dist_ctl_exit(&ctl, &pay, none, link, &pid_a, &pid_b, &reason), 0);
    CHECK(pay.type == NODUS_T_NONE);
    CHECK_RC(nodus_build(&e, "{~i, ~t, ~t, boom}", (int64_t)(link ? 3 : 8),
                         cp(&pid_a), cp(&pid_b)),
             0);
    same(ctl, e);
  }
  CHECK_RC(dist_ctl_monitor(&ctl, &pid_a, &pid_b, &ref_r), 0);
  CHECK_RC(nodus_build(&e, "{19, ~t, ~t, ~t}", cp(&pid_a), cp(&pid_b),
                       cp(&ref_r)),
           0);
  same(ctl, e);
  nodus_term x = nodus_atom_term(name_x);
  CHECK_RC(dist_ctl_demonitor(&ctl, &pid_a, &x, &ref_r), 0);
  CHECK_RC(nodus_build(&e, "{20, ~t, x, ~t}", cp(&pid_a), cp(&ref_r)), 0);
  same(ctl, e);
  CHECK_RC(dist_ctl_monitor_exit(&ctl, &pay, all, &x, &pid_b, &ref_r, &reason),
           0);
  CHECK_RC(nodus_build(&e, "{28, x, ~t, ~t}", cp(&pid_b), cp(&ref_r)), 0);
  same(ctl, e);
  same(pay, cp(&reason));
  CHECK_RC(dist_ctl_monitor_exit(&ctl, &pay, none, &pid_a, &pid_b, &ref_r,
                                 &reason),
           0);
  CHECK(pay.type == NODUS_T_NONE);
  CHECK_RC(nodus_build(&e, "{21, ~t, ~t, ~t, boom}", cp(&pid_a), cp(&pid_b),
                       cp(&ref_r)),
           0);
  same(ctl, e);
  nodus_term opts;
  CHECK_RC(nodus_build(&opts, "[link, monitor]"), 0);
  CHECK_RC(dist_ctl_spawn_request(&ctl, &ref_r, &pid_a, &pid_b, name_x,
                                  name_x, 2, &opts),
           0);
  CHECK_RC(nodus_build(&e, "{29, ~t, ~t, ~t, {x, x, 2}, [link, monitor]}",
                       cp(&ref_r), cp(&pid_a), cp(&pid_b)),
           0);
  same(ctl, e);
  nodus_term_free(&opts);
  CHECK_RC(dist_ctl_spawn_reply(&ctl, &ref_r, &pid_a, 3, &pid_b), 0);
  CHECK_RC(nodus_build(&e, "{31, ~t, ~t, 3, ~t}", cp(&ref_r), cp(&pid_a),
                       cp(&pid_b)),
           0);
  same(ctl, e);
  nodus_term_free(&reason);
}

static void test_fields(void) {
  dist_ctl_msg m;
  nodus_term ctl, pay, reason = atom("boom");

  CHECK_RC(dist_ctl_send(&ctl, NODUS_DFLAGS_DEFAULT, &pid_a, &pid_b), 0);
  CHECK_RC(round_trip(ctl, atom("hello"), &m), 0);
  CHECK(m.op == CTL_SEND_SENDER && nodus_equal(m.send.from, &pid_a) &&
        nodus_equal(m.send.to, &pid_b) && !m.send.token &&
        nodus_is_atom(&m.payload, "hello"));
  dist_ctl_free(&m);

  CHECK_RC(dist_ctl_send(&ctl, 0, &pid_a, &pid_b), 0);
  CHECK_RC(round_trip(ctl, atom("hello"), &m), 0);
  CHECK(m.op == CTL_SEND && !m.send.from && nodus_equal(m.send.to, &pid_b));
  dist_ctl_free(&m);

  CHECK_RC(nodus_build(&ctl, "{16, ~t, '', x, token}", cp(&pid_a)), 0);
  CHECK_RC(round_trip(ctl, atom("hello"), &m), 0);
  CHECK(m.op == CTL_REG_SEND_TT && nodus_is_atom(m.send.to, "x") &&
        m.send.token && nodus_is_atom(m.send.token, "token"));
  dist_ctl_free(&m);

  CHECK_RC(dist_ctl_unlink_id(&ctl, UINT64_MAX, &pid_a, &pid_b), 0);
  CHECK_RC(round_trip(ctl, (nodus_term){0}, &m), 0);
  CHECK(m.op == CTL_UNLINK_ID && m.unlink_id.id == UINT64_MAX &&
        nodus_equal(m.unlink_id.from, &pid_a));
  dist_ctl_free(&m);

  CHECK_RC(dist_ctl_exit(&ctl, &pay, NODUS_DFLAGS_DEFAULT, false, &pid_a,
                         &pid_b, &reason),
           0);
  CHECK_RC(round_trip(ctl, pay, &m), 0);
  CHECK(m.op == CTL_PAYLOAD_EXIT2 && m.exit.payload && !m.exit.link &&
        m.exit.reason == &m.payload && nodus_is_atom(m.exit.reason, "boom"));
  dist_ctl_free(&m);

  CHECK_RC(nodus_build(&ctl, "{13, ~t, ~t, token, boom}", cp(&pid_a),
                       cp(&pid_b)),
           0);
  CHECK_RC(round_trip(ctl, (nodus_term){0}, &m), 0);
  CHECK(m.op == CTL_EXIT_TT && m.exit.link && !m.exit.payload &&
        nodus_is_atom(m.exit.reason, "boom") &&
        nodus_is_atom(m.exit.token, "token"));
  dist_ctl_free(&m);

  nodus_term x = nodus_atom_term(name_x);
  CHECK_RC(dist_ctl_monitor_exit(&ctl, &pay, 0, &x, &pid_b, &ref_r, &reason),
           0);
  CHECK_RC(round_trip(ctl, pay, &m), 0);
  CHECK(m.op == CTL_MONITOR_P_EXIT && !m.monitor_exit.payload &&
        nodus_is_atom(m.monitor_exit.from, "x") &&
        nodus_equal(m.monitor_exit.ref, &ref_r) &&
        nodus_is_atom(m.monitor_exit.reason, "boom"));
  dist_ctl_free(&m);

  nodus_term opts = nodus_nil(), args;
  CHECK_RC(nodus_build(&args, "[1, 2]"), 0);
  CHECK_RC(dist_ctl_spawn_request(&ctl, &ref_r, &pid_a, &pid_b, name_x,
                                  name_x, 2, &opts),
           0);
  CHECK_RC(round_trip(ctl, args, &m), 0);
  CHECK(m.op == CTL_SPAWN_REQUEST && m.spawn_request.module == name_x &&
        m.spawn_request.arity == 2 && m.spawn_request.args == &m.payload &&
        nodus_equal(m.spawn_request.group_leader, &pid_b));
  dist_ctl_free(&m);

  CHECK_RC(dist_ctl_spawn_reply(&ctl, &ref_r, &pid_a, 2, &x), 0);
  CHECK_RC(round_trip(ctl, (nodus_term){0}, &m), 0);
  CHECK(m.op == CTL_SPAWN_REPLY && m.spawn_reply.flags == 2 &&
        nodus_is_atom(m.spawn_reply.result, "x"));
  dist_ctl_free(&m);
  nodus_term_free(&reason);
}

/* Each control (Erlang syntax, $A and $B the two pids, $R the ref) with
 * a payload when its op has one: rc and a reason. */
static void rejects(const char *fmt, int want) {
  nodus_term ctl;
  char text[256];
  /* Substitute the pids and the ref through ~t holes. */
  nodus_term holes[3];
  size_t nh = 0;
  size_t o = 0;
  for (const char *p = fmt; *p && o < sizeof text - 3; p++) {
    if (*p == '$') {
      p++;
      holes[nh++] = cp(*p == 'A' ? &pid_a : *p == 'B' ? &pid_b : &ref_r);
      text[o++] = '~', text[o++] = 't';
    } else {
      text[o++] = *p;
    }
  }
  text[o] = 0;
  int rc = nh == 0   ? nodus_build(&ctl, text)
           : nh == 1 ? nodus_build(&ctl, text, holes[0])
           : nh == 2 ? nodus_build(&ctl, text, holes[0], holes[1])
                     : nodus_build(&ctl, text, holes[0], holes[1], holes[2]);
  CHECK_RC(rc, 0);
  if (rc) {
    fprintf(stderr, "  for %s\n", fmt);
    return;
  }
  bool payload = ctl.type == NODUS_T_TUPLE && ctl.n &&
                 ctl.v.items[0].type == NODUS_T_INT &&
                 dist_ctl_has_payload((int)ctl.v.items[0].v.i);
  dist_ctl_msg m;
  int got = round_trip(ctl, payload ? nodus_nil() : (nodus_term){0}, &m);
  if (got != want) fprintf(stderr, "  for %s\n", fmt);
  CHECK_RC(got, want);
  CHECK(m.why != NULL);
  dist_ctl_free(&m);
}

static void test_rejects(void) {
  rejects("{2}", NODUS_EPROTO);                        /* arity */
  rejects("{22, $A, $B, extra}", NODUS_EPROTO);        /* exact arity */
  rejects("{2, '', x}", NODUS_EPROTO);                 /* SEND to a name */
  rejects("{6, x, '', name}", NODUS_EPROTO);           /* REG_SEND from */
  rejects("{6, $A, '', \"name\"}", NODUS_EPROTO);      /* REG_SEND to */
  rejects("{33, $A, $B}", NODUS_EPROTO);               /* alias not a ref */
  rejects("{1, $A, x}", NODUS_EPROTO);                 /* LINK to */
  rejects("{35, 0, $A, $B}", NODUS_EPROTO);            /* UNLINK_ID 0 */
  rejects("{35, -1, $A, $B}", NODUS_EPROTO);           /* negative id */
  rejects("{36, 18446744073709551616, $A, $B}", NODUS_EPROTO); /* > 64 bits */
  rejects("{3, $A, $R, normal}", NODUS_EPROTO);        /* EXIT to */
  rejects("{19, $A, $B, notaref}", NODUS_EPROTO);      /* MONITOR_P ref */
  rejects("{19, $A, {x, y}, $R}", NODUS_EPROTO);       /* MONITOR_P to */
  rejects("{21, {x, y}, $B, $R, normal}", NODUS_EPROTO); /* MONITOR_P_EXIT */
  rejects("{29, $R, $A, $B, {m, f}, []}", NODUS_EPROTO); /* MFA */
  rejects("{29, $R, $A, $B, {m, f, 1}, [a | b]}", NODUS_EPROTO); /* opts */
  rejects("{31, $R, $A, -1, $B}", NODUS_EPROTO);       /* flags */
  rejects("{31, $R, $A, 0, \"err\"}", NODUS_EPROTO);   /* result */
  rejects("{7, $A, x}", NODUS_EPROTO);                 /* GROUP_LEADER */
  rejects("{99, x}", NODUS_EUNSUPPORTED);
  rejects("{10000000000, x}", NODUS_EUNSUPPORTED);
  rejects("[no, tuple]", NODUS_EPROTO);

  /* The unknown op is reported; a payload after a control that has none
   * is extra bytes. */
  dist_ctl_msg m;
  nodus_term ctl;
  CHECK_RC(nodus_build(&ctl, "{99, x}"), 0);
  CHECK_RC(round_trip(ctl, (nodus_term){0}, &m), NODUS_EUNSUPPORTED);
  CHECK(m.op == 99);
  dist_ctl_free(&m);
  CHECK_RC(dist_ctl_link(&ctl, &pid_a, &pid_b), 0);
  CHECK_RC(round_trip(ctl, atom("extra"), &m), NODUS_EBADETF);
  dist_ctl_free(&m);
  CHECK_STR(dist_ctl_op_name(CTL_PAYLOAD_MONITOR_P_EXIT),
            "PAYLOAD_MONITOR_P_EXIT");
  CHECK_STR(dist_ctl_op_name(99), "unknown");
}

int main(void) {
  nodus_atom node;
  const uint32_t words[3] = {1, 2, 3};
  if (nodus_atom_intern("a@h", 3, &node) ||
      nodus_atom_intern("x", 1, &name_x) ||
      nodus_mk_pid(&pid_a, node, 1, 0, 7) ||
      nodus_mk_pid(&pid_b, node, 2, 0, 7) ||
      nodus_mk_ref(&ref_r, node, 7, words, 3))
    return 1;
  test_builders();
  test_fields();
  test_rejects();
  nodus_term_free(&pid_a);
  nodus_term_free(&pid_b);
  nodus_term_free(&ref_r);
  return check_report();
}
