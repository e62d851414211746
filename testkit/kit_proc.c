/* Starting processes (optionally inside a network namespace), running
 * commands with a deadline, and small file helpers.
 *
 * Nodes are entered into their namespace with setns() in the forked child
 * rather than through `ip netns exec`, so the pid we hold is the node
 * itself: signals (kill, pause) reach it directly. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit_internal.h"

int64_t nodus_kit_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void nodus_kit_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

int nodus_kit_wait(bool (*cond)(void *), void *arg, int timeout_ms,
                   int poll_ms) {
  int64_t deadline = nodus_kit_now_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    if (cond(arg)) return 0;
    if (nodus_kit_now_ns() >= deadline) return NODUS_ETIMEDOUT;
    nodus_kit_sleep_ms(poll_ms > 0 ? poll_ms : 20);
  }
}

bool kit_netns_exists(const char *ns) {
  char path[256];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  return access(path, F_OK) == 0;
}

static int enter_netns(const char *ns) {
  char path[256];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = setns(fd, CLONE_NEWNET);
  close(fd);
  return rc;
}

/* In the child: never returns. */
static void child_exec(const kit_spawn *s, int in_fd, int out_fd) {
  if (s->die_with_parent) prctl(PR_SET_PDEATHSIG, SIGKILL);
  setpgid(0, 0); /* a ^C in the test's terminal reaches the kit, not nodes */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (s->ns && s->ns[0] && enter_netns(s->ns) != 0) _exit(126);
  if (in_fd < 0) in_fd = open("/dev/null", O_RDONLY);
  if (out_fd < 0) out_fd = open("/dev/null", O_WRONLY);
  dup2(in_fd, 0);
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  for (int fd = 3; fd < 1024; fd++) close(fd);
  if (s->mark) setenv(KIT_ENV_MARK, s->mark, 1);
  for (const char *const *e = s->env; e && *e; e++) putenv((char *)*e);
  execvp(s->argv[0], (char *const *)s->argv);
  _exit(127);
}

pid_t kit_spawn_proc(const kit_spawn *s) {
  int in_fd = -1, out_fd = -1;
  if (s->stdin_path && (in_fd = open(s->stdin_path, O_RDWR)) < 0) return -1;
  if (s->out_path &&
      (out_fd = open(s->out_path, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0) {
    if (in_fd >= 0) close(in_fd);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) child_exec(s, in_fd, out_fd);
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  return pid;
}

int kit_run(const char *ns, const char *const *argv, const char *stdin_text,
            int timeout_ms, char **out) {
  int in[2] = {-1, -1}, outp[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    kit_spawn s = {.ns = ns, .argv = argv, .die_with_parent = true};
    int i0 = dup(in[0]), o1 = dup(outp[1]);
    child_exec(&s, i0, o1);
  }
  close(in[0]);
  close(outp[1]);
  if (stdin_text) {
    /* Small inputs (nft rulesets) fit the pipe buffer. */
    ssize_t w = write(in[1], stdin_text, strlen(stdin_text));
    (void)w;
  }
  close(in[1]);
  size_t len = 0, cap = 256;
  char *buf = malloc(cap);
  int64_t deadline = nodus_kit_now_ns() + (int64_t)timeout_ms * 1000000;
  bool timed_out = false;
  for (;;) {
    int left = (int)((deadline - nodus_kit_now_ns()) / 1000000);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {outp[0], POLLIN, 0};
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    if (len + 128 > cap) buf = realloc(buf, cap *= 2);
    ssize_t n = read(outp[0], buf + len, cap - len - 1);
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(outp[0]);
  buf[len] = 0;
  int status = 0;
  if (timed_out) kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out)
    *out = buf;
  else
    free(buf);
  if (timed_out) return NODUS_ETIMEDOUT;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int kit_runf(const char *ns, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  const char *argv[64];
  int argc = 0;
  for (char *save, *t = strtok_r(line, " ", &save); t && argc < 63;
       t = strtok_r(NULL, " ", &save))
    argv[argc++] = t;
  argv[argc] = NULL;
  return kit_run(ns, argv, NULL, 10000, NULL);
}

bool kit_pid_alive(pid_t pid) {
  if (pid <= 0) return false;
  /* Reap it if it is our child; a zombie counts as dead. */
  int st;
  if (waitpid(pid, &st, WNOHANG) == pid) return false;
  if (kill(pid, 0) != 0) return false;
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *rp = strrchr(buf, ')');
  return !(rp && rp[1] == ' ' && rp[2] == 'Z');
}

int kit_kill_wait(pid_t pid, int timeout_ms) {
  if (pid <= 0) return 0;
  kill(pid, SIGKILL);
  kill(pid, SIGCONT); /* a stopped process dies on SIGKILL anyway */
  int64_t deadline = nodus_kit_now_ns() + (int64_t)timeout_ms * 1000000;
  while (kit_pid_alive(pid)) {
    if (nodus_kit_now_ns() > deadline) return NODUS_ETIMEDOUT;
    nodus_kit_sleep_ms(2);
  }
  return 0;
}

/* Whether every thread of pid is stopped ('T', or 't' when traced). */
static bool all_threads_stopped(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return false;
  bool stopped = true;
  struct dirent *e;
  while (stopped && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char stat_path[400], buf[512];
    snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
    FILE *f = fopen(stat_path, "r");
    if (!f) continue; /* the thread just ended */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
    stopped = paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
  }
  closedir(d);
  return stopped;
}

/* kill() returns once SIGSTOP is queued: one thread takes it and then
 * stops the others, and on a busy machine the rest of a BEAM's threads
 * can go on for milliseconds, long enough to answer an eval. */
int kit_stop_wait(pid_t pid, int timeout_ms) {
  if (kill(pid, SIGSTOP)) return NODUS_ENOPROC;
  int64_t deadline = nodus_kit_now_ns() + (int64_t)timeout_ms * 1000000;
  while (!all_threads_stopped(pid)) {
    if (!kit_pid_alive(pid)) return NODUS_ENOPROC;
    if (nodus_kit_now_ns() > deadline) return NODUS_ETIMEDOUT;
    nodus_kit_sleep_ms(1);
  }
  return 0;
}

char *kit_read_file(const char *path, long from, long *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long end = ftell(f);
  if (from > end) from = end;
  fseek(f, from, SEEK_SET);
  char *buf = malloc((size_t)(end - from) + 1);
  size_t n = buf ? fread(buf, 1, (size_t)(end - from), f) : 0;
  fclose(f);
  if (!buf) return NULL;
  buf[n] = 0;
  if (size) *size = (long)n;
  return buf;
}

int kit_rm_rf(const char *path) {
  DIR *d = opendir(path);
  if (!d) return unlink(path);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    kit_rm_rf(sub);
  }
  closedir(d);
  return rmdir(path);
}
