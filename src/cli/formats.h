/* formats.h - the library's format table in the CLI's words: lists for help text, messages, folder walks and completion. */
#ifndef CNF_CLI_FORMATS_H
#define CNF_CLI_FORMATS_H

#include "cnnfilter.h"

#include <stdio.h>

/* Which formats a list holds. */
typedef enum format_set {
    FORMATS_WRITTEN,       /* every format an output can have */
    FORMATS_WRITTEN_8BIT,  /* outputs made through --map */
    FORMATS_WRITTEN_EXACT, /* outputs that keep the values */
    FORMATS_WRITTEN_16BIT, /* outputs --depth 16 can have */
    FORMATS_WRITTEN_FLOAT, /* outputs --depth float can have */
    FORMATS_READ_IMAGES,   /* image inputs */
    FORMATS_READ_MATRICES  /* numeric matrix inputs */
} format_set;

/* format_list - the formats of `set` into buf as words: `style` 'e' the
 * extension written with a dot (".png"), 'w' the extension without it
 * ("png"), 'a' every extension read, with dots, 'n' the name in capitals
 * ("PNG"); joined by sep, the last by last_sep (sep when NULL). */
const char *format_list(char *buf, size_t size, format_set set, char style, const char *sep,
                        const char *last_sep);

/* format_flags - the CNF_FORMAT_* flags of the format written as f (0 for
 * CNF_OUT_NONE). */
unsigned format_flags(cnf_output_format f);

/* format_is_mapped - 1 if an output in format f at sample depth `depth`
 * (8, 16 or CNF_DEPTH_FLOAT) is made through --map. */
int format_is_mapped(cnf_output_format f, int depth);

/* is_input_name - 1 if a file name has the extension of a format that is
 * read (what folder walks take). */
int is_input_name(const char *name);

/* print_format_words - the extensions an output may have, one per line. */
void print_format_words(FILE *f);

#endif
