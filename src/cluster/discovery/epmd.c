/* epmd: the nodes registered in epmd on a list of hosts (libcluster's Epmd
 * and LocalEpmd): epmd:h1,h2,interval_ms=5000,port=4369. Without hosts,
 * this node's own host. The poller (epmd_poll.h) is shared with
 * hosts_file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/discovery/epmd_poll.h"
#include "distribution/epmd_client.h"

#define DEFAULT_INTERVAL_MS 5000
#define DEFAULT_TIMEOUT_MS 2000

typedef struct host_slot {
  disc_epmd_poll *p;
  char *host;
  epmd_op *op;
  nodus_atom *nodes; /* what it listed last */
  size_t n_nodes;
} host_slot;

struct disc_epmd_poll {
  disc_topology *t;
  disc_epmd_hosts_fn hosts_fn;
  void *arg;
  unsigned interval_ms, timeout_ms, port;
  uv_timer_t timer;
  host_slot **slots;
  size_t n_slots;
  size_t pending;
  bool stopped;
};

static void slot_free(host_slot *s) {
  if (s->op) epmd_cancel(s->op);
  free(s->host);
  free(s->nodes);
  free(s);
}

int disc_epmd_poll_set_hosts(disc_epmd_poll *p, const char *const *hosts,
                             size_t n) {
  if (p->pending) return NODUS_ESTATE; /* only between rounds */
  host_slot **slots = calloc(n ? n : 1, sizeof *slots);
  if (!slots) return NODUS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    /* a host polled before keeps what it listed */
    for (size_t k = 0; k < p->n_slots && !slots[i]; k++)
      if (p->slots[k] && !strcmp(p->slots[k]->host, hosts[i])) {
        slots[i] = p->slots[k];
        p->slots[k] = NULL;
      }
    if (!slots[i] && (slots[i] = calloc(1, sizeof **slots))) {
      slots[i]->p = p;
      slots[i]->host = strdup(hosts[i]);
    }
    if (!slots[i] || !slots[i]->host) {
      for (size_t k = 0; k <= i && k < n; k++)
        if (slots[k]) slot_free(slots[k]);
      free(slots);
      return NODUS_ENOMEM;
    }
  }
  for (size_t k = 0; k < p->n_slots; k++)
    if (p->slots[k]) slot_free(p->slots[k]);
  free(p->slots);
  p->slots = slots;
  p->n_slots = n;
  return 0;
}

static void round_done(disc_epmd_poll *p) {
  size_t total = 0;
  for (size_t i = 0; i < p->n_slots; i++) total += p->slots[i]->n_nodes;
  nodus_atom *all = total ? malloc(total * sizeof *all) : NULL;
  if (all) {
    size_t at = 0;
    for (size_t i = 0; i < p->n_slots; i++) {
      memcpy(all + at, p->slots[i]->nodes, p->slots[i]->n_nodes * sizeof *all);
      at += p->slots[i]->n_nodes;
    }
    disc_report_all(p->t, all, at);
    free(all);
  }
  uv_timer_again(&p->timer);
}

static void on_names(int status, const epmd_name_list *list, void *data) {
  host_slot *s = data;
  disc_epmd_poll *p = s->p;
  s->op = NULL;
  if (status) {
    disc_report_error(p->t, "epmd on %s: %s", s->host, nodus_strerror(status));
  } else {
    nodus_atom *nodes = calloc(list->count ? list->count : 1, sizeof *nodes);
    size_t n = 0;
    for (size_t i = 0; nodes && i < list->count; i++) {
      char name[600];
      int len = snprintf(name, sizeof name, "%s@%s", list->entries[i].name, s->host);
      if (len > 0 && (size_t)len < sizeof name &&
          disc_node_atom(name, (size_t)len, &nodes[n]) == 0)
        n++;
      else
        disc_log_dropped(p->t, "a name from epmd on %s that is no node name",
                         s->host);
    }
    if (nodes) {
      free(s->nodes);
      s->nodes = nodes;
      s->n_nodes = n;
    }
  }
  if (--p->pending == 0) round_done(p);
}

static void on_round(uv_timer_t *h) {
  disc_epmd_poll *p = h->data;
  if (p->stopped || p->pending) return;
  if (p->hosts_fn && p->hosts_fn(p, p->arg)) return; /* timer repeats */
  uv_timer_stop(&p->timer); /* again once every host answered */
  p->pending = 1; /* held until every request has started */
  for (size_t i = 0; i < p->n_slots; i++) {
    host_slot *s = p->slots[i];
    epmd_client_opts eo = {.host = s->host, .port = (int)p->port,
                           .timeout_ms = p->timeout_ms};
    p->pending++;
    int rc = epmd_names(disc_loop(p->t), &eo, on_names, s, &s->op);
    if (rc) {
      s->op = NULL;
      p->pending--;
      disc_report_error(p->t, "epmd on %s: %s", s->host, nodus_strerror(rc));
    }
  }
  if (--p->pending == 0) round_done(p);
}

int disc_epmd_poll_start(disc_topology *t, disc_epmd_hosts_fn hosts, void *arg,
                         char *err, size_t err_size, disc_epmd_poll **out) {
  disc_epmd_poll *p = calloc(1, sizeof *p);
  if (!p) return NODUS_ENOMEM;
  p->t = t;
  p->hosts_fn = hosts;
  p->arg = arg;
  int rc;
  if ((rc = disc_opt_uint(t, "interval_ms", DEFAULT_INTERVAL_MS, &p->interval_ms,
                          err, err_size)) ||
      (rc = disc_opt_uint(t, "timeout_ms", DEFAULT_TIMEOUT_MS, &p->timeout_ms,
                          err, err_size)) ||
      (rc = disc_opt_uint(t, "port", 0, &p->port, err, err_size))) {
    free(p);
    return rc;
  }
  if (!p->interval_ms) p->interval_ms = DEFAULT_INTERVAL_MS;
  if (!p->timeout_ms) p->timeout_ms = DEFAULT_TIMEOUT_MS;
  uv_timer_init(disc_loop(t), &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, on_round, 0, p->interval_ms);
  *out = p;
  return 0;
}

static void poll_closed(uv_handle_t *h) {
  disc_epmd_poll *p = h->data;
  for (size_t i = 0; i < p->n_slots; i++) slot_free(p->slots[i]);
  free(p->slots);
  free(p);
}

void disc_epmd_poll_stop(disc_epmd_poll *p) {
  if (!p) return;
  p->stopped = true;
  for (size_t i = 0; i < p->n_slots; i++)
    if (p->slots[i]->op) {
      epmd_cancel(p->slots[i]->op);
      p->slots[i]->op = NULL;
    }
  uv_close((uv_handle_t *)&p->timer, poll_closed);
}

/* ---- the epmd strategy --------------------------------------------------- */

static int epmd_start(disc_topology *t, char *err, size_t err_size) {
  size_t n = disc_items(t);
  const char *own = strchr(nodus_atom_text(nodus_node_name(disc_node(t)), NULL), '@');
  const char **hosts = calloc(n ? n : 1, sizeof *hosts);
  if (!hosts) return NODUS_ENOMEM;
  for (size_t i = 0; i < n; i++) hosts[i] = disc_item(t, i);
  if (n == 0 && own) hosts[n++] = own + 1; /* LocalEpmd */
  disc_epmd_poll *p = NULL;
  int rc = disc_epmd_poll_start(t, NULL, NULL, err, err_size, &p);
  if (!rc && (rc = disc_epmd_poll_set_hosts(p, hosts, n))) {
    disc_epmd_poll_stop(p);
    p = NULL;
  }
  free(hosts);
  disc_set_state(t, p);
  return rc;
}

static void epmd_stop(disc_topology *t) {
  disc_epmd_poll_stop(disc_state(t));
  disc_set_state(t, NULL);
}

static const char *const epmd_keys[] = {"", "interval_ms", "timeout_ms", "port",
                                        NULL};

const disc_strategy disc_epmd = {"epmd", epmd_start, epmd_stop, epmd_keys};
