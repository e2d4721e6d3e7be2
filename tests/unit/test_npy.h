/* test_npy.h - writing .npy weight files in unit tests, as NumPy's np.save does (version 1.0). */
#ifndef CNF_TEST_NPY_H
#define CNF_TEST_NPY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The header of an array of dtype `descr` ("<f4", "<f8", ...), `ndims` dims, C order unless
 * `fortran`; returns its length (a multiple of 64, as NumPy pads it). */
static inline size_t t_npy_header(unsigned char *h, const char *descr, const size_t *dims,
                                  int ndims, int fortran)
{
    char dict[256], shape[128] = "";
    size_t o = 0, n, total, pad;
    for (int i = 0; i < ndims; i++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, "%zu, ", dims[i]);
    if (ndims > 1)
        shape[o - 2] = 0; /* "(6, 1, 5, 5)"; a 1-D shape keeps its comma: "(6,)" */
    else if (ndims == 1)
        shape[o - 1] = 0;
    n = (size_t)snprintf(dict, sizeof dict,
                         "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr,
                         fortran ? "True" : "False", shape);
    total = 10 + n + 1;
    pad = (64 - total % 64) % 64;
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (unsigned char)((n + 1 + pad) & 0xff);
    h[9] = (unsigned char)((n + 1 + pad) >> 8);
    memcpy(h + 10, dict, n);
    memset(h + 10 + n, ' ', pad);
    h[10 + n + pad] = '\n';
    return total + pad;
}

/* Write `path`: the header, then `bytes` bytes of data (little-endian host assumed, as on
 * every machine the tests run on), then `extra` zero bytes.  data NULL: `bytes` zero bytes
 * made by extending the file (sparse, so a 64 MiB file costs nothing). */
static inline void t_write_npy(const char *path, const char *descr, const size_t *dims,
                               int ndims, const void *data, size_t bytes, size_t extra)
{
    unsigned char h[512];
    size_t hl = t_npy_header(h, descr, dims, ndims, 0);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(h, 1, hl, f) != hl)
        abort();
    if (data && bytes && fwrite(data, 1, bytes, f) != bytes)
        abort();
    if (fflush(f) != 0)
        abort();
    if ((!data || extra) && ftruncate(fileno(f), (off_t)(hl + bytes + extra)) != 0)
        abort();
    if (fclose(f) != 0)
        abort();
}

/* float32 and float64 files of n values. */
static inline void t_write_f32(const char *path, const size_t *dims, int ndims, const float *v)
{
    size_t n = 1;
    for (int i = 0; i < ndims; i++)
        n *= dims[i];
    t_write_npy(path, "<f4", dims, ndims, v, n * sizeof(float), 0);
}

static inline void t_write_f64(const char *path, const size_t *dims, int ndims, const double *v)
{
    size_t n = 1;
    for (int i = 0; i < ndims; i++)
        n *= dims[i];
    t_write_npy(path, "<f8", dims, ndims, v, n * sizeof(double), 0);
}

#endif
