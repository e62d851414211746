/* hello: the smallest node, built against an installed libnodus the way
 * a user would build it (tests/package/test_package.sh).
 *
 *   hello NAME@HOST COOKIE
 *
 * Starts the node, prints "ready NAME@HOST libnodus VERSION", runs until
 * its stdin closes or it gets SIGTERM/SIGINT, closes the node and prints
 * "bye". Everything else (ping, rpc, erpc) is the library's own work. */
#define _POSIX_C_SOURCE 200809L /* kill, sigwait under -std=c99 too */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <nodus.h>

/* End of input means stop: turn it into the same signal main waits for. */
static void *watch_stdin(void *arg) {
  (void)arg;
  char buf[256];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  kill(getpid(), SIGTERM);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: hello NAME@HOST COOKIE\n");
    return 2;
  }
  /* Blocked before any thread exists, so every thread (the node's too)
   * inherits the mask and only sigwait below takes these signals. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  nodus_node_opts opts = {.name = argv[1], .cookie = argv[2]};
  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "hello: nodus_node_init: %s\n", nodus_strerror(rc));
    return 1;
  }
  if ((rc = nodus_node_start(node))) {
    fprintf(stderr, "hello: nodus_node_start: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return 1;
  }
  printf("ready %s libnodus %s\n", nodus_atom_text(nodus_node_name(node), NULL),
         nodus_version());
  fflush(stdout);

  pthread_t watcher;
  if (pthread_create(&watcher, NULL, watch_stdin, NULL) == 0)
    pthread_detach(watcher);
  int sig;
  sigwait(&stop, &sig);
  nodus_node_close(node);
  puts("bye");
  return 0;
}
