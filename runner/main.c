/* main.c - the maestro command */
#include "runner/cli.h"

int main(int argc, char **argv)
{
    return mo_cli_main(argc, argv);
}
