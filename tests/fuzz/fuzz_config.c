/* fuzz_config.c - the YAML spec language (io/config_*.c) and, through it, the spec and
 * cluster.yml loaders (runner/spec.c, runner/cluster.c): the input is loaded as a config
 * string, then as a spec file and as a cluster file, with validation. Every outcome but a
 * crash, hang or sanitizer report is fine. */
#include "io/config.h"
#include "runner/cluster.h"
#include "runner/spec.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    if (!text)
        return 0;
    mo_error_t err = {0};
    mo_cfg_t *cfg = NULL;
    if (mo_cfg_load_string(&cfg, "fuzz.yml", text, NULL, &err) == 0) {
        char *dump = mo_cfg_dump_yaml(mo_cfg_root(cfg));
        free(dump);
        mo_cfg_destroy(cfg);
    }
    free(text);
    const char *path = fuzz_file("spec.yml", data, size);
    if (path) {
        mo_spec_t *spec = NULL;
        mo_spec_opts_t opts = {0};
        if (mo_spec_load(&spec, path, &opts, &err) == 0)
            mo_spec_destroy(spec);
        mo_cluster_t *cl = NULL;
        if (mo_cluster_load(&cl, path, &err) == 0)
            mo_cluster_destroy(cl);
    }
    return 0;
}
