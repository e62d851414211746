/* A real PostgreSQL server for a test: the machine's (Debian's,
 * /usr/lib/postgresql/N/bin), initdb and postgres in a temporary folder,
 * trust auth, on 127.0.0.1 and a free port, run as `nobody` when we are
 * root (postgres refuses root). It is the test's child with a
 * parent-death signal, so even a crashed test leaves no server; atexit
 * stops it and removes the folder.
 *
 *   if (!find_pg_bin()) return check_skip("...");
 *   int rc = pg_setup(); if (rc) return rc;   then pg.url, psql(), ...
 */
#ifndef NODUS_TEST_PG_SERVER_H
#define NODUS_TEST_PG_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "nodus_testkit.h"

/* ---- processes -------------------------------------------------------- */

static struct {
  char dir[64], bin[256], port[16], url[128];
  uid_t uid;
  gid_t gid;
  bool drop; /* root: run the server as nobody */
  pid_t pid;
} pg;

/* Starts argv in dir with output to out_path; as nobody when pg.drop;
 * with die_with_us, SIGQUIT (PostgreSQL's immediate shutdown) when this
 * process ends. */
static inline pid_t spawn(const char *const *argv, const char *out_path, bool die_with_us) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int null = open("/dev/null", O_RDONLY);
  if (fd < 0 || null < 0 || chdir(pg.dir) != 0) _exit(126);
  dup2(null, 0), dup2(fd, 1), dup2(fd, 2);
  if (pg.drop && (setgroups(0, NULL) != 0 || setgid(pg.gid) != 0 || setuid(pg.uid) != 0))
    _exit(126);
  /* after setuid, which clears it */
  if (die_with_us && (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || getppid() != parent))
    _exit(126);
  execv(argv[0], (char *const *)argv);
  _exit(127);
}

/* Waits for pid up to ms; its exit status, or -1 (still running). */
static inline int wait_exit(pid_t pid, int ms) {
  int64_t end = nodus_kit_now_ns() + (int64_t)ms * 1000000;
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0 || nodus_kit_now_ns() > end) return -1;
    nodus_kit_sleep_ms(20);
  }
}

/* Runs argv, its output (stdout and stderr) in *out (malloc'd); the exit
 * status, or -1 when it took longer than ms (killed). */
static inline int run(const char *const *argv, int ms, char **out) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0), dup2(p[1], 1), dup2(p[1], 2);
    close(p[0]);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  size_t len = 0, cap = 4096;
  char *buf = malloc(cap);
  int64_t end = nodus_kit_now_ns() + (int64_t)ms * 1000000;
  bool timed_out = false;
  for (;;) {
    int left = (int)((end - nodus_kit_now_ns()) / 1000000);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    if (left <= 0 || poll(&pf, 1, left) <= 0) {
      timed_out = true;
      break;
    }
    if (len + 1024 > cap) buf = realloc(buf, cap *= 2);
    ssize_t n = read(p[0], buf + len, cap - len - 1);
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(p[0]);
  buf[len] = 0;
  if (timed_out) kill(pid, SIGKILL);
  int st, rc = waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (out) *out = buf;
  else free(buf);
  return timed_out ? -1 : rc;
}

/* psql -c SQL on the test server: its tuples-only, unaligned output
 * without the last newline in *out (malloc'd, may be NULL). */
static inline int psql(const char *sql, char **out) {
  const char *argv[] = {"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", pg.port, "-U", "postgres",
                        "-d", "postgres", "-c", sql, NULL};
  char *o = NULL;
  int rc = run(argv, 10000, &o);
  size_t n = o ? strlen(o) : 0;
  while (n && o[n - 1] == '\n') o[--n] = 0;
  if (out) *out = o;
  else free(o);
  return rc;
}

static inline bool psql_is(const char *sql, const char *want) {
  char *out = NULL;
  bool ok = psql(sql, &out) == 0 && out && !strcmp(out, want);
  free(out);
  return ok;
}

static inline int pg_server_start(void) {
  char exe[300], data[128], log[128];
  snprintf(exe, sizeof exe, "%s/postgres", pg.bin);
  snprintf(data, sizeof data, "%s/data", pg.dir);
  snprintf(log, sizeof log, "%s/postgres.log", pg.dir);
  const char *argv[] = {exe, "-D", data, "-p", pg.port, "-k", pg.dir,
                        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                        "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                        NULL};
  pg.pid = spawn(argv, log, true);
  if (pg.pid <= 0) return -1;
  bool up = NODUS_EVENTUALLY(psql_is("SELECT 1", "1") || wait_exit(pg.pid, 0) >= 0, 30000);
  return up && psql_is("SELECT 1", "1") ? 0 : -1;
}

/* SIGINT: PostgreSQL's fast shutdown (pg_ctl stop -m fast). */
static inline void pg_server_stop(void) {
  if (pg.pid <= 0) return;
  kill(pg.pid, SIGINT);
  if (wait_exit(pg.pid, 10000) < 0) {
    kill(pg.pid, SIGQUIT);
    if (wait_exit(pg.pid, 5000) < 0) kill(pg.pid, SIGKILL), wait_exit(pg.pid, 5000);
  }
  pg.pid = 0;
}

static inline void pg_cleanup(void) {
  pg_server_stop();
  if (pg.dir[0]) {
    const char *rm[] = {"rm", "-rf", pg.dir, NULL};
    run(rm, 30000, NULL);
    pg.dir[0] = 0;
  }
}

/* The newest /usr/lib/postgresql/N/bin with initdb and postgres. */
static inline bool find_pg_bin(void) {
  glob_t g;
  if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0) return false;
  for (size_t i = g.gl_pathc; i-- > 0 && !pg.bin[0];) {
    char dir[256], initdb[300];
    snprintf(dir, sizeof dir, "%.*s", (int)(strlen(g.gl_pathv[i]) - 9), g.gl_pathv[i]);
    snprintf(initdb, sizeof initdb, "%s/initdb", dir);
    if (access(initdb, X_OK) == 0 && access(g.gl_pathv[i], X_OK) == 0)
      snprintf(pg.bin, sizeof pg.bin, "%s", dir);
  }
  globfree(&g);
  return pg.bin[0] != 0;
}

/* initdb and start; 0, or 77-style skip / 1 on failure (after cleanup). */
static inline int pg_setup(void) {
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (!pw) return check_skip("root, and no user 'nobody' to run PostgreSQL as");
    pg.uid = pw->pw_uid, pg.gid = pw->pw_gid, pg.drop = true;
  }
  snprintf(pg.dir, sizeof pg.dir, "/tmp/nodus-pg-XXXXXX");
  if (!mkdtemp(pg.dir)) return pg.dir[0] = 0, 1;
  atexit(pg_cleanup);
  if (pg.drop && chown(pg.dir, pg.uid, pg.gid) != 0) return 1;
  snprintf(pg.port, sizeof pg.port, "%d", nodus_kit_free_port());
  snprintf(pg.url, sizeof pg.url, "postgresql://postgres@127.0.0.1:%s/postgres", pg.port);
  char initdb[300], data[128], log[128];
  snprintf(initdb, sizeof initdb, "%s/initdb", pg.bin);
  snprintf(data, sizeof data, "%s/data", pg.dir);
  snprintf(log, sizeof log, "%s/initdb.log", pg.dir);
  const char *argv[] = {initdb, "-D", data, "-U", "postgres", "-A", "trust",
                        "--no-locale", "-E", "UTF8", "--no-sync", NULL};
  int64_t t0 = nodus_kit_now_ns();
  pid_t pid = spawn(argv, log, true);
  int rc = pid > 0 ? wait_exit(pid, 120000) : -1;
  if (rc != 0) {
    fprintf(stderr, "initdb: exit %d (see %s)\n", rc, log);
    if (pid > 0 && rc < 0) kill(pid, SIGKILL), wait_exit(pid, 5000);
    return 1;
  }
  if (pg_server_start() != 0) {
    fprintf(stderr, "postgres did not come up (%s/postgres.log)\n", pg.dir);
    return 1;
  }
  fprintf(stderr, "PostgreSQL (%s) on 127.0.0.1:%s%s, up after %.0f ms\n", pg.bin,
          pg.port, pg.drop ? " as nobody" : "", (nodus_kit_now_ns() - t0) / 1e6);
  return 0;
}

#endif
