/*
 * NAME
 *	ta_counters 3
 * SUMMARY
 *	the counter table: file layout, lookup and insertion without locks,
 *	the handle's cache of rows, hourly windows, open, create, replace and
 *	the once-a-second check
 * DESCRIPTION
 *	See ta_counters.h. The file, in the machine's byte order:
 *
 *	header (one 4 KB page): "TACOUNT1", u32 version, u32 row size, u32
 *	capacity (rows), u32 index entries (a power of two, at least twice
 *	the capacity), then the mutable fields: _Atomic u32 next_slot (the
 *	next row to give out), _Atomic u32 reserved_slots (rows with disk
 *	space), _Atomic u64 overflow; then u64 created (UTC seconds) and u64
 *	check, a hash of the immutable fields (octets 0-23 and 40-47). The
 *	magic, the place of the version and the check's hash are the same in
 *	every format, so that a newer table is told from a damaged one.
 *
 *	index: _Atomic u64 entries, 0 empty, else the upper 32 bits of the
 *	name's key (the tag) << 32 | row + 1. Open addressing, linear
 *	probing from key & (entries - 1); entries are only ever set, from 0,
 *	by compare-and-swap. Half full at most (capacity rows, twice the
 *	entries), so a probe is one or two entries; it gives up after
 *	MAX_PROBES (a table full of garbage costs a bounded scan, and the
 *	message is counted as "(other)").
 *
 *	rows: 1152 octets each (18 cache lines), given out in order of first
 *	use, so the pages a table touches grow with the tenants that sent,
 *	not with its capacity. Row 0 is "(none)", row 1 "(other)". Format 2
 *	keeps a row in five regions, one after the other, each an array over
 *	all the rows, so that what a message touches is packed with the same
 *	part of the other rows:
 *
 *	  hot, per stream   64 octets a row, one line: _Atomic u64 key and
 *	                    check (the name's hash: in both streams' lines),
 *	                    accepted, octets, signatures by algorithm
 *	  cold              832 octets a row: _Atomic u32 ready (set last,
 *	                    with release order), u8 name length (255 for 255
 *	                    and longer), 87 octets of name; from octet 128,
 *	                    per stream, the refusals and tempfails and the
 *	                    monitor-mode would-refuse counts by reason class
 *	  window, per stream  96 octets a row: the twelve 5-minute buckets of
 *	                    the hourly window
 *
 *	So an accepted message checks the row and counts in one line, its
 *	stream's (the key costs no line of its own: it is in each); a tenant
 *	with an hourly cap adds the line of one bucket, asked for while the
 *	key is compared, and its window (ta_counters_hour) reads the hot line
 *	of stream 0 and both streams' windows. Regions, not whole rows side
 *	by side, because most of what that line costs is finding its page:
 *	after a decision (signing, the store) neither the line nor its
 *	page's translation is cached, and the page walk misses too unless the
 *	pages counted in are few. A tenant sends on one stream, so 10,000
 *	tenants count in 640 KB of hot lines, where their whole rows are 11
 *	MB. Format 1 (17-line rows, the key beside the name, each stream's
 *	window beside its counts) cost an accepted message three lines of
 *	that 11 MB; its tables are replaced as any older format's.
 *
 *	A bucket is (bucket number since the epoch) << 32 | count, bumped by
 *	a compare-and-swap loop that also resets a stale bucket to this
 *	bucket's number with a count of 1: no increment is lost to a reset.
 *
 *	The name's hash is 128 bits, two lanes over its octets eight at a
 *	time, each finished by the fmix64 finalizer of MurmurHash3 so that
 *	every bit depends on every octet: the key (index position from its
 *	low bits, tag from its high ones) and the check. Tenant names come
 *	from the provider's store, not from clients: nobody chooses them to
 *	collide (an unknown login counts as "(none)", never under its own
 *	name).
 *
 *	Insertion: probe; on a tag match compare the row's key, check and
 *	name; at an empty entry claim a row (next_slot, by a compare-and-swap
 *	loop that never moves it past the capacity: a fetch-and-add would
 *	keep climbing with every new tenant's message once the table is
 *	full, and could wrap), make sure it has disk space, write key, check
 *	and name, then ready, then swap the entry from 0. An entry lost to
 *	another process inserting the same name: theirs is used, the claimed
 *	row is marked abandoned (ready 2; readers skip it) and stays unused,
 *	which costs a row and nothing else. Lost to another name: keep
 *	probing.
 *
 *	The cache: each handle remembers where it found its tenants, so that
 *	one seen before costs no index probe (the index is 16 MB at the
 *	default capacity: a probe is a cache miss, and its page's walk one
 *	more). 16,384 entries of u32 tag (the check's upper half) and u32
 *	row, 8-way set associative: a set is one 64-octet line, chosen by
 *	the check's low bits; a set keeps its ways newest first and drops
 *	the oldest. It starts as one set inside the handle; the ninth tenant
 *	maps the whole of it, 128 KB of anonymous memory (zeroed, its pages
 *	come when first touched), so that a process that counts one tenant
 *	(an Exim connection's) pays no system call for it. An entry is made
 *	only for a row found ready, with this name, below reserved_slots, or
 *	claimed by this handle; it is believed only when the row's key and
 *	check, read from the line about to be counted in, are the name's
 *	hash and the row is below reserved_slots: a table that changed under
 *	the handle (garbage written into it, or another table's bytes) costs
 *	an index probe, never a count in a wrong row or outside the mapping.
 *	A tag that matches another tenant's entry costs the same. Two names
 *	the index path tells apart, but for a full 128-bit hash match, would
 *	share a row through the cache: not a concern for names nobody
 *	chooses. The cache is dropped whenever the handle maps a table
 *	(opened again, made again, replaced): rows are numbered afresh in
 *	each. A handle that counts many more tenants than the cache holds,
 *	at random, would pay for the cache's line and still probe: when
 *	fewer than one lookup in 8 hit over CACHE_EPOCH lookups, the cache
 *	goes idle, asked (and filled) for one lookup in CACHE_SAMPLE only,
 *	until those hit again.
 *
 *	Disk space: rows are given space CHUNK at a time (their parts in
 *	every region) with posix_fallocate() under flock(). The lock only spares duplicate
 *	work (processes forked with one open file description share it):
 *	what is correct regardless is that fallocate is idempotent and
 *	reserved_slots only grows (a compare-and-swap maximum), so it never
 *	says more than was allocated. No disk space: the message counts as
 *	"(other)", and the next attempt waits a second.
 */
#define _GNU_SOURCE     /* mkostemp: the temporary file is close-on-exec from the start */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ta_clock.h"
#include "ta_counters.h"

#if ATOMIC_INT_LOCK_FREE != 2 || ATOMIC_LONG_LOCK_FREE != 2 || ATOMIC_LLONG_LOCK_FREE != 2
#error "the counter table needs lock-free 32- and 64-bit atomics: it is shared between processes"
#endif

#define MAGIC        "TACOUNT1"
#define VERSION      2u
#define HEADER_SIZE  4096u
#define WINDOW       12         /* buckets of the hourly window */
#define BUCKET       300        /* seconds in a bucket */
#define CHUNK        1024u      /* rows given disk space at once */
#define MAX_PROBES   256        /* index entries looked at for one name */
#define MIN_CAPACITY 4u
#define MAX_CAPACITY (1u << 24)
#define ROW_NONE     0u
#define ROW_OTHER    1u
#define FIRST_ROW    2u
#define NO_ROW       UINT32_MAX
#define READY        1u
#define ABANDONED    2u
#define NAME_MAX_    TA_COUNTERS_NAME_MAX
#define LONG_NAME    255u       /* the name length octet of a longer name */
#define CACHE_WAYS   8          /* entries of a cache set: one 64-octet line */
#define CACHE_SETS   2048u      /* a power of two: 16,384 entries, 128 KB */
#define CACHE_EPOCH  4096u      /* lookups between two looks at the cache's hit rate */
#define CACHE_SAMPLE 16u        /* an idle cache is still asked one lookup in this many */

typedef struct {
    char             magic[8];
    uint32_t         version, slot_size, capacity, index_size;
    _Atomic uint32_t next_slot, reserved_slots;
    _Atomic uint64_t overflow;
    uint64_t         created;
    uint64_t         check;
} header_t;

typedef struct {                /* what an accepted message touches: one cache line */
    _Atomic uint64_t key, check;        /* the row's name hash, in each stream's line */
    _Atomic uint64_t accepted, bytes, sig[2];
    uint64_t         spare[2];
} hot_t;

typedef struct {                /* a row's hourly window on one stream */
    _Atomic uint64_t hour[WINDOW];
} win_t;

typedef struct {
    _Atomic uint64_t denied[TA_R_COUNT], would[TA_R_COUNT];
} cold_t;

typedef struct {                /* a row's part of the cold region: the rest */
    _Atomic uint32_t ready;
    uint8_t          name_len;
    char             name[NAME_MAX_];
    char             pad[36];
    cold_t           s[TA_STREAMS];
} cold_row_t;

/* the regions, in the order of the file: each stream's hot lines, the
 * cold rows (a whole number of lines: the windows after them) and each
 * stream's windows */
enum { R_HOT, R_COLD = R_HOT + TA_STREAMS, R_WIN, R_END = R_WIN + TA_STREAMS };

#define ROW_SIZE     (TA_STREAMS * (sizeof(hot_t) + sizeof(win_t)) + sizeof(cold_row_t))

_Static_assert(sizeof(header_t) == 56, "header layout");
_Static_assert(offsetof(header_t, next_slot) == 24 && offsetof(header_t, created) == 40,
               "the check covers octets 0-23 and 40-47");
_Static_assert(sizeof(hot_t) == 64 && sizeof(win_t) == 96, "format 2: a line per stream's counts");
_Static_assert(offsetof(cold_row_t, s) == 128 && sizeof(cold_row_t) == 832,
               "format 2: ready and name, then the refusals, whole lines");
_Static_assert(TA_STREAMS == 2 && TA_R_COUNT == 22, "a new stream or reason class changes the row layout: raise VERSION");

/* the immutable fields of a table, as validated */
typedef struct {
    uint32_t version, slot_size, capacity, index_size;
    uint64_t created, check;
} shape_t;

/* a name's hash: the key (index position and tag) and the check */
typedef struct {
    uint64_t key, check;
} hash_t;

/* a cache entry: the upper half of the check, and the row (0: empty, as
 * rows 0 and 1 are never cached); a set of them is one cache line */
typedef struct {
    uint32_t tag, row;
} way_t;

typedef struct {
    _Alignas(64) way_t way[CACHE_WAYS];
} cache_set_t;

_Static_assert(sizeof(cache_set_t) == 64, "a cache set is one line");

/* what the caller touches in the row after locating it: asked for before the key is compared */
typedef enum {
    TOUCH_HOT,                  /* the stream's counts (the key's own line) */
    TOUCH_BUCKET,               /* and one bucket of the stream's window (arg) */
    TOUCH_WINDOWS,              /* every window (stream -1) */
    TOUCH_DENIED,               /* and a refusal counter (arg: the reason class) */
    TOUCH_WOULD                 /* and a would-refuse counter */
} touch_t;

/* what the caller touches in a row after locating it (stream -1: reads every window) */
typedef struct {
    int      stream;
    touch_t  what;
    unsigned arg;               /* the bucket, or the reason class */
} use_t;

struct ta_counters {
    char             *path;         /* NULL: a table in memory */
    unsigned          mode;
    uint32_t          new_capacity; /* of a table this handle makes */
    int               writer;
    int               fd;
    int               own_map;
    unsigned char    *map;          /* NULL: no table now (problem says why) */
    size_t            size;
    shape_t           shape;        /* never read from the file again after validation */
    uint32_t          capacity, mask;
    header_t         *hdr;
    _Atomic uint64_t *index;
    hot_t            *hot[TA_STREAMS];  /* the rows' parts in each region */
    win_t            *win[TA_STREAMS];
    cold_row_t       *cold;
    dev_t             dev;
    ino_t             ino;
    time_t            checked;      /* monotonic second of the last look at the path */
    time_t            space_failed; /* monotonic second of the last failed reservation */
    cache_set_t      *cache;        /* where tenants were found; NULL: in little only */
    way_t             little[CACHE_WAYS];   /* the cache until a ninth tenant: one set */
    unsigned          tries, hits;  /* lookups, and those the cache answered, this epoch */
    int               idle;         /* the cache nearly always misses: asked one lookup in CACHE_SAMPLE */
    char              problem[400]; /* why nothing is counted; "" none */
    char              space[400];   /* new tenants go to (other): no disk space; "" none */
    char              notice[400];  /* said once: a table was replaced */
    char              alarmed[400]; /* the problem last returned by ta_counters_alarm */
};

/* fmix64 - MurmurHash3's finalizer: every output bit depends on every input bit */
static uint64_t
fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* fnv_hash - FNV-1a 64 of the octets, then fmix64: the header's check in every format */
static uint64_t
fnv_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t             h = 0xcbf29ce484222325ULL;
    size_t               i;

    for (i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return fmix64(h);
}

/* last_word - the name's last 1 to 8 octets as one word (0: none), read
 * without a copy through memory: a word stored a byte at a time and
 * loaded whole stalls the load. Each octet is in it, so, given the
 * length, no two tails give one word. */
static uint64_t
last_word(const unsigned char *p, size_t n)
{
    uint64_t w;
    uint32_t lo, hi;

    if (n >= 8) {
        memcpy(&w, p, 8);
        return w;
    }
    if (n >= 4) {               /* two reads of four that may overlap */
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t) hi << 32 | lo;
    }
    return n == 0 ? 0 : (uint64_t) p[0] << 16 | (uint64_t) p[n / 2] << 8 | p[n - 1];
}

/*
 * name_hash - a name's 128-bit hash: two lanes over its octets eight at
 * a time, each step a bijection of the lane (a multiply by an odd
 * constant, a shift-xor), so names of one length that differ in one word
 * never meet; then fmix64. The length is in the seeds, multiplied: added
 * or xored as it is, it would cancel against a last word that differs
 * as little ("t1" and "t10" met so). A word a step: FNV-1a's octet a
 * step made the hash of a 20-octet name a chain of twenty multiplies.
 */
static hash_t
name_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t             a = 0x9e3779b97f4a7c15ULL ^ (uint64_t) len * 0xc2b2ae3d27d4eb4fULL;
    uint64_t             b = 0x6a09e667f3bcc909ULL + (uint64_t) len * 0x165667b19e3779f9ULL, w;
    size_t               left = len;
    hash_t               h;

    for (;;) {
        if (left > 8)
            memcpy(&w, p, 8);
        else
            w = last_word(p, left);
        a = (a ^ w) * 0x87c37b91114253d5ULL;
        a ^= a >> 31;
        b = (b + w) * 0x4cf5ad432745937fULL;
        b ^= b >> 29;
        if (left <= 8)
            break;
        p += 8;
        left -= 8;
    }
    h.key = fmix64(a);
    h.check = fmix64(b ^ 0x94d049bb133111ebULL);
    return h;
}

/* index_entries - the index size for a capacity: a power of two, at least twice it */
static uint64_t
index_entries(uint32_t capacity)
{
    uint64_t n = 1;

    while (n < 2 * (uint64_t) capacity)
        n <<= 1;
    return n;
}

/* ta_counters_file_size - the size of a table of capacity rows */
size_t
ta_counters_file_size(uint32_t capacity)
{
    return HEADER_SIZE + (size_t) index_entries(capacity) * 8 + (size_t) capacity * ROW_SIZE;
}

/* region_row - the octets a region gives each row */
static size_t
region_row(int r)
{
    return r < R_COLD ? sizeof(hot_t) : r == R_COLD ? sizeof(cold_row_t) : sizeof(win_t);
}

/* region_at - where region r of a table begins, by its index entries and capacity */
static size_t
region_at(uint64_t index_size, uint32_t capacity, int r)
{
    size_t at = HEADER_SIZE + (size_t) index_size * 8;
    int    i;

    for (i = 0; i < r; i++)
        at += (size_t) capacity * region_row(i);
    return at;
}

/* space_for - disk space for rows [row, row + n) of a table: their parts
 * in every region (0, or an errno value) */
static int
space_for(int fd, uint64_t index_size, uint32_t capacity, uint32_t row, uint32_t n)
{
    int r, e = 0;

    for (r = 0; r < R_END && e == 0; r++)
        e = posix_fallocate(fd, (off_t) (region_at(index_size, capacity, r) + (size_t) row * region_row(r)),
                            (off_t) n * (off_t) region_row(r));
    return e;
}

/* header_check - the hash of the immutable header fields */
static uint64_t
header_check(const unsigned char *h)
{
    unsigned char buf[32];

    memcpy(buf, h, 24);
    memcpy(buf + 24, h + 40, 8);
    return fnv_hash(buf, sizeof(buf));
}

/* ta_counters_seal - a header's check value made to match its fields (tests) */
void
ta_counters_seal(void *header)
{
    uint64_t check = header_check(header);

    memcpy((unsigned char *) header + 48, &check, sizeof(check));
}

/* u32_at, u64_at - a field of the header, by offset */
static uint32_t
u32_at(const unsigned char *p, size_t off)
{
    uint32_t v;

    memcpy(&v, p + off, sizeof(v));
    return v;
}

static uint64_t
u64_at(const unsigned char *p, size_t off)
{
    uint64_t v;

    memcpy(&v, p + off, sizeof(v));
    return v;
}

/* say - printf into a buffer that may be NULL */
static void __attribute__((format(printf, 3, 4)))
say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/*
 * check_table - whether size octets at map are a table this code counts
 * in: TA_OK with its shape; TA_NOTFOUND a newer format (sound header,
 * but not ours to read); TA_EINPUT anything else. Reads the first 48
 * octets only; never trusts one field to read another.
 */
static int
check_table(const unsigned char *map, size_t size, shape_t *sh, char *err, size_t errlen)
{
    uint32_t next, reserved;

    if (map == NULL || size < HEADER_SIZE) {
        say(err, errlen, "too short for a counter table (%zu octets)", size);
        return TA_EINPUT;
    }
    if (memcmp(map, MAGIC, 8) != 0) {
        say(err, errlen, "not a counter table (no %s magic)", MAGIC);
        return TA_EINPUT;
    }
    sh->version = u32_at(map, 8);
    sh->slot_size = u32_at(map, 12);
    sh->capacity = u32_at(map, 16);
    sh->index_size = u32_at(map, 20);
    sh->created = u64_at(map, 40);
    sh->check = u64_at(map, 48);
    if (sh->check != header_check(map)) {
        say(err, errlen, "damaged header (check value)");
        return TA_EINPUT;
    }
    if (sh->version > VERSION) {
        say(err, errlen, "written by a newer tenantalign (format %u; this one counts in format %u)",
            sh->version, VERSION);
        return TA_NOTFOUND;
    }
    if (sh->version != VERSION) {
        say(err, errlen, "an older format (%u)", sh->version);
        return TA_EINPUT;
    }
    if (sh->slot_size != ROW_SIZE || sh->capacity < MIN_CAPACITY || sh->capacity > MAX_CAPACITY
        || sh->index_size != index_entries(sh->capacity)) {
        say(err, errlen, "impossible shape (row size %u, capacity %u, index %u)",
            sh->slot_size, sh->capacity, sh->index_size);
        return TA_EINPUT;
    }
    if (size != ta_counters_file_size(sh->capacity)) {
        say(err, errlen, "size %zu, where a table of %u rows has %zu (cut or grown in place?)",
            size, sh->capacity, ta_counters_file_size(sh->capacity));
        return TA_EINPUT;
    }
    next = u32_at(map, 24);
    reserved = u32_at(map, 28);
    if (next < FIRST_ROW || next > sh->capacity || reserved < FIRST_ROW || reserved > sh->capacity) {
        say(err, errlen, "damaged header (next row %u, rows with space %u, capacity %u)",
            next, reserved, sh->capacity);
        return TA_EINPUT;
    }
    return TA_OK;
}

/* ta_counters_validate - whether a table's whole bytes are sound */
int
ta_counters_validate(const void *map, size_t size, char *err, size_t errlen)
{
    shape_t sh;

    return check_table(map, size, &sh, err, errlen);
}

/* cache_drop - forget where tenants were found: rows are numbered afresh in another table */
static void
cache_drop(ta_counters_t *c)
{
    if (c->cache != NULL)
        munmap(c->cache, CACHE_SETS * sizeof(cache_set_t));
    c->cache = NULL;
    memset(c->little, 0, sizeof(c->little));
    c->tries = c->hits = 0;
    c->idle = 0;
}

/* bind - count in a validated table */
static void
bind(ta_counters_t *c, unsigned char *map, size_t size, const shape_t *sh, int own)
{
    int st;

    c->map = map;
    c->size = size;
    c->own_map = own;
    c->shape = *sh;
    c->capacity = sh->capacity;
    c->mask = sh->index_size - 1;
    c->hdr = (header_t *) map;
    c->index = (_Atomic uint64_t *) (map + HEADER_SIZE);
    for (st = 0; st < TA_STREAMS; st++) {
        c->hot[st] = (hot_t *) (map + region_at(sh->index_size, sh->capacity, R_HOT + st));
        c->win[st] = (win_t *) (map + region_at(sh->index_size, sh->capacity, R_WIN + st));
    }
    c->cold = (cold_row_t *) (map + region_at(sh->index_size, sh->capacity, R_COLD));
    cache_drop(c);
}

/* detach - stop counting in the table mapped */
static void
detach(ta_counters_t *c)
{
    if (c->map != NULL && c->own_map)
        munmap(c->map, c->size);
    if (c->fd >= 0)
        close(c->fd);
    c->map = NULL;
    c->fd = -1;
}

/* set_problem - why nothing is counted now */
static void __attribute__((format(printf, 2, 3)))
set_problem(ta_counters_t *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
    va_end(ap);
}

/* map_fd - map the table open at fd and validate it (TA_ESYSTEM: cannot
 * look at it; else check_table's answer); fd is the handle's on TA_OK */
static int
map_fd(ta_counters_t *c, int fd, char *why, size_t whylen)
{
    struct stat    sb;
    shape_t        sh;
    unsigned char *map;
    int            rc;

    if (fstat(fd, &sb) != 0) {
        say(why, whylen, "%s", strerror(errno));
        return TA_ESYSTEM;
    }
    if (!S_ISREG(sb.st_mode)) {
        say(why, whylen, "not a regular file");
        return TA_ESYSTEM;
    }
    if (sb.st_size < (off_t) HEADER_SIZE || (uint64_t) sb.st_size > ta_counters_file_size(MAX_CAPACITY)) {
        say(why, whylen, "size %lld is no counter table's", (long long) sb.st_size);
        return TA_EINPUT;
    }
    map = mmap(NULL, (size_t) sb.st_size, c->writer ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        say(why, whylen, "cannot map it: %s", strerror(errno));
        return TA_ESYSTEM;
    }
    if ((rc = check_table(map, (size_t) sb.st_size, &sh, why, whylen)) != TA_OK) {
        munmap(map, (size_t) sb.st_size);
        return rc;
    }
    bind(c, map, (size_t) sb.st_size, &sh, 1);
    c->fd = fd;
    c->dev = sb.st_dev;
    c->ino = sb.st_ino;
    return TA_OK;
}

/* init - a new table's header and special rows, in a new (zeroed) mapping */
static void
init(unsigned char *map, uint32_t capacity, uint32_t reserved)
{
    header_t   *h = (header_t *) map;
    cold_row_t *rows = (cold_row_t *) (map + region_at(index_entries(capacity), capacity, R_COLD));

    memcpy(h->magic, MAGIC, 8);
    h->version = VERSION;
    h->slot_size = ROW_SIZE;
    h->capacity = capacity;
    h->index_size = (uint32_t) index_entries(capacity);
    atomic_store_explicit(&h->next_slot, FIRST_ROW, memory_order_relaxed);
    atomic_store_explicit(&h->reserved_slots, reserved, memory_order_relaxed);
    h->created = (uint64_t) time(NULL);
    h->check = header_check(map);
    atomic_store_explicit(&rows[ROW_NONE].ready, READY, memory_order_relaxed);
    atomic_store_explicit(&rows[ROW_OTHER].ready, READY, memory_order_relaxed);
}

/*
 * give_away - a table made by root belongs to its directory's owner and
 * group: an adapter's daemon starts as root and makes it, its processes
 * count as the MTA's user (the directory is that user's). Others keep
 * their own, with the directory's group where it is setgid.
 */
static int
give_away(int fd, const char *path)
{
    char        dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    struct stat sb;

    if (geteuid() != 0)
        return 0;
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int) (slash - path), path);
    if (stat(dir, &sb) != 0)
        return -1;
    return fchown(fd, sb.st_uid, sb.st_gid);
}

/*
 * create - make the table: a temporary file beside it, written whole, then
 * linked into place. TA_OK: counting in it; TA_NOTFOUND: another process
 * linked its own first (open that); TA_ESYSTEM: the problem is set.
 */
static int
create(ta_counters_t *c)
{
    uint32_t       cap = c->new_capacity, first = cap < CHUNK ? cap : CHUNK;
    size_t         size = ta_counters_file_size(cap);
    char           tmp[PATH_MAX];
    unsigned char *map = MAP_FAILED;
    const char    *step = "";
    struct stat    sb;
    shape_t        sh;
    int            fd, e = 0;

    if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", c->path) >= sizeof(tmp)) {
        set_problem(c, "counter table %s: path too long", c->path);
        return TA_ESYSTEM;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        set_problem(c, "counter table %s: cannot create it: %s", c->path, strerror(errno));
        return TA_ESYSTEM;
    }
    /* space for the header, the index and the first rows now: a write
     * into a hole of a full file system would be SIGBUS */
    if (fchmod(fd, (mode_t) c->mode) != 0) {
        e = errno;
        step = "fchmod";
    } else if (give_away(fd, c->path) != 0) {
        e = errno;
        step = "fchown";
    } else if (ftruncate(fd, (off_t) size) != 0) {
        e = errno;
        step = "ftruncate";
    } else if ((e = posix_fallocate(fd, 0, (off_t) region_at(index_entries(cap), cap, R_HOT))) != 0
               || (e = space_for(fd, index_entries(cap), cap, 0, first)) != 0) {
        step = "posix_fallocate";
    } else if ((map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        e = errno;
        step = "mmap";
    } else {
        init(map, cap, first);
        if (fstat(fd, &sb) != 0 || link(tmp, c->path) != 0) {
            e = errno;
            step = "link";
        }
    }
    unlink(tmp);
    if (e != 0) {
        if (map != MAP_FAILED)
            munmap(map, size);
        close(fd);
        if (e == EEXIST)
            return TA_NOTFOUND;
        set_problem(c, "counter table %s: cannot create it (%s): %s", c->path, step, strerror(e));
        return TA_ESYSTEM;
    }
    (void) check_table(map, size, &sh, NULL, 0);
    bind(c, map, size, &sh, 1);
    c->fd = fd;
    c->dev = sb.st_dev;
    c->ino = sb.st_ino;
    return TA_OK;
}

/*
 * quarantine - rename a table that is none to PATH.corrupt, if the path
 * still names it: under its lock, so that of two processes that found it
 * bad only one renames (the other would rename the new table). Closes fd.
 */
static int
quarantine(ta_counters_t *c, int fd, const char *why)
{
    char        dst[PATH_MAX];
    struct stat a, b;
    int         rc = TA_OK;

    if ((size_t) snprintf(dst, sizeof(dst), "%s.corrupt", c->path) >= sizeof(dst)) {
        set_problem(c, "counter table %s: path too long", c->path);
        close(fd);
        return TA_ESYSTEM;
    }
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &a) != 0) {
        set_problem(c, "counter table %s: %s, and it cannot be locked: %s", c->path, why, strerror(errno));
        rc = TA_ESYSTEM;
    } else if (stat(c->path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
        if (rename(c->path, dst) != 0) {
            set_problem(c, "counter table %s: %s, and it cannot be renamed to %s: %s", c->path, why, dst,
                        strerror(errno));
            rc = TA_ESYSTEM;
        } else {
            say(c->notice, sizeof(c->notice), "counter table %s: %s: kept as %s, a new one made", c->path, why, dst);
        }
    }
    close(fd);
    return rc;
}

/* attach - open the table at the path, making it when missing or replacing it when bad */
static void
attach(ta_counters_t *c)
{
    char why[300];
    int  tries, fd, rc;

    for (tries = 0; tries < 4; tries++) {
        fd = open(c->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) {
            if ((rc = create(c)) == TA_NOTFOUND)
                continue;
            if (rc == TA_OK)
                c->problem[0] = '\0';
            return;
        }
        if (fd < 0) {
            set_problem(c, "counter table %s: %s", c->path, strerror(errno));
            return;
        }
        rc = map_fd(c, fd, why, sizeof(why));
        if (rc == TA_OK) {
            c->problem[0] = '\0';
            return;
        }
        if (rc != TA_EINPUT) {
            close(fd);
            set_problem(c, "counter table %s: %s%s", c->path, why,
                        rc == TA_NOTFOUND ? "; nothing is counted (remove it if no newer tenantalign runs)" : "");
            return;
        }
        if (quarantine(c, fd, why) != TA_OK)
            return;
    }
    set_problem(c, "counter table %s: replaced by other processes as often as it was opened", c->path);
}

/* recheck - at most once a second: a table removed, replaced, cut or damaged is opened or made again */
static void
recheck(ta_counters_t *c)
{
    time_t      now;
    struct stat sb;
    shape_t     sh;

    if (c->path == NULL || !c->writer)
        return;
    now = ta_monotonic_second();
    if (now == c->checked)
        return;
    c->checked = now;
    if (c->map != NULL) {
        if (stat(c->path, &sb) != 0) {
            if (errno != ENOENT)
                return;         /* cannot look now: keep counting where we count */
        } else if (sb.st_ino == c->ino && sb.st_dev == c->dev && (size_t) sb.st_size == c->size
                   && check_table(c->map, c->size, &sh, NULL, 0) == TA_OK
                   && memcmp(&sh, &c->shape, sizeof(sh)) == 0) {
            return;
        }
        detach(c);
    }
    attach(c);
}

/* ta_counters_recheck - look at the path on the next call (tests) */
void
ta_counters_recheck(ta_counters_t *c)
{
    if (c != NULL)
        c->checked = -1;
}

/* new_handle - a handle with no table yet */
static ta_counters_t *
new_handle(const char *path, int writer)
{
    ta_counters_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (path != NULL && (c->path = strdup(path)) == NULL) {
        free(c);
        return NULL;
    }
    c->fd = -1;
    c->writer = writer;
    c->checked = ta_monotonic_second();
    c->space_failed = -1;
    return c;
}

/* ta_counters_open_capacity - open for counting; a new table has capacity rows */
ta_counters_t *
ta_counters_open_capacity(const char *path, unsigned mode, uint32_t capacity, char *err, size_t errlen)
{
    ta_counters_t *c = new_handle(path, 1);

    if (c == NULL) {
        say(err, errlen, "out of memory");
        return NULL;
    }
    c->mode = mode ? mode : 0640;
    c->new_capacity = capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity > MAX_CAPACITY ? MAX_CAPACITY : capacity;
    if (path == NULL || path[0] == '\0')
        set_problem(c, "no counter table path");
    else
        attach(c);
    say(err, errlen, "%s", c->problem);
    return c;
}

/* ta_counters_open - open for counting, making the table when missing */
ta_counters_t *
ta_counters_open(const char *path, unsigned mode, char *err, size_t errlen)
{
    return ta_counters_open_capacity(path, mode, TA_COUNTERS_CAPACITY, err, errlen);
}

/* ta_counters_open_read - open for reading: never creates, never renames */
ta_counters_t *
ta_counters_open_read(const char *path, char *err, size_t errlen)
{
    ta_counters_t *c = new_handle(path, 0);
    char           why[300];
    int            fd;

    if (c == NULL) {
        say(err, errlen, "out of memory");
        return NULL;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        say(err, errlen, "%s: %s", path, strerror(errno));
        ta_counters_close(c);
        return NULL;
    }
    if (map_fd(c, fd, why, sizeof(why)) != TA_OK) {
        say(err, errlen, "%s: %s", path, why);
        close(fd);
        ta_counters_close(c);
        return NULL;
    }
    return c;
}

/* ta_counters_open_mem - count into and read a table in memory (tests, fuzzing) */
ta_counters_t *
ta_counters_open_mem(void *map, size_t size, char *err, size_t errlen)
{
    ta_counters_t *c;
    shape_t        sh;

    if ((uintptr_t) map % 8 != 0) {
        say(err, errlen, "table in memory not aligned");
        return NULL;
    }
    if (check_table(map, size, &sh, err, errlen) != TA_OK)
        return NULL;
    if ((c = new_handle(NULL, 1)) == NULL) {
        say(err, errlen, "out of memory");
        return NULL;
    }
    bind(c, map, size, &sh, 0);
    return c;
}

/* ta_counters_close - unmap and free */
void
ta_counters_close(ta_counters_t *c)
{
    if (c == NULL)
        return;
    detach(c);
    cache_drop(c);
    free(c->path);
    free(c);
}

/* ta_counters_problem - why nothing is counted now; NULL: the table counts */
const char *
ta_counters_problem(const ta_counters_t *c)
{
    return c != NULL && c->problem[0] != '\0' ? c->problem : NULL;
}

/* ta_counters_alarm - a replaced table, or a problem (no table, no disk
 * space) the first time it is seen; NULL when there is nothing new to say.
 * The text stays valid until the next call. */
const char *
ta_counters_alarm(ta_counters_t *c)
{
    const char *p;

    if (c == NULL)
        return NULL;
    if (c->notice[0] != '\0') {
        memcpy(c->alarmed, c->notice, sizeof(c->alarmed));
        c->notice[0] = '\0';
        return c->alarmed;
    }
    p = c->problem[0] != '\0' ? c->problem : c->space[0] != '\0' ? c->space : "";
    if (strcmp(p, c->alarmed) == 0)
        return NULL;
    snprintf(c->alarmed, sizeof(c->alarmed), "%s", p);
    return p[0] != '\0' ? c->alarmed : NULL;
}

/* reserved - rows with disk space, as far as the file says (at most the capacity) */
static uint32_t
reserved(const ta_counters_t *c)
{
    uint32_t r = atomic_load_explicit(&c->hdr->reserved_slots, memory_order_acquire);

    return r < c->capacity ? r : c->capacity;
}

/* reserve - disk space for rows up to row n (TA_OK), or the space problem set */
static int
reserve(ta_counters_t *c, uint32_t n)
{
    time_t   now = ta_monotonic_second();
    uint32_t r, add, cur;
    int      e = 0, locked;

    if (c->fd < 0 || !c->writer || c->space_failed == now)
        return TA_ESYSTEM;      /* a table in memory never grows; no space: try again next second */
    locked = flock(c->fd, LOCK_EX) == 0;
    for (r = reserved(c); r <= n; r += add) {
        add = c->capacity - r < CHUNK ? c->capacity - r : CHUNK;
        if ((e = space_for(c->fd, c->shape.index_size, c->capacity, r, add)) != 0)
            break;
        cur = atomic_load_explicit(&c->hdr->reserved_slots, memory_order_relaxed);
        while (cur < r + add
               && !atomic_compare_exchange_weak_explicit(&c->hdr->reserved_slots, &cur, r + add,
                                                         memory_order_release, memory_order_relaxed))
            ;
    }
    if (locked)
        flock(c->fd, LOCK_UN);
    if (e != 0) {
        c->space_failed = now;
        say(c->space, sizeof(c->space),
            "counter table %s: no disk space for new tenants' rows (%s): they are counted as (other)",
            c->path ? c->path : "in memory", strerror(e));
        return TA_ESYSTEM;
    }
    c->space[0] = '\0';
    return TA_OK;
}

/* claim - a new row for the tenant, written and ready; NO_ROW when full or no space */
static uint32_t
claim(ta_counters_t *c, hash_t h, ta_str_t name)
{
    _Atomic uint32_t *next = &c->hdr->next_slot;
    uint32_t          n = atomic_load_explicit(next, memory_order_relaxed);
    cold_row_t       *cold;
    unsigned          st;

    for (;;) {
        if (n < FIRST_ROW || n >= c->capacity)
            return NO_ROW;      /* full (or a damaged counter: never reuse a row) */
        if (n >= reserved(c) && reserve(c, n) != TA_OK)
            return NO_ROW;
        if (atomic_compare_exchange_weak_explicit(next, &n, n + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
    for (st = 0; st < TA_STREAMS; st++) {
        atomic_store_explicit(&c->hot[st][n].key, h.key, memory_order_relaxed);
        atomic_store_explicit(&c->hot[st][n].check, h.check, memory_order_relaxed);
    }
    cold = &c->cold[n];
    cold->name_len = (uint8_t) (name.len < LONG_NAME ? name.len : LONG_NAME);
    memcpy(cold->name, name.data, name.len < NAME_MAX_ ? name.len : NAME_MAX_);
    atomic_store_explicit(&cold->ready, READY, memory_order_release);
    return n;
}

/* ahead - ask for the lines of row n the caller touches beyond its hot
 * line, so that they arrive with it, not one after the other */
static void
ahead(const ta_counters_t *c, uint32_t n, const use_t *u)
{
    switch (u->what) {
    case TOUCH_BUCKET:
        __builtin_prefetch(&c->win[u->stream][n].hour[u->arg], 1);
        break;
    case TOUCH_WINDOWS:
        __builtin_prefetch(&c->win[0][n].hour[0]);
        __builtin_prefetch(&c->win[0][n].hour[WINDOW - 1]);
        __builtin_prefetch(&c->win[1][n].hour[0]);
        __builtin_prefetch(&c->win[1][n].hour[WINDOW - 1]);
        break;
    case TOUCH_DENIED:
        __builtin_prefetch(&c->cold[n].s[u->stream].denied[u->arg], 1);
        break;
    case TOUCH_WOULD:
        __builtin_prefetch(&c->cold[n].s[u->stream].would[u->arg], 1);
        break;
    default:
        break;
    }
}

/* hashed_as - whether row n carries the name's hash, read from the line
 * the caller counts in (the other lines it touches asked for first) */
static int
hashed_as(const ta_counters_t *c, uint32_t n, hash_t h, const use_t *u)
{
    const hot_t *hot = &c->hot[u->stream < 0 ? 0 : u->stream][n];

    ahead(c, n, u);
    return atomic_load_explicit(&hot->key, memory_order_relaxed) == h.key
           && atomic_load_explicit(&hot->check, memory_order_relaxed) == h.check;
}

/* entry_row - the row an index entry names, if it is this tenant's; else NO_ROW */
static uint32_t
entry_row(const ta_counters_t *c, uint64_t e, hash_t h, ta_str_t name, const use_t *u)
{
    uint32_t          n = (uint32_t) e;    /* row + 1 */
    const cold_row_t *s;

    if ((uint32_t) (e >> 32) != (uint32_t) (h.key >> 32) || n <= FIRST_ROW || n - 1 >= reserved(c))
        return NO_ROW;
    s = &c->cold[n - 1];
    __builtin_prefetch(&s->ready);
    if (!hashed_as(c, n - 1, h, u)
        || atomic_load_explicit(&s->ready, memory_order_acquire) != READY
        || s->name_len != (name.len < LONG_NAME ? name.len : LONG_NAME)
        || memcmp(s->name, name.data, name.len < NAME_MAX_ ? name.len : NAME_MAX_) != 0)
        return NO_ROW;
    return n - 1;
}

/* cache_set - the set of the cache where a name's row is remembered */
static way_t *
cache_set(ta_counters_t *c, hash_t h)
{
    return c->cache != NULL ? c->cache[h.check & (CACHE_SETS - 1)].way : c->little;
}

/*
 * cache_asked - whether this lookup asks the cache. All do, but while the
 * cache is idle: its hit rate was under 1/8 over the last CACHE_EPOCH
 * lookups (many more tenants than it holds, at random), where asking it
 * costs a line more than it saves. It is still asked, and filled, one
 * lookup in CACHE_SAMPLE, which tells when it would hit again.
 */
static int
cache_asked(ta_counters_t *c)
{
    int ask = !c->idle || c->tries % CACHE_SAMPLE == 0;

    if (++c->tries >= CACHE_EPOCH) {
        c->idle = c->hits * 8 < (c->idle ? CACHE_EPOCH / CACHE_SAMPLE : CACHE_EPOCH);
        c->tries = c->hits = 0;
    }
    return ask;
}

/* cache_find - the tenant's row as the cache remembers it, if the row
 * (below reserved_slots) still carries its hash; else NO_ROW */
static uint32_t
cache_find(ta_counters_t *c, hash_t h, const use_t *u)
{
    const way_t *w;
    uint32_t     tag = (uint32_t) (h.check >> 32), n = NO_ROW;
    int          i;

    w = cache_set(c, h);
    for (i = 0; i < CACHE_WAYS && w[i].row != 0; i++)
        if (w[i].tag == tag) {
            n = w[i].row;
            break;
        }
    if (n < FIRST_ROW || n >= reserved(c) || !hashed_as(c, n, h, u))
        return NO_ROW;
    return n;
}

/* cache_put - remember the tenant's row: newest first in its set, in
 * place of its own older entry, else of the oldest. The handle's one set
 * serves until a ninth tenant, then the whole cache is mapped (a process
 * of one connection, one tenant, never maps it); without memory, the one
 * set goes on serving. */
static uint32_t
cache_put(ta_counters_t *c, hash_t h, uint32_t n)
{
    way_t   *w;
    uint32_t tag = (uint32_t) (h.check >> 32);
    void    *m;
    int      i;

    if (c->cache == NULL && c->little[CACHE_WAYS - 1].row != 0) {
        /* anonymous memory: zeroed, and its pages come when first touched
         * (the one set's tenants are found again through the index) */
        m = mmap(NULL, CACHE_SETS * sizeof(cache_set_t), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED)
            c->cache = m;
    }
    w = cache_set(c, h);
    for (i = 0; i < CACHE_WAYS - 1 && w[i].row != 0 && w[i].tag != tag; i++)
        ;
    memmove(&w[1], &w[0], (size_t) i * sizeof(*w));
    w[0].tag = tag;
    w[0].row = n;
    return n;
}

/*
 * locate - the tenant's row: ROW_NONE for the empty name; when create, a
 * new tenant gets a row, or ROW_OTHER with *over set when it cannot;
 * else NO_ROW when it has none. u: what the caller touches next.
 */
static uint32_t
locate(ta_counters_t *c, ta_str_t name, int create, const use_t *u, int *over)
{
    hash_t   h;
    uint64_t e, want;
    uint32_t pos, row, mine = NO_ROW;
    int      i, ask;

    *over = 0;
    if (name.len == 0)
        return ROW_NONE;
    h = name_hash(name.data, name.len);
    if ((ask = cache_asked(c)) && (row = cache_find(c, h, u)) != NO_ROW) {
        c->hits++;
        return row;
    }
    pos = (uint32_t) h.key & c->mask;
    for (i = 0; i < MAX_PROBES; i++, pos = (pos + 1) & c->mask) {
        e = atomic_load_explicit(&c->index[pos], memory_order_acquire);
        if (e == 0) {
            if (!create || (mine == NO_ROW && (mine = claim(c, h, name)) == NO_ROW))
                break;
            ahead(c, mine, u);
            want = (h.key >> 32) << 32 | (uint64_t) (mine + 1);
            if (atomic_compare_exchange_strong_explicit(&c->index[pos], &e, want, memory_order_acq_rel,
                                                        memory_order_acquire))
                return ask ? cache_put(c, h, mine) : mine;
            /* lost the entry: e is the winner's, perhaps this very tenant */
        }
        if ((row = entry_row(c, e, h, name, u)) != NO_ROW) {
            if (mine != NO_ROW)
                atomic_store_explicit(&c->cold[mine].ready, ABANDONED, memory_order_release);
            return ask ? cache_put(c, h, row) : row;
        }
    }
    if (mine != NO_ROW)
        atomic_store_explicit(&c->cold[mine].ready, ABANDONED, memory_order_release);
    if (!create)
        return NO_ROW;
    *over = 1;
    return ROW_OTHER;
}

/* add - one counter, relaxed: counts need no order */
static inline void
add(_Atomic uint64_t *v, uint64_t n)
{
    if (n != 0)
        atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

/* ta_counters_count - one decided message */
void
ta_counters_count(ta_counters_t *c, ta_str_t tenant, ta_stream_t stream, const ta_count_t *what)
{
    hot_t   *hot;
    cold_t  *cold;
    use_t    u;
    uint32_t row;
    unsigned r;
    int      over;

    if (c == NULL || what == NULL || (unsigned) stream >= TA_STREAMS
        || (unsigned) what->verdict > TA_COUNT_WOULD_REFUSE)
        return;
    recheck(c);
    if (c->map == NULL || !c->writer)
        return;
    r = (unsigned) what->reason < TA_R_COUNT ? (unsigned) what->reason : TA_R_NONE;
    u.stream = (int) stream;
    u.what = what->verdict == TA_COUNT_ACCEPTED ? TOUCH_HOT
           : what->verdict == TA_COUNT_WOULD_REFUSE ? TOUCH_WOULD : TOUCH_DENIED;
    u.arg = r;
    row = locate(c, tenant, 1, &u, &over);
    hot = &c->hot[stream][row];
    cold = &c->cold[row].s[stream];
    switch (what->verdict) {
    case TA_COUNT_REFUSED:
    case TA_COUNT_TEMPFAILED:
        add(&cold->denied[r], 1);
        break;
    case TA_COUNT_WOULD_REFUSE:
        add(&cold->would[r], 1);
        goto relayed;
    default:
        add(&hot->accepted, 1);
    relayed:
        add(&hot->bytes, what->bytes);
        add(&hot->sig[0], what->sigs[0]);
        add(&hot->sig[1], what->sigs[1]);
        break;
    }
    if (over)
        add(&c->hdr->overflow, 1);
}

/* bucket_of - the 5-minute bucket of a time, as stored (32 bits) */
static uint32_t
bucket_of(int64_t now)
{
    return now <= 0 ? 0 : (uint32_t) ((uint64_t) now / BUCKET);
}

/* ta_counters_hour_add - one message into the tenant's hourly window */
void
ta_counters_hour_add(ta_counters_t *c, ta_str_t tenant, ta_stream_t stream, int64_t now)
{
    _Atomic uint64_t *w;
    uint64_t          old, nw;
    uint32_t          b = bucket_of(now);
    use_t             u = { (int) stream, TOUCH_BUCKET, b % WINDOW };
    int               over;

    if (c == NULL || (unsigned) stream >= TA_STREAMS)
        return;
    recheck(c);
    if (c->map == NULL || !c->writer)
        return;
    w = &c->win[stream][locate(c, tenant, 1, &u, &over)].hour[b % WINDOW];
    old = atomic_load_explicit(w, memory_order_relaxed);
    do {
        if ((uint32_t) (old >> 32) < b)
            nw = (uint64_t) b << 32 | 1;        /* stale: this bucket's first */
        else if ((uint32_t) old != UINT32_MAX)
            nw = old + 1;                       /* (a newer bucket: another clock ahead; counted there) */
        else
            return;
    } while (!atomic_compare_exchange_weak_explicit(w, &old, nw, memory_order_relaxed, memory_order_relaxed));
}

/* window - the messages in a row's hourly window (of one stream) at bucket b */
static uint64_t
window(const win_t *s, uint32_t b)
{
    uint64_t sum = 0, v;
    uint32_t vb;
    int      i;

    for (i = 0; i < WINDOW; i++) {
        v = atomic_load_explicit(&s->hour[i], memory_order_relaxed);
        vb = (uint32_t) (v >> 32);
        if (vb <= b && b - vb < WINDOW)
            sum += (uint32_t) v;
    }
    return sum;
}

/* ta_counters_hour - the tenant's messages in the last 55 to 60 minutes, per stream */
void
ta_counters_hour(ta_counters_t *c, ta_str_t tenant, int64_t now, uint64_t out[TA_STREAMS])
{
    static const use_t every = { -1, TOUCH_WINDOWS, 0 };
    uint32_t           row;
    unsigned           st;
    int                over;

    for (st = 0; st < TA_STREAMS; st++)
        out[st] = 0;
    if (c == NULL)
        return;
    recheck(c);
    if (c->map == NULL || (row = locate(c, tenant, 0, &every, &over)) == NO_ROW)
        return;
    for (st = 0; st < TA_STREAMS; st++)
        out[st] = window(&c->win[st][row], bucket_of(now));
}

/* fill_row - a snapshot of row n */
static void
fill_row(const ta_counters_t *c, uint32_t n, int64_t now, ta_counters_row_t *row)
{
    const cold_row_t *s = &c->cold[n];
    size_t            len = s->name_len, keep = len < NAME_MAX_ ? len : NAME_MAX_;
    unsigned          st, r;

    memset(row, 0, sizeof(*row));
    row->special = n == ROW_NONE ? 1 : n == ROW_OTHER ? 2 : 0;
    if (!row->special) {
        memcpy(row->name, s->name, keep);
        row->name_len = keep;
        if (len > NAME_MAX_)
            row->name[row->name_len++] = '~';
    }
    for (st = 0; st < TA_STREAMS; st++) {
        const hot_t *h = &c->hot[st][n];

        row->s[st].accepted = atomic_load_explicit(&h->accepted, memory_order_relaxed);
        row->s[st].bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
        row->s[st].sig[0] = atomic_load_explicit(&h->sig[0], memory_order_relaxed);
        row->s[st].sig[1] = atomic_load_explicit(&h->sig[1], memory_order_relaxed);
        for (r = 0; r < TA_R_COUNT; r++) {
            row->s[st].denied[r] = atomic_load_explicit(&s->s[st].denied[r], memory_order_relaxed);
            row->s[st].would[r] = atomic_load_explicit(&s->s[st].would[r], memory_order_relaxed);
        }
        row->s[st].hour = window(&c->win[st][n], bucket_of(now));
    }
}

/* row_empty - nothing counted in the row */
static int
row_empty(const ta_counters_row_t *row)
{
    static const ta_counters_row_t zero;

    return memcmp(row->s, zero.s, sizeof(row->s)) == 0;
}

/* ta_counters_each - every ready row, in order of first use */
int
ta_counters_each(ta_counters_t *c, int64_t now, int (*fn)(const ta_counters_row_t *row, void *arg), void *arg)
{
    ta_counters_row_t row;
    uint32_t          n, end;
    int               rc;

    if (c == NULL || fn == NULL)
        return 0;
    recheck(c);
    if (c->map == NULL)
        return 0;
    /* rows past those given disk space are never touched (nor past the capacity) */
    end = atomic_load_explicit(&c->hdr->next_slot, memory_order_acquire);
    if (end > reserved(c))
        end = reserved(c);
    if (end < FIRST_ROW)
        end = FIRST_ROW;        /* the special rows have space from the start */
    for (n = 0; n < end; n++) {
        if (n >= FIRST_ROW && atomic_load_explicit(&c->cold[n].ready, memory_order_acquire) != READY)
            continue;
        fill_row(c, n, now, &row);
        if (n < FIRST_ROW && row_empty(&row))
            continue;
        if ((rc = fn(&row, arg)) != 0)
            return rc;
    }
    return 0;
}

/* ta_counters_info - tenant rows used, rows for tenants, messages counted as (other) for want of one */
void
ta_counters_info(const ta_counters_t *c, uint64_t *tenants, uint64_t *capacity, uint64_t *overflow)
{
    uint32_t next;

    if (tenants)
        *tenants = 0;
    if (capacity)
        *capacity = 0;
    if (overflow)
        *overflow = 0;
    if (c == NULL || c->map == NULL)
        return;
    next = atomic_load_explicit(&c->hdr->next_slot, memory_order_relaxed);
    if (next > c->capacity)
        next = c->capacity;
    if (tenants)
        *tenants = next > FIRST_ROW ? next - FIRST_ROW : 0;
    if (capacity)
        *capacity = c->capacity - FIRST_ROW;
    if (overflow)
        *overflow = atomic_load_explicit(&c->hdr->overflow, memory_order_relaxed);
}
