/* The replicated child table: every member holds every spec. A change is
 * stamped {Version, Writer} (a Lamport counter and the writing node) and
 * the higher stamp wins, a deletion being a spec marked deleted, so the
 * members' tables converge whatever order the changes arrive in. */
#include <stdlib.h>
#include <string.h>

#include "cluster/dsup/dsup_internal.h"

dsup_child *dsup_child_find(nodus_dsup *d, const char *id) {
  for (size_t i = 0; i < d->n_children; i++)
    if (!strcmp(d->children[i]->id, id)) return d->children[i];
  return NULL;
}

/* The child an id binary from a member names, or NULL. */
dsup_child *dsup_child_by_idbin(nodus_dsup *d, const nodus_term *idbin) {
  size_t n, bits;
  const uint8_t *p = nodus_bin_data(idbin, &n, &bits);
  if (idbin->type != NODUS_T_BINARY || !p || n == 0 || n > 1024) return NULL;
  for (size_t i = 0; i < d->n_children; i++) {
    const char *id = d->children[i]->id;
    if (strlen(id) == n && !memcmp(id, p, n)) return d->children[i];
  }
  return NULL;
}

void dsup_child_free(dsup_child *c) {
  if (!c) return;
  free(c->id);
  free(c->kind);
  free(c->global_name);
  nodus_term_free(&c->args);
  nodus_term_free(&c->pid);
  nodus_term_free(&c->handoff_ref);
  nodus_term_free(&c->handoff_state);
  free(c);
}

static dsup_child *child_new(const char *id, const char *kind,
                             const char *global_name, const nodus_term *args,
                             int restart) {
  dsup_child *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->id = strdup(id);
  c->kind = strdup(kind);
  c->global_name = global_name && *global_name ? strdup(global_name) : NULL;
  c->restart = restart;
  bool ok = c->id && c->kind && (!global_name || !*global_name || c->global_name);
  if (ok) ok = args ? nodus_copy(&c->args, args) == 0 : (c->args = nodus_nil(), true);
  if (!ok) {
    dsup_child_free(c);
    return NULL;
  }
  return c;
}

/* Moves n's spec fields into c and frees n. */
static void child_take_spec(dsup_child *c, dsup_child *n) {
  free(c->kind);
  free(c->global_name);
  nodus_term_free(&c->args);
  c->kind = n->kind;
  c->global_name = n->global_name;
  c->args = n->args;
  c->restart = n->restart;
  n->kind = n->global_name = NULL;
  n->args = nodus_nil();
  dsup_child_free(n);
}

static int child_add(nodus_dsup *d, dsup_child *c) {
  pthread_mutex_lock(&d->lock);
  int rc = 0;
  if (d->n_children == d->cap_children) {
    size_t cap = d->cap_children ? 2 * d->cap_children : 8;
    dsup_child **v = realloc(d->children, cap * sizeof *v);
    if (v) {
      d->children = v;
      d->cap_children = cap;
    } else {
      rc = NODUS_ENOMEM;
    }
  }
  if (!rc) d->children[d->n_children++] = c;
  pthread_mutex_unlock(&d->lock);
  return rc;
}

static bool same_spec(const dsup_child *c, const char *kind,
                      const char *global_name, const nodus_term *args,
                      int restart) {
  const char *g = global_name && *global_name ? global_name : NULL;
  return !strcmp(c->kind, kind) && c->restart == restart &&
         (g ? c->global_name && !strcmp(c->global_name, g) : !c->global_name) &&
         nodus_compare_exact(&c->args, args) == 0;
}

int dsup_child_from_spec(nodus_dsup *d, const nodus_dsup_child_spec *spec,
                         dsup_child **out) {
  nodus_term nil = nodus_nil();
  const nodus_term *args = spec->args ? spec->args : &nil;
  dsup_child *c = dsup_child_find(d, spec->id);
  if (c && !c->deleted) {
    if (!same_spec(c, spec->kind, spec->global_name, args, spec->restart))
      return NODUS_EEXIST;
    *out = NULL; /* the same again: nothing to do */
    return 0;
  }
  dsup_child *n = child_new(spec->id, spec->kind, spec->global_name, args,
                            spec->restart);
  if (!n) return NODUS_ENOMEM;
  n->version = ++d->lamport;
  n->writer = d->self_node;
  if (c) { /* a tombstone comes back to life, with a newer stamp */
    c->version = n->version;
    c->writer = n->writer;
    c->deleted = false;
    child_take_spec(c, n);
    *out = c;
    return 0;
  }
  int rc = child_add(d, n);
  if (rc) {
    dsup_child_free(n);
    return rc;
  }
  *out = n;
  return 0;
}

static nodus_term spec_term(const dsup_child *c) {
  nodus_term t, args;
  if (nodus_copy(&args, &c->args)) return (nodus_term){0};
  if (nodus_build(&t, "{~b, ~b, ~t, ~i, ~b, ~i, ~A, ~a}", c->id, strlen(c->id),
                  c->kind, strlen(c->kind), args, (int64_t)c->restart,
                  c->global_name ? c->global_name : "",
                  c->global_name ? strlen(c->global_name) : 0,
                  c->version, c->writer, c->deleted ? "true" : "false"))
    return (nodus_term){0};
  return t;
}

nodus_term dsup_specs_term(nodus_dsup *d) {
  nodus_term l;
  if (nodus_mk_list(&l, d->n_children)) return nodus_nil();
  for (size_t i = 0; i < d->n_children; i++)
    nodus_list_set(&l, i, spec_term(d->children[i]));
  return l;
}

/* A binary field as a C string (NULL if it isn't one or has a NUL). */
static char *bin_str(const nodus_term *t) {
  size_t n, bits;
  const uint8_t *p = nodus_bin_data(t, &n, &bits);
  if (!p && n) return NULL;
  if (t->type != NODUS_T_BINARY || bits != 8 * n || n > 1024 ||
      memchr(p, 0, n))
    return NULL;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  memcpy(s, p, n);
  s[n] = 0;
  return s;
}

static bool stamp_newer(int64_t v1, nodus_atom w1, int64_t v2, nodus_atom w2) {
  if (v1 != v2) return v1 > v2;
  nodus_term a = nodus_atom_term(w1), b = nodus_atom_term(w2);
  return nodus_compare(&a, &b) > 0;
}

static bool merge_one(nodus_dsup *d, const nodus_term *s) {
  const nodus_term *tid, *tkind, *args, *tname;
  int64_t restart, version;
  nodus_atom writer, deleted;
  if (nodus_match(s, "{~t, ~t, ~t, ~i, ~t, ~i, ~a, ~a}", &tid, &tkind, &args,
                  &restart, &tname, &version, &writer, &deleted))
    return false;
  if (restart < NODUS_PERMANENT || restart > NODUS_TEMPORARY || version < 0)
    return false;
  char *id = bin_str(tid), *kind = bin_str(tkind), *name = bin_str(tname);
  bool changed = false;
  if (!id || !kind || !name || !*id) goto out;
  if (version > d->lamport) d->lamport = version;
  bool del = deleted == NODUS_ATOM_TRUE;
  dsup_child *c = dsup_child_find(d, id);
  if (c && !stamp_newer(version, writer, c->version, c->writer)) goto out;
  if (!c) {
    c = child_new(id, kind, name, args, (int)restart);
    if (!c) goto out;
    if (child_add(d, c)) {
      dsup_child_free(c);
      goto out;
    }
  } else {
    dsup_child *n = child_new(id, kind, name, args, (int)restart);
    if (!n) goto out;
    child_take_spec(c, n);
  }
  c->version = version;
  c->writer = writer;
  c->deleted = del;
  changed = true;
out:
  free(id);
  free(kind);
  free(name);
  return changed;
}

bool dsup_specs_merge(nodus_dsup *d, const nodus_term *specs) {
  if (!nodus_is_proper_list(specs)) return false;
  bool changed = false;
  for (size_t i = 0; specs->type == NODUS_T_LIST && i < specs->n; i++)
    changed |= merge_one(d, &specs->v.items[i]);
  return changed;
}
