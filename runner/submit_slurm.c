/* submit_slurm.c - `maestro submit --target slurm` and `maestro status JOB`: sbatch and squeue
 *
 * The job is a bash script rendered from launch.slurm and handed to `sbatch --parsable` on its
 * standard input (fork/exec, argv array; no temp file, no libslurm). Every value in it is one
 * single-quoted word (mo_submit_shell_quote), so a spec name holding quotes, spaces or `$(...)`
 * stays literal. #SBATCH lines are read by sbatch, not bash: it honours the same quotes but
 * also treats a backslash as an escape, so values holding a backslash or a newline are refused
 * rather than changed, and '%' in file names (a Slurm pattern) is written as "%%".
 *
 * Time limits: `--signal=B:USR1@120` wakes the batch shell 120 s before the limit; it passes
 * USR1 to mpirun, which forwards it to every rank; the ranks checkpoint and exit 143, and the
 * script requeues the job (`scontrol requeue`, allowed by `--requeue`). A job that starts again
 * (SLURM_RESTART_COUNT > 0: requeued after the limit, by `scontrol requeue`, a node failure or
 * preemption) runs the same line: `maestro run` sees the restart count and resumes by itself
 * when the output folder holds a checkpoint or journal, and starts fresh when it does not
 * (runner/slurm_env.h), so a job requeued before its first checkpoint does not fail.
 */
#include "runner/submit.h"

#include "core/str.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SBATCH_SIGNAL_MARGIN_S 120

/* One `#SBATCH --key=VALUE` line. */
static int sbatch_line(mo_buf_t *b, const char *key, const char *value, mo_error_t *err)
{
    if (strpbrk(value, "\\\n\r"))
        return mo_errorf(err, MO_EINVAL,
                         "submit slurm: --%s value \"%s\" holds a backslash or a line break, "
                         "which an #SBATCH line cannot carry literally",
                         key, value);
    mo_buf_printf(b, "#SBATCH --%s=", key);
    mo_submit_shell_quote(b, value);
    mo_buf_puts(b, "\n");
    return b->failed ? mo_errorf(err, MO_ENOMEM, "out of memory") : 0;
}

/* An #SBATCH --output/--error line: the folder with '%' doubled (Slurm's file name patterns),
 * then slurm-%j.SUFFIX, where %j is the job id. */
static int log_line(mo_buf_t *b, const char *key, const char *dir, const char *suffix,
                    mo_error_t *err)
{
    mo_buf_t path = {0};
    for (const char *p = dir; *p; p++)
        mo_buf_append(&path, *p == '%' ? "%%" : p, *p == '%' ? 2 : 1);
    mo_buf_printf(&path, "/slurm-%%j.%s", suffix);
    int rc = path.failed ? mo_errorf(err, MO_ENOMEM, "out of memory")
                         : sbatch_line(b, key, path.data, err);
    mo_buf_free(&path);
    return rc;
}

static void word(mo_buf_t *b, const char *s)
{
    mo_buf_puts(b, " ");
    mo_submit_shell_quote(b, s);
}

/* The script, malloc'd in *out. */
static int render(char **out, const mo_submit_t *s, mo_error_t *err)
{
    const mo_launch_slurm_t *l = &s->cluster->slurm;
    const char *maestro = l->maestro ? l->maestro : s->maestro;
    mo_buf_t b = {0};
    int rc = 0;
    *out = NULL;
    mo_buf_puts(&b, "#!/bin/bash\n# Written by 'maestro submit --target slurm'; submit again to "
                    "change it.\n");
    rc = sbatch_line(&b, "job-name", s->name, err);
    mo_buf_printf(&b, "#SBATCH --nodes=%" PRId64 "\n", l->nodes);
    mo_buf_printf(&b, "#SBATCH --ntasks-per-node=%" PRId64 "\n", l->ntasks_per_node);
    mo_buf_printf(&b, "#SBATCH --cpus-per-task=%" PRId64 "\n", l->cpus_per_task);
    if (l->gpus_per_node > 0)
        mo_buf_printf(&b, "#SBATCH --gpus-per-node=%" PRId64 "\n", l->gpus_per_node);
    if (!rc)
        rc = sbatch_line(&b, "time", l->time, err);
    if (!rc && l->partition)
        rc = sbatch_line(&b, "partition", l->partition, err);
    if (!rc && l->account)
        rc = sbatch_line(&b, "account", l->account, err);
    if (!rc)
        rc = sbatch_line(&b, "chdir", s->workdir, err);
    if (!rc)
        rc = log_line(&b, "output", s->output_dir, "out", err);
    if (!rc)
        rc = log_line(&b, "error", s->output_dir, "err", err);
    if (rc)
        goto out;
    mo_buf_printf(&b,
                  "#SBATCH --open-mode=append\n"
                  "#SBATCH --signal=B:USR1@%d\n"
                  "#SBATCH --requeue\n\n"
                  "set -u\n"
                  "# A job that starts again (requeued at the time limit, after a node failure or\n"
                  "# preemption) continues from its newest checkpoint: maestro sees\n"
                  "# SLURM_RESTART_COUNT and resumes by itself.\n"
                  "# USR1 comes %d s before the time limit: every rank checkpoints and exits "
                  "143,\n"
                  "# then the job goes back into the queue.\n"
                  "stopping=0\n"
                  "trap 'stopping=1; kill -USR1 \"$pid\" 2>/dev/null' USR1\n"
                  "mpirun",
                  SBATCH_SIGNAL_MARGIN_S, SBATCH_SIGNAL_MARGIN_S);
    word(&b, maestro);
    word(&b, "run");
    word(&b, s->spec_path);
    if (s->cluster_path) {
        word(&b, "--cluster");
        word(&b, s->cluster_path);
    }
    for (size_t i = 0; i < s->n_sets; i++) {
        word(&b, "--set");
        word(&b, s->sets[i]);
    }
    mo_buf_puts(&b, " &\n"
                    "pid=$!\n"
                    "wait \"$pid\"\n"
                    "rc=$?\n"
                    "# wait returns early when the trap runs: wait again for the real status\n"
                    "while kill -0 \"$pid\" 2>/dev/null; do\n"
                    "    wait \"$pid\"\n"
                    "    rc=$?\n"
                    "done\n"
                    "if [ \"$stopping\" = 1 ] && [ \"$rc\" -eq 143 ]; then\n"
                    "    scontrol requeue \"$SLURM_JOB_ID\" && exit 0\n"
                    "fi\n"
                    "exit \"$rc\"\n");
    if (b.failed)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
out:
    if (!rc)
        *out = mo_buf_steal(&b);
    mo_buf_free(&b);
    return rc;
}

/* Run argv[0] (PATH lookup) with `input` on its stdin (NULL: /dev/null), its stdout read into
 * `buf` (NUL-terminated, cut at size-1), stderr passed through unless `quiet`. *status is the
 * exit status, or 128+signal. */
static int run_capture(int *status, char *buf, size_t size, char *const argv[], const char *input,
                       int quiet, mo_error_t *err)
{
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, ex[2] = {-1, -1};
    if (pipe(in) || pipe(outp) || pipe(ex)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (outp[i] >= 0)
                close(outp[i]);
            if (ex[i] >= 0)
                close(ex[i]);
        }
        return mo_errorf(err, MO_EIO, "pipe: %s", strerror(e));
    }
    fcntl(ex[1], F_SETFD, FD_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]), close(in[1]), close(outp[0]), close(outp[1]), close(ex[0]), close(ex[1]);
        return mo_errorf(err, MO_EIO, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        if (quiet) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0)
                dup2(null, 2);
        }
        close(in[0]), close(in[1]), close(outp[0]), close(outp[1]), close(ex[0]);
        execvp(argv[0], argv);
        int e = errno;
        if (write(ex[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    close(in[0]), close(outp[1]), close(ex[1]);
    /* The inputs here are small (a script of a few kB): write it all, then read. */
    signal(SIGPIPE, SIG_IGN);
    size_t left = input ? strlen(input) : 0;
    const char *p = input;
    while (left > 0) {
        ssize_t w = write(in[1], p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    close(in[1]);
    size_t got = 0;
    for (;;) {
        char tmp[1024];
        ssize_t r = read(outp[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t n = (size_t)r < size - 1 - got ? (size_t)r : size - 1 - got;
        memcpy(buf + got, tmp, n);
        got += n;
    }
    buf[got] = '\0';
    close(outp[0]);
    int exec_errno = 0;
    ssize_t r = read(ex[0], &exec_errno, sizeof exec_errno);
    close(ex[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (r == (ssize_t)sizeof exec_errno)
        return mo_errorf(err, exec_errno == ENOENT ? MO_EDEPEND : MO_EIO,
                         "cannot run %s: %s (is Slurm's client installed and on PATH?)", argv[0],
                         strerror(exec_errno));
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return 0;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

int mo_submit_slurm(const mo_submit_t *s, mo_error_t *err)
{
    if (!s || !s->cluster || !s->spec_path || !s->maestro || !s->name || !s->workdir ||
        !s->output_dir)
        return mo_errorf(err, MO_EINVAL, "submit slurm: incomplete submission");
    char *script = NULL;
    int rc = render(&script, s, err);
    if (rc)
        return rc;
    if (s->dry_run) {
        fputs(script, stdout);
        free(script);
        return 0;
    }
    /* Slurm opens the log files in the output folder before the run would create it. */
    mo_buf_t mk = {0};
    for (const char *p = s->output_dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            mo_buf_free(&mk);
            mo_buf_append(&mk, s->output_dir, (size_t)(p - s->output_dir));
            if (!mk.failed && mkdir(mk.data, 0755) != 0 && errno != EEXIST) {
                rc = mo_errorf(err, MO_EIO, "submit slurm: cannot create %s: %s", mk.data,
                               strerror(errno));
                break;
            }
        }
        if (*p == '\0')
            break;
    }
    mo_buf_free(&mk);
    char out[256];
    int status = 0;
    char *argv[] = {"sbatch", "--parsable", NULL};
    if (!rc)
        rc = run_capture(&status, out, sizeof out, argv, script, 0, err);
    free(script);
    if (rc)
        return rc;
    chomp(out);
    if (status != 0)
        return mo_errorf(err, MO_ESERVICE, "sbatch failed (exit %d); its message is above", status);
    char *semi = strchr(out, ';'); /* "JOBID;CLUSTER" on multi-cluster setups */
    if (semi)
        *semi = '\0';
    int64_t id;
    if (mo_parse_int64(out, &id) || id <= 0)
        return mo_errorf(err, MO_ESERVICE, "sbatch --parsable printed \"%s\", not a job id", out);
    printf("submitted batch job %" PRId64 "\n", id);
    return 0;
}

/* The value of `key=` in a one-line `scontrol show job -o` record, into buf. */
static int field(char *buf, size_t size, const char *record, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = record; (p = strstr(p, key)); p += kl) {
        if ((p == record || isspace((unsigned char)p[-1])) && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t n = strcspn(v, " \t\n");
            if (n >= size)
                n = size - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            return 0;
        }
    }
    return -1;
}

int mo_submit_slurm_status(const char *job, mo_error_t *err)
{
    if (!job || !*job || strspn(job, "0123456789_") != strlen(job) || !isdigit((unsigned char)*job))
        return mo_errorf(err, MO_EINVAL,
                         "status: job id must be a Slurm job id like 42, got \"%s\"",
                         job ? job : "");
    char out[8192], state[64] = "", code[64] = "", reason[128] = "";
    int status = 0;
    char *show[] = {"scontrol", "show", "job", "-o", (char *)job, NULL};
    int rc = run_capture(&status, out, sizeof out, show, NULL, 1, err);
    if (rc)
        return rc;
    if (status == 0 && field(state, sizeof state, out, "JobState") == 0) {
        field(code, sizeof code, out, "ExitCode");
        field(reason, sizeof reason, out, "Reason");
    } else {
        /* slurmctld forgets a job MinJobAge (300 s) after it ends: ask accounting. */
        char *acct[] = {"sacct", "-n", "-X", "-P", "-o", "State,ExitCode", "-j", (char *)job, NULL};
        rc = run_capture(&status, out, sizeof out, acct, NULL, 1, err);
        if (rc)
            return rc;
        chomp(out);
        char *bar = strchr(out, '|');
        if (status != 0 || !bar || bar == out)
            return mo_errorf(err, MO_ENOTFOUND,
                             "status: Slurm knows no job %s (scontrol has no record of it and "
                             "sacct none either)",
                             job);
        *bar = '\0';
        mo_strlcpy(state, out, sizeof state);
        mo_strlcpy(code, bar + 1, sizeof code);
        state[strcspn(state, " \n")] = '\0';
    }
    printf("job %s: %s", job, state);
    if (code[0])
        printf(" (exit %s)", code);
    if (reason[0] && strcmp(reason, "None") != 0)
        printf(" reason %s", reason);
    printf("\n");
    return 0;
}
