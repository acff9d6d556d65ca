/* fault.c - deterministic fault injection (fault.h) */
#include "core/fault.h"

#include "core/time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parsed;
static char point_name[32];
static long target = -1, only_rank = -1, passed;
static char delay_name[32];
static long delay_ms;

static long launcher_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return 0;
}

static void parse_delay(void)
{
    const char *spec = getenv("MAESTRO_FAULT_DELAY");
    if (!spec || !*spec)
        return;
    char name[32];
    long ms = 0;
    if (sscanf(spec, "%31[a-z_]:%ld", name, &ms) != 2 || ms < 1 || ms > 60000) {
        fprintf(stderr,
                "maestro: MAESTRO_FAULT_DELAY=%.64s ignored: expected <point>:<ms>, 1-60000\n",
                spec);
        return;
    }
    snprintf(delay_name, sizeof delay_name, "%s", name);
    delay_ms = ms;
}

static void parse(void)
{
    parsed = 1;
    parse_delay();
    const char *spec = getenv("MAESTRO_FAULT");
    if (!spec || !*spec)
        return;
    char name[32];
    long n = 0, rank = -1;
    int got = sscanf(spec, "%31[a-z_]:%ld:%ld", name, &n, &rank);
    if (got < 2 || n < 1) {
        fprintf(stderr, "maestro: MAESTRO_FAULT=%.64s ignored: expected <point>:<n>[:<rank>]\n",
                spec);
        return;
    }
    snprintf(point_name, sizeof point_name, "%s", name);
    target = n;
    only_rank = got == 3 ? rank : -1;
}

int mo_fault_due(const char *point)
{
    if (!parsed)
        parse();
    if (delay_ms > 0 && !strcmp(point, delay_name))
        mo_time_sleep((double)delay_ms / 1000.0);
    if (target < 0 || strcmp(point, point_name) != 0)
        return 0;
    if (only_rank >= 0 && launcher_rank() != only_rank)
        return 0;
    return ++passed == target;
}

void mo_fault_kill(const char *point)
{
    fprintf(stderr, "maestro: MAESTRO_FAULT: killing this process at %s #%ld\n", point, passed);
    fflush(stderr);
    raise(SIGKILL);
}

void mo_fault_point(const char *point)
{
    if (mo_fault_due(point))
        mo_fault_kill(point);
}

int mo_fault_fail(const char *point, mo_error_t *err)
{
    if (!mo_fault_due(point))
        return 0;
    return mo_errorf(err, MO_ERUNTIME, "MAESTRO_FAULT: failing at %s #%ld", point, passed);
}
