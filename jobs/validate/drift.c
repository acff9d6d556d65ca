/* drift.c - `check: drift`: each feature's distribution against a reference file
 *
 * Two numbers per feature, both from the sorted finite values (NaN and infinities are left
 * out: the nulls and range checks see them):
 *   - PSI over 10 bins cut at the reference's deciles, computed as numpy.quantile's default
 *     (linear) method does, so a reader can reproduce them; each bin's share is floored at
 *     1e-4 so that an empty bin adds a large but finite term. Tied deciles give empty bins on
 *     both sides, which add nothing.
 *   - the two-sample Kolmogorov-Smirnov statistic: the largest distance between the two
 *     empirical CDFs (scipy.stats.ks_2samp's statistic).
 * Both need every value of a feature at once. For now every rank gathers each compared
 * column whole (one column at a time, data and reference) and computes the same numbers;
 * a distributed sort would spread that memory once tables outgrow one rank.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "io/dataset.h"
#include "jobs/validate/validate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PSI_FLOOR 1e-4

void mo_validate_deciles(double edges[9], const double *ref, size_t m)
{
    for (int k = 1; k <= 9; k++) {
        double h = (double)(m - 1) * (k / 10.0);
        size_t lo = (size_t)floor(h), hi = lo + 1 < m ? lo + 1 : m - 1;
        double t = h - floor(h), a = ref[lo], b = ref[hi], diff = b - a;
        /* numpy's _lerp: from the nearer end, so the result never leaves [a, b] */
        edges[k - 1] = t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }
}

/* Values of sorted v[0..n) that are <= x. */
static size_t upper_bound(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

double mo_validate_psi(const double *ref, size_t m, const double *cur, size_t n)
{
    double e[9], psi = 0;
    if (!ref || !cur || m == 0 || n == 0)
        return NAN;
    mo_validate_deciles(e, ref, m);
    size_t prev_r = 0, prev_c = 0;
    for (int k = 0; k < 10; k++) {
        size_t at_r = k < 9 ? upper_bound(ref, m, e[k]) : m;
        size_t at_c = k < 9 ? upper_bound(cur, n, e[k]) : n;
        double pr = (double)(at_r - prev_r) / (double)m, pc = (double)(at_c - prev_c) / (double)n;
        pr = pr < PSI_FLOOR ? PSI_FLOOR : pr;
        pc = pc < PSI_FLOOR ? PSI_FLOOR : pc;
        psi += (pc - pr) * log(pc / pr);
        prev_r = at_r;
        prev_c = at_c;
    }
    return psi;
}

double mo_validate_ks(const double *a, size_t n, const double *b, size_t m)
{
    double d = 0;
    size_t i = 0, j = 0;
    if (!a || !b || n == 0 || m == 0)
        return NAN;
    /* Step through the distinct values of both; once one side is used up the distance only
     * shrinks, so the loop may stop there. */
    while (i < n && j < m) {
        double x = a[i] < b[j] ? a[i] : b[j];
        while (i < n && a[i] <= x)
            i++;
        while (j < m && b[j] <= x)
            j++;
        double diff = fabs((double)i / (double)n - (double)j / (double)m);
        d = diff > d ? diff : d;
    }
    return d;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every rank's finite values of vec, gathered and sorted, on every rank. */
static int gather_sorted(double **out, size_t *n, mo_comm_t *comm, const mo_table_vec_t *v,
                         int64_t rows, mo_error_t *err)
{
    double *mine = mo_mallocarray((size_t)rows + 1, sizeof *mine);
    size_t k = 0;
    *out = NULL;
    *n = 0;
    int rc = mo_comm_agree(comm, mine ? 0 : mo_errorf(err, MO_ENOMEM, "drift: out of memory"), err);
    for (int64_t i = 0; !rc && i < rows; i++) {
        double x = v->num ? v->num[i] : (double)v->time[i];
        if (isfinite(x))
            mine[k++] = x;
    }
    if (!rc)
        rc = mo_comm_allgatherv(comm, mine, k, MO_DT_DOUBLE, (void **)out, n, err);
    free(mine);
    if (!rc)
        qsort(*out, *n, sizeof **out, by_value);
    return rc;
}

/* NaN (nothing to compare) ranks as the worst value. */
static double rank_key(double x)
{
    return isnan(x) ? INFINITY : x;
}

static void summarise(mo_vresult_t *r, const mo_vcheck_t *c, const char *text_col, int64_t ref_rows)
{
    size_t worst_psi = 0, worst_ks = 0, failed = 0;
    json_t *features = json_object();
    for (size_t k = 0; k < r->n_drift; k++) {
        const mo_vdrift_t *d = &r->drift[k];
        worst_psi = rank_key(d->psi) > rank_key(r->drift[worst_psi].psi) ? k : worst_psi;
        worst_ks = rank_key(d->ks) > rank_key(r->drift[worst_ks].ks) ? k : worst_ks;
        failed += !d->pass;
        json_object_set_new(features, d->feature,
                            json_pack("{s:o,s:o,s:b,s:I,s:I}", "psi",
                                      isfinite(d->psi) ? json_real(d->psi) : json_null(), "ks",
                                      isfinite(d->ks) ? json_real(d->ks) : json_null(), "pass",
                                      d->pass, "rows", (json_int_t)d->rows, "reference_rows",
                                      (json_int_t)d->ref_rows));
    }
    const mo_vdrift_t *p = &r->drift[worst_psi], *q = &r->drift[worst_ks];
    r->pass = failed == 0;
    r->value = c->has_psi ? p->psi : q->ks;
    r->threshold = c->has_psi ? c->max_psi : c->max_ks;
    if (text_col)
        snprintf(r->value_text, sizeof r->value_text, "not numbers: %s", text_col);
    else
        snprintf(r->value_text, sizeof r->value_text,
                 "max PSI %.4g (%s), max KS %.4g (%s); %zu of %zu feature%s drifted", p->psi,
                 p->feature, q->ks, q->feature, failed, r->n_drift, r->n_drift == 1 ? "" : "s");
    if (c->has_psi && c->has_ks)
        snprintf(r->threshold_text, sizeof r->threshold_text, "PSI <= %g and KS <= %g per feature",
                 c->max_psi, c->max_ks);
    else
        snprintf(r->threshold_text, sizeof r->threshold_text, "%s <= %g per feature",
                 c->has_psi ? "PSI" : "KS", c->has_psi ? c->max_psi : c->max_ks);
    r->detail = json_pack("{s:s,s:I,s:o}", "reference", c->reference, "reference_rows",
                          (json_int_t)ref_rows, "features", features);
}

int mo_validate_drift(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err)
{
    mo_table_block_t rb = {0};
    int64_t ref_rows = mo_table_rows(c->ref), first, count;
    size_t *cols = mo_mallocarray(c->n_cols, sizeof *cols);
    const char *text_col = NULL;
    mo_ds_shard_range(ref_rows, mo_comm_rank(e->comm), mo_comm_size(e->comm), &first, &count);
    int rc = cols ? 0 : mo_errorf(err, MO_ENOMEM, "drift: out of memory");
    for (size_t k = 0; !rc && k < c->n_cols; k++)
        cols[k] = (size_t)c->cols[k].ref_col;
    if (!rc)
        rc = mo_table_read(&rb, c->ref, cols, c->n_cols, first, count, err);
    if (!rc && !(r->drift = mo_calloc(c->n_cols, sizeof *r->drift)))
        rc = mo_errorf(err, MO_ENOMEM, "drift: out of memory");
    rc = mo_comm_agree(e->comm, rc, err);
    for (size_t k = 0; !rc && k < c->n_cols; k++) {
        const mo_table_vec_t *v = &e->block->vecs[c->cols[k].vec], *w = &rb.vecs[k];
        mo_vdrift_t *d = &r->drift[r->n_drift++];
        *d = (mo_vdrift_t){.feature = c->cols[k].name, .psi = NAN, .ks = NAN};
        /* A CSV column found to hold text (the same verdict on every rank). */
        if (v->type == MO_TABLE_TEXT || w->type == MO_TABLE_TEXT) {
            const mo_table_t *t = v->type == MO_TABLE_TEXT ? e->job->table : c->ref;
            int col = v->type == MO_TABLE_TEXT ? c->cols[k].col : c->cols[k].ref_col;
            text_col = text_col ? text_col : mo_table_col(t, (size_t)col)->first_text;
            continue;
        }
        double *cur = NULL, *ref = NULL;
        size_t n = 0, m = 0;
        rc = gather_sorted(&cur, &n, e->comm, v, e->block->n, err);
        if (!rc)
            rc = gather_sorted(&ref, &m, e->comm, w, rb.n, err);
        if (!rc) {
            d->psi = mo_validate_psi(ref, m, cur, n);
            d->ks = mo_validate_ks(cur, n, ref, m);
            d->rows = (int64_t)n;
            d->ref_rows = (int64_t)m;
            d->pass = n && m && (!c->has_psi || d->psi <= c->max_psi) &&
                      (!c->has_ks || d->ks <= c->max_ks);
        }
        free(cur);
        free(ref);
    }
    if (!rc)
        summarise(r, c, text_col, ref_rows);
    mo_table_block_free(&rb);
    free(cols);
    return rc;
}
