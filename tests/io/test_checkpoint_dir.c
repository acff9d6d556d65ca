/* test_checkpoint_dir.c - the checkpoint folder: save, prune, latest, damaged files skipped
 * (io/checkpoint_dir.c), and the checksums that find them (io/h5_sum.c) */
#include "io/checkpoint.h"
#include "io/h5.h"
#include "tests/unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh empty folder under the test's temp dir. */
static const char *fresh_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
    return p;
}

static int exists(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Save a checkpoint whose only entry "v" holds `v`. */
static void save_value(const char *dir, int64_t step, int keep, double v)
{
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_put_double(c, "v", v, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_save(c, dir, step, keep, NULL, &err), 0);
    mo_ckpt_destroy(c);
}

static double load_value(const char *path)
{
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    double v = -1;
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_load(&c, path, &err), 0);
    CU_ASSERT_EQUAL(mo_ckpt_get_double(c, "v", &v, &err), 0);
    mo_ckpt_destroy(c);
    return v;
}

static void test_checkpoint_dir__save_at_same_step_replaces(void)
{
    const char *dir = fresh_dir("same_step");
    save_value(dir, 3, 5, 1.0);
    save_value(dir, 3, 5, 2.0);
    CU_ASSERT_EQUAL(count_entries(dir), 1);
    char p[600];
    snprintf(p, sizeof p, "%s/ckpt-000000000003.h5", dir);
    CU_ASSERT_EQUAL(load_value(p), 2.0);
}

static void test_checkpoint_dir__prune_keeps_newest(void)
{
    char d[512];
    snprintf(d, sizeof d, "%s", fresh_dir("prune"));
    mo_test_write_file(d, "notes.txt", "keep me");
    mo_test_write_file(d, "ckpt-abc.h5", "not a checkpoint name");
    /* Steps out of order, and 10 beside 9: the order is by number, not by name or time. */
    const int64_t steps[] = {10, 2, 9, 1, 30};
    for (int i = 0; i < 5; i++)
        save_value(d, steps[i], 2, (double)steps[i]);
    CU_ASSERT(exists(d, "ckpt-000000000030.h5"));
    CU_ASSERT(exists(d, "ckpt-000000000010.h5"));
    CU_ASSERT(!exists(d, "ckpt-000000000009.h5"));
    CU_ASSERT(!exists(d, "ckpt-000000000002.h5"));
    CU_ASSERT(!exists(d, "ckpt-000000000001.h5"));
    CU_ASSERT(exists(d, "notes.txt"));
    CU_ASSERT(exists(d, "ckpt-abc.h5"));
    CU_ASSERT_EQUAL(count_entries(d), 4);
    /* A save below the newest (a run resumed from further back) keeps what it wrote. */
    save_value(d, 5, 1, 5.0);
    CU_ASSERT(exists(d, "ckpt-000000000005.h5"));
    CU_ASSERT(exists(d, "ckpt-000000000030.h5") + exists(d, "ckpt-000000000010.h5") == 0);
    /* keep 3 with many: exactly 3 stay. */
    for (int64_t s = 100; s < 110; s++)
        save_value(d, s, 3, (double)s);
    CU_ASSERT(exists(d, "ckpt-000000000109.h5") && exists(d, "ckpt-000000000108.h5") &&
              exists(d, "ckpt-000000000107.h5"));
    CU_ASSERT_EQUAL(count_entries(d), 5);
}

static void test_checkpoint_dir__latest_ignores_temp_and_other_names(void)
{
    char d[512], *path = NULL;
    mo_error_t err = {0};
    snprintf(d, sizeof d, "%s", fresh_dir("latest"));
    CU_ASSERT_EQUAL(mo_ckpt_latest(&path, d, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no checkpoint in "));
    CU_ASSERT_PTR_NULL(path);
    save_value(d, 7, 5, 7.0);
    save_value(d, 6, 5, 6.0);
    /* An interrupted save of a newer step, and names that only look like checkpoints. */
    mo_test_write_file(d, "ckpt-000000000009.h5.tmp.4242", "half written");
    mo_test_write_file(d, "ckpt-000000000099.txt", "x");
    mo_test_write_file(d, "ckpt-.h5", "x");
    mo_test_write_file(d, "ckpt-12x.h5", "x");
    mo_test_write_file(d, "ckpt--50.h5", "x");
    mo_test_write_file(d, "xckpt-000000000080.h5", "x");
    mo_test_write_file(d, "ckpt-000000000080.h5.bak", "x");
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_latest(&path, d, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(path, "/ckpt-000000000007.h5"));
    CU_ASSERT_EQUAL(load_value(path), 7.0);
    free(path);
    /* A trailing slash on the folder gives a clean path. */
    char d2[600];
    snprintf(d2, sizeof d2, "%s/", d);
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_latest(&path, d2, &err), 0);
    CU_ASSERT_PTR_NULL(strstr(path, "//"));
    free(path);
    path = NULL;
    snprintf(d2, sizeof d2, "%s/missing", d);
    CU_ASSERT_EQUAL(mo_ckpt_latest(&path, d2, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no checkpoint in "));
    CU_ASSERT_PTR_NULL(path);
}

static void test_checkpoint_dir__bad_arguments(void)
{
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    char *path = (char *)"sentinel";
    CU_ASSERT_EQUAL_FATAL(mo_ckpt_create(&c, &err), 0);
    const char *dir = fresh_dir("bad_args");
    CU_ASSERT_EQUAL(mo_ckpt_save(NULL, dir, 1, 1, &path, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(path);
    CU_ASSERT_EQUAL(mo_ckpt_save(c, NULL, 1, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_save(c, "", 1, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_save(c, dir, 1, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "keep must be >= 1, got 0"));
    CU_ASSERT_EQUAL(mo_ckpt_save(c, dir, -1, 1, NULL, &err), MO_EINVAL);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    CU_ASSERT_EQUAL(mo_ckpt_save(c, missing, 1, 1, NULL, &err), MO_ENOTFOUND);
    CU_ASSERT_EQUAL(count_entries(dir), 0);
    CU_ASSERT_EQUAL(mo_ckpt_latest(NULL, dir, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_latest(&path, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ckpt_latest(&path, "", &err), MO_EINVAL);
    mo_ckpt_destroy(c);
}

/* Flip one byte at `off` (from the end when negative) of dir/name, or cut the file to `len`. */
static void damage(const char *dir, const char *name, long off, long cut_to)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (cut_to >= 0) {
        CU_ASSERT_EQUAL_FATAL(truncate(p, cut_to), 0);
        return;
    }
    FILE *f = fopen(p, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, off, off < 0 ? SEEK_END : SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, off < 0 ? SEEK_END : SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static void test_checkpoint_dir__damaged_checkpoint_is_detected_and_skipped(void)
{
    const char *dir = fresh_dir("damaged");
    save_value(dir, 1, 5, 1.0);
    save_value(dir, 2, 5, 2.0);
    save_value(dir, 3, 5, 3.0);
    mo_error_t err = {0};
    mo_ckpt_t *c = NULL;
    char *path = NULL, p3[600];
    snprintf(p3, sizeof p3, "%s/ckpt-000000000003.h5", dir);
    CU_ASSERT_EQUAL(mo_h5_verify(p3, 1, &err), 0);
    /* A bit flipped in the data: the digest tells. */
    damage(dir, "ckpt-000000000003.h5", -100, -1);
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p3, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ckpt-000000000003.h5: damaged: checksum mismatch"));
    /* Resume takes the one before. */
    CU_ASSERT_EQUAL(mo_ckpt_load_latest(&c, &path, dir, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(path, "ckpt-000000000002.h5"));
    double v = 0;
    CU_ASSERT_EQUAL(mo_ckpt_get_double(c, "v", &v, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 2.0, 0);
    mo_ckpt_destroy(c);
    free(path);
    /* Truncated: caught by the length alone. */
    damage(dir, "ckpt-000000000002.h5", 0, 2000);
    char p2[600];
    snprintf(p2, sizeof p2, "%s/ckpt-000000000002.h5", dir);
    CU_ASSERT_EQUAL(mo_h5_verify(p2, 1, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "damaged: 2000 bytes where"));
    /* The header itself hit: no checksum to trust, refused. */
    damage(dir, "ckpt-000000000001.h5", 3, -1);
    c = NULL;
    CU_ASSERT_EQUAL(mo_ckpt_load_latest(&c, &path, dir, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no good checkpoint in"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(3 damaged)"));
}

static void test_checkpoint_dir__a_file_without_checksum_is_not_loaded(void)
{
    const char *dir = fresh_dir("nosum");
    char p[600];
    snprintf(p, sizeof p, "%s/ckpt-000000000001.h5", dir);
    hid_t f = H5I_INVALID_HID;
    char *tmp = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, p, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(f, "kind", "checkpoint", &err), 0);
    CU_ASSERT_EQUAL(mo_h5_commit(&f, &tmp, p, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_verify(p, 0, &err), 0); /* not required: fine */
    mo_ckpt_t *c = NULL;
    CU_ASSERT_EQUAL(mo_ckpt_load(&c, p, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "without a Maestro checksum"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_checkpoint_dir__save_at_same_step_replaces),
    MO_TEST(test_checkpoint_dir__damaged_checkpoint_is_detected_and_skipped),
    MO_TEST(test_checkpoint_dir__a_file_without_checksum_is_not_loaded),
    MO_TEST(test_checkpoint_dir__prune_keeps_newest),
    MO_TEST(test_checkpoint_dir__latest_ignores_temp_and_other_names),
    MO_TEST(test_checkpoint_dir__bad_arguments),
    CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/checkpoint_dir", tests);
}
