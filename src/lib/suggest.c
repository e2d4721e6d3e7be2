/* suggest.c - "did you mean": the known words closest to a mistyped one.
 *
 * Distance: the optimal string alignment distance (insertions, deletions, substitutions and
 * swaps of two neighbours, each 1) between the words with case ignored, so `Sobel` is 0 from
 * `sobel` and `sobell`, `sobel_x` and `--kernal` are 1 from what was meant.  A word is
 * suggested when it is within a third of the typed word's length (at least 1, at most 3). */
#include "cnnfilter.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_WORD 64

static int distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    int d[MAX_WORD + 1][MAX_WORD + 1];
    if (la > MAX_WORD || lb > MAX_WORD)
        return MAX_WORD;
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

int cnf_suggest(const char *word, const char *const *words, size_t n, char *buf, size_t cap)
{
    int limit = (int)strlen(word) / 3, best = MAX_WORD, found = 0;
    size_t len = 0;
    limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
    if (cap)
        buf[0] = 0;
    for (size_t k = 0; k < n; k++) {
        int d = distance(word, words[k]);
        if (d < best && strcmp(word, words[k]) != 0)
            best = d;
    }
    if (best > limit)
        return 0;
    for (size_t k = 0; k < n && found < 3; k++) {
        if (distance(word, words[k]) != best || strcmp(word, words[k]) == 0)
            continue;
        if (cap > len) {
            int w = snprintf(buf + len, cap - len, "%s'%s'", found ? " or " : "", words[k]);
            len += w > 0 ? (size_t)w : 0;
        }
        found++;
    }
    return found;
}
