/* STUB: replaced by nodus_build / nodus_match. */
#include "term_internal.h"
int nodus_build(nodus_term *out, const char *fmt, ...) { return NODUS_EUNSUPPORTED; }
int nodus_match(const nodus_term *t, const char *pattern, ...) { return NODUS_EUNSUPPORTED; }
