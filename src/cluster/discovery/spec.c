/* The spec grammar (nodus/discovery.h) and the checks every topology
 * passes before its strategy starts: a known strategy, keys it takes,
 * values that parse. Errors say where ("position N", from 1) and why. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/discovery/core_internal.h"

const char *const disc_common_keys[] = {"disconnect_missing", "backoff_min_ms",
                                        "backoff_max_ms", "connect_timeout_ms",
                                        NULL};

static int fail(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...) {
  if (err && size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
  }
  return NODUS_EINVAL;
}

const disc_strategy *disc_strategy_find(const char *name, size_t len) {
  for (size_t i = 0; disc_strategies[i]; i++)
    if (strlen(disc_strategies[i]->name) == len &&
        !memcmp(disc_strategies[i]->name, name, len))
      return disc_strategies[i];
  return NULL;
}

static void known_strategies(char *buf, size_t size) {
  size_t at = 0;
  buf[0] = 0;
  for (size_t i = 0; disc_strategies[i] && at < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "",
                           disc_strategies[i]->name);
}

static bool key_in(const char *const *keys, const char *key) {
  for (size_t i = 0; keys && keys[i]; i++)
    if (!strcmp(keys[i], key)) return true;
  return false;
}

static void keys_of(const disc_strategy *s, char *buf, size_t size) {
  size_t at = 0;
  buf[0] = 0;
  const char *const *lists[2] = {s->keys, disc_common_keys};
  for (int l = 0; l < 2; l++)
    for (size_t i = 0; lists[l] && lists[l][i] && at < size; i++)
      if (lists[l][i][0])
        at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? ", " : "",
                               lists[l][i]);
}

int disc_parse_uint(const char *s, unsigned *out) {
  if (!s || !isdigit((unsigned char)s[0])) return NODUS_EINVAL;
  errno = 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v > 0x7fffffffUL) return NODUS_EINVAL;
  *out = (unsigned)v;
  return 0;
}

int disc_parse_bool(const char *s, bool *out) {
  if (!s) return NODUS_EINVAL;
  if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) *out = true;
  else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
    *out = false;
  else return NODUS_EINVAL;
  return 0;
}

static bool ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && !strcmp(s + a - b, tail);
}

int disc_spec_check_value(const char *key, const char *value, char *err,
                          size_t err_size) {
  unsigned u;
  bool b;
  if (ends_with(key, "_ms") || ends_with(key, "_ttl") || !strcmp(key, "port") ||
      !strcmp(key, "ttl")) {
    if (disc_parse_uint(value, &u))
      return fail(err, err_size, "%s=%s: not an unsigned integer", key, value);
    if (!strcmp(key, "port") && u > 65535)
      return fail(err, err_size, "port=%s: not a port (0..65535)", value);
  } else if (!strcmp(key, "disconnect_missing") || ends_with(key, "_only")) {
    if (disc_parse_bool(value, &b))
      return fail(err, err_size, "%s=%s: not true or false", key, value);
  }
  return 0;
}

static int push_topo(disc_spec_topo **out, size_t *n, disc_spec_topo *t) {
  disc_spec_topo *grown = realloc(*out, (*n + 1) * sizeof **out);
  if (!grown) return NODUS_ENOMEM;
  *out = grown;
  grown[(*n)++] = *t;
  return 0;
}

static int push_kv(disc_spec_topo *t, const char *key, size_t klen,
                   const char *value, size_t vlen) {
  disc_kv *grown = realloc(t->kv, (t->n_kv + 1) * sizeof *t->kv);
  if (!grown) return NODUS_ENOMEM;
  t->kv = grown;
  disc_kv *kv = &t->kv[t->n_kv];
  kv->key = key ? strndup(key, klen) : NULL;
  kv->value = strndup(value, vlen);
  if ((key && !kv->key) || !kv->value) {
    free(kv->key);
    free(kv->value);
    return NODUS_ENOMEM;
  }
  t->n_kv++;
  return 0;
}

static void topo_free(disc_spec_topo *t) {
  for (size_t i = 0; i < t->n_kv; i++) {
    free(t->kv[i].key);
    free(t->kv[i].value);
  }
  free(t->kv);
  t->kv = NULL;
  t->n_kv = 0;
}

void disc_spec_free(disc_spec_topo *t, size_t n) {
  for (size_t i = 0; t && i < n; i++) topo_free(&t[i]);
  free(t);
}

/* A key (or "" for an item) the topology's strategy takes. */
static int check_kv(const disc_strategy *s, const char *key, const char *value,
                    char *err, size_t err_size) {
  char keys[400], why[300];
  if (!key) {
    if (!key_in(s->keys, ""))
      return fail(err, err_size, "%s takes no list items ('%s'; options: %s)",
                  s->name, value, (keys_of(s, keys, sizeof keys), keys));
    return 0;
  }
  if (!key_in(s->keys, key) && !key_in(disc_common_keys, key))
    return fail(err, err_size, "'%s' is not an option of %s (options: %s)", key,
                s->name, (keys_of(s, keys, sizeof keys), keys));
  if (disc_spec_check_value(key, value, why, sizeof why))
    return fail(err, err_size, "%s", why);
  return 0;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* [*b, *e) trimmed of blanks. */
static void trim(const char **b, const char **e) {
  while (*b < *e && blank(**b)) (*b)++;
  while (*e > *b && blank((*e)[-1])) (*e)--;
}

static int parse_topology(const char *spec, const char *b, const char *e,
                          disc_spec_topo *t, char *err, size_t err_size) {
  const char *colon = memchr(b, ':', (size_t)(e - b));
  const char *nb = b, *ne = colon ? colon : e;
  trim(&nb, &ne);
  if (nb == ne)
    return fail(err, err_size, "position %zu: a strategy name is missing",
                (size_t)(nb - spec) + 1);
  t->strategy = disc_strategy_find(nb, (size_t)(ne - nb));
  if (!t->strategy) {
    char known[200];
    known_strategies(known, sizeof known);
    return fail(err, err_size, "position %zu: unknown strategy '%.*s' (known: %s)",
                (size_t)(nb - spec) + 1, (int)(ne - nb), nb, known);
  }
  if (!colon) return 0;
  const char *p = colon + 1;
  for (;;) {
    const char *comma = memchr(p, ',', (size_t)(e - p));
    const char *ib = p, *ie = comma ? comma : e;
    trim(&ib, &ie);
    size_t pos = (size_t)(ib - spec) + 1;
    if (ib == ie)
      return fail(err, err_size, "position %zu: empty item in %s", pos,
                  t->strategy->name);
    const char *eq = memchr(ib, '=', (size_t)(ie - ib));
    int rc;
    char why[500];
    if (eq) {
      const char *kb = ib, *ke = eq, *vb = eq + 1, *ve = ie;
      trim(&kb, &ke);
      trim(&vb, &ve);
      if (kb == ke)
        return fail(err, err_size, "position %zu: a key is missing before '='",
                    pos);
      if (vb == ve)
        return fail(err, err_size, "position %zu: '%.*s' has no value", pos,
                    (int)(ke - kb), kb);
      if ((rc = push_kv(t, kb, (size_t)(ke - kb), vb, (size_t)(ve - vb))))
        return rc;
    } else if ((rc = push_kv(t, NULL, 0, ib, (size_t)(ie - ib)))) {
      return rc;
    }
    disc_kv *kv = &t->kv[t->n_kv - 1];
    if (check_kv(t->strategy, kv->key, kv->value, why, sizeof why))
      return fail(err, err_size, "position %zu: %s", pos, why);
    if (!comma) return 0;
    p = comma + 1;
  }
}

int disc_spec_parse(const char *spec, disc_spec_topo **out, size_t *n_out,
                    char *err, size_t err_size) {
  if (!spec) return fail(err, err_size, "no spec");
  const char *p = spec, *end = spec + strlen(spec);
  const char *b = p, *e = end;
  trim(&b, &e);
  if (b == e) return fail(err, err_size, "position 1: empty spec");
  size_t first = *n_out;
  for (;;) {
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *te = semi ? semi : end;
    disc_spec_topo t = {0};
    int rc = parse_topology(spec, p, te, &t, err, err_size);
    if (!rc && (rc = push_topo(out, n_out, &t)) == NODUS_ENOMEM)
      fail(err, err_size, "out of memory");
    if (rc) {
      topo_free(&t);
      for (size_t i = first; i < *n_out; i++) topo_free(&(*out)[i]);
      *n_out = first;
      return rc;
    }
    if (!semi) return 0;
    p = semi + 1;
  }
}

int disc_spec_from_struct(const nodus_topology *src, disc_spec_topo **out,
                          size_t *n_out, char *err, size_t err_size) {
  disc_spec_topo t = {0};
  char why[500];
  if (!src->strategy ||
      !(t.strategy = disc_strategy_find(src->strategy, strlen(src->strategy)))) {
    char known[200];
    known_strategies(known, sizeof known);
    return fail(err, err_size, "unknown strategy '%s' (known: %s)",
                src->strategy ? src->strategy : "(null)", known);
  }
  int rc = 0;
  for (size_t i = 0; i < src->n_options && !rc; i++) {
    const nodus_discovery_option *o = &src->options[i];
    const char *key = o->key && o->key[0] ? o->key : NULL;
    if (!o->value || strchr(o->value, ',') || strchr(o->value, ';'))
      rc = fail(err, err_size, "%s option %zu: a value (without ',' or ';') is needed",
                t.strategy->name, i + 1);
    else if (!(rc = push_kv(&t, key, key ? strlen(key) : 0, o->value,
                             strlen(o->value))) &&
             check_kv(t.strategy, key, o->value, why, sizeof why))
      rc = fail(err, err_size, "%s option %zu: %s", t.strategy->name, i + 1, why);
  }
  if (!rc) rc = push_topo(out, n_out, &t);
  if (rc) topo_free(&t);
  return rc;
}

int nodus_discovery_check(const char *spec, char *err, size_t err_size) {
  disc_spec_topo *t = NULL;
  size_t n = 0;
  int rc = disc_spec_parse(spec, &t, &n, err, err_size);
  disc_spec_free(t, n);
  if (!rc && err && err_size) err[0] = 0;
  return rc;
}
