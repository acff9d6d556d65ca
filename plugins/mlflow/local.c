/* local.c - the embedded default: a model registry in a local folder
 *
 * With no MLflow url, a run whose gates pass registers its model here, and
 * `maestro registry list|show` (runner/cmd_registry.c) reads it back:
 *
 *   <registry_dir>/<model>/versions/<n>/run.h5      copy of the run's model file
 *   <registry_dir>/<model>/versions/<n>/meta.json   version, run id and name, created time,
 *                                                   final metrics, source run folder, the
 *                                                   parent run id of a child run
 *   <registry_dir>/<model>/aliases.json             {"<alias>": <n>, ...}
 *
 * Versions count up from 1. A version folder is filled under a temporary name and renamed
 * into place, so a reader sees a whole version or none; aliases.json is replaced by rename.
 * Runs registering the same model at once are serialised by flock on <model>/.lock, which
 * also makes "highest version + 1" safe.
 */
#include "mlflow_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_FORMAT_VERSION 1

/* snprintf into a path buffer; -1 (ENAMETOOLONG) when it does not fit, never a cut path. */
__attribute__((format(printf, 3, 4))) static int pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Model names become folder names: letters, digits, '.', '_', '-', not starting with '.'. */
static int model_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == ' '))
            return 0;
    return 1;
}

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (pathf(buf, sizeof buf, "%s", path))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return -1;
    struct stat sb;
    if (stat(buf, &sb) || !S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A new file holding `len` bytes, flushed to disk. */
static int write_new(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len) || fsync(fd) ? -1 : 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* temp + rename in the same folder: readers see the old file or the new one. */
static int write_atomic(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (pathf(path, sizeof path, "%s/%s", dir, name) ||
        pathf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid()))
        return -1;
    if (write_new(tmp, text, strlen(text)) || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    fsync_dir(dir);
    return 0;
}

static int copy_file(const char *src, const char *dst, long long *bytes)
{
    char buf[1 << 16];
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    *bytes = 0;
    if (in < 0)
        return -1;
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        goto done;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto done;
        if (n == 0)
            break;
        if (write_all(out, buf, (size_t)n))
            goto done;
        *bytes += n;
    }
    rc = fsync(out);
done:;
    int e = errno;
    close(in);
    if (out >= 0)
        close(out);
    errno = e;
    return rc;
}

/* Highest version folder in `versions` (0 when none). */
static long highest_version(const char *versions)
{
    long best = 0;
    DIR *d = opendir(versions);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        errno = 0;
        long v = strtol(e->d_name, &end, 10);
        if (!errno && !*end && v > best)
            best = v;
    }
    closedir(d);
    return best;
}

static void rm_tree_shallow(const char *dir)
{
    /* a half-made version folder holds only files we wrote */
    DIR *d = opendir(dir);
    char p[PATH_MAX];
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                !pathf(p, sizeof p, "%s/%s", dir, e->d_name))
                unlink(p);
        closedir(d);
    }
    rmdir(dir);
}

static json_t *meta_json(mlf_state_t *st, const maestro_run_end_t *end, const char *model,
                         long version, long long bytes)
{
    int64_t now = st->host->now_ns();
    time_t secs = (time_t)(now / 1000000000);
    struct tm tm;
    char created[32] = "";
    if (gmtime_r(&secs, &tm))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *metrics = json_object();
    for (size_t i = 0; metrics && i < end->n_metrics; i++) {
        double v = end->metric_values[i];
        /* JSON has no NaN/Inf: such a metric is recorded as null */
        if (end->metric_names[i])
            json_object_set_new(metrics, end->metric_names[i],
                                isfinite(v) ? json_real(v) : json_null());
    }
    /* parent_run_id only for a child run (a sweep's trial): absent keys keep older readers and
     * older versions' files alike, so format_version stays 1. */
    return json_pack("{s:i, s:s, s:i, s:s?, s:s?, s:s?, s:s, s:I, s:o, s:s?, s:s?, s:s, s:I, "
                     "s:s?, s:s?, s:s*}",
                     "format_version", LOCAL_FORMAT_VERSION, "model", model, "version",
                     (int)version, "run_id", st->maestro_run_id, "run_name", st->run_name,
                     "job_kind", st->job_kind, "created", created, "created_ms",
                     (json_int_t)(now / 1000000), "final_metrics", metrics, "source_run_dir",
                     st->run_dir, "source_model_path", end->model_path, "artifact", "run.h5",
                     "artifact_bytes", (json_int_t)bytes, "git_commit", st->git_commit,
                     "maestro_version", st->maestro_version, "parent_run_id", st->parent_run_id);
}

static int set_alias_file(const char *mdir, const char *alias, long version)
{
    char path[PATH_MAX];
    if (pathf(path, sizeof path, "%s/aliases.json", mdir))
        return -1;
    json_error_t jerr;
    json_t *a = json_load_file(path, 0, &jerr);
    if (!json_is_object(a)) {
        if (a || access(path, F_OK) == 0) {
            json_decref(a);
            errno = EINVAL; /* a damaged file is not silently replaced */
            return -1;
        }
        a = json_object();
    }
    json_object_set_new(a, alias, json_integer(version));
    char *text = json_dumps(a, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(a);
    int rc = text ? write_atomic(mdir, "aliases.json", text) : -1;
    free(text);
    return rc;
}

int mlf_local_register(mlf_state_t *st, const maestro_run_end_t *end)
{
    const char *model = end->registry_model, *alias = end->registry_alias;
    char mdir[PATH_MAX] = "", versions[PATH_MAX] = "", tmp[PATH_MAX], final[PATH_MAX],
         path[PATH_MAX];
    int lock = -1, rc = MAESTRO_E_FAILED;
    long version = 0;
    json_t *meta = NULL;
    char *text = NULL;
    const char *what = "";

    if (!st->registry_dir) {
        mlf_log(st, MAESTRO_LOG_ERROR,
                "no registry folder: set registry_dir, MAESTRO_REGISTRY_DIR or HOME");
        return MAESTRO_E_FAILED;
    }
    if (!model_name_ok(model)) {
        mlf_log(st, MAESTRO_LOG_ERROR,
                "registry model name \"%s\" cannot be a folder name (letters, digits, '.', '_', "
                "'-', spaces; not starting with '.'); not registered",
                model);
        return MAESTRO_E_FAILED;
    }
    if (alias && *alias && !mlf_alias_valid(alias)) {
        mlf_log(st, MAESTRO_LOG_WARN,
                "registry alias \"%s\" is not valid (letters, digits, _ and -; not \"latest\" or "
                "v<number>); registering without it",
                alias);
        alias = NULL;
    }
    what = "create";
    /* the longest path below is versions/.tmp-<n>-<pid>/meta.json: keep room for it */
    if (pathf(mdir, sizeof mdir - 64, "%s/%s", st->registry_dir, model) ||
        pathf(versions, sizeof versions, "%s/versions", mdir) || mkdir_p(versions))
        goto fail;
    what = "lock";
    if (pathf(path, sizeof path, "%s/.lock", mdir))
        goto fail;
    lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX))
        goto fail;

    version = highest_version(versions) + 1;
    what = "create";
    if (pathf(tmp, sizeof tmp, "%s/.tmp-%ld-%ld", versions, version, (long)getpid()) ||
        pathf(final, sizeof final, "%s/%ld", versions, version) ||
        (mkdir(tmp, 0755) && errno != EEXIST))
        goto fail;
    long long bytes = 0;
    what = "copy the model into";
    if (pathf(path, sizeof path, "%s/run.h5", tmp) || copy_file(end->model_path, path, &bytes))
        goto fail_tmp;
    meta = meta_json(st, end, model, version, bytes);
    text = meta ? json_dumps(meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    what = "write meta.json in";
    if (!text || pathf(path, sizeof path, "%s/meta.json", tmp) ||
        write_new(path, text, strlen(text)))
        goto fail_tmp;
    fsync_dir(tmp);
    what = "publish";
    if (rename(tmp, final))
        goto fail_tmp;
    fsync_dir(versions);
    what = "update aliases.json in";
    if (alias && *alias && set_alias_file(mdir, alias, version))
        goto fail;
    mlf_log(st, MAESTRO_LOG_INFO, "registered model %s version %ld in %s%s%s", model, version,
            st->registry_dir, alias && *alias ? " as @" : "", alias && *alias ? alias : "");
    rc = MAESTRO_OK;
    goto out;
fail_tmp:;
    int e = errno;
    rm_tree_shallow(tmp);
    errno = e;
fail:
    mlf_log(st, MAESTRO_LOG_ERROR, "local registry: cannot %s %s (model %s from %s): %s", what,
            version ? versions : mdir, model, end->model_path, strerror(errno));
out:
    if (lock >= 0)
        close(lock); /* releases the flock */
    json_decref(meta);
    free(text);
    return rc;
}
