/*
 * NAME
 *	ta_str 3h
 * SUMMARY
 *	counted strings and result codes shared by the whole core
 * DESCRIPTION
 *	Every byte range in tenantalign is a pointer plus a length; nothing
 *	in common/ relies on NUL termination of its input.
 */
#ifndef TA_STR_H
#define TA_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *data;
    size_t      len;
} ta_str_t;

#define TA_STR_LIT(lit) { (lit), sizeof(lit) - 1 }
#define TA_STR_NULL     { NULL, 0 }

/* Result codes used by functions that can fail for more than one reason. */
enum {
    TA_OK = 0,
    TA_NOTFOUND = 1,      /* lookup found nothing: not an error */
    TA_EINPUT = -1,       /* the input is bad: the client's (or author's) fault */
    TA_ESYSTEM = -2,      /* our fault: I/O, memory, corrupt data: tempfail */
};

static inline ta_str_t
ta_str(const char *data, size_t len)
{
    ta_str_t s = { data, len };
    return s;
}

static inline ta_str_t
ta_str_cstr(const char *cstr)
{
    return ta_str(cstr, cstr ? strlen(cstr) : 0);
}

/* ta_str_caseeq - ASCII case-insensitive equality of two counted strings */
static inline int
ta_str_caseeq(ta_str_t a, ta_str_t b)
{
    size_t i;

    if (a.len != b.len)
        return 0;
    for (i = 0; i < a.len; i++) {
        unsigned char x = (unsigned char) a.data[i], y = (unsigned char) b.data[i];
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return 0;
    }
    return 1;
}

static inline int
ta_str_eq(ta_str_t a, ta_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* ta_str_dec - u in decimal, written backwards to end at end; returns the
 * first digit (20 bytes hold any value): for hot paths that skip snprintf */
static inline char *
ta_str_dec(char *end, unsigned long long u)
{
    do {
        *--end = (char) ('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

/* ta_str_hash - FNV-1a of the bytes, for small in-process caches */
static inline uint32_t
ta_str_hash(ta_str_t s)
{
    uint32_t h = 2166136261u;
    size_t   i;

    for (i = 0; i < s.len; i++)
        h = (h ^ (unsigned char) s.data[i]) * 16777619u;
    return h;
}

#endif
