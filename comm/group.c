/* group.c - sub-communicators (split, sweep trial groups) and small point-to-point messages
 *
 * A group is an ordinary mo_comm_t whose `world` is the split communicator, so every
 * collective works on it unchanged; it never owns MPI. Creating one is collective, so the
 * arguments are agreed on first (one MPI_MIN allreduce) and the outcome again afterwards:
 * either every rank of the parent has its group or every rank returns the same error.
 *
 * Messages are opaque bytes for the sweep controller and the group leaders. The receiver
 * learns the size with a matched probe (MPI_Improbe/MPI_Mprobe, then MPI_Mrecv), so the
 * probed message is exactly the one received. Tags are mapped into a reserved MPI tag range.
 * A rank sending to itself (the controller when it also leads group 0) cannot go through MPI
 * with a blocking send, which would wait for a receive the same thread has not posted; those
 * messages go to an in-process queue cached on the communicator as an MPI attribute, freed
 * with the communicator.
 */
#include "comm/comm_impl.h"

#include "core/alloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- split ---------------------------------------------------------------------------------- */

/* Agree with every rank of `c` on `local_rc`. A rank that failed keeps its own message (no
 * "rank N: " prefix, the text a user reads for an argument every rank got wrong); the others
 * get the lowest failing rank's attributed one. */
static int agree_keep_own(mo_comm_t *c, int local_rc, mo_error_t *err)
{
    mo_error_t agreed = {0};
    if (local_rc && err)
        agreed = *err;
    int rc = mo_comm_agree(c, local_rc, &agreed);
    if (local_rc)
        return local_rc; /* `err` still holds this rank's own message */
    if (rc && err)
        *err = agreed;
    return rc;
}

static void free_handle(mo_comm_t *g)
{
    if (!g)
        return;
    if (g->local != MPI_COMM_NULL)
        MPI_Comm_free(&g->local);
    if (g->world != MPI_COMM_NULL)
        MPI_Comm_free(&g->world);
    free(g);
}

/* Fill in a handle around the fresh split communicator g->world: error handler, ranks, and the
 * node-local split (collective over g->world). */
static int finish_handle(mo_comm_t *g, mo_error_t *err)
{
    int rc;
    if ((rc = MPI_Comm_set_errhandler(g->world, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(g->world, &g->rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(g->world, &g->size)) != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "group communicator");
    rc = MPI_Comm_split_type(g->world, MPI_COMM_TYPE_SHARED, g->rank, MPI_INFO_NULL, &g->local);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Comm_split_type");
    if ((rc = MPI_Comm_set_errhandler(g->local, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(g->local, &g->local_rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(g->local, &g->local_size)) != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "group node-local communicator");
    return 0;
}

/* The split proper. `local_rc` is this rank's verdict on its arguments (with `err` filled);
 * it is agreed on before MPI_Comm_split, so a bad argument anywhere stops every rank. */
static int split_agreed(mo_comm_t **out, mo_comm_t *c, int color, int key, int local_rc,
                        mo_error_t *err)
{
    mo_comm_t *g = NULL;
    int ret = local_rc;
    if (!ret) {
        g = mo_calloc(1, sizeof *g);
        if (!g)
            ret = mo_errorf(err, MO_ENOMEM, "mo_comm_split: cannot allocate the handle");
        else
            g->world = g->local = MPI_COMM_NULL;
    }
    ret = agree_keep_own(c, ret, err);
    if (ret)
        goto out;

    int rc = MPI_Comm_split(c->world, color < 0 ? MPI_UNDEFINED : color, key, &g->world);
    if (rc != MPI_SUCCESS)
        ret = mo_comm_mpi_error(err, rc, "MPI_Comm_split");
    else if (g->world != MPI_COMM_NULL)
        ret = finish_handle(g, err);
    ret = agree_keep_own(c, ret, err);

out:
    if (ret || (g && g->world == MPI_COMM_NULL)) {
        free_handle(g);
        g = NULL;
    }
    if (out)
        *out = g;
    return ret;
}

int mo_comm_split(mo_comm_t **out, mo_comm_t *c, int color, int key, mo_error_t *err)
{
    if (out)
        *out = NULL;
    int ret = mo_comm_check(c, "mo_comm_split", err);
    if (ret)
        return ret; /* no communicator to tell the others with */
    int local = 0;
    if (!out)
        local = mo_errorf(err, MO_EINVAL, "mo_comm_split: out is NULL");
    return split_agreed(out, c, color, key, local, err);
}

/* ---- trial groups --------------------------------------------------------------------------- */

int mo_comm_trial_group_range(int *first, int *count, int world_size, int parallel_trials,
                              int controller_separate, int group, mo_error_t *err)
{
    if (!first || !count)
        return mo_errorf(err, MO_EINVAL, "mo_comm_trial_group_range: first or count is NULL");
    *first = -1;
    *count = 0;
    if (world_size < 1)
        return mo_errorf(err, MO_EINVAL, "mo_comm_trial_group_range: world size %d", world_size);
    if (parallel_trials < 1)
        return mo_errorf(err, MO_EINVAL, "parallel_trials must be at least 1, got %d",
                         parallel_trials);
    int offset = controller_separate ? 1 : 0;
    int workers = world_size - offset;
    if (parallel_trials > workers) {
        if (controller_separate)
            return mo_errorf(err, MO_EINVAL,
                             "parallel_trials %d is larger than the %d rank%s that run trials "
                             "(%d rank%s, rank 0 is only the controller)",
                             parallel_trials, workers, workers == 1 ? "" : "s", world_size,
                             world_size == 1 ? "" : "s");
        return mo_errorf(err, MO_EINVAL,
                         "parallel_trials %d is larger than the %d rank%s of this run",
                         parallel_trials, world_size, world_size == 1 ? "" : "s");
    }
    if (group < 0 || group >= parallel_trials)
        return mo_errorf(err, MO_EINVAL, "mo_comm_trial_group_range: group %d out of range for %d",
                         group, parallel_trials);
    int base = workers / parallel_trials, extra = workers % parallel_trials;
    *first = offset + group * base + (group < extra ? group : extra);
    *count = base + (group < extra ? 1 : 0);
    return 0;
}

/* The group of world rank `r`, -1 for the separate controller. Layout already validated. */
static int group_of(int r, int world_size, int parallel_trials, int controller_separate)
{
    int offset = controller_separate ? 1 : 0;
    if (r < offset)
        return -1;
    int workers = world_size - offset, w = r - offset;
    int base = workers / parallel_trials, extra = workers % parallel_trials;
    int big = extra * (base + 1); /* ranks held by the larger groups */
    return w < big ? w / (base + 1) : extra + (w - big) / base;
}

int mo_comm_trial_groups(mo_comm_t **group, int *group_index, int *n_groups, mo_comm_t *world,
                         int parallel_trials, int controller_separate, mo_error_t *err)
{
    if (group)
        *group = NULL;
    if (group_index)
        *group_index = -1;
    if (n_groups)
        *n_groups = 0;
    int ret = mo_comm_check(world, "mo_comm_trial_groups", err);
    if (ret)
        return ret;

    int local = 0, first, count;
    if (!group || !group_index || !n_groups)
        local = mo_errorf(err, MO_EINVAL,
                          "mo_comm_trial_groups: group, group_index or n_groups is NULL");
    else
        local = mo_comm_trial_group_range(&first, &count, world->size, parallel_trials,
                                          controller_separate, 0, err);
    int color =
        local ? -1 : group_of(world->rank, world->size, parallel_trials, controller_separate);
    ret = split_agreed(group, world, color, world->rank, local, err);
    if (ret)
        return ret;
    *group_index = color;
    *n_groups = parallel_trials;
    return 0;
}

/* ---- messages to oneself -------------------------------------------------------------------- */

typedef struct selfmsg {
    struct selfmsg *next;
    int tag;
    size_t len;
    char *buf; /* len bytes + NUL */
} selfmsg_t;

typedef struct {
    selfmsg_t *head, *tail;
} selfq_t;

static int selfq_keyval = MPI_KEYVAL_INVALID;

/* Called by MPI when the communicator is freed: unreceived messages go with it. */
static int selfq_delete(MPI_Comm comm, int keyval, void *attr, void *extra)
{
    (void)comm;
    (void)keyval;
    (void)extra;
    selfq_t *q = attr;
    while (q->head) {
        selfmsg_t *m = q->head;
        q->head = m->next;
        free(m->buf);
        free(m);
    }
    free(q);
    return MPI_SUCCESS;
}

/* This communicator's queue; with `create`, made on first use. *q is NULL when none exists. */
static int selfq_get(mo_comm_t *c, int create, selfq_t **q, mo_error_t *err)
{
    *q = NULL;
    int rc;
    if (selfq_keyval == MPI_KEYVAL_INVALID) {
        rc = MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, selfq_delete, &selfq_keyval, NULL);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Comm_create_keyval");
    }
    void *val = NULL;
    int flag = 0;
    rc = MPI_Comm_get_attr(c->world, selfq_keyval, &val, &flag);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Comm_get_attr");
    if (flag) {
        *q = val;
        return 0;
    }
    if (!create)
        return 0;
    selfq_t *nq = mo_calloc(1, sizeof *nq);
    if (!nq)
        return mo_errorf(err, MO_ENOMEM, "mo_comm_send_msg: cannot allocate the self queue");
    rc = MPI_Comm_set_attr(c->world, selfq_keyval, nq);
    if (rc != MPI_SUCCESS) {
        free(nq);
        return mo_comm_mpi_error(err, rc, "MPI_Comm_set_attr");
    }
    *q = nq;
    return 0;
}

static int selfq_push(mo_comm_t *c, int tag, const void *buf, size_t len, mo_error_t *err)
{
    selfq_t *q;
    int ret = selfq_get(c, 1, &q, err);
    if (ret)
        return ret;
    selfmsg_t *m = mo_calloc(1, sizeof *m);
    char *copy = malloc(len + 1);
    if (!m || !copy) {
        free(m);
        free(copy);
        return mo_errorf(err, MO_ENOMEM, "mo_comm_send_msg: cannot queue %zu bytes", len);
    }
    if (len)
        memcpy(copy, buf, len);
    copy[len] = '\0';
    m->tag = tag;
    m->len = len;
    m->buf = copy;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    return 0;
}

/* Take the first queued message with `tag` (or any); *got 0 when there is none. */
static int selfq_pop(mo_comm_t *c, int tag, int *out_tag, void **buf, size_t *len, int *got,
                     mo_error_t *err)
{
    *got = 0;
    selfq_t *q;
    int ret = selfq_get(c, 0, &q, err);
    if (ret || !q)
        return ret;
    selfmsg_t *prev = NULL, *m = q->head;
    while (m && tag != MO_COMM_ANY_TAG && m->tag != tag) {
        prev = m;
        m = m->next;
    }
    if (!m)
        return 0;
    if (prev)
        prev->next = m->next;
    else
        q->head = m->next;
    if (q->tail == m)
        q->tail = prev;
    *out_tag = m->tag;
    *buf = m->buf;
    *len = m->len;
    *got = 1;
    free(m);
    return 0;
}

/* ---- messages ------------------------------------------------------------------------------- */

static int tag_ok(int tag)
{
    return tag >= 0 && tag < MO_COMM_MSG_TAGS;
}

int mo_comm_send_msg(mo_comm_t *c, int dest, int tag, const void *buf, size_t len, mo_error_t *err)
{
    int ret = mo_comm_check(c, "mo_comm_send_msg", err);
    if (ret)
        return ret;
    if (dest < 0 || dest >= c->size)
        return mo_errorf(err, MO_EINVAL, "mo_comm_send_msg: dest %d out of range for %d ranks",
                         dest, c->size);
    if (!tag_ok(tag))
        return mo_errorf(err, MO_EINVAL, "mo_comm_send_msg: tag %d outside 0..%d", tag,
                         MO_COMM_MSG_TAGS - 1);
    if (len > 0 && !buf)
        return mo_errorf(err, MO_EINVAL, "mo_comm_send_msg: buffer is NULL with length %zu", len);
    if (len > INT_MAX)
        return mo_errorf(err, MO_EINVAL, "mo_comm_send_msg: %zu bytes is more than a message holds",
                         len);
    if (dest == c->rank)
        return selfq_push(c, tag, buf, len, err);
    int rc = MPI_Send(buf, (int)len, MPI_BYTE, dest, MO_COMM_MSG_TAG_BASE + tag, c->world);
    return rc == MPI_SUCCESS ? 0 : mo_comm_mpi_error(err, rc, "MPI_Send");
}

/* Match, without waiting, a message from `src` (MPI_ANY_SOURCE allowed) with a tag of the
 * range (`tag` or any). An MPI_ANY_TAG probe is tried first; if what it finds is someone
 * else's point-to-point message, each tag of the range is probed, so a foreign message cannot
 * hide ours. */
static int improbe_ours(mo_comm_t *c, int src, int tag, MPI_Message *msg, MPI_Status *st,
                        int *found, mo_error_t *err)
{
    int rc, flag = 0;
    *found = 0;
    if (tag != MO_COMM_ANY_TAG) {
        rc = MPI_Improbe(src, MO_COMM_MSG_TAG_BASE + tag, c->world, &flag, msg, st);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Improbe");
        *found = flag;
        return 0;
    }
    MPI_Status peek;
    rc = MPI_Iprobe(src, MPI_ANY_TAG, c->world, &flag, &peek);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Iprobe");
    if (!flag)
        return 0;
    int t = peek.MPI_TAG - MO_COMM_MSG_TAG_BASE;
    if (tag_ok(t)) {
        rc = MPI_Improbe(peek.MPI_SOURCE, peek.MPI_TAG, c->world, &flag, msg, st);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Improbe");
        *found = flag;
        return 0;
    }
    flag = 0;
    for (t = 0; t < MO_COMM_MSG_TAGS && !flag; t++) {
        rc = MPI_Improbe(src, MO_COMM_MSG_TAG_BASE + t, c->world, &flag, msg, st);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Improbe");
    }
    *found = flag;
    return 0;
}

/* Receive the matched message into a malloc'd, NUL-terminated buffer. */
static int mrecv(MPI_Message *msg, MPI_Status *st, void **buf, size_t *len, mo_error_t *err)
{
    int n = 0;
    int rc = MPI_Get_count(st, MPI_BYTE, &n);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Get_count");
    char *b = malloc((size_t)n + 1);
    if (!b) {
        /* still take the message off the wire, so the sender is not left waiting */
        char sink;
        MPI_Mrecv(&sink, 0, MPI_BYTE, msg, MPI_STATUS_IGNORE);
        return mo_errorf(err, MO_ENOMEM, "cannot allocate %d bytes for a message from rank %d", n,
                         st->MPI_SOURCE);
    }
    rc = MPI_Mrecv(b, n, MPI_BYTE, msg, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
        free(b);
        return mo_comm_mpi_error(err, rc, "MPI_Mrecv");
    }
    b[n] = '\0';
    *buf = b;
    *len = (size_t)n;
    return 0;
}

int mo_comm_poll_msg(mo_comm_t *c, int *src, int *tag, void **buf, size_t *len, int *got,
                     mo_error_t *err)
{
    if (got)
        *got = 0;
    if (buf)
        *buf = NULL;
    if (len)
        *len = 0;
    int ret = mo_comm_check(c, "mo_comm_poll_msg", err);
    if (ret)
        return ret;
    if (!src || !tag || !buf || !len || !got)
        return mo_errorf(err, MO_EINVAL, "mo_comm_poll_msg: an output pointer is NULL");

    /* Own messages first: they were queued by this thread, so they cannot flood the others. */
    ret = selfq_pop(c, MO_COMM_ANY_TAG, tag, buf, len, got, err);
    if (ret || *got) {
        if (*got)
            *src = c->rank;
        return ret;
    }
    MPI_Message msg;
    MPI_Status st;
    int found = 0;
    ret = improbe_ours(c, MPI_ANY_SOURCE, MO_COMM_ANY_TAG, &msg, &st, &found, err);
    if (ret || !found)
        return ret;
    ret = mrecv(&msg, &st, buf, len, err);
    if (ret)
        return ret;
    *src = st.MPI_SOURCE;
    *tag = st.MPI_TAG - MO_COMM_MSG_TAG_BASE;
    *got = 1;
    return 0;
}

int mo_comm_recv_msg(mo_comm_t *c, int src, int tag, void **buf, size_t *len, mo_error_t *err)
{
    if (buf)
        *buf = NULL;
    if (len)
        *len = 0;
    int ret = mo_comm_check(c, "mo_comm_recv_msg", err);
    if (ret)
        return ret;
    if (!buf || !len)
        return mo_errorf(err, MO_EINVAL, "mo_comm_recv_msg: buf or len is NULL");
    if (src != MO_COMM_ANY_SOURCE && (src < 0 || src >= c->size))
        return mo_errorf(err, MO_EINVAL, "mo_comm_recv_msg: src %d out of range for %d ranks", src,
                         c->size);
    if (tag != MO_COMM_ANY_TAG && !tag_ok(tag))
        return mo_errorf(err, MO_EINVAL, "mo_comm_recv_msg: tag %d outside 0..%d", tag,
                         MO_COMM_MSG_TAGS - 1);

    if (src == MO_COMM_ANY_SOURCE || src == c->rank) {
        int got = 0, t;
        ret = selfq_pop(c, tag, &t, buf, len, &got, err);
        if (ret || got)
            return ret;
        if (src == c->rank)
            return mo_errorf(err, MO_EINVAL,
                             "mo_comm_recv_msg: rank %d waits for a message from itself and "
                             "none is queued",
                             c->rank);
    }

    int mpi_src = src == MO_COMM_ANY_SOURCE ? MPI_ANY_SOURCE : src;
    MPI_Message msg;
    MPI_Status st;
    int rc;
    if (tag != MO_COMM_ANY_TAG) {
        rc = MPI_Mprobe(mpi_src, MO_COMM_MSG_TAG_BASE + tag, c->world, &msg, &st);
        if (rc != MPI_SUCCESS)
            return mo_comm_mpi_error(err, rc, "MPI_Mprobe");
    } else {
        /* Wait for any message, then match one of ours; if only someone else's is there,
         * this spins on the probes, as MPI's own blocking receive does. */
        int found = 0;
        while (!found) {
            rc = MPI_Probe(mpi_src, MPI_ANY_TAG, c->world, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS)
                return mo_comm_mpi_error(err, rc, "MPI_Probe");
            ret = improbe_ours(c, mpi_src, MO_COMM_ANY_TAG, &msg, &st, &found, err);
            if (ret)
                return ret;
        }
    }
    return mrecv(&msg, &st, buf, len, err);
}
