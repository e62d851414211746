/* global_kit_node: a C node of the :global cluster tests, driven by the
 * test kit as it drives any C node (stdin is the kit's FIFO, stdout its
 * log file).
 *
 *   global_kit_node --name NAME --cookie C [--ticktime S]
 *
 * It prints "#nodeup NODE" / "#nodedown NODE REASON" (the kit's lines) and
 * "global_kit_node NAME ready". Every stdin line "@ID CMD ARGS" runs on a
 * thread of its own (so a blocking trans never holds up a lookup) and is
 * answered by one line "@ID ANSWER". Names are Erlang terms; pids print as
 * PIDSTR, "node/id/serial/creation", the form the BEAM side (global_kit.erl)
 * prints too, so tables compare as text.
 *
 *   reg NAME exit|notify   a new holder process registers NAME (random_exit
 *                          or random_notify): "yes PIDSTR" | "no PIDSTR"
 *   whereis NAME           "PIDSTR" | "undefined"
 *   table                  "table N1=P1,N2=P2,..." sorted, this node's table
 *   sync MS                "ok" | "timeout"
 *   trans RES HOLD N HIST PROC
 *                          N times global:trans({RES, Requester}) around a
 *                          sleep of HOLD ms, each acquire and release put
 *                          in history file HIST as process PROC; "trans
 *                          OKS ABORTS" at the end
 *   quit
 *
 * Holders print "#msg PIDSTR TERM" for every message they get, and
 * "#down PIDSTR REASON" when they end (a watcher monitors them), so a
 * resolve's kill or {global_name_conflict, Name} shows in the log. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nodus.h>
#include <nodus/global.h>

#include "nodus_testkit.h"

static nodus_node *node;
static nodus_term watcher_pid;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&out_lock);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
  va_end(ap);
}

static void pidstr(const nodus_term *pid, char *buf, size_t size) {
  if (nodus_type_of(pid) != NODUS_T_PID) {
    snprintf(buf, size, "notapid");
    return;
  }
  const nodus_ident *id = pid->v.id;
  snprintf(buf, size, "%s/%u/%u/%u", nodus_atom_text(id->node, NULL), id->w[0],
           id->w[1], id->creation);
}

static char *text_of(const nodus_term *t) {
  char *s = NULL;
  size_t len;
  nodus_print_opts po = {0};
  nodus_atom_intern("-@-", 3, &po.local_node); /* every pid with its node */
  if (nodus_print(t, &po, &s, &len)) return strdup("?");
  return s;
}

/* ---- holders and the watcher ------------------------------------------ */

static void holder_msg(nodus_proc *self, const nodus_term *msg) {
  char p[200];
  pidstr(nodus_self(self), p, sizeof p);
  char *m = text_of(msg);
  say("#msg %s %s", p, m);
  free(m);
}

static void watcher_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *pid, *reason;
  if (nodus_match(msg, "{watch, ~t}", &pid) == 0) {
    nodus_term ref;
    if (nodus_monitor(self, pid, &ref) == 0) nodus_term_free(&ref);
  } else if (nodus_match(msg, "{'DOWN', _, process, ~t, ~t}", &pid, &reason) ==
             0) {
    char p[200];
    pidstr(pid, p, sizeof p);
    char *r = text_of(reason);
    say("#down %s %s", p, r);
    free(r);
  }
}

static const nodus_proc_spec holder_spec = {.on_message = holder_msg};
static const nodus_proc_spec quiet_spec = {.on_message = NULL};

/* ---- commands ----------------------------------------------------------- */

static int parse(const char *text, nodus_term *t) {
  return nodus_parse(text, strlen(text), NULL, t, NULL);
}

static char *word(char **s) {
  while (**s == ' ') (*s)++;
  if (!**s) return NULL;
  char *w = *s;
  while (**s && **s != ' ') (*s)++;
  if (**s) *(*s)++ = 0;
  return w;
}

static void cmd_reg(const char *id, char *args) {
  char *name_s = word(&args), *method = word(&args);
  nodus_term name, pid, watch;
  if (!name_s || parse(name_s, &name)) {
    say("%s error bad name", id);
    return;
  }
  nodus_global_opts o = {.method = method && !strcmp(method, "notify")
                                       ? NODUS_GLOBAL_RANDOM_NOTIFY
                                       : NODUS_GLOBAL_RANDOM_EXIT};
  int rc = nodus_spawn(node, &holder_spec, &pid);
  if (rc) {
    say("%s error spawn %s", id, nodus_strerror(rc));
    nodus_term_free(&name);
    return;
  }
  nodus_term pid2;
  nodus_copy(&pid2, &pid);
  if (nodus_build(&watch, "{watch, ~t}", pid2) == 0)
    nodus_send(node, &watcher_pid, watch);
  rc = nodus_global_register(node, &name, &pid, &o);
  char p[200];
  pidstr(&pid, p, sizeof p);
  if (rc == 0) say("%s yes %s", id, p);
  else if (rc == NODUS_EEXIST) say("%s no %s", id, p);
  else say("%s error %s %s", id, nodus_strerror(rc), p);
  nodus_term_free(&name);
  nodus_term_free(&pid);
}

static void cmd_whereis(const char *id, char *args) {
  char *name_s = word(&args);
  nodus_term name, pid;
  if (!name_s || parse(name_s, &name)) {
    say("%s error bad name", id);
    return;
  }
  int rc = nodus_global_whereis(node, &name, &pid);
  nodus_term_free(&name);
  if (rc) {
    say("%s undefined", id);
    return;
  }
  char p[200];
  pidstr(&pid, p, sizeof p);
  nodus_term_free(&pid);
  say("%s %s", id, p);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cmd_table(const char *id) {
  nodus_term names;
  int rc = nodus_global_names(node, &names);
  if (rc) {
    say("%s error %s", id, nodus_strerror(rc));
    return;
  }
  size_t n = nodus_type_of(&names) == NODUS_T_LIST ? nodus_size(&names) : 0;
  char **entries = calloc(n + 1, sizeof *entries);
  size_t k = 0, total = 16;
  for (size_t i = 0; i < n; i++) {
    const nodus_term *name = nodus_list_item(&names, i);
    nodus_term pid;
    if (nodus_global_whereis(node, name, &pid)) continue; /* gone meanwhile */
    char p[200];
    pidstr(&pid, p, sizeof p);
    nodus_term_free(&pid);
    char *t = text_of(name);
    if (asprintf(&entries[k], "%s=%s", t, p) > 0) total += strlen(entries[k++]) + 1;
    free(t);
  }
  qsort(entries, k, sizeof *entries, cmp_str);
  char *line = malloc(total);
  line[0] = 0;
  for (size_t i = 0; i < k; i++) {
    if (i) strcat(line, ",");
    strcat(line, entries[i]);
    free(entries[i]);
  }
  say("%s table %s", id, line);
  free(line);
  free(entries);
  nodus_term_free(&names);
}

typedef struct trans_ctx {
  FILE *hist;
  int proc, hold_ms;
  char key[64];
} trans_ctx;

static void record(trans_ctx *c, const char *type, const char *f) {
  nodus_kit_op op = {.time_ns = nodus_kit_now_ns(), .process = c->proc};
  snprintf(op.type, sizeof op.type, "%s", type);
  snprintf(op.f, sizeof op.f, "%s", f);
  snprintf(op.key, sizeof op.key, "%s", c->key);
  nodus_kit_history_record(c->hist, &op);
}

static int trans_body(void *arg) {
  trans_ctx *c = arg;
  record(c, "ok", "acquire");
  struct timespec ts = {c->hold_ms / 1000, (long)(c->hold_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
  record(c, "invoke", "release");
  record(c, "ok", "release"); /* the lock is still ours: before del_lock */
  return 0;
}

static void cmd_trans(const char *id, char *args) {
  char *res_s = word(&args), *hold = word(&args), *count = word(&args),
       *hist = word(&args), *proc = word(&args);
  if (!res_s || !hold || !count || !hist || !proc) {
    say("%s error usage", id);
    return;
  }
  trans_ctx c = {.hold_ms = atoi(hold), .proc = atoi(proc)};
  snprintf(c.key, sizeof c.key, "%s", res_s);
  c.hist = fopen(hist, "a");
  if (!c.hist) {
    say("%s error history", id);
    return;
  }
  setvbuf(c.hist, NULL, _IONBF, 0);
  nodus_term requester;
  int rc = nodus_spawn(node, &quiet_spec, &requester);
  int oks = 0, aborts = 0;
  for (int k = 0; !rc && k < atoi(count); k++) {
    nodus_term res, req, lock_id;
    if (parse(res_s, &res) || nodus_copy(&req, &requester) ||
        nodus_build(&lock_id, "{~t, ~t}", res, req)) {
      rc = NODUS_EINVAL;
      break;
    }
    record(&c, "invoke", "acquire");
    int r = nodus_global_trans(node, &lock_id, NULL, -1, trans_body, &c, NULL);
    nodus_term_free(&lock_id);
    if (r == 0) oks++;
    else {
      aborts++;
      record(&c, "fail", "acquire");
    }
  }
  fclose(c.hist);
  if (rc) say("%s error %s", id, nodus_strerror(rc));
  else say("%s trans %d %d", id, oks, aborts);
  nodus_term_free(&requester);
}

static void cmd_sync(const char *id, char *args) {
  char *ms = word(&args);
  int rc = nodus_global_sync(node, ms ? atoi(ms) : -1);
  say("%s %s", id, rc == 0 ? "ok" : rc == NODUS_ETIMEDOUT ? "timeout" : "error");
}

static void *run_cmd(void *arg) {
  char *line = arg, *args = line;
  char *id = word(&args), *op = word(&args);
  if (!id || id[0] != '@' || !op) {
    free(line);
    return NULL;
  }
  if (!strcmp(op, "reg")) cmd_reg(id, args);
  else if (!strcmp(op, "whereis")) cmd_whereis(id, args);
  else if (!strcmp(op, "table")) cmd_table(id);
  else if (!strcmp(op, "sync")) cmd_sync(id, args);
  else if (!strcmp(op, "trans")) cmd_trans(id, args);
  else say("%s error unknown command %s", id, op);
  free(line);
  return NULL;
}

static void on_node_event(nodus_node *n, const nodus_node_event *ev, void *arg) {
  (void)n, (void)arg;
  if (ev->up) say("#nodeup %s", nodus_atom_text(ev->node, NULL));
  else
    say("#nodedown %s %s", nodus_atom_text(ev->node, NULL),
        nodus_atom_text(ev->reason, NULL));
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--name") && v) opts.name = v, i++;
    else if (!strcmp(a, "--cookie") && v) opts.cookie = v, i++;
    else if (!strcmp(a, "--ticktime") && v)
      opts.net_ticktime_ms = (unsigned)atoi(v) * 1000, i++;
    else {
      fprintf(stderr, "global_kit_node: bad option '%s'\n", a);
      return 2;
    }
  }
  nodus_node_events *events;
  nodus_proc_spec w = {.on_message = watcher_msg};
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_events_subscribe(node, 0, on_node_event, NULL, &events);
  if (!rc) rc = nodus_spawn(node, &w, &watcher_pid);
  if (!rc) rc = nodus_node_start(node);
  if (rc) {
    fprintf(stderr, "global_kit_node: %s\n", nodus_strerror(rc));
    return 1;
  }
  say("global_kit_node %s ready", nodus_atom_text(nodus_node_name(node), NULL));
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!strcmp(line, "quit")) break;
    pthread_t t;
    char *copy = strdup(line);
    if (pthread_create(&t, NULL, run_cmd, copy) == 0) pthread_detach(t);
    else free(copy);
  }
  free(line);
  nodus_node_close(node);
  return 0;
}
