/* fuzz_image.c - image bytes -> decode -> small layer (sobel, relu, max pool) -> PNG: never crash. */
#include "fuzz.h"

#include "cnnfilter.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnf_image img, out;
    cnf_error e;
    cnf_kernel *k = NULL;
    /* 2^20 pixels: decompression bombs must be refused, not decoded. */
    if (cnf_decode(data, size, CNF_IN_IMAGE, "fuzz", 1u << 20, &img, &e) != CNF_OK)
        return 0;
    if (cnf_kernel_parse("sobel_v", "--kernel", &k, &e) == CNF_OK) {
        const cnf_kernel *ks[1] = {k};
        cnf_layer L;
        cnf_plan *p = NULL;
        cnf_plan_limits lim = {256u << 20};
        cnf_layer_init(&L);
        L.kernels = ks;
        L.n_kernels = 1;
        L.activation = CNF_ACT_RELU;
        L.pool = CNF_POOL_MAX;
        if (cnf_plan_create(&L, img.width, img.height, img.channels, img.has_alpha, &lim, &p,
                            &e) == CNF_OK) {
            if (cnf_plan_run(p, &img, 1, &out, &e) == CNF_OK) {
                unsigned char *buf;
                size_t len;
                if (cnf_encode(&out, CNF_OUT_PNG, CNF_MAP_ABS, 90, &buf, &len, NULL, &e) ==
                    CNF_OK)
                    free(buf);
                cnf_image_free(&out);
            }
            cnf_plan_free(p);
        }
        cnf_kernel_free(k);
    }
    cnf_image_free(&img);
    return 0;
}
