/* probe.c - test plugin with configurable behaviour: event sleeps `sleep_ms` (default 0) and
 * answers `rc` (ok | failed | retry | config-at-init). Only init, event and fini are set; the
 * other optional callbacks are NULL, which the host must survive. */
#include "maestro_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    long sleep_ms;
    int rc;
} probe_t;

static int probe_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    const char *s = host->config(host->ctx, "sleep_ms"), *rc = host->config(host->ctx, "rc");
    probe_t *st = calloc(1, sizeof *st);
    if (!st)
        return MAESTRO_E_FAILED;
    st->sleep_ms = s ? strtol(s, NULL, 10) : 0;
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
    .event = probe_event,
};
