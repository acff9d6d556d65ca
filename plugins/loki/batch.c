/* batch.c - Loki's JSON push body: streams, nanosecond timestamps, log lines as JSON
 *
 * A batch holds one stream per (rank, level) of the run; the other labels (job, run_id, kind,
 * static ones) are the same for every stream of a plugin instance. Loki wants the values of a
 * stream in time order ("entry out of order" with unordered_writes off; an exact timestamp +
 * line duplicate is silently dropped either way), so each stream remembers its newest
 * timestamp across batches and an entry that is not strictly after it is moved to last + 1 ns.
 *
 * Everything is built with jansson (never printf), and the body size is tracked exactly as
 * json_dumps(JSON_COMPACT) will print it, so a batch is sent before it passes batch_bytes.
 * No Maestro header here: tests compile this file directly.
 */
#include "loki_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const loki_level_names[4] = {"debug", "info", "warn", "error"};

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not one. Overlong
 * forms, surrogates and code points past U+10FFFF are invalid, as jansson judges them. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

char *loki_utf8_clean(const char *in, size_t len)
{
    /* Each bad byte becomes 3 bytes (EF BF BD). */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = s[i] ? utf8_seq(s + i, len - i) : 0;
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            /* NUL too: it would end the line early in C and Loki's line is a string. */
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- JSON sizes as jansson prints them --------------------------------------------------------
 */

/* Length of the quoted JSON string jansson writes for s (default flags: UTF-8 kept, '/' not
 * escaped). */
static size_t json_str_len(const char *s)
{
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
        case '\\':
        case '\b':
        case '\f':
        case '\n':
        case '\r':
        case '\t':
            n += 2;
            break;
        default:
            n += *p < 0x20 ? 6 : 1; /* \u00XX */
        }
    }
    return n;
}

static size_t dumps_len(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = s ? strlen(s) : 0;
    free(s);
    return n;
}

/* ---- lines ---------------------------------------------------------------------------------- */

char *loki_line(const char *level, const char *component, const char *msg, size_t msg_len, int rank,
                int part)
{
    char *text = NULL;
    json_t *o = json_object();
    char *clean = loki_utf8_clean(msg ? msg : "", msg ? msg_len : 0);
    if (!o || !clean)
        goto out;
    /* Key order is fixed so lines read the same in every tool. */
    if (json_object_set_new(o, "level", json_string(level)) ||
        json_object_set_new(o, "component", json_string(component ? component : "maestro")) ||
        json_object_set_new(o, "msg", json_string(clean)) ||
        json_object_set_new(o, "rank", json_integer(rank)))
        goto out;
    if (part > 0 && json_object_set_new(o, "part", json_integer(part)))
        goto out;
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    free(clean);
    json_decref(o);
    return text;
}

static size_t line_len(const char *level, const char *component, const char *msg, size_t len,
                       int rank, int part)
{
    char *l = loki_line(level, component, msg, len, rank, part);
    size_t n = l ? strlen(l) : SIZE_MAX;
    free(l);
    return n;
}

/* Back off to the start of a UTF-8 character so a piece never ends inside one. */
static size_t char_boundary(const char *msg, size_t start, size_t len)
{
    size_t end = start + len;
    while (end > start && ((unsigned char)msg[end] & 0xC0) == 0x80)
        end--;
    return end - start;
}

int loki_split(const char *level, const char *component, const char *msg, int rank, size_t max_line,
               size_t **starts, size_t **lens, size_t *n)
{
    *starts = NULL;
    *lens = NULL;
    *n = 0;
    size_t total = strlen(msg);
    size_t cap = 0, count = 0;
    size_t *st = NULL, *ln = NULL;

    if (max_line == 0 || line_len(level, component, msg, total, rank, 0) <= max_line) {
        st = malloc(sizeof *st);
        ln = malloc(sizeof *ln);
        if (!st || !ln)
            goto fail;
        st[0] = 0;
        ln[0] = total;
        count = 1;
        goto done;
    }
    for (size_t pos = 0; pos < total;) {
        /* Start from what fits if nothing needed escaping, then shrink by the excess: escapes
         * only make the printed line longer than the raw bytes. */
        size_t empty = line_len(level, component, "", 0, rank, (int)count + 1);
        if (empty == SIZE_MAX || empty >= max_line)
            goto fail;
        size_t take = max_line - empty;
        if (take > total - pos)
            take = total - pos;
        for (;;) {
            size_t cut = char_boundary(msg, pos, take);
            if (cut == 0) {
                /* One character does not fit: take it anyway only if the line fits. */
                cut = utf8_seq((const unsigned char *)msg + pos, total - pos);
                if (cut == 0)
                    cut = 1;
                size_t l = line_len(level, component, msg + pos, cut, rank, (int)count + 1);
                if (l > max_line)
                    goto fail;
                take = cut;
                break;
            }
            size_t l = line_len(level, component, msg + pos, cut, rank, (int)count + 1);
            if (l == SIZE_MAX)
                goto fail;
            if (l <= max_line) {
                take = cut;
                break;
            }
            size_t excess = l - max_line;
            take = cut > excess ? cut - excess : 0;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            size_t *a = realloc(st, ncap * sizeof *a);
            if (!a)
                goto fail;
            st = a;
            size_t *b = realloc(ln, ncap * sizeof *b);
            if (!b)
                goto fail;
            ln = b;
            cap = ncap;
        }
        st[count] = pos;
        ln[count] = take;
        count++;
        pos += take;
    }
done:
    *starts = st;
    *lens = ln;
    *n = count;
    return 0;
fail:
    free(st);
    free(ln);
    return -1;
}

/* ---- labels --------------------------------------------------------------------------------- */

int loki_label_name_ok(const char *name)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        if (!alpha && !(p != name && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

int loki_parse_static_labels(json_t *labels, const char *spec, char *err, size_t errlen)
{
    static const char *const builtin[] = LOKI_LABEL_NAMES;
    char *copy = strdup(spec);
    int rc = -1;
    if (!copy) {
        snprintf(err, errlen, "labels: out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, errlen, "labels: '%s' is not name=value", item);
            goto out;
        }
        *eq = '\0';
        /* Spaces around names and values are layout ("a=1, b = 2"), not content. */
        const char *name = item;
        char *value = eq + 1, *end = eq;
        while (end > name && end[-1] == ' ')
            *--end = '\0';
        while (*value == ' ')
            value++;
        for (end = value + strlen(value); end > value && end[-1] == ' ';)
            *--end = '\0';
        if (!loki_label_name_ok(name) || !strncmp(name, "__", 2)) {
            snprintf(err, errlen, "labels: '%s' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)",
                     name);
            goto out;
        }
        for (size_t i = 0; i < LOKI_N_BUILTIN_LABELS; i++)
            if (!strcmp(name, builtin[i])) {
                snprintf(err, errlen, "labels: '%s' is set by the plugin itself", name);
                goto out;
            }
        if (json_object_get(labels, name)) {
            snprintf(err, errlen, "labels: '%s' appears twice", name);
            goto out;
        }
        /* Loki treats an empty value as no label at all. */
        if (!*value) {
            snprintf(err, errlen, "labels: '%s' has an empty value", name);
            goto out;
        }
        if (strlen(name) > LOKI_MAX_LABEL_NAME || strlen(value) > LOKI_MAX_LABEL_VALUE) {
            snprintf(err, errlen, "labels: '%s' is longer than Loki accepts", name);
            goto out;
        }
        json_t *v = json_string(value);
        if (!v) {
            snprintf(err, errlen, "labels: the value of '%s' is not valid UTF-8", name);
            goto out;
        }
        if (json_object_set_new(labels, name, v)) {
            snprintf(err, errlen, "labels: out of memory");
            goto out;
        }
    }
    if (json_object_size(labels) + LOKI_N_BUILTIN_LABELS > LOKI_MAX_LABELS) {
        snprintf(err, errlen, "labels: %zu static labels; Loki allows %d label names in all",
                 json_object_size(labels), LOKI_MAX_LABELS);
        goto out;
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

/* ---- the batch ------------------------------------------------------------------------------ */

/* `{"streams":[` + `]}`: present as soon as one entry waits. */
#define BODY_OVERHEAD 14
/* `{"stream":` + `,"values":[` + `]}` around a stream's labels and entries. */
#define STREAM_OVERHEAD 23

int loki_batch_init(loki_batch_t *b, const char *run_id, const char *kind,
                    const json_t *static_labels)
{
    memset(b, 0, sizeof *b);
    b->base = json_object();
    if (!b->base)
        return -1;
    if (json_object_set_new(b->base, "job", json_string("maestro")) ||
        json_object_set_new(b->base, "run_id", json_string(run_id)) ||
        json_object_set_new(b->base, "kind", json_string(kind)))
        goto fail;
    if (static_labels) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)static_labels, k, v)
        {
            if (json_object_set(b->base, k, v))
                goto fail;
        }
    }
    return 0;
fail:
    json_decref(b->base);
    b->base = NULL;
    return -1;
}

void loki_batch_free(loki_batch_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_streams; i++) {
        json_decref(b->streams[i].labels);
        json_decref(b->streams[i].values);
    }
    free(b->streams);
    json_decref(b->base);
    memset(b, 0, sizeof *b);
}

static loki_stream_t *find_stream(const loki_batch_t *b, int rank, int level)
{
    for (size_t i = 0; i < b->n_streams; i++)
        if (b->streams[i].rank == rank && b->streams[i].level == level)
            return &b->streams[i];
    return NULL;
}

static loki_stream_t *new_stream(loki_batch_t *b, int rank, int level)
{
    if (b->n_streams == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 8;
        loki_stream_t *s = realloc(b->streams, ncap * sizeof *s);
        if (!s)
            return NULL;
        b->streams = s;
        b->cap = ncap;
    }
    char rank_text[24];
    snprintf(rank_text, sizeof rank_text, "%d", rank);
    json_t *labels = json_object();
    json_t *values = json_array();
    if (!labels || !values)
        goto fail;
    /* Built-in labels in a fixed order: job, run_id, kind, rank, level, then static ones. */
    if (json_object_set(labels, "job", json_object_get(b->base, "job")) ||
        json_object_set(labels, "run_id", json_object_get(b->base, "run_id")) ||
        json_object_set(labels, "kind", json_object_get(b->base, "kind")) ||
        json_object_set_new(labels, "rank", json_string(rank_text)) ||
        json_object_set_new(labels, "level", json_string(loki_level_names[level])))
        goto fail;
    const char *k;
    json_t *v;
    json_object_foreach(b->base, k, v)
    {
        if (!json_object_get(labels, k) && json_object_set(labels, k, v))
            goto fail;
    }
    loki_stream_t *s = &b->streams[b->n_streams++];
    s->rank = rank;
    s->level = level;
    s->labels = labels;
    s->values = values;
    s->last_ns = INT64_MIN;
    return s;
fail:
    json_decref(labels);
    json_decref(values);
    return NULL;
}

static int64_t next_ts(const loki_stream_t *s, int64_t ts)
{
    if (s && s->last_ns != INT64_MIN && ts <= s->last_ns)
        return s->last_ns + 1;
    return ts;
}

static size_t entry_cost(int64_t ts, const char *line, int first_in_stream)
{
    char ts_text[24];
    int n = snprintf(ts_text, sizeof ts_text, "%" PRId64, ts);
    /* ["<ts>","<line>"] plus the comma before it unless it opens the stream's values. */
    return (size_t)n + 2 + json_str_len(line) + 3 + (first_in_stream ? 0 : 1);
}

size_t loki_batch_cost(const loki_batch_t *b, int rank, int level, int64_t ts, const char *line)
{
    const loki_stream_t *s = find_stream(b, rank, level);
    int stream_waiting = s && json_array_size(s->values) > 0;
    size_t cost = entry_cost(next_ts(s, ts), line, !stream_waiting);
    if (!stream_waiting) {
        /* The stream's labels object appears in the body with this entry. */
        size_t labels_len;
        if (s) {
            labels_len = dumps_len(s->labels);
        } else {
            /* A stream not created yet: base labels plus rank and level. */
            char rank_text[24];
            snprintf(rank_text, sizeof rank_text, "%d", rank);
            labels_len = dumps_len(b->base) + strlen(",\"rank\":,\"level\":") +
                         json_str_len(rank_text) + json_str_len(loki_level_names[level]);
        }
        cost += STREAM_OVERHEAD + labels_len + (b->entries > 0 ? 1 : 0);
    }
    if (b->entries == 0)
        cost += BODY_OVERHEAD;
    return cost;
}

int loki_batch_add(loki_batch_t *b, int rank, int level, int64_t ts, const char *line, int64_t now,
                   int64_t *used_ts)
{
    if (level < 0 || level > 3)
        level = 1;
    size_t cost = loki_batch_cost(b, rank, level, ts, line);
    loki_stream_t *s = find_stream(b, rank, level);
    if (!s && !(s = new_stream(b, rank, level)))
        return -1;
    ts = next_ts(s, ts);
    char ts_text[24];
    snprintf(ts_text, sizeof ts_text, "%" PRId64, ts);
    json_t *pair = json_pack("[ss]", ts_text, line);
    /* json_array_append_new releases pair when it fails. */
    if (!pair || json_array_append_new(s->values, pair))
        return -1;
    s->last_ns = ts;
    if (b->entries == 0)
        b->first_at = now;
    b->entries++;
    b->bytes += cost;
    if (used_ts)
        *used_ts = ts;
    return 0;
}

char *loki_batch_take(loki_batch_t *b, size_t *len, size_t *n_entries)
{
    char *body = NULL;
    *len = 0;
    *n_entries = b->entries;
    if (b->entries == 0)
        return NULL;
    json_t *root = json_object();
    json_t *streams = json_array();
    if (!root || !streams || json_object_set(root, "streams", streams))
        goto out;
    for (size_t i = 0; i < b->n_streams; i++) {
        loki_stream_t *s = &b->streams[i];
        if (json_array_size(s->values) == 0)
            continue;
        json_t *o = json_object();
        if (!o || json_object_set(o, "stream", s->labels) ||
            json_object_set(o, "values", s->values) || json_array_append_new(streams, o)) {
            json_decref(o);
            goto out;
        }
    }
    body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!body)
        goto out;
    *len = strlen(body);
    /* Only now that the body exists: on failure the entries stay for the next try. */
    for (size_t i = 0; i < b->n_streams; i++)
        json_array_clear(b->streams[i].values);
    b->entries = 0;
    b->bytes = 0;
out:
    json_decref(streams);
    json_decref(root);
    return body;
}
