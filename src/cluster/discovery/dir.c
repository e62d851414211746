/* dir: a shared folder (a volume mounted into every container): each node
 * keeps a file named after itself fresh, and lists the nodes whose files
 * are fresher than a TTL: dir:/shared/nodes,interval_ms=1000,ttl_ms=5000.
 * A node that stops removes its own file; one killed ages out.
 *
 * The folder may be a network file system, so each round (write our file,
 * read the folder) runs on libuv's worker pool, never on the loop. Names
 * read from it are checked as node names before any atom is made. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/discovery/discovery_internal.h"

#define DEFAULT_INTERVAL_MS 1000
#define MAX_NODES 4096

typedef struct dir_state {
  disc_topology *t;
  char path[1024], self[1024], tmp[1100];
  const char *self_name;
  unsigned interval_ms, ttl_ms;
  uv_timer_t timer;
  uv_work_t work;
  bool busy, stopping, timer_closed, dry_run; /* dry_run: read only */
  /* a round's result, filled on the pool */
  nodus_atom *nodes;
  size_t n_nodes, dropped;
  char err[400];
} dir_state;

/* Writes our file afresh: a new file renamed over the old one, so a
 * reader never sees half of it and its mtime is the round's. */
static int touch_self(dir_state *s, char *why, size_t why_size) {
  int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    snprintf(why, why_size, "%.300s: %s", s->tmp, strerror(errno));
    return NODUS_EIO;
  }
  size_t len = strlen(s->self_name);
  bool ok = write(fd, s->self_name, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(s->tmp, s->self) != 0) {
    snprintf(why, why_size, "%.300s: %s", s->self, strerror(errno));
    unlink(s->tmp);
    return NODUS_EIO;
  }
  return 0;
}

static void round_work(uv_work_t *w) {
  dir_state *s = w->data;
  s->err[0] = 0;
  s->n_nodes = s->dropped = 0;
  if (!s->dry_run && touch_self(s, s->err, sizeof s->err)) return;
  DIR *dir = opendir(s->path);
  if (!dir) {
    snprintf(s->err, sizeof s->err, "%.300s: %s", s->path, strerror(errno));
    return;
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct dirent *e;
  while ((e = readdir(dir)) && s->n_nodes < MAX_NODES) {
    if (e->d_name[0] == '.') continue; /* ., .., our .tmp files */
    char file[2400];
    struct stat st;
    snprintf(file, sizeof file, "%s/%s", s->path, e->d_name);
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    int64_t age_ms = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000 +
                     (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
    if (age_ms > (int64_t)s->ttl_ms) continue; /* stale: killed, or gone */
    if (disc_node_atom(e->d_name, strlen(e->d_name), &s->nodes[s->n_nodes]) == 0)
      s->n_nodes++;
    else
      s->dropped++;
  }
  closedir(dir);
}

static void finish(dir_state *s) {
  if (!s->dry_run) unlink(s->self); /* a graceful stop leaves no entry */
  free(s->nodes);
  free(s);
}

static void round_done(uv_work_t *w, int status) {
  dir_state *s = w->data;
  s->busy = false;
  if (s->stopping) {
    if (s->timer_closed) finish(s);
    return;
  }
  if (s->err[0]) disc_report_error(s->t, "%s", s->err);
  else if (s->n_nodes) disc_report_all(s->t, s->nodes, s->n_nodes); /* ours too */
  if (s->dropped)
    disc_log_dropped(s->t, "%zu file(s) in %s not named as nodes", s->dropped,
                     s->path);
}

static void on_timer(uv_timer_t *h) {
  dir_state *s = h->data;
  if (s->busy || s->stopping) return; /* a slow folder: skip a beat */
  s->busy = true;
  s->work.data = s;
  if (uv_queue_work(disc_loop(s->t), &s->work, round_work, round_done))
    s->busy = false;
}

static int dir_start(disc_topology *t, char *err, size_t err_size) {
  const char *path = disc_item(t, 0);
  if (!path || disc_items(t) != 1) {
    snprintf(err, err_size, "one folder needed (dir:/shared/nodes)");
    return NODUS_EINVAL;
  }
  dir_state *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  s->t = t;
  s->dry_run = disc_dry_run(t);
  s->self_name = nodus_atom_text(nodus_node_name(disc_node(t)), NULL);
  int rc;
  if ((rc = disc_opt_uint(t, "interval_ms", DEFAULT_INTERVAL_MS, &s->interval_ms,
                          err, err_size)) ||
      (rc = disc_opt_uint(t, "ttl_ms", 0, &s->ttl_ms, err, err_size))) {
    free(s);
    return rc;
  }
  if (!s->interval_ms) s->interval_ms = DEFAULT_INTERVAL_MS;
  if (!s->ttl_ms) s->ttl_ms = 5 * s->interval_ms;
  if (s->ttl_ms <= s->interval_ms) {
    snprintf(err, err_size, "ttl_ms=%u must be longer than interval_ms=%u",
             s->ttl_ms, s->interval_ms);
    free(s);
    return NODUS_EINVAL;
  }
  snprintf(s->path, sizeof s->path, "%s", path);
  snprintf(s->self, sizeof s->self, "%s/%s", path, s->self_name);
  snprintf(s->tmp, sizeof s->tmp, "%s/.%s.tmp", path, s->self_name);
  if (!(s->nodes = calloc(MAX_NODES, sizeof *s->nodes))) {
    free(s);
    return NODUS_ENOMEM;
  }
  /* The folder must be there (or be made) and writable now: a wrong path
   * is an error at start, not a node that silently finds nobody. */
  if (s->dry_run ? access(path, R_OK) != 0
                 : mkdir(path, 0777) != 0 && errno != EEXIST) {
    snprintf(err, err_size, "%.300s: %s", path, strerror(errno));
    rc = NODUS_EINVAL;
  } else if (!s->dry_run && touch_self(s, err, err_size)) {
    rc = NODUS_EINVAL;
  }
  if (rc) {
    free(s->nodes);
    free(s);
    return rc;
  }
  uv_timer_init(disc_loop(t), &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, on_timer, 0, s->interval_ms);
  disc_set_state(t, s);
  return 0;
}

static void timer_closed(uv_handle_t *h) {
  dir_state *s = h->data;
  s->timer_closed = true;
  if (!s->busy) finish(s);
}

static void dir_stop(disc_topology *t) {
  dir_state *s = disc_state(t);
  if (!s) return;
  s->stopping = true;
  uv_close((uv_handle_t *)&s->timer, timer_closed);
  disc_set_state(t, NULL);
}

static const char *const dir_keys[] = {"", "interval_ms", "ttl_ms", NULL};

const disc_strategy disc_dir = {"dir", dir_start, dir_stop, dir_keys};
