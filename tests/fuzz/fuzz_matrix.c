/* fuzz_matrix.c - numeric matrix inputs (.txt, .csv, .json, .npy): sniff, decode, write back, never crash. */
#include "fuzz.h"

#include "cnnfilter.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cnf_input_kind kinds[] = {CNF_IN_TXT, CNF_IN_CSV, CNF_IN_JSON, CNF_IN_NPY,
                                           CNF_IN_AUTO};
    cnf_image img;
    cnf_error e;
    if (size < 1)
        return 0;
    {
        /* When cnf_sniff refuses the start, the probe refuses it alike. */
        static const size_t prefixes[] = {8, 64, 4096};
        cnf_error es;
        int w, h, c, a;
        cnf_status sp = cnf_probe(data + 1, size - 1, kinds[data[0] % 5], "fuzz", 1u << 16, &w,
                                  &h, &c, &a, &e);
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
            cnf_status ss = cnf_sniff(data + 1, prefixes[i] < size - 1 ? prefixes[i] : size - 1,
                                      kinds[data[0] % 5], "fuzz", &es);
            if (ss != CNF_OK && (ss != sp || strcmp(es.msg, e.msg) != 0 || es.line != e.line ||
                                 es.col != e.col))
                abort();
        }
    }
    /* The first byte picks the format; a small pixel limit keeps runs fast. */
    if (cnf_decode(data + 1, size - 1, kinds[data[0] % 5], "fuzz", 1u << 16, &img, &e) ==
        CNF_OK) {
        unsigned char *buf;
        size_t len;
        if (cnf_encode(&img, CNF_OUT_TXT, NULL, &buf, &len, NULL, &e) == CNF_OK)
            free(buf);
        if (cnf_encode(&img, CNF_OUT_NPY, NULL, &buf, &len, NULL, &e) == CNF_OK)
            free(buf);
        cnf_image_free(&img);
    }
    return 0;
}
