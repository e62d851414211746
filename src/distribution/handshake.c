/* The distribution handshake as a pure state machine (see handshake.h).
 *
 * Message order, as kernel's dist_util.erl does it (OTP 25; the v5 path as
 * OTP 23/24 did it):
 *
 *   initiator                         acceptor
 *   'N' send_name            ->
 *                            <-       's' status
 *   ('s' true|false          ->       only after status "alive")
 *                            <-       'N' challenge  ('n' to a v5 peer
 *                                                      without HANDSHAKE_23)
 *   ('c' complement          ->       only from a peer that sent 'n' but
 *                                      got 'N')
 *   'r' challenge reply      ->
 *                            <-       'a' challenge ack
 *
 * Every message carries a 2-byte big-endian length prefix. */
/* MD5_* are deprecated in OpenSSL 3 in favour of EVP, kept, and what we
 * want (see make_digest). Before any OpenSSL header. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "distribution/handshake.h"
#include "distribution/wire.h"

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "distribution/dist_flags.h"
#include "nodus/error.h"

#define HS_DIGEST_LEN 16
/* The length prefix is 16 bits, so this is the real bound of a message. */
#define HS_MSG_MAX 0xffff

typedef enum hs_state {
  HS_INIT,           /* initiator before dist_hs_start() */
  HS_I_STATUS,       /* initiator: waiting for 's' */
  HS_I_CHALLENGE,    /* initiator: waiting for 'N'/'n' challenge */
  HS_I_ACK,          /* initiator: waiting for 'a' */
  HS_A_NAME,         /* acceptor: waiting for 'N'/'n' send_name */
  HS_A_ALIVE_REPLY,  /* acceptor: sent "alive", waiting for 's' true|false */
  HS_A_COMPLEMENT,   /* acceptor: waiting for 'c' from an 'n' peer */
  HS_A_REPLY,        /* acceptor: waiting for 'r' */
  HS_DONE,
  HS_FAILED,
} hs_state;

struct dist_hs {
  dist_hs_config cfg; /* string pointers below point into our own copies */
  char this_name[DIST_NAME_MAX + 1];
  char peer_name[DIST_NAME_MAX + 1];
  char *cookie;
  hs_state state;

  /* The message being read: 2-byte header, then body. */
  uint8_t hdr[2];
  size_t hdr_have;
  uint8_t *body;
  size_t body_len, body_have, body_cap;

  uint8_t *out;
  size_t out_off, out_len, out_cap;

  dist_hs_peer peer;
  uint64_t our_flags; /* cfg->flags, MANDATORY_25_DIGEST expanded */
  uint64_t negotiated;
  uint32_t our_challenge;
  bool peer_sent_old_name; /* v5 'n' send_name */
  dist_hs_status last_status;
  bool auth_failed; /* failed at the digest step: see dist_hs_auth_failed */
  char error[160];
};

/* ---- small helpers ---------------------------------------------------- */







/* OTP 25 lets the single MANDATORY_25_DIGEST bit stand for the whole OTP 25
 * mandatory set (dist_util:expand_mandatory_25_flag/1). */
static uint64_t expand_flags(uint64_t f) {
  if (f & DFLAG_MANDATORY_25_DIGEST) f |= DFLAG_MANDATORY_25;
  return f;
}

static dist_hs_result fail(dist_hs *hs, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(hs->error, sizeof hs->error, fmt, ap);
  va_end(ap);
  hs->state = HS_FAILED;
  return DIST_HS_FAILED;
}

/* A node name must be name@host: one '@', both parts non-empty (as
 * dist_util:is_name_ok/2 for static names), at most 255 bytes, no NUL. */
static bool valid_node_name(const uint8_t *name, size_t len) {
  if (len == 0 || len > DIST_NAME_MAX) return false;
  size_t at = len, ats = 0;
  for (size_t i = 0; i < len; i++) {
    if (name[i] == 0) return false;
    if (name[i] == '@') {
      ats++;
      at = i;
    }
  }
  return ats == 1 && at > 0 && at + 1 < len;
}

static void copy_name(char dst[DIST_NAME_MAX + 1], const uint8_t *src,
                      size_t len) {
  memcpy(dst, src, len);
  dst[len] = 0;
}

/* MD5(cookie ++ decimal(challenge)), the digest both sides compute. */
static bool make_digest(const char *cookie, uint32_t challenge,
                        uint8_t out[HS_DIGEST_LEN]) {
  size_t clen = strlen(cookie);
  char dec[16];
  int dlen = snprintf(dec, sizeof dec, "%lu", (unsigned long)challenge);
  uint8_t *buf = malloc(clen + (size_t)dlen + 1);
  if (!buf) return false;
  memcpy(buf, cookie, clen);
  memcpy(buf + clen, dec, (size_t)dlen);
  /* OpenSSL's plain MD5 routines, not EVP: fetching EVP's provider costs
   * each node ~2 MiB of resident memory for one digest per connection. */
  MD5_CTX ctx;
  int ok = MD5_Init(&ctx) && MD5_Update(&ctx, buf, clen + (size_t)dlen) &&
           MD5_Final(out, &ctx);
  OPENSSL_cleanse(buf, clen + (size_t)dlen);
  OPENSSL_cleanse(&ctx, sizeof ctx);
  free(buf);
  return ok;
}

static bool new_challenge(dist_hs *hs, uint32_t *out) {
  if (hs->cfg.challenge) {
    *out = hs->cfg.challenge(hs->cfg.arg);
    return true;
  }
  uint8_t b[4];
  if (getrandom(b, sizeof b, 0) != sizeof b) return false;
  *out = get32(b);
  return true;
}

/* ---- output ----------------------------------------------------------- */

/* Reserves a length-prefixed message of body size n; returns its body. */
static uint8_t *out_msg(dist_hs *hs, size_t n) {
  if (n > HS_MSG_MAX) return NULL;
  size_t need = hs->out_len + 2 + n;
  if (need > hs->out_cap) {
    size_t cap = hs->out_cap ? hs->out_cap : 256;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(hs->out, cap);
    if (!p) return NULL;
    hs->out = p;
    hs->out_cap = cap;
  }
  uint8_t *m = hs->out + hs->out_len;
  put16(m, (uint16_t)n);
  hs->out_len = need;
  return m + 2;
}

static bool send_status(dist_hs *hs, const char *text) {
  size_t n = strlen(text);
  uint8_t *m = out_msg(hs, 1 + n);
  if (!m) return false;
  m[0] = 's';
  memcpy(m + 1, text, n);
  return true;
}

static const char *status_text(dist_hs_status st) {
  switch (st) {
  case DIST_HS_STATUS_OK: return "ok";
  case DIST_HS_STATUS_OK_SIMULTANEOUS: return "ok_simultaneous";
  case DIST_HS_STATUS_NOK: return "nok";
  case DIST_HS_STATUS_NOT_ALLOWED: return "not_allowed";
  case DIST_HS_STATUS_ALIVE: return "alive";
  }
  return "not_allowed";
}

/* ---- lifecycle -------------------------------------------------------- */

int dist_hs_new(dist_hs **out, const dist_hs_config *cfg) {
  if (!out) return NODUS_EINVAL;
  *out = NULL;
  if (!cfg || !cfg->this_name || !cfg->cookie) return NODUS_EINVAL;
  size_t nlen = strlen(cfg->this_name);
  if (!valid_node_name((const uint8_t *)cfg->this_name, nlen))
    return NODUS_EBADNAME;
  size_t plen = cfg->peer_name ? strlen(cfg->peer_name) : 0;
  if (cfg->peer_name &&
      !valid_node_name((const uint8_t *)cfg->peer_name, plen))
    return NODUS_EBADNAME;

  dist_hs *hs = calloc(1, sizeof *hs);
  if (!hs) return NODUS_ENOMEM;
  hs->cookie = strdup(cfg->cookie);
  if (!hs->cookie) {
    free(hs);
    return NODUS_ENOMEM;
  }
  hs->cfg = *cfg;
  copy_name(hs->this_name, (const uint8_t *)cfg->this_name, nlen);
  hs->cfg.this_name = hs->this_name;
  if (cfg->peer_name) {
    copy_name(hs->peer_name, (const uint8_t *)cfg->peer_name, plen);
    hs->cfg.peer_name = hs->peer_name;
  }
  hs->cfg.cookie = hs->cookie;
  hs->our_flags = expand_flags(cfg->flags);
  hs->state = cfg->initiator ? HS_INIT : HS_A_NAME;
  hs->last_status = DIST_HS_STATUS_NOT_ALLOWED;
  *out = hs;
  return 0;
}

void dist_hs_free(dist_hs *hs) {
  if (!hs) return;
  if (hs->cookie) {
    OPENSSL_cleanse(hs->cookie, strlen(hs->cookie));
    free(hs->cookie);
  }
  free(hs->body);
  free(hs->out);
  free(hs);
}

int dist_hs_start(dist_hs *hs) {
  if (!hs || !hs->cfg.initiator || hs->state != HS_INIT) return NODUS_ESTATE;
  /* send_name v6: 'N', Flags:64, Creation:32, Nlen:16, Name */
  size_t nlen = strlen(hs->this_name);
  uint8_t *m = out_msg(hs, 1 + 8 + 4 + 2 + nlen);
  if (!m) return NODUS_ENOMEM;
  m[0] = 'N';
  put64(m + 1, hs->cfg.flags);
  put32(m + 9, hs->cfg.creation);
  put16(m + 13, (uint16_t)nlen);
  memcpy(m + 15, hs->this_name, nlen);
  /* alive_replace() runs before the challenge names the peer. */
  if (hs->cfg.peer_name) strcpy(hs->peer.name, hs->peer_name);
  hs->state = HS_I_STATUS;
  return 0;
}

/* ---- flag checks ------------------------------------------------------ */

/* Flags of `required` that `have` lacks. */
static uint64_t missing_flags(const dist_hs *hs, uint64_t have) {
  return hs->cfg.required_flags & ~have;
}

static void negotiate(dist_hs *hs) {
  hs->negotiated = hs->our_flags & hs->peer.flags;
}

/* ---- initiator -------------------------------------------------------- */

static dist_hs_result on_status(dist_hs *hs, const uint8_t *m, size_t n) {
  if (n < 1 || m[0] != 's') return fail(hs, "expected status ('s') message");
  const char *st = (const char *)m + 1;
  size_t sl = n - 1;
#define IS(lit) (sl == sizeof(lit) - 1 && memcmp(st, lit, sl) == 0)
  if (IS("ok") || IS("ok_simultaneous")) {
    hs->last_status =
        IS("ok") ? DIST_HS_STATUS_OK : DIST_HS_STATUS_OK_SIMULTANEOUS;
    hs->state = HS_I_CHALLENGE;
    return DIST_HS_MORE;
  }
  if (IS("nok")) {
    hs->last_status = DIST_HS_STATUS_NOK;
    return fail(hs, "status nok: simultaneous connect, the peer's own "
                    "connection attempt wins");
  }
  if (IS("not_allowed")) {
    hs->last_status = DIST_HS_STATUS_NOT_ALLOWED;
    return fail(hs, "status not_allowed: the peer refuses us");
  }
  if (IS("alive")) {
    hs->last_status = DIST_HS_STATUS_ALIVE;
    bool replace = hs->cfg.alive_replace &&
                   hs->cfg.alive_replace(hs->cfg.arg, &hs->peer);
    if (!send_status(hs, replace ? "true" : "false"))
      return fail(hs, "out of memory");
    if (!replace)
      return fail(hs, "status alive: the peer already has a connection to "
                      "us and we keep it");
    hs->state = HS_I_CHALLENGE;
    return DIST_HS_MORE;
  }
  if (sl >= 6 && memcmp(st, "named:", 6) == 0)
    return fail(hs, "status named: the peer assigned us a dynamic name, "
                    "which nodus does not ask for");
#undef IS
  return fail(hs, "unknown status \"%.*s\"", (int)(sl > 40 ? 40 : sl), st);
}

static dist_hs_result send_reply(dist_hs *hs, uint32_t peer_challenge) {
  if (!new_challenge(hs, &hs->our_challenge))
    return fail(hs, "no random bytes for our challenge");
  uint8_t *m = out_msg(hs, 1 + 4 + HS_DIGEST_LEN);
  if (!m) return fail(hs, "out of memory");
  m[0] = 'r';
  put32(m + 1, hs->our_challenge);
  if (!make_digest(hs->cookie, peer_challenge, m + 5))
    return fail(hs, "MD5 digest failed");
  hs->state = HS_I_ACK;
  return DIST_HS_MORE;
}

static dist_hs_result on_challenge(dist_hs *hs, const uint8_t *m, size_t n) {
  uint32_t challenge;
  const uint8_t *name;
  size_t nlen;
  if (n >= 1 && m[0] == 'N') {
    /* 'N', Flags:64, Challenge:32, Creation:32, Nlen:16, Name */
    if (n < 19) return fail(hs, "challenge ('N') truncated");
    hs->peer.flags = expand_flags(get64(m + 1));
    challenge = get32(m + 9);
    hs->peer.creation = get32(m + 13);
    nlen = get16(m + 17);
    if (nlen > n - 19) return fail(hs, "challenge name longer than message");
    name = m + 19;
  } else if (n >= 1 && m[0] == 'n') {
    /* v5: 'n', Version:16, Flags:32, Challenge:32, Name (rest) */
    if (n < 11) return fail(hs, "challenge ('n') truncated");
    hs->peer.flags = expand_flags(get32(m + 3));
    challenge = get32(m + 7);
    hs->peer.creation = 0;
    name = m + 11;
    nlen = n - 11;
  } else {
    return fail(hs, "expected challenge ('N') message");
  }
  if (nlen > DIST_NAME_MAX)
    return fail(hs, "peer node name longer than %d bytes", DIST_NAME_MAX);
  if (!valid_node_name(name, nlen))
    return fail(hs, "peer node name \"%.*s\" is not name@host", (int)nlen,
                (const char *)name);
  copy_name(hs->peer.name, name, nlen);
  if (hs->cfg.peer_name && strcmp(hs->peer.name, hs->cfg.peer_name) != 0)
    return fail(hs, "peer calls itself %s, we dialled %s", hs->peer.name,
                hs->cfg.peer_name);
  uint64_t missing = missing_flags(hs, hs->peer.flags);
  if (missing)
    return fail(hs, "peer lacks required flags 0x%llx",
                (unsigned long long)missing);
  negotiate(hs);
  return send_reply(hs, challenge);
}

static dist_hs_result on_ack(dist_hs *hs, const uint8_t *m, size_t n) {
  if (n < 1 + HS_DIGEST_LEN || m[0] != 'a')
    return fail(hs, "expected challenge ack ('a') message");
  uint8_t want[HS_DIGEST_LEN];
  if (!make_digest(hs->cookie, hs->our_challenge, want))
    return fail(hs, "MD5 digest failed");
  if (CRYPTO_memcmp(want, m + 1, HS_DIGEST_LEN) != 0) {
    hs->auth_failed = true;
    return fail(hs, "wrong cookie: the peer's challenge ack does not match");
  }
  hs->state = HS_DONE;
  return DIST_HS_DONE;
}

/* ---- acceptor --------------------------------------------------------- */

static dist_hs_result send_challenge(dist_hs *hs) {
  if (!new_challenge(hs, &hs->our_challenge))
    return fail(hs, "no random bytes for our challenge");
  size_t nlen = strlen(hs->this_name);
  bool old = hs->peer_sent_old_name &&
             !(hs->peer.flags & DFLAG_HANDSHAKE_23);
  if (old) {
    /* A pre-OTP-23 peer: 'n', Version 5:16, Flags:32, Challenge:32,
     * Name (echoes the version it sent, as dist_util did) */
    uint8_t *m = out_msg(hs, 1 + 2 + 4 + 4 + nlen);
    if (!m) return fail(hs, "out of memory");
    m[0] = 'n';
    put16(m + 1, 5);
    put32(m + 3, (uint32_t)hs->cfg.flags);
    put32(m + 7, hs->our_challenge);
    memcpy(m + 11, hs->this_name, nlen);
    hs->state = HS_A_REPLY;
  } else {
    uint8_t *m = out_msg(hs, 1 + 8 + 4 + 4 + 2 + nlen);
    if (!m) return fail(hs, "out of memory");
    m[0] = 'N';
    put64(m + 1, hs->cfg.flags);
    put32(m + 9, hs->our_challenge);
    put32(m + 13, hs->cfg.creation);
    put16(m + 17, (uint16_t)nlen);
    memcpy(m + 19, hs->this_name, nlen);
    /* An 'n' peer that speaks HANDSHAKE_23 gets 'N' and then owes us the
     * 'c' complement with its high flags and creation. */
    hs->state = hs->peer_sent_old_name ? HS_A_COMPLEMENT : HS_A_REPLY;
  }
  return DIST_HS_MORE;
}

static dist_hs_result on_name(dist_hs *hs, const uint8_t *m, size_t n) {
  const uint8_t *name;
  size_t nlen;
  if (n >= 1 && m[0] == 'N') {
    /* 'N', Flags:64, Creation:32, Nlen:16, Name */
    if (n < 15) return fail(hs, "send_name ('N') truncated");
    hs->peer.flags = expand_flags(get64(m + 1));
    hs->peer.creation = get32(m + 9);
    nlen = get16(m + 13);
    if (nlen > n - 15) return fail(hs, "send_name name longer than message");
    name = m + 15;
  } else if (n >= 1 && m[0] == 'n') {
    /* v5: 'n', Version:16, Flags:32, Name (rest of the message) */
    if (n < 7) return fail(hs, "send_name ('n') truncated");
    hs->peer.flags = expand_flags(get32(m + 3));
    hs->peer.creation = 0;
    hs->peer_sent_old_name = true;
    name = m + 7;
    nlen = n - 7;
  } else {
    return fail(hs, "expected send_name ('N') message");
  }
  if (hs->peer.flags & DFLAG_NAME_ME) {
    send_status(hs, "not_allowed");
    return fail(hs, "peer asks for a dynamic name (NAME_ME), which nodus "
                    "does not hand out");
  }
  if (nlen > DIST_NAME_MAX)
    return fail(hs, "peer node name longer than %d bytes", DIST_NAME_MAX);
  if (!valid_node_name(name, nlen))
    return fail(hs, "peer node name \"%.*s\" is not name@host", (int)nlen,
                (const char *)name);
  copy_name(hs->peer.name, name, nlen);

  /* Like dist_util:check_dflags/2: refuse with not_allowed before the
   * status. An 'n' peer's high 32 flag bits only come with 'c', so those
   * are checked there. */
  uint64_t missing = missing_flags(hs, hs->peer.flags);
  if (hs->peer_sent_old_name) missing &= 0xffffffffull;
  if (missing) {
    hs->last_status = DIST_HS_STATUS_NOT_ALLOWED;
    if (!send_status(hs, "not_allowed")) return fail(hs, "out of memory");
    return fail(hs, "peer %s lacks required flags 0x%llx", hs->peer.name,
                (unsigned long long)missing);
  }

  dist_hs_status st = hs->cfg.decide ? hs->cfg.decide(hs->cfg.arg, &hs->peer)
                                     : DIST_HS_STATUS_OK;
  if (st < DIST_HS_STATUS_OK || st > DIST_HS_STATUS_ALIVE)
    st = DIST_HS_STATUS_NOT_ALLOWED;
  hs->last_status = st;
  if (!send_status(hs, status_text(st))) return fail(hs, "out of memory");
  switch (st) {
  case DIST_HS_STATUS_NOK:
    return fail(hs, "simultaneous connect from %s: ours wins (sent nok)",
                hs->peer.name);
  case DIST_HS_STATUS_NOT_ALLOWED:
    return fail(hs, "connection from %s not allowed", hs->peer.name);
  case DIST_HS_STATUS_ALIVE:
    hs->state = HS_A_ALIVE_REPLY;
    return DIST_HS_MORE;
  default:
    return send_challenge(hs);
  }
}

static dist_hs_result on_alive_reply(dist_hs *hs, const uint8_t *m,
                                     size_t n) {
  if (n == 5 && memcmp(m, "strue", 5) == 0) return send_challenge(hs);
  if (n == 6 && memcmp(m, "sfalse", 6) == 0)
    return fail(hs, "peer %s keeps its old connection (alive: false)",
                hs->peer.name);
  return fail(hs, "expected 's' true|false after alive");
}

static dist_hs_result on_complement(dist_hs *hs, const uint8_t *m,
                                    size_t n) {
  /* 'c', FlagsHigh:32, Creation:32 */
  if (n < 9 || m[0] != 'c')
    return fail(hs, "expected complement ('c') message");
  hs->peer.flags |= (uint64_t)get32(m + 1) << 32;
  hs->peer.creation = get32(m + 5);
  uint64_t missing = missing_flags(hs, hs->peer.flags);
  if (missing)
    return fail(hs, "peer %s lacks required flags 0x%llx", hs->peer.name,
                (unsigned long long)missing);
  hs->state = HS_A_REPLY;
  return DIST_HS_MORE;
}

static dist_hs_result on_reply(dist_hs *hs, const uint8_t *m, size_t n) {
  /* 'r', Challenge:32, Digest:16 */
  if (n < 1 + 4 + HS_DIGEST_LEN || m[0] != 'r')
    return fail(hs, "expected challenge reply ('r') message");
  uint8_t want[HS_DIGEST_LEN];
  if (!make_digest(hs->cookie, hs->our_challenge, want))
    return fail(hs, "MD5 digest failed");
  if (CRYPTO_memcmp(want, m + 5, HS_DIGEST_LEN) != 0) {
    hs->auth_failed = true;
    return fail(hs, "wrong cookie: challenge reply from %s does not match",
                hs->peer.name);
  }
  uint8_t *a = out_msg(hs, 1 + HS_DIGEST_LEN);
  if (!a) return fail(hs, "out of memory");
  a[0] = 'a';
  if (!make_digest(hs->cookie, get32(m + 1), a + 1))
    return fail(hs, "MD5 digest failed");
  negotiate(hs);
  hs->state = HS_DONE;
  return DIST_HS_DONE;
}

/* ---- input ------------------------------------------------------------ */

static dist_hs_result dispatch(dist_hs *hs, const uint8_t *m, size_t n) {
  switch (hs->state) {
  case HS_I_STATUS: return on_status(hs, m, n);
  case HS_I_CHALLENGE: return on_challenge(hs, m, n);
  case HS_I_ACK: return on_ack(hs, m, n);
  case HS_A_NAME: return on_name(hs, m, n);
  case HS_A_ALIVE_REPLY: return on_alive_reply(hs, m, n);
  case HS_A_COMPLEMENT: return on_complement(hs, m, n);
  case HS_A_REPLY: return on_reply(hs, m, n);
  default: return fail(hs, "internal: message in state %d", (int)hs->state);
  }
}

static bool body_reserve(dist_hs *hs, size_t n) {
  if (n <= hs->body_cap) return true;
  uint8_t *p = realloc(hs->body, n);
  if (!p) return false;
  hs->body = p;
  hs->body_cap = n;
  return true;
}

dist_hs_result dist_hs_feed(dist_hs *hs, const uint8_t *data, size_t len,
                            size_t *used) {
  size_t pos = 0;
  dist_hs_result r = DIST_HS_MORE;
  if (used) *used = 0;
  if (!hs) return DIST_HS_FAILED;
  if (hs->state == HS_DONE) return DIST_HS_DONE;
  if (hs->state == HS_FAILED) return DIST_HS_FAILED;
  if (hs->state == HS_INIT) {
    if (len == 0) return DIST_HS_MORE;
    return fail(hs, "input before dist_hs_start()");
  }
  if (len && !data) return fail(hs, "NULL input");

  while (pos < len && r == DIST_HS_MORE) {
    if (hs->hdr_have < 2) {
      hs->hdr[hs->hdr_have++] = data[pos++];
      if (hs->hdr_have == 2) {
        hs->body_len = get16(hs->hdr);
        hs->body_have = 0;
        if (hs->body_len == 0) {
          r = fail(hs, "empty handshake message");
          break;
        }
        if (!body_reserve(hs, hs->body_len)) {
          r = fail(hs, "out of memory");
          break;
        }
      }
      continue;
    }
    size_t take = hs->body_len - hs->body_have;
    if (take > len - pos) take = len - pos;
    memcpy(hs->body + hs->body_have, data + pos, take);
    hs->body_have += take;
    pos += take;
    if (hs->body_have == hs->body_len) {
      hs->hdr_have = 0;
      r = dispatch(hs, hs->body, hs->body_len);
    }
  }
  if (used) *used = pos;
  return r;
}

dist_hs_result dist_hs_closed(dist_hs *hs) {
  if (!hs) return DIST_HS_FAILED;
  switch (hs->state) {
  case HS_DONE: return DIST_HS_DONE;
  case HS_FAILED: return DIST_HS_FAILED;
  case HS_I_ACK:
    /* A BEAM acceptor that gets a bad digest closes without a word. */
    hs->auth_failed = true;
    return fail(hs, "connection closed after our challenge reply: wrong "
                    "cookie (the peer rejected our digest)");
  case HS_I_STATUS:
    return fail(hs, "connection closed before the status (the peer "
                    "refused our name or flags)");
  case HS_A_REPLY:
  case HS_A_COMPLEMENT:
    return fail(hs, "connection closed after our challenge (the peer "
                    "may have refused our name or flags)");
  default:
    return fail(hs, "connection closed during the handshake");
  }
}

const uint8_t *dist_hs_output(dist_hs *hs, size_t *len) {
  if (!hs) {
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = hs->out_len - hs->out_off;
  return hs->out ? hs->out + hs->out_off : NULL;
}

void dist_hs_consumed(dist_hs *hs, size_t n) {
  if (!hs) return;
  size_t pending = hs->out_len - hs->out_off;
  if (n > pending) n = pending;
  hs->out_off += n;
  if (hs->out_off == hs->out_len) hs->out_off = hs->out_len = 0;
}

const dist_hs_peer *dist_hs_peer_info(const dist_hs *hs) {
  return hs ? &hs->peer : NULL;
}

uint64_t dist_hs_flags(const dist_hs *hs) {
  return hs && hs->state == HS_DONE ? hs->negotiated : 0;
}

const char *dist_hs_error(const dist_hs *hs) {
  if (!hs) return "no handshake";
  return hs->state == HS_FAILED ? hs->error : "";
}

bool dist_hs_auth_failed(const dist_hs *hs) {
  return hs && hs->state == HS_FAILED && hs->auth_failed;
}

dist_hs_status dist_hs_last_status(const dist_hs *hs) {
  return hs ? hs->last_status : DIST_HS_STATUS_NOT_ALLOWED;
}
