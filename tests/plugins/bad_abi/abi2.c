/* abi2.c - test plugin built for a future ABI major: the host must refuse it unread */
#include "maestro_plugin.h"

static int abi2_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    (void)state;
    (void)host;
    (void)errbuf;
    (void)errlen;
    return MAESTRO_E_FAILED; /* never reached: the host checks the ABI first */
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = 2,
    .abi_minor = 0,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_METRICS,
    .name = "abi2",
    .version = "2.0",
    .init = abi2_init,
};
