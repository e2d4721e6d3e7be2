/* commands.h - the subcommands: each is run with the whole argv (argv[1] is its name) and returns the exit code. */
#ifndef CNF_CLI_COMMANDS_H
#define CNF_CLI_COMMANDS_H

#include <stdio.h>

/* `cnnfilter kernels`: the built-in kernels, one per line (commands.c). */
int cmd_kernels(int argc, char **argv);
/* `cnnfilter show-kernel SPEC`: a kernel's weights, sum, size, separability (commands.c). */
int cmd_show_kernel(int argc, char **argv);
/* `cnnfilter compare [OPTIONS] A B`: two files or two folders, pair by pair (compare.c,
 * compare_report.c, compare_diff.c). */
int cmd_compare(int argc, char **argv);
/* `cnnfilter learn --size K INPUT TARGET -o KERNEL.json`: a kernel from a before/after pair (learn.c). */
int cmd_learn(int argc, char **argv);
int learn_option_words(FILE *f, const char *what);
/* NAME_option_words - a subcommand's words for shell completion, as
 * args_complete: its options (what NULL), those with a value
 * ("options-with-values"), or an option's word values ("--optimizer"). */
int compare_option_words(FILE *f, const char *what);
/* `cnnfilter train --pipeline NET.json -o TRAINED.json [OPTIONS] DATA` (train.c). */
int cmd_train(int argc, char **argv);
int train_option_words(FILE *f, const char *what);
/* `cnnfilter predict --pipeline TRAINED.json [OPTIONS] DATA...` (predict.c). */
int cmd_predict(int argc, char **argv);
int predict_option_words(FILE *f, const char *what);

#endif
