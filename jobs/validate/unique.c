/* unique.c - `check: unique`: duplicate keys, counted exactly over the ranks
 *
 * A row's key is the cells of the key columns, each prefixed by its length so that ("ab", "c")
 * and ("a", "bc") differ; numbers as %.17g (exact for doubles), a missing number as "" (all
 * missing values are one key, as pandas' duplicated() has it). Each key goes to the rank its
 * hash picks (one all-to-all), so equal keys meet on one rank, which sorts what it received
 * and counts rows minus distinct keys; the sum over ranks is exact and no rank holds more
 * than its share of the keys. The example shown is the smallest duplicated key (bytewise)
 * over all ranks, so it does not depend on the rank count either.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "io/events.h"
#include "jobs/validate/validate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *p;
    uint32_t len;
} vkey_t;

static int key_cmp(const void *a, const void *b)
{
    const vkey_t *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void put_u32(mo_buf_t *b, uint32_t v)
{
    mo_buf_append(b, (const char *)&v, sizeof v);
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Row i's key into *key (reset first). */
static void make_key(mo_buf_t *key, const mo_table_block_t *b, const mo_vcheck_t *c, int64_t i)
{
    key->len = 0;
    for (size_t k = 0; k < c->n_cols; k++) {
        const mo_table_vec_t *v = &b->vecs[c->cols[k].vec];
        char num[48] = "";
        const char *s = num;
        if (v->type == MO_TABLE_TEXT)
            s = v->text[i];
        else if (v->type == MO_TABLE_TIME)
            mo_ts_format(v->time[i], num, sizeof num);
        else if (!isnan(v->num[i]))
            snprintf(num, sizeof num, "%.17g", v->num[i] == 0 ? 0.0 : v->num[i]); /* -0 is 0 */
        put_u32(key, (uint32_t)strlen(s));
        mo_buf_append(key, s, strlen(s));
    }
}

/* "customer_id=c007, event_ts=2026-11-25T10:00:00Z" from a key's bytes. */
static void render(char *buf, size_t size, const mo_vcheck_t *c, const unsigned char *p,
                   uint32_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < c->n_cols && len >= 4 && at < size; k++) {
        uint32_t l = get_u32(p);
        p += 4;
        len -= 4;
        l = l > len ? len : l;
        at += (size_t)snprintf(buf + at, size - at, "%s%s=%.*s", k ? ", " : "", c->cols[k].name,
                               (int)(l > 80 ? 80 : l), (const char *)p);
        p += l;
        len -= l;
    }
}

/* Send every local key to the rank its hash picks; *recv holds [u32 len][bytes]... */
static int shuffle(void **recv, size_t *total, const mo_veval_t *e, const mo_vcheck_t *c,
                   mo_error_t *err)
{
    int size = mo_comm_size(e->comm), rc = 0;
    mo_buf_t *to = mo_calloc((size_t)size, sizeof *to), key = {0}, send = {0};
    size_t *send_bytes = mo_calloc((size_t)size, sizeof *send_bytes);
    size_t *recv_bytes = mo_calloc((size_t)size, sizeof *recv_bytes);
    if (!to || !send_bytes || !recv_bytes)
        rc = mo_errorf(err, MO_ENOMEM, "unique: out of memory");
    for (int64_t i = 0; !rc && i < e->block->n; i++) {
        make_key(&key, e->block, c, i);
        int dest = (int)(mo_entity_hash(key.data ? key.data : "", key.len) % (uint64_t)size);
        put_u32(&to[dest], (uint32_t)key.len);
        mo_buf_append(&to[dest], key.data ? key.data : "", key.len);
    }
    for (int r = 0; !rc && r < size; r++) {
        rc = key.failed || to[r].failed ? mo_errorf(err, MO_ENOMEM, "unique: out of memory") : 0;
        send_bytes[r] = to[r].len;
        if (!rc && to[r].len)
            mo_buf_append(&send, to[r].data, to[r].len);
    }
    if (!rc && send.failed)
        rc = mo_errorf(err, MO_ENOMEM, "unique: out of memory");
    rc = mo_comm_agree(e->comm, rc, err);
    if (!rc)
        rc = mo_comm_alltoallv(e->comm, send.data ? send.data : "", send_bytes, recv, recv_bytes,
                               total, err);
    for (int r = 0; to && r < size; r++)
        mo_buf_free(&to[r]);
    free(to);
    mo_buf_free(&key);
    mo_buf_free(&send);
    free(send_bytes);
    free(recv_bytes);
    return rc;
}

int mo_validate_unique(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err)
{
    void *recv = NULL, *all = NULL;
    size_t total = 0, n = 0, all_total = 0;
    vkey_t *keys = NULL;
    mo_buf_t ex = {0};
    int rc = shuffle(&recv, &total, e, c, err);
    if (rc)
        return rc;
    const unsigned char *p = recv, *end = p + total;
    for (const unsigned char *q = p; q + 4 <= end; q += 4 + get_u32(q))
        n++;
    keys = mo_mallocarray(n + 1, sizeof *keys);
    rc = mo_comm_agree(e->comm, keys ? 0 : mo_errorf(err, MO_ENOMEM, "unique: out of memory"), err);
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        keys[i] = (vkey_t){.p = p + 4, .len = get_u32(p)};
        p += 4 + keys[i].len;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    int64_t counts[2] = {0, (int64_t)n}; /* duplicates, rows */
    const vkey_t *first = NULL;          /* the smallest duplicated key here */
    for (size_t i = 1; i < n; i++)
        if (!key_cmp(&keys[i - 1], &keys[i])) {
            counts[0]++;
            first = first ? first : &keys[i];
        }
    /* [has u8][len u32][bytes] from every rank; the smallest wins. */
    unsigned char has = first != NULL;
    mo_buf_append(&ex, (const char *)&has, 1);
    put_u32(&ex, first ? first->len : 0);
    if (first)
        mo_buf_append(&ex, (const char *)first->p, first->len);
    rc = mo_comm_agree(e->comm, ex.failed ? mo_errorf(err, MO_ENOMEM, "out of memory") : 0, err);
    if (!rc)
        rc = mo_comm_allreduce(e->comm, counts, 2, MO_DT_INT64, MO_OP_SUM, err);
    if (!rc)
        rc = mo_comm_allgatherv(e->comm, ex.data, ex.len, MO_DT_BYTE, &all, &all_total, err);
    if (rc)
        goto out;
    vkey_t best = {0};
    int have = 0;
    for (const unsigned char *q = all, *qe = q + all_total; q + 5 <= qe;) {
        vkey_t k = {.p = q + 5, .len = get_u32(q + 1)};
        if (q[0] && (!have || key_cmp(&k, &best) < 0)) {
            best = k;
            have = 1;
        }
        q += 5 + k.len;
    }
    char example[200] = "";
    if (have)
        render(example, sizeof example, c, best.p, best.len);
    mo_buf_t cols = {0};
    for (size_t k = 0; k < c->n_cols; k++)
        mo_buf_printf(&cols, "%s%s", k ? ", " : "", c->cols[k].name);
    r->value = (double)counts[0];
    r->threshold = 0;
    r->pass = counts[0] == 0;
    snprintf(r->value_text, sizeof r->value_text, "%lld duplicate row%s%s%s%s",
             (long long)counts[0], counts[0] == 1 ? "" : "s", have ? " (e.g. " : "", example,
             have ? ")" : "");
    snprintf(r->threshold_text, sizeof r->threshold_text, "no duplicate (%s)",
             cols.data ? cols.data : "");
    mo_buf_free(&cols);
    r->detail = json_pack("{s:I,s:I,s:o}", "duplicates", (json_int_t)counts[0], "distinct",
                          (json_int_t)(counts[1] - counts[0]), "example",
                          have ? json_string(example) : json_null());
out:
    free(keys);
    free(recv);
    free(all);
    mo_buf_free(&ex);
    return rc;
}
