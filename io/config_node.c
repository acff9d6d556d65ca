/* config_node.c - config tree nodes: lifetime, navigation, locations, paths, dump
 *
 * Nodes are plain heap objects owned by their parent's entry array; the document counts them so
 * the loader can refuse alias bombs. Locations are stored per node and per key, and a path is
 * rebuilt on demand by walking parent links, so moving a node (merge, --set) needs no fix-up
 * beyond its parent pointer. Dumps go through libyaml's emitter, which owns all the quoting
 * rules; secret scalars are emitted as the reference the user wrote.
 */
#include "io/config_impl.h"

#include "core/alloc.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

mo_cfg_node_t *cfg_node_new(mo_cfg_t *cfg, mo_cfg_type_t type, const char *origin, int line,
                            int col)
{
    mo_cfg_node_t *n = mo_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->type = type;
    n->origin = origin;
    n->line = line;
    n->col = col;
    cfg->nnodes++;
    return n;
}

/* Resolved secrets should not linger in freed heap memory. */
void cfg_wipe_free(char *s)
{
    if (!s)
        return;
    for (volatile char *p = s; *p; p++)
        *p = '\0';
    free(s);
}

void cfg_node_free(mo_cfg_t *cfg, mo_cfg_node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->len; i++) {
        free(n->ents[i].key);
        cfg_node_free(cfg, n->ents[i].val);
    }
    free(n->ents);
    for (size_t i = 0; i < n->nknown; i++)
        free(n->known[i]);
    free(n->known);
    if (n->secret)
        cfg_wipe_free(n->text);
    else
        free(n->text);
    free(n->raw);
    free(n);
    cfg->nnodes--;
}

int cfg_push(mo_cfg_node_t *n, char *key, const char *origin, int line, int col, mo_cfg_node_t *val)
{
    if (n->len == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        cfg_entry_t *e = mo_reallocarray(n->ents, cap, sizeof *e);
        if (!e)
            return MO_ENOMEM;
        n->ents = e;
        n->cap = cap;
    }
    n->ents[n->len++] = (cfg_entry_t){key, origin, line, col, val};
    val->parent = n;
    return 0;
}

cfg_entry_t *cfg_find(const mo_cfg_node_t *map, const char *key)
{
    if (!map || map->type != MO_CFG_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->len; i++)
        if (!strcmp(map->ents[i].key, key))
            return &map->ents[i];
    return NULL;
}

size_t cfg_count(const mo_cfg_node_t *n)
{
    size_t c = 1;
    for (size_t i = 0; i < n->len; i++)
        c += cfg_count(n->ents[i].val);
    return c;
}

mo_cfg_node_t *cfg_copy(mo_cfg_t *cfg, const mo_cfg_node_t *src)
{
    mo_cfg_node_t *n = cfg_node_new(cfg, src->type, src->origin, src->line, src->col);
    if (!n)
        return NULL;
    n->quoted = src->quoted;
    n->secret = src->secret;
    n->interpolated = src->interpolated;
    if ((src->text && !(n->text = mo_strdup(src->text))) ||
        (src->raw && !(n->raw = mo_strdup(src->raw))))
        goto fail;
    for (size_t i = 0; i < src->len; i++) {
        const cfg_entry_t *e = &src->ents[i];
        char *key = NULL;
        mo_cfg_node_t *val = cfg_copy(cfg, e->val);
        if (!val || (e->key && !(key = mo_strdup(e->key))) ||
            cfg_push(n, key, e->origin, e->line, e->col, val)) {
            free(key);
            cfg_node_free(cfg, val);
            goto fail;
        }
    }
    return n;
fail:
    cfg_node_free(cfg, n);
    return NULL;
}

/* ---- navigation --------------------------------------------------------------------------- */

mo_cfg_type_t mo_cfg_type(const mo_cfg_node_t *n)
{
    return n ? n->type : MO_CFG_NULL;
}

const char *mo_cfg_scalar(const mo_cfg_node_t *n)
{
    return n && n->type == MO_CFG_SCALAR ? n->text : NULL;
}

int mo_cfg_is_quoted(const mo_cfg_node_t *n)
{
    return n && n->type == MO_CFG_SCALAR && n->quoted;
}

int mo_cfg_is_secret(const mo_cfg_node_t *n)
{
    return n && n->secret;
}

size_t mo_cfg_len(const mo_cfg_node_t *n)
{
    return n && (n->type == MO_CFG_MAP || n->type == MO_CFG_LIST) ? n->len : 0;
}

mo_cfg_node_t *mo_cfg_at(const mo_cfg_node_t *n, size_t i)
{
    return i < mo_cfg_len(n) ? n->ents[i].val : NULL;
}

const char *mo_cfg_key_at(const mo_cfg_node_t *n, size_t i)
{
    return n && n->type == MO_CFG_MAP && i < n->len ? n->ents[i].key : NULL;
}

mo_cfg_node_t *mo_cfg_child(const mo_cfg_node_t *n, const char *key)
{
    const cfg_entry_t *e = cfg_find(n, key);
    return e ? e->val : NULL;
}

/* One step of a lookup path: `name` up to '.' or '[', or `[index]`. */
static const mo_cfg_node_t *lookup_step(const mo_cfg_node_t *cur, const char **pp)
{
    const char *p = *pp;
    if (*p == '[') {
        char *end = NULL;
        unsigned long long i = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end != ']' || cur->type != MO_CFG_LIST || i >= cur->len)
            return NULL;
        *pp = end + 1;
        return cur->ents[i].val;
    }
    size_t len = strcspn(p, ".[");
    *pp = p + len;
    if (!len || cur->type != MO_CFG_MAP)
        return NULL;
    for (size_t i = 0; i < cur->len; i++)
        if (strlen(cur->ents[i].key) == len && !memcmp(cur->ents[i].key, p, len))
            return cur->ents[i].val;
    return NULL;
}

mo_cfg_node_t *mo_cfg_lookup(const mo_cfg_node_t *n, const char *path)
{
    if (!n || !path)
        return NULL;
    const char *p = path;
    while (n && *p) {
        n = lookup_step(n, &p);
        if (*p == '.' && *++p == '\0')
            return NULL;
    }
    return (mo_cfg_node_t *)n;
}

void mo_cfg_mark_known(mo_cfg_node_t *n, const char *key)
{
    if (!n || n->type != MO_CFG_MAP || !key)
        return;
    for (size_t i = 0; i < n->nknown; i++)
        if (!strcmp(n->known[i], key))
            return;
    if (n->nknown == n->known_cap) {
        size_t cap = n->known_cap ? n->known_cap * 2 : 8;
        char **k = mo_reallocarray(n->known, cap, sizeof *k);
        if (!k)
            return; /* the key then reads as unknown: a loud failure, not a silent one */
        n->known = k;
        n->known_cap = cap;
    }
    if ((n->known[n->nknown] = mo_strdup(key)))
        n->nknown++;
}

void mo_cfg_allow_any(mo_cfg_node_t *n)
{
    if (n)
        n->allow_any = 1;
}

/* ---- locations ---------------------------------------------------------------------------- */

const char *cfg_where_at(const char *origin, int line, int col, char *buf, size_t size)
{
    if (!buf || !size)
        return "";
    if (line > 0)
        snprintf(buf, size, "%s:%d:%d", origin, line, col);
    else
        snprintf(buf, size, "%s", origin);
    return buf;
}

const char *mo_cfg_where(const mo_cfg_node_t *n, char *buf, size_t size)
{
    if (!n)
        return cfg_where_at("(no location)", 0, 0, buf, size);
    return cfg_where_at(n->origin, n->line, n->col, buf, size);
}

int mo_cfg_line(const mo_cfg_node_t *n)
{
    return n ? n->line : 0;
}

int mo_cfg_col(const mo_cfg_node_t *n)
{
    return n ? n->col : 0;
}

static void path_put(const mo_cfg_node_t *n, char *buf, size_t size, size_t *pos)
{
    const mo_cfg_node_t *p = n->parent;
    if (!p)
        return;
    path_put(p, buf, size, pos);
    size_t i = 0;
    while (i < p->len && p->ents[i].val != n)
        i++;
    MO_ASSERT(i < p->len);
    int w = p->type == MO_CFG_LIST
                ? snprintf(buf + *pos, size - *pos, "[%zu]", i)
                : snprintf(buf + *pos, size - *pos, "%s%s", *pos ? "." : "", p->ents[i].key);
    if (w > 0)
        *pos = *pos + (size_t)w < size ? *pos + (size_t)w : size - 1;
}

const char *mo_cfg_path(const mo_cfg_node_t *n, char *buf, size_t size)
{
    if (!buf || !size)
        return "";
    size_t pos = 0;
    buf[0] = '\0';
    if (n)
        path_put(n, buf, size, &pos);
    return buf;
}

int mo_cfg_errorf(mo_error_t *err, int code, const mo_cfg_node_t *n, const char *fmt, ...)
{
    char where[160], msg[MO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mo_errorf(err, code, "%s: %s", mo_cfg_where(n, where, sizeof where), msg);
}

/* ---- dump --------------------------------------------------------------------------------- */

static int dump_write(void *data, unsigned char *buffer, size_t size)
{
    return mo_buf_append(data, (const char *)buffer, size) == 0;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, int quoted)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(
            &ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), !quoted, 1,
            quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE))
        return 0;
    return yaml_emitter_emit(em, &ev);
}

/* libyaml calls return 1 on success; so does this. */
static int emit_node(yaml_emitter_t *em, const mo_cfg_node_t *n)
{
    yaml_event_t ev;
    int ok = 1;
    if (n->type == MO_CFG_NULL)
        return emit_scalar(em, "null", 0);
    if (n->type == MO_CFG_SCALAR) {
        if (n->secret && n->raw)
            return emit_scalar(em, n->raw, n->quoted);
        if (!strstr(n->text, "${"))
            return emit_scalar(em, n->text, n->quoted);
        /* A literal `${` in a value (written `$${`, or a parameter value) stays literal when
         * the dump is loaded again. */
        mo_buf_t b = {0};
        for (const char *t = n->text; *t; t++) {
            if (t[0] == '$' && t[1] == '{')
                mo_buf_puts(&b, "$");
            mo_buf_append(&b, t, 1);
        }
        ok = b.data && emit_scalar(em, b.data, n->quoted);
        mo_buf_free(&b);
        return ok;
    }
    if (n->type == MO_CFG_MAP)
        ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    else
        ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    if (!ok || !yaml_emitter_emit(em, &ev))
        return 0;
    for (size_t i = 0; ok && i < n->len; i++) {
        if (n->type == MO_CFG_MAP)
            ok = emit_scalar(em, n->ents[i].key, 0);
        ok = ok && emit_node(em, n->ents[i].val);
    }
    if (!ok)
        return 0;
    if (n->type == MO_CFG_MAP)
        ok = yaml_mapping_end_event_initialize(&ev);
    else
        ok = yaml_sequence_end_event_initialize(&ev);
    return ok && yaml_emitter_emit(em, &ev);
}

static int emit_document(yaml_emitter_t *em, const mo_cfg_node_t *n)
{
    yaml_event_t ev;
    return yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
           yaml_emitter_emit(em, &ev) &&
           yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
           yaml_emitter_emit(em, &ev) && emit_node(em, n) &&
           yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(em, &ev) &&
           yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

char *mo_cfg_dump_yaml(const mo_cfg_node_t *n)
{
    if (!n)
        return NULL;
    mo_buf_t b = {0};
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em))
        return NULL;
    yaml_emitter_set_output(&em, dump_write, &b);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_width(&em, -1);
    int ok = emit_document(&em, n);
    yaml_emitter_delete(&em);
    if (!ok) {
        mo_buf_free(&b);
        return NULL;
    }
    /* A lone scalar document ends with an explicit "...": noise for a one-value dump. */
    if (b.len >= 4 && !strcmp(b.data + b.len - 4, "...\n"))
        b.data[b.len -= 4] = '\0';
    return mo_buf_steal(&b);
}
