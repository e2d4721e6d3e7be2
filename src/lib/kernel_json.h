/* kernel_json.h - kernels written in JSON: kernel objects (files, pipelines), inline matrices. */
#ifndef CNF_KERNEL_JSON_H
#define CNF_KERNEL_JSON_H

#include "json_doc.h"

/* cnf__kernel_from_object - the kernel object `obj` of document d ({"weights": [[...]], "name",
 * "divisor", "bias", "flip"}).  `default_name` names the kernel (a file's stem); when it is
 * empty the object's "name" does.  Errors are at their line and column of d. */
cnf_status cnf__kernel_from_object(const cnf_jdoc *d, cnf_jval obj, const char *default_name,
                                   cnf_kernel **k_ret);
/* cnf__kernel_from_object_deep - the same with 3-D weights up to max_depth planes deep rather
 * than CNF_MAX_KERNEL_DEPTH (a pipeline's conv layers take CNF_MAX_PIPELINE_DEPTH). */
cnf_status cnf__kernel_from_object_deep(const cnf_jdoc *d, cnf_jval obj, const char *default_name,
                                        int max_depth, cnf_kernel **k_ret);

/* cnf__kernel_from_inline - an inline matrix spec (1-D = one row, 2-D, 3-D) as the whole of
 * `text`, with the document checks of a kernel file; `label` names it in errors. */
cnf_status cnf__kernel_from_inline(const char *text, size_t len, const char *label,
                                   cnf_kernel **k_ret, cnf_error *err);

#endif
