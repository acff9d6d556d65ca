/* test_atomic.c - whole-file writes through a temp file and rename */
#include "io/atomic.h"

#include "tests/unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

/* A fresh empty folder tmpdir/name; returns its path (static buffer). */
static const char *fresh_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    return path;
}

/* Number of entries in `dir` (without . and ..), and how many have ".tmp." in their name. */
static int count_entries(const char *dir, int *tmp_files)
{
    int n = 0;
    *tmp_files = 0;
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (strstr(e->d_name, ".tmp."))
            (*tmp_files)++;
    }
    closedir(d);
    return n;
}

/* The whole content of `path` (caller frees), or NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    *len = n;
    return buf;
}

static void test_atomic__writes_exact_content(void)
{
    const char *dir = fresh_dir("write");
    char path[600];
    snprintf(path, sizeof path, "%s/report.json", dir);
    static const char data[] = "{\"a\": 1}\n\0tail"; /* an embedded NUL is written too */
    mo_error_t err = {0};
    mode_t old_mask = umask(022);
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, data, sizeof data - 1, &err), 0);
    umask(old_mask);
    size_t len = 0;
    char *got = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(len, sizeof data - 1);
    CU_ASSERT_EQUAL(memcmp(got, data, sizeof data - 1), 0);
    free(got);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
    int tmp = 0;
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1);
    CU_ASSERT_EQUAL(tmp, 0);
}

static void test_atomic__replaces_existing_file(void)
{
    const char *dir = fresh_dir("replace");
    char path[600];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    mo_test_write_file(dir, "state.txt", "an older and much longer content\n");
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, "new\n", 4, &err), 0);
    size_t len = 0;
    char *got = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_STRING_EQUAL(got, "new\n");
    free(got);
    /* Zero bytes is a valid (empty) file, and data may then be NULL. */
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, NULL, 0, &err), 0);
    got = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(len, 0);
    free(got);
    int tmp = 0;
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1);
    CU_ASSERT_EQUAL(tmp, 0);
}

static void test_atomic__missing_folder_is_io_error_and_creates_nothing(void)
{
    const char *dir = fresh_dir("missing");
    char path[600], want[800];
    snprintf(path, sizeof path, "%s/no-such-dir/report.json", dir);
    snprintf(want, sizeof want, "cannot create %s.tmp.%ld: %s", path, (long)getpid(),
             strerror(ENOENT));
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, "x", 1, &err), MO_EIO);
    CU_ASSERT_EQUAL(err.code, MO_EIO);
    ASSERT_MSG(err, want);
    int tmp = 0;
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 0);
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, "x", 1, NULL), MO_EIO);
}

static void test_atomic__failed_rename_removes_temp_file(void)
{
    /* The target is a folder: the temp file is written, the rename fails, the temp goes. */
    const char *dir = fresh_dir("rename");
    char path[600];
    snprintf(path, sizeof path, "%s/target", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, "x", 1, &err), MO_EIO);
    char want[1400];
    snprintf(want, sizeof want, "cannot rename %s.tmp.%ld to %s: ", path, (long)getpid(), path);
    CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
    if (strncmp(err.msg, want, strlen(want)))
        fprintf(stderr, "\n  got:  %s\n  want: %s...\n", err.msg, want);
    int tmp = 0;
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1); /* only the folder */
    CU_ASSERT_EQUAL(tmp, 0);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
}

static void test_atomic__bad_arguments_return_errors(void)
{
    const char *dir = fresh_dir("args");
    char path[600];
    snprintf(path, sizeof path, "%s/f", dir);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_io_write_atomic(NULL, "x", 1, &err), MO_EINVAL);
    ASSERT_MSG(err, "mo_io_write_atomic: bad arguments");
    CU_ASSERT_EQUAL(mo_io_write_atomic("", "x", 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_io_write_atomic(path, NULL, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_io_write_atomic(NULL, NULL, 0, NULL), MO_EINVAL);
    char *long_path = malloc(5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(long_path);
    memset(long_path, 'a', 4999);
    long_path[4999] = '\0';
    mo_error_clear(&err);
    CU_ASSERT_EQUAL(mo_io_write_atomic(long_path, "x", 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
    free(long_path);
    int tmp = 0;
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_atomic__writes_exact_content),
    MO_TEST(test_atomic__replaces_existing_file),
    MO_TEST(test_atomic__missing_folder_is_io_error_and_creates_nothing),
    MO_TEST(test_atomic__failed_rename_removes_temp_file),
    MO_TEST(test_atomic__bad_arguments_return_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/atomic", tests);
}
