/* STUB: replaced by term order, equality and hashing. */
#include "term_internal.h"
int nodus_compare(const nodus_term *a, const nodus_term *b) { return 0; }
int nodus_compare_exact(const nodus_term *a, const nodus_term *b) { return 0; }
bool nodus_equal(const nodus_term *a, const nodus_term *b) { return false; }
uint64_t nodus_hash(const nodus_term *t) { return 0; }
int term_map_sort(nodus_term *map) { return NODUS_EUNSUPPORTED; }
uint32_t *term_map_sorted_index(const nodus_term *map) { return 0; }
