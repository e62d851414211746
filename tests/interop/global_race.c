/* global_race: ROUNDS races of one :global name between a C node and a
 * BEAM node, both registering at the same moment, in a cluster of two C
 * nodes (this program runs both) and two BEAM nodes.
 *
 *   global_race --epmd-port P --cookie C --host H --beam E1 --beam2 E2
 *               [--rounds N]
 *
 * E1 runs a process registered as `racer` (test_global_race.sh): on
 * {go, I, From} it spawns a process that calls
 * global:register_name({race, I}, self()) and sends From {res, I, Answer,
 * Pid}; on {check, I, From} it sends {where, I, WhereOnE1, WhereOnE2}; on
 * {done, I} its round's process ends. Each round this program sends go
 * and, without waiting, registers the same name for a fresh pid of c1.
 * Both answers in, exactly one must be yes, and whereis on all four nodes
 * must give the winner's pid. Prints one line per bad round and a summary;
 * exits 0 when every round was good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodus.h"

static nodus_node *start(const char *name, const char *cookie, int port) {
  nodus_node_opts opts = {.name = name,
                          .cookie = cookie,
                          .epmd_mode = NODUS_EPMD_SYSTEM,
                          .epmd_port = port};
  nodus_node *n = NULL;
  int rc = nodus_node_init(&opts, &n);
  if (!rc) rc = nodus_node_start(n);
  if (rc) {
    fprintf(stderr, "global_race: node %s: %s\n", name, nodus_strerror(rc));
    exit(2);
  }
  return n;
}

static nodus_atom atom(const char *s) {
  nodus_atom a = 0;
  nodus_atom_intern(s, strlen(s), &a);
  return a;
}

/* The next {Tag, Round, _, _}; others (a late round's) are dropped. */
static int recv_round(nodus_mailbox *mb, const char *tag, int64_t round,
                      nodus_term *msg) {
  for (;;) {
    int rc = nodus_mailbox_recv(mb, msg, 10000);
    if (rc) return rc;
    int64_t i;
    char pat[64];
    snprintf(pat, sizeof pat, "{%s, ~i, _, _}", tag); /* res and where */
    if (nodus_match(msg, pat, &i) == 0 && i == round) return 0;
    nodus_term_free(msg);
  }
}

int main(int argc, char **argv) {
  const char *cookie = NULL, *host = NULL, *e1s = NULL, *e2s = NULL;
  int port = 0, rounds = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--epmd-port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--cookie")) cookie = argv[i + 1];
    else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--beam")) e1s = argv[i + 1];
    else if (!strcmp(argv[i], "--beam2")) e2s = argv[i + 1];
    else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
  }
  if (!cookie || !host || !e1s || !e2s || port <= 0) {
    fprintf(stderr, "usage: global_race --epmd-port P --cookie C --host H "
                    "--beam E1 --beam2 E2 [--rounds N]\n");
    return 2;
  }
  char n1[128], n2[128];
  snprintf(n1, sizeof n1, "grc1_%d@%s", (int)getpid(), host);
  snprintf(n2, sizeof n2, "grc2_%d@%s", (int)getpid(), host);
  nodus_node *c1 = start(n1, cookie, port), *c2 = start(n2, cookie, port);
  nodus_atom e1 = atom(e1s), e2 = atom(e2s);
  if (nodus_node_ping(c1, e1, 5000) || nodus_node_ping(c1, e2, 5000) ||
      nodus_node_ping(c2, e1, 5000) || nodus_node_ping(c1, nodus_node_name(c2), 5000)) {
    fprintf(stderr, "global_race: cannot reach the cluster\n");
    return 2;
  }
  if (nodus_global_sync(c1, 15000) || nodus_global_sync(c2, 15000)) {
    fprintf(stderr, "global_race: global_sync timed out\n");
    return 2;
  }
  nodus_mailbox *me;
  nodus_mailbox_open(c1, &me);
  nodus_term racer;
  nodus_build(&racer, "{racer, ~A}", e1);
  int c_won = 0, beam_won = 0, bad = 0;
  for (int i = 0; i < rounds && bad < 10; i++) {
    nodus_mailbox *mine;
    nodus_mailbox_open(c1, &mine);
    nodus_term name, mypid, go;
    nodus_build(&name, "{race, ~i}", (int64_t)i);
    nodus_copy(&mypid, nodus_mailbox_pid(mine));
    nodus_term from;
    nodus_copy(&from, nodus_mailbox_pid(me));
    nodus_build(&go, "{go, ~i, ~t}", (int64_t)i, from);
    nodus_mailbox_send(me, &racer, go);
    int crc = nodus_global_register(c1, &name, &mypid, NULL);
    nodus_term res;
    const nodus_term *answer, *beam_pid;
    int64_t ri;
    if (recv_round(me, "res", i, &res) ||
        nodus_match(&res, "{res, ~i, ~t, ~t}", &ri, &answer, &beam_pid)) {
      printf("round %d: no answer from the BEAM racer\n", i);
      bad++;
      goto next;
    }
    bool beam_yes = nodus_is_atom(answer, "yes");
    if ((crc == 0) == beam_yes || (crc && crc != NODUS_EEXIST)) {
      printf("round %d: C said %s, BEAM said %s\n", i,
             crc ? nodus_err_name(crc) : "yes", beam_yes ? "yes" : "no");
      bad++;
      nodus_term_free(&res);
      goto next;
    }
    const nodus_term *winner = crc == 0 ? &mypid : beam_pid;
    crc == 0 ? c_won++ : beam_won++;
    nodus_term w1 = {0}, w2 = {0};
    bool agree = nodus_global_whereis(c1, &name, &w1) == 0 &&
                 nodus_equal(&w1, winner) &&
                 nodus_global_whereis(c2, &name, &w2) == 0 &&
                 nodus_equal(&w2, winner);
    nodus_term_free(&w1);
    nodus_term_free(&w2);
    nodus_term chk, where;
    nodus_copy(&from, nodus_mailbox_pid(me));
    nodus_build(&chk, "{check, ~i, ~t}", (int64_t)i, from);
    nodus_mailbox_send(me, &racer, chk);
    const nodus_term *we1, *we2;
    if (recv_round(me, "where", i, &where)) {
      agree = false;
    } else {
      if (nodus_match(&where, "{where, _, ~t, ~t}", &we1, &we2) ||
          !nodus_equal(we1, winner) || !nodus_equal(we2, winner))
        agree = false;
      nodus_term_free(&where);
    }
    if (!agree) {
      printf("round %d: the nodes do not agree on the winner\n", i);
      bad++;
    }
    nodus_term_free(&res);
  next:;
    nodus_term done;
    nodus_build(&done, "{done, ~i}", (int64_t)i);
    nodus_mailbox_send(me, &racer, done);
    nodus_mailbox_close(mine); /* its name, if it won, goes everywhere */
    nodus_term_free(&name);
    nodus_term_free(&mypid);
  }
  printf("%d rounds: C won %d, BEAM won %d, bad %d\n", c_won + beam_won + bad,
         c_won, beam_won, bad);
  nodus_term_free(&racer);
  nodus_mailbox_close(me);
  nodus_node_close(c2);
  nodus_node_close(c1);
  return bad ? 1 : 0;
}
