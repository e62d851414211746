/* Histories as JSON lines: one flat object per operation event. The
 * parser reads exactly that shape (string, integer, null values; unknown
 * keys skipped), not JSON in general. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit_internal.h"

int nodus_kit_history_record(FILE *f, const nodus_kit_op *op) {
  char line[512];
  int len = snprintf(line, sizeof line,
                     "{\"time\":%lld,\"process\":%d,\"type\":\"%s\",\"f\":\"%s\","
                     "\"key\":\"%s\"",
                     (long long)op->time_ns, op->process, op->type, op->f,
                     op->key);
  if (op->has_value)
    len += snprintf(line + len, sizeof line - (size_t)len, ",\"value\":%lld",
                    (long long)op->value);
  else
    len += snprintf(line + len, sizeof line - (size_t)len, ",\"value\":null");
  if (!strcmp(op->f, "cas")) {
    if (op->has_expect)
      len += snprintf(line + len, sizeof line - (size_t)len,
                      ",\"expect\":%lld", (long long)op->expect);
    else
      len += snprintf(line + len, sizeof line - (size_t)len,
                      ",\"expect\":null");
  }
  len += snprintf(line + len, sizeof line - (size_t)len, "}\n");
  /* One write per line: several recorders may share the file (O_APPEND). */
  fflush(f);
  return write(fileno(f), line, (size_t)len) == len ? 0 : NODUS_EIO;
}

int nodus_kit_history_add(nodus_kit_history *h, const nodus_kit_op *op) {
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    nodus_kit_op *ops = realloc(h->ops, cap * sizeof *ops);
    if (!ops) return NODUS_ENOMEM;
    h->ops = ops, h->cap = cap;
  }
  h->ops[h->len++] = *op;
  return 0;
}

void nodus_kit_history_free(nodus_kit_history *h) {
  free(h->ops);
  *h = (nodus_kit_history){0};
}

static const char *ws(const char *p) {
  while (isspace((unsigned char)*p)) p++;
  return p;
}

/* A JSON string without escapes beyond \" and \\ (what we write). */
static const char *str(const char *p, char *out, size_t size) {
  if (*p != '"') return NULL;
  size_t o = 0;
  for (p++; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1]) p++;
    if (o + 1 < size) out[o++] = *p;
  }
  out[o] = 0;
  return *p == '"' ? p + 1 : NULL;
}

int nodus_kit_history_parse_line(const char *line, nodus_kit_op *op) {
  *op = (nodus_kit_op){0};
  const char *p = ws(line);
  if (*p++ != '{') return NODUS_ESYNTAX;
  bool have_time = false, have_type = false;
  for (;;) {
    p = ws(p);
    if (*p == '}') break;
    char key[32], sval[64] = "";
    if (!(p = str(p, key, sizeof key))) return NODUS_ESYNTAX;
    p = ws(p);
    if (*p++ != ':') return NODUS_ESYNTAX;
    p = ws(p);
    bool is_null = false, is_str = false;
    long long ival = 0;
    if (*p == '"') {
      if (!(p = str(p, sval, sizeof sval))) return NODUS_ESYNTAX;
      is_str = true;
    } else if (!strncmp(p, "null", 4)) {
      is_null = true, p += 4;
    } else if (*p == '-' || isdigit((unsigned char)*p)) {
      char *end;
      ival = strtoll(p, &end, 10);
      p = end;
      if (*p == '.') /* fractions: keep the integer part */
        for (p++; isdigit((unsigned char)*p); p++) {
        }
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
      p += *p == 't' ? 4 : 5;
    } else {
      return NODUS_ESYNTAX;
    }
    if (!strcmp(key, "time") && !is_str) op->time_ns = ival, have_time = true;
    else if (!strcmp(key, "process")) op->process = is_str ? atoi(sval) : (int)ival;
    else if (!strcmp(key, "type") && is_str)
      snprintf(op->type, sizeof op->type, "%.*s", (int)sizeof op->type - 1, sval), have_type = true;
    else if (!strcmp(key, "f") && is_str) snprintf(op->f, sizeof op->f, "%.*s", (int)sizeof op->f - 1, sval);
    else if (!strcmp(key, "key")) {
      if (is_str) snprintf(op->key, sizeof op->key, "%.*s", (int)sizeof op->key - 1, sval);
      else snprintf(op->key, sizeof op->key, "%lld", ival);
    } else if (!strcmp(key, "value")) op->has_value = !is_null && !is_str, op->value = ival;
    else if (!strcmp(key, "expect")) op->has_expect = !is_null && !is_str, op->expect = ival;
    p = ws(p);
    if (*p == ',') p++;
    else if (*p != '}') return NODUS_ESYNTAX;
  }
  if (!have_time || !have_type) return NODUS_ESYNTAX;
  if (strcmp(op->type, "invoke") && strcmp(op->type, "ok") &&
      strcmp(op->type, "fail") && strcmp(op->type, "info"))
    return NODUS_ESYNTAX;
  return 0;
}

int nodus_kit_history_load(nodus_kit_history *h, const char *path,
                           int *bad_line) {
  FILE *f = fopen(path, "r");
  if (!f) return NODUS_EIO;
  char line[1024];
  int no = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    no++;
    if (!ws(line)[0]) continue;
    nodus_kit_op op;
    if ((rc = nodus_kit_history_parse_line(line, &op)) == 0)
      rc = nodus_kit_history_add(h, &op);
    if (rc && bad_line) *bad_line = no;
  }
  fclose(f);
  return rc;
}
