/* optim.c - CPU optimiser steps over one flat parameter buffer: SGD (momentum, Nesterov) and
 * Adam / AdamW
 *
 * The update rules are PyTorch's (torch.optim.SGD with dampening 0, torch.optim.Adam and
 * AdamW without amsgrad), written out below, so a model trained here can be checked against a
 * PyTorch run step for step. Every element is updated independently in index order with float
 * math; the per-step scalars (bias corrections) are computed in double like PyTorch's Python
 * floats, then rounded once. Loops are the fixed-chunk form of cpu_impl.h so they vectorise.
 */
#include "kernels/cpu/cpu_impl.h"

#include <math.h>

/* SGD, with g' = g + wd * w:
 *   momentum 0:  w -= lr * g'
 *   momentum mu: v = mu * v + g';  w -= lr * (g' + mu * v) with Nesterov, else w -= lr * v
 * PyTorch starts the buffer as a copy of the first g'; v starts at zero here, and
 * mu * 0 + g' == g', so the first step agrees. PyTorch skips the decay term when wd == 0;
 * here it is always added, which changes nothing but the sign of a zero gradient (and turns
 * an infinite weight into NaN, a run that has already diverged). v is not touched, and may be
 * NULL, when momentum is 0. */
void mo_kern_cpu_sgd_step(float *restrict w, const float *restrict g, float *restrict v, int64_t n,
                          const mo_sgd_hparams_t *h)
{
    const float lr = h->lr, mu = h->momentum, wd = h->weight_decay;
    int64_t i = 0;
    if (mu == 0.0f) {
        for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
            for (int u = 0; u < MO_CPU_CHUNK; u++)
                w[i + u] -= lr * (g[i + u] + wd * w[i + u]);
        for (; i < n; i++)
            w[i] -= lr * (g[i] + wd * w[i]);
    } else if (h->nesterov) {
        for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
            for (int u = 0; u < MO_CPU_CHUNK; u++) {
                const float gd = g[i + u] + wd * w[i + u];
                const float vi = mu * v[i + u] + gd;
                v[i + u] = vi;
                w[i + u] -= lr * (gd + mu * vi);
            }
        for (; i < n; i++) {
            const float gd = g[i] + wd * w[i];
            v[i] = mu * v[i] + gd;
            w[i] -= lr * (gd + mu * v[i]);
        }
    } else {
        for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
            for (int u = 0; u < MO_CPU_CHUNK; u++) {
                const float vi = mu * v[i + u] + (g[i + u] + wd * w[i + u]);
                v[i + u] = vi;
                w[i + u] -= lr * vi;
            }
        for (; i < n; i++) {
            v[i] = mu * v[i] + (g[i] + wd * w[i]);
            w[i] -= lr * v[i];
        }
    }
}

/* Adam (decoupled = 0) and AdamW (decoupled = 1), step t >= 1:
 *   Adam:  g' = g + wd * w                      AdamW: g' = g;  w = w * (1 - lr * wd)
 *   m = m + (1 - beta1) * (g' - m)              (PyTorch's lerp; = beta1 m + (1 - beta1) g')
 *   v = beta2 * v + (1 - beta2) * g' * g'
 *   bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t       (double, then rounded to float:
 *   step = lr / bc1,    c2 = sqrt(bc2)           step and c2)
 *   w = w - step * (m / (sqrt(v) / c2 + eps))
 * m and v start at zero. */
void mo_kern_cpu_adam_step(float *restrict w, const float *restrict g, float *restrict m,
                           float *restrict v, int64_t n, const mo_adam_hparams_t *h)
{
    MO_ASSERT(h->t >= 1); /* bias correction divides by 1 - beta1^t */
    const double t = (double)h->t;
    const float step = (float)((double)h->lr / (1.0 - pow((double)h->beta1, t)));
    const float c2 = (float)sqrt(1.0 - pow((double)h->beta2, t));
    const float l2 = h->decoupled ? 0.0f : h->weight_decay;
    /* Multiplying by exactly 1 leaves w as it is, so plain Adam shares the loop. */
    const float decay = h->decoupled ? (float)(1.0 - (double)h->lr * h->weight_decay) : 1.0f;
    const float b1 = h->beta1, b2 = h->beta2, eps = h->eps;
    const float a1 = 1.0f - b1, a2 = 1.0f - b2;

    /* sqrtf may set errno, so GCC keeps a scalar call path and does not vectorise this loop
     * unless built with -fno-math-errno; the chunked form costs nothing when it does not. */
    int64_t i = 0;
    for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++) {
            const float gi = g[i + u] + l2 * w[i + u];
            const float mi = m[i + u] + a1 * (gi - m[i + u]);
            const float vi = b2 * v[i + u] + a2 * gi * gi;
            m[i + u] = mi;
            v[i + u] = vi;
            w[i + u] = w[i + u] * decay - step * (mi / (sqrtf(vi) / c2 + eps));
        }
    for (; i < n; i++) {
        const float gi = g[i] + l2 * w[i];
        m[i] = m[i] + a1 * (gi - m[i]);
        v[i] = b2 * v[i] + a2 * gi * gi;
        w[i] = w[i] * decay - step * (m[i] / (sqrtf(v[i]) / c2 + eps));
    }
}
