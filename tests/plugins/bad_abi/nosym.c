/* nosym.c - test shared object named like a plugin but exporting no descriptor */
#include "maestro_plugin.h"

MAESTRO_PLUGIN_EXPORT const int maestro_plugin_v2 = 2;
