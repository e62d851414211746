/* The gossip strategy's packet (libcluster 3.5's Gossip format): encode
 * and parse, plain and with a secret; a wrong secret, truncation, garbage
 * and terms of another shape are refused with a reason, and parsing makes
 * no atoms. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster/discovery/gossip_packet.h"
#include "nodus.h"
#include "nodus/discovery.h"

static const uint8_t IV[GOSSIP_IV_LEN] = {1, 2,  3,  4,  5,  6,  7,  8,
                                          9, 10, 11, 12, 13, 14, 15, 16};

/* "heartbeat::" ++ term_to_binary(Term), with our encoder (byte-exact with
 * OTP 25's term_to_binary), minor version `minor`. */
static size_t plain_of(const char *term_text, int minor, uint8_t *out,
                       size_t cap) {
  nodus_term t;
  if (nodus_parse(term_text, strlen(term_text), NULL, &t, NULL) != 0) return 0;
  nodus_encode_opts eo = {.minor_version = minor};
  uint8_t *etf;
  size_t len;
  int rc = nodus_etf_encode(&t, &eo, &etf, &len);
  nodus_term_free(&t);
  if (rc || GOSSIP_PRELUDE_LEN + len > cap) return 0;
  memcpy(out, GOSSIP_PRELUDE, GOSSIP_PRELUDE_LEN);
  memcpy(out + GOSSIP_PRELUDE_LEN, etf, len);
  free(etf);
  return GOSSIP_PRELUDE_LEN + len;
}

/* libcluster's encrypt/2 done with OpenSSL's own PKCS#7 padding. */
static size_t encrypt_ref(const char *secret, const uint8_t *plain,
                          size_t len, uint8_t *out) {
  uint8_t key[32];
  SHA256((const unsigned char *)secret, strlen(secret), key);
  memcpy(out, IV, GOSSIP_IV_LEN);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n1 = 0, n2 = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, IV);
  EVP_EncryptUpdate(ctx, out + GOSSIP_IV_LEN, &n1, plain, (int)len);
  EVP_EncryptFinal_ex(ctx, out + GOSSIP_IV_LEN + n1, &n2);
  EVP_CIPHER_CTX_free(ctx);
  return GOSSIP_IV_LEN + (size_t)(n1 + n2);
}

static int parse_name(const gossip_key *k, const uint8_t *p, size_t len,
                      char *name /* GOSSIP_NAME_MAX + 1 */) {
  size_t n;
  int rc = gossip_parse(k, p, len, name, &n);
  name[rc == GOSSIP_OK ? n : 0] = 0;
  return rc;
}

static void test_plain(void) {
  gossip_key none;
  gossip_key_init(&none, NULL, 0);
  uint8_t pkt[GOSSIP_PACKET_MAX], ref[512];
  char name[GOSSIP_NAME_MAX + 1];

  int n = gossip_encode(&none, IV, "a@h", 3, pkt);
  size_t rn = plain_of("#{node => 'a@h'}", 1, ref, sizeof ref);
  CHECK(n > 0 && (size_t)n == rn && !memcmp(pkt, ref, rn));
  CHECK_RC(parse_name(&none, pkt, (size_t)n, name), GOSSIP_OK);
  CHECK_STR(name, "a@h");

  /* Latin-1 text goes as ATOM_EXT narrowed, other UTF-8 as
   * SMALL_ATOM_UTF8, both as term_to_binary/1 on OTP 25 */
  const char *names[] = {"n\xc3\xb6@h", "\xe2\x82\xac@h", "app@10.77.0.1"};
  const char *terms[] = {"#{node => 'n\xc3\xb6@h'}", "#{node => '\xe2\x82\xac@h'}",
                         "#{node => 'app@10.77.0.1'}"};
  for (int i = 0; i < 3; i++) {
    n = gossip_encode(&none, IV, names[i], strlen(names[i]), pkt);
    rn = plain_of(terms[i], 1, ref, sizeof ref);
    CHECK(n > 0 && (size_t)n == rn && !memcmp(pkt, ref, rn));
    CHECK_RC(parse_name(&none, pkt, (size_t)n, name), GOSSIP_OK);
    CHECK_STR(name, names[i]);
    /* OTP 26's default (minor version 2: SMALL_ATOM_UTF8 everywhere) */
    rn = plain_of(terms[i], 2, ref, sizeof ref);
    CHECK_RC(parse_name(&none, ref, rn, name), GOSSIP_OK);
    CHECK_STR(name, names[i]);
  }
  /* the longest name fits, one byte more does not */
  char long_name[GOSSIP_NAME_MAX + 2];
  memset(long_name, 'a', sizeof long_name);
  long_name[0] = 'x', long_name[1] = '@';
  n = gossip_encode(&none, IV, long_name, GOSSIP_NAME_MAX, pkt);
  CHECK(n > 0 && n <= GOSSIP_PLAIN_MAX);
  CHECK_RC(parse_name(&none, pkt, (size_t)n, name), GOSSIP_OK);
  CHECK(strlen(name) == GOSSIP_NAME_MAX);
  CHECK(gossip_encode(&none, IV, long_name, GOSSIP_NAME_MAX + 1, pkt) == -1);
  CHECK(gossip_encode(&none, IV, "", 0, pkt) == -1);
}

static void test_secret(void) {
  gossip_key k, other, none;
  gossip_key_init(&k, "s3cret", 6);
  gossip_key_init(&other, "s3cret!", 7);
  gossip_key_init(&none, NULL, 0);
  uint8_t pkt[GOSSIP_PACKET_MAX], plain[512], ref[512];
  char name[GOSSIP_NAME_MAX + 1];

  int n = gossip_encode(&k, IV, "c@10.77.0.3", 11, pkt);
  size_t pn = plain_of("#{node => 'c@10.77.0.3'}", 1, plain, sizeof plain);
  size_t rn = encrypt_ref("s3cret", plain, pn, ref);
  CHECK(n > 0 && (size_t)n == rn && !memcmp(pkt, ref, rn));
  CHECK((n - GOSSIP_IV_LEN) % 16 == 0);
  CHECK_RC(parse_name(&k, pkt, (size_t)n, name), GOSSIP_OK);
  CHECK_STR(name, "c@10.77.0.3");

  /* a plaintext of whole blocks gets a whole block of padding */
  char name16[40];
  size_t base = GOSSIP_PRELUDE_LEN + 1 + 5 + 7 + 3;
  size_t want = 48 - base; /* plaintext of exactly 3 blocks */
  memset(name16, 'b', want);
  name16[0] = 'z', name16[1] = '@';
  n = gossip_encode(&k, IV, name16, want, pkt);
  CHECK(n == GOSSIP_IV_LEN + 64);
  CHECK_RC(parse_name(&k, pkt, (size_t)n, name), GOSSIP_OK);
  CHECK(strlen(name) == want);

  /* the wrong secret, no secret, a plain packet where a secret is set */
  n = gossip_encode(&k, IV, "c@10.77.0.3", 11, pkt);
  int rc = parse_name(&other, pkt, (size_t)n, name);
  CHECK(rc == GOSSIP_EDECRYPT || rc == GOSSIP_EPRELUDE);
  CHECK_RC(parse_name(&none, pkt, (size_t)n, name), GOSSIP_EPRELUDE);
  n = gossip_encode(&none, IV, "c@10.77.0.3", 11, pkt);
  rc = parse_name(&k, pkt, (size_t)n, name);
  CHECK(rc == GOSSIP_ESHORT || rc == GOSSIP_EDECRYPT || rc == GOSSIP_EPRELUDE);
  /* many wrong secrets: never a heartbeat */
  n = gossip_encode(&k, IV, "c@10.77.0.3", 11, pkt);
  int accepted = 0;
  for (int i = 0; i < 2000; i++) {
    char s[16];
    snprintf(s, sizeof s, "guess%d", i);
    gossip_key g;
    gossip_key_init(&g, s, strlen(s));
    if (parse_name(&g, pkt, (size_t)n, name) == GOSSIP_OK) accepted++;
  }
  CHECK(accepted == 0);

  /* a flipped bit in the IV changes the first block: the prelude breaks */
  pkt[0] ^= 0x01;
  CHECK_RC(parse_name(&k, pkt, (size_t)n, name), GOSSIP_EPRELUDE);
  pkt[0] ^= 0x01;
  /* bad padding bytes (the last block rewritten by a forger without key) */
  pkt[n - 1] ^= 0x55;
  rc = parse_name(&k, pkt, (size_t)n, name);
  CHECK(rc != GOSSIP_OK);
}

static void test_truncated(void) {
  gossip_key k, none;
  gossip_key_init(&k, "s3cret", 6);
  gossip_key_init(&none, NULL, 0);
  uint8_t pkt[GOSSIP_PACKET_MAX];
  char name[GOSSIP_NAME_MAX + 1];
  int n = gossip_encode(&none, IV, "a@h", 3, pkt);
  int bad = 0;
  for (int len = 0; len < n; len++)
    if (parse_name(&none, pkt, (size_t)len, name) == GOSSIP_OK) bad++;
  CHECK(bad == 0);
  CHECK_RC(parse_name(&none, pkt, (size_t)n - 1, name), GOSSIP_ESHORT);
  n = gossip_encode(&k, IV, "a@h", 3, pkt);
  for (int len = 0; len < n; len++)
    if (parse_name(&k, pkt, (size_t)len, name) == GOSSIP_OK) bad++;
  CHECK(bad == 0);
  CHECK_RC(parse_name(&k, pkt, 0, name), GOSSIP_ESHORT);
  CHECK_RC(parse_name(&k, pkt, (size_t)n - 3, name), GOSSIP_ESHORT);
  /* trailing bytes: binary_to_term/1 refuses them, so do we */
  n = gossip_encode(&none, IV, "a@h", 3, pkt);
  pkt[n] = 0;
  CHECK_RC(parse_name(&none, pkt, (size_t)n + 1, name), GOSSIP_EETF);
  /* longer than any heartbeat */
  uint8_t big[4096];
  memcpy(big, GOSSIP_PRELUDE, GOSSIP_PRELUDE_LEN);
  memset(big + GOSSIP_PRELUDE_LEN, 'x', sizeof big - GOSSIP_PRELUDE_LEN);
  CHECK_RC(parse_name(&none, big, sizeof big, name), GOSSIP_ELONG);
  CHECK_RC(parse_name(&k, big, GOSSIP_IV_LEN + 16 * 40, name), GOSSIP_ELONG);
}

static void test_garbage(void) {
  gossip_key k, none;
  gossip_key_init(&k, "s3cret", 6);
  gossip_key_init(&none, NULL, 0);
  uint8_t buf[400];
  char name[GOSSIP_NAME_MAX + 1];
  uint32_t x = 12345;
  int ok = 0;
  size_t atoms = nodus_atom_count();
  for (int i = 0; i < 20000; i++) {
    size_t len = (x = x * 1103515245 + 12345) % sizeof buf;
    for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)((x = x * 1103515245 + 12345) >> 16);
    if (i % 2) memcpy(buf, GOSSIP_PRELUDE, len < GOSSIP_PRELUDE_LEN ? len : GOSSIP_PRELUDE_LEN);
    if (parse_name(&none, buf, len, name) == GOSSIP_OK) ok++;
    if (parse_name(&k, buf, len, name) == GOSSIP_OK) ok++;
  }
  CHECK(ok == 0);
  CHECK(nodus_atom_count() == atoms); /* parsing makes no atoms */
  CHECK_RC(parse_name(&none, (const uint8_t *)"hello", 5, name), GOSSIP_EPRELUDE);
  CHECK_RC(parse_name(&none, (const uint8_t *)"heartbeat::", 11, name), GOSSIP_ESHORT);
  CHECK_RC(parse_name(&none, (const uint8_t *)"heartbeat::x", 12, name), GOSSIP_EETF);
}

static void test_shapes(void) {
  gossip_key none;
  gossip_key_init(&none, NULL, 0);
  uint8_t pkt[512];
  char name[GOSSIP_NAME_MAX + 1];
  const char *others[] = {
      "#{node => <<\"a@h\">>}",      "#{node => \"a@h\"}",
      "#{node => 'a@h', x => 1}",    "#{name => 'a@h'}",
      "#{'Node' => 'a@h'}",          "{node, 'a@h'}",
      "'a@h'",                       "#{}",
      "[{node, 'a@h'}]",             "#{node => {'a@h'}}",
      "#{<<\"node\">> => 'a@h'}",    "#{node => ''}",
      "#{nodes => 'a@h'}",           "#{nod => 'a@h'}",
  };
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    size_t n = plain_of(others[i], 1, pkt, sizeof pkt);
    CHECK(n > 0);
    int rc = parse_name(&none, pkt, n, name);
    if (rc != GOSSIP_ESHAPE)
      fprintf(stderr, "shape %s: %s\n", others[i], gossip_parse_strerror(rc));
    CHECK_RC(rc, GOSSIP_ESHAPE);
  }
  /* SMALL_ATOM_EXT (115), which OTP never sends but decodes */
  static const uint8_t small_atoms[] = {'h', 'e', 'a', 'r', 't', 'b', 'e', 'a',
                                        't', ':', ':', 131, 116, 0, 0, 0, 1,
                                        115, 4, 'n', 'o', 'd', 'e', 115, 3,
                                        'a', '@', 'h'};
  CHECK_RC(parse_name(&none, small_atoms, sizeof small_atoms, name), GOSSIP_OK);
  CHECK_STR(name, "a@h");
  /* a compressed term (131, 80): libcluster never sends one */
  static const uint8_t compressed[] = {'h', 'e', 'a', 'r', 't', 'b', 'e', 'a',
                                       't', ':', ':', 131, 80, 0, 0, 0, 12};
  CHECK_RC(parse_name(&none, compressed, sizeof compressed, name), GOSSIP_ESHAPE);
  /* a Latin-1 name longer than 255 bytes once in UTF-8 */
  uint8_t l1[GOSSIP_PRELUDE_LEN + 20 + 200];
  size_t n = plain_of("#{node => 'a@h'}", 1, l1, sizeof l1);
  n -= 3;
  l1[n - 1] = 200;
  for (int i = 0; i < 200; i++) l1[n++] = 0xE9;
  CHECK_RC(parse_name(&none, l1, n, name), GOSSIP_ESHAPE);
}

/* Options that can't work fail at start with the reason; nothing here
 * sends a packet (each fails before the first heartbeat). */
static void quiet(void *arg, int level, const char *node, const char *component,
                  const char *msg) {}

static void test_start_errors(void) {
  char err[512];
  CHECK_RC(nodus_discovery_check("gossip:secret=s,interval_ms=200,ttl_ms=0,port=45999,"
                                 "if_addr=0.0.0.0,multicast_if=0.0.0.0,"
                                 "multicast_addr=233.252.1.32,multicast_ttl=1,"
                                 "broadcast_only=false", err, sizeof err), 0);
  CHECK_RC(nodus_discovery_check("gossip:bogus=1", err, sizeof err), NODUS_EINVAL);
  nodus_node_opts o = {.name = "gossip_unit@127.0.0.1", .cookie = "c",
                       .listen_address = "127.0.0.1", .epmd_mode = NODUS_EPMD_NONE,
                       .log = quiet};
  nodus_node *n = NULL;
  CHECK_RC(nodus_node_init(&o, &n), 0);
  if (!n) return;
  CHECK_RC(nodus_node_start(n), 0);
  static const struct {
    const char *spec;
    int rc;
    const char *says;
  } bad[] = {
      {"gossip:multicast_addr=10.1.2.3", NODUS_EINVAL, "not a multicast address"},
      {"gossip:multicast_addr=nowhere", NODUS_EINVAL, "not an IPv4 address"},
      {"gossip:if_addr=::1", NODUS_EINVAL, "not an IPv4 address"},
      {"gossip:port=70000", NODUS_EINVAL, "port=70000"},
      {"gossip:multicast_ttl=256", NODUS_EINVAL, "more than 255"},
      {"gossip:interval_ms=0", NODUS_EINVAL, "at least 1"},
      {"gossip:broadcast_only=maybe", NODUS_EINVAL, "broadcast_only"},
      /* an address no interface has: the kernel refuses it at once */
      {"gossip:multicast_if=192.0.2.77,port=45999", NODUS_ENET, "multicast_if=192.0.2.77"},
      {"gossip:if_addr=192.0.2.77,port=45999", NODUS_ENET, "binding 192.0.2.77:45999"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    nodus_discovery_opts d = {.spec = bad[i].spec, .dry_run = true};
    nodus_discovery *disc = NULL;
    err[0] = 0;
    int rc = nodus_discovery_start(n, &d, err, sizeof err, &disc);
    if (rc != bad[i].rc || !strstr(err, bad[i].says))
      fprintf(stderr, "%s: %s: %s\n", bad[i].spec, nodus_err_name(rc), err);
    CHECK_RC(rc, bad[i].rc);
    CHECK(strstr(err, bad[i].says) != NULL);
    if (!rc) nodus_discovery_stop(disc);
  }
  nodus_node_close(n);
}

int main(void) {
  test_start_errors();
  test_plain();
  test_secret();
  test_truncated();
  test_garbage();
  test_shapes();
  printf("test_gossip: %d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}
