/* run.h - the per-file engine: one input through decode, plan, run, map, encode and commit. */
#ifndef CNF_CLI_RUN_H
#define CNF_CLI_RUN_H

#include "cnnfilter.h"
#include "options.h"
#include "outputs.h"

/* What every file of a run shares, loaded once and read-only after: the
 * options, and the kernels or the pipeline. */
typedef struct run_setup {
    const options *o;
    cnf_pipeline *pipeline;
    cnf_kernel *kernels[CLI_MAX_KERNELS];
    const cnf_kernel *kptr[CLI_MAX_KERNELS];
    char names[CLI_MAX_KERNELS][OUT_NAME_MAX]; /* the {kernel} word of each kernel */
    int n_kernels;
    cnf_layer layer; /* the options' layer with these kernels */
    uint64_t weights; /* bytes the kernels' or the pipeline's weights hold, for every file */
} run_setup;

/* load_pipeline_file - read and parse a pipeline (a bare name is also
 * looked up in $CNNFILTER_KERNELS and the installed kernels folder; kernel
 * files it names are found beside it first), its weights within max_memory
 * bytes (cnf_pipeline_parse_ex).  Returns 0, or the exit code after
 * printing the error (usage errors: exit 2). */
int load_pipeline_file(const char *spec, uint64_t max_memory, cnf_pipeline **pl_ret);

/* run_setup_load - parse the kernels (-k) or the pipeline (--pipeline) once
 * for every file of the run.  Returns 0, or the exit code after printing
 * the error. */
int run_setup_load(run_setup *s, const options *o);
void run_setup_free(run_setup *s);

/* run_fixed_layout - the outputs every input of the run gives when that does
 * not depend on the input (everything but a pipeline whose feature maps are
 * written one image per map): fills *l and returns 1; else returns 0. */
int run_fixed_layout(const run_setup *s, out_layout *l);

/* run_probe_layout - the outputs `in_path` would give, from its header and
 * the plan (nothing is decoded or written).  Returns 0, or the exit code
 * after printing the error. */
int run_probe_layout(const run_setup *s, const char *in_path, out_layout *l);

/* run_file - one input: read, plan, name the outputs (nm), run, write every
 * output to a temporary file and commit them all together, or none.  Prints
 * its own errors; returns the exit code.  `threads` split the rows of the
 * image (the pixels are the same for any count). */
int run_file(const run_setup *s, const char *in_path, const out_naming *nm, int threads);

#endif
