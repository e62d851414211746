/* A C node for the task and supervisor interop tests, driven by lines on
 * stdin (one answer line each):
 *
 *   task SUP NODE MOD FUN ARGS [TIMEOUT]   Task.Supervisor.async({SUP,
 *       NODE}, MOD, FUN, ARGS) |> Task.await(TIMEOUT): "ok RESULT",
 *       "exit REASON" or "error CODE"
 *   kids SUP            which_children of a local supervisor
 *   quit
 *
 * It runs a task supervisor 'Elixir.T.TaskSup' whose tasks call
 * 'Elixir.T':add/2, crash/1 (raises error:Reason) and sleep/1 (ms), and a
 * one_for_all supervisor `workers` (a, b, c) of C processes that crash on
 * {crash, Reason}, so BEAM can call supervisor functions on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodus.h"
#include "nodus/supervisor.h"
#include "nodus/task.h"

static nodus_node *node;

static int t_add(nodus_node *n, const nodus_term *args, nodus_term *result,
                 void *arg) {
  int64_t a, b;
  if (nodus_match(args, "[~i, ~i]", &a, &b)) return NODUS_EINVAL;
  *result = nodus_int(a + b);
  return 0;
}

static int t_crash(nodus_node *n, const nodus_term *args, nodus_term *result,
                   void *arg) {
  const nodus_term *r;
  if (nodus_match(args, "[~t]", &r)) return NODUS_EINVAL;
  nodus_copy(result, r);
  return NODUS_EEXIT;
}

static int t_sleep(nodus_node *n, const nodus_term *args, nodus_term *result,
                   void *arg) {
  int64_t ms;
  if (nodus_match(args, "[~i]", &ms) || ms < 0 || ms > 60000)
    return NODUS_EINVAL;
  fprintf(stderr, "sleeping\n"); /* the tests kill the node now */
  usleep((useconds_t)ms * 1000);
  *result = nodus_atom_term(NODUS_ATOM_OK);
  return 0;
}

static void worker_msg(nodus_proc *self, const nodus_term *msg) {
  const nodus_term *r;
  if (nodus_match(msg, "{crash, ~t}", &r) == 0) nodus_exit(self, r);
}

static int worker_start(nodus_proc *sup, const nodus_term *args, void *arg,
                        nodus_term *pid, nodus_term *reason) {
  nodus_proc_spec spec = {.on_message = worker_msg};
  return nodus_spawn_from(sup, &spec, true, pid);
}

static void print_term(const char *prefix, const nodus_term *t) {
  char *text = NULL;
  nodus_print_opts o = {.local_node = nodus_node_name(node)};
  nodus_print(t, &o, &text, NULL);
  printf("%s %s\n", prefix, text ? text : "?");
  free(text);
}

static nodus_term parse(const char *s) {
  nodus_term t = {0};
  nodus_parse_opts o = {.local_node = nodus_node_name(node)};
  nodus_parse(s, strlen(s), &o, &t, NULL);
  return t;
}

static void cmd_task(char *rest) {
  char sup[256], peer[256], mod[256], fun[256], args[1024];
  int timeout = 5000;
  if (sscanf(rest, "%255s %255s %255s %255s %1023s %d", sup, peer, mod, fun,
             args, &timeout) < 5) {
    printf("error usage\n");
    return;
  }
  nodus_term target = {0}, result = {0};
  nodus_build(&target, "{~a, ~a}", sup, peer);
  nodus_task *t;
  int rc = nodus_task_async(node, &target, mod, fun, parse(args), &t);
  if (!rc) rc = nodus_task_await(t, timeout, &result);
  if (rc == 0) print_term("ok", &result);
  else if (rc == NODUS_EEXIT) print_term("exit", &result);
  else printf("error %s\n", nodus_err_name(rc));
  nodus_term_free(&target);
  nodus_term_free(&result);
}

int main(int argc, char **argv) {
  const char *name = NULL, *cookie = NULL;
  int epmd_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--name")) name = argv[i + 1];
    else if (!strcmp(argv[i], "--cookie")) cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) epmd_port = atoi(argv[i + 1]);
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  nodus_node_opts opts = {.name = name, .cookie = cookie,
                          .epmd_port = epmd_port,
                          .epmd_mode = NODUS_EPMD_SYSTEM};
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (rc) {
    fprintf(stderr, "node: %s\n", nodus_strerror(rc));
    return 1;
  }
  nodus_register_function(node, "Elixir.T", "add", t_add, NULL);
  nodus_register_function(node, "Elixir.T", "crash", t_crash, NULL);
  nodus_register_function(node, "Elixir.T", "sleep", t_sleep, NULL);
  rc = nodus_task_supervisor_start(node, "Elixir.T.TaskSup", NULL);
  nodus_child_spec kids[] = {{.id = "a", .start = worker_start},
                             {.id = "b", .start = worker_start},
                             {.id = "c", .start = worker_start}};
  nodus_sup_spec spec = {.strategy = NODUS_ONE_FOR_ALL, .intensity = 2,
                         .period_ms = 10000, .children = kids,
                         .n_children = 3, .name = "workers"};
  if (!rc) rc = nodus_supervisor_start(node, &spec, NULL, NULL);
  if (rc) {
    fprintf(stderr, "supervisors: %s\n", nodus_strerror(rc));
    return 1;
  }
  printf("ready %s\n", nodus_atom_text(nodus_node_name(node), NULL));
  char line[2048];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (!strncmp(line, "task ", 5)) {
      cmd_task(line + 5);
    } else if (!strncmp(line, "kids ", 5)) {
      nodus_term sup = {0}, kids_now = {0};
      nodus_mk_atom(&sup, line + 5);
      rc = nodus_supervisor_which_children(node, &sup, &kids_now);
      if (rc) printf("error %s\n", nodus_err_name(rc));
      else print_term("ok", &kids_now);
      nodus_term_free(&sup);
      nodus_term_free(&kids_now);
    } else if (!strcmp(line, "quit")) {
      break;
    } else if (line[0]) {
      printf("error unknown command\n");
    }
  }
  nodus_node_close(node);
  return 0;
}
