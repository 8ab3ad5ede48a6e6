/*
 * NAME
 *	ta_counters 3h
 * SUMMARY
 *	per-tenant message counters in a file shared by every process
 * SYNOPSIS
 *	ta_counters_t *ta_counters_open(const char *path, unsigned mode,
 *	                                char *err, size_t errlen);
 *	ta_counters_t *ta_counters_open_read(const char *path, char *err,
 *	                                     size_t errlen);
 *	void ta_counters_close(ta_counters_t *c);
 *
 *	void ta_counters_count(ta_counters_t *c, ta_str_t tenant,
 *	                       ta_stream_t stream, const ta_count_t *what);
 *	void ta_counters_hour_add(ta_counters_t *c, ta_str_t tenant,
 *	                          ta_stream_t stream, int64_t now);
 *	void ta_counters_hour(ta_counters_t *c, ta_str_t tenant, int64_t now,
 *	                      uint64_t out[TA_STREAMS]);
 *	const char *ta_counters_problem(const ta_counters_t *c);
 *	const char *ta_counters_alarm(ta_counters_t *c);
 *
 *	int  ta_counters_each(ta_counters_t *c, int64_t now,
 *	        int (*fn)(const ta_counters_row_t *row, void *arg), void *arg);
 *	void ta_counters_info(const ta_counters_t *c, uint64_t *tenants,
 *	                      uint64_t *capacity, uint64_t *overflow);
 *
 *	For tests, benchmarks and the fuzz target:
 *	ta_counters_t *ta_counters_open_capacity(const char *path,
 *	        unsigned mode, uint32_t capacity, char *err, size_t errlen);
 *	int  ta_counters_validate(const void *map, size_t size, char *err,
 *	                          size_t errlen);
 *	ta_counters_t *ta_counters_open_mem(void *map, size_t size, char *err,
 *	                                    size_t errlen);
 *	void ta_counters_recheck(ta_counters_t *c);
 *	size_t ta_counters_file_size(uint32_t capacity);
 *	void ta_counters_seal(void *header);
 * DESCRIPTION
 *	One table is one file (an adapter's: /var/lib/tenantalign/counters/
 *	exim.counters, nginx.counters), mapped shared by every process of
 *	that adapter, whatever its user; `tenantalign stats` reads and sums
 *	the tables. Writers use atomic operations only: counting takes no
 *	lock and makes no system call (but for a new tenant's first message
 *	now and then, below).
 *
 *	ta_counters_open() opens the table at path for counting, creating it
 *	(mode, 0640 when 0) when it is missing: written whole under a
 *	temporary name in the same directory, then linked into place, so a
 *	path only ever names a complete table. A table that is not one (bad
 *	magic, header check, size, or an older format) is renamed to
 *	PATH.corrupt, replacing an older one, and a new one is made (by
 *	root: owned by the directory's owner and group, as the adapters'
 *	daemons start as root and their processes count as the MTA's user;
 *	fchmod'ed to mode whatever the umask). One
 *	written by a newer tenantalign is left alone (processes of both
 *	versions run during an upgrade): nothing is counted in it. Problems
 *	are never fatal: the handle counts nothing until the table can be
 *	made, ta_counters_problem() says why (NULL: none), and
 *	ta_counters_alarm() returns that text once each time it first
 *	appears or changes (else NULL), for the caller to log once. It
 *	returns NULL only when out of memory; err (may be NULL) gets the
 *	problem, or "".
 *
 *	The calls that count or read stat the path at most once a second
 *	(the coarse monotonic clock): a table removed or replaced is opened
 *	again or made again; one whose header has gone bad is replaced, as
 *	above. ta_counters_recheck() makes the next call look now (tests).
 *
 *	ta_counters_count() counts one decided message of tenant (empty: no
 *	tenant known, the "(none)" row) on its stream: accepted (with its
 *	octets and the signatures made, by ta_dkim_alg_t), refused or
 *	tempfailed by reason class, or would-refuse (monitor mode: accepted,
 *	but a refusal or tempfail of that class was due; its octets and
 *	signatures are counted too, as the message was relayed). The row's
 *	class decides refused against tempfailed, not the verdict: a class
 *	is one or the other (ta_reason_temporary()). A tenant that finds the
 *	table full, or finds no disk space for a new row, is counted in the
 *	"(other)" row, and in the table's overflow count.
 *
 *	ta_counters_hour_add() adds one message to the tenant's hourly
 *	window on the stream; ta_counters_hour() gives the window's sum per
 *	stream: the current five-minute bucket and the eleven before it, so
 *	between 55 and 60 minutes of traffic. It is 0 for a tenant not in
 *	the table (nor in the window of the "(other)" row: a tenant counted
 *	there has no window of its own). now is UTC seconds.
 *
 *	ta_counters_open_read() opens a table for reading (`tenantalign
 *	stats`): it never creates or renames; a missing or bad table is
 *	NULL with err saying why. ta_counters_each() calls fn with every row
 *	(a snapshot of each counter, not of the table as a whole), in the
 *	order of first use: "(none)" and "(other)" (special 1 and 2, name
 *	empty) first when they hold anything. A name longer than
 *	TA_COUNTERS_NAME_MAX is stored cut and shown with "~" appended (the
 *	row is still the tenant's own: rows are told apart by the whole
 *	name's hash). fn returns non-zero to stop; each returns that value.
 *	ta_counters_info() gives the number of tenant rows used, the number
 *	there is room for, and the overflow count.
 *
 *	For tests, benchmarks and the fuzz target: ta_counters_open_capacity()
 *	is ta_counters_open() with another capacity for a new table (rows,
 *	the two special ones included; at least 4); a table that exists keeps
 *	its own. ta_counters_validate() checks a whole table's bytes (what
 *	open checks, TA_OK, else TA_EINPUT, or TA_NOTFOUND for a newer
 *	format); ta_counters_open_mem() counts into and reads a table in
 *	memory (validated so), never growing it. ta_counters_file_size() is
 *	the size of a table of that capacity. ta_counters_seal() sets the
 *	check value of a header (its first 64 octets) to match its fields,
 *	for tests that forge one.
 *
 *	A handle remembers where it found each tenant (8 in the handle; up
 *	to 16,384 in 128 KB of memory it maps for a ninth), so that counting
 *	an accepted message of a tenant seen before reads one line of that
 *	memory and one of the table: the line of the tenant's row that the
 *	message counts in, which also holds the hash that tells the handle
 *	the row is still the tenant's (a tenant with an hourly cap adds the
 *	line of its window). A table opened or made again, or replaced,
 *	empties it; a handle that counts far more tenants than it holds, at
 *	random, mostly leaves it aside.
 *
 *	All functions accept c == NULL: they do nothing, or give zeros. A
 *	handle is for one thread at a time (its cache is not shared); a
 *	process forked with one keeps counting through it.
 * SAFETY
 *	Every value read from the file is checked before use (another
 *	process, or a damaged file, may hold anything): row numbers, name
 *	lengths, the allocation counters. Nothing is read or written outside
 *	the mapping, and no row is written that has no disk space reserved:
 *	a write into a hole of a full file system would kill the process
 *	(SIGBUS). Rows get their space in chunks, with posix_fallocate()
 *	under an flock() of the table. The one thing that can still fault
 *	is cutting the file in place while processes map it (truncate(1),
 *	"> FILE"): operators delete a table, never truncate it.
 *	A table is in the machine's byte order: it is not carried to
 *	another architecture.
 */
#ifndef TA_COUNTERS_H
#define TA_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "ta_reason.h"
#include "ta_str.h"

#define TA_COUNTERS_DIR      "/var/lib/tenantalign/counters"
#define TA_COUNTERS_CAPACITY 1048576u   /* rows of a table: the bound on tenants */
#define TA_COUNTERS_NAME_MAX 87         /* octets of a name kept */

typedef struct ta_counters ta_counters_t;

typedef enum {
    TA_COUNT_ACCEPTED,
    TA_COUNT_REFUSED,
    TA_COUNT_TEMPFAILED,
    TA_COUNT_WOULD_REFUSE
} ta_count_verdict_t;

typedef struct {
    ta_count_verdict_t verdict;
    ta_reason_t        reason;      /* TA_R_NONE for accepted */
    uint64_t           bytes;       /* accepted: the message's size */
    unsigned           sigs[2];     /* signatures made, by ta_dkim_alg_t */
} ta_count_t;

typedef struct {
    char   name[96];                /* not NUL-terminated; cut names end in "~" */
    size_t name_len;
    int    special;                 /* 0, or 1 (none) 2 (other) */
    struct {
        uint64_t accepted, bytes, sig[2], denied[TA_R_COUNT], would[TA_R_COUNT], hour;
    } s[TA_STREAMS];
} ta_counters_row_t;

ta_counters_t *ta_counters_open(const char *path, unsigned mode, char *err, size_t errlen);
ta_counters_t *ta_counters_open_read(const char *path, char *err, size_t errlen);
void ta_counters_close(ta_counters_t *c);

void ta_counters_count(ta_counters_t *c, ta_str_t tenant, ta_stream_t stream, const ta_count_t *what);
void ta_counters_hour_add(ta_counters_t *c, ta_str_t tenant, ta_stream_t stream, int64_t now);
void ta_counters_hour(ta_counters_t *c, ta_str_t tenant, int64_t now, uint64_t out[TA_STREAMS]);
const char *ta_counters_problem(const ta_counters_t *c);
const char *ta_counters_alarm(ta_counters_t *c);

int  ta_counters_each(ta_counters_t *c, int64_t now,
    int (*fn)(const ta_counters_row_t *row, void *arg), void *arg);
void ta_counters_info(const ta_counters_t *c, uint64_t *tenants, uint64_t *capacity,
    uint64_t *overflow);

/* for tests, benchmarks and the fuzz target */
ta_counters_t *ta_counters_open_capacity(const char *path, unsigned mode, uint32_t capacity,
    char *err, size_t errlen);
int  ta_counters_validate(const void *map, size_t size, char *err, size_t errlen);
ta_counters_t *ta_counters_open_mem(void *map, size_t size, char *err, size_t errlen);
void ta_counters_recheck(ta_counters_t *c);
size_t ta_counters_file_size(uint32_t capacity);
void ta_counters_seal(void *header);

#endif
