/* config_interp.c - `${env:NAME}`, `${env:NAME:-default}` and `${scheme:name}` in scalar values
 *
 * The loader calls this on each scalar value as it is created, while the node's location is at
 * hand for messages. References are found by scanning for `${` up to the next `}`, so a value
 * may mix several references with text; `$${` stands for a literal `${`. Schemes other than
 * env go to the resolver the caller passed (the runner backs it with the secrets plugins), and
 * the node is then marked secret: its text as written is kept for dumps and messages, and the
 * resolved value is wiped from memory when it is freed. No message here ever holds a value
 * that came from a resolver.
 */
#include "io/config_impl.h"

#include "core/str.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int valid_env_name(const char *s, size_t n)
{
    if (!n || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* `ref` is what follows "${env:" up to the closing brace. */
static int interp_env(const mo_cfg_node_t *n, const char *ref, size_t len, mo_buf_t *out,
                      mo_error_t *err)
{
    const char *dflt = NULL;
    size_t nlen = len;
    for (size_t i = 0; i + 1 < len; i++)
        if (ref[i] == ':' && ref[i + 1] == '-') {
            dflt = ref + i + 2;
            nlen = i;
            break;
        }
    char name[256];
    if (!valid_env_name(ref, nlen) || nlen >= sizeof name)
        return mo_cfg_errorf(err, MO_EINVAL, n, "bad variable name in ${env:%.*s}", (int)len, ref);
    memcpy(name, ref, nlen);
    name[nlen] = '\0';
    const char *v = getenv(name);
    /* Like the shell's ${X:-d}: the default also covers a variable set to "". */
    if (v && (*v || !dflt))
        return mo_buf_puts(out, v);
    if (dflt)
        return mo_buf_append(out, dflt, len - (size_t)(dflt - ref));
    return mo_cfg_errorf(err, MO_EINVAL, n,
                         "environment variable %s is not set (write ${env:%s:-default} to give "
                         "a default)",
                         name, name);
}

static int interp_resolver(const mo_cfg_t *cfg, mo_cfg_node_t *n, const char *scheme,
                           const char *name, mo_buf_t *out, mo_error_t *err)
{
    const mo_cfg_opts_t *o = &cfg->opts;
    if (!o->resolve)
        return mo_cfg_errorf(err, MO_EINVAL, n, "no resolver for ${%s:%s}", scheme, name);
    char *val = NULL;
    mo_error_t rerr = {0};
    int rc = o->resolve(&val, scheme, name, o->resolve_ud, &rerr);
    if (rc || !val) {
        cfg_wipe_free(val);
        /* A resolver that fails without a negative code still failed. */
        if (rc >= 0)
            rc = MO_EPLUGIN;
        return mo_cfg_errorf(err, rc, n, "${%s:%s}: %s", scheme, name,
                             rerr.msg[0] ? rerr.msg : "the resolver gave no value");
    }
    rc = mo_buf_puts(out, val);
    cfg_wipe_free(val);
    n->secret = 1;
    return rc;
}

/* A parameter-like name: letters, digits, '_', '-', '.', starting with a letter or '_'. */
static int plain_name(const char *ref, size_t len)
{
    if (len == 0 || !(isalpha((unsigned char)ref[0]) || ref[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)ref[i]) && !strchr("_-.", ref[i]))
            return 0;
    return 1;
}

/* `ref` is the text between "${" and "}". */
static int interp_ref(const mo_cfg_t *cfg, mo_cfg_node_t *n, const char *ref, size_t len,
                      mo_buf_t *out, mo_error_t *err)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (ref[i] == '$' && ref[i + 1] == '{')
            return mo_cfg_errorf(err, MO_EINVAL, n, "a ${...} inside another is not supported");
    const char *colon = memchr(ref, ':', len);
    if (!colon && plain_name(ref, len)) {
        /* `${optimizer.lr}`: a template's placeholder (a sweep's trial.command), filled later
         * by whoever reads the value as a template; any other reader reports it. */
        n->plain_ref = 1;
        mo_buf_puts(out, "${");
        mo_buf_append(out, ref, len);
        return mo_buf_puts(out, "}");
    }
    if (!colon || colon == ref || colon + 1 == ref + len)
        return mo_cfg_errorf(err, MO_EINVAL, n,
                             "bad reference ${%.*s}: expected ${env:NAME} or ${scheme:name}",
                             (int)len, ref);
    size_t slen = (size_t)(colon - ref), nlen = len - slen - 1;
    if (slen == 3 && !memcmp(ref, "env", 3)) {
        if (!cfg->opts.no_env)
            return interp_env(n, colon + 1, nlen, out, err);
        mo_buf_puts(out, "${");
        mo_buf_append(out, ref, len);
        return mo_buf_puts(out, "}");
    }
    if (cfg->opts.keep_refs) {
        mo_buf_puts(out, "${");
        mo_buf_append(out, ref, len);
        return mo_buf_puts(out, "}");
    }
    char scheme[64], name[256];
    if (slen >= sizeof scheme || nlen >= sizeof name)
        return mo_cfg_errorf(err, MO_EINVAL, n, "reference too long: ${%.*s}", (int)len, ref);
    memcpy(scheme, ref, slen);
    scheme[slen] = '\0';
    memcpy(name, colon + 1, nlen);
    name[nlen] = '\0';
    return interp_resolver(cfg, n, scheme, name, out, err);
}

/* Scan once, copying text and expanding references into `out`. */
static int expand(const mo_cfg_t *cfg, mo_cfg_node_t *n, mo_buf_t *out, mo_error_t *err)
{
    const char *p = n->text;
    int rc = 0;
    while (!rc && *p) {
        const char *d = strchr(p, '$');
        if (!d)
            return mo_buf_puts(out, p);
        if ((rc = mo_buf_append(out, p, (size_t)(d - p))))
            break;
        if (d[1] == '$' && d[2] == '{') {
            /* no_env shows the spec as written, escapes included. */
            rc = mo_buf_puts(out, cfg->opts.no_env ? "$${" : "${");
            p = d + 3;
            if (!cfg->opts.no_env)
                n->interpolated = 1;
        } else if (d[1] == '{') {
            const char *close = strchr(d + 2, '}');
            if (!close)
                return mo_cfg_errorf(err, MO_EINVAL, n, "unterminated '${' (missing '}')");
            rc = interp_ref(cfg, n, d + 2, (size_t)(close - d - 2), out, err);
            p = close + 1;
            n->interpolated = 1;
        } else {
            rc = mo_buf_append(out, d, 1);
            p = d + 1;
        }
    }
    return rc;
}

int cfg_interpolate(const mo_cfg_t *cfg, mo_cfg_node_t *n, mo_error_t *err)
{
    if (n->type != MO_CFG_SCALAR || !strchr(n->text, '$'))
        return 0;
    mo_buf_t out = {0};
    int rc = expand(cfg, n, &out, err);
    char *s = NULL;
    if (!rc && !n->interpolated)
        goto out; /* a lone '$' is just text */
    if (rc == MO_ENOMEM || (!rc && !(s = mo_buf_steal(&out)))) {
        rc = mo_cfg_errorf(err, MO_ENOMEM, n, "out of memory while expanding ${...}");
        goto out;
    }
    if (rc)
        goto out;
    if (n->secret)
        n->raw = n->text; /* dumps and messages show the reference, never the value */
    else
        free(n->text);
    n->text = s;
out:
    cfg_wipe_free(out.data);
    return rc;
}
