/* dataset.h - the data of train and predict: class folders, IDX files (gzip too), CSV lists, files and folders, loaded whole as bytes. */
#ifndef CNF_CLI_DATASET_H
#define CNF_CLI_DATASET_H

#include "cnnfilter.h"

#include <stdint.h>

/* What a DATA argument is (cnnfilter(1), train):
 * - a folder with a subfolder per class (class names sorted bytewise give
 *   indices 0..K-1; the images under each subfolder, recursively, sorted by
 *   path); for predict a folder is such a tree only when it holds nothing but
 *   subfolders, else a plain folder of unlabelled images (recursively);
 * - an IDX image file (the MNIST format, gzip or not), with labels from an
 *   IDX label file (--labels);
 * - a .csv of `path,label` rows (paths relative to the CSV's folder; a first
 *   row `path,label` is a header);
 * - for predict, any image or matrix file. */
typedef struct dataset_opts {
    const char *labels;       /* --labels FILE for IDX data, or NULL */
    uint64_t max_pixels;      /* per image */
    unsigned decode_flags;    /* cnf_decode_ex's: CNF_DECODE_NO_ORIENT or 0 */
    uint64_t max_memory;      /* for the whole set, with what the engine needs */
    /* The engine's bytes for samples of this shape (may be NULL: none), added
     * to the set's own when checking max_memory. */
    uint64_t (*extra_for)(void *ctx, int width, int height, int channels);
    void *ctx;
    int need_labels;          /* train: every sample must have a label */
    int keep_names;           /* predict: remember each sample's path */
    /* predict: the net's class names, to label a class-folder tree by name
     * (an unknown folder name is an error); NULL: by sorted order. */
    const char *const *classes;
    int n_classes;
} dataset_opts;

typedef struct dataset {
    cnf_dataset d;       /* what the library reads */
    unsigned char *u8;   /* owned storage behind d */
    float *f32;
    int *labels;
    char **names;        /* per sample, with keep_names (NULL for IDX samples) */
    const char *idx_file; /* IDX data: the file, for "FILE#INDEX" names */
    char **classes;      /* class-folder names, in index order, or NULL */
    int n_classes;
    int labelled;
} dataset;

/* dataset_load - read the DATA arguments into ds.  The count and the shape
 * come first (headers only), and the whole set is checked against
 * max_memory before any sample is read.  Every sample must have the first
 * one's shape (the first that differs is named).  Prints its errors (one
 * line naming the file); returns the exit code. */
int dataset_load(dataset *ds, const char *const *args, int n_args, const dataset_opts *o);

/* dataset_name - sample i's name (its path, or FILE#INDEX) into buf. */
const char *dataset_name(const dataset *ds, int i, char *buf, size_t size);

void dataset_free(dataset *ds);

#endif
