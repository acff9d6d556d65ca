/* feature_store_impl.h - what the reading files of the feature store share
 * (io/feature_store_read.c: opening, lookups, inspect; io/feature_store_slice.c: the reads of
 * a point-in-time join). The write side does not use it. */
#ifndef MO_IO_FEATURE_STORE_IMPL_H
#define MO_IO_FEATURE_STORE_IMPL_H

#include "io/feature_store.h"

#include <hdf5.h>

/* Rows per read of the key column: bounds the fixed-width buffer (keys up to 1 KiB). */
#define MO_FS_KEY_BLOCK 65536

/* The datasets of one table: rows (/views/<v>) or online (/online/<v>). */
typedef struct {
    hid_t key, hash, event_ts, created_ts, *feat;
    size_t width; /* key width */
} mo_fs_table_t;

typedef struct {
    char *name, *entity;
    int64_t ttl_us, rows, entities;
    size_t n_features, n_ranges;
    char **features, **aggs, **columns;
    int64_t *windows_us, *ranges_us;
    mo_fs_table_t rows_t, online;
    hid_t idx_hash, idx_key, idx_first, idx_count;
    /* the index in memory, once loaded */
    int loaded;
    uint64_t *ihash;
    int64_t *ifirst, *icount;
    char *ikeys; /* entities * (iwidth + 1), NUL-terminated */
    size_t iwidth;
} mo_fs_vdata_t;

struct mo_fs {
    char *path;
    hid_t file;
    int own_file; /* 0 when describing a file inspect opened */
    size_t n_views;
    mo_fs_vdata_t *views;
    const char **names; /* n_views + 1, NULL-terminated */
};

/* The view called `name` (MO_ENOTFOUND listing the views, MO_EINVAL for NULL arguments). */
int mo_fs_find_view(mo_fs_vdata_t **out, mo_fs_t *fs, const char *name, mo_error_t *err);
/* Read v's index into memory (once; later calls return at once). */
int mo_fs_load_index(mo_fs_vdata_t *v, const char *path, mo_error_t *err);

#endif
