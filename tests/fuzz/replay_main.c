/* Runs a fuzz target over every file of a corpus directory (or the files
 * named), so the seed corpus is a regression test in every build.
 *
 * A target asserts its properties by aborting (abort, __builtin_trap);
 * the replay then names the input on stderr and dies of the same signal,
 * so ctest sees the failure. A target must return 0 (or -1, libFuzzer's
 * "keep out of the corpus"); any other value fails the replay too. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current; /* the input being run, for the crash line */

static void on_crash(int sig) {
  static const char head[] = "fuzz replay: crashed on input ";
  if (write(2, head, sizeof head - 1) < 0 ||
      write(2, current ? current : "?", current ? strlen(current) : 1) < 0 ||
      write(2, "\n", 1) < 0) {
    /* nothing more to say */
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return 1;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0) break;
    len += n;
  }
  fclose(f);
  current = path;
  int rc = LLVMFuzzerTestOneInput(buf, len);
  current = NULL;
  free(buf);
  if (rc != 0 && rc != -1) {
    fprintf(stderr, "%s: the target returned %d (0 or -1 allowed)\n", path, rc);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int files = 0, failed = 0;
  /* Not SIGSEGV and friends: the sanitizers report those themselves. */
  const int sigs[] = {SIGABRT, SIGILL, SIGTRAP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], on_crash);
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      failed += run_file(argv[i]);
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      failed += run_file(path);
      files++;
    }
    if (d) closedir(d);
  }
  printf("replayed %d inputs\n", files);
  if (files == 0) {
    fprintf(stderr, "no corpus inputs found\n");
    return 1;
  }
  return failed ? 1 : 0;
}
