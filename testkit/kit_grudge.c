/* Grudges: who drops whose packets. Built as sides (sets of nodes that
 * talk among themselves) and turned into per-node drop masks. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

#define BIT(j) ((uint64_t)1 << (j))

static void clear(nodus_kit_grudge *g, int n) {
  memset(g, 0, sizeof *g);
  g->n = n;
}

/* side[i] = side number; nodes on different sides drop each other. */
static void from_sides(nodus_kit_grudge *g, int n, const int *side) {
  clear(g, n);
  for (int i = 1; i <= n; i++)
    for (int j = 1; j <= n; j++)
      if (i != j && side[i] != side[j]) g->drops[i] |= BIT(j);
}

static void cut(nodus_kit_grudge *g, int a, int b) {
  g->drops[a] |= BIT(b);
  g->drops[b] |= BIT(a);
}

void nodus_kit_grudge_halves(nodus_kit_grudge *g, int n) {
  int side[NODUS_KIT_MAX_NODES + 1];
  for (int i = 1; i <= n; i++) side[i] = i <= n / 2;
  from_sides(g, n, side);
}

void nodus_kit_grudge_isolate(nodus_kit_grudge *g, int n, int i) {
  int side[NODUS_KIT_MAX_NODES + 1];
  for (int k = 1; k <= n; k++) side[k] = k == i;
  from_sides(g, n, side);
}

void nodus_kit_grudge_bridge(nodus_kit_grudge *g, int n) {
  clear(g, n);
  int b = n / 2 + 1;
  for (int i = 1; i < b; i++)
    for (int j = b + 1; j <= n; j++) cut(g, i, j);
}

void nodus_kit_grudge_ring(nodus_kit_grudge *g, int n) {
  clear(g, n);
  int majority = n / 2 + 1;
  int r = majority / 2; /* neighbours each way: 2r+1 >= majority */
  for (int i = 1; i <= n; i++)
    for (int j = i + 1; j <= n; j++) {
      int d = j - i < n - (j - i) ? j - i : n - (j - i);
      if (d > r) cut(g, i, j);
    }
}

int nodus_kit_grudge_parse(nodus_kit_grudge *g, int n, const char *spec) {
  int side[NODUS_KIT_MAX_NODES + 1];
  for (int i = 1; i <= n; i++) side[i] = -i; /* unnamed: alone */
  int s = 1;
  const char *p = spec;
  while (*p) {
    if (!isdigit((unsigned char)*p)) return NODUS_ESYNTAX;
    char *end;
    long v = strtol(p, &end, 10);
    if (v < 1 || v > n || side[v] > 0) return NODUS_ESYNTAX;
    side[v] = s;
    p = end;
    if (*p == ',') p++;
    else if (*p == '/') p++, s++;
    else if (*p) return NODUS_ESYNTAX;
    if ((*p == 0 && (p[-1] == ',' || p[-1] == '/'))) return NODUS_ESYNTAX;
  }
  if (s < 2 && n > 1) {
    /* "1,2" alone: the named nodes against everyone else. */
    for (int i = 1; i <= n; i++)
      if (side[i] < 0) side[i] = 2;
  }
  from_sides(g, n, side);
  return 0;
}

void nodus_kit_grudge_format(const nodus_kit_grudge *g, char *buf,
                             size_t size) {
  /* Sides if the grudge is a clean partition (talking is transitive),
   * else the list of cut pairs. */
  int side[NODUS_KIT_MAX_NODES + 1] = {0}, sides = 0;
  bool clean = true;
  for (int i = 1; i <= g->n; i++) {
    if (side[i]) continue;
    side[i] = ++sides;
    for (int j = i + 1; j <= g->n; j++)
      if (!(g->drops[i] & BIT(j)) && !(g->drops[j] & BIT(i))) side[j] = sides;
  }
  for (int i = 1; i <= g->n; i++)
    for (int j = 1; j <= g->n; j++)
      if (i != j && (side[i] == side[j]) == !!(g->drops[i] & BIT(j)))
        clean = false;
  size_t o = 0;
  buf[0] = 0;
  if (clean) {
    for (int s = 1; s <= sides; s++) {
      const char *sep = s > 1 ? "/" : "";
      for (int i = 1; i <= g->n && o < size; i++)
        if (side[i] == s) {
          o += (size_t)snprintf(buf + o, size - o, "%s%d", sep, i);
          sep = ",";
        }
    }
    return;
  }
  o += (size_t)snprintf(buf, size, "cut");
  for (int i = 1; i <= g->n; i++)
    for (int j = i + 1; j <= g->n && o < size; j++)
      if (g->drops[i] & BIT(j))
        o += (size_t)snprintf(buf + o, size - o, " %d-%d", i, j);
}
