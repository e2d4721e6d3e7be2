/* dataset.c - the data of train and predict: class folders, IDX files (gzip too), CSV lists, files and folders, loaded whole as bytes.
 *
 * Two passes: the list of samples and the first sample's shape (headers
 * only) give the set's size, checked against the memory limit before
 * anything is loaded; then every sample is decoded into one buffer, as
 * bytes while the values are 8-bit pixels (a quarter of floats: 60,000 28x28
 * images are 47 MB) and as floats otherwise.  Input alpha is dropped, as a
 * pipeline drops it.
 */
#define _POSIX_C_SOURCE 200809L
#include "dataset.h"

#include "input.h"
#include "formats.h"
#include "msg.h"
#include "paths.h"
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

/* One sample to load: a file and its label (-1 none). */
typedef struct src_item {
    char *path;
    int label;
} src_item;

typedef struct src_list {
    src_item *v;
    size_t n, cap;
} src_list;

static int push_item(src_list *l, const char *path, int label)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        src_item *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n].path = strdup(path)))
        return -1;
    l->v[l->n++].label = label;
    return 0;
}

static void free_list(src_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const src_item *)a)->path, ((const src_item *)b)->path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------- sources */

typedef struct walk_into {
    src_list *l;
    int label;
} walk_into;

static int take_file(void *arg, const char *full, const char *rel)
{
    walk_into *w = arg;
    (void)rel;
    return push_item(w->l, full, w->label);
}

/* The files under root (recursively), sorted by path, labelled `label`. */
static int add_folder(src_list *l, const char *root, int label)
{
    walk_into w = {l, label};
    size_t first = l->n;
    int rc = walk_files(root, 1, take_file, &w, NULL);
    qsort(l->v + first, l->n - first, sizeof *l->v, by_path);
    return rc ? EXIT_FAILURE_RUN : EXIT_OK;
}

/* The subfolders of root (not hidden), sorted bytewise; and whether root
 * holds input files of its own. */
static int subfolders(const char *root, char ***names, int *n, int *own_files)
{
    DIR *d = opendir(root);
    struct dirent *de;
    char **v = NULL;
    int k = 0, cap = 0;
    *own_files = 0;
    if (!d) {
        msg_error(root, "%s", strerror(errno));
        return EXIT_FAILURE_RUN;
    }
    while ((de = readdir(d)) != NULL) {
        char full[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' || join_path(full, sizeof full, root, de->d_name) != 0 ||
            stat(full, &st) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            *own_files |= S_ISREG(st.st_mode) && is_input_name(de->d_name);
            continue;
        }
        if (k == cap) {
            char **nv = realloc(v, sizeof *nv * (size_t)(cap = cap ? cap * 2 : 16));
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[k] = strdup(de->d_name)))
            break;
        k++;
    }
    closedir(d);
    qsort(v, (size_t)k, sizeof *v, cmp_str);
    *names = v;
    *n = k;
    return EXIT_OK;
}

/* Label of a class folder named `name`: its place among the net's classes
 * when the net names them, else its place in sorted order. */
static int class_label(const dataset_opts *o, const char *name, int sorted)
{
    if (!o->classes)
        return sorted;
    for (int i = 0; i < o->n_classes; i++)
        if (strcmp(o->classes[i], name) == 0)
            return i;
    return -1;
}

/* A folder with a subfolder per class. */
static int add_class_tree(dataset *ds, src_list *l, const char *root, char **names, int n,
                          const dataset_opts *o)
{
    int rc = EXIT_OK;
    for (int i = 0; i < n && rc == 0; i++) {
        char full[PATH_MAX];
        int label = class_label(o, names[i], i);
        if (label < 0) {
            msg_error(root, "class folder '%s' is not one of the net's classes", names[i]);
            return EXIT_FAILURE_RUN;
        }
        if (join_path(full, sizeof full, root, names[i]) != 0) {
            msg_error(root, "path too long");
            return EXIT_FAILURE_RUN;
        }
        rc = add_folder(l, full, label);
    }
    ds->classes = names;
    ds->n_classes = n;
    ds->labelled = 1;
    return rc;
}

/* A .csv of path,label rows: paths relative to the CSV's folder. */
static int add_csv(src_list *l, const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_error err;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int line = 0, rc = EXIT_OK;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (read_input(path, 1u << 30, NULL, NULL, &buf, &len, &err) != CNF_OK)
        return msg_cnf(&err, path);
    for (char *p = (char *)buf, *end = (char *)buf + len; p < end && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *comma, *stop;
        char full[PATH_MAX];
        long label;
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (n && p[n - 1] == '\r')
            n--;
        p[n] = 0;
        comma = strrchr(p, ',');
        if (n == 0 || (line == 1 && strcasecmp(p, "path,label") == 0)) {
            p = nl ? nl + 1 : end;
            continue;
        }
        errno = 0;
        label = comma ? strtol(comma + 1, &stop, 10) : -1;
        if (!comma || comma == p || stop == comma + 1 || *stop || errno || label < 0 ||
            label > INT_MAX) {
            msg_error(path, "line %d: expected 'path,label' with a class index from 0", line);
            rc = EXIT_FAILURE_RUN;
            break;
        }
        *comma = 0;
        if (p[0] == '/' || strcmp(dir, ".") == 0) /* a CSV in "." lists its paths as they are */
            snprintf(full, sizeof full, "%s", p);
        else if (join_path(full, sizeof full, dir, p) != 0)
            full[0] = 0;
        if (!full[0] || push_item(l, full, (int)label) != 0) {
            msg_error(path, "line %d: path too long or out of memory", line);
            rc = EXIT_FAILURE_RUN;
        }
        p = nl ? nl + 1 : end;
    }
    free(buf);
    return rc;
}

/* ----------------------------------------------------------------- IDX */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read exactly n bytes from a (possibly gzip) file; -1 on a short read. */
static int gz_exact(gzFile f, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* The first na + nb bytes of a file's content (a gzip file's decompressed)
 * into a, then b: 0; 1 when the content is shorter; -1 when the file cannot
 * be read or its gzip data is broken (with `whole`, the rest of the member is
 * inflated too, and its CRC checked).
 * A gzip file is inflated by ISA-L (Debian's libisal, which the PNG reader
 * uses too): 0.1 s for Fashion-MNIST's 47 MB of images where zlib takes 0.3;
 * one of several gzip members is read by zlib, as gzread would. */
#define IN_CHUNK (1u << 20)
static int read_content(const char *path, void *a, size_t na, void *b, size_t nb, int whole)
{
    FILE *f = fopen(path, "rb");
    unsigned char *in = NULL, magic[2], scratch[4096];
    struct inflate_state *st = NULL;
    unsigned char *dst[2] = {a, b};
    size_t left[2] = {na, nb};
    int t = 0, rc = -1, eof = 0;
    if (!f)
        return -1;
    if (fread(magic, 1, 2, f) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        rewind(f);
        rc = (na && fread(a, 1, na, f) != na) || (nb && fread(b, 1, nb, f) != nb) ? 1 : 0;
        rc = rc && ferror(f) ? -1 : rc;
        fclose(f);
        return rc;
    }
    rewind(f);
    in = malloc(IN_CHUNK);
    st = malloc(sizeof *st);
    if (!in || !st)
        goto done;
    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    for (;;) {
        uint32_t out_before, in_before;
        int delivered;
        if (st->avail_out == 0) { /* the next piece of a or b; past them, to the member's end */
            while (t < 2 && left[t] == 0)
                t++;
            if (t < 2) {
                size_t piece = left[t] > (1u << 30) ? 1u << 30 : left[t];
                st->next_out = dst[t];
                st->avail_out = (uint32_t)piece;
                dst[t] += piece;
                left[t] -= piece;
            } else {
                st->next_out = scratch;
                st->avail_out = sizeof scratch;
            }
        }
        if (st->avail_in == 0 && !eof) {
            st->avail_in = (uint32_t)fread(in, 1, IN_CHUNK, f);
            st->next_in = in;
            eof = st->avail_in == 0;
            if (eof && ferror(f))
                goto done;
        }
        out_before = st->avail_out;
        in_before = st->avail_in;
        if (isal_inflate(st) != ISAL_DECOMP_OK)
            goto done; /* broken data, or a CRC or length that does not match */
        delivered = left[0] == 0 && left[1] == 0 && (t >= 2 || st->avail_out == 0);
        if (delivered && !whole) {
            rc = 0;
            goto done;
        }
        if (st->block_state == ISAL_BLOCK_FINISH) {
            rc = delivered ? 0 : 1;
            if (!delivered && (st->avail_in > 0 || !eof)) { /* more members: zlib reads them */
                gzFile g = gzopen(path, "rb");
                rc = !g || gz_exact(g, a, na) != 0 || gz_exact(g, b, nb) != 0 ? 1 : 0;
                if (g)
                    gzclose(g);
            }
            goto done;
        }
        if (eof && in_before == 0 && st->avail_out == out_before) {
            rc = delivered ? -1 : 1; /* the file ends inside the member (without its CRC) */
            goto done;
        }
    }
done:
    free(in);
    free(st);
    fclose(f);
    return rc;
}

/* 1 if path is an IDX file of unsigned bytes with `dims` dimensions (gzip or
 * not); its header (4 + 4 * dims bytes) goes to hdr. */
static int idx_header(const char *path, int dims, unsigned char *hdr)
{
    return read_content(path, hdr, 4 + 4 * (size_t)dims, NULL, 0, 0) == 0 && hdr[0] == 0 &&
           hdr[1] == 0 && hdr[2] == 0x08 && hdr[3] == dims;
}

/* The label file published beside an IDX image file: the same name with
 * "images" -> "labels" and "idx3" -> "idx1" in its last component
 * (train-images-idx3-ubyte.gz -> train-labels-idx1-ubyte.gz, with or without
 * the .gz); 1 and the name in buf when one is readable. */
static int idx_sibling_labels(const char *path, char *buf, size_t size)
{
    const char *base = strrchr(path, '/');
    size_t n = strlen(path), off;
    char *im, *i3, *gz;
    base = base ? base + 1 : path;
    off = (size_t)(base - path);
    if (n + 4 > size)
        return 0;
    memcpy(buf, path, n + 1);
    im = strstr(buf + off, "images");
    i3 = strstr(buf + off, "idx3");
    if (!im || !i3)
        return 0;
    memcpy(im, "labels", 6);
    i3[3] = '1';
    if (access(buf, R_OK) == 0)
        return 1;
    gz = n > 3 ? buf + n - 3 : NULL;
    if (gz && strcmp(gz, ".gz") == 0)
        *gz = 0; /* the labels may be stored uncompressed */
    else
        memcpy(buf + n, ".gz", 4);
    return access(buf, R_OK) == 0;
}

/* An IDX image file (n x rows x cols bytes), and its labels: --labels, or
 * the label file beside it (idx_sibling_labels). */
static int load_idx(dataset *ds, const char *path, const dataset_opts *o)
{
    unsigned char hdr[16], lh[8];
    uint64_t n, rows, cols, bytes, extra;
    char sibling[PATH_MAX];
    const char *labels = o->labels;
    if (!labels && idx_sibling_labels(path, sibling, sizeof sibling))
        labels = sibling;
    idx_header(path, 3, hdr);
    n = be32(hdr + 4);
    rows = be32(hdr + 8);
    cols = be32(hdr + 12);
    if (n == 0 || rows == 0 || cols == 0 || n > INT_MAX || rows * cols > o->max_pixels) {
        msg_error(path, "IDX header says %llu images of %llux%llu: none, or over the pixel limit",
                  (unsigned long long)n, (unsigned long long)rows, (unsigned long long)cols);
        return EXIT_FAILURE_RUN;
    }
    bytes = n * rows * cols;
    extra = o->extra_for ? o->extra_for(o->ctx, (int)cols, (int)rows, 1) : 0;
    if (o->max_memory && bytes + n * sizeof(int) + extra > o->max_memory) {
        msg_error(path, "the data needs %llu MiB (%llu images of %llux%llu) and training %llu MiB "
                        "more, over the memory limit of %llu MiB (raise it with --max-memory)",
                  (unsigned long long)(bytes >> 20), (unsigned long long)n,
                  (unsigned long long)rows, (unsigned long long)cols,
                  (unsigned long long)(extra >> 20),
                  (unsigned long long)(o->max_memory >> 20));
        return EXIT_FAILURE_RUN;
    }
    if (labels) {
        if (!idx_header(labels, 1, lh)) {
            msg_error(labels, "not an IDX label file (magic 00 00 08 01)");
            return EXIT_FAILURE_RUN;
        }
        if (be32(lh + 4) != n) {
            msg_error(labels, "%u labels for %llu images in %s", be32(lh + 4),
                      (unsigned long long)n, path);
            return EXIT_FAILURE_RUN;
        }
    } else if (o->need_labels) {
        msg_usage(path, "IDX images need their labels: give --labels FILE (none found beside "
                        "them as *-labels-idx1-ubyte[.gz])");
        return EXIT_USAGE;
    }
    ds->u8 = malloc(bytes);
    ds->labels = labels ? malloc(n * sizeof(int)) : NULL;
    if (!ds->u8 || (labels && !ds->labels)) {
        msg_error(path, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    switch (read_content(path, hdr, 16, ds->u8, bytes, 1)) {
    case 0: break;
    case 1:
        msg_error(path, "truncated IDX file: fewer than %llu image bytes",
                  (unsigned long long)bytes);
        return EXIT_FAILURE_RUN;
    default: msg_error(path, "unreadable or corrupt (gzip data or CRC)"); return EXIT_FAILURE_RUN;
    }
    if (labels) {
        unsigned char *lb = malloc(n);
        int got = lb ? read_content(labels, lh, 8, lb, n, 1) : -1;
        if (got != 0) {
            free(lb);
            msg_error(labels, got == 1 ? "truncated IDX label file"
                                       : "unreadable or corrupt (gzip data or CRC)");
            return EXIT_FAILURE_RUN;
        }
        for (uint64_t i = 0; i < n; i++)
            ds->labels[i] = lb[i];
        free(lb);
        ds->labelled = 1;
    }
    ds->idx_file = path;
    ds->d.n = (int)n;
    ds->d.width = (int)cols;
    ds->d.height = (int)rows;
    ds->d.channels = 1;
    ds->d.u8 = ds->u8;
    ds->d.labels = ds->labels;
    return EXIT_OK;
}

/* --------------------------------------------------------------- files */

/* The shape and the decoded values of one file (alpha dropped). */
static int decode_file(const char *path, const dataset_opts *o, cnf_image *img)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_error err;
    cnf_input_kind kind = cnf_input_kind_for_path(path);
    cnf_status st = read_input(path, o->max_memory, NULL, NULL, &buf, &len, &err);
    if (st == CNF_OK)
        st = cnf_decode_ex(buf, len, kind, path, o->max_pixels, o->decode_flags, img, &err);
    free(buf);
    if (st)
        return msg_cnf(&err, path);
    if (img->has_alpha) {
        img->channels--;
        img->has_alpha = 0;
    }
    return EXIT_OK;
}

/* 1 if every value is an 8-bit pixel (an integer in 0..255). */
static int all_bytes(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(v[i] >= 0 && v[i] <= 255 && v[i] == (float)(int)v[i]))
            return 0;
    return 1;
}

/* Keep floats from now on: the bytes so far become floats. */
static int to_floats(dataset *ds, size_t total)
{
    float *f = malloc(total * sizeof(float));
    if (!f)
        return -1;
    for (size_t i = 0; ds->u8 && i < total; i++)
        f[i] = ds->u8[i];
    free(ds->u8);
    ds->u8 = NULL;
    ds->f32 = f;
    return 0;
}

/* Store sample i of size `per` from img (its shape checked by the caller). */
static int store(dataset *ds, size_t i, size_t per, size_t total, const cnf_image *img)
{
    if (ds->u8 && !all_bytes(img->data, per) && to_floats(ds, total) != 0)
        return -1;
    if (ds->u8)
        for (size_t k = 0; k < per; k++)
            ds->u8[i * per + k] = (unsigned char)img->data[k];
    else
        memcpy(ds->f32 + i * per, img->data, per * sizeof(float));
    return 0;
}

/* Load every listed file: the first one's shape and kind decide. */
static int load_files(dataset *ds, src_list *l, const dataset_opts *o, const char *what)
{
    cnf_image img;
    size_t per, total;
    uint64_t unit, extra;
    int rc;
    if (l->n == 0) {
        msg_error(what, "no images found");
        return EXIT_FAILURE_RUN;
    }
    if (l->n > INT_MAX) {
        msg_error(what, "more than %d samples", INT_MAX);
        return EXIT_FAILURE_RUN;
    }
    if ((rc = decode_file(l->v[0].path, o, &img)) != 0)
        return rc;
    per = (size_t)img.width * img.height * img.channels;
    total = per * l->n;
    unit = all_bytes(img.data, per) ? 1 : sizeof(float);
    extra = o->extra_for ? o->extra_for(o->ctx, img.width, img.height, img.channels) : 0;
    if (o->max_memory && (uint64_t)total * unit + l->n * sizeof(int) + extra > o->max_memory) {
        msg_error(what, "the data needs %llu MiB (%zu samples of %d x %d x %d) and training %llu "
                        "MiB more, over the memory limit of %llu MiB (raise it with --max-memory)",
                  (unsigned long long)(((uint64_t)total * unit) >> 20), l->n, img.channels,
                  img.height, img.width, (unsigned long long)(extra >> 20),
                  (unsigned long long)(o->max_memory >> 20));
        cnf_image_free(&img);
        return EXIT_FAILURE_RUN;
    }
    ds->d.width = img.width;
    ds->d.height = img.height;
    ds->d.channels = img.channels;
    if (unit == 1)
        ds->u8 = malloc(total);
    else
        ds->f32 = malloc(total * sizeof(float));
    ds->labels = malloc(l->n * sizeof(int));
    if ((!ds->u8 && !ds->f32) || !ds->labels) {
        cnf_image_free(&img);
        msg_error(what, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0 && (rc = decode_file(l->v[i].path, o, &img)) != 0)
            return rc;
        if (img.width != ds->d.width || img.height != ds->d.height ||
            img.channels != ds->d.channels) {
            msg_error(l->v[i].path, "is %d x %d x %d, but %s is %d x %d x %d: all samples "
                                    "must have one shape",
                      img.channels, img.height, img.width, l->v[0].path, ds->d.channels,
                      ds->d.height, ds->d.width);
            cnf_image_free(&img);
            return EXIT_FAILURE_RUN;
        }
        rc = store(ds, i, per, total, &img);
        cnf_image_free(&img);
        if (rc) {
            msg_error(what, "out of memory");
            return EXIT_FAILURE_RUN;
        }
        ds->labels[i] = l->v[i].label;
    }
    ds->d.n = (int)l->n;
    ds->d.u8 = ds->u8;
    ds->d.f32 = ds->f32;
    return EXIT_OK;
}

/* -------------------------------------------------------------- entry */

/* Add one DATA argument that is not IDX to the list. */
static int add_argument(dataset *ds, src_list *l, const char *a, int n_args,
                        const dataset_opts *o)
{
    struct stat st;
    const char *dot = strrchr(a, '.');
    if (stat(a, &st) != 0) {
        msg_error(a, "%s", strerror(errno));
        return EXIT_FAILURE_RUN;
    }
    if (S_ISDIR(st.st_mode)) {
        char **names = NULL;
        int n = 0, own = 0, rc = subfolders(a, &names, &n, &own);
        if (rc)
            return rc;
        if (o->need_labels || (n > 0 && !own && n_args == 1)) {
            if (n < 2) {
                for (int i = 0; i < n; i++)
                    free(names[i]);
                free(names);
                msg_error(a, "%d class folder%s: a class-folder tree needs at least 2 classes", n,
                          n == 1 ? "" : "s");
                return EXIT_FAILURE_RUN;
            }
            return add_class_tree(ds, l, a, names, n, o);
        }
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return add_folder(l, a, -1);
    }
    if (dot && strcasecmp(dot, ".csv") == 0 && (o->need_labels || n_args == 1)) {
        ds->labelled = 1;
        return add_csv(l, a);
    }
    if (o->need_labels) {
        msg_usage(a, "training data is a class-folder tree, an IDX file with --labels or a .csv "
                     "of path,label rows");
        return EXIT_USAGE;
    }
    return push_item(l, a, -1) ? (msg_error(a, "out of memory"), EXIT_FAILURE_RUN) : EXIT_OK;
}

int dataset_load(dataset *ds, const char *const *args, int n_args, const dataset_opts *o)
{
    src_list l;
    unsigned char hdr[16];
    int rc = EXIT_OK;
    memset(ds, 0, sizeof *ds);
    memset(&l, 0, sizeof l);
    if (n_args == 1 && idx_header(args[0], 3, hdr))
        return load_idx(ds, args[0], o);
    for (int i = 0; i < n_args && rc == 0; i++) {
        if (idx_header(args[i], 3, hdr)) {
            msg_usage(args[i], "an IDX file is DATA on its own, not one of several");
            rc = EXIT_USAGE;
        } else {
            rc = add_argument(ds, &l, args[i], n_args, o);
        }
    }
    if (rc == 0 && o->labels) {
        msg_usage("--labels", "is for IDX image files");
        rc = EXIT_USAGE;
    }
    if (rc == 0)
        rc = load_files(ds, &l, o, args[0]);
    if (rc == 0 && o->keep_names) {
        ds->names = calloc(l.n, sizeof *ds->names);
        for (size_t i = 0; ds->names && i < l.n; i++) {
            ds->names[i] = l.v[i].path; /* taken over */
            l.v[i].path = NULL;
        }
    }
    if (rc == 0 && !ds->labelled) {
        free(ds->labels);
        ds->labels = NULL;
    }
    ds->d.labels = ds->labels;
    free_list(&l);
    return rc;
}

const char *dataset_name(const dataset *ds, int i, char *buf, size_t size)
{
    if (ds->idx_file)
        snprintf(buf, size, "%s#%d", ds->idx_file, i);
    else if (ds->names && ds->names[i])
        snprintf(buf, size, "%s", ds->names[i]);
    else
        snprintf(buf, size, "#%d", i);
    return buf;
}

void dataset_free(dataset *ds)
{
    free(ds->u8);
    free(ds->f32);
    free(ds->labels);
    for (int i = 0; ds->names && i < ds->d.n; i++)
        free(ds->names[i]);
    free(ds->names);
    for (int i = 0; i < ds->n_classes; i++)
        free(ds->classes[i]);
    free(ds->classes);
    memset(ds, 0, sizeof *ds);
}
