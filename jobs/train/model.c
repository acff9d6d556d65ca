/* model.c - dense models over one flat parameter buffer
 *
 * Every model is a stack of dense layers: logreg and linreg are one layer with one output,
 * softmax one layer with k outputs, mlp hidden layers with the chosen activation and a linear
 * output layer. Parameters of layer l are W_l [in, out] (row-major) then b_l [out], all in one
 * buffer, so gradients land in one buffer too and the whole step needs one allreduce.
 *
 * Forward: A_l = act(A_{l-1} W_l + b_l), the last layer without activation (logits).
 * Backward: dZ_l = dA_l * act'(A_l); dW_l = A_{l-1}^T dZ_l; db_l = colsum(dZ_l);
 * dA_{l-1} = dZ_l W_l^T (not computed for l = 0: nobody needs the input's gradient).
 */
#include "jobs/train/train_impl.h"

#include "core/rng.h"

#include <math.h>
#include <string.h>

int model_build(model_t *m, const train_spec_t *s, mo_error_t *err)
{
    memset(m, 0, sizeof *m);
    int classify = s->task == MO_DS_CLASSIFICATION;
    if (s->model == MODEL_LOGREG || s->model == MODEL_LINREG) {
        m->n_out = 1;
        m->loss = s->model == MODEL_LOGREG ? LOSS_LOGISTIC : LOSS_MSE;
    } else {
        m->n_out = classify ? s->n_classes : 1;
        m->loss = classify ? LOSS_SOFTMAX : LOSS_MSE;
    }
    m->act = s->model == MODEL_MLP ? s->act : MO_ACT_NONE;
    int64_t in = s->n_features;
    size_t off = 0;
    int n_hidden = s->model == MODEL_MLP ? s->n_hidden : 0;
    for (int l = 0; l <= n_hidden; l++) {
        int64_t out = l < n_hidden ? s->hidden[l] : m->n_out;
        m->in[l] = in;
        m->out[l] = out;
        m->w_off[l] = off;
        off += (size_t)(in * out);
        m->b_off[l] = off;
        off += (size_t)out;
        in = out;
    }
    m->n_layers = n_hidden + 1;
    m->n_params = off;
    if (m->n_params > (size_t)1 << 31)
        return mo_errorf(err, MO_EINVAL, "model has %zu parameters; at most 2^31 are supported",
                         m->n_params);
    return 0;
}

void model_init(const model_t *m, float *params, uint64_t seed)
{
    /* Glorot-uniform for tanh/sigmoid/linear, He-uniform for relu; biases 0. Parameter j is
     * drawn at RNG position 2j of (seed, INIT), so it does not depend on any other layer. */
    mo_rng_t r;
    memset(params, 0, m->n_params * sizeof *params);
    for (int l = 0; l < m->n_layers; l++) {
        int hidden = l < m->n_layers - 1;
        double fan_in = (double)m->in[l], fan_out = (double)m->out[l];
        double a =
            hidden && m->act == MO_ACT_RELU ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
        size_t n = (size_t)(m->in[l] * m->out[l]);
        for (size_t j = 0; j < n; j++) {
            size_t idx = m->w_off[l] + j;
            mo_rng_init(&r, seed, MO_RNG_STREAM_INIT, 2 * (uint64_t)idx);
            params[idx] = (float)((2.0 * mo_rng_uniform(&r) - 1.0) * a);
        }
    }
}

int model_work_create(model_work_t *w, const mo_kern_backend_t *be, const model_t *m,
                      int64_t max_rows, mo_error_t *err)
{
    memset(w, 0, sizeof *w);
    w->be = be;
    w->max_rows = max_rows < 1 ? 1 : max_rows;
    int64_t widest = m->n_out;
    for (int l = 0; l < m->n_layers; l++) {
        w->act[l] = be->alloc((size_t)(w->max_rows * m->out[l]) * sizeof(float));
        if (!w->act[l])
            goto nomem;
        widest = m->out[l] > widest ? m->out[l] : widest;
    }
    for (int i = 0; i < 2; i++)
        if (!(w->delta[i] = be->alloc((size_t)(w->max_rows * widest) * sizeof(float))))
            goto nomem;
    if (!(w->probs = be->alloc((size_t)(w->max_rows * m->n_out) * sizeof(float))))
        goto nomem;
    return 0;
nomem:
    model_work_free(w);
    return mo_errorf(err, MO_ENOMEM, "out of memory for a batch of %lld rows", (long long)max_rows);
}

void model_work_free(model_work_t *w)
{
    if (!w || !w->be)
        return;
    for (int l = 0; l < TRAIN_MAX_LAYERS + 1; l++)
        if (w->act[l])
            w->be->free(w->act[l]);
    for (int i = 0; i < 2; i++)
        if (w->delta[i])
            w->be->free(w->delta[i]);
    if (w->probs)
        w->be->free(w->probs);
    memset(w, 0, sizeof *w);
}

void model_forward(const model_t *m, model_work_t *w, const float *params, const float *X,
                   int64_t rows)
{
    const float *in = X;
    for (int l = 0; l < m->n_layers; l++) {
        int last = l == m->n_layers - 1;
        w->be->gemm(0, 0, rows, m->out[l], m->in[l], 1.0f, in, m->in[l], params + m->w_off[l],
                    m->out[l], 0.0f, w->act[l], m->out[l]);
        w->be->bias_act_forward(w->act[l], params + m->b_off[l], rows, m->out[l],
                                last ? MO_ACT_NONE : m->act);
        in = w->act[l];
    }
}

double model_loss(const model_t *m, model_work_t *w, const int32_t *yc, const float *yv,
                  int64_t rows, float scale)
{
    const float *logits = w->act[m->n_layers - 1];
    switch (m->loss) {
    case LOSS_SOFTMAX:
        return w->be->softmax_xent(logits, yc, rows, m->n_out, scale, w->delta[0], w->probs);
    case LOSS_LOGISTIC:
        return w->be->logistic(logits, yc, rows, scale, w->delta[0], w->probs);
    case LOSS_MSE:
        return w->be->mse(logits, yv, rows, scale, w->delta[0]);
    }
    return NAN;
}

int model_backward(const model_t *m, model_work_t *w, const float *params, const float *X,
                   int64_t rows, float *grads, model_grad_ready_fn ready, void *ud, mo_error_t *err)
{
    /* delta[cur] holds dA of layer l (for the last layer: dlogits from model_loss). */
    int cur = 0;
    for (int l = m->n_layers - 1; l >= 0; l--) {
        int last = l == m->n_layers - 1;
        float *dZ = w->delta[cur];
        if (!last)
            w->be->act_backward(dZ, w->act[l], rows * m->out[l], m->act);
        const float *A_prev = l ? w->act[l - 1] : X;
        w->be->gemm(1, 0, m->in[l], m->out[l], rows, 1.0f, A_prev, m->in[l], dZ, m->out[l], 0.0f,
                    grads + m->w_off[l], m->out[l]);
        w->be->bias_grad(grads + m->b_off[l], dZ, rows, m->out[l]);
        /* W_l then b_l: one block, ready before dA_{l-1} is even computed. */
        int rc =
            ready ? ready(ud, m->w_off[l], m->b_off[l] + (size_t)m->out[l] - m->w_off[l], err) : 0;
        if (rc)
            return rc;
        if (l > 0)
            w->be->gemm(0, 1, rows, m->in[l], m->out[l], 1.0f, dZ, m->out[l], params + m->w_off[l],
                        m->out[l], 0.0f, w->delta[1 - cur], m->in[l]);
        cur = 1 - cur;
    }
    return 0;
}

const float *model_output_buffer(const model_t *m, const model_work_t *w)
{
    return m->loss == LOSS_MSE ? w->act[m->n_layers - 1] : w->probs;
}

const float *model_outputs(const model_t *m, const model_work_t *w, int64_t rows, float *host)
{
    const float *out = model_output_buffer(m, w);
    if (!w->be->bind) /* host memory already */
        return out;
    w->be->download(host, out, (size_t)(rows * m->n_out) * sizeof *host);
    return host;
}

void model_predict(const model_t *m, const float *probs, int64_t rows, int32_t *pred, float *score)
{
    if (m->loss == LOSS_LOGISTIC) {
        for (int64_t r = 0; r < rows; r++) {
            pred[r] = probs[r] > 0.5f;
            if (score)
                score[r] = probs[r];
        }
        return;
    }
    int64_t k = m->n_out;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = probs + r * k;
        int32_t best = 0;
        for (int64_t c = 1; c < k; c++)
            if (p[c] > p[best])
                best = (int32_t)c;
        pred[r] = best;
        if (score)
            score[r] = k == 2 ? p[1] : p[best];
    }
}
