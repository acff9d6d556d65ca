/* deliver.c - Pushgateway PUT and DELETE, spooling what cannot be sent, flushing it later
 *
 * A PUT replaces the group, so only the newest body matters. A push that gets no answer, a
 * 5xx or a 429 is spooled through the host (kind push-rank<r> or delete-rank<r>) with a
 * sequence number (wall-clock ns, strictly
 * increasing per process) and returns MAESTRO_E_RETRY; flush() skips a spooled body when a
 * newer one of the same group was delivered, known from memory in this process and, across
 * processes (`maestro plugins flush`), from a record beside the payloads
 * (<run_dir>/spool/prometheus/delivered-rank<r>, a name the host's <seq>-<kind> scan ignores).
 * Any other answer (4xx, 3xx) is the request's fault: logged with the gateway's answer and
 * dropped, since sending the same bytes again cannot succeed.
 */
#include "maestro_plugin.h"
#include "prometheus_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MAGIC "maestro-prometheus-spool 1"
#define CONTENT_TYPE "text/plain; version=0.0.4"

typedef enum { SEND_OK, SEND_RETRY, SEND_REJECTED } send_result_t;

void prom_log(prom_state_t *st, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st->host->log(st->host->ctx, (maestro_log_level_t)level, msg);
}

/* http(s)://host[:port][/prefix]: the grouping path is appended, so no query or fragment, and
 * nothing that would split the spool header's lines. */
int prom_check_url(const char *url)
{
    const char *rest;
    if (!strncmp(url, "http://", 7))
        rest = url + 7;
    else if (!strncmp(url, "https://", 8))
        rest = url + 8;
    else
        return -1;
    if (!*rest || *rest == '/')
        return -1;
    for (const char *s = url; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '?' || *s == '#')
            return -1;
    return 0;
}

/* ---- delivery bookkeeping ------------------------------------------------------------------ */

static int64_t next_seq(prom_state_t *st)
{
    int64_t now = st->host->now_ns();
    st->last_seq = now > st->last_seq ? now : st->last_seq + 1;
    return st->last_seq;
}

/* The newest sequence delivered to `path` that the run folder's record knows, or 0. */
static int64_t recorded_seq(const char *state_path, const char *path)
{
    if (!state_path || !*state_path)
        return 0;
    FILE *f = fopen(state_path, "r");
    if (!f)
        return 0;
    char line[4096];
    int64_t seq = 0;
    if (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        char *nl = strchr(line, '\n');
        if (sp && nl) {
            *sp = *nl = '\0';
            char *end = NULL;
            long long v = strtoll(line, &end, 10);
            if (end && !*end && !strcmp(sp + 1, path))
                seq = v;
        }
    }
    fclose(f);
    return seq;
}

/* Write `len` bytes to `path` through a temp file in the same folder, fsync, rename: readers
 * (node_exporter, a later flush) see the old file or the new one, never a part. */
int prom_write_atomic(const char *path, const void *data, size_t len, char *why, size_t whylen)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        snprintf(why, whylen, "path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create %.400s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = 0;
    const char *p = data;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, whylen, "cannot write %.400s: %s", tmp, strerror(errno));
            rc = -1;
            break;
        }
        done += (size_t)n;
    }
    if (!rc && fsync(fd) != 0) {
        snprintf(why, whylen, "cannot flush %.400s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (close(fd) != 0 && !rc) {
        snprintf(why, whylen, "cannot close %.400s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (!rc && rename(tmp, path) != 0) {
        snprintf(why, whylen, "cannot rename %.400s to %.400s: %s", tmp, path, strerror(errno));
        rc = -1;
    }
    if (rc) {
        unlink(tmp);
        return rc;
    }
    /* make the rename itself durable (best effort) */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

static int64_t *delivered_slot(prom_state_t *st, const char *path)
{
    for (size_t i = 0; i < st->n_delivered; i++)
        if (!strcmp(st->delivered[i].path, path))
            return &st->delivered[i].seq;
    prom_delivered_t *p = realloc(st->delivered, (st->n_delivered + 1) * sizeof *p);
    if (!p)
        return NULL;
    st->delivered = p;
    char *copy = prom_strdup(path);
    if (!copy)
        return NULL;
    st->delivered[st->n_delivered] = (prom_delivered_t){copy, 0};
    return &st->delivered[st->n_delivered++].seq;
}

static int is_stale(prom_state_t *st, const char *path, const char *state_path, int64_t seq)
{
    int64_t *slot = delivered_slot(st, path);
    int64_t known = slot ? *slot : 0;
    int64_t rec = recorded_seq(state_path, path);
    if (rec > known)
        known = rec;
    return seq <= known;
}

static void note_delivered(prom_state_t *st, const char *path, const char *state_path, int64_t seq)
{
    int64_t *slot = delivered_slot(st, path);
    if (slot && seq > *slot)
        *slot = seq;
    if (!state_path || !*state_path || recorded_seq(state_path, path) >= seq)
        return;
    prom_buf_t b;
    prom_buf_init(&b);
    prom_buf_printf(&b, "%" PRId64 " %s\n", seq, path);
    char why[1024];
    if (!b.oom && prom_write_atomic(state_path, b.data, b.len, why, sizeof why) != 0)
        prom_log(st, MAESTRO_LOG_WARN, "cannot record the delivery: %s", why);
    prom_buf_free(&b);
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* The URL as it may appear in a log line: user:password@ dropped. */
static void display_url(char *out, size_t size, const char *base, const char *path)
{
    const char *scheme_end = strstr(base, "://");
    const char *hostpart = scheme_end ? scheme_end + 3 : base;
    const char *at = strchr(hostpart, '@');
    const char *slash = strchr(hostpart, '/');
    if (at && (!slash || at < slash))
        snprintf(out, size, "%.*s%s%s", (int)(hostpart - base), base, at + 1, path);
    else
        snprintf(out, size, "%s%s", base, path);
}

/* The gateway's answer on one line, short enough for a log record. */
static void excerpt(char *out, size_t size, const char *body, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; body && i < len && o + 4 < size; i++) {
        unsigned char c = (unsigned char)body[i];
        out[o++] = (c < ' ' || c == 0x7f) ? ' ' : (char)c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    if (body && len > o && o + 4 >= size && size >= 4) {
        o = size - 4;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* One request; logs what went wrong. `later` says what happens to the body if it is worth
 * sending again ("spooled for retry" on the first try, "kept in the spool" on a flush). */
static send_result_t send_request(prom_state_t *st, const char *method, const char *base,
                                  const char *path, const char *body, size_t len, const char *later)
{
    prom_buf_t url;
    prom_buf_init(&url);
    prom_buf_printf(&url, "%s%s", base, path);
    if (url.oom) {
        prom_buf_free(&url);
        return SEND_RETRY;
    }
    maestro_kv_t headers[] = {{"Content-Type", CONTENT_TYPE}};
    int has_body = !strcmp(method, "PUT");
    maestro_http_request_t req = {
        .method = method,
        .url = url.data,
        .headers = has_body ? headers : NULL,
        .n_headers = has_body ? 1 : 0,
        .body = has_body ? body : NULL,
        .body_len = has_body ? len : 0,
        .timeout_s = st->timeout_s,
    };
    maestro_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    int rc = st->host->http(st->host->ctx, &req, &resp);
    char shown[1024];
    display_url(shown, sizeof shown, base, path);
    send_result_t result;
    if (rc != MAESTRO_OK || resp.status == 0) {
        prom_log(st, MAESTRO_LOG_WARN, "%s %s: no response (%s); %s", method, shown,
                 resp.error[0] ? resp.error : "transport error", later);
        result = SEND_RETRY;
    } else if (resp.status >= 200 && resp.status < 300) {
        result = SEND_OK;
    } else {
        char text[400];
        excerpt(text, sizeof text, resp.body, resp.body ? resp.body_len : 0);
        /* 5xx and 429 say "later"; anything else is this request's fault and will not get
         * better by sending it again */
        if (resp.status >= 500 || resp.status == 429) {
            prom_log(st, MAESTRO_LOG_WARN, "%s %s: HTTP %ld: %s; %s", method, shown, resp.status,
                     text, later);
            result = SEND_RETRY;
        } else {
            prom_log(st, MAESTRO_LOG_WARN, "%s %s: HTTP %ld: %s; dropped (not retried)", method,
                     shown, resp.status, text);
            result = SEND_REJECTED;
        }
    }
    /* safe whatever happened: the body is NULL when no response came */
    st->host->free_response(st->host->ctx, &resp);
    prom_buf_free(&url);
    return result;
}

/* Send method+body to this run's group; spool it when the gateway is away. */
int prom_deliver(prom_state_t *st, const char *method, const char *body, size_t len)
{
    int64_t seq = next_seq(st);
    send_result_t r =
        send_request(st, method, st->url, st->group_path, body, len, "spooled for retry");
    if (r == SEND_OK) {
        /* only a payload spooled before can be superseded, so the record is kept from the
         * first spooling on (the spool folder exists by then) */
        note_delivered(st, st->group_path, st->spooled ? st->state_path : NULL, seq);
        return MAESTRO_OK;
    }
    if (r == SEND_REJECTED)
        return MAESTRO_E_FAILED;

    prom_buf_t p;
    prom_buf_init(&p);
    prom_buf_printf(&p, "%s\nseq %" PRId64 "\nmethod %s\nbase %s\npath %s\nstate %s\n\n",
                    SPOOL_MAGIC, seq, method, st->url, st->group_path,
                    st->state_path ? st->state_path : "");
    prom_buf_add(&p, body, len);
    /* The rank in the kind: every rank of a run spools into the same folder, and two hosts
     * numbering their payloads independently would otherwise write the same <seq>-push name,
     * one rename replacing the other's payload. */
    char kind[32];
    snprintf(kind, sizeof kind, "%s-rank%d", !strcmp(method, "PUT") ? "push" : "delete", st->rank);
    int rc = MAESTRO_E_RETRY;
    if (p.oom || st->host->spool(st->host->ctx, kind, p.data, p.len) != MAESTRO_OK) {
        prom_log(st, MAESTRO_LOG_WARN, "cannot spool the %s; it is lost", method);
        rc = MAESTRO_E_FAILED;
    } else {
        st->spooled = 1;
    }
    prom_buf_free(&p);
    return rc;
}

/* ---- flushing spooled payloads ------------------------------------------------------------ */

/* A spooled payload: SPOOL_MAGIC, then "key value" lines up to an empty line, then the body
 * exactly as it was to be sent. */
typedef struct {
    int64_t seq;
    char method[8];
    char *base, *path, *state; /* point into a copy of the header */
    const char *body;
    size_t body_len;
} spooled_t;

static int parse_spooled(spooled_t *sp, char *hdr, const char *data, size_t len)
{
    memset(sp, 0, sizeof *sp);
    char *sep = strstr(hdr, "\n\n");
    size_t magic = strlen(SPOOL_MAGIC);
    if (!sep || strncmp(hdr, SPOOL_MAGIC "\n", magic + 1) != 0)
        return -1;
    sep[1] = '\0';
    sp->body = data + (size_t)(sep - hdr) + 2;
    sp->body_len = len - (size_t)(sep - hdr) - 2;
    for (char *line = hdr + magic + 1; *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        char *val = strchr(line, ' ');
        if (!val)
            return -1;
        *val++ = '\0';
        if (!strcmp(line, "seq")) {
            char *end = NULL;
            long long v = strtoll(val, &end, 10);
            if (!end || *end || v <= 0)
                return -1;
            sp->seq = v;
        } else if (!strcmp(line, "method")) {
            snprintf(sp->method, sizeof sp->method, "%s", val);
        } else if (!strcmp(line, "base")) {
            sp->base = val;
        } else if (!strcmp(line, "path")) {
            sp->path = val;
        } else if (!strcmp(line, "state")) {
            sp->state = val;
        } /* unknown keys: written by a newer plugin, not needed to deliver */
        line = nl + 1;
    }
    if (!sp->seq || !sp->path || strncmp(sp->path, "/metrics/job", 12) != 0 ||
        (strcmp(sp->method, "PUT") != 0 && strcmp(sp->method, "DELETE") != 0))
        return -1;
    return 0;
}

int prom_flush(void *state, const char *kind, const void *data, size_t len)
{
    prom_state_t *st = state;
    if (!data || !len)
        return MAESTRO_E_FAILED;
    /* the header is text; the copy gets a NUL so it can be parsed as a string */
    char *hdr = malloc(len + 1);
    if (!hdr)
        return MAESTRO_E_RETRY;
    memcpy(hdr, data, len);
    hdr[len] = '\0';
    spooled_t sp;
    int rc;
    if (parse_spooled(&sp, hdr, data, len) != 0) {
        prom_log(st, MAESTRO_LOG_WARN, "spooled %s is not a payload of this plugin",
                 kind ? kind : "(null)");
        rc = MAESTRO_E_FAILED;
        goto out;
    }
    if (is_stale(st, sp.path, sp.state, sp.seq)) {
        /* PUT replaces the group: sending an older body would undo a newer delivery */
        prom_log(st, MAESTRO_LOG_DEBUG, "spooled %s of %s skipped: superseded", sp.method, sp.path);
        rc = MAESTRO_OK;
        goto out;
    }
    /* the configured url wins, so a corrected cluster.yml applies to what was spooled */
    const char *base = st->url ? st->url : sp.base;
    if (!base || prom_check_url(base) != 0) {
        prom_log(st, MAESTRO_LOG_WARN, "spooled %s of %s has no usable url", sp.method, sp.path);
        rc = MAESTRO_E_RETRY;
        goto out;
    }
    send_result_t r =
        send_request(st, sp.method, base, sp.path, sp.body, sp.body_len, "kept in the spool");
    if (r == SEND_OK) {
        note_delivered(st, sp.path, sp.state, sp.seq);
        rc = MAESTRO_OK;
    } else {
        rc = r == SEND_RETRY ? MAESTRO_E_RETRY : MAESTRO_E_FAILED;
    }
out:
    free(hdr);
    return rc;
}
