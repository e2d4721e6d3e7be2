/* fuzz_json.c - kernel files, inline matrices and pipelines: parse, plan, never crash. */
#include "fuzz.h"

#include "cnnfilter.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnf_kernel *k = NULL;
    cnf_pipeline *p = NULL;
    cnf_error e;
    char *text;
    /* A path inside a pipeline would make the parser open that file (a FIFO
     * or /dev/stdin would block); paths are the CLI's business, not this
     * target's. */
    if (memchr(data, '/', size))
        return 0;
    if (cnf_kernel_from_json((const char *)data, size, "fuzz.json", "fuzz", &k, &e) == CNF_OK) {
        cnf_kernel *f = NULL;
        if (cnf_kernel_flipped(k, &f, &e) == CNF_OK)
            cnf_kernel_free(f);
        cnf_kernel_separable(k, NULL, NULL);
    }
    cnf_kernel_free(k);
    if (cnf_pipeline_parse((const char *)data, size, "fuzz.json", NULL, &p, &e) == CNF_OK) {
        cnf_plan *plan = NULL;
        cnf_plan_limits lim = {64u << 20, 0, 0, 0};
        if (cnf_plan_create_pipeline(p, 9, 7, 3, 0, &lim, &plan, &e) == CNF_OK) {
            cnf_image in, out;
            if (cnf_image_alloc(&in, 9, 7, 3, 0, &e) == CNF_OK) {
                for (int i = 0; i < 9 * 7 * 3; i++)
                    in.data[i] = (float)(i * 37 % 256);
                if (cnf_plan_run(plan, &in, 2, &out, &e) == CNF_OK)
                    cnf_image_free(&out);
                cnf_image_free(&in);
            }
            cnf_plan_free(plan);
        }
        cnf_pipeline_free(p);
    }
    /* The same bytes as an inline -k spec (NUL-terminated). */
    text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = 0;
        if (text[0] == '[' && cnf_kernel_parse(text, "--kernel", &k, &e) == CNF_OK)
            cnf_kernel_free(k);
        free(text);
    }
    return 0;
}
