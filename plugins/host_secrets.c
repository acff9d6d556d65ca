/* host_secrets.c - `${secret:NAME/KEY}` through the loaded secrets plugins, in load order
 *
 * The lookup runs on the plugins' thread like every other plugin call, ahead of queued
 * events (the caller is waiting for it). Buffer protocol: the host offers SECRET_FIRST_BUF
 * bytes; a provider that needs more answers MAESTRO_E_RETRY with *needed > buflen and is
 * asked again with exactly that (a few times at most, up to SECRET_MAX). MAESTRO_E_RETRY with
 * *needed <= buflen means the provider's service is away. NOTFOUND passes to the next
 * provider; an error of one provider is reported only when no later provider has the secret.
 * Buffers that held a value are wiped before they are freed; messages never hold a value.
 */
#include "plugins/host_impl.h"

#include "core/log.h"

#include <stdlib.h>
#include <string.h>

#define SECRET_FIRST_BUF 256
#define SECRET_MAX ((size_t)1 << 20)

typedef struct {
    const char *name, *key;
    char *value;
    int rc;
    mo_error_t err;
} secret_call_t;

static void wipe(char *buf, size_t n)
{
    volatile char *v = buf;
    while (n--)
        *v++ = 0;
}

/* One provider; 0 with *value set, or MAESTRO_E_* (NOTFOUND: try the next). */
static int ask_provider(plugin_t *pl, const char *name, const char *key, char **value)
{
    size_t cap = SECRET_FIRST_BUF;
    char *buf = malloc(cap);
    int rc = MAESTRO_E_FAILED;
    for (int tries = 0; buf && tries < 4; tries++) {
        size_t needed = 0;
        buf[0] = '\0';
        rc = pl->desc->resolve_secret(pl->state, name, key, buf, cap, &needed);
        if (rc == MAESTRO_OK && !memchr(buf, '\0', cap))
            rc = MAESTRO_E_FAILED; /* not terminated: never trust it */
        if (rc != MAESTRO_E_RETRY || needed <= cap || needed > SECRET_MAX)
            break;
        wipe(buf, cap);
        free(buf);
        cap = needed;
        buf = malloc(cap);
    }
    if (!buf)
        return MAESTRO_E_FAILED;
    if (rc == MAESTRO_OK)
        *value = buf;
    else {
        wipe(buf, cap);
        free(buf);
    }
    return rc;
}

static void resolve_on_worker(mo_plugins_t *p, void *arg)
{
    secret_call_t *c = arg;
    int asked = 0;
    c->rc = MO_ENOTFOUND;
    for (size_t i = 0; i < p->n; i++) {
        plugin_t *pl = &p->pl[i];
        if (pl->desc->type != MAESTRO_PLUGIN_SECRETS || !pl->desc->resolve_secret)
            continue;
        asked++;
        int rc = ask_provider(pl, c->name, c->key, &c->value);
        if (rc == MAESTRO_OK) {
            c->rc = 0;
            return;
        }
        if (rc != MAESTRO_E_NOTFOUND && c->rc == MO_ENOTFOUND)
            c->rc = mo_errorf(&c->err, rc == MAESTRO_E_RETRY ? MO_ESERVICE : MO_EPLUGIN,
                              "secret %s/%s: secrets plugin %s: %s", c->name, c->key, pl->name,
                              mo_plugins_rc_name(rc));
    }
    if (c->rc == MO_ENOTFOUND)
        mo_errorf(&c->err, MO_ENOTFOUND, "secret %s/%s: not found (%d secrets plugins asked)",
                  c->name, c->key, asked);
}

int mo_plugins_resolve_secret(mo_plugins_t *p, const char *name, const char *key, char **value,
                              mo_error_t *err)
{
    if (value)
        *value = NULL;
    if (!name || !*name || !key || !value)
        return mo_errorf(err, MO_EINVAL, "mo_plugins_resolve_secret: name, key and value needed");
    if (!p || !p->started)
        return mo_errorf(err, MO_ENOTFOUND, "secret %s/%s: not found (no secrets plugin loaded)",
                         name, key);
    secret_call_t c = {name, key, NULL, 0, {0}};
    if (mo_plugins_on_worker(p))
        resolve_on_worker(p, &c); /* already on the one thread that may call plugins */
    else if (mo_plugins_call(p, resolve_on_worker, &c)) /* ahead of queued events */
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    if (c.rc) {
        if (err)
            *err = c.err;
        return c.rc;
    }
    mo_log_add_secret(c.value);
    *value = c.value;
    return 0;
}
