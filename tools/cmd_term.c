/* nodus term encode|decode: Erlang terms between text and ETF bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nodus.h"

static const char term_usage[] =
    "usage: nodus term encode [--compressed[=LEVEL]] [--minor-version N] "
    "'TERM'\n"
    "       nodus term decode [FILE]\n"
    "\n"
    "encode  parse TERM (Erlang syntax) and write its external term format\n"
    "        bytes, with the 131 version byte, to stdout\n"
    "decode  read ETF bytes from FILE (stdin if none or -) and print the\n"
    "        term in Erlang syntax, as io_lib:format(\"~p\") does\n";

static int term_encode(int argc, char **argv) {
  nodus_encode_opts opts = {.minor_version = 1, .compressed = 0};
  const char *text = NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--compressed")) {
      opts.compressed = 6;
    } else if (!strncmp(a, "--compressed=", 13)) {
      opts.compressed = atoi(a + 13);
      if (opts.compressed < 0 || opts.compressed > 9) {
        fprintf(stderr, "nodus term encode: level must be 0..9\n");
        return CLI_USAGE;
      }
    } else if (!strcmp(a, "--minor-version") && i + 1 < argc) {
      opts.minor_version = atoi(argv[++i]);
      if (opts.minor_version < 1 || opts.minor_version > 2) {
        fprintf(stderr, "nodus term encode: minor version must be 1 or 2\n");
        return CLI_USAGE;
      }
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "nodus term encode: unknown option %s\n%s", a,
              term_usage);
      return CLI_USAGE;
    } else if (!text) {
      text = a;
    } else {
      fprintf(stderr, "nodus term encode: one TERM only\n");
      return CLI_USAGE;
    }
  }
  if (!text) {
    fprintf(stderr, "%s", term_usage);
    return CLI_USAGE;
  }
  nodus_term t;
  size_t pos = 0;
  int rc = nodus_parse(text, strlen(text), NULL, &t, &pos);
  if (rc) {
    if (rc == NODUS_ESYNTAX)
      fprintf(stderr, "nodus term encode: syntax error at byte %zu: %s\n",
              pos, text + (pos <= strlen(text) ? pos : 0));
    else
      fprintf(stderr, "nodus term encode: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  uint8_t *bytes;
  size_t len;
  rc = nodus_etf_encode(&t, &opts, &bytes, &len);
  nodus_term_free(&t);
  if (rc) {
    fprintf(stderr, "nodus term encode: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  size_t wrote = fwrite(bytes, 1, len, stdout);
  free(bytes);
  if (wrote != len || fflush(stdout) != 0) {
    perror("nodus term encode: stdout");
    return CLI_FAIL;
  }
  return CLI_OK;
}

static int term_decode(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr, "%s", term_usage);
    return CLI_USAGE;
  }
  const char *path = argc ? argv[0] : NULL;
  unsigned char *buf;
  size_t len;
  int rc = cli_read_all(path, &buf, &len);
  if (rc) {
    fprintf(stderr, "nodus term decode: %s: %s\n", path ? path : "stdin",
            strerror(-rc));
    return CLI_FAIL;
  }
  nodus_term t;
  size_t used = 0;
  rc = nodus_etf_decode(buf, len, NULL, &t, &used);
  free(buf);
  if (rc) {
    fprintf(stderr, "nodus term decode: %s (%s)\n", nodus_strerror(rc),
            nodus_err_name(rc));
    return CLI_FAIL;
  }
  if (used != len) {
    fprintf(stderr, "nodus term decode: %zu trailing bytes after the term\n",
            len - used);
    nodus_term_free(&t);
    return CLI_FAIL;
  }
  char *text;
  size_t tlen;
  rc = nodus_print(&t, NULL, &text, &tlen);
  nodus_term_free(&t);
  if (rc) {
    fprintf(stderr, "nodus term decode: %s\n", nodus_strerror(rc));
    return CLI_FAIL;
  }
  printf("%s\n", text);
  free(text);
  return CLI_OK;
}

int cmd_term(int argc, char **argv) {
  if (argc < 1 || cli_wants_help(argc, argv)) {
    fputs(term_usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  if (!strcmp(argv[0], "encode")) return term_encode(argc - 1, argv + 1);
  if (!strcmp(argv[0], "decode")) return term_decode(argc - 1, argv + 1);
  fprintf(stderr, "nodus term: unknown subcommand '%s'\n%s", argv[0],
          term_usage);
  return CLI_USAGE;
}
