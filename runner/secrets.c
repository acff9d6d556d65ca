/* secrets.c - the env and files secret providers */
#include "runner/secrets.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECRET_MAX_BYTES (1 << 20)

static int valid_name(const char *name)
{
    if (!*name || strlen(name) > 200)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return 0;
    return name[0] != '.';
}

static char *from_env(const char *name)
{
    char var[256];
    size_t n = (size_t)snprintf(var, sizeof var, "MAESTRO_SECRET_%s", name);
    for (size_t i = 15; i < n && i < sizeof var; i++)
        var[i] = (var[i] == '-' || var[i] == '.') ? '_' : (char)toupper((unsigned char)var[i]);
    const char *v = getenv(var);
    return v ? mo_strdup(v) : NULL;
}

/* 0 and *out = NULL when the file does not exist; an error when it exists but is unusable. */
static int from_file(char **out, const char *dir, const char *name, mo_error_t *err)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0
                               : mo_errorf(err, MO_EIO, "secret '%s': cannot read %s: %s", name,
                                           path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mo_errorf(err, MO_EIO, "secret '%s': %s is not a regular file", name, path);
    }
    mo_buf_t b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= SECRET_MAX_BYTES)
        mo_buf_append(&b, chunk, got);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        mo_buf_free(&b);
        return mo_errorf(err, MO_EIO, "secret '%s': cannot read %s", name, path);
    }
    if (b.len > SECRET_MAX_BYTES) {
        mo_buf_free(&b);
        return mo_errorf(err, MO_EINVAL, "secret '%s': %s is larger than 1 MiB", name, path);
    }
    char *v = mo_buf_steal(&b);
    if (!v)
        return mo_errorf(err, MO_ENOMEM, "out of memory reading secret '%s'", name);
    size_t len = strlen(v);
    while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
        v[--len] = '\0';
    *out = v;
    return 0;
}

int mo_secrets_resolve(char **out, const char *scheme, const char *name, void *ud, mo_error_t *err)
{
    const mo_cluster_t *c = ud;
    if (!out || !scheme || !name)
        return mo_errorf(err, MO_EINVAL, "mo_secrets_resolve: NULL argument");
    *out = NULL;
    if (strcmp(scheme, "secret") != 0)
        return mo_errorf(err, MO_EINVAL, "unknown reference ${%s:...} (known: env, secret)",
                         scheme);
    if (!valid_name(name))
        return mo_errorf(err, MO_EINVAL,
                         "secret name \"%s\" must be letters, digits, '-', '_' or '.'", name);
    mo_buf_t looked = {0};
    int rc = 0;
    for (size_t i = 0; c && i < c->n_providers && !*out && !rc; i++) {
        switch (c->providers[i]) {
        case MO_SECRETS_ENV:
            *out = from_env(name);
            mo_buf_printf(&looked, "%senv", looked.len ? ", " : "");
            break;
        case MO_SECRETS_FILES:
            rc = from_file(out, c->secrets_files_dir, name, err);
            mo_buf_printf(&looked, "%sfiles in %s", looked.len ? ", " : "", c->secrets_files_dir);
            break;
        case MO_SECRETS_KUBERNETES:
            mo_buf_printf(&looked, "%skubernetes (provider not built yet)", looked.len ? ", " : "");
            break;
        }
    }
    if (!rc && !*out)
        rc = mo_errorf(err, MO_ENOTFOUND, "secret '%s' not found (looked in: %s)", name,
                       looked.data ? looked.data : "no providers");
    if (!rc && mo_log_add_secret(*out))
        rc = mo_errorf(err, MO_ENOMEM, "too many secrets to redact");
    if (rc) {
        free(*out);
        *out = NULL;
    }
    mo_buf_free(&looked);
    return rc;
}
