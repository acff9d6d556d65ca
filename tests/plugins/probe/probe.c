/* probe.c - test plugin with configurable behaviour: event sleeps `sleep_ms` (default 0) and
 * answers `rc` (ok | failed | retry | config-at-init). With `record` set, run_start appends
 * "run_start <run_id> <parent_run_id>" to that file ("-" for a NULL parent), so a test sees
 * what reached the plugin after the host's queue. Only init, run_start, event and fini are set;
 * the other optional callbacks are NULL, which the host must survive. */
#include "maestro_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    long sleep_ms;
    int rc;
    const char *record; /* host->config's value: valid until fini */
    uint32_t host_minor;
} probe_t;

static int probe_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    const char *s = host->config(host->ctx, "sleep_ms"), *rc = host->config(host->ctx, "rc");
    probe_t *st = calloc(1, sizeof *st);
    if (!st)
        return MAESTRO_E_FAILED;
    st->sleep_ms = s ? strtol(s, NULL, 10) : 0;
    st->record = host->config(host->ctx, "record");
    st->host_minor = host->version;
    st->rc = MAESTRO_OK;
    if (rc && !strcmp(rc, "failed"))
        st->rc = MAESTRO_E_FAILED;
    else if (rc && !strcmp(rc, "retry"))
        st->rc = MAESTRO_E_RETRY;
    else if (rc && !strcmp(rc, "config-at-init")) {
        snprintf(errbuf, errlen, "rc: config-at-init asked for it");
        free(st);
        return MAESTRO_E_CONFIG;
    }
    *state = st;
    return MAESTRO_OK;
}

static void probe_fini(void *state)
{
    free(state);
}

static int probe_run_start(void *state, const maestro_run_info_t *run)
{
    probe_t *st = state;
    if (!st->record)
        return MAESTRO_OK;
    FILE *f = fopen(st->record, "a");
    if (!f)
        return MAESTRO_E_FAILED;
    /* parent_run_id is ABI 1.1: a host of minor 0 has no such field */
    const char *parent = st->host_minor >= 1 ? run->parent_run_id : NULL;
    fprintf(f, "run_start %s %s\n", run->run_id ? run->run_id : "-", parent ? parent : "-");
    fclose(f);
    return MAESTRO_OK;
}

static int probe_event(void *state, const maestro_event_t *ev)
{
    probe_t *st = state;
    (void)ev;
    if (st->sleep_ms > 0) {
        struct timespec ts = {st->sleep_ms / 1000, (st->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return st->rc;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_METRICS,
    .name = "probe",
    .version = "0.1",
    .init = probe_init,
    .fini = probe_fini,
    .run_start = probe_run_start,
    .event = probe_event,
};
