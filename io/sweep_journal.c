/* sweep_journal.c - the sweep journal in memory, its best trial, and its inspect summary
 *
 * The journal is plain arrays in start order: a sweep has thousands of trials at most, so a
 * linear look-up by number costs nothing next to running a trial, and the arrays map one to
 * one onto the datasets of sweep.h5 (io/sweep_journal_file.c writes and reads the file). Every
 * call that changes the journal counts one event in `seq`, so a file on disk says how far the
 * sweep had got and a reader can tell which report or end came last.
 */
#include "io/sweep_journal.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mo_sj_status_names[4] = {"running", "completed", "pruned", "failed"};
static const char *const sweep_statuses[] = {"running", "completed", "failed",
                                             "stopped", "preempted", NULL};
static const char *const type_names[] = {"double", "int", "discrete", "categorical", NULL};
static const char *const trial_kinds[] = {"template", "command", "objective", NULL};

static int one_of(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* ---- in memory ---------------------------------------------------------------------------- */

static void trial_free(mo_sj_trial_t *t, size_t dim)
{
    for (size_t k = 0; t->text && k < dim; k++)
        free(t->text[k]);
    free(t->text);
    free(t->x);
    free(t->artifact);
    free(t->error);
}

void mo_sj_free(mo_sweep_journal_t *j)
{
    if (!j)
        return;
    free(j->name);
    free(j->algorithm);
    free(j->metric);
    free(j->status);
    free(j->trial_kind);
    free(j->spec_text);
    mo_h5_strv_free(j->param_names, j->dim);
    mo_h5_strv_free(j->param_types, j->dim);
    for (size_t i = 0; i < j->n_trials; i++)
        trial_free(&j->trials[i], j->dim);
    free(j->trials);
    free(j->reports);
    mo_buf_free(&j->log);
    memset(j, 0, sizeof *j);
}

/* `p` with room for one more than n elements, doubling; NULL (p untouched) when out of memory. */
static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? 2 * *cap : 16;
    void *q = mo_reallocarray(p, c, elem);
    if (q)
        *cap = c;
    return q;
}

/* Empty text means none: kept as NULL so callers test one thing. */
static int dup_opt(char **out, const char *s)
{
    *out = s && *s ? mo_strdup(s) : NULL;
    return s && *s && !*out ? MO_ENOMEM : 0;
}

/* One element at least: mo_calloc(0) may give NULL, which would read as out of memory. */
int mo_sj_trial_alloc(mo_sj_trial_t *t, size_t dim)
{
    t->x = mo_calloc(dim ? dim : 1, sizeof *t->x);
    t->text = mo_calloc(dim ? dim : 1, sizeof *t->text);
    return t->x && t->text ? 0 : MO_ENOMEM;
}

int mo_sj_init(mo_sweep_journal_t *j, const char *name, const char *algorithm, const char *metric,
               int maximize, const char *trial_kind, const char *spec_text, size_t dim,
               const char *const *param_names, const char *const *param_types, mo_error_t *err)
{
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_init: NULL journal");
    memset(j, 0, sizeof *j);
    if (!name || !*name || !algorithm || !*algorithm || !metric || !*metric)
        return mo_errorf(err, MO_EINVAL, "sweep journal: name, algorithm and metric must be set");
    if (!one_of(trial_kind, trial_kinds))
        return mo_errorf(err, MO_EINVAL,
                         "sweep journal: trial kind '%s' is not template, command or objective",
                         trial_kind ? trial_kind : "(null)");
    if (dim && (!param_names || !param_types))
        return mo_errorf(err, MO_EINVAL, "sweep journal: %zu parameters but NULL names or types",
                         dim);
    for (size_t k = 0; k < dim; k++)
        if (!param_names[k] || !*param_names[k] || !one_of(param_types[k], type_names))
            return mo_errorf(err, MO_EINVAL,
                             "sweep journal: parameter %zu ('%s') has no name or a type that is "
                             "not double, int, discrete or categorical",
                             k, param_names[k] ? param_names[k] : "(null)");
    j->maximize = maximize != 0;
    j->dim = dim;
    j->name = mo_strdup(name);
    j->algorithm = mo_strdup(algorithm);
    j->metric = mo_strdup(metric);
    j->status = mo_strdup("running");
    j->trial_kind = mo_strdup(trial_kind);
    j->spec_text = spec_text ? mo_strdup(spec_text) : NULL;
    j->param_names = mo_calloc(dim ? dim : 1, sizeof *j->param_names);
    j->param_types = mo_calloc(dim ? dim : 1, sizeof *j->param_types);
    int ok = j->name && j->algorithm && j->metric && j->status && j->trial_kind &&
             (!spec_text || j->spec_text) && j->param_names && j->param_types;
    for (size_t k = 0; ok && k < dim; k++)
        ok = (j->param_names[k] = mo_strdup(param_names[k])) &&
             (j->param_types[k] = mo_strdup(param_types[k]));
    if (!ok) {
        mo_sj_free(j);
        return mo_errorf(err, MO_ENOMEM, "sweep journal: out of memory");
    }
    return 0;
}

long mo_sj_find(const mo_sweep_journal_t *j, int64_t number)
{
    /* From the end: reports and ends mostly concern the trials started last. */
    for (size_t i = j ? j->n_trials : 0; i-- > 0;)
        if (j->trials[i].number == number)
            return (long)i;
    return -1;
}

long mo_sj_add_trial(mo_sweep_journal_t *j, int64_t number, int32_t group, const double *x,
                     const char *const *text, double start_time, const char *artifact,
                     mo_error_t *err)
{
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_add_trial: NULL journal");
    if (j->dim && (!x || !text))
        return mo_errorf(err, MO_EINVAL, "sweep journal: trial %lld has NULL parameters",
                         (long long)number);
    for (size_t k = 0; k < j->dim; k++)
        if (!text[k])
            return mo_errorf(err, MO_EINVAL, "sweep journal: trial %lld parameter %s is NULL",
                             (long long)number, j->param_names[k]);
    if (mo_sj_find(j, number) >= 0)
        return mo_errorf(err, MO_EINVAL, "sweep journal: trial %lld is already recorded",
                         (long long)number);
    mo_sj_trial_t *all = grow(j->trials, &j->cap_trials, j->n_trials, sizeof *all);
    if (!all)
        return mo_errorf(err, MO_ENOMEM, "sweep journal: out of memory");
    j->trials = all;
    mo_sj_trial_t t = {.number = number, .group = group, .objective = NAN};
    t.start_time = start_time;
    int rc = mo_sj_trial_alloc(&t, j->dim);
    if (!rc)
        rc = dup_opt(&t.artifact, artifact);
    for (size_t k = 0; !rc && k < j->dim; k++)
        rc = (t.text[k] = mo_strdup(text[k])) ? 0 : MO_ENOMEM;
    if (rc) {
        trial_free(&t, j->dim);
        return mo_errorf(err, MO_ENOMEM, "sweep journal: out of memory");
    }
    if (j->dim)
        memcpy(t.x, x, j->dim * sizeof *x);
    j->trials[j->n_trials] = t;
    j->seq++;
    if (j->log_on)
        mo_sj_log_note(j, MO_SJ_EV_ADD, (long)j->n_trials);
    return (long)j->n_trials++;
}

/* The running trial `number`, or an error naming it. */
static int running(mo_sj_trial_t **t, mo_sweep_journal_t *j, int64_t number, const char *what,
                   mo_error_t *err)
{
    long i = mo_sj_find(j, number);
    *t = NULL;
    if (i < 0)
        return mo_errorf(err, MO_ENOTFOUND, "sweep journal: %s: no trial %lld", what,
                         (long long)number);
    if (j->trials[i].status != MO_SJ_RUNNING)
        return mo_errorf(err, MO_EINVAL, "sweep journal: %s: trial %lld is %s, not running", what,
                         (long long)number, mo_sj_status_names[j->trials[i].status & 3]);
    *t = &j->trials[i];
    return 0;
}

int mo_sj_report(mo_sweep_journal_t *j, int64_t number, int64_t step, double value, mo_error_t *err)
{
    mo_sj_trial_t *t;
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_report: NULL journal");
    int rc = running(&t, j, number, "report", err);
    if (rc)
        return rc;
    mo_sj_report_t *all = grow(j->reports, &j->cap_reports, j->n_reports, sizeof *all);
    if (!all)
        return mo_errorf(err, MO_ENOMEM, "sweep journal: out of memory");
    j->reports = all;
    j->reports[j->n_reports++] = (mo_sj_report_t){number, step, ++j->seq, value};
    if (j->log_on)
        mo_sj_log_note(j, MO_SJ_EV_REPORT, -1);
    return 0;
}

int mo_sj_end_trial(mo_sweep_journal_t *j, int64_t number, int32_t status, double objective,
                    double duration, const char *error, mo_error_t *err)
{
    mo_sj_trial_t *t;
    char *e = NULL;
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_end_trial: NULL journal");
    if (status != MO_SJ_COMPLETED && status != MO_SJ_PRUNED && status != MO_SJ_FAILED)
        return mo_errorf(err, MO_EINVAL, "sweep journal: trial %lld cannot end with status %d",
                         (long long)number, (int)status);
    if (!(duration >= 0) || isinf(duration))
        return mo_errorf(err, MO_EINVAL, "sweep journal: trial %lld duration %g is not >= 0",
                         (long long)number, duration);
    int rc = running(&t, j, number, "end", err);
    if (rc)
        return rc;
    if (status == MO_SJ_FAILED && dup_opt(&e, error))
        return mo_errorf(err, MO_ENOMEM, "sweep journal: out of memory");
    free(t->error);
    t->error = e;
    t->status = status;
    t->objective = objective;
    t->duration = duration;
    t->end_seq = ++j->seq;
    if (j->log_on)
        mo_sj_log_note(j, MO_SJ_EV_END, (long)(t - j->trials));
    return 0;
}

int mo_sj_restart_trial(mo_sweep_journal_t *j, int64_t number, int32_t group, double start_time,
                        mo_error_t *err)
{
    long i = mo_sj_find(j, number);
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_restart_trial: NULL journal");
    if (i < 0)
        return mo_errorf(err, MO_ENOTFOUND, "sweep journal: restart: no trial %lld",
                         (long long)number);
    size_t kept = 0;
    for (size_t r = 0; r < j->n_reports; r++)
        if (j->reports[r].trial != number)
            j->reports[kept++] = j->reports[r];
    j->n_reports = kept;
    mo_sj_trial_t *t = &j->trials[i];
    free(t->error);
    t->error = NULL;
    t->status = MO_SJ_RUNNING;
    t->group = group;
    t->objective = NAN;
    t->start_time = start_time;
    t->duration = 0;
    t->end_seq = 0;
    j->seq++;
    if (j->log_on)
        mo_sj_log_note(j, MO_SJ_EV_RESTART, i);
    return 0;
}

/* < 0 when `a` ranks before `b`: the better objective for the goal first, trials without one
 * (NaN) last, ties by number. maximize is 0 or 1. Shared by mo_sj_best and inspect. */
static int rank_cmp(const mo_sj_trial_t *a, const mo_sj_trial_t *b, int maximize)
{
    int an = isnan(a->objective), bn = isnan(b->objective);
    if (an != bn)
        return an - bn;
    if (!an && a->objective != b->objective)
        return (a->objective < b->objective) != maximize ? -1 : 1;
    return a->number < b->number ? -1 : a->number > b->number;
}

long mo_sj_best(const mo_sweep_journal_t *j)
{
    long best = -1;
    int best_done = 0;
    for (size_t i = 0; j && i < j->n_trials; i++) {
        const mo_sj_trial_t *t = &j->trials[i];
        int done = t->status == MO_SJ_COMPLETED && !isnan(t->objective);
        if (!done && (t->status != MO_SJ_PRUNED || !isfinite(t->objective)))
            continue;
        /* A completed trial beats any pruned one: a pruned objective is a value mid-way. */
        if (best < 0 || done > best_done ||
            (done == best_done && rank_cmp(t, &j->trials[best], j->maximize) < 0)) {
            best = (long)i;
            best_done = done;
        }
    }
    return best;
}

int mo_sj_set_status(mo_sweep_journal_t *j, const char *status, mo_error_t *err)
{
    if (!j || !one_of(status, sweep_statuses))
        return mo_errorf(err, MO_EINVAL,
                         "sweep journal: status '%s' is not running, completed, failed, stopped "
                         "or preempted",
                         status ? status : "(null)");
    char *s = mo_strdup(status);
    if (!s)
        return mo_errorf(err, MO_ENOMEM, "sweep journal: out of memory");
    free(j->status);
    j->status = s;
    j->seq++;
    if (j->log_on)
        mo_sj_log_note(j, MO_SJ_EV_STATUS, -1);
    return 0;
}

/* ---- inspect ------------------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
    json_t *v = s ? json_string(s) : NULL; /* NULL for text that is not UTF-8 */
    return v ? v : json_null();
}

static json_t *num_or_null(double x)
{
    json_t *v = json_real(x); /* NULL for NaN and Inf: JSON has neither */
    return v ? v : json_null();
}

static json_t *params_json(const mo_sweep_journal_t *j, const mo_sj_trial_t *t)
{
    json_t *o = json_object();
    for (size_t k = 0; o && k < j->dim; k++)
        json_object_set_new(o, j->param_names[k], str_or_null(t->text[k]));
    return o ? o : json_null();
}

static int by_number(const void *a, const void *b)
{
    int64_t x = (*(const mo_sj_trial_t *const *)a)->number;
    int64_t y = (*(const mo_sj_trial_t *const *)b)->number;
    return x < y ? -1 : x > y;
}

static int rank_min(const void *a, const void *b)
{
    return rank_cmp(*(const mo_sj_trial_t *const *)a, *(const mo_sj_trial_t *const *)b, 0);
}

static int rank_max(const void *a, const void *b)
{
    return rank_cmp(*(const mo_sj_trial_t *const *)a, *(const mo_sj_trial_t *const *)b, 1);
}

/* The trials array of inspect: best first, each with the number of its reports. */
static json_t *trials_json(const mo_sweep_journal_t *j)
{
    size_t n = j->n_trials;
    const mo_sj_trial_t **order = mo_calloc(n ? n : 1, sizeof *order);
    size_t *steps = mo_calloc(n ? n : 1, sizeof *steps);
    json_t *a = order && steps ? json_array() : NULL;
    if (!a) {
        free(order);
        free(steps);
        return json_null();
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &j->trials[i];
    /* Reports per trial: sort by number once, then one binary search per report. */
    qsort(order, n, sizeof *order, by_number);
    for (size_t r = 0; r < j->n_reports; r++) {
        mo_sj_trial_t key = {.number = j->reports[r].trial};
        const mo_sj_trial_t *kp = &key, **hit = bsearch(&kp, order, n, sizeof *order, by_number);
        if (hit)
            steps[*hit - j->trials]++;
    }
    qsort(order, n, sizeof *order, j->maximize ? rank_max : rank_min);
    for (size_t i = 0; i < n; i++) {
        const mo_sj_trial_t *t = order[i];
        json_t *o =
            json_pack("{s:I, s:o, s:s, s:o, s:o, s:i, s:o}", "number", (json_int_t)t->number,
                      "params", params_json(j, t), "status", mo_sj_status_names[t->status],
                      "objective", num_or_null(t->objective), "duration", num_or_null(t->duration),
                      "group", (int)t->group, "artifact", str_or_null(t->artifact));
        if (o && t->status == MO_SJ_FAILED)
            json_object_set_new(o, "error", str_or_null(t->error ? t->error : ""));
        if (o)
            json_object_set_new(o, "steps", json_integer((json_int_t)steps[t - j->trials]));
        json_array_append_new(a, o ? o : json_null());
    }
    free(order);
    free(steps);
    return a;
}

void mo_sweep_describe(json_t *obj, hid_t file)
{
    mo_sweep_journal_t j;
    char path[512];
    if (!obj)
        return;
    if (H5Fget_name(file, path, sizeof path) < 0)
        mo_strlcpy(path, "?", sizeof path);
    /* A journal that cannot be read gives nulls: inspect still describes a damaged file. */
    if (mo_sj_read_h5(&j, file, path, NULL)) {
        static const char *const keys[] = {"name",   "algorithm", "objective", "status",
                                           "counts", "trials",    "best"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            json_object_set_new(obj, keys[i], json_null());
        return;
    }
    /* Events a running (or killed) sweep has only in its log; a log that does not apply
     * leaves the journal as far as it did apply. */
    mo_buf_t log = {0};
    if (!mo_buf_printf(&log, "%s.log", path))
        mo_sj_log_replay(&j, log.data, NULL);
    mo_buf_free(&log);
    json_int_t count[4] = {0};
    for (size_t i = 0; i < j.n_trials; i++)
        count[j.trials[i].status]++;
    long b = mo_sj_best(&j);
    json_t *best = b < 0 ? json_null()
                         : json_pack("{s:I, s:o, s:o}", "number", (json_int_t)j.trials[b].number,
                                     "params", params_json(&j, &j.trials[b]), "objective",
                                     num_or_null(j.trials[b].objective));
    json_object_set_new(obj, "name", str_or_null(j.name));
    json_object_set_new(obj, "algorithm", str_or_null(j.algorithm));
    json_object_set_new(obj, "objective",
                        json_pack("{s:o, s:s}", "metric", str_or_null(j.metric), "goal",
                                  j.maximize ? "maximize" : "minimize"));
    json_object_set_new(obj, "status", str_or_null(j.status));
    json_object_set_new(obj, "counts",
                        json_pack("{s:I, s:I, s:I, s:I}", "running", count[0], "completed",
                                  count[1], "pruned", count[2], "failed", count[3]));
    json_object_set_new(obj, "trials", trials_json(&j));
    json_object_set_new(obj, "best", best ? best : json_null());
    mo_sj_free(&j);
}
