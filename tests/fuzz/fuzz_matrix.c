/* fuzz_matrix.c - numeric matrix inputs (.txt, .csv, .json, .npy): decode, write back, never crash. */
#include "fuzz.h"

#include "cnnfilter.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cnf_input_kind kinds[] = {CNF_IN_TXT, CNF_IN_CSV, CNF_IN_JSON, CNF_IN_NPY,
                                           CNF_IN_AUTO};
    cnf_image img;
    cnf_error e;
    if (size < 1)
        return 0;
    /* The first byte picks the format; a small pixel limit keeps runs fast. */
    if (cnf_decode(data + 1, size - 1, kinds[data[0] % 5], "fuzz", 1u << 16, &img, &e) ==
        CNF_OK) {
        unsigned char *buf;
        size_t len;
        if (cnf_encode(&img, CNF_OUT_TXT, CNF_MAP_CLAMP, 90, &buf, &len, NULL, &e) == CNF_OK)
            free(buf);
        if (cnf_encode(&img, CNF_OUT_NPY, CNF_MAP_CLAMP, 90, &buf, &len, NULL, &e) == CNF_OK)
            free(buf);
        cnf_image_free(&img);
    }
    return 0;
}
