/* cmd_data.c - `maestro data synth | import | check`
 *
 * synth and import write one file, from rank 0 only, whatever the rank count. check reads the
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
#include "io/synth.h"
#include "runner/cli_impl.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char data_help[] =
    "usage: maestro data synth --rows N --features D [--classes K] [--seed S] [--noise X]\n"
    "                          [--task classification|regression] [--class-sep X]\n"
    "                          [--informative K] -o FILE.h5\n"
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
    if (!strcmp(argv[1], "import"))
        return cmd_import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    return mo_cli_usage("data", "unknown subcommand '%s' (synth, import, check)", argv[1]);
}
