/* Drives epmd_client from test scripts.
 *
 *   epmd_helper register NAME LISTEN_PORT EPMD_PORT
 *       registers, prints "registered CREATION" and stays registered until
 *       SIGTERM/SIGINT; exit 1 if registering failed.
 *   epmd_helper port_please NAME EPMD_PORT
 *       prints "port P type T high H low L" (exit 0) or "notfound" (exit 3)
 *   epmd_helper names EPMD_PORT
 *       prints the names as `name N at port P` lines.
 *   epmd_helper free_port
 *       prints a TCP port the kernel had free a moment ago (bound to port 0
 *       on every address, then closed), for a server of our own. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "distribution/epmd_client.h"
#include "nodus.h"

struct reg_state {
  epmd_op *op;
  uv_signal_t sigterm, sigint;
  int status;
  bool done;
};

static void stop(struct reg_state *st) {
  if (st->done) return;
  st->done = true;
  epmd_unregister(st->op);
  uv_close((uv_handle_t *)&st->sigterm, NULL);
  uv_close((uv_handle_t *)&st->sigint, NULL);
}

static void on_registered(epmd_op *op, int status, uint32_t creation,
                          void *data) {
  struct reg_state *st = data;
  (void)op;
  if (status == 0) {
    printf("registered %u\n", (unsigned)creation);
    fflush(stdout);
    return;
  }
  fprintf(stderr, "epmd_helper: register: %s\n", nodus_strerror(status));
  st->status = 1;
  stop(st);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  stop(s->data);
}

static int do_register(const char *name, int listen_port, int epmd_port) {
  uv_loop_t *loop = uv_default_loop();
  struct reg_state st = {0};
  epmd_client_opts opts = {.port = epmd_port, .timeout_ms = 5000};
  int rc = epmd_register(loop, &opts, name, (uint16_t)listen_port, false,
                         on_registered, &st, &st.op);
  if (rc < 0) {
    fprintf(stderr, "epmd_helper: register: %s\n", nodus_strerror(rc));
    return 1;
  }
  uv_signal_init(loop, &st.sigterm);
  uv_signal_init(loop, &st.sigint);
  st.sigterm.data = st.sigint.data = &st;
  uv_signal_start(&st.sigterm, on_signal, SIGTERM);
  uv_signal_start(&st.sigint, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return st.status;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_ANY)};
  socklen_t len = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    perror("epmd_helper: free_port");
    if (fd >= 0) close(fd);
    return 1;
  }
  printf("%u\n", (unsigned)ntohs(sa.sin_port));
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "free_port")) return free_port();
  if (argc == 5 && !strcmp(argv[1], "register"))
    return do_register(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc == 4 && !strcmp(argv[1], "port_please")) {
    epmd_client_opts opts = {.port = atoi(argv[3]), .timeout_ms = 5000};
    epmd_node_info node;
    int rc = epmd_port_please_sync(&opts, argv[2], &node);
    if (rc == NODUS_ENOTFOUND) {
      puts("notfound");
      return 3;
    }
    if (rc < 0) {
      fprintf(stderr, "epmd_helper: port_please: %s\n", nodus_strerror(rc));
      return 1;
    }
    printf("port %u type %u high %u low %u\n", (unsigned)node.port,
           (unsigned)node.node_type, (unsigned)node.highest,
           (unsigned)node.lowest);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "names")) {
    epmd_client_opts opts = {.port = atoi(argv[2]), .timeout_ms = 5000};
    epmd_name_list list;
    int rc = epmd_names_sync(&opts, &list);
    if (rc < 0) {
      fprintf(stderr, "epmd_helper: names: %s\n", nodus_strerror(rc));
      return 1;
    }
    for (size_t i = 0; i < list.count; i++)
      printf("name %s at port %u\n", list.entries[i].name,
             (unsigned)list.entries[i].port);
    epmd_name_list_free(&list);
    return 0;
  }
  fputs("usage: epmd_helper register NAME LISTEN_PORT EPMD_PORT\n"
        "       epmd_helper port_please NAME EPMD_PORT\n"
        "       epmd_helper names EPMD_PORT\n"
        "       epmd_helper free_port\n",
        stderr);
  return 2;
}
