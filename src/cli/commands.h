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
/* `cnnfilter learn --size K INPUT TARGET -o KERNEL.json`: a kernel from a before/after pair (learn.c). */
int cmd_learn(int argc, char **argv);
void learn_option_words(FILE *f);
/* compare_option_words - compare's options, one per line, for completion (compare.c). */
void compare_option_words(FILE *f);
/* `cnnfilter train --pipeline NET.json -o TRAINED.json [OPTIONS] DATA` (train.c). */
int cmd_train(int argc, char **argv);
void train_option_words(FILE *f);
/* `cnnfilter predict --pipeline TRAINED.json [OPTIONS] DATA...` (predict.c). */
int cmd_predict(int argc, char **argv);
void predict_option_words(FILE *f);

#endif
