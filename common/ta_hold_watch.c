/*
 * NAME
 *	ta_hold_watch 3
 * SUMMARY
 *	STORE.hold: stat once a second, read and parse when it changed
 * DESCRIPTION
 *	See ta_hold_watch.h. The file is small (only the tenants on hold) and
 *	bounded at 64 MB; it is read whole with one open, so a rename in the
 *	middle gives the old file or the new, never a mixture.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ta_clock.h"
#include "ta_file.h"
#include "ta_hold_watch.h"

#define HOLD_MAX (64u << 20)

struct ta_hold_watch {
    char       *path;
    time_t      checked;        /* monotonic second of the last stat */
    struct stat st;             /* of the file read (st_ino 0: none) */
    ta_hold_t  *hold;
    int         bad;
    char        why[300];
};

/* ta_hold_watch_new - follow STORE.hold */
ta_hold_watch_t *
ta_hold_watch_new(const char *store_path)
{
    ta_hold_watch_t *w = calloc(1, sizeof(*w));
    size_t           n = strlen(store_path) + sizeof(".hold");

    if (w == NULL || (w->path = malloc(n)) == NULL) {
        free(w);
        return NULL;
    }
    snprintf(w->path, n, "%s.hold", store_path);
    w->checked = -1;
    return w;
}

/* ta_hold_watch_free - the watch and the hold it read */
void
ta_hold_watch_free(ta_hold_watch_t *w)
{
    if (w == NULL)
        return;
    ta_hold_free(w->hold);
    free(w->path);
    free(w);
}

/* fail - the file cannot be used: say why, until it changes */
static int
fail(ta_hold_watch_t *w, const struct stat *sb, char *err, size_t errlen)
{
    ta_hold_free(w->hold);
    w->hold = NULL;
    w->bad = 1;
    w->st = *sb;
    snprintf(err, errlen, "%s", w->why);
    return TA_ESYSTEM;
}

/* load - read and parse the file at the path */
static int
load(ta_hold_watch_t *w, const struct stat *sb, char *err, size_t errlen)
{
    char      *buf;
    char       perr[200];
    size_t     got = 0;
    ssize_t    r;
    ta_hold_t *h;
    int        fd = open(w->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || sb->st_size < 0 || (size_t) sb->st_size > HOLD_MAX) {
        snprintf(w->why, sizeof(w->why), "hold file %s: %s", w->path,
                 fd < 0 ? strerror(errno) : "larger than 64 MB");
        if (fd >= 0)
            close(fd);
        return fail(w, sb, err, errlen);
    }
    buf = malloc((size_t) sb->st_size + 1);
    while (buf != NULL && got < (size_t) sb->st_size
           && (r = read(fd, buf + got, (size_t) sb->st_size - got)) > 0)
        got += (size_t) r;
    close(fd);
    if (buf == NULL) {
        snprintf(w->why, sizeof(w->why), "hold file %s: out of memory", w->path);
        return fail(w, sb, err, errlen);
    }
    if (ta_hold_parse(buf, got, &h, perr, sizeof(perr)) != TA_OK) {
        free(buf);
        snprintf(w->why, sizeof(w->why), "hold file %s: %s", w->path, perr);
        return fail(w, sb, err, errlen);
    }
    free(buf);
    ta_hold_free(w->hold);
    w->hold = h;
    w->bad = 0;
    w->st = *sb;
    return TA_OK;
}

/* ta_hold_watch_get - the current hold (NULL: none), or TA_ESYSTEM while the file is unusable */
int
ta_hold_watch_get(ta_hold_watch_t *w, const ta_hold_t **hold, char *err, size_t errlen)
{
    time_t      now = ta_monotonic_second();
    struct stat sb;

    *hold = NULL;
    if (now != w->checked) {
        w->checked = now;
        if (stat(w->path, &sb) != 0) {
            if (errno != ENOENT) {
                memset(&sb, 0, sizeof(sb));
                snprintf(w->why, sizeof(w->why), "hold file %s: %s", w->path, strerror(errno));
                return fail(w, &sb, err, errlen);
            }
            ta_hold_free(w->hold);      /* no file: nobody on hold */
            w->hold = NULL;
            w->bad = 0;
            memset(&w->st, 0, sizeof(w->st));
        } else if (!ta_same_file(&sb, &w->st)) {
            if (load(w, &sb, err, errlen) != TA_OK)
                return TA_ESYSTEM;
        }
    }
    if (w->bad) {
        snprintf(err, errlen, "%s", w->why);
        return TA_ESYSTEM;
    }
    *hold = w->hold;
    return TA_OK;
}
