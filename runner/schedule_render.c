/* schedule_render.c - a schedule as a Kubernetes CronJob, a Slurm sbatch script, a crontab line
 *
 * Kubernetes: a tiny YAML emitter writes every string double-quoted and escaped, so no value
 * can change the document's structure. The CronJob's pod runs `maestro submit` on the spec
 * and cluster.yml mounted from a ConfigMap; a ServiceAccount, Role and RoleBinding give it
 * exactly the rights that needs (MPIJobs and ConfigMaps in its namespace).
 * Slurm: a small job whose --begin is the next run (in the cluster's local time, which is what
 * sbatch reads); it submits the spec, then re-submits a freshly rendered copy of itself for the
 * following run (`maestro schedule NAME --target slurm --submit`), so changes to cluster.yml
 * take effect from the next run. Values are shell single-quoted, which sbatch's #SBATCH parser
 * also understands.
 * Cron: one crontab line (after CRON_TZ= when the schedule names a time zone) with absolute
 * paths, each single-quoted, and every '%' escaped (cron turns a bare '%' into a newline).
 */
#include "runner/schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- YAML ------------------------------------------------------------------------------- */

static int yq(mo_buf_t *b, const char *s)
{
    int rc = mo_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = mo_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            rc = mo_buf_puts(b, "\\n");
        else if (*p == '\t')
            rc = mo_buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            rc = mo_buf_printf(b, "\\x%02x", *p);
        else
            rc = mo_buf_append(b, (const char *)p, 1);
    }
    return rc ? rc : mo_buf_puts(b, "\"");
}

/* `indent` spaces, `key: "value"`, newline. */
static int ykv(mo_buf_t *b, int indent, const char *key, const char *value)
{
    int rc = mo_buf_printf(b, "%*s%s: ", indent, "", key);
    if (!rc)
        rc = yq(b, value);
    return rc ? rc : mo_buf_puts(b, "\n");
}

/* `key: ["a", "b"]` */
static int ylist(mo_buf_t *b, int indent, const char *key, const char *const *items)
{
    int rc = mo_buf_printf(b, "%*s%s: [", indent, "", key);
    for (size_t i = 0; !rc && items[i]; i++) {
        if (i)
            rc = mo_buf_puts(b, ", ");
        if (!rc)
            rc = yq(b, items[i]);
    }
    return rc ? rc : mo_buf_puts(b, "]\n");
}

static int ymeta(mo_buf_t *b, const char *api, const char *kind, const char *name, const char *ns,
                 const char *schedule)
{
    int rc = mo_buf_printf(b, "---\napiVersion: %s\nkind: %s\nmetadata:\n", api, kind);
    if (!rc)
        rc = ykv(b, 2, "name", name);
    if (!rc)
        rc = ykv(b, 2, "namespace", ns);
    if (!rc)
        rc = mo_buf_puts(b, "  labels:\n");
    if (!rc)
        rc = ykv(b, 4, "app.kubernetes.io/managed-by", "maestro");
    if (!rc)
        rc = ykv(b, 4, "maestro.io/schedule", schedule);
    return rc;
}

/* A DNS-1123 name: "maestro-" + the schedule's name lowercased, other characters as '-', at
 * most 52 characters (the CronJob limit, which leaves room for the Job suffix). */
static void k8s_name(char *out, size_t size, const char *name)
{
    size_t n = (size_t)snprintf(out, size, "maestro-");
    for (const char *p = name; *p && n + 1 < size && n < 52; p++)
        out[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
}

/* robfig/cron (the CronJob controller) takes day-of-week 0-6 only: a restricted day-of-week
 * is written back as its numbers, which also drops any 7 for Sunday. */
static int k8s_schedule(mo_buf_t *b, const mo_cron_t *c, const char *expr)
{
    char fields[5][128];
    if (sscanf(expr, "%127s %127s %127s %127s %127s", fields[0], fields[1], fields[2], fields[3],
               fields[4]) != 5)
        return mo_buf_puts(b, expr);
    int rc = mo_buf_printf(b, "%s %s %s %s ", fields[0], fields[1], fields[2], fields[3]);
    if (rc || c->dow_star)
        return rc ? rc : mo_buf_puts(b, fields[4]);
    for (int d = 0, first = 1; !rc && d < 7; d++)
        if (c->dow >> d & 1) {
            rc = mo_buf_printf(b, "%s%d", first ? "" : ",", d);
            first = 0;
        }
    return rc;
}

int mo_sched_render_kubernetes(mo_buf_t *b, const mo_sched_render_t *r, mo_error_t *err)
{
    const mo_launch_k8s_t *k = &r->cluster->kubernetes;
    const char *ns = k->namespace_name ? k->namespace_name : "default";
    const char *image = k->image ? k->image : "maestro:latest";
    const char *name = r->sched->name;
    char obj[64];
    mo_buf_t sched = {0};
    k8s_name(obj, sizeof obj, name);
    if (strlen(obj) <= strlen("maestro"))
        return mo_errorf(err, MO_EINVAL,
                         "schedule \"%s\": no letters or digits to name Kubernetes objects by",
                         name);
    static const char *const mpijob_verbs[] = {"create", "get", "list", "watch", NULL};
    static const char *const kubeflow[] = {"kubeflow.org", NULL};
    static const char *const mpijobs[] = {"mpijobs", NULL};
    static const char *const core[] = {"", NULL};
    static const char *const configmaps[] = {"configmaps", NULL};
    const char *const command[] = {
        "maestro", "submit",    "/etc/maestro/schedule/spec.yml",    "--target", "kubernetes",
        "--apply", "--cluster", "/etc/maestro/schedule/cluster.yml", NULL};
    int rc =
        mo_buf_printf(b, "# maestro schedule: CronJob %s, the spec from ConfigMap %s\n", obj, obj);
    /* ServiceAccount, Role, RoleBinding */
    if (!rc)
        rc = ymeta(b, "v1", "ServiceAccount", obj, ns, name);
    if (!rc)
        rc = ymeta(b, "rbac.authorization.k8s.io/v1", "Role", obj, ns, name);
    if (!rc)
        rc = mo_buf_puts(b, "rules:\n  - ");
    if (!rc)
        rc = ylist(b, 0, "apiGroups", kubeflow);
    if (!rc)
        rc = ylist(b, 4, "resources", mpijobs);
    if (!rc)
        rc = ylist(b, 4, "verbs", mpijob_verbs);
    if (!rc)
        rc = mo_buf_puts(b, "  - ");
    if (!rc)
        rc = ylist(b, 0, "apiGroups", core);
    if (!rc)
        rc = ylist(b, 4, "resources", configmaps);
    if (!rc)
        rc = ylist(b, 4, "verbs", mpijob_verbs);
    if (!rc)
        rc = ymeta(b, "rbac.authorization.k8s.io/v1", "RoleBinding", obj, ns, name);
    if (!rc)
        rc = mo_buf_puts(b, "roleRef:\n  apiGroup: \"rbac.authorization.k8s.io\"\n  kind: "
                            "\"Role\"\n");
    if (!rc)
        rc = ykv(b, 2, "name", obj);
    if (!rc)
        rc = mo_buf_puts(b, "subjects:\n  - kind: \"ServiceAccount\"\n");
    if (!rc)
        rc = ykv(b, 4, "name", obj);
    if (!rc)
        rc = ykv(b, 4, "namespace", ns);
    /* ConfigMap: the spec and cluster.yml, as they are now */
    if (!rc)
        rc = ymeta(b, "v1", "ConfigMap", obj, ns, name);
    if (!rc)
        rc = mo_buf_puts(b, "data:\n");
    if (!rc)
        rc = ykv(b, 2, "spec.yml", r->spec_text ? r->spec_text : "");
    if (!rc)
        rc = ykv(b, 2, "cluster.yml", r->cluster_text ? r->cluster_text : "");
    /* CronJob */
    if (!rc)
        rc = ymeta(b, "batch/v1", "CronJob", obj, ns, name);
    if (!rc)
        rc = k8s_schedule(&sched, r->cron, r->sched->cron);
    if (!rc)
        rc = mo_buf_puts(b, "spec:\n");
    if (!rc)
        rc = ykv(b, 2, "schedule", sched.data);
    if (!rc)
        rc = ykv(b, 2, "timeZone", r->sched->timezone);
    if (!rc)
        rc = mo_buf_puts(b, "  concurrencyPolicy: \"Forbid\"\n"
                            "  startingDeadlineSeconds: 300\n"
                            "  successfulJobsHistoryLimit: 3\n"
                            "  failedJobsHistoryLimit: 3\n"
                            "  jobTemplate:\n"
                            "    spec:\n"
                            "      backoffLimit: 0\n"
                            "      template:\n"
                            "        metadata:\n"
                            "          labels:\n");
    if (!rc)
        rc = ykv(b, 12, "maestro.io/schedule", name);
    if (!rc)
        rc = mo_buf_puts(b, "        spec:\n");
    if (!rc)
        rc = ykv(b, 10, "serviceAccountName", obj);
    if (!rc)
        rc = mo_buf_puts(b, "          restartPolicy: \"Never\"\n"
                            "          containers:\n"
                            "            - name: \"submit\"\n");
    if (!rc)
        rc = ykv(b, 14, "image", image);
    if (!rc)
        rc = ylist(b, 14, "command", command);
    if (!rc)
        rc = mo_buf_puts(b, "              volumeMounts:\n"
                            "                - name: \"schedule\"\n"
                            "                  mountPath: \"/etc/maestro/schedule\"\n"
                            "                  readOnly: true\n"
                            "          volumes:\n"
                            "            - name: \"schedule\"\n"
                            "              configMap:\n");
    if (!rc)
        rc = ykv(b, 16, "name", obj);
    mo_buf_free(&sched);
    return rc ? mo_errorf(err, MO_ENOMEM, "out of memory rendering the CronJob") : 0;
}

/* ---- shell -------------------------------------------------------------------------------- */

int mo_sched_shell_quote(mo_buf_t *b, const char *s)
{
    int rc = mo_buf_puts(b, "'");
    for (const char *p = s; !rc && *p; p++)
        rc = *p == '\'' ? mo_buf_puts(b, "'\\''") : mo_buf_append(b, p, 1);
    return rc ? rc : mo_buf_puts(b, "'");
}

/* "--opt='value'" on an #SBATCH line; values with a newline cannot be written there. */
static int sbatch_opt(mo_buf_t *b, const char *opt, const char *value, mo_error_t *err)
{
    if (strpbrk(value, "\n\r"))
        return mo_errorf(err, MO_EINVAL, "slurm %s: a value with a line break (\"%s\")", opt,
                         value);
    int rc = mo_buf_printf(b, "#SBATCH --%s=", opt);
    if (!rc)
        rc = mo_sched_shell_quote(b, value);
    if (!rc)
        rc = mo_buf_puts(b, "\n");
    return rc ? mo_errorf(err, MO_ENOMEM, "out of memory") : 0;
}

/* One shell word and a space (or a newline when last). */
static int word(mo_buf_t *b, const char *s, const char *after)
{
    int rc = mo_sched_shell_quote(b, s);
    return rc ? rc : mo_buf_puts(b, after);
}

int mo_sched_render_slurm(mo_buf_t *b, const mo_sched_render_t *r, mo_error_t *err)
{
    const mo_launch_slurm_t *s = &r->cluster->slurm;
    char begin[64], when[64], job[300];
    time_t t = (time_t)r->begin;
    struct tm tm;
    tzset();
    if (!localtime_r(&t, &tm) || !strftime(begin, sizeof begin, "%Y-%m-%dT%H:%M:%S", &tm))
        return mo_errorf(err, MO_EINVAL, "the next run time cannot be shown in local time");
    int rc = mo_cron_format(when, sizeof when, r->begin, r->sched->timezone, err);
    if (rc)
        return rc;
    /* a line break would end the comment lines below and start a command */
    if (strpbrk(r->sched->name, "\n\r") || strpbrk(r->sched->cron, "\n\r"))
        return mo_errorf(err, MO_EINVAL, "schedule \"%s\": a line break in its name or cron",
                         r->sched->name);
    snprintf(job, sizeof job, "maestro-schedule-%s", r->sched->name);
    rc = mo_buf_puts(b, "#!/bin/bash\n# maestro schedule ");
    rc = rc ? rc : word(b, r->sched->name, ": cron ");
    rc = rc ? rc : word(b, r->sched->cron, " in ");
    rc = rc ? rc : word(b, r->sched->timezone, "\n");
    rc = rc ? rc
            : mo_buf_printf(b, "# this run: %s (%s local time, as --begin below)\n", when, begin);
    rc = rc ? rc
            : mo_buf_puts(b, "# It submits the spec, then re-submits itself for the next "
                             "run.\n");
    if (rc)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    rc = sbatch_opt(b, "job-name", job, err);
    rc = rc ? rc : sbatch_opt(b, "begin", begin, err);
    rc = rc ? rc : sbatch_opt(b, "ntasks", "1", err);
    rc = rc ? rc : sbatch_opt(b, "time", "00:15:00", err);
    if (!rc && s->partition)
        rc = sbatch_opt(b, "partition", s->partition, err);
    if (!rc && s->account)
        rc = sbatch_opt(b, "account", s->account, err);
    if (rc)
        return rc;
    int e = mo_buf_puts(b, "set -u\nstatus=0\n");
    e = e ? e : word(b, r->maestro, " submit ");
    e = e ? e : word(b, r->spec_path, " --target slurm --cluster ");
    e = e ? e : word(b, r->cluster_path, " || status=$?\n");
    e = e ? e : word(b, r->maestro, " schedule ");
    e = e ? e : word(b, r->sched->name, " --target slurm --submit --cluster ");
    e = e ? e : word(b, r->cluster_path, " || {\n");
    e = e ? e
          : mo_buf_puts(b, "  echo \"maestro schedule: could not re-submit; the schedule "
                           "stops here\" >&2\n  exit 1\n}\nexit \"$status\"\n");
    return e ? mo_errorf(err, MO_ENOMEM, "out of memory") : 0;
}

/* ---- cron --------------------------------------------------------------------------------- */

/* A single-quoted word with '%' escaped for cron. */
static int cron_word(mo_buf_t *b, const char *s, const char *after)
{
    mo_buf_t q = {0};
    int rc = mo_sched_shell_quote(&q, s);
    for (const char *p = q.data; !rc && p && *p; p++)
        rc = *p == '%' ? mo_buf_puts(b, "\\%") : mo_buf_append(b, p, 1);
    mo_buf_free(&q);
    return rc ? rc : mo_buf_puts(b, after);
}

int mo_sched_render_cron(mo_buf_t *b, const mo_sched_render_t *r, mo_error_t *err)
{
    const char *target = r->sched->target;
    if (strcmp(target, "slurm") && strcmp(target, "kubernetes"))
        target = "local";
    if (strpbrk(r->sched->cron, "\n\r%") || strpbrk(r->sched->timezone, "\n\r "))
        return mo_errorf(err, MO_EINVAL, "schedule \"%s\": cron or timezone has odd characters",
                         r->sched->name);
    int rc = 0;
    if (r->tz_set)
        rc = mo_buf_printf(b, "CRON_TZ=%s\n", r->sched->timezone);
    rc = rc ? rc : mo_buf_printf(b, "%s ", r->sched->cron);
    rc = rc ? rc : cron_word(b, r->maestro, " submit ");
    rc = rc ? rc : cron_word(b, r->spec_path, " --target ");
    rc = rc ? rc : mo_buf_printf(b, "%s ", target);
    if (!rc && !strcmp(target, "kubernetes"))
        rc = mo_buf_puts(b, "--apply ");
    rc = rc ? rc : cron_word(b, "--cluster", " ");
    rc = rc ? rc : cron_word(b, r->cluster_path, "\n");
    return rc ? mo_errorf(err, MO_ENOMEM, "out of memory") : 0;
}
