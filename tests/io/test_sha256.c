/* test_sha256.c - SHA-256 of files against NIST vectors and OpenSSL's one-shot (io/sha256.c) */
#include "io/run_file.h"
#include "tests/unit.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_sha256__nist_vectors(void)
{
    char hex[65];
    mo_error_t err = {0};
    const char *dir = mo_test_tmpdir();
    CU_ASSERT_EQUAL(mo_file_sha256(hex, mo_test_write_file(dir, "empty", ""), &err), 0);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CU_ASSERT_EQUAL(mo_file_sha256(hex, mo_test_write_file(dir, "abc", "abc"), &err), 0);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CU_ASSERT_EQUAL(mo_file_sha256(hex,
                                   mo_test_write_file(
                                       dir, "448bits",
                                       "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                                   &err),
                    0);
    CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Files across the 1 MiB block size, against SHA256() over the whole buffer in memory. */
static void test_sha256__large_files_match_one_shot(void)
{
    const size_t sizes[] = {(1u << 20) - 1, 1u << 20, (1u << 20) + 1, 3u * (1u << 20) + 12345};
    size_t max = sizes[3];
    unsigned char *buf = malloc(max), md[SHA256_DIGEST_LENGTH];
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    uint32_t x = 2463534242u; /* xorshift32: bytes that are not a repeating pattern */
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        char path[512], hex[65], want[65];
        snprintf(path, sizeof path, "%s/big%zu", mo_test_tmpdir(), k);
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(buf, 1, sizes[k], f), sizes[k]);
        fclose(f);
        SHA256(buf, sizes[k], md);
        for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
            snprintf(want + 2 * i, 3, "%02x", md[i]);
        mo_error_t err = {0};
        CU_ASSERT_EQUAL(mo_file_sha256(hex, path, &err), 0);
        CU_ASSERT_STRING_EQUAL(hex, want);
        CU_ASSERT_EQUAL(strlen(hex), 64);
    }
    free(buf);
}

static void test_sha256__errors(void)
{
    char hex[65] = "x", path[512];
    mo_error_t err = {0};
    snprintf(path, sizeof path, "%s/missing", mo_test_tmpdir());
    CU_ASSERT_EQUAL(mo_file_sha256(hex, path, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing: cannot open"));
    CU_ASSERT_STRING_EQUAL(hex, "");
    CU_ASSERT_EQUAL(mo_file_sha256(hex, mo_test_tmpdir(), &err), MO_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is a directory"));
    CU_ASSERT_EQUAL(mo_file_sha256(NULL, path, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_file_sha256(hex, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_file_sha256(hex, "", NULL), MO_EINVAL);
}

static CU_TestInfo tests[] = {MO_TEST(test_sha256__nist_vectors),
                              MO_TEST(test_sha256__large_files_match_one_shot),
                              MO_TEST(test_sha256__errors), CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/sha256", tests);
}
