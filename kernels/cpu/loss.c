/* loss.c - CPU losses: softmax cross-entropy, binary logistic, squared error
 *
 * Each returns the loss SUMMED over rows in double (so per-rank sums add up exactly enough for
 * an allreduce) and writes the gradient already multiplied by `scale` (the trainer passes
 * 1 / global batch), see backend.h. Per-row math is float, like the rest of training; only
 * the running sum is double. Rows are visited in order and nothing threads: bitwise
 * reproducible.
 *
 * Labels are validated when a dataset is read (io/dataset), so a label out of range here is a
 * broken invariant, not bad input: MO_ASSERT, before it can index out of bounds.
 */
#include "kernels/cpu/cpu_impl.h"

#include <math.h>

/* e[j] = exp(l[j] - mx), with mx >= every l[j], so each argument is <= 0 and nothing
 * overflows; mo_cpu_expneg keeps NaN (an inf or NaN logit) visible. */
static void exp_shifted(float *restrict e, const float *restrict l, float mx, int64_t k)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= k; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            e[j + u] = mo_cpu_expneg(mx - l[j + u]);
    for (; j < k; j++)
        e[j] = mo_cpu_expneg(mx - l[j]);
}

/* probs = e / sum and d = scale * probs, from e held in d. */
static void normalize_both(float *restrict d, float *restrict probs, float sum, float scale,
                           int64_t k)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= k; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++) {
            const float p = d[j + u] / sum;
            probs[j + u] = p;
            d[j + u] = scale * p;
        }
    for (; j < k; j++) {
        const float p = d[j] / sum;
        probs[j] = p;
        d[j] = scale * p;
    }
}

/* x = a * x / sum (a = scale for the gradient, 1 for probabilities alone). */
static void normalize_one(float *restrict x, float sum, float a, int64_t k)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= k; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            x[j + u] = a * (x[j + u] / sum);
    for (; j < k; j++)
        x[j] = a * (x[j] / sum);
}

/* Per row, with m = max_j l[j] and s = sum_j exp(l[j] - m):
 *   loss = log(s) - (l[y] - m)                  (= -log softmax(l)[y])
 *   p[j] = exp(l[j] - m) / s
 *   dlogits[j] = scale * (p[j] - [j == y])
 * The shift by m keeps every exponent <= 0, so logits of any magnitude (1e4 and beyond) give
 * a finite loss; s >= 1 so the log is finite too. dlogits and probs may each be NULL
 * (evaluation wants only the loss, or the probabilities); they must not overlap logits or
 * each other. */
double mo_kern_cpu_softmax_xent(const float *logits, const int32_t *y, int64_t rows, int64_t k,
                                float scale, float *dlogits, float *probs)
{
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const float *l = logits + r * k;
        const int32_t c = y[r];
        MO_ASSERT(c >= 0 && c < k);

        /* `l[j] > mx` is false for NaN, so a NaN in l[0] stays the max and a later NaN
         * reaches exp through mx - l[j]: either way the loss of the row is NaN. */
        float mx = l[0];
        for (int64_t j = 1; j < k; j++)
            mx = l[j] > mx ? l[j] : mx;

        /* The exponentials go straight into an output row when there is one, so they are
         * computed once; the sum is in order j = 0..k-1 in float. */
        float *e = dlogits ? dlogits + r * k : probs ? probs + r * k : NULL;
        float sum = 0.0f;
        if (e) {
            exp_shifted(e, l, mx, k);
            for (int64_t j = 0; j < k; j++)
                sum += e[j];
        } else {
            for (int64_t j = 0; j < k; j++)
                sum += mo_cpu_expneg(mx - l[j]);
        }
        total += (double)(logf(sum) - (l[c] - mx));

        if (dlogits) {
            float *d = dlogits + r * k;
            const float pc = d[c] / sum;
            if (probs)
                normalize_both(d, probs + r * k, sum, scale, k);
            else
                normalize_one(d, sum, scale, k);
            d[c] = scale * (pc - 1.0f);
        } else if (probs) {
            normalize_one(probs + r * k, sum, 1.0f, k);
        }
    }
    return total;
}

/* Per row, with p = sigmoid(z):
 *   loss = log(1 + exp(-|z|)) + max(z, 0) - z y    (= -y log p - (1 - y) log(1 - p))
 *   dz   = scale * (p - y)
 * The first form never exponentiates a positive number: finite for any finite z, and exact
 * (0 or |z|) once exp(-|z|) underflows. p is the same sigmoid as the activation's. */
double mo_kern_cpu_logistic(const float *z, const int32_t *y, int64_t rows, float scale, float *dz,
                            float *prob)
{
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        MO_ASSERT(y[r] == 0 || y[r] == 1);
        const float zr = z[r], yr = (float)y[r];
        const float pos = zr > 0.0f ? zr : 0.0f;
        total += (double)(log1pf(mo_cpu_expneg(fabsf(zr))) + pos - zr * yr);
        const float p = mo_cpu_sigmoid(zr);
        if (prob)
            prob[r] = p;
        if (dz)
            dz[r] = scale * (p - yr);
    }
    return total;
}

/* Per row: loss = 0.5 (pred - y)^2 (squared in double), dpred = scale * (pred - y). */
double mo_kern_cpu_mse(const float *pred, const float *y, int64_t rows, float scale, float *dpred)
{
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const float d = pred[r] - y[r];
        total += 0.5 * (double)d * (double)d;
        if (dpred)
            dpred[r] = scale * d;
    }
    return total;
}
