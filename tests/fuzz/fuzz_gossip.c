/* Fuzz target: the gossip strategy's packet parser (libcluster's Gossip
 * heartbeat, src/cluster/discovery/gossip_packet.c). The first byte picks
 * the key (even: no secret; odd: the secret "s3cret", the seeds' one), the
 * rest is the datagram. Parsing makes no atoms; a heartbeat that parses
 * gives a name of 1..255 bytes that encodes again (with the packet's own
 * IV) to a packet that parses to the same name. */
#include <stdint.h>
#include <string.h>

#include "cluster/discovery/gossip_packet.h"
#include "fuzz_assert.h"
#include "nodus/term.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  gossip_key k;
  if (data[0] & 1) gossip_key_init(&k, "s3cret", 6);
  else gossip_key_init(&k, NULL, 0);
  data++, size--;

  size_t atoms = nodus_atom_count();
  char name[GOSSIP_NAME_MAX];
  size_t name_len = 12345;
  int rc = gossip_parse(&k, data, size, name, &name_len);
  FUZZ_ASSERT(nodus_atom_count() == atoms);
  if (rc != GOSSIP_OK) {
    FUZZ_ASSERT(rc < 0 && rc >= GOSSIP_ELONG);
    FUZZ_ASSERT(name_len <= GOSSIP_NAME_MAX);
    FUZZ_ASSERT(strcmp(gossip_parse_strerror(rc), "unknown") != 0);
    return 0;
  }
  FUZZ_ASSERT(name_len >= 1 && name_len <= GOSSIP_NAME_MAX);
  FUZZ_ASSERT(size <= GOSSIP_PACKET_MAX);

  uint8_t again[GOSSIP_PACKET_MAX], iv[GOSSIP_IV_LEN] = {0};
  if (k.set) memcpy(iv, data, GOSSIP_IV_LEN);
  int n = gossip_encode(&k, iv, name, name_len, again);
  FUZZ_ASSERT(n > 0 && n <= GOSSIP_PACKET_MAX);
  char name2[GOSSIP_NAME_MAX];
  size_t len2;
  FUZZ_ASSERT(gossip_parse(&k, again, (size_t)n, name2, &len2) == GOSSIP_OK);
  FUZZ_ASSERT(len2 == name_len && !memcmp(name, name2, name_len));
  return 0;
}
