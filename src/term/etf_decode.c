/* STUB: replaced by the ETF decoder. */
#include "term_internal.h"
int nodus_etf_decode(const uint8_t *buf, size_t len, const nodus_decode_opts *opts, nodus_term *out, size_t *used) { return NODUS_EUNSUPPORTED; }
