/* outputs.h - where a result goes: the names of an input's outputs, and writing a result into them (as its rows arrive, or whole). */
#ifndef CNF_CLI_OUTPUTS_H
#define CNF_CLI_OUTPUTS_H

#include "cnnfilter.h"
#include "options.h"
#include "outfile.h"

/* The longest {kernel} word kept (a kernel file's stem is cut to fit). */
#define OUT_NAME_MAX 270

/* The outputs one input gives: `groups` images (one per kernel of a bank
 * with --combine none, one per feature map of a pipeline written as
 * images, else one), group g named names[g] in {kernel}. */
typedef struct out_layout {
    int groups;
    char names[CLI_MAX_KERNELS][OUT_NAME_MAX];
} out_layout;

/* How a run names its outputs.
 * - single mode: `path` is OUTPUT as given; several outputs need {kernel}
 *   or {index} in it (replaced per output); one output is `path` itself.
 * - batch mode (`batch` = 1): `path` is DIR/<input path relative to its
 *   folder argument> with its extension cut off, `ext` the output format's;
 *   one output is path.ext, several are path-<name>.ext.  The input's own
 *   name is never read as a template.
 * - `fixed` (n_fixed paths, may be NULL): the names the batch planned before
 *   writing anything; the run must produce exactly those. */
typedef struct out_naming {
    const char *path;
    int batch;
    const char *ext;
    char **fixed;
    int n_fixed;
} out_naming;

/* has_template - 1 if s holds {kernel} or {index}. */
int has_template(const char *s);

/* out_paths - the output paths for layout l under naming nm: a malloc'd
 * array of l->groups malloc'd strings in *paths (free with free_paths).
 * Fails (usage error, printed) when a path is too long or two outputs would
 * have the same name. */
int out_paths(const out_naming *nm, const out_layout *l, char ***paths);
void free_paths(char **paths, int n);

/* find_duplicate - the first index j > i with paths[j] == paths[i] among n
 * (paths need not be sorted): *i_ret, *j_ret, returns 1; 0 if all differ. */
int find_duplicate(char *const *paths, int n, int *i_ret, int *j_ret);

/* emit_png_stream - run `plan` on the reader's rows straight into the PNG
 * files fs[0..groups) (opened, not committed): decoding, filtering, mapping
 * and compression overlap, and only the rows still needed are held.
 * stats[g] gets what the mapping did (may be NULL; left empty by the
 * 8-bit lane, which runs only without -v).  When png_lane_refused gives
 * NULL, the rows go by the plan's 8-bit lane (cnf_plan_stream_u8): the
 * decoder's 8-bit rows through the kernel straight to 8-bit PNG rows, the
 * same bytes as the float path. */
cnf_status emit_png_stream(const options *o, const cnf_plan *plan, cnf_reader *r, int threads,
                           out_file *fs, int groups, cnf_map_stats *stats, cnf_error *err);

/* png_lane_refused - why the 8-bit lane does not write this plan's PNG
 * output (`groups` files) from reader r, or NULL when it does (r may be
 * NULL: an input not opened says it is not read as 8-bit rows). */
const char *png_lane_refused(const options *o, const cnf_plan *plan, const cnf_reader *r,
                             int groups);

/* rows_stream - 1 when an output of this run's format with `channels`
 * planes per file is written as its rows arrive (cnf_row_writer_streams;
 * `seekable`: into a temporary file, not a pipe or device). */
int rows_stream(const options *o, int channels, int seekable);

/* emit_rows_stream - as emit_png_stream, for the other formats written by
 * rows (rows_stream): each file through a cnf_row_writer on its file
 * descriptor. */
cnf_status emit_rows_stream(const options *o, const cnf_plan *plan, cnf_reader *r, int threads,
                            out_file *fs, int groups, cnf_map_stats *stats, cnf_error *err);

/* emit_whole - write a result held whole: group g of `res` into fs[g], in
 * format fmt (PNG through the same writer as the streamed path). */
cnf_status emit_whole(const options *o, const cnf_image *res, int groups, cnf_output_format fmt,
                      int threads, out_file *fs, cnf_map_stats *stats, cnf_error *err);

/* output_is_complete - 1 if the file at path is a whole output of format
 * fmt (what --skip-existing may keep): PNG ends with its IEND chunk, JPEG
 * with its end marker, BMP has the size its header says; other formats
 * decode.  A 0-byte or truncated file is not complete. */
int output_is_complete(const char *path, cnf_output_format fmt);

/* What an existing output path holds, for the rules on replacing it:
 * - EXIST_NONE: nothing (or it cannot be opened: writing will say why);
 * - EXIST_OURS: an image with cnnfilter's mark (cnf_image_mark);
 * - EXIST_FOREIGN: an image cnnfilter did not write: a format that would
 *   carry the mark (PNG, JPEG, TIFF, WebP, PNM) without it, or one cnnfilter
 *   never writes (GIF, PSD, HDR); replaced only with -f;
 * - EXIST_UNKNOWN: a BMP or TGA (they hold no mark, so whose it is cannot
 *   be told), or anything that is not an image (a matrix, a device, a FIFO,
 *   an empty file): replaced as any output is. */
typedef enum exist_kind { EXIST_NONE, EXIST_OURS, EXIST_FOREIGN, EXIST_UNKNOWN } exist_kind;

/* existing_output - the kind of what is at path; for EXIST_OURS the mark's
 * comment goes to comment (cap bytes).  Reads at most the first 64 KiB (for
 * a WebP, its header and its EXIF chunk). */
exist_kind existing_output(const char *path, char *comment, size_t cap);

/* mark_comment - the comment of the mark this run writes (the version and
 * the options that decide the pixels). */
void mark_comment(const options *o, char *buf, size_t size);

/* foreign_refused - for -o DIR and OUTPUT: 1 (after printing why) when path
 * holds an image cnnfilter did not write and -f was not given. */
int foreign_refused(const options *o, const char *path);
/* foreign_message - the refusal foreign_refused prints, for a caller that has
 * looked at the file itself. */
void foreign_message(const char *path);

/* report_output - the -v line about one written output. */
void report_output(const char *path, int mapped, const cnf_map_stats *s,
                   const cnf_image *img);
/* report_exact - the -v line about an output of exact values lo .. hi. */
void report_exact(const char *path, int channels, int height, int width, double lo, double hi);

#endif
