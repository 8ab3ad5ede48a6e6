/*
 * NAME
 *	ta_clock 3h
 * SUMMARY
 *	the clock behind the once-a-second checks of files (store, keys)
 * SYNOPSIS
 *	time_t ta_monotonic_second(void);
 * DESCRIPTION
 *	Monotonic seconds from the coarse clock, which is read without a
 *	system call (vDSO): cheap enough to ask on every message.
 */
#ifndef TA_CLOCK_H
#define TA_CLOCK_H

#include <time.h>

static inline time_t
ta_monotonic_second(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

#endif
