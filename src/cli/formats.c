/* formats.c - the library's format table in the CLI's words: lists for help text, messages, folder walks and completion. */
#include "formats.h"

#include "cnnfilter.h"

#include <ctype.h>
#include <string.h>

static int in_set(const cnf_format_info *f, format_set set)
{
    switch (set) {
    case FORMATS_WRITTEN: return (f->flags & CNF_FORMAT_WRITE) != 0;
    case FORMATS_WRITTEN_8BIT: return (f->flags & CNF_FORMAT_WRITE) && (f->flags & CNF_FORMAT_8BIT);
    case FORMATS_WRITTEN_EXACT:
        return (f->flags & CNF_FORMAT_WRITE) && (f->flags & CNF_FORMAT_EXACT);
    case FORMATS_WRITTEN_16BIT:
        return (f->flags & CNF_FORMAT_WRITE) && (f->flags & CNF_FORMAT_16BIT);
    case FORMATS_WRITTEN_FLOAT:
        return (f->flags & CNF_FORMAT_WRITE) && (f->flags & CNF_FORMAT_FLOAT);
    case FORMATS_READ_IMAGES: return (f->flags & CNF_FORMAT_READ) && !(f->flags & CNF_FORMAT_MATRIX);
    case FORMATS_READ_MATRICES:
        return (f->flags & CNF_FORMAT_READ) && (f->flags & CNF_FORMAT_MATRIX);
    }
    return 0;
}

/* Append s to buf (kept terminated; what does not fit is dropped). */
static void put(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 < size)
        snprintf(buf + n, size - n, "%s", s);
}

/* The words of one format in `style` into w. */
static void words_of(const cnf_format_info *f, char style, char *w, size_t size)
{
    size_t first = strcspn(f->extensions, " ");
    w[0] = 0;
    if (style == 'n') {
        size_t i;
        for (i = 0; f->name[i] && i + 1 < size; i++)
            w[i] = (char)toupper((unsigned char)f->name[i]);
        w[i] = 0;
    } else if (style == 'a') {
        for (const char *p = f->extensions; *p;) {
            size_t n = strcspn(p, " ");
            char one[32];
            snprintf(one, sizeof one, "%s.%.*s", w[0] ? " " : "", (int)n, p);
            put(w, size, one);
            p += n;
            while (*p == ' ')
                p++;
        }
    } else {
        snprintf(w, size, "%s%.*s", style == 'e' ? "." : "", (int)first, f->extensions);
    }
}

const char *format_list(char *buf, size_t size, format_set set, char style, const char *sep,
                        const char *last_sep)
{
    size_t n;
    const cnf_format_info *t = cnf_formats(&n);
    int total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        total += in_set(&t[i], set);
    if (size)
        buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char w[128];
        if (!in_set(&t[i], set))
            continue;
        words_of(&t[i], style, w, sizeof w);
        if (k > 0)
            put(buf, size, k == total - 1 && last_sep ? last_sep : sep);
        put(buf, size, w);
        k++;
    }
    return buf;
}

unsigned format_flags(cnf_output_format f)
{
    size_t n;
    const cnf_format_info *t = cnf_formats(&n);
    for (size_t i = 0; f != CNF_OUT_NONE && i < n; i++)
        if (t[i].output == f)
            return t[i].flags;
    return 0;
}

int format_is_mapped(cnf_output_format f, int depth)
{
    return cnf_output_format_is_8bit(f) && depth != CNF_DEPTH_FLOAT;
}

int is_input_name(const char *name)
{
    const cnf_format_info *f;
    if (name[0] == '.')
        return 0;
    f = cnf_format_for_path(name);
    return f && (f->flags & CNF_FORMAT_READ);
}

void print_format_words(FILE *f)
{
    size_t n;
    const cnf_format_info *t = cnf_formats(&n);
    for (size_t i = 0; i < n; i++)
        if (in_set(&t[i], FORMATS_WRITTEN)) {
            char w[64];
            words_of(&t[i], 'w', w, sizeof w);
            fprintf(f, "%s\n", w);
        }
}
