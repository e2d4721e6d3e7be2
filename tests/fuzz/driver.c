/* driver.c - a plain main() for the fuzz targets: replays files and folders of inputs.
 *
 * Built into every target when libFuzzer is not used, so `make test` runs each
 * corpus under the sanitizers without clang.  Usage: fuzz_X FILE|DIR...
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        fprintf(stderr, "%s: read error\n", path);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int replay(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort), rc = 0;
        if (n < 0) {
            perror(path);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            char sub[4096];
            if (names[i]->d_name[0] != '.') {
                snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
                rc |= replay(sub, count);
            }
            free(names[i]);
        }
        free(names);
        return rc;
    }
    (*count)++;
    return replay_file(path);
}

int main(int argc, char **argv)
{
    int rc = 0, count = 0;
    for (int i = 1; i < argc; i++)
        rc |= replay(argv[i], &count);
    printf("%s: replayed %d inputs\n", argv[0], count);
    return rc;
}
