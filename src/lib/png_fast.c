/* png_fast.c - the common PNG read by rows with ISA-L's inflate: 8-bit gray/RGB(A), no interlace.
 *
 * Decoding is most of the time of a PNG-to-PNG filter run, and most of the
 * decoding is zlib's inflate; ISA-L inflates about three times as fast.
 * This reader handles the PNGs nearly every tool writes (bit depth 8, colour
 * types 0, 2, 4, 6, not interlaced, no tRNS) and is as strict as the libspng
 * path it stands in for: every chunk's CRC is checked, chunk lengths and
 * order are checked, the image data must inflate to exactly the size the
 * header implies (a truncated stream and an over-long one are both errors),
 * the zlib checksum is verified, and a complete IEND must follow.  Anything
 * else (palettes, tRNS, other depths, Adam7) goes to libspng (png_io.c).
 */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

/* The same bound as the libspng path puts on ancillary chunks. */
#define CHUNK_LIMIT (64u << 20)

typedef struct fast_png {
    const unsigned char *buf;
    size_t len, pos;      /* pos: the next chunk header */
    /* The IDAT inflate reads from: its CRC is summed as inflate takes its
     * bytes (so a large chunk is read once, front to back) and checked when
     * it is closed, before any error found in its data is reported. */
    size_t crc_at;        /* the offset of its CRC field; 0: none open */
    const unsigned char *crc_from; /* its bytes not yet summed */
    uint32_t crc;
    uint32_t idat_left;   /* bytes of the current IDAT not yet given to inflate */
    int idat_done;        /* a chunk other than IDAT came after the image data */
    int comp;             /* samples per pixel */
    size_t stride;        /* bytes per row, without the filter byte */
    unsigned char *rows;  /* three rows with their filter byte: row y in slot y % 3 */
    struct inflate_state *z;
    char *name;
} fast_png;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static cnf_status corrupt(const fast_png *f, const char *why, cnf_error *err)
{
    return cnf__fail(err, CNF_E_DECODE, f->name, "corrupt PNG (%s)", why);
}

static int is_letter(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Check the chunk header at f->pos: the chunk complete, named with
 * letters.  Sets *n (data length) and *type. */
static cnf_status chunk_head(const fast_png *f, uint32_t *n, const unsigned char **type,
                             cnf_error *err)
{
    const unsigned char *p = f->buf + f->pos;
    if (f->len - f->pos < 12)
        return corrupt(f, "the file ends inside a chunk", err);
    *n = be32(p);
    *type = p + 4;
    if (*n > 0x7fffffffu || *n > f->len - f->pos - 12)
        return corrupt(f, "the file ends inside a chunk", err);
    for (int i = 0; i < 4; i++)
        if (!is_letter(p[4 + i]))
            return corrupt(f, "invalid chunk type", err);
    return CNF_OK;
}

/* chunk_head, and the CRC right. */
static cnf_status chunk_at(const fast_png *f, uint32_t *n, const unsigned char **type,
                           cnf_error *err)
{
    const unsigned char *p = f->buf + f->pos;
    cnf_status st = chunk_head(f, n, type, err);
    if (st)
        return st;
    if (crc32_gzip_refl(0, p + 4, (uint64_t)*n + 4) != be32(p + 8 + *n))
        return corrupt(f, "chunk CRC mismatch", err);
    return CNF_OK;
}

/* Sum what inflate has taken of the open IDAT into its CRC. */
static void crc_taken(fast_png *f)
{
    const unsigned char *to = f->z->next_in;
    if (!f->crc_at)
        return;
    f->crc = crc32_gzip_refl(f->crc, f->crc_from, (uint64_t)(to - f->crc_from));
    f->crc_from = to;
}

/* Close the open IDAT (if any): the rest of its bytes summed, the CRC
 * checked. */
static cnf_status close_idat(fast_png *f, cnf_error *err)
{
    const unsigned char *end;
    if (!f->crc_at)
        return CNF_OK;
    end = f->buf + f->crc_at;
    f->crc = crc32_gzip_refl(f->crc, f->crc_from, (uint64_t)(end - f->crc_from));
    f->crc_from = end;
    f->crc_at = 0;
    return f->crc == be32(end) ? CNF_OK : corrupt(f, "chunk CRC mismatch", err);
}

/* An error in the image data, unless the chunk holding it has a bad CRC
 * (then that is the error, as when chunks were checked before use). */
static cnf_status data_error(fast_png *f, const char *why, cnf_error *err)
{
    cnf_status st = close_idat(f, err);
    return st ? st : corrupt(f, why, err);
}

/* Give inflate the next IDAT's data; an error if the image data ends. */
static cnf_status next_idat(fast_png *f, cnf_error *err)
{
    uint32_t n = 0;
    const unsigned char *type = NULL;
    cnf_status st = close_idat(f, err);
    if (st)
        return st;
    if (f->idat_done || f->pos >= f->len)
        return corrupt(f, "the image data ends early", err);
    st = chunk_head(f, &n, &type, err);
    if (st)
        return st;
    if (memcmp(type, "IDAT", 4) != 0) {
        f->idat_done = 1;
        st = chunk_at(f, &n, &type, err);
        return st ? st : corrupt(f, "the image data ends early", err);
    }
    f->crc = crc32_gzip_refl(0, type, 4);
    f->crc_from = f->buf + f->pos + 8;
    f->crc_at = f->pos + 8 + (size_t)n;
    f->z->next_in = (uint8_t *)(uintptr_t)f->crc_from;
    f->z->avail_in = n;
    f->pos += 12 + (size_t)n;
    return CNF_OK;
}

/* Inflate exactly `want` bytes into out. */
static cnf_status inflate_exact(fast_png *f, unsigned char *out, size_t want, cnf_error *err)
{
    struct inflate_state *z = f->z;
    z->next_out = out;
    z->avail_out = (uint32_t)want;
    while (z->avail_out > 0) {
        int rc;
        if (z->avail_in == 0 && z->tmp_out_valid == z->tmp_out_processed &&
            z->block_state != ISAL_BLOCK_FINISH) {
            cnf_status st = next_idat(f, err);
            if (st)
                return st;
        }
        rc = isal_inflate(z);
        crc_taken(f);
        if (rc < 0)
            return data_error(f, rc == ISAL_INCORRECT_CHECKSUM ? "zlib checksum mismatch"
                                                               : "invalid zlib data", err);
        if (z->block_state == ISAL_BLOCK_FINISH && z->avail_out > 0)
            return data_error(f, "the image data ends early", err);
    }
    return CNF_OK;
}

/* Undo a row's filter in place (r[-1] is the filter byte). */
static cnf_status unfilter(const fast_png *f, unsigned char *r, const unsigned char *prev,
                           cnf_error *err)
{
    if (r[-1] > 4)
        return corrupt(f, "invalid filter type", err);
    cnf__png_unfilter(r[-1], r, prev, f->stride, (size_t)f->comp);
    return CNF_OK;
}

/* Interleaved 8-bit samples to float planes, one pass over the pixels
 * (vectorized by the compiler, with an AVX2 clone where the CPU has it). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void spread(const unsigned char *s, size_t w, size_t comp, float *const *dst)
{
    if (comp == 3) {
        float *d0 = dst[0], *d1 = dst[1], *d2 = dst[2];
        for (size_t x = 0; x < w; x++) {
            d0[x] = s[3 * x];
            d1[x] = s[3 * x + 1];
            d2[x] = s[3 * x + 2];
        }
    } else if (comp == 4) {
        float *d0 = dst[0], *d1 = dst[1], *d2 = dst[2], *d3 = dst[3];
        for (size_t x = 0; x < w; x++) {
            d0[x] = s[4 * x];
            d1[x] = s[4 * x + 1];
            d2[x] = s[4 * x + 2];
            d3[x] = s[4 * x + 3];
        }
    } else {
        for (size_t c = 0; c < comp; c++)
            for (size_t x = 0; x < w; x++)
                dst[c][x] = s[x * comp + c];
    }
}

/* Row y's slot of the three (with its filter byte). */
static unsigned char *row_slot(const fast_png *f, int y)
{
    return f->rows + (size_t)(y % 3) * (f->stride + 1);
}

/* Where decoded rows go: float planes (spread) or 8-bit interleaved rows. */
typedef struct row_dest {
    float *const *planes_rows; /* rows[i * planes + c], or NULL */
    int planes;
    unsigned char *const *u8_rows;
} row_dest;

static void put_row(const fast_png *f, const cnf_reader *r, const row_dest *d, int i,
                    const unsigned char *row)
{
    if (d->u8_rows)
        memcpy(d->u8_rows[i], row, f->stride);
    else
        spread(row, (size_t)r->w, (size_t)f->comp, d->planes_rows + (size_t)i * (size_t)d->planes);
}

/* Inflate and unfilter the next n rows into d. */
static cnf_status decode_rows(cnf_reader *r, int n, const row_dest *d, cnf_error *err)
{
    fast_png *f = r->impl;
    size_t comp = (size_t)f->comp;
    for (int i = 0; i < n; i++) {
        int y = r->next + i;
        unsigned char *cur = row_slot(f, y), *prev = row_slot(f, y + 2); /* (y - 1) mod 3 */
        cnf_status st = inflate_exact(f, cur, f->stride + 1, err);
        if (st == CNF_OK && cur[0] == 4 && i + 1 < n) {
            /* two Paeth rows are undone together (cnf__png_unfilter2) */
            unsigned char *next = row_slot(f, y + 1);
            st = inflate_exact(f, next, f->stride + 1, err);
            if (st == CNF_OK && next[0] > 4)
                st = unfilter(f, next + 1, cur + 1, err); /* the error, before any row */
            if (st)
                return st;
            cnf__png_unfilter2(4, next[0], cur + 1, next + 1, prev + 1, f->stride, comp);
            put_row(f, r, d, i, cur + 1);
            put_row(f, r, d, i + 1, next + 1);
            i++;
            continue;
        }
        if (st == CNF_OK)
            st = unfilter(f, cur + 1, prev + 1, err);
        if (st)
            return st;
        put_row(f, r, d, i, cur + 1);
    }
    return CNF_OK;
}

static cnf_status fast_rows(cnf_reader *r, int n, float *const *rows, int planes, cnf_error *err)
{
    row_dest d = {rows, planes, NULL};
    return decode_rows(r, n, &d, err);
}

/* The same rows as their 8-bit samples, interleaved (cnf_reader_rows_u8). */
static cnf_status fast_rows_u8(cnf_reader *r, int n, unsigned char *const *rows, cnf_error *err)
{
    row_dest d = {NULL, 0, rows};
    return decode_rows(r, n, &d, err);
}

/* After the last row: the zlib stream must end here (checksum verified),
 * then only well-formed chunks up to a complete IEND. */
static cnf_status fast_finish(cnf_reader *r, cnf_error *err)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    fast_png *f = r->impl;
    struct inflate_state *z = f->z;
    unsigned char extra[64];
    while (z->block_state != ISAL_BLOCK_FINISH) {
        int rc;
        if (z->avail_in == 0 && z->tmp_out_valid == z->tmp_out_processed) {
            cnf_status st = next_idat(f, err);
            if (st)
                return st;
        }
        z->next_out = extra;
        z->avail_out = sizeof extra;
        rc = isal_inflate(z);
        crc_taken(f);
        if (rc < 0)
            return data_error(f, rc == ISAL_INCORRECT_CHECKSUM ? "zlib checksum mismatch"
                                                               : "invalid zlib data", err);
        if (z->avail_out < sizeof extra)
            return data_error(f, "image data inflates to more than the header implies", err);
    }
    {
        /* the rest of the last IDAT (bytes after the zlib stream) */
        cnf_status st = close_idat(f, err);
        if (st)
            return st;
    }
    for (;;) {
        uint32_t n;
        const unsigned char *type;
        cnf_status st;
        if (f->pos >= f->len)
            return corrupt(f, "no complete IEND chunk", err);
        st = chunk_at(f, &n, &type, err);
        if (st)
            return f->len - f->pos >= 8 && memcmp(f->buf + f->pos + 4, "IEND", 4) == 0
                       ? corrupt(f, "no complete IEND chunk", err)
                       : st;
        if (memcmp(type, "IEND", 4) == 0)
            return memcmp(f->buf + f->pos, iend, 12) == 0
                       ? CNF_OK
                       : corrupt(f, "no complete IEND chunk", err);
        if (memcmp(type, "IDAT", 4) == 0) {
            /* More IDAT after the zlib stream's end: nothing in it is read. */
            if (f->idat_done)
                return corrupt(f, "IDAT chunks are not consecutive", err);
        } else {
            f->idat_done = 1;
            if (!(type[0] & 0x20))
                return corrupt(f, "unknown or misplaced critical chunk", err);
        }
        f->pos += 12 + (size_t)n;
    }
}

static void fast_destroy(cnf_reader *r)
{
    fast_png *f = r->impl;
    if (!f)
        return;
    free(f->z);
    free(f->rows);
    free(f->name);
    free(f);
    r->impl = NULL;
}

/* What inflate has taken (and the CRC summed) is done. */
static size_t fast_used(const cnf_reader *r)
{
    const fast_png *f = r->impl;
    if (!f)
        return 0;
    return f->crc_at ? (size_t)(f->crc_from - f->buf) : f->pos;
}

cnf_status cnf__png_fast_reader(const unsigned char *buf, size_t len, const char *name,
                                uint64_t max_pixels, cnf_reader *r, cnf_error *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    fast_png probe, *f;
    const unsigned char *ih;
    uint32_t w, h, n;
    const unsigned char *type;
    int ct, comp;
    cnf_status st;
    memset(&probe, 0, sizeof probe);
    probe.buf = buf;
    probe.len = len;
    probe.pos = 8;
    probe.name = (char *)(uintptr_t)(name ? name : "");
    if (len < 8 + 25 || memcmp(buf, sig, 8) != 0 || memcmp(buf + 12, "IHDR", 4) != 0 ||
        be32(buf + 8) != 13)
        return CNF_OK; /* libspng says what is wrong */
    ih = buf + 16;
    w = be32(ih);
    h = be32(ih + 4);
    ct = ih[9];
    if (ih[8] != 8 || (ct != 0 && ct != 2 && ct != 4 && ct != 6) || ih[10] != 0 || ih[11] != 0 ||
        ih[12] != 0 || w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
        return CNF_OK; /* not ours (or bad): libspng */
    /* The chunks before the image data: all well-formed, no tRNS, no
     * unknown critical chunk; otherwise libspng decides. */
    for (;;) {
        /* (the first IDAT's CRC is summed as it is read) */
        st = chunk_head(&probe, &n, &type, NULL);
        if (st == CNF_OK && memcmp(type, "IDAT", 4) == 0)
            break;
        if (st == CNF_OK)
            st = chunk_at(&probe, &n, &type, NULL);
        if (st)
            return CNF_OK;
        if (memcmp(type, "tRNS", 4) == 0 || memcmp(type, "IEND", 4) == 0 ||
            (!(type[0] & 0x20) && memcmp(type, "IHDR", 4) != 0 && memcmp(type, "PLTE", 4) != 0) ||
            (probe.pos > 8 && memcmp(type, "IHDR", 4) == 0) || n > CHUNK_LIMIT)
            return CNF_OK;
        probe.pos += 12 + (size_t)n;
        if (probe.pos >= len)
            return CNF_OK;
    }
    if ((uint64_t)w * h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%ux%u image is over the pixel limit %llu",
                         w, h, (unsigned long long)max_pixels);
    comp = ct == 0 ? 1 : ct == 4 ? 2 : ct == 2 ? 3 : 4;
    f = calloc(1, sizeof *f);
    if (!f)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    *f = probe;
    f->name = NULL;
    r->impl = f;
    r->destroy = fast_destroy;
    f->comp = comp;
    f->stride = (size_t)w * (size_t)comp;
    f->rows = calloc(3, f->stride + 1);
    f->z = malloc(sizeof *f->z);
    f->name = cnf__strdup(name);
    if (!f->rows || !f->z || !f->name)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    isal_inflate_init(f->z);
    f->z->crc_flag = ISAL_ZLIB;
    r->w = (int)w;
    r->h = (int)h;
    r->c = comp;
    r->alpha = ct == 4 || ct == 6;
    r->rows = fast_rows;
    r->rows_u8 = fast_rows_u8;
    r->finish = fast_finish;
    r->used = fast_used;
    return CNF_OK;
}
