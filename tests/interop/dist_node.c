/* dist_node: a nodus node the interop tests drive over stdin/stdout.
 *
 *   dist_node --name NAME [--cookie C] [--epmd-port P] [--ticktime-ms MS]
 *             [--hidden] [--atom-headroom N] [--max-new-atoms N]
 *             [--max-message BYTES] [--max-fragmented N]
 *             [--fragment-timeout-ms MS]
 *
 * --atom-headroom N sets the process's atom table limit to the atoms
 * there are once the node is up, plus N (a small table for the atom
 * flood test); the others are the nodus_node_opts limits.
 *
 * It runs two registered processes and one spawnable function:
 *   echo   {From, X} -> {echo, X}; {'$gen_call', From, X} (gen_server:call)
 *          -> replies {echo, X}; {exit, R} ends it with R; stop ends it
 *          normally; {link, Pid} links it to Pid.
 *   agent  traps exits; whatever it receives is what `expect` and `recv`
 *          see, and the commands below act as it (send, link, monitor...).
 *   nodus_test:echo_proc([]) for erlang:spawn_request: an unregistered echo.
 *
 * One command per line on stdin; one line per event on stdout, flushed.
 * Terms are Erlang syntax. As in Erlang, a word starting with an uppercase
 * letter is a variable: in a command it stands for its value; in an
 * `expect` pattern it binds when unbound and must be equal when bound.
 * `Self` is the agent's pid.
 *
 *   ping NODE [MS]         pong NODE | pang NODE CODE (NODUS_EAUTH: cookie)
 *   nodes                  nodes [Node, ...]
 *   set VAR TERM           ok
 *   send TO TERM           ok            (TO: pid, name or {Name,Node})
 *   link PID | unlink PID  ok
 *   exit PID REASON        ok            (exit/2)
 *   monitor VAR TARGET     ok            (VAR := the monitor reference)
 *   demonitor REF          ok
 *   monitor_node NODE      ok            ({nodeup|nodedown, N} to agent)
 *   spawn_echo VAR         ok PID        (a new unregistered echo)
 *   spawn_request VAR NODE MOD FUN ARGS [link] [monitor]
 *                          ok REF        (nodus_spawn_request as the agent;
 *                                         VAR := ReqId; the reply comes to
 *                                         the agent as a message)
 *   bigbin VAR BYTES       ok            (a binary of pseudo-random bytes)
 *   crc VAR BINARY         crc N         (VAR := erlang:crc32(BINARY), or
 *                                         it must already equal that)
 *   expect MS PATTERN      got TERM | timeout   (selective receive)
 *   recv MS                got TERM | timeout
 *   atoms                  atoms count=N limit=L reserve=R refused=F
 *                                        (nodus_atom_stats)
 *   nest VAR KIND DEPTH    ok            (VAR := a term nested DEPTH deep:
 *                                         KIND list [[...[]]], tuple
 *                                         {{...{}}} or map #{a => #{...}})
 *   shape VAR              shape depth=D terms=T atoms=A (the nesting
 *                                         depth, every subterm, atom
 *                                         leaves; without recursion)
 * :global (include/nodus/global.h), NAME any term, PID a pid (a variable):
 *   global_register NAME PID     yes | no      (nodus_global_register)
 *   global_re_register NAME PID  yes
 *   global_unregister NAME       ok
 *   global_whereis NAME          pid PID | undefined   (this node's table)
 *   global_names                 names [NAME, ...]
 *   global_send NAME TERM        ok | badarg   (nodus_global_send)
 *   global_sync MS               ok | timeout
 *   trans RESOURCE MS [RETRIES]  nodus_global_trans with id {RESOURCE,
 *                                Self} on every connected node (RETRIES
 *                                default infinity) around a sleep of MS:
 *                                `trans_begin T` when it holds the lock,
 *                                `trans_end T` before it lets go (T: this
 *                                machine's CLOCK_MONOTONIC in ms, the same
 *                                clock in every dist_node), or
 *                                `trans_aborted` when the lock was not set.
 *                                Blocks the command line meanwhile.
 *   quit                   (also at end of input)
 * A command that fails answers `error CMD: why`.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <nodus.h>
#include <nodus/global.h>

#define MAX_VARS 64
#define MAX_HOLES 8
#define VAR_NAME_MAX 32
#define MAX_PRINT 400            /* longer printed terms are cut */
#define MAX_PRINT_ETF (1u << 20) /* bigger terms are not printed at all */
#define CMD_ATOM "$dist_node_cmd"

static nodus_node *node;
static nodus_mailbox *inbox;   /* where the agent forwards what it gets */
static nodus_term agent_pid;

/* ---- output ------------------------------------------------------------ */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static void say_term(const char *what, const nodus_term *t) {
  nodus_print_opts po = {.local_node = nodus_node_name(node)};
  char *text = NULL;
  size_t len = 0;
  if (nodus_etf_size(t, NULL, &len) == 0 && len > MAX_PRINT_ETF) {
    say("%s (a term of %zu bytes in ETF)", what, len); /* printing: slow */
    return;
  }
  if (nodus_print(t, &po, &text, &len)) {
    say("%s <unprintable>", what);
    return;
  }
  if (len > MAX_PRINT) say("%s %.*s...", what, MAX_PRINT, text);
  else say("%s %s", what, text);
  free(text);
}

/* ---- variables --------------------------------------------------------- */

static struct {
  char name[VAR_NAME_MAX];
  nodus_term value;
} vars[MAX_VARS];
static int nvars;

static nodus_term *var_get(const char *name) {
  for (int i = 0; i < nvars; i++)
    if (!strcmp(vars[i].name, name)) return &vars[i].value;
  return NULL;
}

/* Binds or rebinds name to value (taken). */
static int var_set(const char *name, nodus_term value) {
  nodus_term *old = var_get(name);
  if (old) {
    nodus_term_free(old);
    *old = value;
    return 0;
  }
  if (nvars == MAX_VARS || strlen(name) >= VAR_NAME_MAX) {
    nodus_term_free(&value);
    return NODUS_ENOMEM;
  }
  snprintf(vars[nvars].name, VAR_NAME_MAX, "%s", name);
  vars[nvars++].value = value;
  return 0;
}

static bool is_var_name(const char *w) {
  return w[0] >= 'A' && w[0] <= 'Z' && strlen(w) < VAR_NAME_MAX;
}

/* ---- Erlang text with variables ------------------------------------------ */

static bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '@';
}

/* Copies a quoted atom or string starting at s[*i] (the quote) to out. */
static void copy_quoted(const char *s, size_t *i, char *out, size_t *o) {
  char q = s[(*i)++];
  out[(*o)++] = q;
  while (s[*i] && s[*i] != q) {
    if (s[*i] == '\\' && s[*i + 1]) out[(*o)++] = s[(*i)++];
    out[(*o)++] = s[(*i)++];
  }
  if (s[*i]) out[(*o)++] = s[(*i)++];
}

/* Rewrites text with each variable replaced by a ~t hole; names[] gets
 * the variables in order and `_Name` becomes `_`. Quoted atoms, strings,
 * $c characters, #Ref<...> and 16#FF are left alone. out holds 2x text. */
static int vars_to_holes(const char *s, char *out, char names[][VAR_NAME_MAX],
                         int *count) {
  size_t i = 0, o = 0;
  *count = 0;
  while (s[i]) {
    char c = s[i];
    if (c == '\'' || c == '"') {
      copy_quoted(s, &i, out, &o);
    } else if (c == '$' && s[i + 1]) {
      out[o++] = s[i++];
      if (s[i] == '\\' && s[i + 1]) out[o++] = s[i++];
      out[o++] = s[i++];
    } else if (ident_char(c)) {
      size_t start = i;
      while (ident_char(s[i])) i++;
      size_t len = i - start;
      bool after_hash = start > 0 && s[start - 1] == '#';
      bool variable = !after_hash && (c == '_' || (c >= 'A' && c <= 'Z'));
      if (!variable) {
        memcpy(out + o, s + start, len);
        o += len;
      } else if (c == '_') {
        out[o++] = '_';
      } else {
        if (*count == MAX_HOLES || len >= VAR_NAME_MAX) return NODUS_ETOOBIG;
        memcpy(names[*count], s + start, len);
        names[(*count)++][len] = 0;
        memcpy(out + o, "~t", 2);
        o += 2;
      }
    } else {
      out[o++] = s[i++];
    }
  }
  out[o] = 0;
  return 0;
}

/* A term from text, variables replaced by their values. */
static int term_from_text(const char *text, nodus_term *out, const char **why) {
  char names[MAX_HOLES][VAR_NAME_MAX];
  int n;
  char *fmt = malloc(2 * strlen(text) + 1);
  if (!fmt) return NODUS_ENOMEM;
  int rc = vars_to_holes(text, fmt, names, &n);
  nodus_term v[MAX_HOLES] = {{0}};
  for (int i = 0; !rc && i < n; i++) {
    nodus_term *val = var_get(names[i]);
    if (!val) {
      *why = "unbound variable";
      rc = NODUS_EINVAL;
    } else {
      rc = nodus_copy(&v[i], val);
    }
  }
  if (rc) {
    for (int i = 0; i < n; i++) nodus_term_free(&v[i]);
  } else if (n == 0) {
    nodus_parse_opts po = {.local_node = nodus_node_name(node),
                           .local_creation = nodus_node_creation(node)};
    rc = nodus_parse(text, strlen(text), &po, out, NULL);
  } else { /* the unused trailing holes are NONE and not read */
    rc = nodus_build(out, fmt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
  }
  free(fmt);
  return rc;
}

/* A pattern compiled from text: the nodus_match format and its variables. */
typedef struct pattern {
  char *fmt;
  char names[MAX_HOLES][VAR_NAME_MAX];
  int n;
} pattern;

/* Matches like Erlang: bound variables must be equal (=:=), unbound ones
 * bind, but only when the whole pattern matches. */
static bool pattern_match(const pattern *p, const nodus_term *t) {
  const nodus_term *cap[MAX_HOLES] = {0};
  if (nodus_match(t, p->fmt, &cap[0], &cap[1], &cap[2], &cap[3], &cap[4],
                  &cap[5], &cap[6], &cap[7]))
    return false;
  for (int i = 0; i < p->n; i++) {
    const nodus_term *bound = var_get(p->names[i]);
    if (bound && !nodus_equal(bound, cap[i])) return false;
    for (int j = 0; j < i; j++) /* {X, X}: the same variable twice */
      if (!strcmp(p->names[i], p->names[j]) && !nodus_equal(cap[i], cap[j]))
        return false;
  }
  for (int i = 0; i < p->n; i++) {
    nodus_term copy;
    if (!var_get(p->names[i]) && !nodus_copy(&copy, cap[i]))
      var_set(p->names[i], copy);
  }
  return true;
}

/* ---- the selective receive ---------------------------------------------- */

/* Messages `expect` passed over, oldest first, as a receive leaves them. */
static struct saved {
  struct saved *next;
  nodus_term msg;
} *saved_head, **saved_tail = &saved_head;

static void save(nodus_term msg) {
  struct saved *s = malloc(sizeof *s);
  if (!s) {
    nodus_term_free(&msg);
    return;
  }
  s->msg = msg;
  s->next = NULL;
  *saved_tail = s;
  saved_tail = &s->next;
}

/* Takes the first saved message the pattern matches (any when p is NULL). */
static bool take_saved(const pattern *p, nodus_term *out) {
  for (struct saved **sp = &saved_head; *sp; sp = &(*sp)->next) {
    if (!p || pattern_match(p, &(*sp)->msg)) {
      struct saved *s = *sp;
      *out = s->msg;
      *sp = s->next;
      if (!*sp) saved_tail = sp;
      free(s);
      return true;
    }
  }
  return false;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* receive Pattern -> ... after ms: 0 and the message, or NODUS_ETIMEDOUT. */
static int receive(const pattern *p, int ms, nodus_term *out) {
  if (take_saved(p, out)) return 0;
  int64_t deadline = now_ms() + ms;
  for (;;) {
    int64_t left = deadline - now_ms();
    nodus_term msg;
    int rc = nodus_mailbox_recv(inbox, &msg, left > 0 ? (int)left : 0);
    if (rc) return rc;
    if (!p || pattern_match(p, &msg)) {
      *out = msg;
      return 0;
    }
    save(msg);
  }
}

/* ---- echo processes and the spawnable function ---------------------------- */

static void echo_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *a, *b;
  if (nodus_match(msg, "{exit, ~t}", &a) == 0) {
    nodus_exit(self, a);
  } else if (nodus_is_atom(msg, "stop")) {
    nodus_term normal;
    if (nodus_mk_atom(&normal, "normal") == 0) nodus_exit(self, &normal);
  } else if (nodus_match(msg, "{link, ~t}", &a) == 0) {
    nodus_link(self, a);
  } else if (nodus_match(msg, "{'$gen_call', ~t, ~t}", &a, &b) == 0) {
    nodus_term copy, reply;
    if (nodus_copy(&copy, b) == 0 && nodus_build(&reply, "{echo, ~t}", copy) == 0)
      nodus_gen_reply(self, a, reply);
  } else if (nodus_match(msg, "{~t, ~t}", &a, &b) == 0 &&
             nodus_type_of(a) == NODUS_T_PID) {
    nodus_term copy, reply;
    if (nodus_copy(&copy, b) == 0 && nodus_build(&reply, "{echo, ~t}", copy) == 0)
      nodus_send_from(self, a, reply);
  }
}

static const nodus_proc_spec echo_spec = {.on_message = echo_msg};

/* nodus_test:echo_proc(): takes no arguments, as the Erlang one would. */
static int spawn_echo_proc(nodus_node *n, const nodus_term *args,
                           nodus_proc_spec *spec) {
  if (nodus_type_of(args) != NODUS_T_NIL) return NODUS_EINVAL;
  *spec = echo_spec;
  return 0;
}

/* ---- the agent ------------------------------------------------------------ */

enum agent_op { OP_SEND, OP_LINK, OP_UNLINK, OP_EXIT, OP_MONITOR,
                OP_DEMONITOR, OP_MONITOR_NODE, OP_SPAWN_REQUEST };

/* The one command in flight: the stdin thread fills it, sends the agent
 * CMD_ATOM and waits; the agent runs it in its handler, as process calls
 * must be made. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool pending, done;
  enum agent_op op;
  nodus_term a, b; /* arguments (owned) */
  nodus_term result;
  int rc;
} cmd = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int agent_run(nodus_proc *self) {
  switch (cmd.op) {
    case OP_SEND: {
      nodus_term msg = cmd.b;
      cmd.b = (nodus_term){0};
      return nodus_send_from(self, &cmd.a, msg);
    }
    case OP_LINK: return nodus_link(self, &cmd.a);
    case OP_UNLINK: return nodus_unlink(self, &cmd.a);
    case OP_EXIT: return nodus_exit_signal(self, &cmd.a, &cmd.b);
    case OP_MONITOR: return nodus_monitor(self, &cmd.a, &cmd.result);
    case OP_DEMONITOR: return nodus_demonitor(self, &cmd.a);
    case OP_MONITOR_NODE:
      if (nodus_type_of(&cmd.a) != NODUS_T_ATOM) return NODUS_EBADTYPE;
      return nodus_monitor_node(self, cmd.a.v.atom, true);
    case OP_SPAWN_REQUEST: { /* a: Node, b: {Mod, Fun, Args, Flags} */
      nodus_atom mod, fun;
      const nodus_term *args;
      int64_t flags;
      if (nodus_type_of(&cmd.a) != NODUS_T_ATOM ||
          nodus_match(&cmd.b, "{~a, ~a, ~t, ~i}", &mod, &fun, &args, &flags))
        return NODUS_EBADTYPE;
      return nodus_spawn_request(self, cmd.a.v.atom, nodus_atom_text(mod, NULL),
                                 nodus_atom_text(fun, NULL), args,
                                 (unsigned)flags, &cmd.result);
    }
  }
  return NODUS_EINVAL;
}

static void agent_msg(nodus_proc *self, const nodus_term *msg) {
  if (nodus_is_atom(msg, CMD_ATOM)) {
    pthread_mutex_lock(&cmd.lock);
    if (cmd.pending) {
      cmd.rc = agent_run(self);
      cmd.pending = false;
      cmd.done = true;
      pthread_cond_signal(&cmd.cond);
    }
    pthread_mutex_unlock(&cmd.lock);
    return;
  }
  nodus_term copy;
  if (nodus_copy(&copy, msg) == 0)
    nodus_send_from(self, nodus_mailbox_pid(inbox), copy);
}

/* Runs op as the agent; a and b (NONE when unused) are taken. */
static int as_agent(enum agent_op op, nodus_term a, nodus_term b,
                    nodus_term *result) {
  pthread_mutex_lock(&cmd.lock);
  cmd.op = op;
  cmd.a = a;
  cmd.b = b;
  cmd.result = (nodus_term){0};
  cmd.pending = true;
  cmd.done = false;
  pthread_mutex_unlock(&cmd.lock);
  nodus_term wake;
  int rc = nodus_mk_atom(&wake, CMD_ATOM);
  if (!rc) rc = nodus_send(node, &agent_pid, wake);
  pthread_mutex_lock(&cmd.lock);
  while (!rc && !cmd.done) pthread_cond_wait(&cmd.cond, &cmd.lock);
  if (!rc) rc = cmd.rc;
  cmd.pending = false;
  nodus_term_free(&cmd.a);
  nodus_term_free(&cmd.b);
  if (result) *result = cmd.result;
  else nodus_term_free(&cmd.result);
  pthread_mutex_unlock(&cmd.lock);
  return rc;
}

/* ---- commands ------------------------------------------------------------ */

/* Splits off the first space-separated word of *rest; spaces inside
 * brackets and quotes don't split, so `{echo, 'a@b'}` is one word. */
static char *word(char **rest) {
  char *s = *rest;
  while (*s == ' ') s++;
  if (!*s) return NULL;
  char *w = s, quote = 0;
  int depth = 0;
  for (; *s && (*s != ' ' || depth > 0 || quote); s++) {
    if (quote) {
      if (*s == '\\' && s[1]) s++;
      else if (*s == quote) quote = 0;
    } else if (*s == '\'' || *s == '"') {
      quote = *s;
    } else if (strchr("{[(", *s) || (*s == '<' && s[1] == '<')) {
      depth++;
      if (*s == '<') s++;
    } else if (strchr("}])", *s) || (*s == '>' && s[1] == '>')) {
      depth--;
      if (*s == '>') s++;
    }
  }
  if (*s) *s++ = 0;
  while (*s == ' ') s++;
  *rest = s;
  return w;
}

static int node_atom(const char *text, nodus_atom *a) {
  return text ? nodus_atom_intern(text, strlen(text), a) : NODUS_EINVAL;
}

static int cmd_ping(char *args) {
  nodus_atom peer;
  const char *name = word(&args), *ms = word(&args);
  int rc = node_atom(name, &peer);
  if (rc) return rc;
  rc = nodus_node_ping(node, peer, ms ? atoi(ms) : 5000);
  if (rc) say("pang %s %s", name, nodus_err_name(rc));
  else say("pong %s", name);
  return 0;
}

static int cmd_nodes(void) {
  nodus_term list;
  int rc = nodus_node_list(node, &list);
  if (rc) return rc;
  say_term("nodes", &list);
  nodus_term_free(&list);
  return 0;
}

/* Commands of the form `op TERM [TERM]`, run as the agent. */
static int cmd_agent(enum agent_op op, char *args, const char **why) {
  char *first = word(&args);
  nodus_term a = {0}, b = {0};
  if (!first) return NODUS_EINVAL;
  int rc = term_from_text(first, &a, why);
  if (!rc && (op == OP_SEND || op == OP_EXIT)) rc = term_from_text(args, &b, why);
  if (rc) {
    nodus_term_free(&a);
    return rc;
  }
  rc = as_agent(op, a, b, NULL);
  if (!rc) say("ok");
  return rc;
}

static int cmd_monitor(char *args, const char **why) {
  char *var = word(&args);
  nodus_term target, ref;
  if (!var || !is_var_name(var)) return NODUS_EINVAL;
  int rc = term_from_text(args, &target, why);
  if (!rc) rc = as_agent(OP_MONITOR, target, (nodus_term){0}, &ref);
  if (!rc) rc = var_set(var, ref);
  if (!rc) say("ok");
  return rc;
}

static int cmd_spawn_request(char *args, const char **why) {
  char *var = word(&args), *where = word(&args), *mod = word(&args),
       *fun = word(&args), *list = word(&args), *flag;
  if (!var || !is_var_name(var) || !list) return NODUS_EINVAL;
  unsigned flags = 0;
  while ((flag = word(&args))) {
    if (!strcmp(flag, "link")) flags |= NODUS_SPAWN_LINK;
    else if (!strcmp(flag, "monitor")) flags |= NODUS_SPAWN_MONITOR;
    else return NODUS_EINVAL;
  }
  nodus_term node_t, mod_t, fun_t, args_t, b, ref;
  int rc = term_from_text(where, &node_t, why);
  if (rc) return rc;
  if ((rc = term_from_text(mod, &mod_t, why))) goto free_node;
  if ((rc = term_from_text(fun, &fun_t, why))) {
    nodus_term_free(&mod_t);
    goto free_node;
  }
  if ((rc = term_from_text(list, &args_t, why))) {
    nodus_term_free(&mod_t);
    nodus_term_free(&fun_t);
    goto free_node;
  }
  if ((rc = nodus_build(&b, "{~t, ~t, ~t, ~i}", mod_t, fun_t, args_t,
                        (int64_t)flags)))
    goto free_node;
  rc = as_agent(OP_SPAWN_REQUEST, node_t, b, &ref);
  if (!rc) {
    say_term("ok", &ref);
    rc = var_set(var, ref);
  }
  return rc;
free_node:
  nodus_term_free(&node_t);
  return rc;
}

static int cmd_set(char *args, const char **why) {
  char *var = word(&args);
  nodus_term t;
  if (!var || !is_var_name(var)) return NODUS_EINVAL;
  int rc = term_from_text(args, &t, why);
  if (!rc) rc = var_set(var, t);
  if (!rc) say("ok");
  return rc;
}

static int cmd_spawn_echo(char *args) {
  char *var = word(&args);
  nodus_term pid;
  if (!var || !is_var_name(var)) return NODUS_EINVAL;
  int rc = nodus_spawn(node, &echo_spec, &pid);
  if (!rc) {
    say_term("ok", &pid);
    rc = var_set(var, pid);
  }
  return rc;
}

static int cmd_bigbin(char *args) {
  char *var = word(&args), *size = word(&args);
  if (!var || !is_var_name(var) || !size) return NODUS_EINVAL;
  size_t n = strtoull(size, NULL, 10);
  uint8_t *data = malloc(n ? n : 1);
  if (!data) return NODUS_ENOMEM;
  uint32_t x = (uint32_t)now_ms() | 1; /* xorshift32: fast, not constant */
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data[i] = (uint8_t)x;
  }
  nodus_term bin;
  int rc = nodus_mk_binary(&bin, data, n);
  free(data);
  if (!rc) rc = var_set(var, bin);
  if (!rc) say("ok");
  return rc;
}

static int cmd_crc(char *args, const char **why) {
  char *var = word(&args);
  nodus_term bin;
  if (!var || !is_var_name(var)) return NODUS_EINVAL;
  int rc = term_from_text(args, &bin, why);
  if (rc) return rc;
  size_t n, bits;
  const uint8_t *data = nodus_bin_data(&bin, &n, &bits);
  if (!data || bits != 8 * n) {
    nodus_term_free(&bin);
    return NODUS_EBADTYPE;
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t off = 0; off < n; off += 1u << 20) {
    size_t chunk = n - off < (1u << 20) ? n - off : (1u << 20);
    crc = crc32(crc, data + off, (uInt)chunk);
  }
  nodus_term_free(&bin);
  nodus_term value = nodus_int((int64_t)crc);
  const nodus_term *bound = var_get(var);
  if (bound && !nodus_equal(bound, &value)) {
    *why = "crc differs from the bound value";
    return NODUS_ENOMATCH;
  }
  if (!bound) var_set(var, value);
  say("crc %lu", (unsigned long)crc);
  return 0;
}

static int cmd_expect(char *args, const char **why) {
  char *ms = word(&args);
  if (!ms || !*args) return NODUS_EINVAL;
  pattern p = {.fmt = malloc(2 * strlen(args) + 1)};
  if (!p.fmt) return NODUS_ENOMEM;
  int rc = vars_to_holes(args, p.fmt, p.names, &p.n);
  nodus_term msg;
  if (!rc) rc = receive(&p, atoi(ms), &msg);
  free(p.fmt);
  if (rc == NODUS_ETIMEDOUT) {
    say("timeout");
    return 0;
  }
  if (rc) return rc;
  say_term("got", &msg);
  nodus_term_free(&msg);
  return 0;
}

static int cmd_recv(char *args) {
  char *ms = word(&args);
  nodus_term msg;
  int rc = receive(NULL, ms ? atoi(ms) : 0, &msg);
  if (rc == NODUS_ETIMEDOUT) {
    say("timeout");
    return 0;
  }
  if (rc) return rc;
  say_term("got", &msg);
  nodus_term_free(&msg);
  return 0;
}

/* ---- :global ---------------------------------------------------------------- */

/* NAME and, when want_pid, PID (a term each) from args. */
static int global_args(char *args, bool want_pid, nodus_term *name,
                       nodus_term *pid, const char **why) {
  char *n = word(&args);
  if (!n || (want_pid && !*args)) return NODUS_EINVAL;
  int rc = term_from_text(n, name, why);
  if (rc || !want_pid) return rc;
  if ((rc = term_from_text(args, pid, why))) nodus_term_free(name);
  return rc;
}

static int cmd_global_register(char *args, bool re, const char **why) {
  nodus_term name, pid;
  int rc = global_args(args, true, &name, &pid, why);
  if (rc) return rc;
  rc = re ? nodus_global_re_register(node, &name, &pid, NULL)
          : nodus_global_register(node, &name, &pid, NULL);
  nodus_term_free(&name);
  nodus_term_free(&pid);
  if (rc == 0) say("yes");
  else if (rc == NODUS_EEXIST && !re) say("no");
  else return rc;
  return 0;
}

static int cmd_global_unregister(char *args, const char **why) {
  nodus_term name;
  int rc = global_args(args, false, &name, NULL, why);
  if (rc) return rc;
  rc = nodus_global_unregister(node, &name);
  nodus_term_free(&name);
  if (!rc) say("ok");
  return rc;
}

static int cmd_global_whereis(char *args, const char **why) {
  nodus_term name, pid;
  int rc = global_args(args, false, &name, NULL, why);
  if (rc) return rc;
  rc = nodus_global_whereis(node, &name, &pid);
  nodus_term_free(&name);
  if (rc == NODUS_ENOTFOUND) {
    say("undefined");
    return 0;
  }
  if (rc) return rc;
  say_term("pid", &pid);
  nodus_term_free(&pid);
  return 0;
}

static int cmd_global_names(void) {
  nodus_term names;
  int rc = nodus_global_names(node, &names);
  if (rc) return rc;
  say_term("names", &names);
  nodus_term_free(&names);
  return 0;
}

static int cmd_global_send(char *args, const char **why) {
  nodus_term name, msg;
  int rc = global_args(args, true, &name, &msg, why);
  if (rc) return rc;
  rc = nodus_global_send(node, &name, msg);
  nodus_term_free(&name);
  if (rc == NODUS_ENOTFOUND) say("badarg");
  else if (!rc) say("ok");
  return rc == NODUS_ENOTFOUND ? 0 : rc;
}

static int cmd_global_sync(char *args) {
  char *ms = word(&args);
  int rc = nodus_global_sync(node, ms ? atoi(ms) : -1);
  if (rc == NODUS_ETIMEDOUT) say("timeout");
  else if (!rc) say("ok");
  return rc == NODUS_ETIMEDOUT ? 0 : rc;
}

static int trans_body(void *arg) {
  int ms = *(int *)arg;
  say("trans_begin %lld", (long long)now_ms());
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
  say("trans_end %lld", (long long)now_ms());
  return 0;
}

static int cmd_trans(char *args, const char **why) {
  char *res = word(&args), *ms = word(&args), *retries = word(&args);
  if (!res || !ms) return NODUS_EINVAL;
  nodus_term resource, self, id;
  int rc = term_from_text(res, &resource, why);
  if (rc) return rc;
  if ((rc = nodus_copy(&self, &agent_pid))) {
    nodus_term_free(&resource);
    return rc;
  }
  if ((rc = nodus_build(&id, "{~t, ~t}", resource, self))) return rc;
  int sleep_ms = atoi(ms);
  rc = nodus_global_trans(node, &id, NULL, retries ? atoi(retries) : -1,
                          trans_body, &sleep_ms, NULL);
  nodus_term_free(&id);
  if (rc == NODUS_EBUSY) say("trans_aborted");
  return rc == NODUS_EBUSY ? 0 : rc;
}

/* ---- atoms and deep terms (issue 16) ------------------------------------- */

static int cmd_atoms(void) {
  nodus_atom_table_stats st;
  nodus_atom_stats(&st);
  say("atoms count=%zu limit=%zu reserve=%zu refused=%llu", st.count,
      st.limit, st.reserve, (unsigned long long)st.wire_refused);
  return 0;
}

/* Built from the inside out, so no step recurses. */
static int cmd_nest(char *args) {
  char *var = word(&args), *kind = word(&args), *depth = word(&args);
  if (!var || !is_var_name(var) || !kind || !depth) return NODUS_EINVAL;
  long n = atol(depth);
  bool list = !strcmp(kind, "list"), tuple = !strcmp(kind, "tuple"),
       map = !strcmp(kind, "map");
  if (n < 0 || !(list || tuple || map)) return NODUS_EINVAL;
  nodus_term t = list ? nodus_nil() : (nodus_term){0};
  int rc = 0;
  if (tuple) rc = nodus_mk_tuple(&t, 0);
  if (map) rc = nodus_mk_map(&t);
  for (long i = 0; i < n && !rc; i++) {
    nodus_term outer, key;
    if (list && !(rc = nodus_mk_list(&outer, 1))) nodus_list_set(&outer, 0, t);
    if (tuple && !(rc = nodus_mk_tuple(&outer, 1)))
      nodus_tuple_set(&outer, 0, t);
    if (map && !(rc = nodus_mk_map(&outer)) && !(rc = nodus_mk_atom(&key, "a")))
      rc = nodus_map_put(&outer, key, t);
    if (rc) nodus_term_free(&t); /* outer was never made, or took t */
    else t = outer;
  }
  if (!rc) rc = var_set(var, t);
  if (!rc) say("ok");
  return rc;
}

/* Depth, subterms and atom leaves of a term, with a stack of our own. */
static int cmd_shape(char *args, const char **why) {
  char *var = word(&args);
  const nodus_term *t = var ? var_get(var) : NULL;
  if (!t) {
    *why = "unbound variable";
    return NODUS_EINVAL;
  }
  typedef struct { const nodus_term *t; size_t depth; } item;
  size_t cap = 1024, n = 0, max_depth = 0, terms = 0, atoms = 0;
  item *stack = malloc(cap * sizeof *stack);
  if (!stack) return NODUS_ENOMEM;
  stack[n++] = (item){t, 1};
  while (n) {
    item it = stack[--n];
    terms++;
    if (it.depth > max_depth) max_depth = it.depth;
    if (it.t->type == NODUS_T_ATOM) atoms++;
    size_t kids = it.t->type == NODUS_T_TUPLE ? it.t->n
                  : it.t->type == NODUS_T_LIST ? (size_t)it.t->n + 1
                  : it.t->type == NODUS_T_MAP  ? 2 * (size_t)it.t->n
                                               : 0;
    if (n + kids > cap) {
      while (n + kids > cap) cap *= 2;
      item *s = realloc(stack, cap * sizeof *stack);
      if (!s) {
        free(stack);
        return NODUS_ENOMEM;
      }
      stack = s;
    }
    /* A list's tail is the same list going on, not a level deeper. */
    for (size_t i = 0; i < kids; i++)
      stack[n++] = (item){&it.t->v.items[i],
                          it.depth + !(it.t->type == NODUS_T_LIST &&
                                       i == it.t->n &&
                                       it.t->v.items[i].type == NODUS_T_NIL)};
  }
  free(stack);
  say("shape depth=%zu terms=%zu atoms=%zu", max_depth, terms, atoms);
  return 0;
}

/* Runs one line; false at quit. */
static bool run_line(char *line) {
  char *args = line, *op = word(&args);
  if (!op || op[0] == '#') return true;
  const char *why = NULL;
  int rc;
  if (!strcmp(op, "quit")) return false;
  else if (!strcmp(op, "ping")) rc = cmd_ping(args);
  else if (!strcmp(op, "nodes")) rc = cmd_nodes();
  else if (!strcmp(op, "set")) rc = cmd_set(args, &why);
  else if (!strcmp(op, "send")) rc = cmd_agent(OP_SEND, args, &why);
  else if (!strcmp(op, "link")) rc = cmd_agent(OP_LINK, args, &why);
  else if (!strcmp(op, "unlink")) rc = cmd_agent(OP_UNLINK, args, &why);
  else if (!strcmp(op, "exit")) rc = cmd_agent(OP_EXIT, args, &why);
  else if (!strcmp(op, "demonitor")) rc = cmd_agent(OP_DEMONITOR, args, &why);
  else if (!strcmp(op, "monitor_node")) rc = cmd_agent(OP_MONITOR_NODE, args, &why);
  else if (!strcmp(op, "monitor")) rc = cmd_monitor(args, &why);
  else if (!strcmp(op, "spawn_echo")) rc = cmd_spawn_echo(args);
  else if (!strcmp(op, "spawn_request")) rc = cmd_spawn_request(args, &why);
  else if (!strcmp(op, "bigbin")) rc = cmd_bigbin(args);
  else if (!strcmp(op, "crc")) rc = cmd_crc(args, &why);
  else if (!strcmp(op, "expect")) rc = cmd_expect(args, &why);
  else if (!strcmp(op, "recv")) rc = cmd_recv(args);
  else if (!strcmp(op, "atoms")) rc = cmd_atoms();
  else if (!strcmp(op, "nest")) rc = cmd_nest(args);
  else if (!strcmp(op, "shape")) rc = cmd_shape(args, &why);
  else if (!strcmp(op, "global_register")) rc = cmd_global_register(args, false, &why);
  else if (!strcmp(op, "global_re_register")) rc = cmd_global_register(args, true, &why);
  else if (!strcmp(op, "global_unregister")) rc = cmd_global_unregister(args, &why);
  else if (!strcmp(op, "global_whereis")) rc = cmd_global_whereis(args, &why);
  else if (!strcmp(op, "global_names")) rc = cmd_global_names();
  else if (!strcmp(op, "global_send")) rc = cmd_global_send(args, &why);
  else if (!strcmp(op, "global_sync")) rc = cmd_global_sync(args);
  else if (!strcmp(op, "trans")) rc = cmd_trans(args, &why);
  else {
    rc = NODUS_EINVAL;
    why = "unknown command";
  }
  if (rc) say("error %s: %s", op, why ? why : nodus_strerror(rc));
  return true;
}

/* ---- main ------------------------------------------------------------------ */

static size_t atom_headroom; /* --atom-headroom; 0: leave the limit */

static int start(const nodus_node_opts *opts) {
  nodus_proc_spec echo = echo_spec, agent = {.on_message = agent_msg,
                                             .register_name = "agent",
                                             .trap_exit = true};
  echo.register_name = "echo";
  int rc = nodus_node_init(opts, &node);
  if (rc) return rc;
  if (atom_headroom &&
      (rc = nodus_atom_set_limit(nodus_atom_count() + atom_headroom)))
    return rc;
  if ((rc = nodus_spawn(node, &echo, NULL)) ||
      (rc = nodus_spawn(node, &agent, &agent_pid)) ||
      (rc = nodus_register_spawn(node, "nodus_test", "echo_proc",
                                 spawn_echo_proc)) ||
      (rc = nodus_node_start(node)) ||
      (rc = nodus_mailbox_open(node, &inbox)))
    return rc;
  nodus_term self;
  if ((rc = nodus_copy(&self, &agent_pid)) || (rc = var_set("Self", self)))
    return rc;
  say("ready %s %d", nodus_atom_text(nodus_node_name(node), NULL),
      nodus_node_port(node));
  return 0;
}

static void stop(void) {
  nodus_term msg;
  while (take_saved(NULL, &msg)) nodus_term_free(&msg);
  for (int i = 0; i < nvars; i++) nodus_term_free(&vars[i].value);
  nodus_mailbox_close(inbox);
  nodus_term_free(&agent_pid);
  nodus_node_close(node);
}

int main(int argc, char **argv) {
  nodus_node_opts opts = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--name") && v) opts.name = v, i++;
    else if (!strcmp(a, "--cookie") && v) opts.cookie = v, i++;
    else if (!strcmp(a, "--epmd-port") && v) opts.epmd_port = atoi(v), i++;
    else if (!strcmp(a, "--ticktime-ms") && v)
      opts.net_ticktime_ms = (unsigned)atoi(v), i++;
    else if (!strcmp(a, "--hidden")) opts.hidden = true;
    else if (!strcmp(a, "--atom-headroom") && v)
      atom_headroom = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--max-new-atoms") && v)
      opts.max_new_atoms = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--max-message") && v)
      opts.max_message = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--max-fragmented") && v)
      opts.max_fragmented = (unsigned)atoi(v), i++;
    else if (!strcmp(a, "--fragment-timeout-ms") && v)
      opts.fragment_timeout_ms = (unsigned)atoi(v), i++;
    else {
      fprintf(stderr, "dist_node: bad option '%s' (see the source)\n", a);
      return 2;
    }
  }
  int rc = start(&opts);
  if (rc) {
    fprintf(stderr, "dist_node: %s\n", nodus_strerror(rc));
    if (node) stop();
    return 1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!run_line(line)) break;
  }
  free(line);
  stop();
  return 0;
}
