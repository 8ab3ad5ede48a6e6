/*
 * NAME
 *	ta_hold_watch 3h
 * SUMMARY
 *	the hold file beside a store, followed as the store is
 * SYNOPSIS
 *	ta_hold_watch_t *ta_hold_watch_new(const char *store_path);
 *	int  ta_hold_watch_get(ta_hold_watch_t *w, const ta_hold_t **hold,
 *	                       char *err, size_t errlen);
 *	void ta_hold_watch_free(ta_hold_watch_t *w);
 * DESCRIPTION
 *	ta_hold_watch_get() stats STORE.hold at most once a second and reads
 *	it again when it changed: a pause takes effect in every process
 *	within about a second, whatever the size of the store. No file is no
 *	hold (*hold NULL). A file that cannot be read or parsed is TA_ESYSTEM
 *	with err saying why, until it is fixed: who is suspended cannot be
 *	told, so the callers tempfail everyone rather than let a suspended
 *	tenant through (the file is written by tenantalign, atomically).
 */
#ifndef TA_HOLD_WATCH_H
#define TA_HOLD_WATCH_H

#include "ta_hold.h"

typedef struct ta_hold_watch ta_hold_watch_t;

ta_hold_watch_t *ta_hold_watch_new(const char *store_path);
int  ta_hold_watch_get(ta_hold_watch_t *w, const ta_hold_t **hold, char *err, size_t errlen);
void ta_hold_watch_free(ta_hold_watch_t *w);

#endif
