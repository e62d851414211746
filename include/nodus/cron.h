/* nodus — cluster cron: schedules, time zones and their next ticks.
 *
 * Schedules. A schedule is one of:
 *   - 5 fields, "minute hour day-of-month month day-of-week", or 6 with
 *     seconds first, "second minute hour dom month dow". Each field is
 *     `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n` or `a/n`
 *     (a to the field's end), or a comma list of those. Months take
 *     JAN..DEC, days of the week SUN..SAT (either case); day of week 0 and
 *     7 are both Sunday. As Vixie cron: when both day-of-month and
 *     day-of-week are restricted (neither starts with `*`), a day matches
 *     if EITHER does; otherwise both must (the unrestricted one always
 *     does).
 *   - a nickname: @yearly (= @annually) "0 0 1 1 *", @monthly "0 0 1 * *",
 *     @weekly "0 0 * * 0", @daily (= @midnight) "0 0 * * *", @hourly
 *     "0 * * * *".
 *   - an interval, "@every 5s" (units ms, s, m, h; combined as "1m30s";
 *     at least 10 ms): ticks at the multiples of the interval since the
 *     Unix epoch, so every node computes the same ticks; zones don't apply.
 * A bad schedule is refused when it is parsed, with the 1-based position
 * of the fault and the reason; so is one that can never match (Feb 30).
 *
 * Time zones are read from the system's tz database (TZif files under
 * $TZDIR or /usr/share/zoneinfo), UTC when none is given. Local times that
 * a change of offset skips or repeats:
 *   - skipped (spring forward): a tick whose local time falls in the gap
 *     runs once, at the first instant after the gap (02:30 on the night
 *     Europe/Berlin goes 02:00 -> 03:00 runs at 03:00 CEST). Several ticks
 *     in one gap run once together.
 *   - repeated (fall back): a local time that occurs twice runs once, at
 *     its first occurrence; during the repeated hour nothing whose local
 *     time already ran runs again. A job that must follow elapsed time
 *     through the night uses UTC or @every.
 *
 * The cluster scheduler that runs jobs on these schedules, once per tick
 * on the whole cluster, is being built: docs/cron.md has its design.
 */
#ifndef NODUS_CRON_H
#define NODUS_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#ifdef __cplusplus
extern "C" {
#endif

/* ---- time zones ------------------------------------------------------- */

typedef struct nodus_tz nodus_tz;

/* Opens zone `name` ("Europe/Berlin"); NULL, "", "UTC" or "Etc/UTC" give
 * UTC. NODUS_ENOTFOUND when there is no such zone, NODUS_EINVAL for a
 * name that is not a zone name (absolute, "..", too long), NODUS_ESYNTAX
 * for a file that is not a valid TZif file. */
int nodus_tz_open(const char *name, nodus_tz **tz);
void nodus_tz_close(nodus_tz *tz);
/* The zone's name as opened ("UTC" for UTC). */
const char *nodus_tz_name(const nodus_tz *tz);
/* Offset from UTC, in seconds east, in effect at unix_s. */
int32_t nodus_tz_offset(const nodus_tz *tz, int64_t unix_s);

/* ---- schedules -------------------------------------------------------- */

typedef struct nodus_cron_expr nodus_cron_expr;

typedef struct nodus_cron_error {
  unsigned position; /* 1-based column in the text where it went wrong */
  char reason[96];
} nodus_cron_error;

/* Parses a schedule (see above). NODUS_ESYNTAX with *err filled (err may
 * be NULL), NODUS_ENOMEM. */
int nodus_cron_parse(const char *text, nodus_cron_expr **expr,
                     nodus_cron_error *err);
void nodus_cron_expr_free(nodus_cron_expr *expr);
/* True for an "@every" schedule (zones don't apply to it). */
bool nodus_cron_is_interval(const nodus_cron_expr *expr);

/* The first tick strictly after after_ms (unix ms), in zone tz (NULL:
 * UTC): 0 with *next_ms, or NODUS_ERANGE past the year 9999. */
int nodus_cron_next_after(const nodus_cron_expr *expr, const nodus_tz *tz,
                          int64_t after_ms, int64_t *next_ms);

/* unix_ms as local time in tz (NULL: UTC), "YYYY-MM-DDTHH:MM:SS+HH:MM"
 * (with ".mmm" before the offset when unix_ms has milliseconds, and ":SS"
 * after it for an offset of odd seconds, as old local mean times). The
 * length written, or NODUS_ERANGE when buf is too small (40 bytes do) or
 * the year is outside 0..9999. */
int nodus_cron_format_time(const nodus_tz *tz, int64_t unix_ms, char *buf,
                           size_t len);

/* Reads "YYYY-MM-DDTHH:MM[:SS[.mmm]]" (or a space for the T) followed by
 * "Z", "+HH:MM" or "-HH:MM"; without an offset, as local time in tz
 * (NULL: UTC), a skipped or repeated local time resolved as ticks are
 * (see above). NODUS_ESYNTAX for anything else. */
int nodus_cron_parse_time(const nodus_tz *tz, const char *text, int64_t *unix_ms);

#ifdef __cplusplus
}
#endif
#endif
