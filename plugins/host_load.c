/* host_load.c - find plugins on the search path, dlopen them, check the descriptor
 *
 * The descriptor is checked before anything in the plugin is called: ABI major equal to the
 * host's, struct_size at least what the plugin's ABI minor promises, and (where the dynamic
 * linker says how big the exported symbol is) no read past the end of the symbol. Messages
 * name the file and both ABI numbers, because the fix is always "rebuild X against Y".
 *
 * A plugin file that is world-writable, or sits in a world-writable folder, is refused.
 * The search path is $MAESTRO_PLUGIN_PATH (colon separated; empty entries are skipped, since
 * in PATH they would mean the current folder), then the build's plugin folder, then the
 * install folder. `plugins list` dlopens each maestro-*.so lazily and reads the descriptor
 * without calling init.
 */
#define _GNU_SOURCE /* dladdr1 + RTLD_DL_SYMENT: the exported symbol's size */
#include "plugins/host_impl.h"

#include "core/alloc.h"
#include "core/str.h"

#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef MAESTRO_PLUGIN_BUILD_DIR
#define MAESTRO_PLUGIN_BUILD_DIR ""
#endif
#ifndef MAESTRO_PLUGIN_INSTALL_DIR
#define MAESTRO_PLUGIN_INSTALL_DIR ""
#endif

#define HOST_ABI_FMT "%d.%d"
#define HOST_ABI MAESTRO_PLUGIN_ABI_MAJOR, MAESTRO_PLUGIN_ABI_MINOR

/* ---- search path -------------------------------------------------------------------------- */

/* Append `dir` unless empty or already present (MAESTRO_PLUGIN_PATH often names the build
 * folder too; listing it twice would show every plugin shadowing itself). */
static void add_dir(mo_buf_t *b, const char *dir, size_t len)
{
    if (len == 0)
        return;
    for (const char *p = b->data; p && *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && !strncmp(p, dir, len))
            return;
        p = end ? end + 1 : p + n;
    }
    if (b->len)
        mo_buf_puts(b, ":");
    mo_buf_append(b, dir, len);
}

/* The search path, malloc'd; NULL on ENOMEM. */
static char *search_path_dup(void)
{
    mo_buf_t b = {0};
    mo_buf_puts(&b, ""); /* an empty path is "", not NULL */
    const char *env = getenv("MAESTRO_PLUGIN_PATH");
    for (const char *p = env; p && *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        add_dir(&b, p, n);
        p = end ? end + 1 : p + n;
    }
    add_dir(&b, MAESTRO_PLUGIN_BUILD_DIR, strlen(MAESTRO_PLUGIN_BUILD_DIR));
    add_dir(&b, MAESTRO_PLUGIN_INSTALL_DIR, strlen(MAESTRO_PLUGIN_INSTALL_DIR));
    return mo_buf_steal(&b);
}

const char *mo_plugins_search_path(char *buf, size_t size)
{
    if (!buf || size == 0)
        return "";
    char *path = search_path_dup();
    mo_strlcpy(buf, path ? path : "(out of memory)", size);
    free(path);
    return buf;
}

int mo_plugins_valid_name(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- descriptor checks -------------------------------------------------------------------- */

/* The descriptor size each ABI minor promises. A plugin newer than the host (higher minor)
 * must be at least as large as what this host reads. Minor 1 added a field to
 * maestro_run_info_t only, which the host fills: the descriptor stayed the same. */
static size_t descriptor_size_for(uint32_t minor)
{
    static const size_t sizes[] = {
        sizeof(maestro_plugin_t), /* minor 0 */
        sizeof(maestro_plugin_t), /* minor 1 */
    };
    size_t known = sizeof sizes / sizeof *sizes;
    return sizes[minor < known ? minor : known - 1];
}

static const char *type_name(maestro_plugin_type_t t)
{
    switch (t) {
    case MAESTRO_PLUGIN_METRICS:
        return "metrics";
    case MAESTRO_PLUGIN_LOGS:
        return "logs";
    case MAESTRO_PLUGIN_REGISTRY:
        return "registry";
    case MAESTRO_PLUGIN_SECRETS:
        return "secrets";
    }
    return NULL;
}

/* Size of the object `sym` points at, 0 when the dynamic linker cannot say. */
static size_t symbol_size(const void *sym)
{
    Dl_info info;
    const ElfW(Sym) *ent = NULL;
    if (!dladdr1(sym, &info, (void **)&ent, RTLD_DL_SYMENT) || !ent)
        return 0;
    return (size_t)ent->st_size;
}

/* Check `d` without calling into the plugin. The message does not name the file (callers
 * prefix it; `plugins list` shows the file in its own column). *abi_known is set once the
 * ABI numbers could be read. */
static int check_descriptor(const maestro_plugin_t *d, int *abi_known, mo_error_t *err)
{
    /* The three leading uint32_t fields are the same in every ABI; never read past them, or
     * past the symbol, before the size is known to be right. */
    const size_t head = 3 * sizeof(uint32_t);
    size_t symsize = symbol_size(d);
    *abi_known = 0;
    if (symsize && symsize < head)
        return mo_errorf(err, MO_EPLUGIN,
                         "symbol %s is %zu bytes, too small for a descriptor; this Maestro "
                         "speaks plugin ABI " HOST_ABI_FMT,
                         MAESTRO_PLUGIN_SYMBOL, symsize, HOST_ABI);
    *abi_known = 1;
    if (d->abi_major != MAESTRO_PLUGIN_ABI_MAJOR)
        return mo_errorf(err, MO_EPLUGIN,
                         "plugin ABI %u.%u, this Maestro speaks " HOST_ABI_FMT
                         " (rebuild the plugin against this Maestro's maestro_plugin.h)",
                         d->abi_major, d->abi_minor, HOST_ABI);
    size_t need = descriptor_size_for(d->abi_minor);
    if (d->struct_size < need || (symsize && symsize < need))
        return mo_errorf(err, MO_EPLUGIN,
                         "descriptor is %u bytes (symbol %zu), plugin ABI %u.%u needs at least "
                         "%zu; this Maestro speaks " HOST_ABI_FMT,
                         d->struct_size, symsize, d->abi_major, d->abi_minor, need, HOST_ABI);
    if (!type_name(d->type))
        return mo_errorf(err, MO_EPLUGIN, "unknown plugin type %d (plugin ABI %u.%u)", (int)d->type,
                         d->abi_major, d->abi_minor);
    if (!mo_plugins_valid_name(d->name))
        return mo_errorf(err, MO_EPLUGIN,
                         "descriptor name \"%.64s\" is not a plugin name ([a-z0-9_-], at most "
                         "64 characters)",
                         d->name ? d->name : "(null)");
    if (!d->init)
        return mo_errorf(err, MO_EPLUGIN, "descriptor has no init callback (it is required)");
    return 0;
}

/* Anybody could replace a world-writable plugin, or drop one into a world-writable folder
 * (sticky or not: a new maestro-<name>.so needs no one else's file), and dlopen runs its
 * constructors at once: both are refused before anything of the file is loaded. */
static int check_permissions(const char *file, mo_error_t *err)
{
    struct stat st;
    if (stat(file, &st) == 0 && (st.st_mode & S_IWOTH))
        return mo_errorf(err, MO_EPLUGIN,
                         "refused: the file is world-writable (anybody could replace it); "
                         "chmod o-w it");
    const char *slash = strrchr(file, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == file)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH))
        return mo_errorf(err, MO_EPLUGIN,
                         "refused: its folder %.200s is world-writable (anybody could put a "
                         "plugin there); chmod o-w it",
                         dir);
    return 0;
}

/* dlopen `file` and check its descriptor. On success *dl and *desc are set; on failure
 * nothing stays open. abi[] gets the plugin's ABI numbers when they were readable (else
 * stays {-1, -1}). */
static int open_checked(const char *file, int flags, void **dl, const maestro_plugin_t **desc,
                        long abi[2], mo_error_t *err)
{
    *dl = NULL;
    *desc = NULL;
    abi[0] = abi[1] = -1;
    int rc = check_permissions(file, err), abi_known = 0;
    if (rc)
        return rc;
    void *h = dlopen(file, flags);
    if (!h)
        return mo_errorf(err, MO_EPLUGIN, "cannot load: %s", dlerror());
    dlerror(); /* clear, so a NULL from dlsym is told apart from an error */
    const maestro_plugin_t *d = dlsym(h, MAESTRO_PLUGIN_SYMBOL);
    if (!d) {
        const char *e = dlerror();
        rc = mo_errorf(err, MO_EPLUGIN, "not a Maestro plugin: no symbol %s (%s)",
                       MAESTRO_PLUGIN_SYMBOL, e ? e : "it is NULL");
        goto out;
    }
    rc = check_descriptor(d, &abi_known, err);
    if (abi_known) {
        abi[0] = d->abi_major;
        abi[1] = d->abi_minor;
    }
out:
    if (rc) {
        dlclose(h);
        return rc;
    }
    *dl = h;
    *desc = d;
    return 0;
}

int mo_plugins_load(plugin_t *pl, const char *name, mo_error_t *err)
{
    char *path = NULL, *file = NULL;
    long abi[2];
    int rc = 0;
    if (!name || !*name)
        return mo_errorf(err, MO_EINVAL, "plugin name is empty");
    if (strchr(name, '/'))
        return mo_errorf(err, MO_EINVAL,
                         "plugin \"%s\": a plugin is named, not given as a path; put its folder "
                         "on MAESTRO_PLUGIN_PATH",
                         name);
    if (!mo_plugins_valid_name(name))
        return mo_errorf(err, MO_EINVAL,
                         "plugin \"%s\": not a plugin name (lower case letters, digits, '-', "
                         "'_')",
                         name);
    path = search_path_dup();
    if (!path) {
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        goto out;
    }
    for (const char *p = path; *p && !file;) {
        const char *end = strchr(p, ':');
        int n = end ? (int)(end - p) : (int)strlen(p);
        mo_buf_t b = {0};
        mo_buf_printf(&b, "%.*s/maestro-%s.so", n, p, name);
        char *cand = mo_buf_steal(&b);
        if (!cand) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            goto out;
        }
        if (is_regular_file(cand))
            file = cand;
        else
            free(cand);
        p = end ? end + 1 : p + n;
    }
    if (!file) {
        rc = mo_errorf(err, MO_ENOTFOUND, "plugin \"%s\" not found: no maestro-%s.so in %s", name,
                       name, *path ? path : "(empty search path)");
        goto out;
    }
    rc = open_checked(file, RTLD_NOW | RTLD_LOCAL, &pl->dl, &pl->desc, abi, err);
    if (!rc && strcmp(pl->desc->name, name) != 0) {
        rc = mo_errorf(err, MO_EPLUGIN, "its descriptor names plugin \"%s\", not \"%s\"",
                       pl->desc->name, name);
        dlclose(pl->dl);
        pl->dl = NULL;
        pl->desc = NULL;
    }
    if (rc) {
        mo_error_prefix(err, "%s", file);
        goto out;
    }
    pl->name = mo_strdup(name);
    if (!pl->name) {
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        dlclose(pl->dl);
        pl->dl = NULL;
        pl->desc = NULL;
        goto out;
    }
    pl->file = file;
    file = NULL;
out:
    free(file);
    free(path);
    return rc;
}

void mo_plugins_unload(plugin_t *pl)
{
    if (pl->dl)
        dlclose(pl->dl);
    pl->dl = NULL;
    pl->desc = NULL;
    free(pl->name);
    free(pl->file);
    pl->name = pl->file = NULL;
}

/* ---- plugins list ------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* maestro-<name>.so file names in `dir`, sorted (readdir order is the file system's). */
static char **scan_dir(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 11 || strncmp(e->d_name, "maestro-", 8) || strcmp(e->d_name + len - 3, ".so"))
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = mo_reallocarray(names, nc, sizeof *nn);
            if (!nn)
                break;
            names = nn;
            cap = nc;
        }
        names[*n] = mo_strdup(e->d_name);
        if (names[*n])
            (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static json_t *list_entry(const char *dir, const char *fname, json_t *seen)
{
    char file[4096], abi[32] = "", name[80];
    snprintf(file, sizeof file, "%s/%s", dir, fname);
    /* maestro-<name>.so: the name a spec would use, even when the descriptor is unreadable */
    snprintf(name, sizeof name, "%.*s", (int)(strlen(fname) - 11), fname + 8);
    const char *type = "", *version = "", *status = "ok";
    mo_error_t err = {0};
    void *dl = NULL;
    const maestro_plugin_t *d = NULL;
    long abi_num[2];
    if (!is_regular_file(file))
        return NULL;
    if (open_checked(file, RTLD_LAZY | RTLD_LOCAL, &dl, &d, abi_num, &err) == 0) {
        snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
        type = type_name(d->type);
        version = d->version ? d->version : "";
        /* Loading goes by file name, so a descriptor that disagrees could never be used. */
        if (strcmp(d->name, name) != 0) {
            mo_errorf(&err, MO_EPLUGIN, "its descriptor names plugin \"%s\"", d->name);
            status = err.msg;
        }
    } else {
        if (abi_num[0] >= 0)
            snprintf(abi, sizeof abi, "%ld.%ld", abi_num[0], abi_num[1]);
        status = err.msg;
    }
    json_t *shadow = json_object_get(seen, name);
    char shadowed[4200];
    if (shadow && !strcmp(status, "ok")) {
        snprintf(shadowed, sizeof shadowed, "shadowed by %s", json_string_value(shadow));
        status = shadowed;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "type", type, "version",
                          version, "abi", abi, "file", file, "status", status);
    if (!shadow && !strcmp(status, "ok"))
        json_object_set_new(seen, name, json_string(file));
    if (dl)
        dlclose(dl);
    return o;
}

int mo_plugins_list(json_t **out, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_plugins_list: out is NULL");
    *out = NULL;
    int rc = 0;
    char *path = search_path_dup();
    json_t *arr = json_array(), *seen = json_object();
    if (!path || !arr || !seen) {
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        goto out;
    }
    for (char *p = path; *p;) {
        char *end = strchr(p, ':');
        if (end)
            *end = '\0';
        size_t n = 0;
        char **names = scan_dir(p, &n);
        for (size_t i = 0; i < n; i++) {
            json_t *o = list_entry(p, names[i], seen);
            if (o && json_array_append_new(arr, o))
                rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            free(names[i]);
        }
        free(names);
        if (rc)
            goto out;
        p = end ? end + 1 : p + strlen(p);
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    json_decref(seen);
    free(path);
    return rc;
}
