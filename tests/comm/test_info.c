/* test_info.c - MPI library identification, usable before MPI_Init, and the PML a start on
 * one node asks for (mo_comm_single_node_pml) under each launcher's variables */
#include "comm/info.h"

#include "tests/unit.h"

#include <string.h>

static void test_info__library_version_names_open_mpi(void)
{
    char buf[512];
    memset(buf, 'x', sizeof buf);
    const char *v = mo_comm_library_version(buf, sizeof buf);
    CU_ASSERT_PTR_EQUAL(v, buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(memchr(buf, '\0', sizeof buf));
    CU_ASSERT(strlen(buf) > 0);
    CU_ASSERT_STRING_NOT_EQUAL(buf, "unknown");
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Open MPI"));
    CU_ASSERT_PTR_NULL(strchr(buf, '\n')); /* first line only */
}

static void test_info__standard_version_is_3(void)
{
    int major = -1, minor = -1;
    mo_comm_standard_version(&major, &minor);
    CU_ASSERT_EQUAL(major, 3);
    CU_ASSERT(minor >= 0 && minor <= 9);
}

static void test_info__tiny_buffer_truncates_safely(void)
{
    char full[512];
    mo_comm_library_version(full, sizeof full);
    char buf[16];
    memset(buf, '#', sizeof buf);
    CU_ASSERT_PTR_EQUAL(mo_comm_library_version(buf, 8), buf);
    CU_ASSERT_EQUAL(strlen(buf), 7);
    CU_ASSERT_EQUAL(strncmp(buf, full, 7), 0);
    CU_ASSERT_EQUAL(buf[8], '#'); /* nothing written past the size given */
    memset(buf, '#', sizeof buf);
    mo_comm_library_version(buf, 1);
    CU_ASSERT_EQUAL(buf[0], '\0');
    CU_ASSERT_EQUAL(buf[1], '#');
    memset(buf, '#', sizeof buf);
    mo_comm_library_version(buf, 0);
    CU_ASSERT_EQUAL(buf[0], '#');
    mo_comm_library_version(NULL, 0); /* a size of 0 never touches the buffer */
}

/* A fake environment: NULL-terminated name, value pairs. */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
    for (size_t i = 0; fake_env[i]; i += 2)
        if (!strcmp(fake_env[i], name))
            return fake_env[i + 1];
    return NULL;
}

static const char *pml_for(const char *const *env)
{
    fake_env = env;
    return mo_comm_single_node_pml(fake_get);
}

static void test_info__single_node_pml_only_on_one_node_and_unchosen(void)
{
    static const char *const none[] = {NULL};
    static const char *const mpirun_one[] = {"OMPI_COMM_WORLD_SIZE", "4",
                                             "OMPI_COMM_WORLD_LOCAL_SIZE", "4", NULL};
    static const char *const mpirun_two[] = {"OMPI_COMM_WORLD_SIZE", "8",
                                             "OMPI_COMM_WORLD_LOCAL_SIZE", "4", NULL};
    static const char *const mpirun_half[] = {"OMPI_COMM_WORLD_SIZE", "4", NULL};
    static const char *const chosen[] = {
        "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2", "OMPI_MCA_pml", "cm", NULL};
    static const char *const chosen_empty[] = {"OMPI_MCA_pml", "", NULL};
    static const char *const mtl[] = {"OMPI_MCA_mtl", "psm2", NULL};
    static const char *const srun_one[] = {"SLURM_STEP_NUM_NODES", "1", "SLURM_PROCID", "0", NULL};
    static const char *const srun_two[] = {"SLURM_STEP_NUM_NODES", "2", "SLURM_PROCID", "0", NULL};
    static const char *const pmix[] = {"PMIX_RANK", "0", NULL};
    static const char *const hydra[] = {"PMI_RANK", "3", "PMI_SIZE", "4", NULL};
    CU_ASSERT_STRING_EQUAL(pml_for(none), "^cm"); /* a singleton */
    CU_ASSERT_STRING_EQUAL(pml_for(mpirun_one), "^cm");
    CU_ASSERT_STRING_EQUAL(pml_for(srun_one), "^cm");
    CU_ASSERT_PTR_NULL(pml_for(mpirun_two));
    CU_ASSERT_PTR_NULL(pml_for(mpirun_half));
    CU_ASSERT_PTR_NULL(pml_for(chosen));
    CU_ASSERT_PTR_NULL(pml_for(chosen_empty));
    CU_ASSERT_PTR_NULL(pml_for(mtl));
    CU_ASSERT_PTR_NULL(pml_for(srun_two));
    CU_ASSERT_PTR_NULL(pml_for(pmix));
    CU_ASSERT_PTR_NULL(pml_for(hydra));
    CU_ASSERT_PTR_NULL(mo_comm_single_node_pml(NULL));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_info__library_version_names_open_mpi),
    MO_TEST(test_info__standard_version_is_3),
    MO_TEST(test_info__tiny_buffer_truncates_safely),
    MO_TEST(test_info__single_node_pml_only_on_one_node_and_unchosen),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("comm/info", tests);
}
