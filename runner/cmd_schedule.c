/* cmd_schedule.c - `maestro schedule NAME --target kubernetes|slurm|cron [--next N]`
 *
 * Reads schedule NAME from cluster.yml's `schedules:`, checks its cron expression and time
 * zone (exit 2 with cluster.yml:line:col on either), and prints its next run times or renders
 * it for a scheduler (runner/schedule_render.c). A relative `spec:` is relative to the folder
 * of cluster.yml, so the rendered paths do not depend on where this command ran. With
 * --submit (slurm only) the script goes to `sbatch` on its standard input; nothing else is
 * ever submitted or applied.
 */
#include "core/cron.h"
#include "core/str.h"
#include "io/atomic.h"
#include "io/config.h"
#include "runner/cli_impl.h"
#include "runner/cluster.h"
#include "runner/schedule.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char schedule_help[] =
    "usage: maestro schedule NAME --target kubernetes|slurm|cron [--cluster FILE] [-o FILE]\n"
    "                             [--submit] [--after TIME]\n"
    "       maestro schedule NAME --next N [--cluster FILE] [--after TIME]\n\n"
    "Render schedule NAME of cluster.yml (schedules: NAME: {cron, timezone, spec, target}).\n"
    "  kubernetes  a CronJob (batch/v1, concurrencyPolicy Forbid) whose pod runs `maestro\n"
    "              submit --target kubernetes --apply` on the spec and cluster.yml from a\n"
    "              ConfigMap, with the ServiceAccount, Role and RoleBinding it needs\n"
    "  slurm       an sbatch script that starts at the next run (--begin, in this machine's\n"
    "              local time), submits the spec and re-submits itself for the run after\n"
    "  cron        a crontab line calling `maestro submit` with absolute paths (after a\n"
    "              CRON_TZ= line when the schedule names a time zone)\n\n"
    "--cluster FILE  cluster.yml (default $MAESTRO_CLUSTER, else ./cluster.yml)\n"
    "--next N        print the next N run times (RFC 3339, in the schedule's time zone)\n"
    "--after TIME    count from TIME (RFC 3339 or @UNIXSECONDS) instead of now\n"
    "-o FILE         write the document to FILE (atomically) instead of stdout\n"
    "--submit        slurm: hand the script to sbatch instead of printing it\n\n"
    "Cron expressions: 5 fields (minute hour day-of-month month day-of-week) with ranges,\n"
    "lists, steps and names (JAN-DEC, SUN-SAT); day-of-week 7 is Sunday; when day-of-month and\n"
    "day-of-week are both restricted a day matching either runs. A time skipped by a DST change\n"
    "runs at the first minute after the gap; a time repeated by one runs once.\n"
    "Exit codes: 0 ok, 2 bad input (unknown schedule, bad cron expression or time zone),\n"
    "4 sbatch failed or is missing.\n";

typedef struct {
    const char *name, *target, *cluster, *out, *after;
    int64_t next;
    int submit;
} sched_args_t;

static int read_text(char **out, const char *path, mo_error_t *err)
{
    mo_buf_t b = {0};
    char chunk[8192];
    size_t n;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mo_errorf(err, MO_ENOTFOUND, "%s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mo_buf_append(&b, chunk, n)) {
            fclose(f);
            mo_buf_free(&b);
            return mo_errorf(err, MO_ENOMEM, "out of memory reading %s", path);
        }
    fclose(f);
    *out = mo_buf_steal(&b);
    return *out ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory reading %s", path);
}

/* `node`'s "file:line:col: " for messages about schedules.NAME.KEY. */
static const char *where(const mo_cluster_t *c, const char *name, const char *key, char *buf,
                         size_t size)
{
    mo_cfg_node_t *s = mo_cfg_child(mo_cfg_child(mo_cfg_root(c->doc), "schedules"), name);
    mo_cfg_node_t *n = key ? mo_cfg_child(s, key) : s;
    if (!n)
        n = s;
    buf[0] = '\0';
    if (n)
        mo_cfg_where(n, buf, size);
    return buf;
}

/* Hand `script` to `sbatch --parsable` on its standard input. */
static int sbatch_submit(const char *script, size_t len, mo_error_t *err)
{
    int fds[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;
    char *argv[] = {"sbatch", "--parsable", NULL};
    if (pipe(fds))
        return mo_errorf(err, MO_EIO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    fflush(stdout);
    int rc = posix_spawnp(&pid, "sbatch", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc) {
        close(fds[1]);
        return mo_errorf(err, MO_EDEPEND, "cannot run sbatch: %s (is Slurm installed?)",
                         strerror(rc));
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fds[1], script + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fds[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return mo_errorf(err, MO_EDEPEND, "sbatch failed (status %d)",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

static int schedule(const sched_args_t *a, mo_error_t *err)
{
    mo_cluster_t *c = NULL;
    const mo_schedule_t *s = NULL;
    mo_cron_t cron;
    mo_buf_t doc = {0};
    char loc[512], cluster_abs[PATH_MAX], spec_abs[PATH_MAX], self[PATH_MAX], rel[PATH_MAX];
    char *spec_text = NULL, *cluster_text = NULL;
    int64_t after = (int64_t)time(NULL);
    const char *cpath = mo_cluster_pick_path(a->cluster);
    int rc = 0;
    if (!cpath)
        return mo_errorf(err, MO_EINVAL,
                         "no cluster.yml: give --cluster FILE or set MAESTRO_CLUSTER");
    if (a->after && (rc = mo_cron_parse_time(&after, a->after, err)))
        return rc;
    if ((rc = mo_cluster_load(&c, cpath, err)))
        return rc;
    for (size_t i = 0; i < c->n_schedules; i++)
        if (!strcmp(c->schedules[i].name, a->name))
            s = &c->schedules[i];
    if (!s) {
        mo_buf_t known = {0};
        for (size_t i = 0; i < c->n_schedules; i++)
            mo_buf_printf(&known, "%s%s", i ? ", " : "", c->schedules[i].name);
        rc = mo_errorf(err, MO_EINVAL, "%s: no schedule \"%s\" (schedules: %s)", cpath, a->name,
                       known.data ? known.data : "none");
        mo_buf_free(&known);
        goto out;
    }
    mo_error_t e2 = {0};
    if ((rc = mo_cron_parse(&cron, s->cron, &e2)) || (rc = mo_cron_tz_check(s->timezone, &e2))) {
        int tz = !strncmp(e2.msg, "unknown time zone", 17);
        rc = mo_errorf(err, MO_EINVAL, "%s: schedules.%s.%s: %s",
                       where(c, s->name, tz ? "timezone" : "cron", loc, sizeof loc), s->name,
                       tz ? "timezone" : "cron", e2.msg);
        goto out;
    }
    if (a->next > 0) {
        int64_t t = after;
        for (int64_t i = 0; i < a->next; i++) {
            char buf[64];
            if ((rc = mo_cron_next(&t, &cron, s->timezone, t, err)) ||
                (rc = mo_cron_format(buf, sizeof buf, t, s->timezone, err)))
                goto out;
            printf("%s\n", buf);
        }
        goto out;
    }
    /* absolute paths: cluster.yml, the spec (relative to cluster.yml's folder), this binary */
    if (!realpath(cpath, cluster_abs)) {
        rc = mo_errorf(err, MO_ENOTFOUND, "%s: %s", cpath, strerror(errno));
        goto out;
    }
    if (s->spec[0] == '/') {
        snprintf(rel, sizeof rel, "%s", s->spec);
    } else {
        const char *slash = strrchr(cluster_abs, '/');
        snprintf(rel, sizeof rel, "%.*s/%s", (int)(slash - cluster_abs), cluster_abs, s->spec);
    }
    if (!realpath(rel, spec_abs)) {
        rc = mo_errorf(err, MO_EINVAL, "%s: schedules.%s.spec: %s: %s",
                       where(c, s->name, "spec", loc, sizeof loc), s->name, rel, strerror(errno));
        goto out;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        rc = mo_errorf(err, MO_EIO, "cannot find the maestro binary (/proc/self/exe): %s",
                       strerror(errno));
        goto out;
    }
    self[n] = '\0';
    mo_sched_render_t r = {s, &cron, c, cluster_abs, spec_abs, self, 0, 0, NULL, NULL};
    r.tz_set = mo_cfg_child(mo_cfg_child(mo_cfg_child(mo_cfg_root(c->doc), "schedules"), s->name),
                            "timezone") != NULL;
    if (!strcmp(a->target, "kubernetes")) {
        if ((rc = read_text(&spec_text, spec_abs, err)) ||
            (rc = read_text(&cluster_text, cluster_abs, err)))
            goto out;
        r.spec_text = spec_text;
        r.cluster_text = cluster_text;
        rc = mo_sched_render_kubernetes(&doc, &r, err);
    } else if (!strcmp(a->target, "slurm")) {
        if (!(rc = mo_cron_next(&r.begin, &cron, s->timezone, after, err)))
            rc = mo_sched_render_slurm(&doc, &r, err);
    } else {
        rc = mo_sched_render_cron(&doc, &r, err);
    }
    if (rc)
        goto out;
    if (a->out)
        rc = mo_io_write_atomic(a->out, doc.data, doc.len, err);
    if (!rc && a->submit)
        rc = sbatch_submit(doc.data, doc.len, err);
    else if (!rc && !a->out && fwrite(doc.data, 1, doc.len, stdout) != doc.len)
        rc = mo_errorf(err, MO_EIO, "cannot write to stdout");
out:
    mo_buf_free(&doc);
    free(spec_text);
    free(cluster_text);
    mo_cluster_destroy(c);
    return rc;
}

int mo_cmd_schedule(int argc, char **argv)
{
    sched_args_t a = {0};
    static const char *const cmd = "schedule";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **val = NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            fputs(schedule_help, stdout);
            return 0;
        }
        if (!strcmp(o, "--submit")) {
            a.submit = 1;
            continue;
        }
        const char *next = NULL;
        if (!strcmp(o, "--target"))
            val = &a.target;
        else if (!strcmp(o, "--cluster"))
            val = &a.cluster;
        else if (!strcmp(o, "-o") || !strcmp(o, "--output"))
            val = &a.out;
        else if (!strcmp(o, "--after"))
            val = &a.after;
        else if (!strcmp(o, "--next"))
            val = &next;
        else if (o[0] == '-' && o[1])
            return mo_cli_usage(cmd, "unknown option '%s'", o);
        else if (a.name)
            return mo_cli_usage(cmd, "one schedule name only, got '%s' and '%s'", a.name, o);
        else {
            a.name = o;
            continue;
        }
        if (i + 1 >= argc)
            return mo_cli_usage(cmd, "%s needs a value", o);
        *val = argv[++i];
        if (val == &next && (mo_parse_int64(next, &a.next) || a.next < 1 || a.next > 10000))
            return mo_cli_usage(cmd, "--next must be a number from 1 to 10000, got '%s'", next);
    }
    if (!a.name)
        return mo_cli_usage(cmd, "which schedule? give its name from cluster.yml");
    if (!a.target && !a.next)
        return mo_cli_usage(cmd, "give --target kubernetes|slurm|cron, or --next N");
    if (a.target && strcmp(a.target, "kubernetes") && strcmp(a.target, "slurm") &&
        strcmp(a.target, "cron"))
        return mo_cli_usage(cmd, "--target must be kubernetes, slurm or cron, got '%s'", a.target);
    if (a.submit && (!a.target || strcmp(a.target, "slurm")))
        return mo_cli_usage(cmd, "--submit is for --target slurm only");
    if (a.next && (a.target || a.out || a.submit))
        return mo_cli_usage(cmd, "--next prints run times only; drop --target, -o and --submit");
    mo_error_t err = {0};
    int rc = schedule(&a, &err);
    fflush(stdout);
    return rc ? mo_cli_fail(rc, &err) : 0;
}
