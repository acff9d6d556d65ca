/* cmd_data.c - `maestro data synth | events | import | check`
 *
 * synth, events and import write their files from rank 0 only, whatever the rank count. events
 * prints a progress line on stderr for big tables (in place on a terminal, else a line every
 * few seconds), so logs of batch jobs stay short. check reads the
 * dataset sharded over all ranks (each rank its own hyperslab through parallel HDF5) and
 * reduces exact counts, so `mpirun -np 3 maestro data check` proves every row was read once.
 */
#include "comm/comm.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/csv.h"
#include "io/dataset.h"
#include "io/dataset_scan.h"
#include "io/events_synth.h"
#include "io/synth.h"
#include "io/timestamp.h"
#include "runner/cli_impl.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char data_help[] =
    "usage: maestro data synth --rows N --features D [--classes K] [--seed S] [--noise X]\n"
    "                          [--task classification|regression] [--class-sep X]\n"
    "                          [--informative K] -o FILE.h5\n"
    "       maestro data events --events N --entities K [--days D] [--start RFC3339] [--seed S]\n"
    "                          [--labels M --labels-out FILE] -o FILE.csv|FILE.h5\n"
    "       maestro data import FILE.csv --label COLUMN [--task auto|classification|regression]\n"
    "                          -o FILE.h5\n"
    "       maestro data check FILE.h5 [--json]\n\n"
    "synth   Gaussian-cluster data in the spirit of scikit-learn's make_classification and\n"
    "        make_regression; the same seed gives the same bytes (default seed 42, noise 0,\n"
    "        classes 2, task classification). --class-sep spreads the class centroids\n"
    "        (default 1, as sklearn); --informative sets how many features carry signal.\n"
    "import  a CSV with a header row; every column but the label must be numeric. String\n"
    "        labels become class ids with their names stored in the file.\n"
    "check   reads every row, sharded over the ranks of the MPI job (mpirun -np N), checks\n"
    "        shapes, dtypes, NaN/Inf and label range, and reports row and class counts.\n"
    "Formats: docs/formats.md. Output files are written atomically, once, by rank 0.\n";

static int parse_i64_opt(const char *cmd, const char *name, const char *v, int64_t lo, int64_t *out)
{
    if (mo_parse_int64(v, out) || *out < lo)
        return mo_cli_usage(cmd, "%s must be an integer >= %lld, got \"%s\"", name, (long long)lo,
                            v);
    return 0;
}

static int parse_task(const char *cmd, const char *v, int allow_auto, int *out)
{
    if (!strcmp(v, "classification"))
        *out = MO_DS_CLASSIFICATION;
    else if (!strcmp(v, "regression"))
        *out = MO_DS_REGRESSION;
    else if (allow_auto && !strcmp(v, "auto"))
        *out = -1;
    else
        return mo_cli_usage(cmd, "--task must be %sclassification or regression, got \"%s\"",
                            allow_auto ? "auto, " : "", v);
    return 0;
}

/* ---- synth -------------------------------------------------------------------------------- */

typedef struct {
    mo_synth_opts_t opts;
    const char *out;
} synth_args_t;

static int synth_rank0(void *ud, mo_error_t *err)
{
    synth_args_t *a = ud;
    double t0 = mo_time_mono();
    int rc = mo_synth_write(a->out, &a->opts, err);
    if (!rc) {
        printf("%s: %lld rows x %lld features, ", a->out, (long long)a->opts.rows,
               (long long)a->opts.features);
        if (a->opts.task == MO_DS_REGRESSION)
            printf("regression");
        else
            printf("classification, %d classes", (int)a->opts.classes);
        printf(" (seed %llu) in %.2f s\n", (unsigned long long)a->opts.seed, mo_time_mono() - t0);
    }
    return rc;
}

static int cmd_synth(int argc, char **argv)
{
    static const struct option longopts[] = {{"rows", required_argument, NULL, 'n'},
                                             {"features", required_argument, NULL, 'd'},
                                             {"classes", required_argument, NULL, 'k'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"noise", required_argument, NULL, 'x'},
                                             {"task", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"class-sep", required_argument, NULL, 'S'},
                                             {"informative", required_argument, NULL, 'i'},
                                             {NULL, 0, NULL, 0}};
    synth_args_t a;
    memset(&a, 0, sizeof a);
    a.opts.classes = 2;
    a.opts.seed = 42;
    a.opts.task = MO_DS_CLASSIFICATION;
    int c, rc = 0, task = MO_DS_CLASSIFICATION;
    int64_t v;
    optind = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":n:d:k:s:x:t:o:hS:i:", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            rc = parse_i64_opt("data synth", "--rows", optarg, 1, &a.opts.rows);
            break;
        case 'd':
            rc = parse_i64_opt("data synth", "--features", optarg, 1, &a.opts.features);
            break;
        case 'k':
            rc = parse_i64_opt("data synth", "--classes", optarg, 2, &v);
            if (!rc && v > 1000000)
                rc = mo_cli_usage("data synth", "--classes must be <= 1000000, got %lld",
                                  (long long)v);
            a.opts.classes = (int32_t)v;
            break;
        case 's':
            rc = parse_i64_opt("data synth", "--seed", optarg, 0, &v);
            a.opts.seed = (uint64_t)v;
            break;
        case 'x':
            if (mo_parse_double(optarg, &a.opts.noise) || a.opts.noise < 0)
                rc =
                    mo_cli_usage("data synth", "--noise must be a number >= 0, got \"%s\"", optarg);
            break;
        case 't':
            rc = parse_task("data synth", optarg, 0, &task);
            a.opts.task = (mo_ds_task_t)task;
            break;
        case 'S':
            if (mo_parse_double(optarg, &a.opts.class_sep) || a.opts.class_sep <= 0)
                rc = mo_cli_usage("data synth", "--class-sep must be a number > 0, got \"%s\"",
                                  optarg);
            break;
        case 'i':
            rc = parse_i64_opt("data synth", "--informative", optarg, 1, &a.opts.informative);
            break;
        case 'o':
            a.out = optarg;
            break;
        case 'h':
            fputs(data_help, stdout);
            return 0;
        case ':':
            return mo_cli_usage("data synth", "option '%s' needs a value", argv[optind - 1]);
        default:
            return mo_cli_usage("data synth", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc)
        return rc;
    if (optind < argc)
        return mo_cli_usage("data synth", "unexpected argument '%s'", argv[optind]);
    if (!a.opts.rows || !a.opts.features || !a.out)
        return mo_cli_usage("data synth", "--rows, --features and -o are required");
    mo_error_t err = {0};
    rc = mo_synth_check(&a.opts, &err);
    if (rc)
        return mo_cli_fail(rc, &err);
    return mo_cli_rank0(&argc, &argv, synth_rank0, &a);
}

/* ---- events ------------------------------------------------------------------------------- */

typedef struct {
    mo_events_synth_opts_t opts;
    const char *out, *labels_out;
    int tty;
    double t0, last;
} events_args_t;

static void events_progress(void *ud, int64_t done, int64_t total)
{
    events_args_t *a = ud;
    double now = mo_time_mono();
    if (total < 1000000 || (done < total && now - a->last < (a->tty ? 0.2 : 5.0)))
        return;
    if (!a->tty && done == total)
        return; /* the summary on stdout says it */
    a->last = now;
    fprintf(stderr, "%sdata events: %lld of %lld events (%.0f%%), %.1f s%s", a->tty ? "\r" : "",
            (long long)done, (long long)total, 100.0 * (double)done / (double)total, now - a->t0,
            a->tty ? (done == total ? "\n" : "") : "\n");
    fflush(stderr);
}

static int events_rank0(void *ud, mo_error_t *err)
{
    events_args_t *a = ud;
    char start[40];
    a->tty = isatty(STDERR_FILENO);
    a->t0 = a->last = mo_time_mono();
    int rc = mo_events_synth_write(a->out, &a->opts, events_progress, a, err);
    if (rc)
        return rc;
    printf("%s: %lld events of %lld entities over %lld days from %s (seed %llu) in %.2f s\n",
           a->out, (long long)a->opts.events, (long long)a->opts.entities, (long long)a->opts.days,
           mo_ts_format(a->opts.start_us, start, sizeof start), (unsigned long long)a->opts.seed,
           mo_time_mono() - a->t0);
    if (!a->labels_out)
        return 0;
    int64_t churned = 0;
    double t1 = mo_time_mono();
    if ((rc = mo_events_synth_write_labels(a->labels_out, &a->opts, &churned, err)))
        return rc;
    printf("%s: %lld entity rows, %lld churn (%.1f%%), in %.2f s\n", a->labels_out,
           (long long)a->opts.labels, (long long)churned,
           100.0 * (double)churned / (double)a->opts.labels, mo_time_mono() - t1);
    return 0;
}

/* "-o" and "--labels-out" name a .csv, .h5 or .hdf5 file. */
static int events_path_ok(const char *opt, const char *path)
{
    size_t n = strlen(path);
    int ok = (n > 4 && !strcmp(path + n - 4, ".csv")) || (n > 3 && !strcmp(path + n - 3, ".h5")) ||
             (n > 5 && !strcmp(path + n - 5, ".hdf5"));
    return ok ? 0
              : mo_cli_usage("data events", "%s must name a .csv or .h5 file, got \"%s\"", opt,
                             path);
}

static int cmd_events(int argc, char **argv)
{
    static const struct option longopts[] = {{"events", required_argument, NULL, 'n'},
                                             {"entities", required_argument, NULL, 'k'},
                                             {"days", required_argument, NULL, 'D'},
                                             {"start", required_argument, NULL, 'S'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"labels", required_argument, NULL, 'l'},
                                             {"labels-out", required_argument, NULL, 'L'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const char *const cmd = "data events";
    events_args_t a;
    memset(&a, 0, sizeof a);
    a.opts.days = 30;
    a.opts.seed = 42;
    a.opts.start_us = INT64_C(1793491200000000); /* 2026-11-01T00:00:00Z */
    int c, rc = 0;
    int64_t v;
    mo_error_t err = {0};
    optind = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":n:k:D:S:s:l:L:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            rc = parse_i64_opt(cmd, "--events", optarg, 1, &a.opts.events);
            break;
        case 'k':
            rc = parse_i64_opt(cmd, "--entities", optarg, 1, &a.opts.entities);
            break;
        case 'D':
            rc = parse_i64_opt(cmd, "--days", optarg, 1, &a.opts.days);
            break;
        case 'S':
            if (mo_ts_parse(optarg, strlen(optarg), MO_TS_RFC3339, &a.opts.start_us, &err))
                rc = mo_cli_usage(cmd, "--start: %s", err.msg);
            break;
        case 's':
            rc = parse_i64_opt(cmd, "--seed", optarg, 0, &v);
            a.opts.seed = (uint64_t)v;
            break;
        case 'l':
            rc = parse_i64_opt(cmd, "--labels", optarg, 1, &a.opts.labels);
            break;
        case 'L':
            if (!(rc = events_path_ok("--labels-out", optarg)))
                a.labels_out = optarg;
            break;
        case 'o':
            if (!(rc = events_path_ok("-o", optarg)))
                a.out = optarg;
            break;
        case 'h':
            fputs(data_help, stdout);
            return 0;
        case ':':
            return mo_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return mo_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc)
        return rc;
    if (optind < argc)
        return mo_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!a.opts.events || !a.opts.entities || !a.out)
        return mo_cli_usage(cmd, "--events, --entities and -o are required");
    if (!a.opts.labels != !a.labels_out)
        return mo_cli_usage(cmd, "--labels and --labels-out go together");
    if (a.labels_out && !strcmp(a.labels_out, a.out))
        return mo_cli_usage(cmd, "--labels-out and -o name the same file");
    if ((rc = mo_events_synth_check(&a.opts, &err)))
        return mo_cli_usage(cmd, "%s", err.msg);
    return mo_cli_rank0(&argc, &argv, events_rank0, &a);
}

/* ---- import ------------------------------------------------------------------------------- */

typedef struct {
    const char *csv, *out;
    mo_csv_opts_t opts;
} import_args_t;

static int import_rank0(void *ud, mo_error_t *err)
{
    import_args_t *a = ud;
    mo_ds_info_t info;
    memset(&info, 0, sizeof info);
    double t0 = mo_time_mono();
    int rc = mo_csv_import(&info, a->csv, a->out, &a->opts, err);
    if (!rc) {
        printf("%s: %lld rows x %lld features from %s, %s", a->out, (long long)info.n_rows,
               (long long)info.n_features, a->csv,
               info.task == MO_DS_REGRESSION ? "regression" : "classification");
        if (info.task == MO_DS_CLASSIFICATION)
            printf(" with %d classes", (int)info.n_classes);
        printf(" (label '%s') in %.2f s\n", a->opts.label, mo_time_mono() - t0);
        mo_ds_info_free(&info);
    }
    return rc;
}

static int cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {{"label", required_argument, NULL, 'l'},
                                             {"task", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    import_args_t a;
    memset(&a, 0, sizeof a);
    a.opts.task = MO_CSV_TASK_AUTO;
    int c, task = -1;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:t:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            a.opts.label = optarg;
            break;
        case 't':
            if (parse_task("data import", optarg, 1, &task))
                return MO_EXIT_BADINPUT;
            a.opts.task = task < 0                       ? MO_CSV_TASK_AUTO
                          : task == MO_DS_CLASSIFICATION ? MO_CSV_TASK_CLASSIFICATION
                                                         : MO_CSV_TASK_REGRESSION;
            break;
        case 'o':
            a.out = optarg;
            break;
        case 'h':
            fputs(data_help, stdout);
            return 0;
        case ':':
            return mo_cli_usage("data import", "option '%s' needs a value", argv[optind - 1]);
        default:
            return mo_cli_usage("data import", "unknown option '%s'", argv[optind - 1]);
        }
    }
    for (; optind < argc; optind++) {
        if (a.csv)
            return mo_cli_usage("data import", "unexpected argument '%s'", argv[optind]);
        a.csv = argv[optind];
    }
    if (!a.csv || !a.opts.label || !a.out)
        return mo_cli_usage("data import", "FILE.csv, --label and -o are required");
    return mo_cli_rank0(&argc, &argv, import_rank0, &a);
}

/* ---- check -------------------------------------------------------------------------------- */

static void print_check(const char *path, const mo_ds_info_t *info, int size, int64_t rows,
                        const int64_t *counts, const double *sums, int json)
{
    if (json) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:i,s:s}", "path", path, "status", "ok", "rows",
                              (json_int_t)info->n_rows, "rows_read", (json_int_t)rows, "features",
                              (json_int_t)info->n_features, "ranks", size, "task",
                              info->task == MO_DS_REGRESSION ? "regression" : "classification");
        if (info->task == MO_DS_CLASSIFICATION) {
            json_t *cc = json_array();
            for (int32_t k = 0; k < info->n_classes; k++)
                json_array_append_new(cc, json_integer(counts[k]));
            json_object_set_new(o, "class_counts", cc);
        } else {
            double mean = rows ? sums[0] / (double)rows : 0;
            json_object_set_new(o, "target_mean", json_real(mean));
        }
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
        json_decref(o);
        return;
    }
    printf("%s: ok, %lld of %lld rows x %lld features read by %d rank%s\n", path, (long long)rows,
           (long long)info->n_rows, (long long)info->n_features, size, size == 1 ? "" : "s");
    if (info->task == MO_DS_CLASSIFICATION) {
        printf("  classes:");
        for (int32_t k = 0; k < info->n_classes && k < 20; k++)
            printf(" %s=%lld", info->class_names ? info->class_names[k] : "", (long long)counts[k]);
        printf(info->n_classes > 20 ? " ...\n" : "\n");
    } else if (rows) {
        double mean = sums[0] / (double)rows;
        printf("  target: mean %.6g, std %.6g\n", mean,
               sqrt(fmax(0, sums[1] / (double)rows - mean * mean)));
    }
}

static int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(data_help, stdout);
            return 0;
        } else if (argv[i][0] == '-')
            return mo_cli_usage("data check", "unknown option '%s'", argv[i]);
        else if (path)
            return mo_cli_usage("data check", "unexpected argument '%s'", argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return mo_cli_usage("data check", "no file given");
    mo_error_t err = {0};
    mo_comm_t *comm = NULL;
    mo_ds_t *ds = NULL;
    mo_ds_stats_t st = {0};
    int rc = mo_comm_init(&comm, &argc, &argv, &err);
    if (rc)
        return mo_cli_fail(rc, &err);
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    mo_cli_set_rank(rank);
    rc = mo_comm_agree(comm, mo_ds_open(&ds, path, mo_comm_mpi(comm), &err), &err);
    if (rc)
        goto out;
    const mo_ds_info_t *info = mo_ds_info(ds);
    int64_t begin, count;
    mo_ds_shard_range(info->n_rows, rank, size, &begin, &count);
    int local = mo_ds_stats_init(&st, info, &err);
    if (!local)
        local = mo_ds_scan(&st, ds, begin, count, &err);
    rc = mo_comm_agree(comm, local, &err);
    double sums[2] = {st.target_sum, st.target_sumsq};
    if (!rc)
        rc = mo_comm_allreduce(comm, &st.rows, 1, MO_DT_INT64, MO_OP_SUM, &err);
    if (!rc && st.class_counts)
        rc = mo_comm_allreduce(comm, st.class_counts, (size_t)st.n_classes, MO_DT_INT64, MO_OP_SUM,
                               &err);
    if (!rc)
        rc = mo_comm_allreduce(comm, sums, 2, MO_DT_DOUBLE, MO_OP_SUM, &err);
    if (!rc && st.rows != info->n_rows)
        rc = mo_errorf(&err, MO_ERUNTIME, "%s: read %lld rows but the file has %lld", path,
                       (long long)st.rows, (long long)info->n_rows);
    if (!rc && rank == 0)
        print_check(path, info, size, st.rows, st.class_counts, sums, json);
out:
    mo_ds_stats_free(&st);
    mo_ds_close(ds);
    /* Print before MPI_Finalize (see mo_cli_rank0): a rank exiting non-zero first would have
     * mpirun kill rank 0 before the message is out. */
    int code = rc ? mo_cli_fail(rc, &err) : 0;
    fflush(stdout);
    mo_comm_destroy(comm);
    return code;
}

int mo_cmd_data(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(data_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? MO_EXIT_BADINPUT : 0;
    }
    if (!strcmp(argv[1], "synth"))
        return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(argv[1], "events"))
        return cmd_events(argc - 1, argv + 1);
    if (!strcmp(argv[1], "import"))
        return cmd_import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    return mo_cli_usage("data", "unknown subcommand '%s' (synth, events, import, check)", argv[1]);
}
