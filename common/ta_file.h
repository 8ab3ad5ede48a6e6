/*
 * NAME
 *	ta_file 3h
 * SUMMARY
 *	whether a path still names the file read from it
 * DESCRIPTION
 *	The store and the hold file are replaced by rename and looked at with
 *	one stat() at most once a second: ta_same_file() says whether two
 *	stats are of the same file, unchanged (device, inode, size and
 *	modification time to the nanosecond).
 */
#ifndef TA_FILE_H
#define TA_FILE_H

#include <sys/stat.h>

/* ta_same_file - two stats are of the same file, unchanged */
static inline int
ta_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size
           && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

#endif
