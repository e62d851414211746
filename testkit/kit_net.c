/* Hosts and network faults.
 *
 * Layout (TESTKIT.md): a bridge br0 inside its own namespace PREFIX-sw; a
 * namespace PREFIX-nI per node with eth0 = 10.77.S.I/24, its veth peer vI
 * enslaved to the bridge. The root namespace gets `blackhole 10.77.S.0/24`
 * (proto 177, our mark) so nothing addressed to the test subnet leaves the
 * machine. Faults are nft tables inside the node namespaces, so deleting a
 * namespace removes its faults with it: nothing is ever added to the root
 * namespace's firewall. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit_internal.h"

static void sw_name(const nodus_kit *kit, char *buf, size_t size) {
  snprintf(buf, size, "%s-sw", kit->prefix);
}

/* A subnet no route of this machine uses yet (another run's blackhole
 * included), picked from the prefix so parallel runs differ. */
static int pick_subnet(const char *prefix) {
  unsigned h = 5381;
  for (const char *p = prefix; *p; p++) h = h * 33 + (unsigned char)*p;
  for (int k = 0; k < 250; k++) {
    int s = 1 + (int)((h + (unsigned)k) % 250);
    char cidr[32], *out = NULL;
    snprintf(cidr, sizeof cidr, "10.77.%d.0/24", s);
    const char *argv[] = {"ip", "route", "show", cidr, NULL};
    int rc = kit_run(NULL, argv, NULL, 5000, &out);
    bool used = rc != 0 || (out && out[0]);
    free(out);
    out = NULL;
    if (!used) return s;
  }
  return -1;
}

int kit_net_up(nodus_kit *kit) {
  char sw[64];
  sw_name(kit, sw, sizeof sw);
  kit->subnet = pick_subnet(kit->prefix);
  if (kit->subnet < 0) return NODUS_ENET;
  int rc = kit_runf(NULL, "ip netns add %s", sw);
  if (rc) return NODUS_ENET;
  if (kit_runf(NULL, "ip -n %s link set lo up", sw) ||
      kit_runf(NULL, "ip -n %s link add br0 type bridge", sw) ||
      kit_runf(NULL, "ip -n %s link set br0 up", sw) ||
      kit_runf(NULL,
               "ip route add blackhole 10.77.%d.0/24 proto " KIT_ROUTE_PROTO,
               kit->subnet))
    return NODUS_ENET;
  for (int i = 1; i <= kit->n; i++) {
    kit_node *nd = &kit->nodes[i];
    char ns[sizeof nd->ns]; /* local: -Wrestrict can't tell *kit's fields apart */
    snprintf(ns, sizeof ns, "%s-n%d", kit->prefix, i);
    memcpy(nd->ns, ns, sizeof ns);
    snprintf(nd->ip, sizeof nd->ip, "10.77.%d.%d", kit->subnet, i);
    if (kit_runf(NULL, "ip netns add %s", nd->ns) ||
        kit_runf(NULL, "ip -n %s link set lo up", nd->ns) ||
        kit_runf(NULL, "ip -n %s link add eth0 type veth peer name v%d netns %s",
                 nd->ns, i, sw) ||
        kit_runf(NULL, "ip -n %s link set v%d master br0", sw, i) ||
        kit_runf(NULL, "ip -n %s link set v%d up", sw, i) ||
        kit_runf(NULL, "ip -n %s addr add %s/24 dev eth0", nd->ns, nd->ip) ||
        kit_runf(NULL, "ip -n %s link set eth0 up", nd->ns))
      return NODUS_ENET;
  }
  return 0;
}

/* Kills whatever still runs in a namespace, then deletes it. */
static int remove_netns(const char *ns) {
  char *out = NULL;
  const char *argv[] = {"ip", "netns", "pids", ns, NULL};
  if (kit_run(NULL, argv, NULL, 5000, &out) == 0 && out) {
    for (char *save, *t = strtok_r(out, "\n", &save); t;
         t = strtok_r(NULL, "\n", &save))
      kit_kill_wait((pid_t)atoi(t), 2000);
  }
  free(out);
  return kit_runf(NULL, "ip netns del %s", ns);
}

void kit_net_down(nodus_kit *kit) {
  for (int i = 1; i <= kit->n; i++)
    if (kit->nodes[i].ns[0] && kit_netns_exists(kit->nodes[i].ns))
      remove_netns(kit->nodes[i].ns);
  char sw[64];
  sw_name(kit, sw, sizeof sw);
  if (kit_netns_exists(sw)) remove_netns(sw);
  if (kit->subnet > 0)
    kit_runf(NULL, "ip route del blackhole 10.77.%d.0/24 proto " KIT_ROUTE_PROTO,
             kit->subnet);
}

int nodus_kit_cleanup(const char *prefix) {
  if (!prefix || !prefix[0]) prefix = NODUS_KIT_FAMILY;
  int removed = 0;
  char *out = NULL;
  const char *ls[] = {"ip", "netns", "list", NULL};
  if (kit_run(NULL, ls, NULL, 5000, &out) == 0 && out) {
    for (char *save, *t = strtok_r(out, "\n", &save); t;
         t = strtok_r(NULL, "\n", &save)) {
      char *sp = strchr(t, ' '); /* "name (id: 3)" */
      if (sp) *sp = 0;
      if (!strncmp(t, prefix, strlen(prefix)) && strchr(t, '-')) {
        remove_netns(t);
        removed++;
      }
    }
  }
  free(out);
  out = NULL;
  /* Our blackhole routes, whichever run made them. With a narrower prefix
   * than the family the routes cannot be told apart, so they stay unless
   * no kit namespace is left at all. */
  const char *rt[] = {"ip", "route", "show", "proto", KIT_ROUTE_PROTO, NULL};
  if (kit_run(NULL, rt, NULL, 5000, &out) == 0 && out) {
    bool any_ns_left = false;
    char *nsout = NULL;
    if (kit_run(NULL, ls, NULL, 5000, &nsout) == 0 && nsout)
      any_ns_left = strstr(nsout, NODUS_KIT_FAMILY) != NULL;
    free(nsout);
    for (char *save, *t = strtok_r(out, "\n", &save); t && !any_ns_left;
         t = strtok_r(NULL, "\n", &save)) {
      char cidr[64];
      if (sscanf(t, "blackhole %63s", cidr) == 1) {
        kit_runf(NULL, "ip route del blackhole %s proto " KIT_ROUTE_PROTO,
                 cidr);
        removed++;
      }
    }
  }
  free(out);
  /* Processes of loopback-mode runs (no namespace to take them along):
   * every child carries NODUS_KIT_RUN=<prefix...> in its environment. */
  char mark[64];
  snprintf(mark, sizeof mark, KIT_ENV_MARK "=%s", prefix);
  DIR *proc = opendir("/proc");
  for (struct dirent *e; proc && (e = readdir(proc));) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 1 || pid == getpid()) continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    char env[65536];
    size_t n = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    env[n] = 0;
    for (size_t off = 0; off < n; off += strlen(env + off) + 1) {
      if (!strncmp(env + off, mark, strlen(mark))) {
        kit_kill_wait(pid, 2000);
        removed++;
        break;
      }
    }
  }
  if (proc) closedir(proc);
  /* State dirs of runs that could not remove their own (SIGKILL). */
  DIR *tmp = opendir("/tmp");
  size_t plen = strlen("nodus-kit-");
  for (struct dirent *e; tmp && (e = readdir(tmp));) {
    if (strncmp(e->d_name, "nodus-kit-", plen) ||
        strncmp(e->d_name + plen, prefix, strlen(prefix)))
      continue;
    char path[400];
    snprintf(path, sizeof path, "/tmp/%s", e->d_name);
    kit_rm_rf(path);
    removed++;
  }
  if (tmp) closedir(tmp);
  return removed;
}

int kit_nft(nodus_kit *kit, int i, const char *ruleset) {
  const char *argv[] = {"nft", "-f", "-", NULL};
  int rc = kit_run(kit->nodes[i].ns, argv, ruleset, 10000, NULL);
  return rc == 0 ? 0 : NODUS_ENET;
}

/* "add" first makes the delete succeed whether or not the table exists. */
void kit_nft_delete(nodus_kit *kit, int i, const char *table) {
  char rules[256];
  snprintf(rules, sizeof rules, "add table %s\ndelete table %s\n", table,
           table);
  kit_nft(kit, i, rules);
}

static int need_netns(nodus_kit *kit, const char *what) {
  if (kit->netns) return 0;
  kit_fault(kit, what, "unsupported in loopback mode (no namespaces)");
  return NODUS_EUNSUPPORTED;
}

static bool valid(const nodus_kit *kit, int i) { return i >= 1 && i <= kit->n; }

int nodus_kit_partition(nodus_kit *kit, const nodus_kit_grudge *g) {
  int rc = need_netns(kit, "partition");
  if (rc) return rc;
  if (g->n != kit->n) return NODUS_EINVAL;
  for (int i = 1; i <= kit->n; i++) {
    /* One transaction per node: the old partition goes as the new comes. */
    char rules[2048];
    int len = snprintf(rules, sizeof rules,
                       "add table inet kit_part\ndelete table inet kit_part\n");
    if (g->drops[i]) {
      len += snprintf(rules + len, sizeof rules - (size_t)len,
                      "table inet kit_part { chain input { type filter hook "
                      "input priority 0; policy accept; ip saddr {");
      const char *sep = " ";
      for (int j = 1; j <= kit->n; j++)
        if (g->drops[i] >> j & 1) {
          len += snprintf(rules + len, sizeof rules - (size_t)len, "%s%s",
                          sep, kit->nodes[j].ip);
          sep = ", ";
        }
      snprintf(rules + len, sizeof rules - (size_t)len, " } drop; }; }\n");
    }
    if ((rc = kit_nft(kit, i, rules))) return rc;
  }
  char text[256];
  nodus_kit_grudge_format(g, text, sizeof text);
  kit_fault(kit, "partition", "%s", text);
  return 0;
}

static void stop_delay(nodus_kit *kit, int i) {
  if (kit->delay_pids[i] > 0) kit_kill_wait(kit->delay_pids[i], 2000);
  kit->delay_pids[i] = 0;
  kit_nft_delete(kit, i, "ip filter");
}

int nodus_kit_heal(nodus_kit *kit) {
  int rc = need_netns(kit, "heal");
  if (rc) return rc;
  for (int i = 1; i <= kit->n; i++) {
    kit_nft(kit, i,
            "add table inet kit_part\ndelete table inet kit_part\n"
            "add table inet kit_loss\ndelete table inet kit_loss\n");
    stop_delay(kit, i);
  }
  kit_save(kit);
  kit_fault(kit, "heal", "all");
  return 0;
}

int nodus_kit_loss(nodus_kit *kit, int i, int percent) {
  int rc = need_netns(kit, "loss");
  if (rc) return rc;
  if (i != 0 && !valid(kit, i)) return NODUS_EINVAL;
  if (percent < 0 || percent > 100) return NODUS_ERANGE;
  for (int k = i ? i : 1; k <= (i ? i : kit->n); k++) {
    char rules[512];
    snprintf(rules, sizeof rules,
             "add table inet kit_loss\ndelete table inet kit_loss\n"
             "table inet kit_loss { chain input { type filter hook input "
             "priority 0; policy accept; iifname \"eth0\" numgen random mod "
             "100 < %d drop; }; }\n",
             percent);
    if ((rc = kit_nft(kit, k, rules))) return rc;
  }
  kit_fault(kit, "loss", "node=%d percent=%d", i, percent);
  return 0;
}

/* nft's own `queue` statement is missing from this kernel, but the xtables
 * NFQUEUE target works through iptables-nft; the rule sits in its own
 * table so heal can drop it. The delay helper holds each queued packet
 * for the delay; --queue-bypass lets traffic flow when it is not running. */
int nodus_kit_delay(nodus_kit *kit, int i, int ms) {
  int rc = need_netns(kit, "delay");
  if (rc) return rc;
  if (i != 0 && !valid(kit, i)) return NODUS_EINVAL;
  if (ms < 0 || ms > 60000) return NODUS_ERANGE;
  char helper[600], msbuf[16], logp[600];
  snprintf(helper, sizeof helper, "%s/nodus_kit_delay", kit->bin_dir);
  snprintf(msbuf, sizeof msbuf, "%d", ms);
  for (int k = i ? i : 1; k <= (i ? i : kit->n); k++) {
    stop_delay(kit, k);
    if (ms == 0) continue;
    kit_node_path(kit, k, "delay.log", logp, sizeof logp);
    const char *argv[] = {helper, "--queue", "0", "--ms", msbuf, NULL};
    kit_spawn s = {.ns = kit->nodes[k].ns, .argv = argv, .out_path = logp,
                   .die_with_parent = !kit->persist, .mark = kit->prefix};
    kit->delay_pids[k] = kit_spawn_proc(&s);
    if (kit->delay_pids[k] <= 0) return NODUS_EIO;
    /* The helper prints "ready" once bound to its queue. */
    int64_t deadline = nodus_kit_now_ns() + 3000000000LL;
    for (;;) {
      char *txt = kit_read_file(logp, 0, NULL);
      bool ready = txt && strstr(txt, "ready");
      free(txt);
      if (ready) break;
      if (nodus_kit_now_ns() > deadline || !kit_pid_alive(kit->delay_pids[k]))
        return NODUS_EIO;
      nodus_kit_sleep_ms(5);
    }
    const char *ipt[] = {"iptables-nft", "-w", "-t", "filter", "-A", "INPUT",
                         "-i", "eth0", "-j", "NFQUEUE", "--queue-num", "0",
                         "--queue-bypass", NULL};
    /* iptables-nft writes into "table ip filter"; rename is not possible,
     * so the rule lives there and heal deletes that table (we own every
     * table in these namespaces). */
    if (kit_run(kit->nodes[k].ns, ipt, NULL, 10000, NULL) != 0)
      return NODUS_ENET;
  }
  kit_save(kit);
  kit_fault(kit, "delay", "node=%d ms=%d", i, ms);
  return 0;
}
