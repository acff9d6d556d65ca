/* config_impl.h - the config tree's representation, shared by config_load.c and config_get.c
 *
 * Maps and lists are one array of entries in document order (a list entry has no key), so
 * paths, dumps and the unknown-key walk follow the text a user wrote. Every node and every
 * map key carries its own origin (the file name, or the `--set ...` text it came from),
 * because `--set` can add keys to a map that came from a file.
 */
#ifndef MO_IO_CONFIG_IMPL_H
#define MO_IO_CONFIG_IMPL_H

#include "io/config.h"

#include <stddef.h>

/* Deeper nesting than this is refused at load time, which bounds every recursion over the tree
 * (copy, free, dump, the unknown-key walk) no matter what the input is. */
#define CFG_MAX_DEPTH 64
/* Aliases copy their target, so `a: &a [..]; b: [*a, *a, ...]` chains grow exponentially
 * ("billion laughs"); a spec never needs this many nodes. */
#define CFG_MAX_NODES 200000

typedef struct {
    char *key;          /* NULL for list items */
    const char *origin; /* where the key was written: file name or "--set ..." */
    int line, col;      /* 1-based; 0 when the origin has no lines (--set) */
    mo_cfg_node_t *val;
} cfg_entry_t;

struct mo_cfg_node {
    mo_cfg_type_t type;
    mo_cfg_node_t *parent;
    const char *origin; /* owned by the document */
    int line, col;      /* 1-based; 0 for nodes made by --set */
    char *text;         /* scalars: text after interpolation; NULL type: as written */
    char *raw;          /* secret scalars: the text as written, for dumps and messages */
    unsigned quoted : 1;
    unsigned secret : 1;
    unsigned interpolated : 1; /* took at least one ${...}: quoting no longer says "string" */
    unsigned allow_any : 1;
    unsigned plain_ref : 1; /* holds a `${name}` without scheme, kept as written (see getters) */
    cfg_entry_t *ents;
    size_t len, cap;
    char **known; /* keys readers asked for on this map, present or not */
    size_t nknown, known_cap;
};

struct mo_cfg {
    char *file;
    mo_cfg_node_t *root;
    mo_cfg_opts_t opts;
    size_t nnodes;
    char **origins; /* "--set ..." strings that nodes point at */
    size_t norigins;
    /* Nodes replaced by --set. Kept until destroy because getters hand out borrowed strings
     * that must stay valid for the document's lifetime. */
    mo_cfg_node_t **retired;
    size_t nretired;
};

/* config_node.c */
mo_cfg_node_t *cfg_node_new(mo_cfg_t *cfg, mo_cfg_type_t type, const char *origin, int line,
                            int col);
void cfg_node_free(mo_cfg_t *cfg, mo_cfg_node_t *n);
/* Append an entry; on failure (MO_ENOMEM) the caller still owns key and val. */
int cfg_push(mo_cfg_node_t *n, char *key, const char *origin, int line, int col,
             mo_cfg_node_t *val);
cfg_entry_t *cfg_find(const mo_cfg_node_t *map, const char *key);
size_t cfg_count(const mo_cfg_node_t *n);
/* Deep copy with the same locations; NULL on ENOMEM. */
mo_cfg_node_t *cfg_copy(mo_cfg_t *cfg, const mo_cfg_node_t *src);
/* Zero a string before freeing it: resolved secrets should not linger in the heap. */
void cfg_wipe_free(char *s);
/* "spec.yml:3:5" or "--set a=1" into buf; returns buf. */
const char *cfg_where_at(const char *origin, int line, int col, char *buf, size_t size);

/* config_load.c: parse `text` into a new subtree. `lines` 0 gives every node the bare origin as
 * location (--set); `any_root` accepts a scalar or list document (else the root must be a map,
 * and an empty document is an empty map). */
int cfg_parse(mo_cfg_t *cfg, const char *origin, int lines, const char *text, size_t len,
              int any_root, mo_cfg_node_t **out, mo_error_t *err);

/* config_interp.c: expand ${...} in a scalar value in place; errors carry its location. */
int cfg_interpolate(const mo_cfg_t *cfg, mo_cfg_node_t *n, mo_error_t *err);

/* config_get.c: the closest of `cands` to `word` when close enough to be a typo, else NULL. */
const char *cfg_suggest(const char *word, const char *const *cands, size_t n);

#endif
