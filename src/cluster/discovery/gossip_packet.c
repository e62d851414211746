/* libcluster's Gossip packet: see gossip_packet.h. */
#include "gossip_packet.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

/* ETF tags this packet uses (see etf_tags.h; repeated so this file needs
 * nothing of the term layer). */
enum {
  TAG_VERSION = 131,
  TAG_MAP = 116,
  TAG_ATOM = 100,            /* 2-byte length, Latin-1 */
  TAG_SMALL_ATOM = 115,      /* 1-byte length, Latin-1 */
  TAG_ATOM_UTF8 = 118,       /* 2-byte length */
  TAG_SMALL_ATOM_UTF8 = 119, /* 1-byte length */
};

const char *gossip_parse_strerror(int rc) {
  switch (rc) {
    case GOSSIP_OK: return "ok";
    case GOSSIP_ESHORT: return "truncated or not whole cipher blocks";
    case GOSSIP_EDECRYPT: return "bad padding after decryption (another secret?)";
    case GOSSIP_EPRELUDE: return "no heartbeat:: prelude (another protocol or secret?)";
    case GOSSIP_EETF: return "not an external term";
    case GOSSIP_ESHAPE: return "not %{node: Atom}";
    case GOSSIP_ELONG: return "longer than any heartbeat";
  }
  return "unknown";
}

void gossip_key_init(gossip_key *k, const char *secret, size_t len) {
  memset(k, 0, sizeof *k);
  if (!secret) return;
  k->set = true;
  SHA256((const unsigned char *)secret, len, k->key);
}

/* ---- encode ------------------------------------------------------------ */

/* UTF-8 text as Latin-1 when every code point is <= 255 (what OTP 25's
 * term_to_binary does for ATOM_EXT): its length, or -1. */
static int latin1_of(const uint8_t *s, size_t len, uint8_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = s[i];
    if (c < 0x80) {
      out[n++] = c;
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < len &&
               (s[i + 1] & 0xC0) == 0x80) {
      out[n++] = (uint8_t)((c & 0x03) << 6 | (s[i + 1] & 0x3F));
      i++;
    } else {
      return -1;
    }
  }
  return (int)n;
}

static size_t put_plain(const char *name, size_t len, uint8_t *out) {
  uint8_t *p = out;
  memcpy(p, GOSSIP_PRELUDE, GOSSIP_PRELUDE_LEN);
  p += GOSSIP_PRELUDE_LEN;
  *p++ = TAG_VERSION;
  *p++ = TAG_MAP;
  *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 1;
  *p++ = TAG_ATOM, *p++ = 0, *p++ = 4;
  memcpy(p, "node", 4);
  p += 4;
  uint8_t latin1[GOSSIP_NAME_MAX];
  int l1 = latin1_of((const uint8_t *)name, len, latin1);
  if (l1 >= 0) {
    *p++ = TAG_ATOM, *p++ = 0, *p++ = (uint8_t)l1;
    memcpy(p, latin1, (size_t)l1);
    p += l1;
  } else {
    *p++ = TAG_SMALL_ATOM_UTF8, *p++ = (uint8_t)len;
    memcpy(p, name, len);
    p += len;
  }
  return (size_t)(p - out);
}

int gossip_encode(const gossip_key *k, const uint8_t iv[GOSSIP_IV_LEN],
                  const char *name, size_t len, uint8_t *out) {
  if (!name || len == 0 || len > GOSSIP_NAME_MAX) return -1;
  if (!k || !k->set) return (int)put_plain(name, len, out);

  uint8_t plain[GOSSIP_PLAIN_MAX + 16];
  size_t n = put_plain(name, len, plain);
  size_t pad = 16 - n % 16; /* PKCS#7: 1..16 bytes of the value pad */
  memset(plain + n, (int)pad, pad);
  n += pad;

  memcpy(out, iv, GOSSIP_IV_LEN);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->key, iv) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
  int out1 = 0, out2 = 0;
  ok = ok && EVP_EncryptUpdate(ctx, out + GOSSIP_IV_LEN, &out1, plain, (int)n) == 1 &&
       EVP_EncryptFinal_ex(ctx, out + GOSSIP_IV_LEN + out1, &out2) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok || (size_t)(out1 + out2) != n) return -1;
  return (int)(GOSSIP_IV_LEN + n);
}

/* ---- parse ------------------------------------------------------------- */

/* One atom at p (end bounds it): its text as UTF-8 into out (at most cap
 * bytes). Returns bytes consumed, or a GOSSIP_E* code. */
static int read_atom(const uint8_t *p, const uint8_t *end, char *out,
                     size_t cap, size_t *out_len) {
  if (p >= end) return GOSSIP_ESHORT;
  uint8_t tag = *p;
  size_t hdr, len;
  bool utf8;
  switch (tag) {
    case TAG_ATOM: hdr = 3, utf8 = false; break;
    case TAG_ATOM_UTF8: hdr = 3, utf8 = true; break;
    case TAG_SMALL_ATOM: hdr = 2, utf8 = false; break;
    case TAG_SMALL_ATOM_UTF8: hdr = 2, utf8 = true; break;
    default: return GOSSIP_ESHAPE; /* a term, maybe, but not an atom */
  }
  if ((size_t)(end - p) < hdr) return GOSSIP_ESHORT;
  len = hdr == 3 ? (size_t)p[1] << 8 | p[2] : p[1];
  if ((size_t)(end - p) - hdr < len) return GOSSIP_ESHORT;
  const uint8_t *s = p + hdr;
  size_t n = 0;
  if (utf8) {
    if (len > cap) return GOSSIP_ESHAPE;
    memcpy(out, s, len);
    n = len;
  } else {
    for (size_t i = 0; i < len; i++) {
      if (n + (s[i] < 0x80 ? 1 : 2) > cap) return GOSSIP_ESHAPE;
      if (s[i] < 0x80) {
        out[n++] = (char)s[i];
      } else {
        out[n++] = (char)(0xC0 | s[i] >> 6);
        out[n++] = (char)(0x80 | (s[i] & 0x3F));
      }
    }
  }
  *out_len = n;
  return (int)(hdr + len);
}

/* "heartbeat::" ETF(%{node: Atom}) and nothing after it. */
static int parse_plain(const uint8_t *p, size_t len, char *name,
                       size_t *name_len) {
  if (len < GOSSIP_PRELUDE_LEN ||
      memcmp(p, GOSSIP_PRELUDE, GOSSIP_PRELUDE_LEN) != 0)
    return GOSSIP_EPRELUDE;
  const uint8_t *end = p + len;
  p += GOSSIP_PRELUDE_LEN;
  if (p >= end) return GOSSIP_ESHORT;
  if (*p++ != TAG_VERSION) return GOSSIP_EETF;
  if (p >= end) return GOSSIP_ESHORT;
  if (*p != TAG_MAP) return GOSSIP_ESHAPE;
  if (end - p < 5) return GOSSIP_ESHORT;
  if (p[1] || p[2] || p[3] || p[4] != 1) return GOSSIP_ESHAPE;
  p += 5;
  char key[8];
  size_t key_len;
  int used = read_atom(p, end, key, sizeof key, &key_len);
  if (used < 0) return used;
  if (key_len != 4 || memcmp(key, "node", 4) != 0) return GOSSIP_ESHAPE;
  p += used;
  used = read_atom(p, end, name, GOSSIP_NAME_MAX, name_len);
  if (used < 0) return used;
  p += used;
  if (p != end) return GOSSIP_EETF; /* binary_to_term/1 refuses trailing bytes */
  if (*name_len == 0) return GOSSIP_ESHAPE;
  return GOSSIP_OK;
}

int gossip_parse(const gossip_key *k, const uint8_t *pkt, size_t len,
                 char name[GOSSIP_NAME_MAX], size_t *name_len) {
  *name_len = 0;
  if (!pkt) return GOSSIP_ESHORT;
  if (!k || !k->set) {
    if (len > GOSSIP_PLAIN_MAX) return GOSSIP_ELONG;
    return parse_plain(pkt, len, name, name_len);
  }
  /* IV, then at least one block and whole blocks only */
  if (len < GOSSIP_IV_LEN + 16 || (len - GOSSIP_IV_LEN) % 16 != 0)
    return GOSSIP_ESHORT;
  if (len > GOSSIP_PACKET_MAX) return GOSSIP_ELONG;
  size_t clen = len - GOSSIP_IV_LEN;
  uint8_t plain[GOSSIP_PACKET_MAX];
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ok = ctx &&
           EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->key, pkt) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
  int out1 = 0, out2 = 0;
  ok = ok &&
       EVP_DecryptUpdate(ctx, plain, &out1, pkt + GOSSIP_IV_LEN, (int)clen) == 1 &&
       EVP_DecryptFinal_ex(ctx, plain + out1, &out2) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok || (size_t)(out1 + out2) != clen) return GOSSIP_EDECRYPT;
  /* PKCS#7, checked as libcluster's pkcs7_unpad (which also takes a pad
   * byte of 0, never sent by a libcluster node: refused here) */
  uint8_t pad = plain[clen - 1];
  if (pad == 0 || pad > 16) return GOSSIP_EDECRYPT;
  for (size_t i = clen - pad; i < clen; i++)
    if (plain[i] != pad) return GOSSIP_EDECRYPT;
  return parse_plain(plain, clen - pad, name, name_len);
}
