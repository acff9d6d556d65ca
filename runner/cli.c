/* cli.c - placeholder until the CLI lands */
#include "runner/cli.h"

int mo_cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
