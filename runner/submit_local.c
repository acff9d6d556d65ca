/* submit_local.c - `maestro submit --target local`: mpirun on this machine, and shell quoting
 *
 * The run is started by execvp of an argv array: mpirun -np N [launch.local.mpirun_args...]
 * MAESTRO run SPEC [--cluster FILE] [--set k=v]..., so no value ever passes through a shell.
 * mpirun replaces this process: its exit status is the run's. --dry-run prints that argv one
 * word a line, each shell-quoted, so that what is shown can be pasted back.
 *
 * mo_submit_shell_quote lives here as the one quoting function of every target that writes
 * shell text (the dry run here, the sbatch script of submit_slurm.c).
 */
#include "runner/submit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mo_submit_shell_quote(mo_buf_t *b, const char *s)
{
    /* Inside '...' nothing is special to the shell but ' itself, which cannot be escaped
     * there: close the quote, write an escaped quote, open again. */
    mo_buf_puts(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            mo_buf_puts(b, "'\\''");
        else
            mo_buf_append(b, p, 1);
    }
    mo_buf_puts(b, "'");
    return b->failed ? MO_ENOMEM : 0;
}

int mo_submit_local(const mo_submit_t *s, mo_error_t *err)
{
    if (!s || !s->cluster || !s->spec_path || !s->maestro)
        return mo_errorf(err, MO_EINVAL, "submit local: missing spec, cluster or maestro path");
    const mo_launch_local_t *l = &s->cluster->local;
    size_t n_args = 0;
    while (l->mpirun_args && l->mpirun_args[n_args])
        n_args++;
    /* mpirun -np N args... maestro run spec [--cluster f] [--set x]... NULL */
    size_t cap = 3 + n_args + 3 + 2 + 2 * s->n_sets + 1, n = 0;
    char **argv = calloc(cap, sizeof *argv);
    char np[32];
    mo_buf_t b = {0};
    int rc = 0;
    if (!argv)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    snprintf(np, sizeof np, "%" PRId64, l->np);
    argv[n++] = "mpirun";
    argv[n++] = "-np";
    argv[n++] = np;
    for (size_t i = 0; i < n_args; i++)
        argv[n++] = l->mpirun_args[i];
    argv[n++] = (char *)s->maestro;
    argv[n++] = "run";
    argv[n++] = (char *)s->spec_path;
    if (s->cluster_path) {
        argv[n++] = "--cluster";
        argv[n++] = (char *)s->cluster_path;
    }
    for (size_t i = 0; i < s->n_sets; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)s->sets[i];
    }
    argv[n] = NULL;

    if (s->dry_run) {
        for (size_t i = 0; i < n; i++) {
            mo_submit_shell_quote(&b, argv[i]);
            mo_buf_puts(&b, "\n");
        }
        if (b.failed) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            goto out;
        }
        fputs(b.data, stdout);
        goto out;
    }
    fflush(stdout);
    fflush(stderr);
    execvp(argv[0], argv);
    rc = mo_errorf(err, errno == ENOENT ? MO_EDEPEND : MO_EIO,
                   "submit local: cannot start mpirun: %s (install openmpi-bin, or use "
                   "'maestro run' directly)",
                   strerror(errno));
out:
    mo_buf_free(&b);
    free(argv);
    return rc;
}
