/* STUB: replaced by the ETF encoder. */
#include "term_internal.h"
int nodus_etf_encode(const nodus_term *t, const nodus_encode_opts *opts, uint8_t **out, size_t *len) { return NODUS_EUNSUPPORTED; }
int nodus_etf_size(const nodus_term *t, const nodus_encode_opts *opts, size_t *size) { return NODUS_EUNSUPPORTED; }
size_t nodus_etf_encode_into(const nodus_term *t, const nodus_encode_opts *opts, uint8_t *dst) { return 0; }
