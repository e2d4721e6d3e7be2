/* kernel_spec.c - kernel specs: a built-in, an inline matrix, or a kernel file read here. */
#include "builtin.h"
#include "kernel_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The whole of a kernel file, at most CNF_MAX_JSON_BYTES; *buf_ret is malloc'd and
 * NUL-terminated. */
static cnf_status read_small_file(const char *path, char **buf_ret, size_t *len_ret,
                                  cnf_error *err)
{
    FILE *f;
    struct stat stt;
    char *buf;
    size_t n;
    if (stat(path, &stt) != 0)
        return cnf__fail_errno(err, CNF_E_USAGE, path, errno, "%s", strerror(errno));
    if (S_ISDIR(stt.st_mode))
        return cnf__fail(err, CNF_E_USAGE, path, "is a directory");
    f = fopen(path, "rb");
    if (!f)
        return cnf__fail_errno(err, CNF_E_USAGE, path, errno, "%s", strerror(errno));
    buf = malloc(CNF_MAX_JSON_BYTES + 1);
    if (!buf) {
        fclose(f);
        return cnf__fail(err, CNF_E_NOMEM, path, "out of memory");
    }
    /* Read one byte past the limit to tell "exactly at" from "over". */
    n = fread(buf, 1, CNF_MAX_JSON_BYTES + 1, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return cnf__fail_errno(err, CNF_E_USAGE, path, e, "read error: %s", strerror(e));
    }
    fclose(f);
    if (n > CNF_MAX_JSON_BYTES) {
        free(buf);
        return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_JSON, path,
                               "kernel file is larger than %u bytes (limit)", CNF_MAX_JSON_BYTES);
    }
    buf[n] = 0;
    *buf_ret = buf;
    *len_ret = n;
    return CNF_OK;
}

/* A spec error (built-in or inline matrix): `where` is the caller's label, not a file. */
static cnf_status spec_error(cnf_status st, cnf_error *err)
{
    if (st && err)
        err->subject = CNF_SUBJECT_SPEC;
    return st;
}

/* An image's or a .npy file's first bytes (PNG, JPEG, GIF, BMP, TIFF, WebP,
 * NumPy): what `-k photo.png` reads, which no kernel file starts with. */
static int looks_like_image(const char *t, size_t len)
{
    static const struct {
        const char *magic;
        size_t n;
    } sig[] = {{"\x89PNG", 4}, {"\xff\xd8\xff", 3}, {"GIF8", 4}, {"BM", 2},
               {"II*", 4},      {"MM\0*", 4},        {"RIFF", 4}, {"\x93NUMPY", 6}};
    for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++)
        if (len >= sig[i].n && memcmp(t, sig[i].magic, sig[i].n) == 0)
            return 1;
    return 0;
}

/* A kernel file: its stem names the kernel (the {kernel} template). */
static cnf_status kernel_file(const char *path, cnf_kernel **k_ret, cnf_error *err)
{
    char *text = NULL;
    size_t len = 0;
    char stem[260];
    const char *base = strrchr(path, '/');
    char *dot;
    cnf_status st = read_small_file(path, &text, &len, err);
    if (st)
        return st;
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : path);
    dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = 0;
    if (looks_like_image(text, len)) {
        free(text);
        return cnf__fail(err, CNF_E_USAGE, path,
                         "is an image, not a kernel: a kernel is a built-in name, an inline "
                         "matrix ('[[1,0],[0,-1]]') or a JSON file ({\"weights\": [[...]]})");
    }
    st = cnf_kernel_from_json(text, len, path, stem, k_ret, err);
    free(text);
    return st;
}

/* The built-in names closest to a spec's name (before any ':SIZE'), with the
 * spec's own size kept: `sobell`, `Sobel:5` -> 'sobel', 'sobel:5'. */
static void suggest_builtin(const char *spec, char *buf, size_t cap)
{
    size_t n = 0, len = strcspn(spec, ":");
    const cnf_builtin_info *b = cnf_builtins(&n);
    const char *names[128];
    char name[64], near[160];
    if (len >= sizeof name || strchr(spec, '/') || strchr(spec, '.'))
        return; /* a file's path: no built-in is meant */
    memcpy(name, spec, len);
    name[len] = 0;
    n = n < 128 ? n : 128;
    for (size_t i = 0; i < n; i++)
        names[i] = b[i].name;
    if (cnf_suggest(name, names, n, near, sizeof near) == 1 && spec[len] == ':') {
        snprintf(buf, cap, "%.*s%s'", (int)(strlen(near) - 1), near, spec + len);
        return;
    }
    snprintf(buf, cap, "%s", near);
}

cnf_status cnf_kernel_parse(const char *spec, const char *label, cnf_kernel **k_ret,
                            cnf_error *err)
{
    const char *p = spec;
    struct stat stt;
    *k_ret = NULL;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (*p == '[')
        return spec_error(cnf__kernel_from_inline(spec, strlen(spec), label, k_ret, err), err);
    if (!*p)
        return spec_error(cnf__fail(err, CNF_E_USAGE, label, "empty kernel spec"), err);
    if (cnf__builtin_named(spec)) {
        const char *v, *h;
        if (cnf_kernel_composite(spec, &v, &h)) {
            /* One map of a bank: the magnitude of the pair's two maps. */
            cnf_kernel *kv = NULL, *kh = NULL;
            cnf_status st = cnf__builtin_kernel(v, label, &kv, err);
            if (st == CNF_OK && (st = cnf__builtin_kernel(h, label, &kh, err)) != CNF_OK)
                cnf_kernel_free(kv);
            if (st)
                return spec_error(st, err);
            if (!(*k_ret = cnf__kernel_composite(spec, kv, kh)))
                return spec_error(cnf__fail(err, CNF_E_NOMEM, label, "out of memory"), err);
            return CNF_OK;
        }
        return spec_error(cnf__builtin_kernel(spec, label, k_ret, err), err);
    }
    if (stat(spec, &stt) != 0) {
        char near[200] = "";
        suggest_builtin(spec, near, sizeof near);
        return spec_error(cnf__fail(err, CNF_E_USAGE, label,
                                    "unknown kernel '%s'%s%s%s: not a built-in (see 'cnnfilter "
                                    "kernels'), an inline matrix or an existing file",
                                    spec, *near ? " (did you mean " : "", near, *near ? "?)" : ""),
                          err);
    }
    return kernel_file(spec, k_ret, err);
}
