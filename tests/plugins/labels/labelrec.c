/* labelrec.c - test plugin of type registry (as MLflow is) that appends one line per metric
 * event to its `record` file: "<name> k=v k=v ...". Shows which labels reach a plugin that
 * is not a metrics plugin (the host adds run labels to metrics plugins' events only). */
#include "maestro_plugin.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *record; /* host->config's value: valid until fini */
} labelrec_t;

static int labelrec_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    labelrec_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return MAESTRO_E_FAILED;
    }
    st->record = host->config(host->ctx, "record");
    *state = st;
    return MAESTRO_OK;
}

static void labelrec_fini(void *state)
{
    free(state);
}

static int labelrec_event(void *state, const maestro_event_t *ev)
{
    labelrec_t *st = state;
    if (!st->record || ev->kind != MAESTRO_EV_METRIC)
        return MAESTRO_OK;
    FILE *f = fopen(st->record, "a");
    if (!f)
        return MAESTRO_E_FAILED;
    fprintf(f, "%s", ev->name ? ev->name : "-");
    for (size_t i = 0; i < ev->n_labels; i++)
        fprintf(f, " %s=%s", ev->labels[i].key ? ev->labels[i].key : "-",
                ev->labels[i].value ? ev->labels[i].value : "-");
    fprintf(f, "\n");
    fclose(f);
    return MAESTRO_OK;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_REGISTRY,
    .name = "labelrec",
    .version = "0.1",
    .init = labelrec_init,
    .fini = labelrec_fini,
    .event = labelrec_event,
};
