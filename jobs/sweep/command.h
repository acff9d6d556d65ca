/* command.h - external-command trials, Katib-style
 *
 * `trial: {command: ["python3", "objective.py", "--lr", "${optimizer.lr}"], timeout: 10m}`.
 * The program is started with an argv (never a shell), each `${name}` in an argument replaced
 * by the text of parameter `name` (mo_trial_cmd_expand). Its stdout is read line by line for
 * metrics in Katib's default StdOut format: `name=value` pairs (several per line allowed,
 * separated by spaces, commas or semicolons; names [A-Za-z0-9_.-]+, values floats). A line
 * that also carries `step=` or `epoch=` gives intermediate values at that step; other lines
 * give final values. stdout and stderr are also copied to <workdir>/stdout.log and
 * <workdir>/stderr.log (workdir must exist); the child runs in `cwd`.
 *
 * The child runs in a process group of its own, so stopping a trial (timeout, pruned, stop
 * flag) reaches whatever it started too: SIGTERM to the group, SIGKILL after the grace. When
 * the program itself exits, anything it left running in its group gets SIGKILL: the trial is
 * over, and a forgotten `&` would otherwise hold the pipes open or leak onto the node.
 */
#ifndef MO_JOBS_SWEEP_COMMAND_H
#define MO_JOBS_SWEEP_COMMAND_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

/* Seconds between SIGTERM and SIGKILL when a trial is stopped. */
#define MO_TRIAL_CMD_KILL_GRACE_S 5.0
/* stdout lines longer than this are cut (the rest of the line is logged, not parsed). */
#define MO_TRIAL_CMD_LINE_MAX (64 * 1024)
/* on_idle is called at least this often (milliseconds) while the child runs. */
#define MO_TRIAL_CMD_IDLE_MS 20

/* Check an argv template: every `${...}` must name one of `names` (n of them). On an unknown
 * name: MO_EINVAL, message "command argument 3: unknown parameter '${optimizer.lrr}' (parameters:
 * optimizer.lr, ...)", the argument counted from 0 as in argv. `$${` is a literal `${`; an
 * unclosed `${` is MO_EINVAL too. An empty template (argc 0) is MO_EINVAL. */
int mo_trial_cmd_check(const char *const *argv, size_t argc, const char *const *names, size_t n,
                       mo_error_t *err);

/* Expand the template: *out is a malloc'd NULL-terminated argv (free with
 * mo_trial_cmd_argv_free). */
int mo_trial_cmd_expand(char ***out, const char *const *argv, size_t argc, const char *const *names,
                        const char *const *texts, size_t n, mo_error_t *err);
void mo_trial_cmd_argv_free(char **argv);

typedef struct {
    /* expanded, NULL-terminated; argv[0] searched in PATH (with a '/', relative to cwd) */
    char *const *argv;
    double timeout_s;       /* <= 0: none */
    const char *workdir;    /* the trial's folder (exists): stdout.log and stderr.log go there */
    const char *metric;     /* the objective metric's name */
    const char *const *env; /* extra "NAME=value" entries for the child (may be NULL) */
    size_t n_env;
    /* An intermediate value of `metric`: a line with step= (or, without it, epoch=) gives
     * its step (an integer; a fractional step= or epoch= is ignored). Only finite values are
     * reported (NaN or inf still count for the objective). Return 1 to stop the trial now
     * (pruned: the child gets SIGTERM, then SIGKILL after 5 s), 0 to go on. May be NULL. */
    int (*on_report)(void *ud, int64_t step, double value);
    /* Called at least every 20 ms while the child runs (the controller's message service). May
     * be NULL. */
    void (*on_idle)(void *ud);
    void *ud;
    /* Set to non-zero from a signal handler to stop the child (SIGTERM, SIGKILL after 5 s);
     * the result is then MO_SJ_FAILED with error "stopped". May be NULL. */
    volatile int *stop_flag;
    /* The child's working folder; NULL: Maestro's own (where relative paths in a spec point). */
    const char *cwd;
} mo_trial_cmd_t;

typedef struct {
    int32_t status;   /* MO_SJ_COMPLETED, MO_SJ_PRUNED or MO_SJ_FAILED (io/sweep_journal.h) */
    double objective; /* the last value of `metric` seen (final, else intermediate); NaN none */
    int exit_code;    /* the child's exit status; 128+N when killed by signal N; -1 not run */
    int timed_out;
    int stopped;       /* stop_flag was raised */
    char error[256];   /* why it failed: "exit code 3", "killed by signal 9", "timed out after
                        * 10 s", "stopped", "no value of val_loss on stdout", "objective is NaN"
                        * (or inf, -inf), "cannot start 'foo': No such file or directory" */
    int64_t n_reports; /* on_report calls made */
} mo_trial_cmd_result_t;

/* Run the command to its end. Returns 0 when the result is filled (whatever the trial's
 * outcome, including a program that cannot be started), a negative code only for bad arguments
 * (MO_EINVAL) and failures of Maestro itself (MO_ENOMEM, MO_EIO: no pipe, no log file). The
 * objective is the last final value of `metric` when a line without step gave one, else the
 * last intermediate value; after pruning, the value that got the trial pruned. The child is
 * always reaped before this returns; code elsewhere that reaps any child (waitpid(-1)) would
 * take its exit status (exit_code then stays -1). The metric name must match [A-Za-z0-9_.-]+
 * (MO_EINVAL otherwise: no stdout line could ever carry it). */
int mo_trial_cmd_run(const mo_trial_cmd_t *c, mo_trial_cmd_result_t *r, mo_error_t *err);

#endif
