/* time.c - clocks and timestamps */
#define _POSIX_C_SOURCE 200809L
#include "core/time.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

double mo_time_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mo_time_sleep(double seconds)
{
    if (!(seconds > 0))
        return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int64_t mo_time_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *mo_time_iso8601(char *buf, size_t size, int64_t unix_ns)
{
    time_t secs = (time_t)(unix_ns / 1000000000);
    int ms = (int)((unix_ns % 1000000000) / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", base, ms);
    return buf;
}
