/* batch.h - batch mode: files and folders in, outputs under -o DIR, planned whole before anything is written. */
#ifndef CNF_CLI_BATCH_H
#define CNF_CLI_BATCH_H

#include "run.h"

/* run_batch - `-o DIR INPUT...` with the run's kernels or pipeline loaded:
 * collect the input files, name every output of every input (banks and
 * feature maps included, over all shards), refuse the run (exit 2, nothing
 * written) if two outputs would have the same name or an output would
 * replace any input of the run, then process this shard's files on worker
 * threads and print a summary.  Returns the exit code. */
int run_batch(const run_setup *s);

#endif
