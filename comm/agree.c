/* agree.c - collective agreement on failure, so that every rank leaves together
 *
 * Work that can fail on some ranks only (reading a shard, a diverging loss) ends with
 * mo_comm_agree: one MPI_MIN allreduce finds the lowest failing rank, which then broadcasts
 * its code and message. Every rank returns the same code with the same text, so they all take
 * the same path out instead of some waiting for ever in the next collective. The lowest rank
 * wins so the answer is deterministic. The failing rank formats the final text (with the
 * "rank N: " prefix) before sending it, so there is nothing left for ranks to disagree on.
 */
#include "comm/comm_impl.h"

#include "core/str.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

/* 1 when `msg` already says which rank it came from ("rank 12: ..."), as it does when an
 * agreed error is agreed on again one level up: the original rank is the useful one. */
static int has_rank_prefix(const char *msg)
{
    if (!mo_str_startswith(msg, "rank "))
        return 0;
    const char *p = msg + strlen("rank ");
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    return p[0] == ':' && p[1] == ' ';
}

int mo_comm_agree(mo_comm_t *c, int local_rc, mo_error_t *err)
{
    int ret = mo_comm_check(c, "mo_comm_agree", err);
    if (ret)
        return ret;

    int first = local_rc != 0 ? c->rank : c->size;
    int rc = MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, c->world);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Allreduce");
    if (first >= c->size) {
        mo_error_clear(err);
        return 0;
    }

    /* code, then the NUL-terminated message; sent as bytes (every rank runs this binary) */
    char packet[sizeof(int32_t) + MO_ERROR_MSG_MAX];
    memset(packet, 0, sizeof packet);
    if (c->rank == first) {
        mo_error_t e = {.code = local_rc};
        const char *msg = err && err->msg[0] ? err->msg : mo_strerror(local_rc);
        mo_strlcpy(e.msg, msg, sizeof e.msg);
        if (c->size > 1 && !has_rank_prefix(e.msg))
            mo_error_prefix(&e, "rank %d", c->rank);
        int32_t code = local_rc;
        memcpy(packet, &code, sizeof code);
        memcpy(packet + sizeof code, e.msg, sizeof e.msg);
    }
    rc = MPI_Bcast(packet, (int)sizeof packet, MPI_BYTE, first, c->world);
    if (rc != MPI_SUCCESS)
        return mo_comm_mpi_error(err, rc, "MPI_Bcast");

    int32_t code;
    memcpy(&code, packet, sizeof code);
    packet[sizeof packet - 1] = '\0';
    if (err) {
        err->code = code;
        mo_strlcpy(err->msg, packet + sizeof code, sizeof err->msg);
    }
    return code;
}
