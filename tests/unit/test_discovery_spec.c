/* The discovery spec grammar and option checks (nodus_discovery_check):
 * what parses, and for what does not, the position and the reason. */
#include <string.h>

#include "check.h"
#include "nodus.h"
#include "nodus/discovery.h"

static void ok(const char *spec) {
  char err[300] = "x";
  int rc = nodus_discovery_check(spec, err, sizeof err);
  if (rc) fprintf(stderr, "  '%s' refused: %s\n", spec, err);
  CHECK_RC(rc, 0);
  CHECK_STR(err, "");
}

/* Refused, with every needle in the message. */
static void bad(const char *spec, const char *needle1, const char *needle2) {
  char err[300] = "";
  CHECK_RC(nodus_discovery_check(spec, err, sizeof err), NODUS_EINVAL);
  bool has = strstr(err, needle1) && (!needle2 || strstr(err, needle2));
  if (!has)
    fprintf(stderr, "  '%s': message '%s' lacks '%s'%s%s\n", spec, err, needle1,
            needle2 ? " / " : "", needle2 ? needle2 : "");
  CHECK(has);
}

int main(void) {
  ok("static:a@h1,b@h2");
  ok("static:a@h1");
  ok("  static : a@h1 , b@h2  ");
  ok("static:a@h1;static:c@h3,disconnect_missing=true");
  ok("static:a@h1,backoff_min_ms=50,backoff_max_ms=500,connect_timeout_ms=300");
  ok("static:a@h1,disconnect_missing=false");
  ok("static"); /* the grammar allows it; start says no names */

  bad("", "position 1", "empty spec");
  bad("   ", "position 1", "empty spec");
  bad("nosuch:a@h", "position 1", "unknown strategy 'nosuch'");
  bad("static:a@h;bogus", "position 12", "unknown strategy 'bogus'");
  bad("static:a@h;", "position 12", "strategy name is missing");
  bad(";static:a@h", "position 1", "strategy name is missing");
  bad("static:a@h,,b@h", "position 12", "empty item");
  bad("static:", "position 8", "empty item");
  bad("static:a@h,colour=red", "position 12", "'colour' is not an option of static");
  bad("static:a@h,colour=red", "disconnect_missing", NULL); /* lists the options */
  bad("static:a@h,=x", "position 12", "key is missing");
  bad("static:a@h,backoff_min_ms=", "position 12", "has no value");
  bad("static:a@h,backoff_min_ms=fast", "position 12", "not an unsigned integer");
  bad("static:a@h,backoff_max_ms=-5", "not an unsigned integer", NULL);
  bad("static:a@h,disconnect_missing=maybe", "position 12", "not true or false");
  bad("static:a@h;static:b@h,connect_timeout_ms=1x", "position 23",
      "connect_timeout_ms=1x");
  bad(NULL, "no spec", NULL);

  /* err may be NULL or tiny */
  CHECK_RC(nodus_discovery_check("nosuch", NULL, 0), NODUS_EINVAL);
  char tiny[8];
  CHECK_RC(nodus_discovery_check("nosuch", tiny, sizeof tiny), NODUS_EINVAL);
  CHECK(strlen(tiny) == 7);
  return check_report();
}
