/* vocab.c - the words of each setting (borders, channels, combine, activations, pools, maps,
 * padding): one table per enum, read by the CLI's option parser and help, the pipeline
 * parser, --explain and the completion words, so a word is written once. */
#include "internal.h"

#include <string.h>

/* Each list is in the order of its enum's values (checked by test_vocab). */
static const char *const BORDER_WORDS[] = {"zero", "replicate", "reflect", "mirror", "wrap",
                                           NULL};
static const char *const CHANNEL_WORDS[] = {"auto", "gray", "rgb", "sum", NULL};
static const char *const COMBINE_WORDS[] = {"none", "magnitude", "max", "sum", NULL};
static const char *const ACTIVATION_WORDS[] = {"none",    "relu", "abs", "leaky_relu",
                                               "sigmoid", "tanh", NULL};
static const char *const POOL_WORDS[] = {"none", "max", "avg", "min", NULL};
static const char *const MAP_WORDS[] = {"clamp", "abs", "offset", "normalize", NULL};
static const char *const PADDING_WORDS[] = {"same", "valid", NULL};

static const char *const *const VOCABS[] = {
    [CNF_VOCAB_BORDER] = BORDER_WORDS,         [CNF_VOCAB_CHANNELS] = CHANNEL_WORDS,
    [CNF_VOCAB_COMBINE] = COMBINE_WORDS,       [CNF_VOCAB_ACTIVATION] = ACTIVATION_WORDS,
    [CNF_VOCAB_POOL] = POOL_WORDS,             [CNF_VOCAB_MAP] = MAP_WORDS,
    [CNF_VOCAB_PADDING] = PADDING_WORDS,
};

const char *const *cnf_vocab_words(cnf_vocab v)
{
    static const char *const none[] = {NULL};
    if ((unsigned)v >= sizeof VOCABS / sizeof VOCABS[0])
        return none;
    return VOCABS[v];
}

int cnf_vocab_value(cnf_vocab v, const char *word)
{
    const char *const *w = cnf_vocab_words(v);
    for (int i = 0; w[i]; i++)
        if (strcmp(w[i], word) == 0)
            return i;
    return -1;
}

const char *cnf_vocab_word(cnf_vocab v, int value)
{
    const char *const *w = cnf_vocab_words(v);
    for (int i = 0; w[i]; i++)
        if (i == value)
            return w[i];
    return NULL;
}

size_t cnf_vocab_list(cnf_vocab v, int from, const char *sep, char *buf, size_t size)
{
    const char *const *w = cnf_vocab_words(v);
    size_t n = 0;
    if (size)
        buf[0] = 0;
    for (int i = from < 0 ? 0 : from; w[i]; i++) {
        const char *s = n ? sep : "";
        size_t a = strlen(s), b = strlen(w[i]);
        if (n + a + b + 1 > size)
            break;
        memcpy(buf + n, s, a);
        memcpy(buf + n + a, w[i], b + 1);
        n += a + b;
    }
    return n;
}
