/* config_load.c - YAML text to a config tree: libyaml events, anchors, merges, syntax errors
 *
 * The loader drives libyaml's event parser and builds the tree on an explicit stack, so every
 * node and key gets its line:col straight from the parser's marks. Aliases are deep copies:
 * the tree stays a tree (one parent, one path per node), which keeps paths in messages and
 * known-key marks unambiguous; a node budget stops alias bombs. `<<` merges are applied when
 * their map closes, so keys written in the map win over merged ones whatever their order.
 * libyaml's syntax errors are rewritten into one line naming the likely mistake (tab, bad
 * indentation, unclosed quote) at the position libyaml reports.
 *
 * Each scalar value goes through config_interp.c as it is created, while its location is at
 * hand for messages; keys are never interpolated. config_set.c reuses this loader with line
 * numbers off for `--set` values.
 */
#include "io/config_impl.h"

#include "core/alloc.h"
#include "core/str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A spec is a few KiB; anything this large is a wrong path, not a spec. */
#define CFG_MAX_FILE ((size_t)64 << 20)

typedef struct {
    mo_cfg_node_t *node; /* the map or list being filled */
    char *key;           /* map: key waiting for its value */
    int key_line, key_col;
    int have_key;
    int key_merge;          /* the waiting key is a plain `<<` */
    int merge_line;         /* line of this map's `<<` (1 when lines are off), 0 when none */
    size_t anchor;          /* 1 + index in the anchor table, 0 when not anchored */
    mo_cfg_node_t **merges; /* sources of `<<`, borrowed (tree, anchors or spare) */
    size_t nmerges;
} frame_t;

typedef struct {
    char *name;
    mo_cfg_node_t *node; /* NULL while the anchored collection is still open */
} anchor_t;

typedef struct {
    mo_cfg_t *cfg;
    const char *origin;
    int lines; /* 0 for --set values: locations are the origin text alone */
    const char *text;
    size_t len;
    frame_t stack[CFG_MAX_DEPTH];
    int depth;
    anchor_t *anchors;
    size_t nanchors;
    /* Inline `<<` values: not part of the tree, but anchors may point at them until the end. */
    mo_cfg_node_t **spare;
    size_t nspare;
    mo_cfg_node_t *root;
    int docs;
    mo_error_t *err;
} loader_t;

/* ---- loader helpers ----------------------------------------------------------------------- */

static int ld_errorf(loader_t *ld, int code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int ld_errorf(loader_t *ld, int code, int line, int col, const char *fmt, ...)
{
    char where[160], msg[MO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mo_errorf(ld->err, code, "%s: %s",
                     cfg_where_at(ld->origin, line, col, where, sizeof where), msg);
}

static void mark_loc(const loader_t *ld, yaml_mark_t m, int *line, int *col)
{
    *line = ld->lines ? (int)m.line + 1 : 0;
    *col = ld->lines ? (int)m.column + 1 : 0;
}

static int ld_nomem(loader_t *ld)
{
    return mo_errorf(ld->err, MO_ENOMEM, "%s: out of memory while loading", ld->origin);
}

static mo_cfg_node_t *ld_node(loader_t *ld, mo_cfg_type_t type, int line, int col, int *rc)
{
    if (ld->cfg->nnodes >= CFG_MAX_NODES) {
        *rc = ld_errorf(ld, MO_EINVAL, line, col, "document has more than %d nodes", CFG_MAX_NODES);
        return NULL;
    }
    mo_cfg_node_t *n = cfg_node_new(ld->cfg, type, ld->origin, line, col);
    if (!n)
        *rc = ld_nomem(ld);
    return n;
}

static int push_ptr(mo_cfg_node_t ***arr, size_t *n, mo_cfg_node_t *p)
{
    mo_cfg_node_t **a = mo_reallocarray(*arr, *n + 1, sizeof *a);
    if (!a)
        return MO_ENOMEM;
    a[(*n)++] = p;
    *arr = a;
    return 0;
}

static int add_anchor(loader_t *ld, const yaml_char_t *name, mo_cfg_node_t *node, size_t *index)
{
    anchor_t *a = mo_reallocarray(ld->anchors, ld->nanchors + 1, sizeof *a);
    if (!a)
        return ld_nomem(ld);
    ld->anchors = a;
    if (!(a[ld->nanchors].name = mo_strdup((const char *)name)))
        return ld_nomem(ld);
    a[ld->nanchors].node = node;
    if (index)
        *index = ld->nanchors + 1;
    ld->nanchors++;
    return 0;
}

/* Latest definition wins, as YAML says for a redefined anchor. */
static anchor_t *find_anchor(loader_t *ld, const char *name)
{
    for (size_t i = ld->nanchors; i > 0; i--)
        if (!strcmp(ld->anchors[i - 1].name, name))
            return &ld->anchors[i - 1];
    return NULL;
}

static int is_null_word(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Only the YAML core tags mean something here; anything else would be silently misread. */
static int check_tag(loader_t *ld, const yaml_char_t *tag, int line, int col, const char *const *ok)
{
    if (!tag)
        return 0;
    for (; *ok; ok++)
        if (!strcmp((const char *)tag, *ok))
            return 0;
    return ld_errorf(ld, MO_EINVAL, line, col, "unsupported tag '%s'", (const char *)tag);
}

/* ---- events to tree ----------------------------------------------------------------------- */

static int map_wants_key(const frame_t *top)
{
    return top && top->node->type == MO_CFG_MAP && !top->have_key;
}

static frame_t *top_frame(loader_t *ld)
{
    return ld->depth ? &ld->stack[ld->depth - 1] : NULL;
}

static int add_merge(loader_t *ld, frame_t *top, mo_cfg_node_t *src, int owned)
{
    int ok = src->type == MO_CFG_MAP || src->type == MO_CFG_LIST;
    for (size_t i = 0; ok && src->type == MO_CFG_LIST && i < src->len; i++)
        ok = src->ents[i].val->type == MO_CFG_MAP;
    if (!ok) {
        int rc = mo_cfg_errorf(ld->err, MO_EINVAL, src,
                               "'<<' must be followed by a map or a list of maps (an alias "
                               "like *defaults)");
        if (owned)
            cfg_node_free(ld->cfg, src);
        return rc;
    }
    if (owned && push_ptr(&ld->spare, &ld->nspare, src)) {
        cfg_node_free(ld->cfg, src);
        return ld_nomem(ld);
    }
    if (push_ptr(&top->merges, &top->nmerges, src))
        return ld_nomem(ld);
    return 0;
}

/* Hang a finished node under the open collection; takes ownership of `n` in every case. */
static int attach(loader_t *ld, mo_cfg_node_t *n)
{
    frame_t *top = top_frame(ld);
    int rc = 0;
    if (!top) {
        ld->root = n;
        return 0;
    }
    if (top->node->type == MO_CFG_LIST) {
        rc = cfg_push(top->node, NULL, ld->origin, n->line, n->col, n);
    } else if (top->key_merge) {
        top->have_key = top->key_merge = 0;
        return add_merge(ld, top, n, 1);
    } else {
        rc = cfg_push(top->node, top->key, ld->origin, top->key_line, top->key_col, n);
        if (!rc)
            top->key = NULL;
    }
    top->have_key = 0;
    if (rc) {
        cfg_node_free(ld->cfg, n);
        return ld_nomem(ld);
    }
    return 0;
}

static int take_key(loader_t *ld, frame_t *top, const yaml_event_t *ev, int line, int col)
{
    const char *key = (const char *)ev->data.scalar.value;
    if (!*key)
        return ld_errorf(ld, MO_EINVAL, line, col, "empty key");
    if (strlen(key) != ev->data.scalar.length)
        return ld_errorf(ld, MO_EINVAL, line, col, "NUL character in a key");
    int merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(key, "<<");
    const cfg_entry_t *dup = merge ? NULL : cfg_find(top->node, key);
    int first = merge ? top->merge_line : dup ? dup->line : 0;
    if (first || dup) {
        if (!ld->lines)
            return ld_errorf(ld, MO_EINVAL, line, col, "duplicate key '%s'", key);
        return ld_errorf(ld, MO_EINVAL, line, col, "duplicate key '%s' (first at line %d)", key,
                         first);
    }
    if (merge) {
        top->key_merge = 1;
        top->merge_line = ld->lines ? line : 1;
    } else if (!(top->key = mo_strdup(key))) {
        return ld_nomem(ld);
    }
    top->key_line = line;
    top->key_col = col;
    top->have_key = 1;
    return 0;
}

static int on_scalar(loader_t *ld, const yaml_event_t *ev)
{
    static const char *const tags[] = {"tag:yaml.org,2002:str",   "tag:yaml.org,2002:int",
                                       "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                                       "tag:yaml.org,2002:null",  NULL};
    frame_t *top = top_frame(ld);
    int line, col, rc = 0;
    mark_loc(ld, ev->start_mark, &line, &col);
    if (map_wants_key(top))
        return take_key(ld, top, ev, line, col);
    const char *text = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    if ((rc = check_tag(ld, ev->data.scalar.tag, line, col, tags)))
        return rc;
    if (strlen(text) != ev->data.scalar.length)
        return ld_errorf(ld, MO_EINVAL, line, col, "NUL character in a value");
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    int as_str = tag && !strcmp(tag, "tag:yaml.org,2002:str");
    mo_cfg_type_t type = plain && !as_str && is_null_word(text) ? MO_CFG_NULL : MO_CFG_SCALAR;
    mo_cfg_node_t *n = ld_node(ld, type, line, col, &rc);
    if (!n)
        return rc;
    n->quoted = !plain || as_str;
    if (!(n->text = mo_strdup(text)))
        rc = ld_nomem(ld);
    else if (type == MO_CFG_SCALAR)
        rc = cfg_interpolate(ld->cfg, n, ld->err);
    if (!rc && ev->data.scalar.anchor)
        rc = add_anchor(ld, ev->data.scalar.anchor, n, NULL);
    if (rc) {
        cfg_node_free(ld->cfg, n);
        return rc;
    }
    return attach(ld, n);
}

static int on_start(loader_t *ld, const yaml_event_t *ev)
{
    static const char *const tags[] = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", NULL};
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    frame_t *top = top_frame(ld);
    int line, col, rc = 0;
    mark_loc(ld, ev->start_mark, &line, &col);
    if (map_wants_key(top))
        return ld_errorf(ld, MO_EINVAL, line, col, "a %s cannot be a key; keys are plain strings",
                         is_map ? "map" : "list");
    if (ld->depth >= CFG_MAX_DEPTH)
        return ld_errorf(ld, MO_EINVAL, line, col, "nested deeper than %d levels", CFG_MAX_DEPTH);
    const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const yaml_char_t *anchor =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if ((rc = check_tag(ld, tag, line, col, tags)))
        return rc;
    /* A block collection under a key starts on the next line; the key's line is where the
     * user looks for "missing required key ... in optimizer". */
    int block = is_map ? ev->data.mapping_start.style == YAML_BLOCK_MAPPING_STYLE
                       : ev->data.sequence_start.style == YAML_BLOCK_SEQUENCE_STYLE;
    if (block && top && top->node->type == MO_CFG_MAP) {
        line = top->key_line;
        col = top->key_col;
    }
    mo_cfg_node_t *n = ld_node(ld, is_map ? MO_CFG_MAP : MO_CFG_LIST, line, col, &rc);
    if (!n)
        return rc;
    frame_t *f = &ld->stack[ld->depth++];
    *f = (frame_t){.node = n};
    if (anchor)
        rc = add_anchor(ld, anchor, NULL, &f->anchor);
    return rc;
}

static int merge_from(loader_t *ld, mo_cfg_node_t *map, const mo_cfg_node_t *src)
{
    for (size_t i = 0; i < src->len; i++) {
        const cfg_entry_t *e = &src->ents[i];
        if (cfg_find(map, e->key))
            continue;
        if (ld->cfg->nnodes + cfg_count(e->val) > CFG_MAX_NODES)
            return mo_cfg_errorf(ld->err, MO_EINVAL, map, "merges expand past %d nodes",
                                 CFG_MAX_NODES);
        char *key = mo_strdup(e->key);
        mo_cfg_node_t *val = cfg_copy(ld->cfg, e->val);
        if (!key || !val || cfg_push(map, key, e->origin, e->line, e->col, val)) {
            free(key);
            cfg_node_free(ld->cfg, val);
            return ld_nomem(ld);
        }
    }
    return 0;
}

static int apply_merges(loader_t *ld, frame_t *f)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < f->nmerges; i++) {
        const mo_cfg_node_t *src = f->merges[i];
        if (src->type == MO_CFG_MAP)
            rc = merge_from(ld, f->node, src);
        for (size_t j = 0; !rc && src->type == MO_CFG_LIST && j < src->len; j++)
            rc = merge_from(ld, f->node, src->ents[j].val);
    }
    return rc;
}

static void frame_release(loader_t *ld, frame_t *f)
{
    free(f->key);
    free(f->merges);
    cfg_node_free(ld->cfg, f->node);
    *f = (frame_t){0};
}

static int on_end(loader_t *ld)
{
    frame_t f = ld->stack[--ld->depth];
    ld->stack[ld->depth] = (frame_t){0};
    int rc = f.node->type == MO_CFG_MAP ? apply_merges(ld, &f) : 0;
    if (rc) {
        frame_release(ld, &f);
        return rc;
    }
    mo_cfg_node_t *n = f.node;
    size_t anchor = f.anchor;
    f.node = NULL;
    frame_release(ld, &f);
    if (anchor)
        ld->anchors[anchor - 1].node = n;
    return attach(ld, n);
}

static int on_alias(loader_t *ld, const yaml_event_t *ev)
{
    frame_t *top = top_frame(ld);
    int line, col;
    mark_loc(ld, ev->start_mark, &line, &col);
    const char *name = (const char *)ev->data.alias.anchor;
    if (map_wants_key(top))
        return ld_errorf(ld, MO_EINVAL, line, col, "an alias (*%s) cannot be a key", name);
    const anchor_t *a = find_anchor(ld, name);
    if (!a)
        return ld_errorf(ld, MO_EINVAL, line, col, "unknown anchor '%s' (no '&%s' above)", name,
                         name);
    if (!a->node)
        return ld_errorf(ld, MO_EINVAL, line, col, "alias *%s is inside the node it refers to",
                         name);
    if (top && top->node->type == MO_CFG_MAP && top->key_merge) {
        top->have_key = top->key_merge = 0;
        return add_merge(ld, top, a->node, 0);
    }
    if (ld->cfg->nnodes + cfg_count(a->node) > CFG_MAX_NODES)
        return ld_errorf(ld, MO_EINVAL, line, col, "aliases expand past %d nodes", CFG_MAX_NODES);
    mo_cfg_node_t *n = cfg_copy(ld->cfg, a->node);
    if (!n)
        return ld_nomem(ld);
    /* The alias is where this value is used, so that is where messages about it point. */
    n->line = line;
    n->col = col;
    return attach(ld, n);
}

static int on_event(loader_t *ld, const yaml_event_t *ev, int *done)
{
    int line, col;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++ld->docs > 1) {
            mark_loc(ld, ev->start_mark, &line, &col);
            return ld_errorf(ld, MO_EINVAL, line, col,
                             "a second YAML document ('---'); one document per file");
        }
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(ld, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_start(ld, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(ld);
    case YAML_ALIAS_EVENT:
        return on_alias(ld, ev);
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return 0;
    default:
        return 0;
    }
}

/* ---- syntax errors ------------------------------------------------------------------------ */

/* The byte at a libyaml mark. Marks count characters, not bytes, so walk the UTF-8 text. */
static int char_at(const loader_t *ld, yaml_mark_t m, int *in_indent)
{
    size_t i = 0, line = 0;
    while (i < ld->len && line < m.line)
        if (ld->text[i++] == '\n')
            line++;
    *in_indent = 1;
    for (size_t c = 0; i < ld->len && c < m.column; c++) {
        if (ld->text[i] != ' ' && ld->text[i] != '\t')
            *in_indent = 0;
        i++;
        while (i < ld->len && ((unsigned char)ld->text[i] & 0xC0) == 0x80)
            i++;
    }
    return i < ld->len ? (unsigned char)ld->text[i] : -1;
}

static int has(const char *s, const char *word)
{
    return s && strstr(s, word);
}

static int syntax_error(loader_t *ld, const yaml_parser_t *p)
{
    int line, col, cline, ccol, indent;
    if (p->error == YAML_MEMORY_ERROR)
        return ld_nomem(ld);
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        int l = 1, c = 1;
        for (size_t i = 0; i < p->problem_offset && i < ld->len; i++) {
            c = ld->text[i] == '\n' ? 1 : c + 1;
            l += ld->text[i] == '\n';
        }
        return ld_errorf(ld, MO_EINVAL, ld->lines ? l : 0, ld->lines ? c : 0,
                         "%s (the file must be UTF-8 text)", p->problem);
    }
    mark_loc(ld, p->problem_mark, &line, &col);
    mark_loc(ld, p->context_mark, &cline, &ccol);
    const char *prob = p->problem ? p->problem : "syntax error";
    if (has(prob, "tab character") ||
        (has(prob, "cannot start any token") && char_at(ld, p->problem_mark, &indent) == '\t'))
        return ld_errorf(ld, MO_EINVAL, line, col,
                         "tab character in indentation (YAML allows spaces only)");
    if (has(prob, "cannot start any token")) {
        int c = char_at(ld, p->problem_mark, &indent);
        if (c == '@' || c == '`')
            return ld_errorf(ld, MO_EINVAL, line, col,
                             "'%c' is reserved in YAML and cannot start a value; put the value "
                             "in quotes",
                             c);
    }
    if (has(prob, "unexpected end of stream") && has(p->context, "quoted scalar")) {
        int q = char_at(ld, p->context_mark, &indent);
        return ld_errorf(ld, MO_EINVAL, cline, ccol,
                         "unclosed quote: the string starting here has no closing %c",
                         q == '\'' ? '\'' : '"');
    }
    if (has(prob, "did not find expected key") && has(p->context, "block mapping"))
        return ld_errorf(ld, MO_EINVAL, line, col,
                         "bad indentation: this line does not line up with the keys of the map "
                         "at line %d",
                         cline);
    if (has(prob, "did not find expected '-' indicator"))
        return ld_errorf(ld, MO_EINVAL, line, col,
                         "bad indentation: this line does not line up with the items of the "
                         "list at line %d",
                         cline);
    if (has(prob, "mapping values are not allowed"))
        return ld_errorf(ld, MO_EINVAL, line, col,
                         "bad indentation or unquoted ': ': a key here is indented deeper than "
                         "the keys above it, or a value containing ': ' needs quotes");
    if (p->context && ld->lines)
        return ld_errorf(ld, MO_EINVAL, line, col, "%s %s at line %d", prob, p->context, cline);
    return ld_errorf(ld, MO_EINVAL, line, col, "%s", prob);
}

/* ---- documents ---------------------------------------------------------------------------- */

static void loader_release(loader_t *ld)
{
    while (ld->depth > 0)
        frame_release(ld, &ld->stack[--ld->depth]);
    for (size_t i = 0; i < ld->nanchors; i++)
        free(ld->anchors[i].name);
    free(ld->anchors);
    for (size_t i = 0; i < ld->nspare; i++)
        cfg_node_free(ld->cfg, ld->spare[i]);
    free(ld->spare);
    cfg_node_free(ld->cfg, ld->root);
}

/* An empty document is an empty map for files, null for --set values. */
static int finish_root(loader_t *ld, int any_root)
{
    mo_cfg_node_t *r = ld->root;
    if (any_root) {
        int rc = 0;
        if (!r && !(ld->root = ld_node(ld, MO_CFG_NULL, 0, 0, &rc)))
            return rc;
        if (!ld->root->text && !(ld->root->text = mo_strdup("")))
            return ld_nomem(ld);
        return 0;
    }
    if (r && r->type != MO_CFG_NULL && r->type != MO_CFG_MAP)
        return mo_cfg_errorf(ld->err, MO_EINVAL, r,
                             "the top level must be a map of 'key: value' lines, got a %s",
                             r->type == MO_CFG_LIST ? "list" : "single value");
    if (!r || r->type == MO_CFG_NULL) {
        int rc = 0;
        cfg_node_free(ld->cfg, r);
        if (!(ld->root = ld_node(ld, MO_CFG_MAP, ld->lines, ld->lines, &rc)))
            return rc;
    }
    return 0;
}

int cfg_parse(mo_cfg_t *cfg, const char *origin, int lines, const char *text, size_t len,
              int any_root, mo_cfg_node_t **out, mo_error_t *err)
{
    loader_t ld = {
        .cfg = cfg, .origin = origin, .lines = lines, .text = text, .len = len, .err = err};
    yaml_parser_t parser;
    int rc = 0, done = 0;
    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return ld_nomem(&ld);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!rc && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = syntax_error(&ld, &parser);
            break;
        }
        rc = on_event(&ld, &ev, &done);
        yaml_event_delete(&ev);
    }
    if (!rc)
        rc = finish_root(&ld, any_root);
    if (!rc) {
        *out = ld.root;
        ld.root = NULL;
    }
    loader_release(&ld);
    yaml_parser_delete(&parser);
    return rc;
}

int mo_cfg_load_string(mo_cfg_t **out, const char *name, const char *text,
                       const mo_cfg_opts_t *opts, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_load_string: out is NULL");
    *out = NULL;
    if (!name || !*name || !text)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_load_string: %s is NULL or empty",
                         !text ? "text" : "name");
    int rc = 0;
    mo_cfg_t *cfg = mo_calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->file = mo_strdup(name))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory while loading", name);
        goto out;
    }
    if (opts)
        cfg->opts = *opts;
    if ((rc = cfg_parse(cfg, cfg->file, 1, text, strlen(text), 0, &cfg->root, err)))
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    mo_cfg_destroy(cfg);
    return rc;
}

static int read_file(const char *path, mo_buf_t *b, mo_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return mo_errorf(err, MO_ENOTFOUND, "%s: no such file", path);
        return mo_errorf(err, MO_EIO, "%s: %s", path, strerror(errno));
    }
    int rc = 0;
    char chunk[8192];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n < sizeof chunk && ferror(f)) {
            rc = mo_errorf(err, MO_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        if (mo_buf_append(b, chunk, n)) {
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory while reading", path);
            break;
        }
        if (b->len > CFG_MAX_FILE) {
            rc = mo_errorf(err, MO_EINVAL, "%s: larger than %zu MiB; not a spec file", path,
                           CFG_MAX_FILE >> 20);
            break;
        }
        if (n < sizeof chunk)
            break;
    }
    fclose(f);
    return rc;
}

int mo_cfg_load_file(mo_cfg_t **out, const char *path, const mo_cfg_opts_t *opts, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_load_file: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_load_file: path is NULL or empty");
    mo_buf_t b = {0};
    int rc = read_file(path, &b, err);
    mo_cfg_t *cfg = NULL;
    if (rc)
        goto out;
    if (!(cfg = mo_calloc(1, sizeof *cfg)) || !(cfg->file = mo_strdup(path))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory while loading", path);
        goto out;
    }
    if (opts)
        cfg->opts = *opts;
    /* Pass the length: a NUL byte in the file is then an error, not the end of the spec. */
    rc = cfg_parse(cfg, cfg->file, 1, b.data ? b.data : "", b.len, 0, &cfg->root, err);
    if (rc)
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    mo_cfg_destroy(cfg);
    mo_buf_free(&b);
    return rc;
}

void mo_cfg_destroy(mo_cfg_t *cfg)
{
    if (!cfg)
        return;
    cfg_node_free(cfg, cfg->root);
    for (size_t i = 0; i < cfg->nretired; i++)
        cfg_node_free(cfg, cfg->retired[i]);
    free(cfg->retired);
    for (size_t i = 0; i < cfg->norigins; i++)
        free(cfg->origins[i]);
    free(cfg->origins);
    free(cfg->file);
    free(cfg);
}

mo_cfg_node_t *mo_cfg_root(const mo_cfg_t *cfg)
{
    return cfg ? cfg->root : NULL;
}

const char *mo_cfg_file(const mo_cfg_t *cfg)
{
    return cfg ? cfg->file : NULL;
}
