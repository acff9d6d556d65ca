/* secrets_impl.h - a test secrets provider, built twice (secrets_a.c, secrets_b.c) so the
 * tests can check provider order. Secrets come from the plugin's config: key "<name>/<key>".
 * Config `unavailable` makes every lookup answer MAESTRO_E_RETRY with *needed = 0 (the
 * provider's service is down). Only init and resolve_secret are set: every other optional
 * callback is NULL, which the host must survive. */
#include "maestro_plugin.h"

#include <stdio.h>
#include <string.h>

#ifndef TS_NAME
#error "define TS_NAME before including secrets_impl.h"
#endif

static int ts_init(void **state, const maestro_host_t *host, char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    *state = (void *)host;
    return MAESTRO_OK;
}

static int ts_resolve(void *state, const char *name, const char *key, char *buf, size_t buflen,
                      size_t *needed)
{
    const maestro_host_t *host = state;
    char k[256];
    if (host->config(host->ctx, "unavailable")) {
        *needed = 0;
        return MAESTRO_E_RETRY;
    }
    snprintf(k, sizeof k, "%s/%s", name, key);
    const char *v = host->config(host->ctx, k);
    if (!v)
        return MAESTRO_E_NOTFOUND;
    *needed = strlen(v) + 1;
    if (buflen < *needed)
        return MAESTRO_E_RETRY; /* the protocol: the host calls again with *needed bytes */
    memcpy(buf, v, *needed);
    return MAESTRO_OK;
}

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_SECRETS,
    .name = TS_NAME,
    .version = "0.1",
    .init = ts_init,
    .resolve_secret = ts_resolve,
};
