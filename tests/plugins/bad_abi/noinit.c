/* noinit.c - test plugin with a well-formed descriptor but no init (which is required) */
#include "maestro_plugin.h"

MAESTRO_PLUGIN_EXPORT const maestro_plugin_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(maestro_plugin_t),
    .type = MAESTRO_PLUGIN_LOGS,
    .name = "noinit",
    .version = "0.1",
};
