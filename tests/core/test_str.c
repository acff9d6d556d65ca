/* test_str.c - bounded copies, the growable buffer, strict parsers for numbers and units */
#include "core/status.h"
#include "core/str.h"
#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

static void test_str__strlcpy_truncates_and_terminates(void)
{
    char buf[4];
    CU_ASSERT_EQUAL(mo_strlcpy(buf, "abcdef", sizeof buf), 6u);
    CU_ASSERT_STRING_EQUAL(buf, "abc");
    CU_ASSERT_EQUAL(mo_strlcpy(buf, "", sizeof buf), 0u);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

static void test_str__buf_grows_and_steals(void)
{
    mo_buf_t b = {0};
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(mo_buf_printf(&b, "%d,", i % 10), 0);
    CU_ASSERT_EQUAL(b.len, 2000u);
    CU_ASSERT_EQUAL(mo_buf_puts(&b, "end"), 0);
    char *s = mo_buf_steal(&b);
    CU_ASSERT_EQUAL(strlen(s), 2003u);
    CU_ASSERT_STRING_EQUAL(s + 2000, "end");
    CU_ASSERT_PTR_NULL(b.data);
    free(s);
    mo_buf_t empty = {0};
    s = mo_buf_steal(&empty);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    mo_buf_free(NULL);
}

static void test_str__int64_is_strict(void)
{
    int64_t v = 0;
    CU_ASSERT_EQUAL(mo_parse_int64("-42", &v), 0);
    CU_ASSERT_EQUAL(v, -42);
    CU_ASSERT_EQUAL(mo_parse_int64("9223372036854775807", &v), 0);
    CU_ASSERT_EQUAL(mo_parse_int64("9223372036854775808", &v), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_int64("12abc", &v), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_int64("1.5", &v), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_int64(" 1", &v), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_int64("", &v), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_int64(NULL, &v), MO_EINVAL);
}

static void test_str__double_rejects_words_and_nonfinite(void)
{
    double d = 0;
    CU_ASSERT_EQUAL(mo_parse_double("1e-4", &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 1e-4, 1e-12);
    CU_ASSERT_EQUAL(mo_parse_double("-0.5", &d), 0);
    CU_ASSERT_EQUAL(mo_parse_double("fast", &d), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_double("nan", &d), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_double("inf", &d), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_double("0x10", &d), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_double("1e999", &d), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_double("1.0 ", &d), MO_EINVAL);
}

static void test_str__bool_spellings(void)
{
    int b = -1;
    CU_ASSERT_EQUAL(mo_parse_bool("yes", &b), 0);
    CU_ASSERT_EQUAL(b, 1);
    CU_ASSERT_EQUAL(mo_parse_bool("off", &b), 0);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(mo_parse_bool("maybe", &b), MO_EINVAL);
}

static void test_str__durations(void)
{
    double s = 0;
    CU_ASSERT_EQUAL(mo_parse_duration("90s", &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 90, 1e-9);
    CU_ASSERT_EQUAL(mo_parse_duration("2h", &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 7200, 1e-9);
    CU_ASSERT_EQUAL(mo_parse_duration("7d", &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 604800, 1e-9);
    CU_ASSERT_EQUAL(mo_parse_duration("500ms", &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 0.5, 1e-9);
    CU_ASSERT_EQUAL(mo_parse_duration("1.5m", &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 90, 1e-9);
    CU_ASSERT_EQUAL(mo_parse_duration("30", &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s, 30, 1e-9);
    CU_ASSERT_EQUAL(mo_parse_duration("-5s", &s), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_duration("5 parsecs", &s), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_duration("s", &s), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_duration("infs", &s), MO_EINVAL);
}

static void test_str__byte_sizes_distinguish_binary_and_decimal(void)
{
    uint64_t b = 0;
    CU_ASSERT_EQUAL(mo_parse_bytes("64MiB", &b), 0);
    CU_ASSERT_EQUAL(b, 64ull << 20);
    CU_ASSERT_EQUAL(mo_parse_bytes("4Gi", &b), 0);
    CU_ASSERT_EQUAL(b, 4ull << 30);
    CU_ASSERT_EQUAL(mo_parse_bytes("1GB", &b), 0);
    CU_ASSERT_EQUAL(b, 1000000000ull);
    CU_ASSERT_EQUAL(mo_parse_bytes("512k", &b), 0);
    CU_ASSERT_EQUAL(b, 512000ull);
    CU_ASSERT_EQUAL(mo_parse_bytes("1024", &b), 0);
    CU_ASSERT_EQUAL(b, 1024ull);
    CU_ASSERT_EQUAL(mo_parse_bytes("1.5KiB", &b), 0);
    CU_ASSERT_EQUAL(b, 1536ull);
    CU_ASSERT_EQUAL(mo_parse_bytes("0.3B", &b), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_bytes("12 parsecs", &b), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_bytes("-1MiB", &b), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_parse_bytes("99999999TiB", &b), MO_EINVAL);
}

static void test_str__distance_for_suggestions(void)
{
    CU_ASSERT_EQUAL(mo_str_distance("momentum", "momentom", 10), 1u);
    CU_ASSERT_EQUAL(mo_str_distance("lr", "lr", 10), 0u);
    CU_ASSERT_EQUAL(mo_str_distance("", "abc", 10), 3u);
    CU_ASSERT_EQUAL(mo_str_distance("abcdefgh", "zzzzzzzz", 3), 3u);
    CU_ASSERT(mo_str_startswith("--set", "--"));
    CU_ASSERT(!mo_str_startswith("-", "--"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_str__strlcpy_truncates_and_terminates),
    MO_TEST(test_str__buf_grows_and_steals),
    MO_TEST(test_str__int64_is_strict),
    MO_TEST(test_str__double_rejects_words_and_nonfinite),
    MO_TEST(test_str__bool_spellings),
    MO_TEST(test_str__durations),
    MO_TEST(test_str__byte_sizes_distinguish_binary_and_decimal),
    MO_TEST(test_str__distance_for_suggestions),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/str", tests);
}
