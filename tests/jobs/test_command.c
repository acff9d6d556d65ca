/* test_command.c - external-command trials: templates, metrics, timeouts, process groups
 *
 * Children are /bin/sh one-liners (no helper files): sh's echo is a builtin that writes
 * straight to the pipe, so no stdio buffering blurs the timing assertions.
 */
#include "jobs/sweep/command.h"
#include "core/time.h"
#include "io/sweep_journal.h"
#include "tests/unit.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh working folder per run. */
static const char *workdir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    return path;
}

static char *slurp(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n;
    char *s = malloc(cap + 1);
    n = fread(s, 1, cap, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

typedef struct {
    int64_t steps[16];
    double values[16];
    int n;
    int64_t prune_at; /* on_report returns 1 at this step; -1 never */
    int idle_calls;
    double last_idle, max_gap;
    int stop_after_idle; /* raise *stop after this many on_idle calls; 0 never */
    volatile int stop;
} rec_t;

static int on_report(void *ud, int64_t step, double value)
{
    rec_t *rec = ud;
    if (rec->n < 16) {
        rec->steps[rec->n] = step;
        rec->values[rec->n] = value;
    }
    rec->n++;
    return step == rec->prune_at;
}

static void on_idle(void *ud)
{
    rec_t *rec = ud;
    double now = mo_time_mono();
    if (rec->idle_calls > 0 && now - rec->last_idle > rec->max_gap)
        rec->max_gap = now - rec->last_idle;
    rec->last_idle = now;
    rec->idle_calls++;
    if (rec->stop_after_idle && rec->idle_calls >= rec->stop_after_idle)
        rec->stop = 1;
}

/* Run `sh -c script` in workdir `dir` with metric "loss"; returns the elapsed seconds. */
static double run_sh(const char *dir, const char *script, double timeout, rec_t *rec,
                     mo_trial_cmd_result_t *r)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    mo_trial_cmd_t c = {.argv = argv,
                        .timeout_s = timeout,
                        .workdir = dir,
                        .cwd = dir,
                        .metric = "loss",
                        .on_report = on_report,
                        .on_idle = on_idle,
                        .ud = rec,
                        .stop_flag = &rec->stop};
    mo_error_t err = {0};
    double t0 = mo_time_mono();
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, r, &err), 0);
    return mo_time_mono() - t0;
}

/* No child of this process is left, zombie or alive. */
static void assert_no_children(void)
{
    int st;
    errno = 0;
    CU_ASSERT_EQUAL(waitpid(-1, &st, WNOHANG), -1);
    CU_ASSERT_EQUAL(errno, ECHILD);
}

/* 1 when `pid` is gone or a zombie (a container's init may be slow to reap orphans). */
static int process_dead(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static pid_t read_pid(const char *dir, const char *name)
{
    char *s = NULL;
    for (int i = 0; i < 100 && !(s = slurp(dir, name)); i++)
        usleep(10000);
    pid_t pid = s ? (pid_t)strtol(s, NULL, 10) : 0;
    free(s);
    return pid;
}

static int wait_dead(pid_t pid, double seconds)
{
    double t0 = mo_time_mono();
    while (mo_time_mono() - t0 < seconds) {
        if (process_dead(pid))
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_command__substitutes_parameters_and_escapes(void)
{
    const char *names[] = {"optimizer.lr", "layers"}, *texts[] = {"0.01", "3"};
    const char *argv[] = {"python3", "--lr=${optimizer.lr}", "${layers}x${layers}", "$${layers}",
                          "a$b$",    "${optimizer.lr}"};
    char **out = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_trial_cmd_check(argv, 6, names, 2, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_trial_cmd_expand(&out, argv, 6, names, texts, 2, &err), 0);
    CU_ASSERT_STRING_EQUAL(out[0], "python3");
    CU_ASSERT_STRING_EQUAL(out[1], "--lr=0.01");
    CU_ASSERT_STRING_EQUAL(out[2], "3x3");
    CU_ASSERT_STRING_EQUAL(out[3], "${layers}");
    CU_ASSERT_STRING_EQUAL(out[4], "a$b$");
    CU_ASSERT_STRING_EQUAL(out[5], "0.01");
    CU_ASSERT_PTR_NULL(out[6]);
    mo_trial_cmd_argv_free(out);
    mo_trial_cmd_argv_free(NULL);
}

static void test_command__unknown_or_unclosed_names_are_errors(void)
{
    const char *names[] = {"optimizer.lr", "layers"}, *texts[] = {"0.01", "3"};
    const char *bad[] = {"python3", "objective.py", "--lr", "${optimizer.lrr}"};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_trial_cmd_check(bad, 4, names, 2, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "command argument 3: unknown parameter '${optimizer.lrr}' "
                                    "(parameters: optimizer.lr, layers)");
    char **out = (char **)&err; /* must be reset to NULL */
    CU_ASSERT_EQUAL(mo_trial_cmd_expand(&out, bad, 4, names, texts, 2, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    const char *open[] = {"x", "--lr=${optimizer.lr"};
    CU_ASSERT_EQUAL(mo_trial_cmd_check(open, 2, names, 2, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "command argument 1: unclosed '${'"));
    const char *later[] = {"x", "${layers}", "${}"}; /* the first argument fine, not the next */
    CU_ASSERT_EQUAL(mo_trial_cmd_expand(&out, later, 3, names, texts, 2, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "command argument 2: unknown parameter '${}'"));
    /* Bad arguments. */
    CU_ASSERT_EQUAL(mo_trial_cmd_check(NULL, 1, names, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_trial_cmd_check(bad, 0, names, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_trial_cmd_check(bad, 4, NULL, 2, &err), MO_EINVAL);
    const char *null_arg[] = {"x", NULL};
    CU_ASSERT_EQUAL(mo_trial_cmd_check(null_arg, 2, names, 2, &err), MO_EINVAL);
    const char *ok[] = {"x"};
    CU_ASSERT_EQUAL(mo_trial_cmd_expand(NULL, ok, 1, names, texts, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_trial_cmd_expand(&out, ok, 1, names, NULL, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_trial_cmd_check(ok, 1, NULL, 0, NULL), 0);
}

static void test_command__epoch_lines_report_and_last_final_line_is_objective(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    const char *dir = workdir("epochs");
    run_sh(dir,
           "echo 'epoch=1 loss=0.5'; echo 'Epoch 2/3: epoch=2, loss = 0.4; acc=0.7'; "
           "echo 'epoch=3 step=30 loss=0.3 name=abc'; echo 'loss=abc'; echo 'x/loss=9'; "
           "echo 'loss=0.25'",
           0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_COMPLETED);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.25, 0);
    CU_ASSERT_STRING_EQUAL(r.error, "");
    CU_ASSERT_EQUAL(r.n_reports, 3);
    CU_ASSERT_EQUAL_FATAL(rec.n, 3);
    CU_ASSERT_EQUAL(rec.steps[0], 1);
    CU_ASSERT_DOUBLE_EQUAL(rec.values[0], 0.5, 0);
    CU_ASSERT_EQUAL(rec.steps[1], 2);
    CU_ASSERT_DOUBLE_EQUAL(rec.values[1], 0.4, 0);
    CU_ASSERT_EQUAL(rec.steps[2], 30); /* step= wins over epoch= */
    CU_ASSERT_DOUBLE_EQUAL(rec.values[2], 0.3, 0);

    /* Without a final line the last intermediate value is the objective. */
    rec_t rec2 = {.prune_at = -1};
    run_sh(workdir("no_final"), "echo 'step=1 loss=0.9'; echo 'step=2 loss=0.8'", 0, &rec2, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_COMPLETED);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.8, 0);
    CU_ASSERT_EQUAL(rec2.n, 2);

    /* A final line is the objective even when intermediate values follow it. */
    run_sh(workdir("final_first"), "echo 'loss=0.1'; echo 'step=5 loss=0.9'", 0, &rec2, &r);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.1, 0);
    assert_no_children();
}

static void test_command__logs_are_copied_and_last_partial_line_counts(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    const char *dir = workdir("logs");
    run_sh(dir, "echo out1; echo err1 >&2; printf 'loss=0.125'", 0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_COMPLETED);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.125, 0);
    char *out = slurp(dir, "stdout.log"), *errlog = slurp(dir, "stderr.log");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errlog);
    CU_ASSERT_STRING_EQUAL(out, "out1\nloss=0.125");
    CU_ASSERT_STRING_EQUAL(errlog, "err1\n");
    free(out);
    free(errlog);
}

static void test_command__overlong_line_is_cut_not_fatal(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    const char *dir = workdir("long");
    /* 100000 x's then loss=7 on the same line (beyond the cut), then a normal line. */
    run_sh(dir,
           "head -c 100000 /dev/zero | tr '\\0' x; echo ' loss=7'; echo 'loss=0.5'; "
           "head -c 70000 /dev/zero | tr '\\0' ' '; echo 'loss=3'",
           0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_COMPLETED);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.5, 0);
    char *out = slurp(dir, "stdout.log");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(strlen(out), 100000 + 8 + 9 + 70000 + 7);
    free(out);

    /* The cut falls inside a value: loss=0.123456 must not be read as loss=0. */
    char script[128];
    snprintf(script, sizeof script, "head -c %d /dev/zero | tr '\\0' ' '; echo loss=0.123456",
             MO_TRIAL_CMD_LINE_MAX - 6);
    run_sh(workdir("cut_value"), script, 0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_STRING_EQUAL(r.error, "no value of loss on stdout");
}

static void test_command__prune_stops_a_long_child_quickly(void)
{
    rec_t rec = {.prune_at = 2};
    mo_trial_cmd_result_t r;
    double t = run_sh(workdir("prune"),
                      "i=0; while true; do i=$((i+1)); echo \"step=$i loss=0.$i\"; sleep 0.1; "
                      "done",
                      0, &rec, &r);
    CU_ASSERT(t < 3.0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_PRUNED);
    CU_ASSERT_EQUAL(r.n_reports, 2);
    CU_ASSERT_EQUAL(rec.n, 2);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.2, 0);
    CU_ASSERT_EQUAL(r.timed_out, 0);

    /* Lines read together with the pruning one (one printf, one write) are not reported. */
    rec_t rec2 = {.prune_at = 2};
    t = run_sh(workdir("prune_burst"),
               "printf 'step=1 loss=1\\nstep=2 loss=2\\nstep=3 loss=3\\nloss=4\\n'; sleep 30", 0,
               &rec2, &r);
    CU_ASSERT(t < 3.0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_PRUNED);
    CU_ASSERT_EQUAL(rec2.n, 2);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 2.0, 0);
    assert_no_children();
}

static void test_command__timeout_kills_child_and_reaps_it(void)
{
    char *argv[] = {"sleep", "30", NULL};
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_t c = {.argv = argv,
                        .timeout_s = 0.3,
                        .workdir = workdir("timeout"),
                        .metric = "loss",
                        .on_idle = on_idle,
                        .ud = &rec};
    mo_trial_cmd_result_t r;
    double t0 = mo_time_mono();
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, &r, NULL), 0);
    double t = mo_time_mono() - t0;
    CU_ASSERT(t >= 0.3);
    CU_ASSERT(t < 6.0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.timed_out, 1);
    CU_ASSERT_STRING_EQUAL(r.error, "timed out after 0.3 s");
    CU_ASSERT_EQUAL(r.exit_code, 128 + SIGTERM);
    assert_no_children();
    /* on_idle ran all along, never left alone much longer than its period. */
    CU_ASSERT(rec.idle_calls >= 5);
    CU_ASSERT(rec.max_gap < 0.1);
}

static void test_command__child_does_not_inherit_ignored_or_blocked_signals(void)
{
    /* A controller that ignores and blocks SIGTERM itself must still stop trials on time. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigset_t term, old_mask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGTERM, &ign, &old), 0);
    CU_ASSERT_EQUAL_FATAL(sigprocmask(SIG_BLOCK, &term, &old_mask), 0);
    char *argv[] = {"sleep", "30", NULL};
    mo_trial_cmd_t c = {
        .argv = argv, .timeout_s = 0.3, .workdir = workdir("sigdef"), .metric = "l"};
    mo_trial_cmd_result_t r;
    double t0 = mo_time_mono();
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, &r, NULL), 0);
    CU_ASSERT(mo_time_mono() - t0 < 3.0);
    CU_ASSERT_EQUAL(r.exit_code, 128 + SIGTERM); /* not SIGKILL after the grace */
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGTERM, &old, NULL);
}

static void test_command__timeout_kills_grandchildren(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    const char *dir = workdir("grandchild");
    /* The pid file is relative: it also shows that the child runs in its workdir. */
    double t = run_sh(dir, "sleep 30 & echo $! > gpid; wait", 0.3, &rec, &r);
    CU_ASSERT(t < 6.0);
    CU_ASSERT_EQUAL(r.timed_out, 1);
    pid_t g = read_pid(dir, "gpid");
    CU_ASSERT_FATAL(g > 0);
    CU_ASSERT(wait_dead(g, 3.0));
    assert_no_children();
}

static void test_command__leftover_background_process_does_not_hold_the_trial(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    const char *dir = workdir("leftover");
    /* sh exits at once, but sleep keeps stdout open: the group is killed when sh is done. */
    double t = run_sh(dir, "sleep 30 & echo $! > gpid; echo loss=1", 0, &rec, &r);
    CU_ASSERT(t < 3.0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_COMPLETED);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 1.0, 0);
    pid_t g = read_pid(dir, "gpid");
    CU_ASSERT_FATAL(g > 0);
    CU_ASSERT(wait_dead(g, 3.0));
}

static void test_command__sigterm_ignored_gets_sigkill_after_grace(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    /* The trap is inherited by sleep: the whole group ignores SIGTERM. */
    double t = run_sh(workdir("grace"), "trap '' TERM; sleep 30", 0.2, &rec, &r);
    CU_ASSERT(t >= 0.2 + MO_TRIAL_CMD_KILL_GRACE_S - 0.05);
    CU_ASSERT(t < 0.2 + MO_TRIAL_CMD_KILL_GRACE_S + 3.0);
    CU_ASSERT_EQUAL(r.timed_out, 1);
    CU_ASSERT_EQUAL(r.exit_code, 128 + SIGKILL);
    assert_no_children();
}

static void test_command__stop_flag_stops_the_child(void)
{
    rec_t rec = {.prune_at = -1, .stop_after_idle = 5};
    mo_trial_cmd_result_t r;
    double t = run_sh(workdir("stop"), "echo 'step=1 loss=0.5'; sleep 30", 0, &rec, &r);
    CU_ASSERT(t < 3.0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.stopped, 1);
    CU_ASSERT_STRING_EQUAL(r.error, "stopped");
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 0.5, 0);
    assert_no_children();
}

static void test_command__exit_codes_and_missing_values_fail(void)
{
    rec_t rec = {.prune_at = -1};
    mo_trial_cmd_result_t r;
    run_sh(workdir("exit3"), "echo loss=1; exit 3", 0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT_STRING_EQUAL(r.error, "exit code 3");

    run_sh(workdir("exit130"), "exit 130", 0, &rec, &r);
    CU_ASSERT_STRING_EQUAL(r.error, "exit code 130");

    run_sh(workdir("sig9"), "echo loss=1; kill -9 $$", 0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, 128 + 9);
    CU_ASSERT_STRING_EQUAL(r.error, "killed by signal 9");

    run_sh(workdir("novalue"), "echo acc=0.9; echo 'epoch=1 loss=abc'", 0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_STRING_EQUAL(r.error, "no value of loss on stdout");
    CU_ASSERT(isnan(r.objective));

    int reports = rec.n;
    run_sh(workdir("nan"), "echo 'epoch=1 loss=0.5'; echo 'epoch=2 loss=nan'; echo loss=NaN", 0,
           &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_STRING_EQUAL(r.error, "objective is NaN");
    CU_ASSERT(isnan(r.objective));
    CU_ASSERT_EQUAL(rec.n - reports, 1); /* NaN is not reported to the pruner */

    run_sh(workdir("inf"), "echo loss=-inf", 0, &rec, &r);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_STRING_EQUAL(r.error, "objective is -inf");
    assert_no_children();
}

static void test_command__missing_program_is_a_failed_trial(void)
{
    char *argv[] = {"maestro-no-such-program-xyz", "--lr", "1", NULL};
    const char *dir = workdir("missing");
    mo_trial_cmd_t c = {.argv = argv, .workdir = dir, .metric = "loss", .cwd = dir};
    mo_trial_cmd_result_t r;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, &r, &err), 0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, -1);
    CU_ASSERT_STRING_EQUAL(r.error,
                           "cannot start 'maestro-no-such-program-xyz': No such file or directory");
    char *log = slurp(dir, "stderr.log");
    CU_ASSERT(log && strstr(log, "cannot start"));
    free(log);
    assert_no_children();
}

static void test_command__env_entries_reach_the_child(void)
{
    CU_ASSERT_EQUAL_FATAL(setenv("MO_TEST_CMD_OVERRIDE", "old", 1), 0);
    char *argv[] = {"sh", "-c", "echo \"loss=$MO_TEST_CMD_VALUE$MO_TEST_CMD_OVERRIDE\"", NULL};
    const char *env[] = {"MO_TEST_CMD_VALUE=4", "MO_TEST_CMD_OVERRIDE=2"};
    mo_trial_cmd_t c = {
        .argv = argv, .workdir = workdir("env"), .metric = "loss", .env = env, .n_env = 2};
    mo_trial_cmd_result_t r;
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, &r, NULL), 0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_COMPLETED);
    CU_ASSERT_DOUBLE_EQUAL(r.objective, 42.0, 0); /* "4old" would be no value */
    unsetenv("MO_TEST_CMD_OVERRIDE");
}

static void test_command__sigchld_ignored_does_not_hang(void)
{
    /* With SIGCHLD ignored the kernel reaps the child itself: the run must still end. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGCHLD, &ign, &old), 0);
    char *argv[] = {"sh", "-c", "echo loss=1", NULL};
    mo_trial_cmd_t c = {
        .argv = argv, .timeout_s = 10, .workdir = workdir("nochld"), .metric = "loss"};
    mo_trial_cmd_result_t r;
    double t0 = mo_time_mono();
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, &r, NULL), 0);
    CU_ASSERT(mo_time_mono() - t0 < 3.0);
    CU_ASSERT_EQUAL(r.status, MO_SJ_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "exit status unknown"));
    sigaction(SIGCHLD, &old, NULL);
}

static void test_command__run_rejects_bad_arguments(void)
{
    char *argv[] = {"true", NULL}, *empty[] = {NULL};
    const char *bad_env[] = {"NOEQUALS"};
    mo_trial_cmd_t c = {.argv = argv, .workdir = mo_test_tmpdir(), .metric = "loss"};
    mo_trial_cmd_result_t r;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_trial_cmd_run(NULL, &r, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(r.exit_code, -1);
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&c, NULL, &err), MO_EINVAL);
    mo_trial_cmd_t d = c;
    d.argv = empty;
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&d, &r, &err), MO_EINVAL);
    d = c;
    d.metric = "";
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&d, &r, &err), MO_EINVAL);
    d = c;
    d.metric = "val/loss";
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&d, &r, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "metric 'val/loss'"));
    d = c;
    d.workdir = NULL;
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&d, &r, &err), MO_EINVAL);
    d = c;
    d.env = bad_env;
    d.n_env = 1;
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&d, &r, &err), MO_EINVAL);
    d = c;
    d.workdir = "/nonexistent/maestro-test";
    CU_ASSERT_EQUAL(mo_trial_cmd_run(&d, &r, &err), MO_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stdout.log"));
    assert_no_children();
}

static CU_TestInfo tests[] = {
    MO_TEST(test_command__substitutes_parameters_and_escapes),
    MO_TEST(test_command__unknown_or_unclosed_names_are_errors),
    MO_TEST(test_command__epoch_lines_report_and_last_final_line_is_objective),
    MO_TEST(test_command__logs_are_copied_and_last_partial_line_counts),
    MO_TEST(test_command__overlong_line_is_cut_not_fatal),
    MO_TEST(test_command__prune_stops_a_long_child_quickly),
    MO_TEST(test_command__timeout_kills_child_and_reaps_it),
    MO_TEST(test_command__child_does_not_inherit_ignored_or_blocked_signals),
    MO_TEST(test_command__timeout_kills_grandchildren),
    MO_TEST(test_command__leftover_background_process_does_not_hold_the_trial),
    MO_TEST(test_command__sigterm_ignored_gets_sigkill_after_grace),
    MO_TEST(test_command__stop_flag_stops_the_child),
    MO_TEST(test_command__exit_codes_and_missing_values_fail),
    MO_TEST(test_command__missing_program_is_a_failed_trial),
    MO_TEST(test_command__env_entries_reach_the_child),
    MO_TEST(test_command__sigchld_ignored_does_not_hang),
    MO_TEST(test_command__run_rejects_bad_arguments),
    CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/command", tests);
}
