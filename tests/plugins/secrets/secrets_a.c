/* secrets_a.c - test secrets provider "secrets_a" (see secrets_impl.h) */
#define TS_NAME "secrets_a"
#include "secrets_impl.h"
