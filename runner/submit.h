/* submit.h - `maestro submit SPEC --target local|slurm|kubernetes`: where a run is launched
 *
 * cmd_submit.c reads the arguments, cluster.yml and the spec's name, and hands one of the
 * targets this description. Every target builds argv arrays or documents (never a shell
 * string with user text in it): a spec name holding quotes, spaces or `$(...)` stays literal.
 */
#ifndef MO_RUNNER_SUBMIT_H
#define MO_RUNNER_SUBMIT_H

#include "core/status.h"
#include "core/str.h"
#include "runner/cluster.h"

typedef struct {
    const char *spec_path;    /* absolute */
    const char *cluster_path; /* absolute, or NULL for built-in defaults */
    const mo_cluster_t *cluster;
    const char *name;        /* the spec's name: (or its file name) */
    const char *kind;        /* the spec's kind: */
    const char *maestro;     /* absolute path of the running maestro binary */
    int dry_run;             /* print what would be submitted, submit nothing */
    const char *out;         /* -o FILE: write the document there instead of stdout (kubernetes) */
    int apply;               /* kubernetes: kubectl apply -f - */
    const char *const *sets; /* --set overrides to pass on to the run */
    size_t n_sets;
    const char *workdir;    /* absolute: the folder submit ran in; the job runs there too */
    const char *output_dir; /* absolute: the run's output folder (Slurm's log files go there) */
} mo_submit_t;

/* Append `s` to `b` as one POSIX shell word: single-quoted, each ' written as '\''. The
 * result reads back as exactly `s` in sh and bash, whatever `s` holds ($(...), `, ", spaces).
 * Returns 0, or MO_ENOMEM. */
int mo_submit_shell_quote(mo_buf_t *b, const char *s);

/* Each returns 0 or a failure code with a one-line message; what they print goes to stdout. */
int mo_submit_local(const mo_submit_t *s, mo_error_t *err);
int mo_submit_slurm(const mo_submit_t *s, mo_error_t *err);
int mo_submit_kubernetes(const mo_submit_t *s, mo_error_t *err);

/* `maestro status JOB` for Slurm: prints "job JOB: STATE (exit N:S)" from `scontrol show job`,
 * else from sacct once slurmctld has forgotten the job. MO_ENOTFOUND when neither knows it. */
int mo_submit_slurm_status(const char *job, mo_error_t *err);

#endif
