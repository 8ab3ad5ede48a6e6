/*
 * fuzz_counters - a counter table of any bytes, as another process or a
 * damaged file may leave it: validated, then (when it passes) counted
 * into and read, never outside its bytes (the buffer is exactly the
 * table's size: ASan sees any access past it). Twice: the bytes as they
 * are (validation must refuse what is not a table), and the bytes behind
 * a header made sound (capacity 4 to 32, allocation counters anywhere in
 * range, the check value sealed) so that the index and rows, garbage
 * from the input, are what the counting and reading code meets. Each
 * table is counted into twice, the input xored over part of it between
 * the two (another process's garbage, written while the handle's cache
 * holds the rows it found): what the cache remembers is no more trusted
 * than the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_counters.h"

#define NOW 1800000000LL
#define FIXED 12            /* names counted in every table: more than the handle's own cache set holds */

/* row_ok - what a row handed out must be, whatever the file holds */
static int
row_ok(const ta_counters_row_t *row, void *arg)
{
    ta_str_t *names = arg;
    size_t    i;

    if (row->name_len > sizeof(row->name) || row->special < 0 || row->special > 2
        || (row->special && row->name_len != 0))
        abort();
    /* keep a few names to count under: the input's own rows */
    for (i = 0; names != NULL && i < 3; i++)
        if (names[i].len == 0 && row->name_len > 0 && row->name[row->name_len - 1] != '~') {
            char *copy = malloc(row->name_len);

            if (copy == NULL)
                return 1;
            memcpy(copy, row->name, row->name_len);
            names[i] = ta_str(copy, row->name_len);
            break;
        }
    return 0;
}

/* count_all - each name counted once, its window asked before and after */
static void
count_all(ta_counters_t *c, const ta_str_t *fixed, const ta_str_t *names)
{
    ta_count_t what;
    uint64_t   hour[TA_STREAMS];
    size_t     i;

    for (i = 0; i < FIXED + 3; i++) {
        ta_str_t name = i < FIXED ? fixed[i] : names[i - FIXED];

        memset(&what, 0, sizeof(what));
        what.verdict = (ta_count_verdict_t) (i % 4);
        what.reason = (ta_reason_t) (i * 5 % TA_R_COUNT);
        what.bytes = 100;
        what.sigs[i % 2] = 1;
        ta_counters_hour(c, name, NOW, hour);
        ta_counters_hour_add(c, name, (ta_stream_t) (i % 2), NOW + (int64_t) i * 300);
        ta_counters_count(c, name, (ta_stream_t) (i % 2), &what);
        ta_counters_hour(c, name, NOW + (int64_t) i * 300, hour);
    }
}

/* scribble - the input xored over the table past its header page, from
 * an offset the input picks (the handle does not look at it again) */
static void
scribble(unsigned char *map, size_t size, const uint8_t *data, size_t len)
{
    size_t at, i;

    if (len < 2 || size <= 4096)
        return;
    at = 4096 + ((size_t) data[0] << 8 | data[1]) * 64 % (size - 4096);
    for (i = 0; i < len && at + i < size; i++)
        map[at + i] ^= data[i];
}

/* exercise - count into and read a table that validated */
static void
exercise(void *map, size_t size, const uint8_t *data, size_t len)
{
    static const char long_name[] = "a-name-longer-than-eighty-seven-octets-is-kept-cut-and-told-apart-by-its-whole-hash-xxxxxxxx";
    static const char many[] = "t0t1t2t3t4t5t6t7";
    ta_counters_t    *c;
    ta_str_t          names[3] = { TA_STR_NULL, TA_STR_NULL, TA_STR_NULL }, fixed[FIXED];
    uint64_t          tenants, capacity, overflow;
    char              err[300];
    size_t            i;

    if ((c = ta_counters_open_mem(map, size, err, sizeof(err))) == NULL)
        abort();                /* it validated */
    ta_counters_each(c, NOW, row_ok, names);
    fixed[0] = ta_str("acme", 4);
    fixed[1] = ta_str("", 0);
    fixed[2] = ta_str(long_name, sizeof(long_name) - 1);
    fixed[3] = ta_str((const char *) data, len < 40 ? len : 40);
    for (i = 4; i < FIXED; i++)
        fixed[i] = ta_str(many + 2 * (i - 4), 2);
    count_all(c, fixed, names);
    scribble(map, size, data, len);
    count_all(c, fixed, names);
    ta_counters_each(c, NOW, row_ok, NULL);
    ta_counters_info(c, &tenants, &capacity, &overflow);
    if (tenants > capacity)
        abort();
    for (i = 0; i < 3; i++)
        free((char *) names[i].data);
    ta_counters_close(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void    *buf;
    char     err[300];
    uint32_t cap, v;
    size_t   n;

    /* the bytes as they are */
    if (size > 0 && posix_memalign(&buf, 64, size) == 0) {
        memcpy(buf, data, size);
        if (ta_counters_validate(buf, size, err, sizeof(err)) == TA_OK)
            exercise(buf, size, data, size);
        else if (err[0] == '\0')
            abort();
        free(buf);
    }

    /* the bytes behind a sound header */
    if (size < 3)
        return 0;
    cap = 4 + data[0] % 29;
    n = ta_counters_file_size(cap);
    if (posix_memalign(&buf, 64, n) != 0)
        return 0;
    memset(buf, 0, n);
    memcpy(buf, data, size < n ? size : n);
    memcpy(buf, "TACOUNT1", 8);
    v = 2;                      /* the format this tenantalign counts in */
    memcpy((char *) buf + 8, &v, 4);
    {
        /* row size and index size as the file size implies them */
        uint32_t idx = 1;

        while (idx < 2 * cap)
            idx <<= 1;
        v = (uint32_t) ((n - 4096 - (size_t) idx * 8) / cap);
        memcpy((char *) buf + 12, &v, 4);
        memcpy((char *) buf + 16, &cap, 4);
        memcpy((char *) buf + 20, &idx, 4);
    }
    v = 2 + data[1] % (cap - 1);
    memcpy((char *) buf + 24, &v, 4);
    v = 2 + data[2] % (cap - 1);
    memcpy((char *) buf + 28, &v, 4);
    ta_counters_seal(buf);
    if (ta_counters_validate(buf, n, err, sizeof(err)) != TA_OK)
        abort();
    exercise(buf, n, data, size);
    free(buf);
    return 0;
}
