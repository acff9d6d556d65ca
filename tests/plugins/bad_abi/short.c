/* short.c - test plugin whose descriptor is shorter than ABI 1.0 promises (an old or broken
 * header): the host must refuse it without reading past the symbol */
#include "maestro_plugin.h"

typedef struct {
    uint32_t abi_major, abi_minor;
    uint32_t struct_size;
    maestro_plugin_type_t type;
    const char *name;
} short_descriptor_t;

MAESTRO_PLUGIN_EXPORT const short_descriptor_t maestro_plugin = {
    .abi_major = MAESTRO_PLUGIN_ABI_MAJOR,
    .abi_minor = MAESTRO_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(short_descriptor_t),
    .type = MAESTRO_PLUGIN_METRICS,
    .name = "short",
};
