/* Supervisor semantics on one node, with crashing C children: what each
 * strategy restarts, transient and temporary children, restart intensity
 * (the supervisor exits with shutdown after stopping its children, last
 * first), ordered shutdown with a child that ignores `shutdown` and is
 * killed after its shutdown time, the child API (start, terminate,
 * restart, delete, which/count), dynamic children, a failing start,
 * nested supervisors, and local tasks under a C task supervisor. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nodus.h"
#include "nodus/supervisor.h"
#include "nodus/task.h"

static nodus_node *node;

/* ---- an event log the children write to ---------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[4096];

static void event(const char *fmt, const char *a, const char *b) {
  pthread_mutex_lock(&log_lock);
  size_t n = strlen(events);
  snprintf(events + n, sizeof events - n, fmt, a, b);
  pthread_mutex_unlock(&log_lock);
}

static void events_clear(void) {
  pthread_mutex_lock(&log_lock);
  events[0] = 0;
  pthread_mutex_unlock(&log_lock);
}

static bool events_have(const char *want) {
  pthread_mutex_lock(&log_lock);
  bool ok = strstr(events, want) != NULL;
  pthread_mutex_unlock(&log_lock);
  return ok;
}

static bool eventually_events(const char *want, int ms) {
  for (int i = 0; i < ms / 5; i++) {
    if (events_have(want)) return true;
    usleep(5000);
  }
  fprintf(stderr, "  events: %s\n  wanted: %s\n", events, want);
  return false;
}

/* ---- a worker: {crash, Reason} ends it; "stubborn" ones trap exits and
 * ignore shutdown, so only kill stops them ---------------------------------- */

struct worker {
  char name[32];
};

static void worker_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *r;
  if (nodus_match(msg, "{crash, ~t}", &r) == 0) nodus_exit(self, r);
}

static void worker_exit(nodus_proc *self, const nodus_term *reason) {
  struct worker *w = nodus_proc_state(self);
  char *text = NULL;
  nodus_print(reason, NULL, &text, NULL);
  event("stop:%s:%s ", w->name, text ? text : "?");
  free(text);
  free(w);
}

static int worker_start(nodus_proc *sup, const nodus_term *args, void *arg,
                        nodus_term *pid, nodus_term *reason) {
  struct worker *w = calloc(1, sizeof *w);
  if (!w) return NODUS_ENOMEM;
  snprintf(w->name, sizeof w->name, "%s", (const char *)arg);
  /* dynamic children name themselves after their first extra argument */
  const nodus_term *first = nodus_list_item(args, 0);
  if (first && first->type == NODUS_T_ATOM)
    snprintf(w->name, sizeof w->name, "%s", nodus_atom_text(first->v.atom, NULL));
  nodus_proc_spec spec = {.on_message = worker_msg,
                          .on_exit = worker_exit,
                          .state = w,
                          .trap_exit = !strncmp(w->name, "stubborn", 8)};
  int rc = nodus_spawn_from(sup, &spec, true, pid);
  if (rc) free(w);
  else event("start:%s%s ", w->name, "");
  return rc;
}

static int failing_start(nodus_proc *sup, const nodus_term *args, void *arg,
                         nodus_term *pid, nodus_term *reason) {
  return NODUS_EINVAL;
}

/* A start that fails with a reason of its own. */
static int refusing_start(nodus_proc *sup, const nodus_term *args, void *arg,
                          nodus_term *pid, nodus_term *reason) {
  nodus_mk_atom(reason, "no_database");
  return NODUS_EINVAL;
}

static nodus_term atom(const char *s) {
  nodus_term t;
  nodus_mk_atom(&t, s);
  return t;
}

/* The pid of child `id` (or NONE), from which_children. */
static nodus_term child_pid(const nodus_term *sup, const char *id) {
  nodus_term kids = {0}, out = {0};
  if (nodus_supervisor_which_children(node, sup, &kids)) return out;
  for (size_t i = 0; kids.type == NODUS_T_LIST && i < kids.n; i++) {
    const nodus_term *k = &kids.v.items[i];
    if (nodus_is_atom(&k->v.items[0], id)) nodus_copy(&out, &k->v.items[1]);
  }
  nodus_term_free(&kids);
  return out;
}

static void crash(const nodus_term *pid, const char *reason) {
  nodus_term msg;
  nodus_build(&msg, "{crash, ~a}", reason);
  nodus_send(node, pid, msg);
}

/* Waits until child id has a pid other than `old`. */
static nodus_term new_pid(const nodus_term *sup, const char *id,
                          const nodus_term *old) {
  for (int i = 0; i < 400; i++) {
    nodus_term p = child_pid(sup, id);
    if (p.type == NODUS_T_PID && !nodus_equal(&p, old)) return p;
    nodus_term_free(&p);
    usleep(5000);
  }
  return (nodus_term){0};
}

#define CHILD(name, restart_)                                               \
  {.id = name, .start = worker_start, .arg = (void *)name, .restart = restart_}

static void test_strategy(int strategy, const char *label, bool a_restarts,
                          bool c_restarts) {
  nodus_child_spec kids[] = {CHILD("a", NODUS_PERMANENT),
                             CHILD("b", NODUS_PERMANENT),
                             CHILD("c", NODUS_PERMANENT)};
  nodus_sup_spec spec = {.strategy = strategy, .intensity = 5,
                         .period_ms = 5000, .children = kids, .n_children = 3};
  nodus_term sup = {0};
  events_clear();
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, NULL), 0);
  CHECK(events_have("start:a start:b start:c "));
  nodus_term a = child_pid(&sup, "a"), b = child_pid(&sup, "b"),
             c = child_pid(&sup, "c");
  CHECK(a.type == NODUS_T_PID && b.type == NODUS_T_PID && c.type == NODUS_T_PID);
  events_clear();
  crash(&b, "boom");
  nodus_term b2 = new_pid(&sup, "b", &b);
  CHECK(b2.type == NODUS_T_PID);
  if (!strcmp(label, "one_for_all"))
    CHECK(eventually_events("stop:b:boom stop:c:shutdown stop:a:shutdown "
                            "start:a start:b start:c ", 2000));
  if (!strcmp(label, "rest_for_one"))
    CHECK(eventually_events("stop:b:boom stop:c:shutdown start:b start:c ",
                            2000));
  if (!strcmp(label, "one_for_one"))
    CHECK(eventually_events("stop:b:boom start:b ", 2000));
  nodus_term a2 = a_restarts ? new_pid(&sup, "a", &a) : child_pid(&sup, "a");
  nodus_term c2 = c_restarts ? new_pid(&sup, "c", &c) : child_pid(&sup, "c");
  CHECK(a2.type == NODUS_T_PID && nodus_equal(&a, &a2) == !a_restarts);
  CHECK(c2.type == NODUS_T_PID && nodus_equal(&c, &c2) == !c_restarts);
  int specs = 0, active = 0;
  CHECK_RC(nodus_supervisor_count_children(node, &sup, &specs, &active, NULL,
                                           NULL), 0);
  CHECK(specs == 3 && active == 3);
  /* ordered shutdown: last started first */
  events_clear();
  CHECK_RC(nodus_supervisor_stop(node, &sup, NULL), 0);
  CHECK(eventually_events("stop:c:shutdown stop:b:shutdown stop:a:shutdown ",
                          2000));
  nodus_term *all[] = {&sup, &a, &b, &c, &a2, &b2, &c2};
  for (size_t i = 0; i < 7; i++) nodus_term_free(all[i]);
}

/* A mailbox that watches a process and returns its DOWN reason. */
static bool down_reason_is(nodus_mailbox *mb, const char *want, int ms) {
  nodus_term m = {0};
  const nodus_term *r;
  bool ok = false;
  while (nodus_mailbox_recv(mb, &m, ms) == 0) {
    if (nodus_match(&m, "{'DOWN', _, process, _, ~t}", &r) == 0) {
      char *text = NULL;
      nodus_print(r, NULL, &text, NULL);
      ok = text && !strcmp(text, want);
      if (!ok) fprintf(stderr, "  DOWN reason %s, wanted %s\n", text, want);
      free(text);
      nodus_term_free(&m);
      break;
    }
    nodus_term_free(&m);
  }
  return ok;
}

static void test_restart_types(void) {
  nodus_child_spec kids[] = {CHILD("p", NODUS_PERMANENT),
                             CHILD("t", NODUS_TRANSIENT),
                             CHILD("tmp", NODUS_TEMPORARY)};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE, .intensity = 10,
                         .period_ms = 5000, .children = kids, .n_children = 3};
  nodus_term sup = {0};
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, NULL), 0);
  /* transient: normal is not restarted, a crash is */
  nodus_term t = child_pid(&sup, "t");
  crash(&t, "normal");
  for (int i = 0; i < 200; i++) {
    nodus_term p = child_pid(&sup, "t");
    bool gone = nodus_is_atom(&p, "undefined");
    nodus_term_free(&p);
    if (gone) break;
    usleep(5000);
  }
  nodus_term p = child_pid(&sup, "t");
  CHECK(nodus_is_atom(&p, "undefined"));
  nodus_term_free(&p);
  nodus_term t2 = {0};
  CHECK_RC(nodus_supervisor_restart_child(node, &sup, "t", &t2, NULL), 0);
  CHECK(t2.type == NODUS_T_PID);
  crash(&t2, "boom");
  nodus_term t3 = new_pid(&sup, "t", &t2);
  CHECK(t3.type == NODUS_T_PID);
  /* permanent: normal is restarted too */
  nodus_term pp = child_pid(&sup, "p");
  crash(&pp, "normal");
  nodus_term pp2 = new_pid(&sup, "p", &pp);
  CHECK(pp2.type == NODUS_T_PID);
  /* temporary: never restarted, and forgotten */
  nodus_term tmp = child_pid(&sup, "tmp");
  crash(&tmp, "boom");
  int specs = 0;
  for (int i = 0; i < 200; i++) {
    nodus_supervisor_count_children(node, &sup, &specs, NULL, NULL, NULL);
    if (specs == 2) break;
    usleep(5000);
  }
  CHECK(specs == 2);
  CHECK_RC(nodus_supervisor_stop(node, &sup, NULL), 0);
  nodus_term *all[] = {&sup, &t, &t2, &t3, &pp, &pp2, &tmp};
  for (size_t i = 0; i < 7; i++) nodus_term_free(all[i]);
}

static void gave_up(nodus_node *n, void *arg) {
  event("gave_up:%s%s ", (const char *)arg, "");
}

static void test_intensity(void) {
  nodus_child_spec kids[] = {CHILD("a", NODUS_PERMANENT),
                             CHILD("b", NODUS_PERMANENT),
                             CHILD("c", NODUS_PERMANENT)};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE, .intensity = 2,
                         .period_ms = 5000, .children = kids, .n_children = 3,
                         .on_give_up = gave_up, .give_up_arg = "top"};
  nodus_term sup = {0}, mref = {0};
  nodus_mailbox *mb;
  CHECK_RC(nodus_mailbox_open(node, &mb), 0);
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, NULL), 0);
  CHECK_RC(nodus_mailbox_monitor(mb, &sup, &mref), 0);
  nodus_term b = child_pid(&sup, "b");
  for (int i = 0; i < 2; i++) { /* two restarts are allowed */
    crash(&b, "boom");
    nodus_term b2 = new_pid(&sup, "b", &b);
    CHECK(b2.type == NODUS_T_PID);
    nodus_term_free(&b);
    b = b2;
  }
  events_clear();
  crash(&b, "boom"); /* the third within the period is one too many */
  CHECK(down_reason_is(mb, "shutdown", 3000));
  /* the program hears of it once its children are gone */
  CHECK(events_have("stop:b:boom stop:c:shutdown stop:a:shutdown "
                    "gave_up:top "));
  /* a supervisor that is stopped did not give up */
  nodus_term sup2 = {0};
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup2, NULL), 0);
  events_clear();
  CHECK_RC(nodus_supervisor_stop(node, &sup2, NULL), 0);
  CHECK(eventually_events("stop:a:shutdown ", 2000));
  usleep(50 * 1000);
  CHECK(!events_have("gave_up"));
  nodus_term_free(&sup2);
  nodus_term_free(&b);
  nodus_term_free(&sup);
  nodus_term_free(&mref);
  nodus_mailbox_close(mb);
}

static void test_ordered_shutdown_kill(void) {
  nodus_child_spec kids[] = {
      CHILD("a", NODUS_PERMANENT),
      {.id = "stubborn", .start = worker_start, .arg = "stubborn",
       .shutdown_ms = 300},
      CHILD("c", NODUS_PERMANENT)};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE, .children = kids,
                         .n_children = 3, .name = "stop_sup"};
  nodus_term sup = atom("stop_sup");
  CHECK_RC(nodus_supervisor_start(node, &spec, NULL, NULL), 0);
  events_clear();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_RC(nodus_supervisor_stop(node, &sup, NULL), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  CHECK(ms >= 250); /* waited for the stubborn child's shutdown time */
  CHECK(eventually_events(
      "stop:c:shutdown stop:stubborn:killed stop:a:shutdown ", 2000));
  nodus_term pid;
  CHECK_RC(nodus_whereis(node, "stop_sup", &pid), NODUS_ENOTFOUND);
}

static void test_child_api(void) {
  nodus_child_spec kids[] = {CHILD("a", NODUS_PERMANENT)};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE, .children = kids,
                         .n_children = 1};
  nodus_term sup = {0}, pid = {0};
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, NULL), 0);
  nodus_child_spec extra = CHILD("x", NODUS_PERMANENT);
  CHECK_RC(nodus_supervisor_start_child(node, &sup, &extra, &pid, NULL), 0);
  CHECK(pid.type == NODUS_T_PID);
  nodus_term_free(&pid);
  nodus_term none = {0};
  CHECK_RC(nodus_supervisor_start_child(node, &sup, &extra, NULL, &none),
           NODUS_EEXIST);
  CHECK(none.type == NODUS_T_NONE); /* a reason only with NODUS_EEXIT */
  nodus_term x = atom("x"), nope = atom("nope");
  events_clear();
  CHECK_RC(nodus_supervisor_terminate_child(node, &sup, &x), 0);
  CHECK(events_have("stop:x:shutdown"));
  CHECK_RC(nodus_supervisor_terminate_child(node, &sup, &nope), NODUS_ENOTFOUND);
  nodus_term kids_now = {0};
  CHECK_RC(nodus_supervisor_which_children(node, &sup, &kids_now), 0);
  char *text = NULL;
  nodus_print(&kids_now, NULL, &text, NULL);
  CHECK(text && strstr(text, "{x,undefined,worker,[]}") &&
        strstr(text, "{a,<"));
  free(text);
  nodus_term_free(&kids_now);
  CHECK_RC(nodus_supervisor_restart_child(node, &sup, "x", &pid, NULL), 0);
  CHECK_RC(nodus_supervisor_restart_child(node, &sup, "x", NULL, NULL),
           NODUS_ESTATE);
  CHECK_RC(nodus_supervisor_delete_child(node, &sup, "x"), NODUS_ESTATE);
  CHECK_RC(nodus_supervisor_terminate_child(node, &sup, &pid), 0);
  CHECK_RC(nodus_supervisor_delete_child(node, &sup, "x"), 0);
  CHECK_RC(nodus_supervisor_delete_child(node, &sup, "x"), NODUS_ENOTFOUND);
  nodus_term_free(&pid);
  /* a start that fails */
  nodus_child_spec bad = {.id = "bad", .start = failing_start};
  nodus_term reason = {0};
  pid = nodus_atom_term(NODUS_ATOM_OK); /* emptied by the call */
  CHECK_RC(nodus_supervisor_start_child(node, &sup, &bad, &pid, &reason),
           NODUS_EEXIT);
  CHECK(reason.type == NODUS_T_TUPLE && pid.type == NODUS_T_NONE);
  nodus_term_free(&reason);
  nodus_child_spec refusing = {.id = "refusing", .start = refusing_start};
  CHECK_RC(nodus_supervisor_start_child(node, &sup, &refusing, &pid, &reason),
           NODUS_EEXIT);
  CHECK(nodus_is_atom(&reason, "no_database") && pid.type == NODUS_T_NONE);
  nodus_term_free(&reason);
  CHECK_RC(nodus_supervisor_stop(node, &sup, NULL), 0);
  nodus_term_free(&sup);

  /* a supervisor whose second child fails to start */
  nodus_child_spec two[] = {CHILD("a", NODUS_PERMANENT), bad};
  nodus_sup_spec spec2 = {.strategy = NODUS_ONE_FOR_ONE, .children = two,
                          .n_children = 2};
  events_clear();
  nodus_term spid = {0};
  CHECK_RC(nodus_supervisor_start(node, &spec2, &spid, &reason), NODUS_EEXIT);
  CHECK(spid.type == NODUS_T_NONE); /* the reason has its own place */
  text = NULL;
  nodus_print(&reason, NULL, &text, NULL);
  CHECK(text && !strcmp(text, "{shutdown,{failed_to_start_child,bad,"
                              "{nodus_error,'NODUS_EINVAL'}}}"));
  free(text);
  nodus_term_free(&reason);
  CHECK(eventually_events("stop:a:shutdown", 2000));
}

static void test_dynamic(void) {
  nodus_child_spec tmpl = {.start = worker_start, .arg = "dyn",
                           .restart = NODUS_TRANSIENT};
  nodus_sup_spec spec = {.strategy = NODUS_SIMPLE_ONE_FOR_ONE,
                         .children = &tmpl, .n_children = 1,
                         .max_children = 2};
  nodus_term sup = {0}, p1 = {0}, p2 = {0}, args1, args2;
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, NULL), 0);
  nodus_build(&args1, "[d1]");
  nodus_build(&args2, "[d2]");
  events_clear();
  CHECK_RC(nodus_supervisor_start_dynamic(node, &sup, &args1, &p1, NULL), 0);
  CHECK_RC(nodus_supervisor_start_dynamic(node, &sup, &args2, &p2, NULL), 0);
  CHECK(events_have("start:d1 start:d2 "));
  CHECK_RC(nodus_supervisor_start_dynamic(node, &sup, &args2, NULL, NULL),
           NODUS_ERANGE);
  int active = 0;
  nodus_supervisor_count_children(node, &sup, NULL, &active, NULL, NULL);
  CHECK(active == 2);
  /* a crash restarts it with the same arguments */
  crash(&p1, "boom");
  CHECK(eventually_events("stop:d1:boom start:d1 ", 2000));
  CHECK_RC(nodus_supervisor_terminate_child(node, &sup, &p2), 0);
  nodus_term d1 = atom("d1");
  CHECK_RC(nodus_supervisor_terminate_child(node, &sup, &d1), NODUS_EINVAL);
  nodus_supervisor_count_children(node, &sup, NULL, &active, NULL, NULL);
  CHECK(active == 1);
  events_clear();
  CHECK_RC(nodus_supervisor_stop(node, &sup, NULL), 0);
  CHECK(eventually_events("stop:d1:shutdown", 2000));
  nodus_term *all[] = {&sup, &p1, &p2, &args1, &args2};
  for (size_t i = 0; i < 5; i++) nodus_term_free(all[i]);
}

/* A child supervisor that gives up makes its parent restart it. */
static nodus_child_spec inner_kids[] = {CHILD("ia", NODUS_PERMANENT)};
static int inner_start(nodus_proc *sup, const nodus_term *args, void *arg,
                       nodus_term *pid, nodus_term *reason) {
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE, .intensity = 0,
                         .period_ms = 1000, .children = inner_kids,
                         .n_children = 1};
  return nodus_supervisor_start_link(sup, &spec, pid, reason);
}

/* A child supervisor whose own child fails: the reason nests, as OTP's. */
static nodus_child_spec refusing_kids[] = {
    {.id = "ib", .start = refusing_start}};
static int refusing_inner_start(nodus_proc *sup, const nodus_term *args,
                                void *arg, nodus_term *pid,
                                nodus_term *reason) {
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE,
                         .children = refusing_kids, .n_children = 1};
  return nodus_supervisor_start_link(sup, &spec, pid, reason);
}

static void test_nested(void) {
  nodus_child_spec bad_kids[] = {CHILD("a", NODUS_PERMANENT),
                                 {.id = "inner", .start = refusing_inner_start,
                                  .type = NODUS_SUPERVISOR}};
  nodus_sup_spec bad_spec = {.strategy = NODUS_ONE_FOR_ONE,
                             .children = bad_kids, .n_children = 2};
  nodus_term bad_pid = {0}, why = {0};
  CHECK_RC(nodus_supervisor_start(node, &bad_spec, &bad_pid, &why),
           NODUS_EEXIT);
  CHECK(bad_pid.type == NODUS_T_NONE);
  char *text = NULL;
  nodus_print(&why, NULL, &text, NULL);
  CHECK(text && !strcmp(text, "{shutdown,{failed_to_start_child,inner,"
                              "{shutdown,{failed_to_start_child,ib,"
                              "no_database}}}}"));
  if (text && strcmp(text, "{shutdown,{failed_to_start_child,inner,"
                           "{shutdown,{failed_to_start_child,ib,"
                           "no_database}}}}"))
    fprintf(stderr, "  nested start failure: %s\n", text);
  free(text);
  nodus_term_free(&why);

  nodus_child_spec kids[] = {
      {.id = "inner", .start = inner_start, .type = NODUS_SUPERVISOR},
      CHILD("b", NODUS_PERMANENT)};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ONE, .intensity = 3,
                         .period_ms = 5000, .children = kids, .n_children = 2};
  nodus_term sup = {0};
  CHECK_RC(nodus_supervisor_start(node, &spec, &sup, NULL), 0);
  nodus_term inner = child_pid(&sup, "inner");
  CHECK(inner.type == NODUS_T_PID);
  nodus_term ia = child_pid(&inner, "ia");
  events_clear();
  crash(&ia, "boom"); /* intensity 0: the inner supervisor gives up */
  nodus_term inner2 = new_pid(&sup, "inner", &inner);
  CHECK(inner2.type == NODUS_T_PID);
  CHECK(eventually_events("stop:ia:boom start:ia ", 2000));
  events_clear();
  CHECK_RC(nodus_supervisor_stop(node, &sup, NULL), 0);
  CHECK(eventually_events("stop:b:shutdown stop:ia:shutdown ", 2000));
  nodus_term *all[] = {&sup, &inner, &ia, &inner2};
  for (size_t i = 0; i < 4; i++) nodus_term_free(all[i]);
}

/* ---- local tasks ---------------------------------------------------------- */

static int fn_add(nodus_node *n, const nodus_term *args, nodus_term *result,
                  void *arg) {
  int64_t a, b;
  if (nodus_match(args, "[~i, ~i]", &a, &b)) return NODUS_EINVAL;
  *result = nodus_int(a + b);
  return 0;
}

static int fn_sleep(nodus_node *n, const nodus_term *args, nodus_term *result,
                    void *arg) {
  usleep(400000);
  *result = nodus_atom_term(NODUS_ATOM_OK);
  return 0;
}

static void test_tasks(void) {
  CHECK_RC(nodus_register_function(node, "t", "add", fn_add, NULL), 0);
  CHECK_RC(nodus_register_function(node, "t", "sleep", fn_sleep, NULL), 0);
  CHECK_RC(nodus_task_supervisor_start(node, "tsup", NULL), 0);
  nodus_term sup = {0};
  nodus_build(&sup, "{tsup, ~A}", nodus_node_name(node));
  nodus_task *t;
  nodus_term r = {0}, args;
  nodus_build(&args, "[20, 22]");
  CHECK_RC(nodus_task_async(node, &sup, "t", "add", args, &t), 0);
  CHECK_RC(nodus_task_await(t, 5000, &r), 0);
  CHECK(r.type == NODUS_T_INT && r.v.i == 42);
  nodus_term_free(&r);
  nodus_build(&args, "[a, 1]");
  CHECK_RC(nodus_task_async(node, &sup, "t", "add", args, &t), 0);
  CHECK_RC(nodus_task_await(t, 5000, &r), NODUS_EEXIT);
  CHECK(nodus_match(&r, "{badarg, _}") == 0);
  nodus_term_free(&r);
  CHECK_RC(nodus_task_async(node, &sup, "t", "nope", nodus_nil(), &t), 0);
  CHECK_RC(nodus_task_await(t, 5000, &r), NODUS_EEXIT);
  CHECK(nodus_match(&r, "{undef, [{t, nope, [], []}]}") == 0);
  nodus_term_free(&r);
  CHECK_RC(nodus_task_async(node, &sup, "t", "sleep", nodus_nil(), &t), 0);
  CHECK_RC(nodus_task_await(t, 50, &r), NODUS_ETIMEDOUT);
  nodus_term nosup = atom("no_such_sup");
  CHECK_RC(nodus_task_async(node, &nosup, "t", "add", nodus_nil(), &t), 0);
  CHECK_RC(nodus_task_await(t, 5000, &r), NODUS_ENOPROC);
  int active = -1;
  nodus_term tsup = atom("tsup");
  for (int i = 0; i < 200 && active; i++) {
    nodus_supervisor_count_children(node, &tsup, NULL, &active, NULL, NULL);
    if (active) usleep(5000);
  }
  CHECK(active == 0); /* finished and timed-out tasks are gone */
  nodus_term_free(&sup);
}

int main(void) {
  nodus_node_opts opts = {.name = "sup_test@127.0.0.1",
                          .cookie = "sup",
                          .listen_address = "127.0.0.1",
                          .epmd_mode = NODUS_EPMD_NONE};
  CHECK_RC(nodus_node_init(&opts, &node), 0);
  CHECK_RC(nodus_node_start(node), 0);
  test_strategy(NODUS_ONE_FOR_ONE, "one_for_one", false, false);
  test_strategy(NODUS_ONE_FOR_ALL, "one_for_all", true, true);
  test_strategy(NODUS_REST_FOR_ONE, "rest_for_one", false, true);
  test_restart_types();
  test_intensity();
  test_ordered_shutdown_kill();
  test_child_api();
  test_dynamic();
  test_nested();
  test_tasks();
  nodus_node_close(node);
  return check_report();
}
