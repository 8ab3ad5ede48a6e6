/*
 * NAME
 *	cli_state 3
 * SUMMARY
 *	the onboarding state file on disk: read, lock, replace atomically
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int  ta_cli_state_load(const char *path, int must_exist,
 *	                       struct ta_state **out, const char *cmd);
 *	int  ta_cli_lock(const char *path, const char *cmd);
 *	int  ta_cli_state_save(const char *path, const struct ta_state *st,
 *	                       const char *cmd);
 *	int  ta_cli_now(const char *arg, int64_t *now, const char *cmd);
 *	int  ta_cli_write_atomic(const char *path, const char *text, size_t len,
 *	                         unsigned mode, const char *cmd);
 * DESCRIPTION
 *	verify and rotate read the state, change it and write it back whole;
 *	ta_cli_lock() takes an exclusive lock on PATH.lock for that
 *	(held until the process exits), so two of them never lose each
 *	other's changes. ta_cli_state_save() writes a temporary file beside
 *	PATH, fsyncs it and renames it over PATH: compile reads the old state
 *	or the new one, never a mixture. A missing file is an empty state
 *	unless must_exist (compile: a mistyped --state must not silently
 *	stop every key from signing). Errors go to standard error, prefixed
 *	with cmd; the return value is an exit status. ta_cli_now() reads
 *	--now (seconds since 1970, UTC: what the lifecycle would be then).
 *	ta_cli_write_atomic() is the replace-whole-file step itself (the hold
 *	file uses it too); ta_cli_lock() locks any PATH.lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ta_state.h"

/* ta_cli_state_load - the state at path */
int
ta_cli_state_load(const char *path, int must_exist, ta_state_t **out, const char *cmd)
{
    char   *text, err[512];
    size_t  len;
    int     rc;

    *out = NULL;
    text = ta_cli_read(path, &len);
    if (text == NULL && errno == ENOENT && !must_exist) {
        *out = ta_state_new();
        if (*out == NULL) {
            fprintf(stderr, "%s: out of memory\n", cmd);
            return TA_EXIT_TEMPFAIL;
        }
        return TA_EXIT_OK;
    }
    if (text == NULL) {
        fprintf(stderr, "%s: state file %s: %s%s\n", cmd, path, strerror(errno),
                errno == ENOENT ? " (tenantalign verify --state writes it)" : "");
        return TA_EXIT_TEMPFAIL;
    }
    rc = ta_state_parse(text, len, out, err, sizeof(err));
    free(text);
    if (rc != TA_OK) {
        fprintf(stderr, "%s: state file %s: %s\n", cmd, path, err);
        return TA_EXIT_TEMPFAIL;
    }
    return TA_EXIT_OK;
}

/* ta_cli_lock - hold PATH.lock exclusively until the process exits */
int
ta_cli_lock(const char *path, const char *cmd)
{
    char lock[4096];
    int  fd;

    snprintf(lock, sizeof(lock), "%s.lock", path);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        fprintf(stderr, "%s: %s: %s\n", cmd, lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return TA_EXIT_TEMPFAIL;
    }
    return TA_EXIT_OK;      /* the descriptor stays open: the lock with it */
}

/* ta_cli_write_atomic - replace a file whole: temporary file beside it, fsync, rename */
int
ta_cli_write_atomic(const char *path, const char *text, size_t len, unsigned mode, const char *cmd)
{
    char    tmp[4096];
    size_t  off = 0;
    ssize_t w;
    int     fd;

    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long) getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t) mode);
    while (fd >= 0 && off < len && (w = write(fd, text + off, len - off)) > 0)
        off += (size_t) w;
    if (fd < 0 || off != len || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", cmd, path, strerror(errno));
        unlink(tmp);
        return TA_EXIT_TEMPFAIL;
    }
    return TA_EXIT_OK;
}

/* ta_cli_state_save - replace the state file atomically */
int
ta_cli_state_save(const char *path, const ta_state_t *st, const char *cmd)
{
    char   *text;
    size_t  len;
    int     rc;

    if (ta_state_format(st, &text, &len) != TA_OK) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return TA_EXIT_TEMPFAIL;
    }
    rc = ta_cli_write_atomic(path, text, len, 0644, cmd);
    free(text);
    return rc;
}

/* ta_cli_now - --now EPOCH (UTC seconds), or the time */
int
ta_cli_now(const char *arg, int64_t *now, const char *cmd)
{
    char *end;
    long long v;

    if (arg == NULL) {
        *now = (int64_t) time(NULL);
        return TA_EXIT_OK;
    }
    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < 0) {
        fprintf(stderr, "%s: --now wants seconds since 1970 (UTC), not \"%s\"\n", cmd, arg);
        return TA_EXIT_USAGE;
    }
    *now = (int64_t) v;
    return TA_EXIT_OK;
}
