/* STUB: replaced by the printer. */
#include "term_internal.h"
int nodus_print(const nodus_term *t, const nodus_print_opts *opts, char **out, size_t *len) { return NODUS_EUNSUPPORTED; }
