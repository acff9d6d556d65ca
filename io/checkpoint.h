/* checkpoint.h - training state files: named arrays and scalars in HDF5, written atomically
 *
 * A checkpoint is a flat set of named entries (float32 / float64 / int64 / int32 arrays,
 * int64 and float64 scalars, strings). The trainer decides the names; io/ only guarantees that
 * what was put is what is got back, bit for bit, and that a file is complete or absent.
 *
 * Files live in a folder as `ckpt-<step, 12 digits>.h5` (kind = "checkpoint",
 * format_version = 1, a SHA-256 of the file in its user block: io/h5.h). mo_ckpt_save writes
 * one atomically (temp + fsync + rename), then
 * removes the oldest beyond `keep`. mo_ckpt_latest finds the newest complete one (temp files
 * of an interrupted write are ignored).
 */
#ifndef MO_IO_CHECKPOINT_H
#define MO_IO_CHECKPOINT_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define MO_CKPT_FORMAT_VERSION 1

typedef struct mo_ckpt mo_ckpt_t;

/* An empty in-memory checkpoint to put entries into, or one read from a file. */
int mo_ckpt_create(mo_ckpt_t **out, mo_error_t *err);
void mo_ckpt_destroy(mo_ckpt_t *c);

/* Put: the data is copied; a name put twice is replaced (also by another type). Names:
 * [A-Za-z0-9_.-], 1-100 chars, not "." or ".."; '/' is refused (entries are flat, one root
 * dataset each: "layer0.W", not "layer0/W"). n == 0 is an empty array (v may then be NULL). */
int mo_ckpt_put_f32(mo_ckpt_t *c, const char *name, const float *v, int64_t n, mo_error_t *err);
int mo_ckpt_put_f64(mo_ckpt_t *c, const char *name, const double *v, int64_t n, mo_error_t *err);
int mo_ckpt_put_i64(mo_ckpt_t *c, const char *name, const int64_t *v, int64_t n, mo_error_t *err);
int mo_ckpt_put_i32(mo_ckpt_t *c, const char *name, const int32_t *v, int64_t n, mo_error_t *err);
int mo_ckpt_put_int(mo_ckpt_t *c, const char *name, int64_t v, mo_error_t *err);
int mo_ckpt_put_double(mo_ckpt_t *c, const char *name, double v, mo_error_t *err);
int mo_ckpt_put_str(mo_ckpt_t *c, const char *name, const char *v, mo_error_t *err);
/* A list of strings (e.g. metric names). */
int mo_ckpt_put_strv(mo_ckpt_t *c, const char *name, const char *const *v, int64_t n,
                     mo_error_t *err);

/* Get: pointers are borrowed (valid until destroy). A missing name, or one of another type, is
 * MO_EFORMAT naming the file (or "checkpoint" for one never written) and the entry:
 * "ck/ckpt-000000000100.h5: checkpoint has no float32 entry 'params' (it is float64[10])".
 * An empty array gives *n == 0 and a non-NULL *v. n may be NULL. */
int mo_ckpt_get_f32(const mo_ckpt_t *c, const char *name, const float **v, int64_t *n,
                    mo_error_t *err);
int mo_ckpt_get_f64(const mo_ckpt_t *c, const char *name, const double **v, int64_t *n,
                    mo_error_t *err);
int mo_ckpt_get_i64(const mo_ckpt_t *c, const char *name, const int64_t **v, int64_t *n,
                    mo_error_t *err);
int mo_ckpt_get_i32(const mo_ckpt_t *c, const char *name, const int32_t **v, int64_t *n,
                    mo_error_t *err);
int mo_ckpt_get_int(const mo_ckpt_t *c, const char *name, int64_t *v, mo_error_t *err);
int mo_ckpt_get_double(const mo_ckpt_t *c, const char *name, double *v, mo_error_t *err);
int mo_ckpt_get_str(const mo_ckpt_t *c, const char *name, const char **v, mo_error_t *err);
int mo_ckpt_get_strv(const mo_ckpt_t *c, const char *name, const char *const **v, int64_t *n,
                     mo_error_t *err);

/* Write `c` as `<dir>/ckpt-<step>.h5` atomically, then delete the oldest checkpoints so that
 * at most `keep` (>= 1) remain. `dir` must exist. *written (may be NULL) gets the path
 * (caller frees). */
int mo_ckpt_save(const mo_ckpt_t *c, const char *dir, int64_t step, int keep, char **written,
                 mo_error_t *err);
/* Path of the newest checkpoint in `dir` (caller frees); MO_ENOTFOUND when there is none. */
int mo_ckpt_latest(char **path, const char *dir, mo_error_t *err);
/* Read a checkpoint file; MO_EFORMAT when it is damaged (its checksum does not match, or it
 * has none) or not a checkpoint (kind, format_version). */
int mo_ckpt_load(mo_ckpt_t **out, const char *path, mo_error_t *err);
/* Load the newest good checkpoint of `dir`: a damaged one is skipped with a warning naming
 * it and the one before is tried. *path gets its file (caller frees). MO_ENOTFOUND when there
 * is none, MO_EFORMAT when every one is damaged. */
int mo_ckpt_load_latest(mo_ckpt_t **out, char **path, const char *dir, mo_error_t *err);

#endif
