/* chat: the chat application of the OTP distribution lesson, as a C node.
 *
 * In Elixir the lesson's nodes run a Task.Supervisor named
 * Chat.TaskSupervisor, and Chat.send_message(recipient, text) runs
 * Chat.receive_message(text) on the recipient under that supervisor
 * (Task.Supervisor.async |> Task.await), which prints it there. Sending to
 * the node named moebi runs Chat.receive_message_for_moebi(text, sender)
 * instead: moebi prints the message and answers with "chicken?".
 *
 * This node has the same names and functions, so it chats with the
 * Elixir version and with other C ones:
 *
 *   chat NAME [--cookie COOKIE] [--epmd-port PORT]
 *   stdin:  send NODE TEXT      (NODE without @host: this node's host)
 *   stdout: each received message, one line
 *   stderr: "ready NAME", then "sent NODE" or "error NODE REASON" per send
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus.h"
#include "nodus/task.h"

#define SUPERVISOR "Elixir.Chat.TaskSupervisor"
#define MODULE "Elixir.Chat"
#define AWAIT_MS 5000 /* Task.await's default */

static nodus_node *node;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* A message is a binary (Elixir string) or a charlist (Erlang string). */
static void print_message(const nodus_term *msg) {
  pthread_mutex_lock(&out_lock);
  if (msg->type == NODUS_T_BINARY) {
    size_t n;
    const uint8_t *d = nodus_bin_data(msg, &n, NULL);
    fwrite(d, 1, n, stdout);
    fputc('\n', stdout);
  } else {
    char *text = NULL;
    nodus_print(msg, NULL, &text, NULL);
    printf("%s\n", text ? text : "?");
    free(text);
  }
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
}

static bool is_moebi(const char *peer) {
  return !strncmp(peer, "moebi@", 6);
}

/* Chat.send_message/2: runs the receiving function on the recipient under
 * its Chat.TaskSupervisor and waits for it. Blocks (a thread, or a
 * registered function on the worker pool). */
static int send_message(const char *peer, const char *text, nodus_term *why) {
  nodus_term sup = {0}, args = {0}, result = {0};
  int rc = nodus_build(&sup, "{'" SUPERVISOR "', ~a}", peer);
  if (rc) return rc;
  if (is_moebi(peer))
    rc = nodus_build(&args, "[~b, ~A]", text, strlen(text),
                     nodus_node_name(node));
  else
    rc = nodus_build(&args, "[~b]", text, strlen(text));
  nodus_task *task;
  if (!rc)
    rc = nodus_task_async(node, &sup, MODULE,
                          is_moebi(peer) ? "receive_message_for_moebi"
                                         : "receive_message",
                          args, &task);
  if (!rc) rc = nodus_task_await(task, AWAIT_MS, &result);
  if (rc && why) *why = result;
  else nodus_term_free(&result);
  nodus_term_free(&sup);
  return rc;
}

/* Chat.receive_message/1 */
static int receive_message(nodus_node *n, const nodus_term *args,
                           nodus_term *result, void *arg) {
  const nodus_term *msg;
  if (nodus_match(args, "[~t]", &msg)) return NODUS_ENOMATCH;
  print_message(msg);
  *result = nodus_atom_term(NODUS_ATOM_OK); /* what IO.puts returns */
  return 0;
}

/* Chat.receive_message_for_moebi/2: print, then ask the sender back. */
static int receive_message_for_moebi(nodus_node *n, const nodus_term *args,
                                     nodus_term *result, void *arg) {
  const nodus_term *msg;
  nodus_atom from;
  if (nodus_match(args, "[~t, ~a]", &msg, &from)) return NODUS_ENOMATCH;
  print_message(msg);
  nodus_term why = {0};
  int rc = send_message(nodus_atom_text(from, NULL), "chicken?", &why);
  if (rc) {
    /* Task.await would exit here; so does this task. */
    *result = why.type ? why : nodus_atom_term(NODUS_ATOM_ERROR);
    return NODUS_RPC_EXIT;
  }
  *result = nodus_atom_term(NODUS_ATOM_OK);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: chat NAME [--cookie C] [--epmd-port P]\n");
    return 2;
  }
  nodus_node_opts opts = {.name = argv[1]};
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--cookie")) opts.cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--epmd-port")) opts.epmd_port = atoi(argv[i + 1]);
  }
  int rc = nodus_node_init(&opts, &node);
  if (!rc) rc = nodus_node_start(node);
  if (!rc) rc = nodus_task_supervisor_start(node, SUPERVISOR, NULL);
  if (!rc)
    rc = nodus_register_function(node, MODULE, "receive_message",
                                 receive_message, NULL);
  if (!rc)
    rc = nodus_register_function(node, MODULE, "receive_message_for_moebi",
                                 receive_message_for_moebi, NULL);
  if (rc) {
    fprintf(stderr, "chat: %s\n", nodus_strerror(rc));
    if (node) nodus_node_close(node);
    return 1;
  }
  const char *me = nodus_atom_text(nodus_node_name(node), NULL);
  const char *host = strchr(me, '@');
  fprintf(stderr, "ready %s\n", me);
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    char peer[512];
    int used = 0;
    if (sscanf(line, "send %255s %n", peer, &used) != 1 || !used) {
      if (line[0]) fprintf(stderr, "error usage: send NODE TEXT\n");
      continue;
    }
    if (!strchr(peer, '@') && host) strncat(peer, host, sizeof peer - strlen(peer) - 1);
    nodus_term why = {0};
    rc = send_message(peer, line + used, &why);
    if (rc == 0) {
      fprintf(stderr, "sent %s\n", peer);
    } else {
      char *text = NULL;
      if (why.type) nodus_print(&why, NULL, &text, NULL);
      fprintf(stderr, "error %s %s %s\n", peer, nodus_err_name(rc),
              text ? text : "");
      free(text);
      nodus_term_free(&why);
    }
  }
  nodus_node_close(node);
  return 0;
}
