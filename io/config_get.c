/* config_get.c - typed reads with schema-by-use, and the unknown-key check
 *
 * Every getter records its key as known on the map before it looks at the value, so
 * mo_cfg_check_unknown can later name exactly the keys no reader asked for and suggest the
 * closest one that was asked for. Messages have one shape, "<where>: <path> must be <rule>,
 * got <value>", with the rule built from the bounds so that it reads as the reader meant it
 * ("an integer >= 1", "a number in [0, 1)"). A secret scalar is shown as its reference.
 *
 * A quoted scalar is a string: numeric and boolean reads reject it and say so, unless its
 * text came from a ${...} reference (people quote those out of habit, and the value decides).
 * A null value (`lr:` or `lr: null`) reads as absent.
 */
#include "io/config_impl.h"

#include "core/str.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *cfg_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t wl = strlen(word);
    size_t limit = wl <= 4 ? 1 : wl <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t bestd = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = mo_str_distance(word, cands[i], limit + 1);
        /* d < wl: a one-letter key is not a typo of another one-letter key. */
        if (d < bestd && d < wl) {
            best = cands[i];
            bestd = d;
        }
    }
    return best;
}

/* ---- messages ----------------------------------------------------------------------------- */

/* What the user wrote, for "got ...": quoted, one line, short. */
static const char *shown(const mo_cfg_node_t *n, char *buf, size_t size)
{
    if (n->type == MO_CFG_MAP)
        return "a map";
    if (n->type == MO_CFG_LIST)
        return "a list";
    if (n->type == MO_CFG_NULL)
        return "null";
    const char *s = n->secret && n->raw ? n->raw : n->text;
    size_t o = 0, i = 0;
    buf[o++] = '"';
    for (; s[i] && i < 60 && o + 6 < size; i++) {
        if (s[i] == '\n' || s[i] == '"' || s[i] == '\\')
            buf[o++] = '\\';
        buf[o++] = s[i] == '\n' ? 'n' : s[i];
    }
    if (s[i] && o + 4 < size)
        for (int k = 0; k < 3; k++)
            buf[o++] = '.';
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* "optimizer.lr" or, for the root, a phrase that reads in its place. */
static const char *name_of(const mo_cfg_node_t *n, char *buf, size_t size)
{
    mo_cfg_path(n, buf, size);
    return buf[0] ? buf : "the top level";
}

static const char *in_map(const mo_cfg_node_t *map, char *buf, size_t size)
{
    MO_ASSERT(size > 3);
    memcpy(buf, "in ", 3);
    if (!*mo_cfg_path(map, buf + 3, size - 3))
        return "at the top level";
    return buf;
}

/* `parsed`: the text is a valid value of the kind and only the bounds failed, so it can be
 * shown bare ("got 0"). */
static int value_error(mo_error_t *err, const mo_cfg_node_t *n, const char *rule, int parsed,
                       const char *hint)
{
    char path[128], val[80];
    const char *got = parsed && !n->secret ? n->text : shown(n, val, sizeof val);
    return mo_cfg_errorf(err, MO_EINVAL, n, "%s must be %s, got %s%s",
                         name_of(n, path, sizeof path), rule, got, hint ? hint : "");
}

static void rule_fmt(char *buf, size_t size, const char *what, unsigned flags, int has_lo,
                     const char *lo, int has_hi, const char *hi)
{
    int lo_open = (flags & MO_CFG_LO_OPEN) != 0, hi_open = (flags & MO_CFG_HI_OPEN) != 0;
    if (has_lo && has_hi)
        snprintf(buf, size, "%s in %c%s, %s%c", what, lo_open ? '(' : '[', lo, hi,
                 hi_open ? ')' : ']');
    else if (has_lo)
        snprintf(buf, size, "%s %s %s", what, lo_open ? ">" : ">=", lo);
    else if (has_hi)
        snprintf(buf, size, "%s %s %s", what, hi_open ? "<" : "<=", hi);
    else
        snprintf(buf, size, "%s", what);
}

static int out_of_range(double v, unsigned flags, double lo, double hi)
{
    if (flags & MO_CFG_LO_OPEN ? v <= lo : v < lo)
        return 1;
    return flags & MO_CFG_HI_OPEN ? v >= hi : v > hi;
}

/* A scalar that may be read as a number or a boolean. */
static int typed_scalar(const mo_cfg_node_t *n)
{
    return n->type == MO_CFG_SCALAR && (!n->quoted || n->interpolated);
}

/* For a typed read that failed: "got "5"" alone would puzzle. */
static const char *typed_hint(const mo_cfg_node_t *n)
{
    return n->type == MO_CFG_SCALAR && !typed_scalar(n)
               ? " (quoted, so a string: remove the quotes)"
               : NULL;
}

/* A scalar holding `${name}` (no scheme) is a template placeholder: only
 * mo_cfg_as_template reads it; every other reader gives the error the loader would have. */
static int plain_ref_error(const mo_cfg_node_t *n, mo_error_t *err)
{
    const char *s = n->text ? strstr(n->text, "${") : NULL;
    const char *e = s ? strchr(s, '}') : NULL;
    int len = s && e ? (int)(e - s - 2) : 0;
    return mo_cfg_errorf(err, MO_EINVAL, n,
                         "bad reference ${%.*s}: expected ${env:NAME} or ${scheme:name}", len,
                         s ? s + 2 : "");
}

/* ---- lookup ------------------------------------------------------------------------------- */

/* *val: the key's value, or NULL when absent (absent and null read the same). */
static int lookup(mo_cfg_node_t *map, const char *key, unsigned flags, const void *out,
                  mo_cfg_node_t **val, mo_error_t *err)
{
    char b1[128], b2[80];
    *val = NULL;
    if (!key || !*key || !out)
        return mo_errorf(err, MO_EINVAL, "config getter: %s is NULL or empty",
                         !out ? "out" : "key");
    if (!map)
        return flags & MO_CFG_REQUIRED ? mo_errorf(err, MO_EINVAL, "missing required key '%s'", key)
                                       : 0;
    if (map->type != MO_CFG_MAP && map->type != MO_CFG_NULL)
        return mo_cfg_errorf(err, MO_EINVAL, map, "%s must be a map, got %s",
                             name_of(map, b1, sizeof b1), shown(map, b2, sizeof b2));
    mo_cfg_mark_known(map, key);
    const cfg_entry_t *e = cfg_find(map, key);
    if (e && e->val->type != MO_CFG_NULL) {
        *val = e->val;
        return e->val->plain_ref ? plain_ref_error(e->val, err) : 0;
    }
    if (!(flags & MO_CFG_REQUIRED))
        return 0;
    if (e)
        return mo_cfg_errorf(err, MO_EINVAL, e->val, "missing value for required key '%s' %s", key,
                             in_map(map, b1, sizeof b1));
    return mo_cfg_errorf(err, MO_EINVAL, map, "missing required key '%s' %s", key,
                         in_map(map, b1, sizeof b1));
}

/* ---- conversions on a node ---------------------------------------------------------------- */

int mo_cfg_as_int(const mo_cfg_node_t *n, unsigned flags, int64_t lo, int64_t hi, int64_t *out,
                  mo_error_t *err)
{
    if (!n || !out)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_as_int: %s is NULL", !n ? "node" : "out");
    if (n->plain_ref)
        return plain_ref_error(n, err);
    char rule[96], l[24], h[24];
    snprintf(l, sizeof l, "%" PRId64, lo);
    snprintf(h, sizeof h, "%" PRId64, hi);
    rule_fmt(rule, sizeof rule, "an integer", flags, lo != INT64_MIN, l, hi != INT64_MAX, h);
    int64_t v;
    if (!typed_scalar(n) || mo_parse_int64(n->text, &v))
        return value_error(err, n, rule, 0, typed_hint(n));
    /* Integer compares: doubles would round values near INT64_MAX. */
    int below = lo != INT64_MIN && (flags & MO_CFG_LO_OPEN ? v <= lo : v < lo);
    int above = hi != INT64_MAX && (flags & MO_CFG_HI_OPEN ? v >= hi : v > hi);
    if (below || above)
        return value_error(err, n, rule, 1, NULL);
    *out = v;
    return 0;
}

int mo_cfg_as_double(const mo_cfg_node_t *n, unsigned flags, double lo, double hi, double *out,
                     mo_error_t *err)
{
    if (!n || !out)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_as_double: %s is NULL", !n ? "node" : "out");
    if (n->plain_ref)
        return plain_ref_error(n, err);
    char rule[96], l[32], h[32];
    snprintf(l, sizeof l, "%g", lo);
    snprintf(h, sizeof h, "%g", hi);
    rule_fmt(rule, sizeof rule, "a number", flags, isfinite(lo), l, isfinite(hi), h);
    double v;
    if (!typed_scalar(n) || mo_parse_double(n->text, &v))
        return value_error(err, n, rule, 0, typed_hint(n));
    if (out_of_range(v, flags, lo, hi))
        return value_error(err, n, rule, 1, NULL);
    *out = v;
    return 0;
}

int mo_cfg_as_string(const mo_cfg_node_t *n, const char **out, mo_error_t *err)
{
    if (!n || !out)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_as_string: %s is NULL", !n ? "node" : "out");
    if (n->type != MO_CFG_SCALAR)
        return value_error(err, n, "a string", 0, NULL);
    if (n->plain_ref)
        return plain_ref_error(n, err);
    *out = n->text;
    return 0;
}

int mo_cfg_as_template(const mo_cfg_node_t *n, const char **out, mo_error_t *err)
{
    if (!n || !out)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_as_template: %s is NULL", !n ? "node" : "out");
    if (n->type != MO_CFG_SCALAR)
        return value_error(err, n, "a string", 0, NULL);
    *out = n->text;
    return 0;
}

/* ---- getters on a map --------------------------------------------------------------------- */

int mo_cfg_get_int(mo_cfg_node_t *map, const char *key, unsigned flags, int64_t lo, int64_t hi,
                   int64_t *out, mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, out, &n, err);
    return rc || !n ? rc : mo_cfg_as_int(n, flags, lo, hi, out, err);
}

int mo_cfg_get_double(mo_cfg_node_t *map, const char *key, unsigned flags, double lo, double hi,
                      double *out, mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, out, &n, err);
    return rc || !n ? rc : mo_cfg_as_double(n, flags, lo, hi, out, err);
}

int mo_cfg_get_bool(mo_cfg_node_t *map, const char *key, unsigned flags, int *out, mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, out, &n, err);
    if (rc || !n)
        return rc;
    int v;
    if (!typed_scalar(n) || mo_parse_bool(n->text, &v))
        return value_error(err, n, "true or false", 0, typed_hint(n));
    *out = v;
    return 0;
}

int mo_cfg_get_string(mo_cfg_node_t *map, const char *key, unsigned flags, const char **out,
                      mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, out, &n, err);
    return rc || !n ? rc : mo_cfg_as_string(n, out, err);
}

int mo_cfg_get_enum(mo_cfg_node_t *map, const char *key, unsigned flags, const char *const *names,
                    int *out, mo_error_t *err)
{
    mo_cfg_node_t *n;
    if (!names || !names[0])
        return mo_errorf(err, MO_EINVAL, "mo_cfg_get_enum: no names for '%s'", key ? key : "");
    int rc = lookup(map, key, flags, out, &n, err);
    if (rc || !n)
        return rc;
    size_t count = 0;
    char list[160] = "";
    size_t len = 0;
    for (; names[count]; count++) {
        if (n->type == MO_CFG_SCALAR && !strcmp(n->text, names[count])) {
            *out = (int)count;
            return 0;
        }
        if (len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", count ? ", " : "",
                                    names[count]);
    }
    char path[128], val[80];
    const char *hint = n->type == MO_CFG_SCALAR ? cfg_suggest(n->text, names, count) : NULL;
    if (hint)
        return mo_cfg_errorf(err, MO_EINVAL, n, "%s must be one of %s, got %s; did you mean '%s'?",
                             name_of(n, path, sizeof path), list, shown(n, val, sizeof val), hint);
    return mo_cfg_errorf(err, MO_EINVAL, n, "%s must be one of %s, got %s",
                         name_of(n, path, sizeof path), list, shown(n, val, sizeof val));
}

int mo_cfg_get_duration(mo_cfg_node_t *map, const char *key, unsigned flags, double lo, double hi,
                        double *seconds, mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, seconds, &n, err);
    if (rc || !n)
        return rc;
    char rule[96], l[32], h[32];
    snprintf(l, sizeof l, "%gs", lo);
    snprintf(h, sizeof h, "%gs", hi);
    rule_fmt(rule, sizeof rule, "a duration", flags, isfinite(lo), l, isfinite(hi), h);
    double v;
    if (n->type != MO_CFG_SCALAR || mo_parse_duration(n->text, &v))
        return value_error(err, n, rule, 0, " (like 500ms, 90s, 15m, 2h, 7d, 1w)");
    if (out_of_range(v, flags, lo, hi))
        return value_error(err, n, rule, 1, NULL);
    *seconds = v;
    return 0;
}

/* Exact binary multiples print as 64MiB; anything else in plain bytes. */
static void fmt_bytes(char *buf, size_t size, uint64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int k = 0;
    while (k < 4 && v && v % 1024 == 0) {
        v /= 1024;
        k++;
    }
    snprintf(buf, size, "%" PRIu64 "%s", v, units[k]);
}

int mo_cfg_get_bytes(mo_cfg_node_t *map, const char *key, unsigned flags, uint64_t lo, uint64_t hi,
                     uint64_t *out, mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, out, &n, err);
    if (rc || !n)
        return rc;
    char rule[96], l[32], h[32];
    fmt_bytes(l, sizeof l, lo);
    fmt_bytes(h, sizeof h, hi);
    rule_fmt(rule, sizeof rule, "a byte size", flags, lo > 0, l, hi < UINT64_MAX, h);
    uint64_t v;
    if (n->type != MO_CFG_SCALAR || mo_parse_bytes(n->text, &v))
        return value_error(err, n, rule, 0, " (like 512MiB, 1GB, 4Gi)");
    int below = lo > 0 && (flags & MO_CFG_LO_OPEN ? v <= lo : v < lo);
    int above = hi < UINT64_MAX && (flags & MO_CFG_HI_OPEN ? v >= hi : v > hi);
    if (below || above)
        return value_error(err, n, rule, 1, NULL);
    *out = v;
    return 0;
}

static int get_collection(mo_cfg_node_t *map, const char *key, unsigned flags, mo_cfg_type_t want,
                          mo_cfg_node_t **out, mo_error_t *err)
{
    mo_cfg_node_t *n;
    int rc = lookup(map, key, flags, out, &n, err);
    if (rc)
        return rc;
    if (n && n->type != want)
        return value_error(err, n, want == MO_CFG_MAP ? "a map" : "a list", 0, NULL);
    *out = n;
    return 0;
}

int mo_cfg_get_map(mo_cfg_node_t *map, const char *key, unsigned flags, mo_cfg_node_t **out,
                   mo_error_t *err)
{
    return get_collection(map, key, flags, MO_CFG_MAP, out, err);
}

int mo_cfg_get_list(mo_cfg_node_t *map, const char *key, unsigned flags, mo_cfg_node_t **out,
                    mo_error_t *err)
{
    return get_collection(map, key, flags, MO_CFG_LIST, out, err);
}

/* ---- unknown keys ------------------------------------------------------------------------- */

static int is_known(const mo_cfg_node_t *map, const char *key)
{
    for (size_t i = 0; i < map->nknown; i++)
        if (!strcmp(map->known[i], key))
            return 1;
    return 0;
}

static int unknown_key(const mo_cfg_node_t *map, const cfg_entry_t *e, mo_error_t *err)
{
    char where[160], in[160];
    const char *hint = cfg_suggest(e->key, (const char *const *)map->known, map->nknown);
    const char *what = in_map(map, in, sizeof in);
    cfg_where_at(e->origin, e->line, e->col, where, sizeof where);
    if (hint)
        return mo_errorf(err, MO_EINVAL, "%s: unknown key '%s' %s; did you mean '%s'?", where,
                         e->key, what, hint);
    return mo_errorf(err, MO_EINVAL, "%s: unknown key '%s' %s", where, e->key, what);
}

/* Depth-first in document order, so the first report is the first unknown key in the text. */
static int check_node(const mo_cfg_node_t *n, mo_error_t *err)
{
    if (n->allow_any)
        return 0;
    for (size_t i = 0; i < n->len; i++) {
        const cfg_entry_t *e = &n->ents[i];
        int rc;
        if (n->type == MO_CFG_MAP && !is_known(n, e->key)) {
            /* `x-` keys are extension fields (as in Compose files): a home for anchors. */
            if (!strncmp(e->key, "x-", 2))
                continue;
            return unknown_key(n, e, err);
        }
        if ((rc = check_node(e->val, err)))
            return rc;
    }
    return 0;
}

int mo_cfg_check_unknown(const mo_cfg_node_t *root, mo_error_t *err)
{
    if (!root)
        return mo_errorf(err, MO_EINVAL, "mo_cfg_check_unknown: root is NULL");
    return check_node(root, err);
}
