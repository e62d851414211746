/* STUB: replaced by the literal parser. */
#include "term_internal.h"
int nodus_parse(const char *text, size_t len, const nodus_parse_opts *opts, nodus_term *out, size_t *err_pos) { return NODUS_EUNSUPPORTED; }
