/* command.c - external-command trials: argv templates, a supervised child, StdOut metrics
 *
 * The child is started with posix_spawnp (no shell, so parameter text is never re-parsed) in
 * a process group of its own, stdin on /dev/null and stdout/stderr on pipes. One thread
 * supervises it with a poll() loop that ticks every few milliseconds: it copies both pipes to
 * the logs, parses stdout lines for metrics, calls on_idle, and checks the deadline, the stop
 * flag and whether the child has exited. Exit is detected with waitid(WNOWAIT) so the child
 * stays a zombie, keeping its pid and process group id reserved, until the group has been
 * signalled; only then is it reaped. That is what makes kill(-pgid) safe against pid reuse.
 */
/* posix_spawn_file_actions_addchdir_np and pipe2 are GNU extensions (glibc >= 2.29 and
 * 2.9); Debian 12 has 2.36. */
#define _GNU_SOURCE
#include "jobs/sweep/command.h"

#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/sweep_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The supervisor's tick: half the on_idle period, so a slow iteration still keeps it. */
#define TICK_MS (MO_TRIAL_CMD_IDLE_MS / 2)
/* After the program exited and its group got SIGKILL, a pipe still open can only be held by
 * a process that left the group (setsid); the trial must not wait on it forever. */
#define DRAIN_S 2.0
#define READ_CHUNK 16384

/* ---- templates ------------------------------------------------------------------------------ */

static long find_name(const char *name, size_t len, const char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strlen(names[k]) == len && memcmp(names[k], name, len) == 0)
            return (long)k;
    return -1;
}

static int unknown_name(mo_error_t *err, size_t argi, const char *name, size_t len,
                        const char *const *names, size_t n)
{
    mo_buf_t list = {0};
    for (size_t k = 0; k < n; k++)
        mo_buf_printf(&list, "%s%s", k ? ", " : "", names[k]);
    if (n == 0)
        mo_buf_puts(&list, "none");
    int rc = mo_errorf(err, MO_EINVAL,
                       "command argument %zu: unknown parameter '${%.*s}' "
                       "(parameters: %s)",
                       argi, (int)len, name, list.data && !list.failed ? list.data : "?");
    mo_buf_free(&list);
    return rc;
}

/* Check (out == NULL) or expand one argument. */
static int subst(mo_buf_t *out, const char *arg, size_t argi, const char *const *names,
                 const char *const *texts, size_t n, mo_error_t *err)
{
    const char *p = arg;
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            if (out)
                mo_buf_append(out, "${", 2);
            p += 3;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *close = strchr(p + 2, '}');
            if (!close)
                return mo_errorf(err, MO_EINVAL,
                                 "command argument %zu: unclosed '${' in '%s' (write $${ for a "
                                 "literal ${)",
                                 argi, arg);
            size_t len = (size_t)(close - (p + 2));
            long k = find_name(p + 2, len, names, n);
            if (k < 0)
                return unknown_name(err, argi, p + 2, len, names, n);
            if (out)
                mo_buf_puts(out, texts[k]);
            p = close + 1;
        } else {
            const char *q = strchr(p + 1, '$');
            size_t len = q ? (size_t)(q - p) : strlen(p);
            if (out)
                mo_buf_append(out, p, len);
            p += len;
        }
    }
    if (out && out->failed)
        return mo_errorf(err, MO_ENOMEM, "command argument %zu: out of memory", argi);
    return 0;
}

static int check_args(const char *const *argv, size_t argc, const char *const *names, size_t n,
                      const char *const *texts, int need_texts, mo_error_t *err)
{
    if (!argv || argc == 0)
        return mo_errorf(err, MO_EINVAL, "command is empty");
    if (n && !names)
        return mo_errorf(err, MO_EINVAL, "command: %zu parameter names given as NULL", n);
    if (need_texts && n && !texts)
        return mo_errorf(err, MO_EINVAL, "command: %zu parameter texts given as NULL", n);
    for (size_t i = 0; i < argc; i++)
        if (!argv[i])
            return mo_errorf(err, MO_EINVAL, "command argument %zu is NULL", i);
    for (size_t k = 0; k < n; k++)
        if (!names[k] || (need_texts && !texts[k]))
            return mo_errorf(err, MO_EINVAL, "command: parameter %zu has no %s", k,
                             names[k] ? "text" : "name");
    if (!argv[0][0])
        return mo_errorf(err, MO_EINVAL, "command argument 0 (the program) is empty");
    return 0;
}

int mo_trial_cmd_check(const char *const *argv, size_t argc, const char *const *names, size_t n,
                       mo_error_t *err)
{
    int rc = check_args(argv, argc, names, n, NULL, 0, err);
    for (size_t i = 0; rc == 0 && i < argc; i++)
        rc = subst(NULL, argv[i], i, names, NULL, n, err);
    return rc;
}

void mo_trial_cmd_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

int mo_trial_cmd_expand(char ***out, const char *const *argv, size_t argc, const char *const *names,
                        const char *const *texts, size_t n, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "command: no place for the expanded argv");
    *out = NULL;
    int rc = check_args(argv, argc, names, n, texts, 1, err);
    if (rc)
        return rc;
    char **v = calloc(argc + 1, sizeof *v);
    if (!v)
        return mo_errorf(err, MO_ENOMEM, "command: out of memory");
    for (size_t i = 0; i < argc; i++) {
        mo_buf_t b = {0};
        rc = subst(&b, argv[i], i, names, texts, n, err);
        v[i] = rc ? NULL : mo_buf_steal(&b);
        mo_buf_free(&b);
        if (rc == 0 && !v[i])
            rc = mo_errorf(err, MO_ENOMEM, "command argument %zu: out of memory", i);
        if (rc)
            goto out;
    }
out:
    if (rc) {
        mo_trial_cmd_argv_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* ---- metrics on stdout ---------------------------------------------------------------------- */

typedef struct {
    const mo_trial_cmd_t *c;
    mo_trial_cmd_result_t *r;
    char *line; /* MO_TRIAL_CMD_LINE_MAX + 1 bytes */
    size_t len;
    int cut;    /* the current line overflowed: the rest of it is skipped */
    int frozen; /* the trial is being stopped: later values no longer count */
    int prune;  /* on_report asked to stop */
    int have_value, have_final;
    double last, final;
} parser_t;

static int is_sep(char ch)
{
    return ch == ' ' || ch == '\t' || ch == ',' || ch == ';' || ch == '\r' || ch == '\v' ||
           ch == '\f';
}

static int is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* A float token, nan/inf spellings included (a diverged loss is a value, just not a good
 * one); anything else, e.g. `name=abc` or `time=5s`, is not a metric. */
static int parse_value(const char *s, size_t len, double *v)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end = NULL;
    errno = 0;
    *v = strtod(tmp, &end);
    return end == tmp + len && errno != ERANGE ? 0 : -1;
}

static int as_step(double v, int64_t *step)
{
    /* 2^63 is exact in a double; anything at or past it does not fit. */
    if (!isfinite(v) || v != floor(v) || fabs(v) >= 9223372036854775808.0)
        return -1;
    *step = (int64_t)v;
    return 0;
}

static void parse_line(parser_t *p, const char *s, size_t len)
{
    const char *metric = p->c->metric;
    size_t mlen = strlen(metric);
    int have = 0, have_step = 0, have_epoch = 0;
    double value = 0;
    int64_t step = 0, epoch = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_sep(s[i]))
            i++;
        size_t name = i;
        while (i < len && is_name_char(s[i]))
            i++;
        size_t name_len = i - name, j = i;
        while (j < len && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (name_len == 0 || j >= len || s[j] != '=') {
            while (i < len && !is_sep(s[i])) /* a word that is no pair: "Epoch", "[INFO]" */
                i++;
            continue;
        }
        j++;
        while (j < len && (s[j] == ' ' || s[j] == '\t'))
            j++;
        size_t val = j;
        while (j < len && !is_sep(s[j]))
            j++;
        i = j;
        double v;
        int64_t st;
        if (parse_value(s + val, j - val, &v))
            continue;
        if (name_len == mlen && memcmp(s + name, metric, mlen) == 0) {
            have = 1;
            value = v;
        } else if (name_len == 4 && memcmp(s + name, "step", 4) == 0 && as_step(v, &st) == 0) {
            have_step = 1;
            step = st;
        } else if (name_len == 5 && memcmp(s + name, "epoch", 5) == 0 && as_step(v, &st) == 0) {
            have_epoch = 1;
            epoch = st;
        }
    }
    if (!have)
        return;
    p->have_value = 1;
    p->last = value;
    if (!have_step && !have_epoch) {
        p->have_final = 1;
        p->final = value;
        return;
    }
    if (!isfinite(value) || !p->c->on_report)
        return;
    p->r->n_reports++;
    if (p->c->on_report(p->c->ud, have_step ? step : epoch, value) != 0) {
        p->prune = 1;
        p->frozen = 1;
    }
}

static void end_line(parser_t *p)
{
    if (!p->frozen)
        parse_line(p, p->line, p->len);
    p->len = 0;
    p->cut = 0;
}

static void parser_feed(parser_t *p, const char *data, size_t n)
{
    while (n > 0 && !p->frozen) {
        const char *nl = memchr(data, '\n', n);
        size_t seg = nl ? (size_t)(nl - data) : n;
        if (!p->cut) {
            size_t room = MO_TRIAL_CMD_LINE_MAX - p->len;
            size_t take = seg < room ? seg : room;
            memcpy(p->line + p->len, data, take);
            p->len += take;
            if (seg > room) {
                /* Cut at the last separator: a value split in two (loss=0.12|345) would be
                 * read as a different number. */
                while (p->len > 0 && !is_sep(p->line[p->len - 1]))
                    p->len--;
                p->cut = 1;
            }
        }
        if (!nl)
            return;
        end_line(p);
        data += seg + 1;
        n -= seg + 1;
    }
}

/* ---- the child ------------------------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int fd[2];  /* our ends of the stdout and stderr pipes; -1 once at EOF */
    int log[2]; /* stdout.log, stderr.log */
    int log_failed;
    int exited;       /* the child is a zombie (seen with WNOWAIT), not reaped yet */
    int lost;         /* reaped behind our back (SIGCHLD ignored): its pid is not ours */
    int group_killed; /* SIGKILL sent to the group after the child exited */
    int stopping, killed;
    double kill_at, drain_until;
} child_t;

static void write_log(child_t *ch, int which, const char *buf, size_t n, const char *workdir)
{
    while (n > 0 && !ch->log_failed) {
        ssize_t w = write(ch->log[which], buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* A full disk must not fail a trial that is computing fine; say it once. */
            mo_log_warn("sweep", "%s/%s: cannot write: %s", workdir,
                        which ? "stderr.log" : "stdout.log", strerror(errno));
            ch->log_failed = 1;
            return;
        }
        buf += w;
        n -= (size_t)w;
    }
}

static int open_log(const char *workdir, const char *name, int *fd, mo_error_t *err)
{
    mo_buf_t path = {0};
    mo_buf_printf(&path, "%s/%s", workdir, name);
    if (path.failed) {
        mo_buf_free(&path);
        return mo_errorf(err, MO_ENOMEM, "command: out of memory");
    }
    *fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = 0;
    if (*fd < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot create: %s", path.data, strerror(errno));
    mo_buf_free(&path);
    return rc;
}

/* environ plus the extra entries; an extra entry replaces an inherited one of the same name,
 * since getenv() in the child would find the inherited one first. The strings are borrowed. */
static int build_env(const mo_trial_cmd_t *c, char ***out, mo_error_t *err)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    for (size_t j = 0; j < c->n_env; j++)
        if (!c->env[j] || !strchr(c->env[j], '=') || c->env[j][0] == '=')
            return mo_errorf(err, MO_EINVAL, "command: environment entry %zu is not NAME=value", j);
    char **e = malloc((n + c->n_env + 1) * sizeof *e);
    if (!e)
        return mo_errorf(err, MO_ENOMEM, "command: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");
        int replaced = 0;
        for (size_t j = 0; j < c->n_env && !replaced; j++)
            replaced = strncmp(c->env[j], environ[i], len) == 0 && c->env[j][len] == '=';
        if (!replaced)
            e[k++] = environ[i];
    }
    for (size_t j = 0; j < c->n_env; j++)
        e[k++] = (char *)c->env[j];
    e[k] = NULL;
    *out = e;
    return 0;
}

/* Start the child; returns 0 or an errno value from posix_spawnp (or its setup). */
static int spawn_child(const mo_trial_cmd_t *c, char **envp, const int wr[2], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return rc;
    rc = posix_spawnattr_init(&at);
    if (rc) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    /* stdin on /dev/null: a trial that reads stdin must not steal the controller's. The pipe
     * ends we keep are O_CLOEXEC and vanish at exec; dup2 clears the flag on 1 and 2. */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    /* Signals the controller ignores (SIGPIPE for curl, ...) would stay ignored across exec;
     * a trial must see the ordinary defaults, and an empty mask, to be stoppable. */
    const int sigs[] = {SIGTERM, SIGINT,  SIGHUP,  SIGQUIT, SIGPIPE,
                        SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&defaults, sigs[i]);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, wr[0], 1);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, wr[1], 2);
    if (!rc && c->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
    if (!rc)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setpgroup(&at, 0);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&at, &defaults);
    if (!rc)
        rc = posix_spawnp(pid, c->argv[0], &fa, &at, c->argv, envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static int make_pipe(int *rd, int *wr, mo_error_t *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return mo_errorf(err, MO_EIO, "command: cannot create a pipe: %s", strerror(errno));
    /* Only our end is non-blocking: the child expects an ordinary blocking stdout. */
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    *rd = fds[0];
    *wr = fds[1];
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void signal_group(child_t *ch, int sig)
{
    /* The zombie leader keeps the group id ours until it is reaped (see the top); once it is
     * lost, the id may name someone else's group. */
    if (!ch->lost)
        kill(-ch->pid, sig);
}

static void begin_stop(child_t *ch, parser_t *p, double now)
{
    signal_group(ch, SIGTERM);
    ch->stopping = 1;
    ch->kill_at = now + MO_TRIAL_CMD_KILL_GRACE_S;
    p->frozen = 1;
}

/* One read from pipe `which`; closes it at EOF. */
static void drain(child_t *ch, int which, parser_t *p, const char *workdir)
{
    char buf[READ_CHUNK];
    ssize_t n = read(ch->fd[which], buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n > 0) {
        write_log(ch, which, buf, (size_t)n, workdir);
        if (which == 0)
            parser_feed(p, buf, (size_t)n);
        return;
    }
    close_fd(&ch->fd[which]);
    if (which == 0 && p->len > 0)
        end_line(p); /* a last line without its newline still counts */
}

static void check_exit(child_t *ch)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int rc = waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0 && si.si_pid == ch->pid)
        ch->exited = 1;
    else if (rc < 0 && errno == ECHILD)
        ch->exited = ch->lost = 1; /* SIGCHLD set to SIG_IGN reaps children itself */
}

static int wait_ms(double now, double until)
{
    double ms = (until - now) * 1000.0;
    if (ms >= TICK_MS)
        return TICK_MS;
    return ms <= 0 ? 0 : (int)ceil(ms);
}

/* The poll loop; returns 0, or MO_EIO when poll itself fails (the child is then killed). */
static int supervise(const mo_trial_cmd_t *c, mo_trial_cmd_result_t *r, child_t *ch, parser_t *p,
                     mo_error_t *err)
{
    double start = mo_time_mono(), last_idle = start;
    double deadline = c->timeout_s > 0 ? start + c->timeout_s : INFINITY;
    for (;;) {
        double now = mo_time_mono();
        if (!ch->exited)
            check_exit(ch);
        if (ch->exited && !ch->group_killed) {
            signal_group(ch, SIGKILL);
            ch->group_killed = 1;
            ch->drain_until = now + DRAIN_S;
        }
        if (ch->exited && ((ch->fd[0] < 0 && ch->fd[1] < 0) || now >= ch->drain_until))
            return 0;
        if (!ch->exited && !ch->stopping) {
            if (c->stop_flag && *c->stop_flag) {
                r->stopped = 1;
                begin_stop(ch, p, now);
            } else if (now >= deadline) {
                r->timed_out = 1;
                begin_stop(ch, p, now);
            } else if (p->prune) {
                begin_stop(ch, p, now);
            }
        }
        if (ch->stopping && !ch->killed && now >= ch->kill_at) {
            signal_group(ch, SIGKILL);
            ch->killed = 1;
        }
        if (c->on_idle && (now - last_idle) * 1000.0 >= TICK_MS) {
            c->on_idle(c->ud);
            last_idle = now;
        }
        int ms = TICK_MS;
        if (!ch->stopping) {
            int d = wait_ms(now, deadline);
            ms = d < ms ? d : ms;
        } else if (!ch->killed) {
            int d = wait_ms(now, ch->kill_at);
            ms = d < ms ? d : ms;
        }
        struct pollfd pfd[2] = {{.fd = ch->fd[0], .events = POLLIN},
                                {.fd = ch->fd[1], .events = POLLIN}};
        int n = poll(pfd, 2, ms);
        if (n < 0 && errno != EINTR) {
            int e = errno;
            signal_group(ch, SIGKILL);
            return mo_errorf(err, MO_EIO, "command: poll failed: %s", strerror(e));
        }
        for (int w = 0; w < 2 && n > 0; w++)
            if (pfd[w].fd >= 0 && (pfd[w].revents & (POLLIN | POLLHUP | POLLERR)))
                drain(ch, w, p, c->workdir);
    }
}

/* Reap the child; returns the signal that killed it, 0 when it exited. */
static int reap(child_t *ch, mo_trial_cmd_result_t *r)
{
    int st = 0;
    pid_t w;
    do
        w = waitpid(ch->pid, &st, 0);
    while (w < 0 && errno == EINTR);
    if (w != ch->pid)
        return 0; /* someone else reaped it (waitpid(-1) elsewhere): exit_code stays -1 */
    if (WIFSIGNALED(st)) {
        r->exit_code = 128 + WTERMSIG(st);
        return WTERMSIG(st);
    }
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return 0;
}

static void judge(const mo_trial_cmd_t *c, const parser_t *p, mo_trial_cmd_result_t *r, int sig)
{
    r->objective = p->prune || !p->have_final ? (p->have_value ? p->last : NAN) : p->final;
    r->status = MO_SJ_FAILED;
    if (r->stopped)
        snprintf(r->error, sizeof r->error, "stopped");
    else if (r->timed_out)
        snprintf(r->error, sizeof r->error, "timed out after %g s", c->timeout_s);
    else if (p->prune)
        r->status = MO_SJ_PRUNED;
    else if (sig)
        snprintf(r->error, sizeof r->error, "killed by signal %d", sig);
    else if (r->exit_code < 0)
        snprintf(r->error, sizeof r->error, "exit status unknown (the child was reaped elsewhere)");
    else if (r->exit_code != 0)
        snprintf(r->error, sizeof r->error, "exit code %d", r->exit_code);
    else if (!p->have_value)
        snprintf(r->error, sizeof r->error, "no value of %s on stdout", c->metric);
    else if (isnan(r->objective))
        snprintf(r->error, sizeof r->error, "objective is NaN");
    else if (isinf(r->objective))
        snprintf(r->error, sizeof r->error, "objective is %s", r->objective > 0 ? "inf" : "-inf");
    else
        r->status = MO_SJ_COMPLETED;
}

int mo_trial_cmd_run(const mo_trial_cmd_t *c, mo_trial_cmd_result_t *r, mo_error_t *err)
{
    if (!r)
        return mo_errorf(err, MO_EINVAL, "command: no result to fill");
    memset(r, 0, sizeof *r);
    r->status = MO_SJ_FAILED;
    r->objective = NAN;
    r->exit_code = -1;
    if (!c || !c->argv || !c->argv[0] || !c->argv[0][0])
        return mo_errorf(err, MO_EINVAL, "command: no program to run");
    if (!c->workdir || !c->workdir[0])
        return mo_errorf(err, MO_EINVAL, "command: no working folder");
    if (!c->metric || !c->metric[0])
        return mo_errorf(err, MO_EINVAL, "command: no objective metric name");
    for (const char *m = c->metric; *m; m++)
        if (!is_name_char(*m))
            return mo_errorf(err, MO_EINVAL,
                             "command: metric '%s' cannot be read from stdout (names are "
                             "[A-Za-z0-9_.-]+)",
                             c->metric);
    if (c->n_env && !c->env)
        return mo_errorf(err, MO_EINVAL, "command: %zu environment entries given as NULL",
                         c->n_env);

    child_t ch = {.pid = -1, .fd = {-1, -1}, .log = {-1, -1}};
    int wr[2] = {-1, -1};
    parser_t p = {.c = c, .r = r};
    char **envp = NULL;
    int rc = build_env(c, &envp, err);
    if (!rc)
        rc = open_log(c->workdir, "stdout.log", &ch.log[0], err);
    if (!rc)
        rc = open_log(c->workdir, "stderr.log", &ch.log[1], err);
    if (!rc)
        rc = make_pipe(&ch.fd[0], &wr[0], err);
    if (!rc)
        rc = make_pipe(&ch.fd[1], &wr[1], err);
    if (!rc && !(p.line = malloc(MO_TRIAL_CMD_LINE_MAX + 1)))
        rc = mo_errorf(err, MO_ENOMEM, "command: out of memory");
    if (rc)
        goto out;
    int e = spawn_child(c, envp, wr, &ch.pid);
    close_fd(&wr[0]); /* only the child writes now, so EOF means it (and its group) is done */
    close_fd(&wr[1]);
    if (e) {
        snprintf(r->error, sizeof r->error, "cannot start '%s': %s", c->argv[0], strerror(e));
        write_log(&ch, 1, r->error, strlen(r->error), c->workdir);
        write_log(&ch, 1, "\n", 1, c->workdir);
        goto out;
    }
    rc = supervise(c, r, &ch, &p, err);
    if (ch.fd[0] >= 0 && p.len > 0)
        end_line(&p); /* gave up draining (DRAIN_S): what was read still counts */
    int sig = reap(&ch, r);
    if (!rc)
        judge(c, &p, r, sig);

out:
    for (int i = 0; i < 2; i++) {
        close_fd(&ch.fd[i]);
        close_fd(&ch.log[i]);
        close_fd(&wr[i]);
    }
    free(p.line);
    free(envp);
    return rc;
}
