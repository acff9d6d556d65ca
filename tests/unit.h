/* unit.h - the CUnit harness every tests/<layer>/test_<file>.c uses
 *
 *   static void test_rng__same_for_any_split(void) { ... }
 *   static CU_TestInfo tests[] = {MO_TEST(test_rng__same_for_any_split), CU_TEST_INFO_NULL};
 *   int main(void) { return mo_test_main("core/rng", tests); }
 */
#ifndef MO_TESTS_UNIT_H
#define MO_TESTS_UNIT_H

#include <CUnit/CUnit.h>

#define MO_TEST(fn)                                                                                \
    {                                                                                              \
#fn, fn                                                                                    \
    }

/* Run one suite; returns the process exit code (0 when every assertion passed). Under mpirun
 * only rank 0 prints the per-test lines; every rank's failures count. */
int mo_test_main(const char *suite, CU_TestInfo *tests);

/* A fresh empty directory for this test process (removed at exit); returns its path. */
const char *mo_test_tmpdir(void);
/* Write `text` to `dir/name`; returns a static path buffer (overwritten by the next call). */
const char *mo_test_write_file(const char *dir, const char *name, const char *text);

#endif
