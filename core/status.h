/* status.h - Maestro status codes and the error struct
 *
 * Every function that can fail returns 0 or a negative MO_E* code. The numbers are part of
 * the ABI seen by plugins and scripts: they are never renumbered, only appended. Detail goes
 * in an optional mo_error_t passed last (flux_error_t / curl's error buffer style).
 */
#ifndef MO_CORE_STATUS_H
#define MO_CORE_STATUS_H

#include <stdarg.h>

enum {
    MO_OK = 0,
    MO_EINVAL = -1,    /* bad input: spec, CLI, data */
    MO_ENOMEM = -2,    /* allocation failed */
    MO_EIO = -3,       /* file system or HDF5 I/O failure */
    MO_EMPI = -4,      /* MPI reported an error */
    MO_ENOTFOUND = -5, /* a file, key or dataset that must exist does not */
    MO_EFORMAT = -6,   /* a file exists but its content is not what it must be */
    MO_ENOTBUILT = -7, /* the feature exists in the design but is not built yet */
    MO_ECUDA = -8,     /* CUDA / cuBLAS / NCCL failure */
    MO_EPLUGIN = -9,   /* a plugin failed to load or answered with an error */
    MO_EGATE = -10,    /* a quality gate was not met */
    MO_ESTOPPED = -11, /* stopped by a signal after checkpointing */
    MO_ERUNTIME = -12, /* the job failed while running (divergence, ...) */
    MO_EDEPEND = -13,  /* a dependency (library, service, device) is missing */
    MO_ESERVICE = -14, /* a remote service answered with an error or not at all */
};

/* Process exit codes (DESIGN.md "Exit codes"). */
enum {
    MO_EXIT_OK = 0,
    MO_EXIT_FAILED = 1,
    MO_EXIT_BADINPUT = 2,
    MO_EXIT_GATE = 3,
    MO_EXIT_ENV = 4,
    MO_EXIT_STOPPED = 143,
};

#define MO_ERROR_MSG_MAX 256

typedef struct {
    int code;
    char msg[MO_ERROR_MSG_MAX];
} mo_error_t;

/* Static text for a code; never NULL. */
const char *mo_strerror(int code);

/* The process exit code a failure with `code` maps to. */
int mo_status_exit_code(int code);

/* Fill `err` (may be NULL) and return `code`, so error paths read
 * `return mo_errorf(err, MO_EINVAL, "...")`. Messages longer than the buffer are cut. */
int mo_errorf(mo_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mo_verrorf(mo_error_t *err, int code, const char *fmt, va_list ap);

/* Put `prefix: ` in front of the message already in `err`; returns err->code (0 if err NULL). */
int mo_error_prefix(mo_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mo_error_clear(mo_error_t *err);

/* Internal invariants only; bad input is never an assert. */
void mo_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define MO_ASSERT(e) ((e) ? (void)0 : mo_assert_fail(#e, __FILE__, __LINE__))

#endif
