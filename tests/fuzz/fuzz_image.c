/* fuzz_image.c - image bytes -> decode -> small layer (sobel, relu, max pool) -> PNG: never crash.
 *
 * The same bytes also go through the streaming readers (row by row, PNG by
 * ISA-L or libspng, JPEG by scanlines) into the same plan; when both ways
 * succeed their results must be bit-identical (a differential check).
 * cnf_sniff is held to its promise: when it refuses the first bytes, the
 * probe of the whole input refuses it alike.  cnf_image_mark reads the same
 * bytes (ASan sees any read past them). */
#include "fuzz.h"

#include "cnnfilter.h"

#include <stdlib.h>
#include <string.h>

typedef struct collect {
    const cnf_image *want; /* the whole-decode result, or NULL */
    int mismatch;
} collect;

static cnf_status compare_rows(void *ctx, int y0, int y1, const float *const *rows, int planes,
                               cnf_error *err)
{
    collect *c = ctx;
    (void)err;
    if (!c->want)
        return CNF_OK;
    for (int y = y0; y < y1; y++)
        for (int p = 0; p < planes; p++)
            if (memcmp(cnf_image_plane(c->want, p) + (size_t)y * (size_t)c->want->width,
                       rows[(size_t)(y - y0) * (size_t)planes + (size_t)p],
                       (size_t)c->want->width * sizeof(float)) != 0)
                c->mismatch = 1;
    return CNF_OK;
}

/* Stream the bytes through plan p; abort if the rows differ from `want`. */
static void stream_check(const uint8_t *data, size_t size, const cnf_plan *p, int w, int h,
                         int ch, int a, const cnf_image *want)
{
    cnf_reader *r = NULL;
    cnf_error e;
    collect c = {want, 0};
    int rw, rh, rc, ra;
    if (cnf_reader_open(data, size, CNF_IN_IMAGE, "fuzz", 1u << 20, &r, &e) != CNF_OK)
        return;
    cnf_reader_shape(r, &rw, &rh, &rc, &ra);
    if (rw == w && rh == h && rc == ch && ra == a &&
        cnf_plan_stream(p, r, 2, compare_rows, &c, &e) == CNF_OK && c.mismatch)
        abort(); /* streamed and whole decoding disagree */
    cnf_reader_free(r);
}

/* Abort if cnf_sniff on a prefix fails otherwise than cnf_probe on all. */
static void sniff_check(const uint8_t *data, size_t size, cnf_input_kind kind, uint64_t max)
{
    static const size_t prefixes[] = {17, 32, 64, 4096};
    cnf_error es, ep;
    int w, h, c, a;
    cnf_status sp = cnf_probe(data, size, kind, "fuzz", max, &w, &h, &c, &a, &ep);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        cnf_status ss = cnf_sniff(data, prefixes[i] < size ? prefixes[i] : size, kind, "fuzz", &es);
        if (ss != CNF_OK && (ss != sp || strcmp(es.msg, ep.msg) != 0 || es.line != ep.line ||
                             es.col != ep.col))
            abort(); /* the sniff refused it otherwise than the probe */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnf_image img, out;
    cnf_error e;
    cnf_kernel *k = NULL;
    sniff_check(data, size, CNF_IN_IMAGE, 1u << 20);
    sniff_check(data, size, CNF_IN_AUTO, 1u << 20);
    {
        /* The mark reader takes any bytes: it reads only within them. */
        char comment[64];
        if (cnf_image_mark(data, size, comment, sizeof comment) && strlen(comment) >= 64)
            abort();
    }
    /* The decoders' memory is read from the header, within the bytes (any
     * figure will do: the limits are the caller's). */
    (void)cnf_decoder_memory(data, size, CNF_IN_IMAGE);
    (void)cnf_decoder_memory(data, size, CNF_IN_AUTO);
    /* 2^20 pixels: decompression bombs must be refused, not decoded. */
    if (cnf_decode(data, size, CNF_IN_IMAGE, "fuzz", 1u << 20, &img, &e) != CNF_OK)
        return 0;
    if (cnf_kernel_parse("sobel_v", "--kernel", &k, &e) == CNF_OK) {
        const cnf_kernel *ks[1] = {k};
        cnf_layer L;
        cnf_plan *p = NULL;
        cnf_plan_limits lim = {256u << 20, 0, 0, 0};
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
                cnf_encode_opts eo;
                stream_check(data, size, p, img.width, img.height, img.channels, img.has_alpha,
                             &out);
                cnf_encode_opts_init(&eo);
                eo.map = CNF_MAP_ABS;
                if (cnf_encode(&out, CNF_OUT_PNG, &eo, &buf, &len, NULL, &e) == CNF_OK)
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
