/* test_time.c - clocks, sleeping and RFC 3339 stamps (core/time.c) */
#define _POSIX_C_SOURCE 200809L
#include "core/time.h"
#include "tests/unit.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static void test_time__sleep_lasts_at_least_the_time_asked(void)
{
    double t0 = mo_time_mono();
    mo_time_sleep(0.05);
    double dt = mo_time_mono() - t0;
    CU_ASSERT(dt >= 0.05);
    CU_ASSERT(dt < 5.0);
    t0 = mo_time_mono();
    mo_time_sleep(0);
    mo_time_sleep(-1);
    CU_ASSERT(mo_time_mono() - t0 < 0.5);
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal in the middle does not cut the sleep short. */
static void test_time__sleep_resumes_after_a_signal(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: nanosleep returns EINTR */
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGALRM, &sa, &old), 0);
    timer_t t;
    struct sigevent se = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    CU_ASSERT_EQUAL_FATAL(timer_create(CLOCK_MONOTONIC, &se, &t), 0);
    struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}};
    CU_ASSERT_EQUAL(timer_settime(t, 0, &its, NULL), 0);
    double t0 = mo_time_mono();
    mo_time_sleep(0.1);
    CU_ASSERT(mo_time_mono() - t0 >= 0.1);
    timer_delete(t);
    sigaction(SIGALRM, &old, NULL);
}

static void test_time__iso8601_is_utc_with_milliseconds(void)
{
    char buf[40];
    CU_ASSERT_STRING_EQUAL(mo_time_iso8601(buf, sizeof buf, INT64_C(1795647420123000000)),
                           "2026-11-25T22:57:00.123Z");
    CU_ASSERT_STRING_EQUAL(mo_time_iso8601(buf, sizeof buf, 0), "1970-01-01T00:00:00.000Z");
    int64_t a = mo_time_unix_ns();
    CU_ASSERT(a > INT64_C(1700000000) * 1000000000);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_time__sleep_lasts_at_least_the_time_asked),
    MO_TEST(test_time__sleep_resumes_after_a_signal),
    MO_TEST(test_time__iso8601_is_utc_with_milliseconds),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/time", tests);
}
