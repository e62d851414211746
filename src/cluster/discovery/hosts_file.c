/* hosts_file: the hosts of a .hosts.erlang file, asked as epmd does
 * (net_adm:world/0): hosts_file:/etc/app/.hosts.erlang,interval_ms=5000.
 * Without a path: ./.hosts.erlang, else ~/.hosts.erlang, as net_adm looks.
 * The file is Erlang terms, one atom each ('host.example.com'.), with %
 * comments; it is read again every round, so hosts added are polled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/discovery/epmd_poll.h"

#define MAX_FILE (256u << 10)
#define MAX_HOSTS 1024

typedef struct hf_state {
  char path[1024];
  disc_epmd_poll *poll;
  disc_topology *t;
} hf_state;

/* Parses the hosts of text into hosts[] (pointers into text, which is
 * cut); *n hosts, or -1 and a reason with the line. */
static int parse_hosts(char *text, char **hosts, size_t *n, char *why,
                       size_t why_size) {
  char *p = text;
  int line = 1;
  *n = 0;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '%') {
      if (*p == '%')
        while (*p && *p != '\n') p++;
      if (*p == '\n') line++;
      if (*p) p++;
    }
    if (!*p) return 0;
    char *start, *end;
    if (*p == '\'') {
      start = ++p;
      while (*p && *p != '\'' && *p != '\n') p++;
      if (*p != '\'') {
        snprintf(why, why_size, "line %d: unterminated quoted atom", line);
        return -1;
      }
      end = p++;
    } else if (*p >= 'a' && *p <= 'z') {
      start = p;
      while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             (*p >= '0' && *p <= '9') || *p == '_' || *p == '@')
        p++;
      end = p;
    } else {
      snprintf(why, why_size, "line %d: a host atom expected", line);
      return -1;
    }
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '.') {
      snprintf(why, why_size, "line %d: '.' expected after a host", line);
      return -1;
    }
    p++;
    if (end == start) {
      snprintf(why, why_size, "line %d: empty host", line);
      return -1;
    }
    *end = 0;
    if (*n < MAX_HOSTS) hosts[(*n)++] = start;
  }
}

/* Reads and parses the file into the poller's host list. */
static int load(hf_state *s, char *why, size_t why_size) {
  FILE *f = fopen(s->path, "r");
  if (!f) {
    snprintf(why, why_size, "%s: cannot read it", s->path);
    return NODUS_EINVAL;
  }
  char *text = malloc(MAX_FILE + 1);
  size_t len = text ? fread(text, 1, MAX_FILE, f) : 0;
  fclose(f);
  if (!text) return NODUS_ENOMEM;
  text[len] = 0;
  char **hosts = malloc(MAX_HOSTS * sizeof *hosts);
  size_t n = 0;
  int rc = hosts ? 0 : NODUS_ENOMEM;
  char where[200];
  if (!rc && parse_hosts(text, hosts, &n, where, sizeof where)) {
    snprintf(why, why_size, "%s: %s", s->path, where);
    rc = NODUS_EINVAL;
  }
  if (!rc && n == 0) {
    snprintf(why, why_size, "%s: no hosts in it", s->path);
    rc = NODUS_EINVAL;
  }
  if (!rc) rc = disc_epmd_poll_set_hosts(s->poll, (const char *const *)hosts, n);
  free(hosts);
  free(text);
  return rc;
}

static int before_round(disc_epmd_poll *p, void *arg) {
  hf_state *s = arg;
  char why[400];
  int rc = load(s, why, sizeof why);
  if (rc) disc_report_error(s->t, "%s", why);
  return rc;
}

static int hf_start(disc_topology *t, char *err, size_t err_size) {
  hf_state *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  s->t = t;
  disc_set_state(t, s);
  const char *path = disc_item(t, 0);
  if (disc_items(t) > 1) {
    snprintf(err, err_size, "one path only");
    return NODUS_EINVAL;
  }
  if (path) {
    snprintf(s->path, sizeof s->path, "%s", path);
  } else if (access(".hosts.erlang", R_OK) == 0 || !getenv("HOME")) {
    snprintf(s->path, sizeof s->path, ".hosts.erlang");
  } else {
    snprintf(s->path, sizeof s->path, "%s/.hosts.erlang", getenv("HOME"));
  }
  int rc = disc_epmd_poll_start(t, before_round, s, err, err_size, &s->poll);
  if (!rc) rc = load(s, err, err_size); /* a bad file fails here, not later */
  return rc;
}

static void hf_stop(disc_topology *t) {
  hf_state *s = disc_state(t);
  if (!s) return;
  disc_epmd_poll_stop(s->poll);
  free(s);
  disc_set_state(t, NULL);
}

static const char *const hf_keys[] = {"", "interval_ms", "timeout_ms", "port",
                                      NULL};

const disc_strategy disc_hosts_file = {"hosts_file", hf_start, hf_stop, hf_keys};
