/* secrets_b.c - test secrets provider "secrets_b" (see secrets_impl.h) */
#define TS_NAME "secrets_b"
#include "secrets_impl.h"
