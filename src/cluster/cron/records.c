/* A member's records of its scheduler's jobs: the highest owner epoch it
 * has seen (its promise), the last tick claimed and the last tick done.
 * Owners read them as they take over and write claims and dones before
 * and after each run; an epoch below the promise is refused, which is
 * what keeps an old owner cut off by a partition from claiming a tick a
 * new owner may run (cron_internal.h has the messages). A member that
 * restarts forgets its records: what was claimed survives while a
 * majority of the members keep theirs between a claim and the next
 * owner's read, as with any store kept in memory by a quorum. */
#include <stdio.h>
#include <string.h>

#include "cluster/cron/cron_internal.h"
#include "nodus/error.h"

cron_job *cron_job_find(struct nodus_cron *c, const uint8_t *name, size_t len) {
  for (size_t i = 0; i < c->n_jobs; i++)
    if (strlen(c->jobs[i].spec.name) == len && !memcmp(c->jobs[i].spec.name, name, len))
      return &c->jobs[i];
  return NULL;
}

static void reply(nodus_proc *self, const nodus_term *to, nodus_term msg) {
  nodus_send_from(self, to, msg);
}

/* A claim or a done counts only from the owner whose read this member
 * answered last: "stale" for an older one (a newer owner has read), and
 * "unread" for a newer one this member has not answered (it was away,
 * or restarted and forgot its records): the owner reads it again. */
static const char *verdict_for(const cron_job *j, uint64_t epoch) {
  return epoch == j->promised ? "ok" : epoch < j->promised ? "stale" : "unread";
}

static void on_message(nodus_proc *self, const nodus_term *msg) {
  struct nodus_cron *c = nodus_proc_state(self);
  if (!c) { /* cron_records_stop */
    nodus_term normal;
    if (!nodus_mk_atom(&normal, "normal")) nodus_exit(self, &normal);
    return;
  }
  const nodus_term *to, *ref;
  const uint8_t *name;
  size_t len;
  int64_t epoch, tick;
  nodus_atom self_node = nodus_node_name(c->node);
  nodus_term out;
  if (!nodus_match(msg, "{cron_read, ~t, ~t, ~b, ~i}", &to, &ref, &name, &len, &epoch)) {
    cron_job *j = cron_job_find(c, name, len);
    if (!j) return;
    pthread_mutex_lock(&c->lock);
    bool ok = (uint64_t)epoch >= j->promised;
    if (ok) j->promised = (uint64_t)epoch;
    int64_t claimed = j->claimed, done = j->done;
    pthread_mutex_unlock(&c->lock);
    if (!nodus_build(&out, "{cron_read_reply, ~t, ~A, ~a, ~t, ~t}", cron_copy(ref), self_node,
                     ok ? "ok" : "stale", cron_tick_term(claimed), cron_tick_term(done)))
      reply(self, to, out);
  } else if (!nodus_match(msg, "{cron_claim, ~t, ~t, ~b, ~i, ~i}", &to, &ref, &name, &len,
                          &epoch, &tick)) {
    cron_job *j = cron_job_find(c, name, len);
    if (!j) return;
    pthread_mutex_lock(&c->lock);
    const char *verdict = verdict_for(j, (uint64_t)epoch);
    if (verdict[0] == 'o' && j->claimed != CRON_NONE && tick <= j->claimed) verdict = "stale";
    if (verdict[0] == 'o') j->claimed = tick;
    pthread_mutex_unlock(&c->lock);
    if (!nodus_build(&out, "{cron_claim_reply, ~t, ~A, ~a}", cron_copy(ref), self_node,
                     verdict))
      reply(self, to, out);
  } else if (!nodus_match(msg, "{cron_done, ~t, ~t, ~b, ~i, ~i}", &to, &ref, &name, &len,
                          &epoch, &tick)) {
    cron_job *j = cron_job_find(c, name, len);
    if (!j) return;
    pthread_mutex_lock(&c->lock);
    const char *verdict = verdict_for(j, (uint64_t)epoch);
    if (verdict[0] == 'o' && (j->done == CRON_NONE || tick > j->done))
      j->done = tick, j->done_epoch = (uint64_t)epoch;
    pthread_mutex_unlock(&c->lock);
    if (!nodus_build(&out, "{cron_done_reply, ~t, ~A, ~a}", cron_copy(ref), self_node,
                     verdict))
      reply(self, to, out);
  }
}

/* The node may close before the scheduler does: then the process is
 * gone, and so is the node (cron_records_stop must not touch it). */
static void on_exit_(nodus_proc *self, const nodus_term *reason) {
  (void)reason;
  struct nodus_cron *c = nodus_proc_state(self);
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  c->records_ended = true;
  pthread_mutex_unlock(&c->lock);
}

int cron_records_start(struct nodus_cron *c) {
  nodus_proc_spec spec = {.on_message = on_message, .on_exit = on_exit_, .state = c,
                          .register_name = c->records_name};
  return nodus_spawn(c->node, &spec, &c->records_pid);
}

/* On the loop: the process forgets c at once (no handler touches it
 * after this returns) and ends on the message that follows. */
static void stop_on_loop(nodus_node *node, void *arg) {
  struct nodus_cron *c = arg;
  nodus_proc *p = nodus_proc_lookup(node, &c->records_pid);
  if (!p) return;
  nodus_proc_set_state(p, NULL);
  nodus_send(node, &c->records_pid, nodus_atom_term(NODUS_ATOM_UNDEFINED));
}

void cron_records_stop(struct nodus_cron *c) {
  pthread_mutex_lock(&c->lock);
  bool ended = c->records_ended;
  pthread_mutex_unlock(&c->lock);
  if (!ended && c->records_pid.type != NODUS_T_NONE) nodus_node_call(c->node, stop_on_loop, c);
  nodus_term_free(&c->records_pid);
}
