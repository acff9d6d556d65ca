/* test_status.c - status codes, exit codes and the error struct */
#include "core/status.h"
#include "tests/unit.h"

#include <string.h>

static void test_status__errorf_returns_code_and_fills_message(void)
{
    mo_error_t err = {0};
    int rc = mo_errorf(&err, MO_EINVAL, "spec.yml:%d:%d: bad", 3, 7);
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "spec.yml:3:7: bad");
}

static void test_status__errorf_accepts_null_error(void)
{
    CU_ASSERT_EQUAL(mo_errorf(NULL, MO_EIO, "x"), MO_EIO);
    CU_ASSERT_EQUAL(mo_error_prefix(NULL, "y"), 0);
}

static void test_status__long_message_is_cut_not_overflowed(void)
{
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mo_error_t err = {0};
    mo_errorf(&err, MO_EINVAL, "%s", big);
    CU_ASSERT_EQUAL(strlen(err.msg), MO_ERROR_MSG_MAX - 1);
}

static void test_status__prefix_prepends_context(void)
{
    mo_error_t err = {0};
    mo_errorf(&err, MO_ENOTFOUND, "no such dataset /X");
    CU_ASSERT_EQUAL(mo_error_prefix(&err, "data/a.h5"), MO_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.msg, "data/a.h5: no such dataset /X");
}

static void test_status__exit_codes_follow_design(void)
{
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_OK), 0);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_ERUNTIME), 1);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_EINVAL), 2);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_EFORMAT), 2);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_ENOTBUILT), 2);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_EGATE), 3);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_EMPI), 4);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_EIO), 4);
    CU_ASSERT_EQUAL(mo_status_exit_code(MO_ESTOPPED), 143);
}

static void test_status__every_code_has_a_name(void)
{
    for (int c = MO_OK; c >= MO_ESERVICE; c--)
        CU_ASSERT_STRING_NOT_EQUAL(mo_strerror(c), "unknown error");
    CU_ASSERT_STRING_EQUAL(mo_strerror(-999), "unknown error");
}

static CU_TestInfo tests[] = {
    MO_TEST(test_status__errorf_returns_code_and_fills_message),
    MO_TEST(test_status__errorf_accepts_null_error),
    MO_TEST(test_status__long_message_is_cut_not_overflowed),
    MO_TEST(test_status__prefix_prepends_context),
    MO_TEST(test_status__exit_codes_follow_design),
    MO_TEST(test_status__every_code_has_a_name),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/status", tests);
}
