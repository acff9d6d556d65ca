/* test_sweep_journal_log.c - the writer of a running sweep: sweep.h5 plus its event log
 * (io/sweep_journal_log.c), replayed by mo_sj_read after a crash */
#include "io/sweep_journal.h"
#include "tests/unit.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *path_in(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", mo_test_tmpdir(), name);
    return p[i];
}

static const char *names[] = {"optimizer.lr", "model.hidden"};
static const char *types[] = {"double", "categorical"};

static void init(mo_sweep_journal_t *j)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_sj_init(j, "fast", "random", "value", 0, "objective", "kind: sweep\n",
                                     2, names, types, &err),
                          0);
}

/* Trial n's events, each saved as the controller saves them: add, two reports, end. */
static void trial(mo_sweep_journal_t *j, mo_sj_writer_t *w, int64_t n)
{
    mo_error_t err = {0};
    double x[2] = {1.0 / (double)(n + 1), (double)(n % 3)};
    char lr[32];
    snprintf(lr, sizeof lr, "%.17g", x[0]);
    const char *text[2] = {lr, n % 3 ? "[128, 128]" : "[64]"};
    long want = (long)j->n_trials;
    CU_ASSERT_EQUAL(
        mo_sj_add_trial(j, n, 0, x, text, 1.7e9 + (double)n, n % 2 ? "trials/0001" : NULL, &err),
        want);
    CU_ASSERT_EQUAL(mo_sj_writer_save(w, j, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(j, n, 1, 0.5, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(j, n, 2, -INFINITY, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_writer_save(w, j, 0, &err), 0);
    int failed = n % 5 == 0;
    CU_ASSERT_EQUAL(mo_sj_end_trial(j, n, failed ? MO_SJ_FAILED : MO_SJ_COMPLETED,
                                    failed ? NAN : -(double)n, 0.001, failed ? "exit 3" : NULL,
                                    &err),
                    0);
    CU_ASSERT_EQUAL(mo_sj_writer_save(w, j, n % 7 == 0, &err), 0);
}

/* A writer that takes the 17th and later saves to its log however slow the machine (valgrind,
 * a loaded CI runner): the policy's clock is the test's business, not the machine's. */
static mo_sj_writer_t *fast_writer(mo_sweep_journal_t *j, const char *path)
{
    mo_sj_writer_t *w = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_sj_writer_create(&w, j, path, &err), 0);
    mo_sj_writer_tune(w, 3600, 3600);
    return w;
}

static void expect_same(const mo_sweep_journal_t *a, const mo_sweep_journal_t *b)
{
#define SAME_STR(x, y) CU_ASSERT_STRING_EQUAL((x) ? (x) : "(null)", (y) ? (y) : "(null)")
    SAME_STR(a->status, b->status);
    CU_ASSERT_EQUAL(a->seq, b->seq);
    CU_ASSERT_EQUAL_FATAL(a->n_trials, b->n_trials);
    for (size_t i = 0; i < a->n_trials; i++) {
        const mo_sj_trial_t *s = &a->trials[i], *t = &b->trials[i];
        CU_ASSERT(s->number == t->number && s->status == t->status && s->group == t->group);
        CU_ASSERT(s->objective == t->objective || (isnan(s->objective) && isnan(t->objective)));
        CU_ASSERT(s->start_time == t->start_time && s->duration == t->duration);
        CU_ASSERT_EQUAL(s->end_seq, t->end_seq);
        CU_ASSERT(memcmp(s->x, t->x, a->dim * sizeof *s->x) == 0);
        for (size_t k = 0; k < a->dim; k++)
            SAME_STR(s->text[k], t->text[k]);
        SAME_STR(s->artifact, t->artifact);
        SAME_STR(s->error, t->error);
    }
    CU_ASSERT_EQUAL_FATAL(a->n_reports, b->n_reports);
    for (size_t r = 0; r < a->n_reports; r++) {
        const mo_sj_report_t *s = &a->reports[r], *t = &b->reports[r];
        CU_ASSERT(s->trial == t->trial && s->step == t->step && s->seq == t->seq);
        CU_ASSERT(s->value == t->value);
    }
#undef SAME_STR
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[4096];
    size_t n;
    CU_ASSERT_FATAL(in && out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        CU_ASSERT_EQUAL(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void test_sweep_journal_log__fast_saves_append_and_read_replays_them(void)
{
    mo_sweep_journal_t j, back, snap;
    mo_sj_writer_t *w = NULL;
    mo_error_t err = {0};
    const char *path = path_in("fast.h5"), *log = path_in("fast.h5.log");
    int64_t rewrites, appends;
    init(&j);
    w = fast_writer(&j, path);
    for (int64_t n = 0; n < 60; n++)
        trial(&j, w, n);
    mo_sj_writer_counts(w, &rewrites, &appends);
    /* Saves within microseconds of each other: past the first few, the log takes them. */
    CU_ASSERT(rewrites >= 1 && appends > 100);
    CU_ASSERT(size_of(log) > 0);
    /* sweep.h5 alone lags; with its log it is the journal in memory exactly, as after a kill. */
    CU_ASSERT_EQUAL_FATAL(mo_sj_read_snapshot(&snap, path, &err), 0);
    CU_ASSERT(snap.seq < j.seq);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    expect_same(&j, &back);
    mo_sj_free(&back);
    mo_sj_free(&snap);
    /* Going idle puts everything in sweep.h5 and empties the log. */
    CU_ASSERT_EQUAL(mo_sj_writer_idle(w, &j, &err), 0);
    CU_ASSERT_EQUAL(size_of(log), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read_snapshot(&snap, path, &err), 0);
    expect_same(&j, &snap);
    mo_sj_free(&snap);
    /* The end: sweep.h5 whole, the log gone. */
    trial(&j, w, 60);
    CU_ASSERT_EQUAL(mo_sj_set_status(&j, "completed", &err), 0);
    CU_ASSERT_EQUAL(mo_sj_writer_finish(w, &j, &err), 0);
    CU_ASSERT_EQUAL(access(log, F_OK), -1);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read_snapshot(&snap, path, &err), 0);
    expect_same(&j, &snap);
    CU_ASSERT_STRING_EQUAL(snap.status, "completed");
    mo_sj_free(&snap);
    mo_sj_writer_destroy(w);
    mo_sj_free(&j);
}

static void test_sweep_journal_log__slow_saves_rewrite_every_time(void)
{
    mo_sweep_journal_t j, snap;
    mo_sj_writer_t *w = NULL;
    mo_error_t err = {0};
    const char *path = path_in("slow.h5");
    int64_t rewrites, appends;
    init(&j);
    CU_ASSERT_EQUAL_FATAL(mo_sj_writer_create(&w, &j, path, &err), 0);
    for (int64_t n = 0; n < 4; n++) /* 12 saves: fewer than a burst needs */
        trial(&j, w, n);
    mo_sj_writer_counts(w, &rewrites, &appends);
    CU_ASSERT_EQUAL(rewrites, 12);
    CU_ASSERT_EQUAL(appends, 0);
    CU_ASSERT_EQUAL(access(path_in("slow.h5.log"), F_OK), -1);
    /* sweep.h5 alone holds the last event, for readers that do not know the log (h5py). */
    CU_ASSERT_EQUAL_FATAL(mo_sj_read_snapshot(&snap, path, &err), 0);
    expect_same(&j, &snap);
    mo_sj_free(&snap);
    mo_sj_writer_destroy(w);
    mo_sj_free(&j);
}

/* A log whose last record was cut or damaged (a power cut mid-write): the replay stops after
 * the last whole record, and the journal read is that of an earlier event, whole. */
static void test_sweep_journal_log__torn_or_damaged_tail_ends_the_log(void)
{
    mo_sweep_journal_t j, back;
    mo_sj_writer_t *w = NULL;
    mo_error_t err = {0};
    const char *path = path_in("torn.h5"), *log = path_in("torn.h5.log");
    init(&j);
    w = fast_writer(&j, path);
    for (int64_t n = 0; n < 30; n++)
        trial(&j, w, n);
    off_t size = size_of(log);
    CU_ASSERT_FATAL(size > 20);
    /* The last record is an end (fixed fields + an empty string: 12 + 1 + 8 + 8 + 4 + 16 + 4
     * bytes); cutting 3 bytes of it leaves the journal at the two reports before. */
    CU_ASSERT_EQUAL_FATAL(truncate(log, size - 3), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    CU_ASSERT_EQUAL(back.seq, j.seq - 1);
    CU_ASSERT_EQUAL(back.trials[29].status, MO_SJ_RUNNING);
    CU_ASSERT_EQUAL(back.n_reports, j.n_reports);
    mo_sj_free(&back);
    /* A flipped byte in the value of the last whole record (a report of 12 + 1 + 8 + 24 bytes,
     * just before the end's 53): its CRC fails, the log ends before it. */
    int fd = open(log, O_RDWR);
    unsigned char b = 0;
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pread(fd, &b, 1, size - 53 - 4), 1);
    b ^= 0x40;
    CU_ASSERT_EQUAL(pwrite(fd, &b, 1, size - 53 - 4), 1);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    CU_ASSERT_EQUAL(back.seq, j.seq - 2);
    CU_ASSERT_EQUAL(back.n_reports, j.n_reports - 1);
    mo_sj_free(&back);
    mo_sj_writer_destroy(w);
    mo_sj_free(&j);
}

/* A crash after sweep.h5 was rewritten but before the log was emptied: the records it holds
 * are in sweep.h5 already and are skipped, not applied twice. */
static void test_sweep_journal_log__records_in_the_file_already_are_skipped(void)
{
    mo_sweep_journal_t j, back;
    mo_sj_writer_t *w = NULL;
    mo_error_t err = {0};
    const char *path = path_in("skip.h5");
    init(&j);
    w = fast_writer(&j, path);
    for (int64_t n = 0; n < 30; n++)
        trial(&j, w, n);
    CU_ASSERT(size_of(path_in("skip.h5.log")) > 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, path, &err), 0); /* sweep.h5 whole, log as it was */
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    expect_same(&j, &back);
    mo_sj_free(&back);
    mo_sj_writer_destroy(w);
    mo_sj_free(&j);
}

/* --resume: the journal read (file + log) gets a new writer, whose first save rewrites
 * sweep.h5 and removes the old log; the sweep goes on from there. */
static void test_sweep_journal_log__resume_from_file_and_log(void)
{
    mo_sweep_journal_t j, back, again;
    mo_sj_writer_t *w = NULL, *w2 = NULL;
    mo_error_t err = {0};
    const char *path = path_in("resume.h5"), *log = path_in("resume.h5.log");
    init(&j);
    w = fast_writer(&j, path);
    for (int64_t n = 0; n < 40; n++)
        trial(&j, w, n);
    mo_sj_writer_destroy(w); /* killed: no finish */
    CU_ASSERT(size_of(log) > 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    CU_ASSERT_EQUAL(back.n_trials, 40);
    w2 = fast_writer(&back, path);
    CU_ASSERT_EQUAL(mo_sj_set_status(&back, "running", &err), 0);
    CU_ASSERT_EQUAL(mo_sj_writer_save(w2, &back, 1, &err), 0);
    CU_ASSERT_EQUAL(access(log, F_OK), -1);
    for (int64_t n = 40; n < 80; n++)
        trial(&back, w2, n);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&again, path, &err), 0);
    expect_same(&back, &again);
    CU_ASSERT_EQUAL(again.n_trials, 80);
    mo_sj_free(&again);
    mo_sj_writer_destroy(w2);
    mo_sj_free(&back);
    mo_sj_free(&j);
}

/* A log that starts after the file's last event (not this file's log): an error, no guess. */
static void test_sweep_journal_log__log_that_does_not_follow_is_a_format_error(void)
{
    mo_sweep_journal_t j, back;
    mo_sj_writer_t *w = NULL;
    mo_error_t err = {0};
    const char *path = path_in("gap.h5"), *other = path_in("gap-other.h5");
    init(&j);
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, other, &err), 0); /* seq 0 */
    w = fast_writer(&j, path);
    for (int64_t n = 0; n < 30; n++)
        trial(&j, w, n);
    copy_file(path_in("gap.h5.log"), path_in("gap-other.h5.log"));
    CU_ASSERT_EQUAL(mo_sj_read(&back, other, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gap-other.h5.log"));
    CU_ASSERT_EQUAL(back.n_trials, 0);
    mo_sj_free(&back);
    mo_sj_writer_destroy(w);
    mo_sj_free(&j);
}

static void test_sweep_journal_log__bad_arguments(void)
{
    mo_sweep_journal_t j;
    mo_sj_writer_t *w = (mo_sj_writer_t *)&j;
    mo_error_t err = {0};
    int64_t r = 1, a = 1;
    init(&j);
    CU_ASSERT_EQUAL(mo_sj_writer_create(&w, &j, "", &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_EQUAL(mo_sj_writer_create(&w, NULL, path_in("x.h5"), &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_writer_create(&w, &j, NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_writer_create(NULL, &j, path_in("x.h5"), &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_writer_save(NULL, &j, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_writer_idle(NULL, &j, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_writer_finish(NULL, &j, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_log_replay(NULL, "x", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_log_replay(&j, "", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_log_replay(&j, path_in("absent.log"), &err), 0); /* no log: nothing */
    mo_sj_writer_counts(NULL, &r, &a);
    mo_sj_writer_tune(NULL, 1, 1);
    CU_ASSERT(r == 0 && a == 0);
    mo_sj_writer_destroy(NULL);
    /* A folder that does not exist: the first save fails with I/O, nothing is left. */
    CU_ASSERT_EQUAL_FATAL(mo_sj_writer_create(&w, &j, path_in("no/such/dir/s.h5"), &err), 0);
    CU_ASSERT_EQUAL(mo_sj_writer_save(w, &j, 0, &err), MO_EIO);
    CU_ASSERT_EQUAL(mo_sj_writer_finish(w, &j, &err), MO_EIO);
    mo_sj_writer_destroy(w);
    mo_sj_free(&j);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_sweep_journal_log__fast_saves_append_and_read_replays_them),
    MO_TEST(test_sweep_journal_log__slow_saves_rewrite_every_time),
    MO_TEST(test_sweep_journal_log__torn_or_damaged_tail_ends_the_log),
    MO_TEST(test_sweep_journal_log__records_in_the_file_already_are_skipped),
    MO_TEST(test_sweep_journal_log__resume_from_file_and_log),
    MO_TEST(test_sweep_journal_log__log_that_does_not_follow_is_a_format_error),
    MO_TEST(test_sweep_journal_log__bad_arguments),
    CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/sweep_journal_log", tests);
}
