/* synth.c - Gaussian-cluster classification and linear regression data (io/synth.h)
 *
 * Two kinds of randomness, both from (seed, MO_RNG_STREAM_SYNTH):
 *   - the model (class centroids, regression coefficients) from sub-stream 1 (stream number
 *     MO_RNG_STREAM_SYNTH | 1 << 32), drawn once per generation;
 *   - row i from sub-stream 0 at word i * W, where W (words per row) depends only on the
 *     feature count. Each row has a fixed budget: 8 words of header (class, flip decision,
 *     flipped class) and 4 words per pair of normals, so no draw ever shifts another row.
 * Normals come in pairs from Box-Muller (both the cosine and the sine), which halves the
 * cost of the transcendental functions; 200,000 x 128 takes about a second on one core.
 */
#include "io/synth.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "core/str.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES ((int64_t)4 << 20)
#define HEADER_WORDS 8
#define PARAM_STREAM ((uint64_t)MO_RNG_STREAM_SYNTH | ((uint64_t)1 << 32))

typedef struct {
    mo_synth_opts_t o;
    int64_t n_inf;
    uint64_t words_per_row;
    float *centre; /* classes x n_inf (classification) */
    float *coef;   /* n_inf (regression) */
} model_t;

static int is_cls(const mo_synth_opts_t *o)
{
    return o->task == MO_DS_CLASSIFICATION;
}

int64_t mo_synth_informative(const mo_synth_opts_t *o)
{
    if (!o || o->features < 1)
        return 0;
    if (o->informative > 0)
        return o->informative <= o->features ? o->informative : 0;
    int64_t n = (o->features + 1) / 2, bits = 0;
    while (is_cls(o) && o->classes > 1 && ((int64_t)1 << bits) < o->classes)
        bits++;
    n = n > bits ? n : bits;
    return n < o->features ? n : o->features;
}

static uint64_t words_per_row(int64_t features)
{
    /* features normals plus one for regression noise, in pairs of four words */
    return HEADER_WORDS + 4 * (((uint64_t)features + 2) / 2);
}

int mo_synth_check(const mo_synth_opts_t *o, mo_error_t *err)
{
    if (!o)
        return mo_errorf(err, MO_EINVAL, "synth: no options");
    if (o->task != MO_DS_CLASSIFICATION && o->task != MO_DS_REGRESSION)
        return mo_errorf(err, MO_EINVAL, "--task must be classification or regression");
    if (o->rows < 1)
        return mo_errorf(err, MO_EINVAL, "--rows must be >= 1, got %lld", (long long)o->rows);
    if (o->features < 1)
        return mo_errorf(err, MO_EINVAL, "--features must be >= 1, got %lld",
                         (long long)o->features);
    if (o->features > INT64_MAX / 4 / o->rows ||
        (uint64_t)o->rows > UINT64_MAX / words_per_row(o->features))
        return mo_errorf(err, MO_EINVAL, "--rows x --features is too large (%lld x %lld)",
                         (long long)o->rows, (long long)o->features);
    if (is_cls(o) && (o->classes < 2 || o->classes > MO_SYNTH_MAX_CLASSES))
        return mo_errorf(err, MO_EINVAL, "--classes must be in 2..%d for classification, got %d",
                         MO_SYNTH_MAX_CLASSES, (int)o->classes);
    if (!isfinite(o->noise) || o->noise < 0)
        return mo_errorf(err, MO_EINVAL, "--noise must be >= 0, got %g", o->noise);
    if (is_cls(o) && o->noise > 1)
        return mo_errorf(err, MO_EINVAL,
                         "--noise is the fraction of flipped labels for classification and "
                         "must be in [0, 1], got %g",
                         o->noise);
    if (o->informative < 0 || o->informative > o->features)
        return mo_errorf(err, MO_EINVAL, "--informative must be in 1..%lld, got %lld",
                         (long long)o->features, (long long)o->informative);
    if (!isfinite(o->class_sep) || o->class_sep < 0)
        return mo_errorf(err, MO_EINVAL, "--class-sep must be > 0, got %g", o->class_sep);
    return 0;
}

static void model_free(model_t *m)
{
    free(m->centre);
    free(m->coef);
}

/* Class centroids: K distinct points of a grid with `levels` values per informative feature,
 * 2 * class_sep apart (levels is 2, the hypercube, unless 2^n_inf < K). */
static int place_centres(model_t *m, mo_rng_t *r)
{
    int64_t k = m->o.classes, d = m->n_inf, levels = 2;
    double sep = m->o.class_sep > 0 ? m->o.class_sep : 1.0;
    for (;; levels++) { /* smallest levels with levels^d >= k */
        int64_t cap = 1;
        for (int64_t j = 0; j < d && cap < k; j++)
            cap *= levels;
        if (cap >= k)
            break;
    }
    uint64_t *hash = mo_calloc((size_t)k, sizeof *hash);
    if (!hash)
        return MO_ENOMEM;
    for (int64_t c = 0; c < k; c++) {
        float *p = m->centre + c * d;
        for (int dup = 1; dup;) {
            uint64_t h = 1469598103934665603ull; /* FNV-1a over the grid digits */
            for (int64_t j = 0; j < d; j++) {
                uint64_t digit = mo_rng_below(r, (uint64_t)levels);
                p[j] = (float)(sep * (2.0 * (double)digit - (double)(levels - 1)));
                h = (h ^ digit) * 1099511628211ull;
            }
            dup = 0;
            for (int64_t e = 0; e < c && !dup; e++)
                dup = hash[e] == h && !memcmp(m->centre + e * d, p, (size_t)d * sizeof *p);
            hash[c] = h;
        }
    }
    free(hash);
    return 0;
}

static int model_init(model_t *m, const mo_synth_opts_t *o, mo_error_t *err)
{
    int rc;
    mo_rng_t r;
    memset(m, 0, sizeof *m);
    if ((rc = mo_synth_check(o, err)))
        return rc;
    m->o = *o;
    m->n_inf = mo_synth_informative(o);
    m->words_per_row = words_per_row(o->features);
    mo_rng_init(&r, o->seed, PARAM_STREAM, 0);
    if (is_cls(o)) {
        m->centre = mo_mallocarray((size_t)o->classes * (size_t)m->n_inf, sizeof *m->centre);
        rc = m->centre ? place_centres(m, &r) : MO_ENOMEM;
    } else {
        m->coef = mo_mallocarray((size_t)m->n_inf, sizeof *m->coef);
        for (int64_t j = 0; m->coef && j < m->n_inf; j++)
            m->coef[j] = (float)(100.0 * mo_rng_uniform(&r));
        rc = m->coef ? 0 : MO_ENOMEM;
    }
    if (rc) {
        model_free(m);
        return mo_errorf(err, rc, "synth: out of memory for the model");
    }
    return 0;
}

/* n standard normals in pairs (Box-Muller, both outputs). */
static void normals(mo_rng_t *r, double *z, int64_t n)
{
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = mo_rng_uniform(r), u2 = mo_rng_uniform(r);
        double rad = sqrt(-2.0 * log(1.0 - u1)), t = 6.283185307179586 * u2;
        z[i] = rad * cos(t);
        if (i + 1 < n)
            z[i + 1] = rad * sin(t);
    }
}

static void gen_rows(const model_t *m, int64_t row0, int64_t nrows, double *z, float *X,
                     int32_t *yc, float *yv)
{
    int64_t d = m->o.features;
    mo_rng_t r;
    mo_rng_init(&r, m->o.seed, MO_RNG_STREAM_SYNTH, 0);
    for (int64_t i = 0; i < nrows; i++) {
        mo_rng_seek(&r, (uint64_t)(row0 + i) * m->words_per_row);
        double u_class = mo_rng_uniform(&r), u_flip = mo_rng_uniform(&r);
        double u_other = mo_rng_uniform(&r);
        mo_rng_seek(&r, (uint64_t)(row0 + i) * m->words_per_row + HEADER_WORDS);
        normals(&r, z, d + 1);
        float *x = X ? X + i * d : NULL;
        if (is_cls(&m->o)) {
            int32_t k = m->o.classes, c = (int32_t)(u_class * k);
            const float *ctr = m->centre + (int64_t)c * m->n_inf;
            for (int64_t j = 0; x && j < d; j++)
                x[j] = (float)z[j] + (j < m->n_inf ? ctr[j] : 0.0f);
            if (u_flip < m->o.noise)
                c = (int32_t)(u_other * k);
            if (yc)
                yc[i] = c;
        } else {
            double y = m->o.noise * z[d];
            for (int64_t j = 0; j < d; j++) {
                float v = (float)z[j];
                if (x)
                    x[j] = v;
                if (j < m->n_inf)
                    y += (double)m->coef[j] * v;
            }
            if (yv)
                yv[i] = (float)y;
        }
    }
}

int mo_synth_rows(const mo_synth_opts_t *opts, int64_t row0, int64_t nrows, float *X,
                  int32_t *y_class, float *y_value, mo_error_t *err)
{
    model_t m;
    int rc = model_init(&m, opts, err);
    if (rc)
        return rc;
    double *z = NULL;
    if (row0 < 0 || nrows < 0 || row0 > opts->rows || nrows > opts->rows - row0) {
        rc = mo_errorf(err, MO_EINVAL, "synth: rows %lld..%lld are outside 0..%lld",
                       (long long)row0, (long long)(row0 + nrows), (long long)opts->rows);
        goto out;
    }
    if (!(z = mo_mallocarray((size_t)opts->features + 2, sizeof *z))) {
        rc = mo_errorf(err, MO_ENOMEM, "synth: out of memory");
        goto out;
    }
    gen_rows(&m, row0, nrows, z, X, y_class, y_value);
out:
    free(z);
    model_free(&m);
    return rc;
}

/* "prefix0" .. "prefix{n-1}" */
static char **numbered(const char *prefix, int64_t n)
{
    char **v = mo_calloc((size_t)n, sizeof *v);
    for (int64_t i = 0; v && i < n; i++) {
        mo_buf_t b = {0};
        mo_buf_printf(&b, "%s%lld", prefix, (long long)i);
        if (!(v[i] = mo_buf_steal(&b))) {
            mo_h5_strv_free(v, (size_t)n);
            return NULL;
        }
    }
    return v;
}

int mo_synth_write(const char *path, const mo_synth_opts_t *opts, mo_error_t *err)
{
    model_t m;
    int rc;
    mo_ds_writer_t *w = NULL;
    float *X = NULL, *yv = NULL;
    int32_t *yc = NULL;
    double *z = NULL;
    mo_ds_info_t info = {0};
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "synth: no output file (-o)");
    if ((rc = model_init(&m, opts, err)))
        return rc;
    int64_t d = opts->features, cls = is_cls(opts);
    int64_t block = BLOCK_BYTES / (d * 4) > 0 ? BLOCK_BYTES / (d * 4) : 1;
    block = block < opts->rows ? block : opts->rows;
    info.n_rows = opts->rows;
    info.n_features = d;
    info.task = opts->task;
    info.n_classes = cls ? opts->classes : 0;
    info.format_version = MO_DS_FORMAT_VERSION;
    info.feature_names = numbered("f", d);
    info.class_names = cls ? numbered("", opts->classes) : NULL;
    X = mo_mallocarray((size_t)block, (size_t)d * sizeof *X);
    z = mo_mallocarray((size_t)d + 2, sizeof *z);
    yc = cls ? mo_mallocarray((size_t)block, sizeof *yc) : NULL;
    yv = cls ? NULL : mo_mallocarray((size_t)block, sizeof *yv);
    if (!info.feature_names || (cls && !info.class_names) || !X || !z || (cls ? !yc : !yv)) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((rc = mo_ds_writer_open(&w, path, &info, err)))
        goto out;
    for (int64_t r = 0; r < opts->rows; r += block) {
        int64_t n = opts->rows - r < block ? opts->rows - r : block;
        gen_rows(&m, r, n, z, X, yc, yv);
        if ((rc = mo_ds_writer_append(w, n, X, yc, yv, err)))
            goto out;
    }
    rc = mo_ds_writer_commit(w, err);
    w = NULL;
out:
    mo_ds_writer_abort(w);
    mo_ds_info_free(&info);
    free(X);
    free(z);
    free(yc);
    free(yv);
    model_free(&m);
    return rc;
}
