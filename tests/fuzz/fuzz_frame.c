/* Arbitrary bytes through the frame reader and fragment reassembly:
 * byte 0 is the read chunk size (0 = all at once). Small limits so the
 * error paths are reached. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>

/* Relative: fuzz targets get no src/ include path. */
#include "../../src/dist/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = data[0];
  data++, size--;
  dist_frame_reader r;
  dist_defrag d;
  dist_frame_reader_init(&r, 1u << 20);
  dist_defrag_init(&d, 4, 1u << 20);
  size_t pos = 0;
  while (pos < size) {
    size_t n = chunk ? chunk : size - pos;
    if (n > size - pos) n = size - pos;
    size_t end = pos + n;
    while (pos < end) {
      size_t used;
      const uint8_t *f;
      size_t fl;
      int rc = dist_frame_next(&r, data + pos, end - pos, &used, &f, &fl);
      pos += used;
      if (rc < 0) goto out;
      if (rc == 0) break;
      if (fl == 0) continue;
      dist_msg m;
      rc = dist_defrag_frame(&d, f, fl, &m);
      if (rc < 0) goto out;
      if (rc == 1 && m.len) {
        volatile uint8_t touch = m.data[0] ^ m.data[m.len - 1];
        (void)touch;
      }
    }
  }
out:
  dist_frame_reader_free(&r);
  dist_defrag_free(&d);
  return 0;
}
