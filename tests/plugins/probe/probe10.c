/* probe10.c - test plugin as built against ABI 1.0 (minor 0, before parent_run_id): the host
 * must still load it and hand it run_start. It reads only the fields 1.0 had and appends
 * "run_start <run_id> <ranks>" to the file in config `record`. */
#include "maestro_plugin.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *record; /* host->config's value: valid until fini */
} probe10_t;

static int probe10_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    probe10_t *st = calloc(1, sizeof *st);
    if (!st)
        return MAESTRO_E_FAILED;
    st->record = host->config(host->ctx, "record");
    *state = st;
    return MAESTRO_OK;
}

static void probe10_fini(void *state)
{
    free(state);
}

static int probe10_run_start(void *state, const maestro_run_info_t *run)
{
    probe10_t *st = state;
    FILE *f = st->record ? fopen(st->record, "a") : NULL;
    if (!f)
        return MAESTRO_E_FAILED;
    fprintf(f, "run_start %s %d\n", run->run_id ? run->run_id : "-", run->ranks);
    fclose(f);
    return MAESTRO_OK;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = 0, /* what a plugin built against the 1.0 header says */
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_METRICS,
    .name = "probe10",
    .version = "0.1",
    .init = probe10_init,
    .fini = probe10_fini,
    .run_start = probe10_run_start,
};
