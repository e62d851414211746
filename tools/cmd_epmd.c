/* nodus epmd: run the embedded EPMD server (foreground or daemon).
 * nodus names: list the names an epmd knows, like `epmd -names`. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "../src/distribution/epmd_client.h"
#include "../src/distribution/epmd_server.h"
#include "cli.h"
#include "nodus.h"
#include "nodus/node.h" /* NODUS_LOG_* */

static const char epmd_usage[] =
    "usage: nodus epmd [--port P] [--address A] [--daemon] [--relaxed]\n"
    "\n"
    "Runs an Erlang port mapper daemon (what `epmd` does).\n"
    "  --port P      listen port (default $ERL_EPMD_PORT, else 4369)\n"
    "  --address A   listen address (default 127.0.0.1; 0.0.0.0 or :: to\n"
    "                accept other hosts, as the real epmd does)\n"
    "  --daemon      detach and run in the background, quietly\n"
    "  --relaxed     accept registrations from other hosts too\n"
    "Without --daemon, logs one line per registration to stderr; SIGINT or\n"
    "SIGTERM stops it, and so does `epmd -port P -kill` when no node is\n"
    "registered.\n";

static const char names_usage[] =
    "usage: nodus names [HOST] [--port P] [--timeout MS]\n"
    "\n"
    "Prints the nodes registered with the epmd on HOST (default 127.0.0.1)\n"
    "as `name NAME at port PORT`, one per line. Port: --port, else\n"
    "$ERL_EPMD_PORT, else 4369. Exit 1 when no epmd answers.\n";

/* Parses a port number 1..65535 (0 allowed when zero_ok); -1 if bad. */
static int parse_port(const char *s, bool zero_ok) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < (zero_ok ? 0 : 1) || v > 65535)
    return -1;
  return (int)v;
}

/* ---- nodus epmd ---- */

struct epmd_cli {
  uv_loop_t *loop;
  epmd_server *srv;
  uv_signal_t sigint, sigterm;
  bool quiet;
};

static void on_event(void *arg, epmd_server_event ev,
                     const epmd_node_info *node, uint32_t creation) {
  struct epmd_cli *cli = arg;
  if (ev == EPMD_EV_KILLED) {
    if (!cli->quiet) fputs("nodus epmd: killed by request\n", stderr);
    epmd_server_close(cli->srv, NULL, NULL);
    uv_close((uv_handle_t *)&cli->sigint, NULL);
    uv_close((uv_handle_t *)&cli->sigterm, NULL);
    return;
  }
  if (cli->quiet) return;
  fprintf(stderr, "nodus epmd: %s %s at port %u (%s, creation %u)\n",
          ev == EPMD_EV_REGISTERED ? "registered" : "unregistered",
          node->name, (unsigned)node->port,
          node->node_type == EPMD_NODE_HIDDEN ? "hidden" : "normal",
          (unsigned)creation);
}

static void on_log(void *arg, int level, const char *msg) {
  struct epmd_cli *cli = arg;
  if (!cli->quiet && level <= NODUS_LOG_WARN) fprintf(stderr, "%s\n", msg);
}

static void on_signal(uv_signal_t *s, int signum) {
  struct epmd_cli *cli = s->data;
  (void)signum;
  epmd_server_close(cli->srv, NULL, NULL);
  uv_close((uv_handle_t *)&cli->sigint, NULL);
  uv_close((uv_handle_t *)&cli->sigterm, NULL);
}

/* Detaches: the parent waits on a pipe until the daemon has bound its port
 * (or failed), so `nodus epmd --daemon` exits 0 only when it is serving.
 * Returns the write end of the pipe in the daemon, exits in the parent. */
static int daemonize(void) {
  int fds[2];
  if (pipe(fds) < 0) {
    perror("nodus epmd: pipe");
    exit(CLI_FAIL);
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("nodus epmd: fork");
    exit(CLI_FAIL);
  }
  if (pid > 0) {
    close(fds[1]);
    char status = 1;
    ssize_t n;
    do n = read(fds[0], &status, 1);
    while (n < 0 && errno == EINTR);
    exit(n == 1 && status == 0 ? CLI_OK : CLI_FAIL);
  }
  close(fds[0]);
  setsid();
  pid = fork(); /* not a session leader: can never get a terminal back */
  if (pid < 0) _exit(CLI_FAIL);
  if (pid > 0) _exit(CLI_OK);
  umask(022);
  if (chdir("/") < 0) { /* keeps no directory busy; harmless if it fails */
  }
  return fds[1];
}

static void detach_stdio(void) {
  int fd = open("/dev/null", O_RDWR);
  if (fd < 0) return;
  dup2(fd, 0);
  dup2(fd, 1);
  dup2(fd, 2);
  if (fd > 2) close(fd);
}

int cmd_epmd(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(epmd_usage, stdout);
    return CLI_OK;
  }
  epmd_server_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.port = epmd_client_port(NULL);
  bool daemon = false;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      if ((opts.port = parse_port(argv[++i], false)) < 0) {
        fprintf(stderr, "nodus epmd: bad port '%s'\n", argv[i]);
        return CLI_USAGE;
      }
    } else if (!strcmp(argv[i], "--address") && i + 1 < argc) {
      opts.address = argv[++i];
    } else if (!strcmp(argv[i], "--daemon")) {
      daemon = true;
    } else if (!strcmp(argv[i], "--relaxed")) {
      opts.relaxed = true;
    } else {
      fprintf(stderr, "nodus epmd: unexpected '%s'\n%s", argv[i],
              epmd_usage);
      return CLI_USAGE;
    }
  }

  int ready_fd = daemon ? daemonize() : -1;
  struct epmd_cli cli = {.loop = uv_default_loop(), .quiet = daemon};
  opts.allow_kill = true;
  opts.on_event = on_event;
  opts.log = on_log;
  opts.arg = &cli;
  int rc = epmd_server_start(cli.loop, &opts, &cli.srv);
  if (rc < 0) {
    fprintf(stderr, "nodus epmd: cannot listen on %s:%d: %s\n",
            opts.address ? opts.address : "127.0.0.1", opts.port,
            rc == NODUS_EEXIST ? "address in use (another epmd?)"
                               : nodus_strerror(rc));
    if (ready_fd >= 0) {
      char st = 1;
      if (write(ready_fd, &st, 1) < 0) { /* parent then sees EOF: failure */
      }
    }
    uv_run(cli.loop, UV_RUN_DEFAULT);
    uv_loop_close(cli.loop);
    return CLI_FAIL;
  }
  uv_signal_init(cli.loop, &cli.sigint);
  uv_signal_init(cli.loop, &cli.sigterm);
  cli.sigint.data = cli.sigterm.data = &cli;
  uv_signal_start(&cli.sigint, on_signal, SIGINT);
  uv_signal_start(&cli.sigterm, on_signal, SIGTERM);
  if (ready_fd >= 0) {
    char st = 0;
    if (write(ready_fd, &st, 1) < 0) { /* parent reports the failure */
    }
    close(ready_fd);
    detach_stdio();
  } else {
    fprintf(stderr, "nodus epmd: listening on %s:%d\n",
            opts.address ? opts.address : "127.0.0.1",
            epmd_server_port(cli.srv));
  }
  uv_run(cli.loop, UV_RUN_DEFAULT);
  uv_loop_close(cli.loop);
  return CLI_OK;
}

/* ---- nodus names ---- */

int cmd_names(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(names_usage, stdout);
    return CLI_OK;
  }
  epmd_client_opts opts;
  memset(&opts, 0, sizeof opts);
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      if ((opts.port = parse_port(argv[++i], false)) < 0) {
        fprintf(stderr, "nodus names: bad port '%s'\n", argv[i]);
        return CLI_USAGE;
      }
    } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
      opts.timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
    } else if (argv[i][0] != '-' && !opts.host) {
      opts.host = argv[i];
    } else {
      fprintf(stderr, "nodus names: unexpected '%s'\n%s", argv[i],
              names_usage);
      return CLI_USAGE;
    }
  }
  epmd_name_list list;
  int rc = epmd_names_sync(&opts, &list);
  if (rc < 0) {
    fprintf(stderr, "nodus names: no epmd answers at %s:%d: %s\n",
            opts.host ? opts.host : "127.0.0.1", epmd_client_port(&opts),
            nodus_strerror(rc));
    return CLI_FAIL;
  }
  for (size_t i = 0; i < list.count; i++)
    printf("name %s at port %u\n", list.entries[i].name,
           (unsigned)list.entries[i].port);
  epmd_name_list_free(&list);
  return CLI_OK;
}
