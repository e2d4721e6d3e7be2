/* png_writer_api.c - TEMPORARY: the public PNG writer API over the whole-image
 * encoder, until the streaming writer (png_write.c) lands. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct cnf_png_writer {
    int w, h, comp, level, rows;
    unsigned char *px;
    const char *const *text;
    cnf_write_fn write;
    void *ctx;
};

cnf_status cnf_png_writer_open(cnf_png_writer **wr, int width, int height, int comp, int depth,
                               int level, int threads, const char *const *text,
                               cnf_write_fn write, void *write_ctx, cnf_error *err)
{
    cnf_png_writer *w;
    (void)threads;
    *wr = NULL;
    if (depth != 8)
        return cnf__fail(err, CNF_E_USAGE, NULL, "16-bit PNG output is not available yet");
    w = calloc(1, sizeof *w);
    if (!w)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    w->px = malloc((size_t)width * (size_t)height * (size_t)comp);
    if (!w->px) {
        free(w);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    w->w = width;
    w->h = height;
    w->comp = comp;
    w->level = level < 0 ? 3 : level;
    w->text = text;
    w->write = write;
    w->ctx = write_ctx;
    *wr = w;
    return CNF_OK;
}

cnf_status cnf_png_writer_rows(cnf_png_writer *w, const void *rows, size_t stride_bytes, int n,
                               cnf_error *err)
{
    size_t rb = (size_t)w->w * (size_t)w->comp;
    if (w->rows + n > w->h)
        return cnf__fail(err, CNF_E_USAGE, NULL, "too many rows");
    for (int i = 0; i < n; i++)
        memcpy(w->px + (size_t)(w->rows + i) * rb, (const unsigned char *)rows + (size_t)i * stride_bytes, rb);
    w->rows += n;
    return CNF_OK;
}

cnf_status cnf_png_writer_finish(cnf_png_writer *w, cnf_error *err)
{
    unsigned char *png = NULL;
    size_t len = 0;
    cnf_status st;
    if (w->rows != w->h)
        return cnf__fail(err, CNF_E_USAGE, NULL, "rows missing");
    st = cnf__png_encode(w->px, w->w, w->h, w->comp, w->level, &png, &len, err);
    for (int i = 0; st == CNF_OK && w->text && w->text[i] && w->text[i + 1]; i += 2)
        st = cnf_png_add_text(&png, &len, w->text[i], w->text[i + 1], err);
    if (st == CNF_OK && w->write(w->ctx, png, len) != 0)
        st = cnf__fail(err, CNF_E_IO, NULL, "write failed");
    free(png);
    return st;
}

void cnf_png_writer_free(cnf_png_writer *w)
{
    if (!w)
        return;
    free(w->px);
    free(w);
}
