/* commands.h - the subcommands: each is run with the whole argv (argv[1] is its name) and returns the exit code. */
#ifndef CNF_CLI_COMMANDS_H
#define CNF_CLI_COMMANDS_H

#include <stdio.h>

/* `cnnfilter kernels`: the built-in kernels, one per line (commands.c). */
int cmd_kernels(int argc, char **argv);
/* `cnnfilter show-kernel SPEC`: a kernel's weights, sum, size, separability (commands.c). */
int cmd_show_kernel(int argc, char **argv);
/* `cnnfilter compare [--tolerance N] [--diff FILE] A B` (compare.c). */
int cmd_compare(int argc, char **argv);
int cmd_learn(int argc, char **argv); /* `cnnfilter learn`: a kernel from a before/after pair (learn.c) */
/* compare_option_words - compare's options, one per line, for completion (compare.c). */
void compare_option_words(FILE *f);

#endif
