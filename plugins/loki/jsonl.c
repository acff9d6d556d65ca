/* jsonl.c - the loki plugin's embedded default: one JSON object per log line, for Promtail
 *
 * With no Loki URL configured, each log event becomes
 *   {"ts":"2025-01-01T00:00:00.123456789Z","level":"info","component":"train","msg":"...",
 *    "rank":0,"run_id":"..."}
 * appended to a file (or standard output), which is what Promtail scrapes in Kubernetes; its
 * json + timestamp stages (format RFC3339Nano) read it back with full nanosecond precision.
 * The file is O_APPEND and each line goes out in one write(2), so ranks sharing a file on a
 * local file system never interleave inside a line (NFS gives no such promise for O_APPEND).
 * No Maestro header here, like batch.c: the tests can compile it directly.
 */
#include "loki_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL

void loki_rfc3339_ns(char *out, size_t size, int64_t ns)
{
    time_t secs = (time_t)(ns / NS_PER_S);
    long frac = (long)(ns % NS_PER_S);
    if (frac < 0) {
        frac += NS_PER_S;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%09ldZ", base, frac);
}

int loki_out_open(loki_out_t *o, const char *target)
{
    o->fd = -1;
    o->owned = 0;
    if (!target || !strcmp(target, "stdout")) {
        o->fd = STDOUT_FILENO;
        return 0;
    }
    int fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    o->fd = fd;
    o->owned = 1;
    return 0;
}

void loki_out_close(loki_out_t *o)
{
    if (o->owned && o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    o->owned = 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

char *loki_jsonl_line(int64_t ns, const char *level, const char *component, const char *msg,
                      int rank, const char *run_id)
{
    char ts[48];
    loki_rfc3339_ns(ts, sizeof ts, ns);
    msg = msg ? msg : "";
    char *clean = loki_utf8_clean(msg, strlen(msg));
    json_t *o = json_object();
    char *text = NULL;
    if (!clean || !o)
        goto out;
    /* Key order is part of the format: people grep these files too. */
    if (json_object_set_new(o, "ts", json_string(ts)) ||
        json_object_set_new(o, "level", json_string(level)) ||
        json_object_set_new(o, "component", json_string(component ? component : "maestro")) ||
        json_object_set_new(o, "msg", json_string(clean)) ||
        json_object_set_new(o, "rank", json_integer(rank)) ||
        json_object_set_new(o, "run_id", json_string(run_id ? run_id : "unknown")))
        goto out;
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    free(clean);
    json_decref(o);
    return text;
}

int loki_out_write(loki_out_t *o, int64_t ns, const char *level, const char *component,
                   const char *msg, int rank, const char *run_id)
{
    if (o->fd < 0) {
        errno = EBADF;
        return -1;
    }
    char *text = loki_jsonl_line(ns, level, component, msg, rank, run_id);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        errno = ENOMEM;
        return -1;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    int rc = write_all(o->fd, line, n + 1);
    int saved = errno;
    free(line);
    errno = saved;
    return rc;
}
