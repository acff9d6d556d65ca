/* test_run_dir.c - creating a run's output folder */
#include "runner/run_dir.h"

#include "tests/unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_run_dir__creates_nested_folders(void)
{
    char path[600], parent[600];
    snprintf(parent, sizeof parent, "%s/runs", mo_test_tmpdir());
    snprintf(path, sizeof path, "%s/runs/team/job-1", mo_test_tmpdir());
    CU_ASSERT_FALSE(is_dir(parent));
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_run_dir_create(path, &err), 0);
    CU_ASSERT_TRUE(is_dir(parent));
    CU_ASSERT_TRUE(is_dir(path));
    /* A trailing slash and doubled slashes name the same folders. */
    snprintf(path, sizeof path, "%s/runs//team/job-2/", mo_test_tmpdir());
    CU_ASSERT_EQUAL(mo_run_dir_create(path, &err), 0);
    snprintf(path, sizeof path, "%s/runs/team/job-2", mo_test_tmpdir());
    CU_ASSERT_TRUE(is_dir(path));
}

static void test_run_dir__existing_folder_is_fine(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/again", mo_test_tmpdir());
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_run_dir_create(path, &err), 0);
    mo_test_write_file(path, "report.json", "{}");
    CU_ASSERT_EQUAL(mo_run_dir_create(path, &err), 0);
    CU_ASSERT_EQUAL(mo_run_dir_create(path, NULL), 0);
    /* The folder's content is left alone. */
    char file[700];
    snprintf(file, sizeof file, "%s/report.json", path);
    struct stat st;
    CU_ASSERT_EQUAL(stat(file, &st), 0);
    CU_ASSERT_EQUAL(mo_run_dir_create("/", &err), 0);
}

static void test_run_dir__existing_file_is_io_error(void)
{
    const char *file = mo_test_write_file(mo_test_tmpdir(), "taken", "x");
    char path[600], want[700];
    snprintf(path, sizeof path, "%s", file);
    snprintf(want, sizeof want, "%s: exists and is not a folder", path);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_run_dir_create(path, &err), MO_EIO);
    CU_ASSERT_EQUAL(err.code, MO_EIO);
    ASSERT_MSG(err, want);
    /* A file in the middle of the path is named, and nothing is created below it. */
    char below[700];
    snprintf(below, sizeof below, "%s/sub/dir", path);
    mo_error_clear(&err);
    CU_ASSERT_EQUAL(mo_run_dir_create(below, &err), MO_EIO);
    ASSERT_MSG(err, want);
    CU_ASSERT_EQUAL(mo_run_dir_create(path, NULL), MO_EIO);
}

static void test_run_dir__empty_or_null_path_is_invalid(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_run_dir_create(NULL, &err), MO_EINVAL);
    ASSERT_MSG(err, "empty output folder");
    mo_error_clear(&err);
    CU_ASSERT_EQUAL(mo_run_dir_create("", &err), MO_EINVAL);
    ASSERT_MSG(err, "empty output folder");
    CU_ASSERT_EQUAL(mo_run_dir_create(NULL, NULL), MO_EINVAL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_run_dir__creates_nested_folders),
    MO_TEST(test_run_dir__existing_folder_is_fine),
    MO_TEST(test_run_dir__existing_file_is_io_error),
    MO_TEST(test_run_dir__empty_or_null_path_is_invalid),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("runner/run_dir", tests);
}
