/* Checkers: turn a history into a verdict.
 *
 * Operations are paired per process: a process has at most one operation
 * in flight, so its invoke is completed by its next ok/fail/info event.
 * Every checker gives the benefit of the doubt where the history cannot
 * tell (info outcomes), so a reported violation is a real one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

#define INF_NS INT64_MAX

typedef struct op_pair {
  const nodus_kit_op *call, *done; /* done NULL: never completed (info) */
} op_pair;

static int by_time(const void *a, const void *b) {
  const nodus_kit_op *x = *(const nodus_kit_op *const *)a,
                     *y = *(const nodus_kit_op *const *)b;
  return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

/* Pairs the ops whose key is `key` (NULL: all); caller frees. */
static op_pair *pair_ops(const nodus_kit_history *h, const char *key,
                         size_t *count) {
  const nodus_kit_op **sorted = malloc((h->len + 1) * sizeof *sorted);
  op_pair *pairs = calloc(h->len + 1, sizeof *pairs);
  size_t n = 0, np = 0;
  for (size_t k = 0; k < h->len; k++)
    if (!key || !strcmp(h->ops[k].key, key)) sorted[n++] = &h->ops[k];
  qsort(sorted, n, sizeof *sorted, by_time); /* stable enough: ties rare */
  for (size_t k = 0; k < n; k++) {
    const nodus_kit_op *op = sorted[k];
    if (!strcmp(op->type, "invoke")) {
      pairs[np++] = (op_pair){op, NULL};
      continue;
    }
    for (size_t j = np; j-- > 0;) /* the process's open call */
      if (pairs[j].call->process == op->process && !pairs[j].done) {
        pairs[j].done = op;
        break;
      }
  }
  free(sorted);
  *count = np;
  return pairs;
}

/* Distinct keys of the history. */
static size_t keys_of(const nodus_kit_history *h, const char ***out) {
  const char **keys = malloc((h->len + 1) * sizeof *keys);
  size_t n = 0;
  for (size_t k = 0; k < h->len; k++) {
    size_t j = 0;
    while (j < n && strcmp(keys[j], h->ops[k].key)) j++;
    if (j == n) keys[n++] = h->ops[k].key;
  }
  *out = keys;
  return n;
}

static bool is(const nodus_kit_op *op, const char *type) {
  return op && !strcmp(op->type, type);
}

/* ---- singleton ----------------------------------------------------------- */

typedef struct hold {
  int process;
  int64_t from, to;
} hold;

int nodus_kit_check_singleton(const nodus_kit_history *h, int64_t allowance_ns,
                              char *msg, size_t size) {
  const char **keys;
  size_t nkeys = keys_of(h, &keys);
  int verdict = 0;
  int64_t worst = 0;
  snprintf(msg, size, "ok: %zu keys, no overlap beyond %lld ns", nkeys,
           (long long)allowance_ns);
  for (size_t kk = 0; kk < nkeys; kk++) {
    size_t n;
    op_pair *p = pair_ops(h, keys[kk], &n);
    hold *holds = calloc(n + 1, sizeof *holds);
    size_t nh = 0;
    /* A process surely holds the name from its acquire's ok until it
     * invokes a release that succeeded or may have (ok, info). */
    for (size_t k = 0; k < n; k++) {
      if (strcmp(p[k].call->f, "acquire") || !is(p[k].done, "ok")) continue;
      hold hd = {p[k].call->process, p[k].done->time_ns, INF_NS};
      for (size_t j = k + 1; j < n; j++)
        if (p[j].call->process == hd.process &&
            !strcmp(p[j].call->f, "release") && !is(p[j].done, "fail")) {
          hd.to = p[j].call->time_ns;
          break;
        }
      holds[nh++] = hd;
    }
    for (size_t a = 0; a < nh; a++)
      for (size_t b = a + 1; b < nh; b++) {
        if (holds[a].process == holds[b].process) continue;
        int64_t from = holds[a].from > holds[b].from ? holds[a].from
                                                     : holds[b].from;
        int64_t to = holds[a].to < holds[b].to ? holds[a].to : holds[b].to;
        int64_t overlap = to == INF_NS ? INF_NS : to - from;
        if (to > from && overlap > allowance_ns && overlap > worst) {
          worst = overlap;
          verdict = 1;
          if (to == INF_NS)
            snprintf(msg, size,
                     "violation: key %s held by processes %d and %d at once "
                     "from t=%lld until the end",
                     keys[kk], holds[a].process, holds[b].process,
                     (long long)from);
          else
            snprintf(msg, size,
                     "violation: key %s held by processes %d and %d at once "
                     "for %.3f ms from t=%lld (allowance %.3f ms)",
                     keys[kk], holds[a].process, holds[b].process,
                     (double)overlap / 1e6, (long long)from,
                     (double)allowance_ns / 1e6);
        }
      }
    free(holds);
    free(p);
  }
  free(keys);
  return verdict;
}

/* ---- linearizability: Wing & Gong's search, Lowe's memoization ------------ */

typedef struct reg { bool has; int64_t v; } reg;

typedef struct entry {
  struct entry *prev, *next, *match; /* call <-> return */
  int id;                            /* op index; return entries too */
  bool is_call;
} entry;

typedef struct lin_op {
  char f;          /* 'r' read, 'w' write, 'c' cas */
  bool info;       /* outcome unknown: may be linearized, need not be */
  reg arg, expect; /* write/cas value, cas expected */
  reg result;      /* read result */
} lin_op;

/* Applies op to *s; false when the op cannot take effect in state *s. */
static bool step(const lin_op *op, reg *s) {
  switch (op->f) {
  case 'r':
    return s->has == op->result.has && (!s->has || s->v == op->result.v);
  case 'w':
    *s = op->arg;
    return true;
  default:
    if (s->has != op->expect.has || (s->has && s->v != op->expect.v))
      return false;
    *s = op->arg;
    return true;
  }
}

/* The memo: (set of linearized ops, register state) already explored. */
typedef struct memo {
  size_t words, cap, len;
  uint64_t *keys; /* cap slots of words+2 */
} memo;

static uint64_t memo_hash(const uint64_t *k, size_t words) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < words + 2; i++) h = (h ^ k[i]) * 1099511628211ULL;
  return h;
}

static bool memo_insert(memo *m, const uint64_t *bits, reg s);

static void memo_grow(memo *m) {
  memo old = *m;
  m->cap = old.cap ? old.cap * 2 : 1024;
  m->len = 0;
  m->keys = calloc(m->cap * (m->words + 3), sizeof *m->keys);
  size_t slot = m->words + 3;
  for (size_t i = 0; i < old.cap; i++) {
    uint64_t *k = old.keys + i * slot;
    if (k[0]) memo_insert(m, k + 1, (reg){k[m->words + 1] != 0, (int64_t)k[m->words + 2]});
  }
  free(old.keys);
}

/* Slot layout: [used, bits..., has, v]. True when newly inserted. */
static bool memo_insert(memo *m, const uint64_t *bits, reg s) {
  if ((m->len + 1) * 2 > m->cap) memo_grow(m);
  size_t slot = m->words + 3;
  uint64_t key[m->words + 2];
  memcpy(key, bits, m->words * sizeof *bits);
  key[m->words] = s.has;
  key[m->words + 1] = s.has ? (uint64_t)s.v : 0;
  for (size_t i = memo_hash(key, m->words) % m->cap;; i = (i + 1) % m->cap) {
    uint64_t *k = m->keys + i * slot;
    if (!k[0]) {
      k[0] = 1;
      memcpy(k + 1, key, (m->words + 2) * sizeof *key);
      m->len++;
      return true;
    }
    if (!memcmp(k + 1, key, (m->words + 2) * sizeof *key)) return false;
  }
}

static void lift(entry *e) {
  e->prev->next = e->next;
  if (e->next) e->next->prev = e->prev;
  if (e->match) {
    entry *r = e->match;
    r->prev->next = r->next;
    if (r->next) r->next->prev = r->prev;
  }
}

static void unlift(entry *e) {
  if (e->match) {
    entry *r = e->match;
    r->prev->next = r;
    if (r->next) r->next->prev = r;
  }
  e->prev->next = e;
  if (e->next) e->next->prev = e;
}

typedef struct ev { int64_t t; int id; bool is_call; } ev;

static int ev_cmp(const void *a, const void *b) {
  const ev *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  /* Calls before returns at the same instant: ops that touch in time are
   * concurrent, the permissive reading. */
  return (int)y->is_call - (int)x->is_call;
}

/* 0 linearizable, 1 not, <0 error. */
static int check_key(const op_pair *p, size_t n, char *why, size_t size) {
  lin_op *ops = calloc(n + 1, sizeof *ops);
  ev *evs = calloc(2 * n + 1, sizeof *evs);
  size_t nops = 0, nev = 0;
  for (size_t k = 0; k < n; k++) {
    const nodus_kit_op *c = p[k].call, *d = p[k].done;
    lin_op o = {0};
    o.f = !strcmp(c->f, "read") ? 'r' : !strcmp(c->f, "write") ? 'w'
          : !strcmp(c->f, "cas") ? 'c' : 0;
    if (!o.f || is(d, "fail")) continue; /* fail: it did not happen */
    o.info = !d || is(d, "info");
    if (o.f == 'r' && o.info) continue; /* an unknown read constrains nothing */
    o.arg = (reg){c->has_value, c->value};
    o.expect = (reg){c->has_expect, c->expect};
    if (o.f == 'r') o.result = (reg){d->has_value, d->value};
    ops[nops] = o;
    evs[nev++] = (ev){c->time_ns, (int)nops, true};
    if (!o.info) evs[nev++] = (ev){d->time_ns, (int)nops, false};
    nops++;
  }
  qsort(evs, nev, sizeof *evs, ev_cmp);
  entry *es = calloc(nev + 1, sizeof *es), *call_of[nops + 1];
  entry head = {0};
  entry *prev = &head;
  for (size_t k = 0; k < nev; k++) {
    entry *e = &es[k];
    e->id = evs[k].id, e->is_call = evs[k].is_call;
    if (e->is_call) call_of[e->id] = e;
    else call_of[e->id]->match = e;
    e->prev = prev, prev->next = e, prev = e;
  }
  size_t must = 0; /* ops that must be linearized: the completed ones */
  for (size_t k = 0; k < nops; k++) must += !ops[k].info;

  memo m = {.words = (nops + 63) / 64};
  uint64_t bits[m.words + 1];
  memset(bits, 0, sizeof bits);
  struct frame { entry *e; reg s; } *stack = calloc(nops + 1, sizeof *stack);
  size_t depth = 0, done = 0;
  reg s = {false, 0};
  entry *e = head.next;
  int verdict = 0;
  size_t explored = 0;
  while (done < must) {
    if (++explored > 50000000) { verdict = NODUS_ETOOBIG; break; }
    if (!e) { /* only unlinearizable info calls left ahead: backtrack */
      if (!depth) { verdict = 1; break; }
      goto backtrack;
    }
    if (e->is_call) {
      reg s2 = s;
      if (step(&ops[e->id], &s2)) {
        bits[e->id / 64] |= (uint64_t)1 << (e->id % 64);
        if (memo_insert(&m, bits, s2)) {
          stack[depth++] = (struct frame){e, s};
          s = s2;
          done += !ops[e->id].info;
          lift(e);
          e = head.next;
          continue;
        }
        bits[e->id / 64] &= ~((uint64_t)1 << (e->id % 64));
      }
      e = e->next;
      continue;
    }
    /* A return whose op is not linearized yet: nothing before it fits. */
    if (!depth) { verdict = 1; break; }
  backtrack: {
      struct frame f = stack[--depth];
      unlift(f.e);
      bits[f.e->id / 64] &= ~((uint64_t)1 << (f.e->id % 64));
      done -= !ops[f.e->id].info;
      s = f.s;
      e = f.e->next;
    }
  }
  if (verdict == 1) {
    /* Name the first return that could not be explained. */
    entry *r = head.next;
    while (r && r->is_call) r = r->next;
    const lin_op *o = r ? &ops[r->id] : NULL;
    snprintf(why, size, "no linearization; stuck at a %s op (#%d)",
             !o ? "?" : o->f == 'r' ? "read" : o->f == 'w' ? "write" : "cas",
             r ? r->id : -1);
  }
  free(m.keys);
  free(stack);
  free(es);
  free(evs);
  free(ops);
  return verdict;
}

int nodus_kit_check_linearizable(const nodus_kit_history *h, char *msg,
                                 size_t size) {
  const char **keys;
  size_t nkeys = keys_of(h, &keys);
  int verdict = 0;
  snprintf(msg, size, "ok: %zu keys linearizable", nkeys);
  for (size_t k = 0; k < nkeys && !verdict; k++) {
    size_t n;
    op_pair *p = pair_ops(h, keys[k], &n);
    char why[200];
    int rc = check_key(p, n, why, sizeof why);
    free(p);
    if (rc == 1)
      snprintf(msg, size, "violation: key %s: %s", keys[k], why);
    else if (rc < 0)
      snprintf(msg, size, "key %s: search too large", keys[k]);
    verdict = rc;
  }
  free(keys);
  return verdict;
}

/* ---- convergence --------------------------------------------------------- */

int nodus_kit_check_converged(const nodus_kit_history *h, int64_t heal_ns,
                              int64_t bound_ns, char *msg, size_t size) {
  const char **keys;
  size_t nkeys = keys_of(h, &keys);
  int verdict = 0;
  int64_t slowest = 0;
  for (size_t kk = 0; kk < nkeys && !verdict; kk++) {
    /* Observations after the heal, in time order. */
    const nodus_kit_op **obs = malloc((h->len + 1) * sizeof *obs);
    size_t n = 0;
    for (size_t k = 0; k < h->len; k++) {
      const nodus_kit_op *o = &h->ops[k];
      if (!strcmp(o->key, keys[kk]) && !strcmp(o->f, "observe") &&
          is(o, "ok") && o->time_ns >= heal_ns)
        obs[n++] = o;
    }
    qsort(obs, n, sizeof *obs, by_time);
    if (n == 0) {
      free(obs);
      continue;
    }
    /* The final value, and the last instant anyone saw another one. */
    const nodus_kit_op *last = obs[n - 1];
    int64_t since = heal_ns;
    for (size_t k = n; k-- > 0;)
      if (obs[k]->has_value != last->has_value ||
          (last->has_value && obs[k]->value != last->value)) {
        since = obs[k]->time_ns + 1;
        break;
      }
    /* Everyone who observed after the heal must have been seen holding
     * the final value: converged when the last of them was. */
    int64_t at = since;
    for (size_t k = 0; k < n && !verdict; k++) {
      int64_t first = INF_NS;
      for (size_t j = 0; j < n && first == INF_NS; j++)
        if (obs[j]->process == obs[k]->process && obs[j]->time_ns >= since)
          first = obs[j]->time_ns;
      if (first == INF_NS) {
        verdict = 1;
        snprintf(msg, size,
                 "violation: key %s: process %d never observed the final "
                 "value (diverged until the end)",
                 keys[kk], obs[k]->process);
      } else if (first > at) {
        at = first;
      }
    }
    since = at;
    if (!verdict && since - heal_ns > bound_ns) {
      verdict = 1;
      snprintf(msg, size,
               "violation: key %s converged %.3f ms after heal, bound %.3f ms",
               keys[kk], (double)(since - heal_ns) / 1e6,
               (double)bound_ns / 1e6);
    }
    if (since - heal_ns > slowest) slowest = since - heal_ns;
    free(obs);
  }
  if (!verdict)
    snprintf(msg, size, "ok: %zu keys converged, slowest %.3f ms after heal",
             nkeys, (double)slowest / 1e6);
  free(keys);
  return verdict;
}

static int tick_order(const void *a, const void *b) {
  const nodus_kit_tick *x = a, *y = b;
  if (x->scheduled_ms != y->scheduled_ms) return x->scheduled_ms < y->scheduled_ms ? -1 : 1;
  return x->ran_ms < y->ran_ms ? -1 : x->ran_ms > y->ran_ms;
}

int nodus_kit_check_ticks(nodus_kit_tick *t, size_t n, int64_t max_gap_ms, int64_t from_ms,
                          int64_t to_ms, char *msg, size_t size) {
  if (n) qsort(t, n, sizeof *t, tick_order); /* t may be NULL when n is 0 */
  int64_t gap = 0, gap_at = 0;
  for (size_t i = 0; i < n; i++) {
    if (i && t[i].scheduled_ms == t[i - 1].scheduled_ms) {
      snprintf(msg, size, "violation: tick %lld ran twice (processes %d and %d, epochs %llu, %llu)",
               (long long)t[i].scheduled_ms, t[i - 1].process, t[i].process,
               (unsigned long long)t[i - 1].epoch, (unsigned long long)t[i].epoch);
      return 1;
    }
    if (i && (t[i].epoch < t[i - 1].epoch ||
              (t[i].epoch == t[i - 1].epoch && t[i].process != t[i - 1].process))) {
      snprintf(msg, size,
               "violation: tick %lld ran by process %d with epoch %llu after tick %lld by %d "
               "with epoch %llu (epochs must grow with each new owner)",
               (long long)t[i].scheduled_ms, t[i].process, (unsigned long long)t[i].epoch,
               (long long)t[i - 1].scheduled_ms, t[i - 1].process,
               (unsigned long long)t[i - 1].epoch);
      return 1;
    }
    int64_t d = i ? t[i].scheduled_ms - t[i - 1].scheduled_ms
                  : from_ms > 0 ? t[i].scheduled_ms - from_ms : 0;
    if (d > gap) gap = d, gap_at = t[i].scheduled_ms;
  }
  if (n && to_ms > 0 && to_ms - t[n - 1].scheduled_ms > gap)
    gap = to_ms - t[n - 1].scheduled_ms, gap_at = to_ms;
  if (!n && from_ms > 0 && to_ms > from_ms) gap = to_ms - from_ms, gap_at = to_ms;
  if (max_gap_ms > 0 && gap > max_gap_ms) {
    snprintf(msg, size, "violation: %lld ms without a tick, until %lld (bound %lld ms)",
             (long long)gap, (long long)gap_at, (long long)max_gap_ms);
    return 1;
  }
  snprintf(msg, size, "ok: %zu ticks, each once, epochs growing, longest gap %lld ms", n,
           (long long)gap);
  return 0;
}
