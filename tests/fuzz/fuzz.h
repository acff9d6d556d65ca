/* fuzz.h - what the fuzz harnesses share (tests/fuzz/)
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput for one parser of outside input. Built two
 * ways (tests/CMakeLists.txt): with clang's libFuzzer for `make fuzz` (MAESTRO_FUZZ=ON), and
 * with driver.c as a plain program that runs every file of tests/fuzz/corpus/<name>/ once, which
 * is how `make test` keeps every input that ever found a bug fixed.
 */
#ifndef MO_TESTS_FUZZ_H
#define MO_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a NUL-terminated string (malloc'd; NULL when out of memory). */
char *fuzz_cstr(const uint8_t *data, size_t size);
/* Write the input to a file in this process's scratch folder; returns its path (static
 * buffer, overwritten by the next call), NULL on failure. `name` gives the file name. */
const char *fuzz_file(const char *name, const uint8_t *data, size_t size);
/* The library's one-time set-up (logging quiet), with MPI when `mpi` (the HDF5 readers and
 * spec checks need it). Call from LLVMFuzzerInitialize. */
void fuzz_init(int mpi);

#endif
