/* The version of the library itself, for programs that want to know what
 * they were linked with at run time (the macros only say what they were
 * compiled against). */
#include "nodus/version.h"

const char *nodus_version(void) { return NODUS_VERSION_STRING; }
