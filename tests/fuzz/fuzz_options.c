/* fuzz_options.c - the CLI option parser: NUL-separated arguments, never crash. */
#include "fuzz.h"

#include "../../src/cli/msg.h"
#include "../../src/cli/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *argv[64];
    int argc = 1;
    options o;
    if (size > 4096)
        return 0;
    copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = 0;
    argv[0] = "cnnfilter";
    for (char *p = copy; p < copy + size && argc < 63; p += strlen(p) + 1) {
        /* --help and --version print and are fine, but flood the log. */
        if (strcmp(p, "--help") == 0 || strcmp(p, "--version") == 0 || strcmp(p, "-h") == 0)
            continue;
        argv[argc++] = p;
    }
    argv[argc] = NULL;
    msg_set_quiet(1);
    parse_options(argc, argv, 1, &o);
    free(o.args);
    free(copy);
    return 0;
}
