/* The fuzz targets' one assertion: a property that does not hold prints
 * where and aborts, which libFuzzer records as a crash and the corpus
 * replay (replay_main.c) as a failed test. Always on, whatever NDEBUG. */
#ifndef NODUS_FUZZ_ASSERT_H
#define NODUS_FUZZ_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond)                                                \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__,     \
              __LINE__, #cond);                                          \
      abort();                                                           \
    }                                                                    \
  } while (0)

#endif
