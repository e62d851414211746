/* Discovery's own insides, shared by core.c, spec.c and service.c (the
 * strategies see discovery_internal.h only). */
#ifndef NODUS_CLUSTER_DISCOVERY_CORE_INTERNAL_H
#define NODUS_CLUSTER_DISCOVERY_CORE_INTERNAL_H

#include "cluster/discovery/discovery_internal.h"

/* One option of a parsed topology: key NULL for a list item. */
typedef struct disc_kv {
  char *key, *value;
} disc_kv;

/* A topology as parsed and checked: its strategy and its options (owned
 * copies, whether they came from a spec string or from structs). */
typedef struct disc_spec_topo {
  const disc_strategy *strategy;
  disc_kv *kv;
  size_t n_kv;
} disc_spec_topo;

/* Options every topology takes besides its strategy's keys. The backoff
 * and connect timeout are the discovery's (the last topology giving one
 * wins): nodes are dialled once, whichever topologies list them. */
extern const char *const disc_common_keys[];

/* Parses a spec string into *out (n_out topologies appended to what
 * *out holds, *out realloc'd); NODUS_EINVAL with "position N: why" in
 * err. Strategies, keys and values are checked (disc_spec_check). */
int disc_spec_parse(const char *spec, disc_spec_topo **out, size_t *n_out,
                    char *err, size_t err_size);
/* The same for a struct topology. */
int disc_spec_from_struct(const nodus_topology *t, disc_spec_topo **out,
                          size_t *n_out, char *err, size_t err_size);
void disc_spec_free(disc_spec_topo *t, size_t n);
/* The strategy called name, or NULL. */
const disc_strategy *disc_strategy_find(const char *name, size_t len);
/* Value checks by key name, before any strategy starts: keys ending in
 * _ms, _ttl or named port/ttl are unsigned integers; disconnect_missing
 * and keys ending in _only are booleans. 0 or NODUS_EINVAL with a reason. */
int disc_spec_check_value(const char *key, const char *value, char *err,
                          size_t err_size);
int disc_parse_uint(const char *s, unsigned *out);
int disc_parse_bool(const char *s, bool *out);

/* The service's discovery: its slot is cleared when the node's close
 * frees the discovery (service.c must not stop it twice). */
void disc_set_owner_slot(nodus_discovery *d, nodus_discovery **slot);
/* nodus:discovery/0's answer for every discovery running on the node:
 * [#{index, strategy, nodes, error}] (error: none or a binary). Loop only. */
int disc_describe_node(nodus_node *node, nodus_term *out);
/* The node was made hidden (the CLI's): NODUS_DISCOVER is not for it. */
bool disc_node_hidden(nodus_node *node);

#endif
