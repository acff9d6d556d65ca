#define _GNU_SOURCE /* RTLD_NODELETE */
/* fuzz_util.c - helpers of the fuzz harnesses (fuzz.h) */
#include "tests/fuzz/fuzz.h"

#include "core/log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static char dir[64];

/* The scratch folder holds only the harnesses' flat files. */
static void remove_dir(void)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/maestro-fuzz-XXXXXX");
        if (!mkdtemp(dir))
            return NULL;
        atexit(remove_dir);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok &= fclose(f) == 0;
    return ok ? path : NULL;
}

#ifndef MAESTRO_PLUGIN_BUILD_DIR
#define MAESTRO_PLUGIN_BUILD_DIR "build/plugins"
#endif

/* The build's plugins, opened once for good (RTLD_NODELETE): a spec or cluster.yml may load
 * one and close it again, and an instrumented object unmapped under libFuzzer takes its
 * coverage counters with it. */
static void pin_plugins(void)
{
    DIR *d = opendir(MAESTRO_PLUGIN_BUILD_DIR);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "maestro-", 8) || n < 4 || strcmp(e->d_name + n - 3, ".so"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", MAESTRO_PLUGIN_BUILD_DIR, e->d_name);
        if (!dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE))
            fprintf(stderr, "fuzz: %s not pinned: %s\n", path, dlerror());
    }
    if (d)
        closedir(d);
}

void fuzz_init(int mpi)
{
    pin_plugins();
    int up = 0;
    MPI_Initialized(&up);
    if (mpi && !up) {
        int provided;
        /* Never finalised: MPI_Finalize unloads Open MPI's components, and what they hold
         * would show as ~120 KB of leaks from unnamed modules at every exit (tests/CMakeLists.txt
         * says more). A singleton may exit without it. */
        MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    }
    /* The parsers' warnings are not findings: logs go nowhere. */
    static mo_log_opts_t opts;
    opts.level = MO_LOG_ERROR;
    opts.format = MO_LOG_HUMAN;
    opts.stream = fopen("/dev/null", "w");
    mo_log_configure(&opts);
}
