/* compare_report.c - what `cnnfilter compare` prints on stdout: a line per pair, one JSON document (--json) or a table (--tsv). */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"

#include "msg.h"

#include <math.h>
#include <string.h>

static const char *const STATUS_WORD[] = {"same", "different", "missing", "error"};

/* Whether a pair is printed at all: --silent prints none, --quiet only the
 * pairs that do not pass. */
static int shown(const cmp_opts *o, const pair_result *r)
{
    return !o->silent && !(o->quiet && r->status == PAIR_SAME);
}

/* --------------------------------------------------------------- JSON */

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the byte
 * at s does not start one (overlong forms, surrogates and values over
 * U+10FFFF are not valid). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0], min, cp;
    int n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string.  A byte that is not part of valid UTF-8 is written as the
 * escape \udcXX (XX the byte): Python's json.loads then gives the name that
 * os.fsencode turns back into the same bytes (its "surrogateescape"). */
static void json_string(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    while (*p) {
        int n = utf8_len(p);
        if (n == 0) {
            printf("\\udc%02x", *p);
            p++;
        } else if (n > 1) {
            fwrite(p, 1, (size_t)n, stdout);
            p += n;
        } else {
            unsigned c = *p++;
            if (c == '"' || c == '\\')
                printf("\\%c", c);
            else if (c == '\n')
                fputs("\\n", stdout);
            else if (c == '\t')
                fputs("\\t", stdout);
            else if (c == '\r')
                fputs("\\r", stdout);
            else if (c < 0x20 || c == 0x7f)
                printf("\\u%04x", c);
            else
                putchar((int)c);
        }
    }
    putchar('"');
}

/* A percentage kept in millionths, exactly: "2.9", "0.000001", "100". */
static void print_micro(unsigned long long micro)
{
    unsigned long long frac = micro % 1000000ULL;
    int digits = 6;
    printf("%llu", micro / 1000000ULL);
    if (!frac)
        return;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    printf(".%0*llu", digits, frac);
}

static double changed_percent(const pair_result *r)
{
    return r->total ? 100.0 * (double)r->changed / (double)r->total : 0;
}

static void json_shape(const char *key, const int *s, int set)
{
    printf(", \"%s\": ", key);
    if (set)
        printf("[%d, %d, %d]", s[0], s[1], s[2]);
    else
        fputs("null", stdout);
}

static int g_json_pairs; /* pairs printed so far */

static void json_pair(const pair_result *r)
{
    printf("%s\n    {\"status\": \"%s\", \"a\": ", g_json_pairs++ ? "," : "",
           STATUS_WORD[r->status]);
    json_string(r->a);
    fputs(", \"b\": ", stdout);
    json_string(r->b);
    fputs(", \"only_in\": ", stdout);
    if (r->status == PAIR_MISSING)
        printf("\"%c\"", r->only_in);
    else
        fputs("null", stdout);
    if (r->measured) {
        printf(", \"unit\": \"%s\", \"max_difference\": %.17g, \"changed\": %llu, "
               "\"total\": %llu, \"changed_percent\": %.17g, \"psnr\": ",
               r->per_pixel ? "pixels" : "values", r->max_diff, (unsigned long long)r->changed,
               (unsigned long long)r->total, changed_percent(r));
        if (r->has_psnr && isfinite(r->psnr))
            printf("%.17g", r->psnr);
        else
            fputs("null", stdout);
    } else {
        fputs(", \"unit\": null, \"max_difference\": null, \"changed\": null, \"total\": null, "
              "\"changed_percent\": null, \"psnr\": null",
              stdout);
    }
    printf(", \"size_mismatch\": %s", !r->decoded ? "null" : r->size_mismatch ? "true" : "false");
    json_shape("shape_a", r->shape_a, r->decoded);
    json_shape("shape_b", r->shape_b, r->decoded);
    fputs(", \"diff\": ", stdout);
    json_string(r->diff);
    fputs(", \"error\": ", stdout);
    json_string(r->status == PAIR_ERROR ? r->error : NULL);
    putchar('}');
}

/* ---------------------------------------------------------------- TSV */

static const char TSV_HEADER[] = "status\ta\tb\tonly_in\tunit\tmax_difference\tchanged\ttotal\t"
                                 "changed_percent\tpsnr\tsize_mismatch\tshape_a\tshape_b\tdiff\t"
                                 "error\n";

/* A field: backslash, tab, newline and carriage return as \\ \t \n \r;
 * every other byte as it is (spaces included: only tabs separate). */
static void tsv_field(const char *s, int last)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            fputs("\\\\", stdout);
        else if (*s == '\t')
            fputs("\\t", stdout);
        else if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s == '\r')
            fputs("\\r", stdout);
        else
            putchar(*s);
    }
    putchar(last ? '\n' : '\t');
}

static void tsv_pair(const pair_result *r)
{
    char only[2] = {r->only_in, 0}, shape_a[48] = "", shape_b[48] = "";
    tsv_field(STATUS_WORD[r->status], 0);
    tsv_field(r->a, 0);
    tsv_field(r->b, 0);
    tsv_field(r->status == PAIR_MISSING ? only : "", 0);
    if (r->measured) {
        printf("%s\t%.17g\t%llu\t%llu\t%.17g\t", r->per_pixel ? "pixels" : "values", r->max_diff,
               (unsigned long long)r->changed, (unsigned long long)r->total, changed_percent(r));
        if (r->has_psnr)
            printf(isfinite(r->psnr) ? "%.17g\t" : "inf\t", r->psnr);
        else
            putchar('\t');
    } else {
        fputs("\t\t\t\t\t\t", stdout);
    }
    if (r->decoded) {
        snprintf(shape_a, sizeof shape_a, "%dx%dx%d", r->shape_a[0], r->shape_a[1], r->shape_a[2]);
        snprintf(shape_b, sizeof shape_b, "%dx%dx%d", r->shape_b[0], r->shape_b[1], r->shape_b[2]);
    }
    tsv_field(!r->decoded ? "" : r->size_mismatch ? "true" : "false", 0);
    tsv_field(shape_a, 0);
    tsv_field(shape_b, 0);
    tsv_field(r->diff, 0);
    tsv_field(r->status == PAIR_ERROR ? r->error : "", 1);
}

/* --------------------------------------------------------------- text */

/* "5.00%", never "0.00%" for a difference or "100.00%" for a partial one. */
static void format_percent(char *buf, size_t size, uint64_t k, uint64_t total)
{
    double p = total ? 100.0 * (double)k / (double)total : 0;
    if (k > 0 && p < 0.005)
        snprintf(buf, size, "<0.01%%");
    else if (k < total && p >= 99.995)
        snprintf(buf, size, ">99.99%%");
    else
        snprintf(buf, size, "%.2f%%", p);
}

static void text_pair(const cmp_opts *o, const pair_result *r)
{
    char ea[4200], eb[4200], pct[32];
    if (r->status == PAIR_ERROR && !r->measured && !r->decoded)
        return; /* said on stderr */
    if (r->status == PAIR_MISSING) {
        /* the folder it is in as given, and its path inside it */
        const char *root = r->only_in == 'a' ? o->a : o->b;
        printf("only in %s: %s\n", escape(root, ea, sizeof ea), escape(r->rel, eb, sizeof eb));
        return;
    }
    escape(r->a, ea, sizeof ea);
    escape(r->b, eb, sizeof eb);
    if (r->size_mismatch) {
        printf("%s %s: different shapes: %d x %d x %d vs %d x %d x %d (C x H x W)\n", ea, eb,
               r->shape_a[0], r->shape_a[1], r->shape_a[2], r->shape_b[0], r->shape_b[1],
               r->shape_b[2]);
        return;
    }
    if (!r->measured)
        return;
    format_percent(pct, sizeof pct, r->n_diff, r->total);
    printf("%s %s: max difference %.9g, %llu of %llu %s differ (%s)", ea, eb, r->max_diff,
           (unsigned long long)r->n_diff, (unsigned long long)r->total,
           r->per_pixel ? "pixels" : "values", pct);
    if (o->tolerance > 0) {
        format_percent(pct, sizeof pct, r->changed, r->total);
        printf(", %llu over tolerance (%s)", (unsigned long long)r->changed, pct);
    }
    if (r->has_psnr) {
        if (isfinite(r->psnr))
            printf(", PSNR %.2f dB", r->psnr);
        else
            printf(", PSNR inf");
    }
    putchar('\n');
}

/* ---------------------------------------------------------- the report */

void report_begin(const cmp_opts *o)
{
    if (o->output == CMP_TSV) {
        fputs(TSV_HEADER, stdout);
    } else if (o->output == CMP_JSON) {
        g_json_pairs = 0;
        fputs("{\"a\": ", stdout);
        json_string(o->a);
        fputs(", \"b\": ", stdout);
        json_string(o->b);
        printf(", \"tolerance\": %.17g, \"max_share\": ", o->tolerance);
        print_micro((unsigned long long)o->max_share_micro);
        fputs(", \"min_psnr\": ", stdout);
        if (o->has_min_psnr)
            printf("%.17g", o->min_psnr);
        else
            fputs("null", stdout);
        fputs(",\n  \"pairs\": [", stdout);
    }
}

void report_pair(const cmp_opts *o, const pair_result *r)
{
    if (!shown(o, r))
        return;
    if (o->output == CMP_JSON)
        json_pair(r);
    else if (o->output == CMP_TSV)
        tsv_pair(r);
    else
        text_pair(o, r);
}

void report_end(const cmp_opts *o, const cmp_counts *c, int folders, int status)
{
    if (o->output == CMP_JSON) {
        printf("%s],\n  \"compared\": %llu, \"same\": %llu, \"different\": %llu, "
               "\"missing\": %llu, \"errors\": %llu, \"status\": \"%s\"}\n",
               g_json_pairs ? "\n  " : "", c->compared, c->same, c->different, c->missing,
               c->errors, status == 0 ? "same" : status == 1 ? "different" : "error");
    } else if (o->output == CMP_TEXT && folders && !o->quiet && !o->silent) {
        printf("compared %llu, identical-within-tolerance %llu, different %llu, missing %llu",
               c->compared, c->same, c->different, c->missing);
        if (c->errors)
            printf(", errors %llu", c->errors);
        putchar('\n');
    }
}
