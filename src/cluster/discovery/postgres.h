/* The postgres strategy's helpers that need no database (unit tests). */
#ifndef NODUS_CLUSTER_DISCOVERY_POSTGRES_H
#define NODUS_CLUSTER_DISCOVERY_POSTGRES_H

#include <stddef.h>

/* PostgreSQL keeps 63 bytes of an identifier (NAMEDATALEN - 1). */
#define DISC_PG_NAME_MAX 63

/* libcluster_postgres's default channel: the cookie with every byte that
 * is not [A-Za-z0-9_] replaced by '_' (Elixir's ~r/\W/ without the
 * unicode flag), cut to DISC_PG_NAME_MAX bytes as the server cuts it.
 * out holds DISC_PG_NAME_MAX + 1 bytes; returns the length. */
size_t disc_pg_channel_of(const char *cookie, char *out);

/* The channel as an unquoted identifier names it: ASCII letters lowered.
 * libcluster_postgres LISTENs on the name quoted (Postgrex) but NOTIFYs
 * it unquoted, so its heartbeats go to this one. */
void disc_pg_fold(const char *name, char *out /* strlen(name) + 1 */);

#endif
