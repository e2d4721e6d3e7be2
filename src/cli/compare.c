/* compare.c - `cnnfilter compare`: placeholder until the compare module lands. */
#include "cli.h"

int cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    msg_error("compare", "not available in this version yet");
    return 2;
}
