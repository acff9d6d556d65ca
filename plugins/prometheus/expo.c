/* expo.c - Prometheus text exposition format 0.0.4 and Pushgateway grouping keys
 *
 * Everything here produces bytes that a real server parses, so the rules are the server's:
 * HELP/TYPE once per family before its samples, each family in one uninterrupted block, label
 * values escaped (\\ \" \n) and valid UTF-8, values as Go's ParseFloat reads them, no
 * timestamps (the Pushgateway and the textfile collector both refuse them), '\n' after every
 * line including the last. Series live in a small table keyed by (family, rendered labels):
 * a run has tens of series, so a linear search beats a hash table in code and in time.
 */
#include "prometheus_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------------------------- */

void prom_buf_init(prom_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void prom_buf_free(prom_buf_t *b)
{
    free(b->data);
    prom_buf_init(b);
}

/* Room for `extra` more bytes plus the terminating NUL. */
static int buf_reserve(prom_buf_t *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void prom_buf_add(prom_buf_t *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void prom_buf_puts(prom_buf_t *b, const char *s)
{
    prom_buf_add(b, s, strlen(s));
}

void prom_buf_printf(prom_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *prom_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s does not start one. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid, as in Go's utf8.ValidString,
 * which is what the gateway checks label values with. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static const char replacement_char[] = "\xEF\xBF\xBD";

char *prom_utf8_clean(const char *in)
{
    prom_buf_t b;
    prom_buf_init(&b);
    prom_buf_add(&b, "", 0); /* an empty input still gives "" */
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    while (*s) {
        size_t n = utf8_seq(s);
        if (n) {
            prom_buf_add(&b, s, n);
            s += n;
        } else {
            prom_buf_puts(&b, replacement_char);
            s++;
        }
    }
    if (b.oom) {
        prom_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- escaping and values -------------------------------------------------------------------- */

void prom_escape_label_value(prom_buf_t *b, const char *value)
{
    const unsigned char *s = (const unsigned char *)(value ? value : "");
    while (*s) {
        size_t n = utf8_seq(s);
        if (n == 0) {
            prom_buf_puts(b, replacement_char);
            s++;
            continue;
        }
        if (*s == '\\')
            prom_buf_puts(b, "\\\\");
        else if (*s == '"')
            prom_buf_puts(b, "\\\"");
        else if (*s == '\n')
            prom_buf_puts(b, "\\n");
        else
            prom_buf_add(b, s, n);
        s += n;
    }
}

void prom_escape_help(prom_buf_t *b, const char *text)
{
    for (const char *s = text ? text : ""; *s; s++) {
        if (*s == '\\')
            prom_buf_puts(b, "\\\\");
        else if (*s == '\n')
            prom_buf_puts(b, "\\n");
        else
            prom_buf_add(b, s, 1);
    }
}

void prom_format_value(char *out, size_t size, double value)
{
    if (isnan(value)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(value)) {
        snprintf(out, size, "%s", value > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* What Go's strconv.FormatFloat(v, 'g', -1, 64) writes, as the Prometheus clients do:
     * the fewest significant digits that read back as the same double (0.1 stays "0.1", not
     * "0.10000000000000001"), in exponent form when the exponent is below -4 or at least 6. */
    char e[40];
    int digits = 17;
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, value);
        if (strtod(e, NULL) == value) {
            digits = p;
            break;
        }
    }
    snprintf(e, sizeof e, "%.*e", digits - 1, value);
    const char *x = strchr(e, 'e');
    long exp10 = x ? strtol(x + 1, NULL, 10) : 0;
    if (exp10 < -4 || exp10 >= 6)
        snprintf(out, size, "%s", e);
    else
        snprintf(out, size, "%.*f", digits - 1 - (int)exp10 > 0 ? digits - 1 - (int)exp10 : 0,
                 value);
}

/* ---- names and grouping keys ---------------------------------------------------------------- */

int prom_label_name(char *out, size_t size, const char *in)
{
    if (!out || size < 2 || !in || !*in)
        return -1;
    size_t o = 0;
    if (*in >= '0' && *in <= '9')
        out[o++] = '_';
    for (const char *s = in; *s && o + 1 < size; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[o++] = ok ? c : '_';
    }
    out[o] = '\0';
    if (o >= 2 && out[0] == '_' && out[1] == '_')
        return -1; /* reserved for Prometheus' own labels */
    return 0;
}

void prom_base64url(prom_buf_t *b, const unsigned char *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        size_t rest = len - i;
        if (rest > 1)
            v |= (uint32_t)data[i + 1] << 8;
        if (rest > 2)
            v |= data[i + 2];
        char q[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63],
                     alphabet[v & 63]};
        prom_buf_add(b, q, rest >= 3 ? 4 : rest + 1);
    }
}

/* RFC 3986 unreserved: the only bytes that go into a URL path segment as they are. */
static int plain_segment(const char *v)
{
    if (!*v || !strcmp(v, ".") || !strcmp(v, ".."))
        return 0;
    for (const char *s = v; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return 0;
    }
    return 1;
}

void prom_group_segment(prom_buf_t *b, const char *name, const char *value)
{
    char *clean = prom_utf8_clean(value);
    if (!clean) {
        b->oom = 1;
        return;
    }
    if (plain_segment(clean)) {
        prom_buf_printf(b, "/%s/%s", name, clean);
    } else if (!*clean) {
        /* the Pushgateway's spelling of an empty value: a lone padding character */
        prom_buf_printf(b, "/%s@base64/=", name);
    } else {
        prom_buf_printf(b, "/%s@base64/", name);
        prom_base64url(b, (const unsigned char *)clean, strlen(clean));
    }
    free(clean);
}

void prom_group_path(prom_buf_t *b, const char *job, const char *run_id, int rank)
{
    char r[24];
    snprintf(r, sizeof r, "%d", rank);
    prom_buf_puts(b, "/metrics");
    prom_group_segment(b, "job", job);
    prom_group_segment(b, "run", run_id);
    prom_group_segment(b, "rank", r);
}

/* ---- families ------------------------------------------------------------------------------ */

static const prom_family_info_t families[PROM_N_FAMILIES] = {
    [PROM_RUN_INFO] = {"maestro_run_info",
                       "Identity of a Maestro run; always 1 (join on run_id for the labels).",
                       "gauge"},
    [PROM_RUN_STATUS] = {"maestro_run_status",
                         "1 for the run's current status (running, ok, gate_failed, failed, "
                         "preempted), 0 for the others.",
                         "gauge"},
    [PROM_RUN_DURATION] = {"maestro_run_duration_seconds",
                           "Wall time of the run so far; its whole duration once it ended.",
                           "gauge"},
    [PROM_TRAIN_LOSS] = {"maestro_train_loss", "Training loss of the latest epoch.", "gauge"},
    [PROM_TRAIN_METRIC] = {"maestro_train_metric", "Latest value of a training metric, by name.",
                           "gauge"},
    [PROM_VAL_METRIC] = {"maestro_val_metric",
                         "Latest value of a validation metric, by name (without the val_ "
                         "prefix).",
                         "gauge"},
    [PROM_EPOCH] = {"maestro_epoch", "Latest epoch reached.", "gauge"},
    [PROM_STEP] = {"maestro_step", "Latest optimiser step reached.", "gauge"},
    [PROM_SAMPLES_PER_SECOND] = {"maestro_samples_per_second",
                                 "Training throughput of this rank, samples per second.", "gauge"},
    [PROM_ALLREDUCE_SECONDS] = {"maestro_allreduce_seconds_total",
                                "Time this rank spent in gradient allreduce since the run "
                                "started.",
                                "counter"},
    [PROM_CHECKPOINT_SECONDS] = {"maestro_checkpoint_seconds",
                                 "Duration of this rank's latest checkpoint write.", "gauge"},
    [PROM_GATES_PASSED] = {"maestro_gates_passed",
                           "1 when every quality gate of the run passed (or it has none), 0 when "
                           "one failed; set at run end.",
                           "gauge"},
};

const prom_family_info_t *prom_family(prom_family_t f)
{
    return (unsigned)f < PROM_N_FAMILIES ? &families[f] : NULL;
}

/* ---- the series table ---------------------------------------------------------------------- */

typedef struct {
    prom_family_t family;
    char *labels; /* rendered: a="x",b="y" (escaped), "" for none */
    double value;
} series_t;

struct prom_set {
    series_t *series;
    size_t n, cap;
};

prom_set_t *prom_set_create(void)
{
    return calloc(1, sizeof(prom_set_t));
}

void prom_set_destroy(prom_set_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->series[i].labels);
    free(s->series);
    free(s);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const prom_label_t *)a)->name, ((const prom_label_t *)b)->name);
}

/* Render labels sorted by name, so the same label set always gives the same key. */
static char *render_labels(const prom_label_t *labels, size_t n)
{
    prom_label_t *sorted = NULL;
    if (n) {
        sorted = malloc(n * sizeof *sorted);
        if (!sorted)
            return NULL;
        memcpy(sorted, labels, n * sizeof *sorted);
        /* qsort is not stable: order equal names by position so "first wins" holds */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && cmp_label(&sorted[j - 1], &sorted[j]) > 0; j--) {
                prom_label_t t = sorted[j - 1];
                sorted[j - 1] = sorted[j];
                sorted[j] = t;
            }
    }
    prom_buf_t b;
    prom_buf_init(&b);
    prom_buf_add(&b, "", 0);
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (prev && !strcmp(prev, sorted[i].name))
            continue;
        prev = sorted[i].name;
        prom_buf_printf(&b, "%s%s=\"", b.len ? "," : "", sorted[i].name);
        prom_escape_label_value(&b, sorted[i].value);
        prom_buf_puts(&b, "\"");
    }
    free(sorted);
    if (b.oom) {
        prom_buf_free(&b);
        return NULL;
    }
    return b.data;
}

int prom_set_put(prom_set_t *s, prom_family_t f, const prom_label_t *labels, size_t n, double value)
{
    if (!s || (unsigned)f >= PROM_N_FAMILIES || (n && !labels))
        return -1;
    char *key = render_labels(labels, n);
    if (!key)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        if (s->series[i].family == f && !strcmp(s->series[i].labels, key)) {
            s->series[i].value = value;
            free(key);
            return 0;
        }
    }
    if (s->n >= PROM_MAX_SERIES) {
        free(key);
        return -1;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        series_t *p = realloc(s->series, cap * sizeof *p);
        if (!p) {
            free(key);
            return -1;
        }
        s->series = p;
        s->cap = cap;
    }
    s->series[s->n++] = (series_t){f, key, value};
    return 0;
}

void prom_set_clear(prom_set_t *s, prom_family_t f)
{
    if (!s)
        return;
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->series[i].family == f)
            free(s->series[i].labels);
        else
            s->series[o++] = s->series[i];
    }
    s->n = o;
}

size_t prom_set_count(const prom_set_t *s)
{
    return s ? s->n : 0;
}

static int cmp_series(const void *a, const void *b)
{
    const series_t *x = *(const series_t *const *)a, *y = *(const series_t *const *)b;
    return strcmp(x->labels, y->labels);
}

void prom_set_render(const prom_set_t *s, const prom_label_t *prefix, size_t n_prefix,
                     prom_buf_t *out)
{
    if (!s || !s->n)
        return;
    char *pre = render_labels(prefix, n_prefix);
    const series_t **order = malloc(s->n * sizeof *order);
    if (!pre || !order) {
        out->oom = 1;
        goto out;
    }
    for (int f = 0; f < PROM_N_FAMILIES; f++) {
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->series[i].family == (prom_family_t)f)
                order[m++] = &s->series[i];
        if (!m)
            continue; /* no HELP/TYPE without a sample: nothing to describe */
        /* sorted by labels so the same state always renders the same bytes */
        qsort(order, m, sizeof *order, cmp_series);
        prom_buf_printf(out, "# HELP %s ", families[f].name);
        prom_escape_help(out, families[f].help);
        prom_buf_printf(out, "\n# TYPE %s %s\n", families[f].name, families[f].type);
        for (size_t i = 0; i < m; i++) {
            char v[40];
            prom_format_value(v, sizeof v, order[i]->value);
            const char *sep = (*pre && *order[i]->labels) ? "," : "";
            if (*pre || *order[i]->labels)
                prom_buf_printf(out, "%s{%s%s%s} %s\n", families[f].name, pre, sep,
                                order[i]->labels, v);
            else
                prom_buf_printf(out, "%s %s\n", families[f].name, v);
        }
    }
out:
    free(pre);
    free(order);
}
