/* config.h - YAML documents as a config tree that remembers where every node came from
 *
 * Specs and cluster.yml are parsed with libyaml into a tree of maps, lists and scalars. Each
 * node keeps file:line:col (1-based), so every message a reader produces points at the text a
 * user wrote: `train.yml:14:12: optimizer.lr must be a number > 0, got "fast"`.
 *
 * At load time:
 *   - duplicate keys are errors; anchors, aliases and `<<` merge keys work;
 *   - tabs in indentation, bad indentation and unclosed quotes give one clear line;
 *   - `${env:NAME}` and `${env:NAME:-default}` inside scalars are replaced; `${secret:NAME}`
 *     (and any other `${scheme:...}`) goes to the resolver in the options, which the runner
 *     backs with the secrets plugins. A node that took a secret is marked: dumps show the
 *     reference, never the value.
 *
 * Reading is schema-by-use: a job kind reads the keys it knows with the typed getters below;
 * every getter call records the key as known on that map. mo_cfg_check_unknown() then reports
 * the first key nobody asked for, with a suggestion among the known ones
 * (`did you mean 'momentum'?`). Free-form maps (labels, plugin settings) are opened with
 * mo_cfg_allow_any().
 *
 * Getters take the default in *out and overwrite it only when the key is present, so
 * `int64_t epochs = 5; mo_cfg_get_int(m, "epochs", 0, 1, 100000, &epochs, err);` reads as it
 * means. Strings returned are borrowed: valid until the document is destroyed.
 */
#ifndef MO_IO_CONFIG_H
#define MO_IO_CONFIG_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mo_cfg mo_cfg_t;           /* a loaded document; owns all its nodes */
typedef struct mo_cfg_node mo_cfg_node_t; /* a node inside a document */

typedef enum { MO_CFG_NULL = 0, MO_CFG_SCALAR, MO_CFG_MAP, MO_CFG_LIST } mo_cfg_type_t;

/* Resolves `${scheme:name}`. On success stores a malloc'd value in *out and returns 0;
 * otherwise returns a negative code with a message (without file:line:col, which the loader
 * adds). The value must not be logged by the resolver. */
typedef int (*mo_cfg_resolve_fn)(char **out, const char *scheme, const char *name, void *ud,
                                 mo_error_t *err);

typedef struct {
    mo_cfg_resolve_fn resolve; /* NULL: any `${scheme:...}` other than env is an error */
    void *resolve_ud;
    int no_env;    /* 1: leave `${env:...}` untouched (dump the spec as written) */
    int keep_refs; /* 1: leave `${scheme:...}` other than env as written, unresolved (a first
                      pass that only needs the parts of a file that hold no secrets) */
} mo_cfg_opts_t;

/* Flags for the getters. */
enum {
    MO_CFG_REQUIRED = 1 << 0, /* absent key is an error: "missing required key 'lr' in optimizer" */
    MO_CFG_LO_OPEN = 1 << 1,  /* numeric lower bound is exclusive (> lo instead of >= lo) */
    MO_CFG_HI_OPEN = 1 << 2,  /* numeric upper bound is exclusive */
};

/* Load a document. `opts` may be NULL. A missing or unreadable file is MO_ENOTFOUND / MO_EIO
 * with the path; a syntax error is MO_EINVAL with file:line:col. An empty file is an empty map. */
int mo_cfg_load_file(mo_cfg_t **out, const char *path, const mo_cfg_opts_t *opts, mo_error_t *err);
/* Same from memory; `name` stands in for the file name in messages. */
int mo_cfg_load_string(mo_cfg_t **out, const char *name, const char *text,
                       const mo_cfg_opts_t *opts, mo_error_t *err);
void mo_cfg_destroy(mo_cfg_t *cfg);

mo_cfg_node_t *mo_cfg_root(const mo_cfg_t *cfg);
const char *mo_cfg_file(const mo_cfg_t *cfg);

/* Apply `--set a.b.c=value`. The value is parsed as YAML (so `[64, 64]` is a list); missing
 * intermediate maps are created; the node's location reads `--set a.b.c=value` in messages.
 * Whether the path is a known key is decided later by the readers and mo_cfg_check_unknown,
 * exactly as for keys in the file. Errors: no '=', empty path, a path through a scalar. */
int mo_cfg_set(mo_cfg_t *cfg, const char *assignment, mo_error_t *err);

/* ---- nodes -------------------------------------------------------------------------------- */
mo_cfg_type_t mo_cfg_type(const mo_cfg_node_t *n);
/* The scalar's text (after interpolation), NULL for other types. */
const char *mo_cfg_scalar(const mo_cfg_node_t *n);
/* 1 when the scalar was quoted in the source ("1" is then a string, not a number). */
int mo_cfg_is_quoted(const mo_cfg_node_t *n);
/* 1 when the scalar's value came from a `${secret:...}` reference. */
int mo_cfg_is_secret(const mo_cfg_node_t *n);
/* Number of entries of a map or items of a list; 0 otherwise. */
size_t mo_cfg_len(const mo_cfg_node_t *n);
/* Item i of a list, or value i of a map (document order); NULL when out of range. */
mo_cfg_node_t *mo_cfg_at(const mo_cfg_node_t *n, size_t i);
/* Key i of a map; NULL for other types or out of range. */
const char *mo_cfg_key_at(const mo_cfg_node_t *n, size_t i);
/* Child of a map by key; NULL when absent or when `n` is not a map. Does not mark the key
 * known; use the getters for that, or mo_cfg_mark_known. */
mo_cfg_node_t *mo_cfg_child(const mo_cfg_node_t *n, const char *key);
/* Node at a dotted path from `n` ("training.early_stopping.metric"); NULL when absent. */
mo_cfg_node_t *mo_cfg_lookup(const mo_cfg_node_t *n, const char *path);
/* Record `key` as known on map `n` (for keys read through mo_cfg_child). */
void mo_cfg_mark_known(mo_cfg_node_t *n, const char *key);
/* Every key of map `n` (and below) counts as known. */
void mo_cfg_allow_any(mo_cfg_node_t *n);

/* Location of a node: "spec.yml:12:5", or "--set a.b=1" for overrides. Returns buf. */
const char *mo_cfg_where(const mo_cfg_node_t *n, char *buf, size_t size);
int mo_cfg_line(const mo_cfg_node_t *n);
int mo_cfg_col(const mo_cfg_node_t *n);
/* Dotted path from the root: "optimizer.lr", "model.hidden[1]"; "" for the root. */
const char *mo_cfg_path(const mo_cfg_node_t *n, char *buf, size_t size);

/* Format an error about node `n`: "<where>: <message>". Returns code. */
int mo_cfg_errorf(mo_error_t *err, int code, const mo_cfg_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- typed getters on a map: 0, or MO_EINVAL with file:line:col ----------------------------
 * `map` may be NULL (an absent optional section): then every key is absent. Calling a getter
 * on a node that is not a map is an error naming that node. Numeric bounds are inclusive
 * unless MO_CFG_LO_OPEN / MO_CFG_HI_OPEN; pass INT64_MIN/INT64_MAX or -INFINITY/INFINITY for
 * none. Messages name the dotted path and the rule: "optimizer.lr must be a number > 0". */
int mo_cfg_get_int(mo_cfg_node_t *map, const char *key, unsigned flags, int64_t lo, int64_t hi,
                   int64_t *out, mo_error_t *err);
int mo_cfg_get_double(mo_cfg_node_t *map, const char *key, unsigned flags, double lo, double hi,
                      double *out, mo_error_t *err);
int mo_cfg_get_bool(mo_cfg_node_t *map, const char *key, unsigned flags, int *out, mo_error_t *err);
int mo_cfg_get_string(mo_cfg_node_t *map, const char *key, unsigned flags, const char **out,
                      mo_error_t *err);
/* `names` is NULL-terminated; *out is the index. Errors list the choices and suggest one. */
int mo_cfg_get_enum(mo_cfg_node_t *map, const char *key, unsigned flags, const char *const *names,
                    int *out, mo_error_t *err);
/* "90s", "2h", "7d", ... (core/str.h mo_parse_duration); bounds in seconds. */
int mo_cfg_get_duration(mo_cfg_node_t *map, const char *key, unsigned flags, double lo, double hi,
                        double *seconds, mo_error_t *err);
/* "64MiB", "1GB", ... (mo_parse_bytes). */
int mo_cfg_get_bytes(mo_cfg_node_t *map, const char *key, unsigned flags, uint64_t lo, uint64_t hi,
                     uint64_t *out, mo_error_t *err);
/* A nested map / list: *out = node or NULL when absent and optional. Wrong type is an error. */
int mo_cfg_get_map(mo_cfg_node_t *map, const char *key, unsigned flags, mo_cfg_node_t **out,
                   mo_error_t *err);
int mo_cfg_get_list(mo_cfg_node_t *map, const char *key, unsigned flags, mo_cfg_node_t **out,
                    mo_error_t *err);

/* The same conversions on a node itself (list items): `n` must not be NULL. */
int mo_cfg_as_int(const mo_cfg_node_t *n, unsigned flags, int64_t lo, int64_t hi, int64_t *out,
                  mo_error_t *err);
int mo_cfg_as_double(const mo_cfg_node_t *n, unsigned flags, double lo, double hi, double *out,
                     mo_error_t *err);
int mo_cfg_as_string(const mo_cfg_node_t *n, const char **out, mo_error_t *err);
/* A string that may hold `${name}` placeholders (no scheme), kept as written for the reader to
 * fill (a sweep's trial.command). Every other reader refuses such a value with "bad reference
 * ${name}: expected ${env:NAME} or ${scheme:name}" at its file:line:col, as the loader does
 * for references it cannot read at all. */
int mo_cfg_as_template(const mo_cfg_node_t *n, const char **out, mo_error_t *err);

/* First key, in document order, that no reader asked for, on the root map and on every map
 * reached from it through known keys (and list items under known keys):
 * "spec.yml:9:3: unknown key 'momentom' in optimizer; did you mean 'momentum'?". The
 * suggestion is the closest known key of that map, offered when it is close enough. Subtrees
 * opened with mo_cfg_allow_any are not checked. */
int mo_cfg_check_unknown(const mo_cfg_node_t *root, mo_error_t *err);

/* Text of the subtree as block YAML (document order), secrets shown as their `${secret:...}`
 * reference. Caller frees. NULL on ENOMEM. */
char *mo_cfg_dump_yaml(const mo_cfg_node_t *n);

#endif
