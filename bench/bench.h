/* bench.h - timing helpers shared by the benchmarks (not a library) */
#ifndef TA_BENCH_H
#define TA_BENCH_H

#include <stdlib.h>
#include <time.h>

/* bench_now - monotonic seconds */
static inline double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* bench_cmp - qsort order of doubles */
static inline int
bench_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* bench_median - median of n values (sorts them) */
static inline double
bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), bench_cmp);
    return v[n / 2];
}

#endif
