/* libcluster 3.5's Gossip packet (lib/strategy/gossip.ex), encoded and
 * parsed with no I/O, no node and no atom table writes, so the unit tests
 * and the fuzzer drive exactly what the strategy runs.
 *
 *   plain:  "heartbeat::" ETF(%{node: NodeAtom})
 *   secret: IV(16 random bytes) AES-256-CBC(key = SHA-256(secret),
 *           PKCS#7-padded plain packet); no MAC, as libcluster
 *
 * The parser accepts what term_to_binary/1 makes of a one-key map on
 * OTP 20..28 (the key and value atoms as ATOM_EXT, SMALL_ATOM_EXT or their
 * UTF-8 forms) and gives the node name's bytes; checking them as a node
 * name and making the atom is the caller's (disc_node_atom). */
#ifndef NODUS_CLUSTER_DISCOVERY_GOSSIP_PACKET_H
#define NODUS_CLUSTER_DISCOVERY_GOSSIP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOSSIP_PRELUDE "heartbeat::"
#define GOSSIP_PRELUDE_LEN 11
#define GOSSIP_IV_LEN 16
/* A node name is at most 255 bytes here (an atom's text; BEAM allows 255
 * characters, we take the bytes of names that pass the node-name check). */
#define GOSSIP_NAME_MAX 255
/* prelude + 131 116 <4> 100 <2> "node" 100/118 <2> name */
#define GOSSIP_PLAIN_MAX (GOSSIP_PRELUDE_LEN + 1 + 5 + 7 + 3 + GOSSIP_NAME_MAX)
/* IV + the plaintext padded to the next block */
#define GOSSIP_PACKET_MAX (GOSSIP_IV_LEN + GOSSIP_PLAIN_MAX + 16)

typedef struct gossip_key {
  bool set;        /* false: no secret, packets in the clear */
  uint8_t key[32]; /* SHA-256 of the secret */
} gossip_key;

/* Why a packet was not a heartbeat (for the drop log line). */
typedef enum gossip_parse_result {
  GOSSIP_OK = 0,
  GOSSIP_ESHORT = -1,    /* shorter than any heartbeat, or not whole blocks */
  GOSSIP_EDECRYPT = -2,  /* bad padding after decryption: another secret */
  GOSSIP_EPRELUDE = -3,  /* no "heartbeat::" (another protocol or secret) */
  GOSSIP_EETF = -4,      /* not a term, or trailing bytes */
  GOSSIP_ESHAPE = -5,    /* a term, but not %{node: Atom} */
  GOSSIP_ELONG = -6,     /* longer than any heartbeat */
} gossip_parse_result;

const char *gossip_parse_strerror(int rc);

/* key from the secret's bytes (SHA-256), or none for secret NULL. */
void gossip_key_init(gossip_key *k, const char *secret, size_t len);

/* The heartbeat of node name `name` (len bytes, 1..GOSSIP_NAME_MAX) into
 * out (GOSSIP_PACKET_MAX bytes); iv is used with a key (16 bytes: the
 * caller's random IV, fixed in tests). Returns the packet's length, or -1
 * (bad name, OpenSSL failure). Atoms of Latin-1 text go as ATOM_EXT and
 * others as ATOM_UTF8_EXT, as OTP 25's term_to_binary. */
int gossip_encode(const gossip_key *k, const uint8_t iv[GOSSIP_IV_LEN],
                  const char *name, size_t len, uint8_t *out);

/* Parses one datagram. On GOSSIP_OK the node name's bytes (not checked as
 * a node name, not NUL-terminated) are in name[0..*name_len). */
int gossip_parse(const gossip_key *k, const uint8_t *pkt, size_t len,
                 char name[GOSSIP_NAME_MAX], size_t *name_len);

#endif
