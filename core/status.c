/* status.c - status code names, exit-code mapping and the error struct helpers */
#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mo_strerror(int code)
{
    switch (code) {
    case MO_OK:
        return "ok";
    case MO_EINVAL:
        return "invalid input";
    case MO_ENOMEM:
        return "out of memory";
    case MO_EIO:
        return "I/O error";
    case MO_EMPI:
        return "MPI error";
    case MO_ENOTFOUND:
        return "not found";
    case MO_EFORMAT:
        return "bad file format";
    case MO_ENOTBUILT:
        return "not built yet";
    case MO_ECUDA:
        return "CUDA error";
    case MO_EPLUGIN:
        return "plugin error";
    case MO_EGATE:
        return "quality gate not met";
    case MO_ESTOPPED:
        return "stopped by signal";
    case MO_ERUNTIME:
        return "job failed";
    case MO_EDEPEND:
        return "missing dependency";
    case MO_ESERVICE:
        return "service error";
    default:
        return "unknown error";
    }
}

int mo_status_exit_code(int code)
{
    switch (code) {
    case MO_OK:
        return MO_EXIT_OK;
    case MO_EINVAL:
    case MO_ENOTFOUND:
    case MO_EFORMAT:
    case MO_ENOTBUILT:
        return MO_EXIT_BADINPUT;
    case MO_EGATE:
        return MO_EXIT_GATE;
    case MO_ESTOPPED:
        return MO_EXIT_STOPPED;
    case MO_EIO:
    case MO_EMPI:
    case MO_ENOMEM:
    case MO_ECUDA:
    case MO_EDEPEND:
        return MO_EXIT_ENV;
    default:
        return MO_EXIT_FAILED;
    }
}

int mo_verrorf(mo_error_t *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int mo_errorf(mo_error_t *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mo_verrorf(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int mo_error_prefix(mo_error_t *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    char pre[MO_ERROR_MSG_MAX];
    char old[MO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    char joined[2 * MO_ERROR_MSG_MAX + 2];
    memcpy(old, err->msg, sizeof old);
    snprintf(joined, sizeof joined, "%s: %s", pre, old);
    size_t n = strnlen(joined, sizeof err->msg - 1);
    memcpy(err->msg, joined, n);
    err->msg[n] = '\0';
    return err->code;
}

void mo_error_clear(mo_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

void mo_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "maestro: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
