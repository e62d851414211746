/* The node's lifecycle: name, cookie and creation, init, run on this or
 * a thread of its own, stop, close. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/node_internal.h"

/* ---- name, cookie, creation -------------------------------------------- */

static int set_name(nodus_node *node, const char *name) {
  if (!name || !*name) return NODUS_EBADNAME;
  const char *at = strchr(name, '@');
  size_t alive_len = at ? (size_t)(at - name) : strlen(name);
  if (alive_len == 0 || alive_len >= sizeof node->alive) return NODUS_EBADNAME;
  memcpy(node->alive, name, alive_len);
  node->alive[alive_len] = 0;
  if (at) {
    if (!at[1] || strlen(at + 1) >= sizeof node->host || strchr(at + 1, '@'))
      return NODUS_EBADNAME;
    strcpy(node->host, at + 1);
  } else {
    /* A short name: this host's name up to the first dot, as -sname. */
    if (gethostname(node->host, sizeof node->host - 1)) return NODUS_EBADNAME;
    node->host[sizeof node->host - 1] = 0;
    char *dot = strchr(node->host, '.');
    if (dot) *dot = 0;
  }
  int n = snprintf(node->name_text, sizeof node->name_text, "%s@%s",
                   node->alive, node->host);
  if (n < 0 || (size_t)n >= sizeof node->name_text) return NODUS_EBADNAME;
  return nodus_atom_intern(node->name_text, (size_t)n, &node->name);
}

/* Reads ~/.erlang.cookie, creating it as erl does when it is missing. */
static int load_cookie(nodus_node *node) {
  const char *home = getenv("HOME");
  if (!home) return NODUS_ECOOKIE;
  char path[1024];
  snprintf(path, sizeof path, "%s/.erlang.cookie", home);
  FILE *f = fopen(path, "r");
  if (!f && errno == ENOENT) {
    uint8_t rnd[20];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) return NODUS_ECOOKIE;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0400);
    if (fd < 0) return NODUS_ECOOKIE;
    char cookie[21];
    for (int i = 0; i < 20; i++) cookie[i] = (char)('A' + rnd[i] % 26);
    cookie[20] = 0;
    ssize_t w = write(fd, cookie, 20);
    close(fd);
    if (w != 20) return NODUS_ECOOKIE;
    f = fopen(path, "r");
  }
  if (!f) return NODUS_ECOOKIE;
  size_t n = fread(node->cookie, 1, sizeof node->cookie - 1, f);
  fclose(f);
  node->cookie[n] = 0;
  while (n > 0 && (node->cookie[n - 1] == '\n' || node->cookie[n - 1] == '\r' ||
                   node->cookie[n - 1] == ' '))
    node->cookie[--n] = 0;
  return n ? 0 : NODUS_ECOOKIE;
}

/* ---- lifecycle --------------------------------------------------------- */


int rt_node_init(nodus_node **out, const nodus_node_opts *opts,
                 const struct nodus_service *const *services) {
  if (!out || !opts) return NODUS_EINVAL;
  nodus_node *node = calloc(1, sizeof *node);
  if (!node) return NODUS_ENOMEM;
  node->opts = *opts;
  node->opts.name = NULL;
  node->opts.cookie = NULL;
  node->opts.listen_address = NULL;
  node->opts.services = NULL; /* the caller's array: copied below */
  int rc = rt_services_set(node, services);
  if (rc) goto fail_free;
  if (!node->opts.net_ticktime_ms) node->opts.net_ticktime_ms = 60000;
  if (!node->opts.epmd_port) {
    const char *e = getenv("ERL_EPMD_PORT");
    node->opts.epmd_port = e && atoi(e) > 0 ? atoi(e) : 4369;
  }
  if ((rc = set_name(node, opts->name))) goto fail_free;
  if ((rc = rt_known_atoms_make())) goto fail_free;
  if (opts->cookie) {
    if (strlen(opts->cookie) >= sizeof node->cookie) {
      rc = NODUS_EINVAL;
      goto fail_free;
    }
    strcpy(node->cookie, opts->cookie);
  } else if ((rc = load_cookie(node))) {
    goto fail_free;
  }
  node->dflags = NODUS_DFLAGS_DEFAULT;
  if (opts->hidden) node->dflags &= ~DFLAG_PUBLISHED;
  uint8_t rnd[8];
  /* The kernel's CSPRNG: starting OpenSSL's costs a node megabytes. */
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
    rc = NODUS_ENOMEM;
    goto fail_free;
  }
  memcpy(&node->ref_counter, rnd, sizeof node->ref_counter);
  node->ref_counter &= 0xFFFFFFFFull << 18; /* fresh low bits per node */
  /* Until epmd gives one: a random creation, never 0 (OTP 23+). */
  node->creation = (uint32_t)(rnd[0] | rnd[1] << 8 | rnd[2] << 16) | 4;
  idmap_init(&node->procs);
  idmap_init(&node->names);
  idmap_init(&node->aliases);
  pthread_mutex_init(&node->inbox_lock, NULL);
  pthread_mutex_init(&node->ref_lock, NULL);
  pthread_cond_init(&node->inbox_cond, NULL);
  if (uv_loop_init(&node->loop)) {
    rc = NODUS_ENOMEM;
    goto fail_free;
  }
  node->loop.data = node;
  uv_async_init(&node->loop, &node->wakeup, rt_inbox_on_wakeup);
  node->wakeup.data = node;
  uv_idle_init(&node->loop, &node->runner);
  node->runner.data = node;
  uv_idle_init(&node->loop, &node->spinner);
  node->spinner.data = node;
  node->spin_ns = opts->spin_us < 0    ? 0
                  : opts->spin_us == 0 ? NODUS_SPIN_DEFAULT_US * 1000ull
                                       : (uint64_t)opts->spin_us * 1000;

  const char *addr = opts->listen_address ? opts->listen_address : "0.0.0.0";
  if ((rc = rt_peers_start(node, addr, opts->port))) goto fail_loop;
  if ((rc = rt_epmd_start(node))) goto fail_loop;
  dist_peers_set_creation(node->peers, node->creation);
  if ((rc = rt_sysprocs_start(node))) goto fail_loop;
  if ((rc = rt_services_start(node))) goto fail_loop;
  *out = node;
  return 0;

fail_loop:
  node->stopping = true;
  rt_node_shutdown(node);
  uv_run(&node->loop, UV_RUN_DEFAULT);
  uv_loop_close(&node->loop);
fail_free:
  dist_peers_free(node->peers);
  rt_services_stop(node);
  rt_node_events_close(node);
  free(node->epmd_wait);
  free(node);
  return rc;
}

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Ends every process and connection and closes the handles, so uv_run
 * returns. */
void rt_node_shutdown(nodus_node *node) {
  if (node->closing) return;
  pthread_mutex_lock(&node->inbox_lock);
  node->closing = true;
  pthread_mutex_unlock(&node->inbox_lock);
  dist_peers_stop(node->peers); /* exit signals to up peers still go */
  rt_procs_close_all(node);
  dist_peers_close(node->peers);
  rt_epmd_close(node);
  close_if_open((uv_handle_t *)&node->runner);
  close_if_open((uv_handle_t *)&node->spinner);
  close_if_open((uv_handle_t *)&node->wakeup);
}

/* A write to a socket its peer has closed raises SIGPIPE in the writing
 * thread, whose default action ends the process: a peer (or epmd) closing
 * at the wrong moment would kill the node. libuv writes with write(2), so
 * the loop thread blocks SIGPIPE while it runs (EPIPE comes back as an
 * error instead) and drops one left pending before it restores the mask,
 * leaving the process's own disposition alone. */
static void sigpipe_block(sigset_t *old) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, old);
}

static void sigpipe_restore(const sigset_t *old) {
  if (sigismember(old, SIGPIPE)) return; /* it was blocked before us */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, old, NULL);
}

int nodus_node_run(nodus_node *node) {
  if (node->running && !node->has_thread) return NODUS_ESTATE;
  node->loop_thread = pthread_self();
  node->running = true;
  sigset_t old;
  sigpipe_block(&old);
  uv_run(&node->loop, UV_RUN_DEFAULT);
  sigpipe_restore(&old);
  node->running = false;
  return 0;
}

static void *thread_main(void *arg) {
  nodus_node_run(arg);
  return NULL;
}

int nodus_node_start(nodus_node *node) {
  if (node->running || node->has_thread) return NODUS_ESTATE;
  node->has_thread = true;
  node->running = true; /* before the thread: rt_on_loop must say no */
  if (pthread_create(&node->thread, NULL, thread_main, node)) {
    node->has_thread = false;
    node->running = false;
    return NODUS_ENOMEM;
  }
  node->loop_thread = node->thread;
  return 0;
}

static void stop_on_loop(nodus_node *node, void *arg) {
  node->stopping = true;
}

void nodus_node_stop(nodus_node *node) {
  if (!node) return;
  if (rt_on_loop(node)) {
    node->stopping = true;
    rt_node_shutdown(node);
    return;
  }
  rt_call *c = calloc(1, sizeof *c);
  if (c) {
    c->fn = stop_on_loop;
    if (rt_inbox_post(node, c)) free(c);
  }
  if (node->has_thread) {
    pthread_join(node->thread, NULL);
    node->has_thread = false;
    node->running = false;
  }
}

void nodus_node_close(nodus_node *node) {
  if (!node) return;
  nodus_node_stop(node);
  /* Not run, or stopped from the loop: finish closing the handles here. */
  node->stopping = true;
  rt_node_shutdown(node);
  uv_run(&node->loop, UV_RUN_DEFAULT);
  uv_loop_close(&node->loop);
  rt_inbox_release(node);
  idmap_free(&node->procs);
  idmap_free(&node->names);
  dist_peers_free(node->peers);
  idmap_free(&node->aliases);
  rt_services_stop(node);
  rt_node_events_close(node);
  while (node->spawns) {
    rt_spawn_entry *s = node->spawns;
    node->spawns = s->next;
    free(s);
  }
  pthread_mutex_destroy(&node->inbox_lock);
  pthread_mutex_destroy(&node->ref_lock);
  pthread_cond_destroy(&node->inbox_cond);
  free(node->epmd_wait);
  free(node);
}

nodus_atom nodus_node_name(const nodus_node *node) { return node->name; }
const char *nodus_node_cookie(const nodus_node *node) { return node->cookie; }
uint32_t nodus_node_creation(const nodus_node *node) { return node->creation; }
int nodus_node_port(const nodus_node *node) { return node->port; }

int nodus_make_ref(nodus_node *node, nodus_term *ref) {
  pthread_mutex_lock(&node->ref_lock);
  uint64_t n = ++node->ref_counter;
  pthread_mutex_unlock(&node->ref_lock);
  /* BEAM keeps 18 bits in the first word of a reference. */
  uint32_t w[3] = {(uint32_t)(n & 0x3FFFF), (uint32_t)(n >> 18),
                   (uint32_t)(n >> 50)};
  return nodus_mk_ref(ref, node->name, node->creation, w, 3);
}
