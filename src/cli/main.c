/* main.c - the cnnfilter command: a table of subcommands, --help from that table, and the filter command (one file or a batch). */
#define _POSIX_C_SOURCE 200809L
#include "batch.h"
#include "cleanup.h"
#include "mapfile.h"
#include "commands.h"
#include "formats.h"
#include "msg.h"
#include "options.h"
#include "outfile.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_complete(int argc, char **argv);
static int cmd_help(int argc, char **argv);

/* The subcommands.  A new one is a row here and a file with its run
 * function; --help's synopsis and the shell completion read this table. */
typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* after "cnnfilter " */
    const char *summary;
    int hidden;           /* not in --help (documented in the manual) */
    int (*words)(FILE *f, const char *what); /* completion words (NULL: none) */
} command;

static const command COMMANDS[] = {
    {"kernels", cmd_kernels, "kernels", "list the built-in kernels", 0, NULL},
    {"show-kernel", cmd_show_kernel, "show-kernel SPEC", "print a kernel's weights", 0, NULL},
    {"compare", cmd_compare, "compare [OPTIONS] A B",
     "compare images or folders", 0, compare_option_words},
    {"train", cmd_train, "train --pipeline NET.json -o TRAINED.json DATA",
     "learn a pipeline's weights", 0, train_option_words},
    {"predict", cmd_predict, "predict --pipeline TRAINED.json DATA...", "classify images", 0,
     predict_option_words},
    {"learn", cmd_learn, "learn --size K INPUT TARGET -o KERNEL.json",
     "a kernel from a before/after pair", 0, learn_option_words},
    {"help", cmd_help, "help [COMMAND]", "this help, or a command's", 0, NULL},
    {"complete", cmd_complete, "complete WHAT", "words for shell completion", 1, NULL},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

/* One synopsis line: the command padded to a column, then what it does. */
static void synopsis_line(FILE *f, int first, const char *cmd, const char *summary)
{
    char left[160];
    snprintf(left, sizeof left, "cnnfilter %s", cmd);
    fprintf(f, "%s%-41s%s%s\n", first ? "Usage: " : "       ", left,
            strlen(left) < 41 ? " " : "   ", summary);
}

static void print_help(FILE *f)
{
    char in_img[160], in_mat[120], out8[120], out16[80], outf[80], outx[120];
    synopsis_line(f, 1, "[OPTIONS] INPUT OUTPUT", "one image (or matrix) in, one out");
    synopsis_line(f, 0, "[OPTIONS] -o DIR INPUT...", "batch: files and/or folders in");
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!COMMANDS[i].hidden)
            synopsis_line(f, 0, COMMANDS[i].synopsis, COMMANDS[i].summary);
    fprintf(f,
            "       cnnfilter --help | --version\n"
            "\n"
            "Filters images with the math of convolutional neural networks: convolution\n"
            "(cross-correlation), padding, stride, dilation, channel sums, activations and\n"
            "pooling.  INPUT/OUTPUT may be '-' for stdin/stdout (PNG on stdout).\n"
            "Inputs: %s,\n"
            "and numeric matrices (%s).\n"
            "Outputs by extension: %s (8-bit;\n"
            "--depth 16: %s; --depth float: %s), %s (exact values).\n"
            "\n",
            format_list(in_img, sizeof in_img, FORMATS_READ_IMAGES, 'n', ", ", NULL),
            format_list(in_mat, sizeof in_mat, FORMATS_READ_MATRICES, 'e', ", ", NULL),
            format_list(out8, sizeof out8, FORMATS_WRITTEN_8BIT, 'e', " ", NULL),
            format_list(out16, sizeof out16, FORMATS_WRITTEN_16BIT, 'e', " ", NULL),
            format_list(outf, sizeof outf, FORMATS_WRITTEN_FLOAT, 'e', " ", NULL),
            format_list(outx, sizeof outx, FORMATS_WRITTEN_EXACT, 'e', " ", NULL));
    print_options_help(f);
    fprintf(f, "\n"
               "Exit status: 0 success, 1 runtime failure, 2 usage error (compare: 0 every\n"
               "pair passes, 1 different, 2 error).\n"
               "Examples:\n"
               "  cnnfilter -k sobel_v --map abs in.png edges.png\n"
               "  cnnfilter -k gaussian:5 --border reflect in.jpg blurred.png\n"
               "  cnnfilter -k '[[1,0],[0,-1]]' --padding valid m.txt out.txt\n");
}

/* `cnnfilter complete WHAT`: the words shell completion offers, one per
 * line: `commands`, `options`, `options-with-values`, an option's values
 * (`complete --border`), and for a subcommand `NAME-options`,
 * `NAME-options-with-values` (`compare-options`, ...) or `NAME --OPTION` (its
 * values; exit 1 when it is a switch or not one of NAME's).  Exit 2 for
 * anything else. */
static int cmd_complete(int argc, char **argv)
{
    if (argc == 4) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (COMMANDS[i].words && strcmp(argv[2], COMMANDS[i].name) == 0)
                return COMMANDS[i].words(stdout, argv[3]) ? EXIT_FAILURE_RUN : EXIT_OK;
        msg_usage(argv[2], "no subcommand of that name has options to complete");
        return EXIT_USAGE;
    }
    if (argc != 3) {
        msg_usage("complete", "needs one of: commands, options, NAME-options, --OPTION, "
                              "NAME --OPTION");
        return EXIT_USAGE;
    }
    if (strcmp(argv[2], "commands") == 0) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (!COMMANDS[i].hidden)
                printf("%s\n", COMMANDS[i].name);
        return EXIT_OK;
    }
    if (strcmp(argv[2], "options") == 0)
        return print_option_words(stdout, NULL);
    if (strcmp(argv[2], "options-with-values") == 0)
        return print_option_words(stdout, argv[2]);
    /* "NAME-options" and "NAME-options-with-values": a subcommand's options. */
    for (size_t i = 0; i < N_COMMANDS; i++) {
        size_t n = strlen(COMMANDS[i].name);
        const char *rest = argv[2] + n;
        if (strncmp(argv[2], COMMANDS[i].name, n) != 0 || strncmp(rest, "-options", 8) != 0)
            continue;
        if (rest[8] == 0 || strcmp(rest + 8, "-with-values") == 0) {
            if (COMMANDS[i].words)
                COMMANDS[i].words(stdout, rest[8] ? "options-with-values" : NULL);
            return EXIT_OK;
        }
    }
    if (argv[2][0] == '-' && print_option_words(stdout, argv[2]) == 0)
        return EXIT_OK;
    msg_usage(argv[2], "not something 'complete' knows (commands, options, NAME-options, "
                       "--OPTION, NAME --OPTION)");
    return EXIT_USAGE;
}

/* One input, one OUTPUT (or several through {kernel} / {index}). */
static int run_single(const run_setup *s)
{
    const options *o = s->o;
    const char *out = o->n_args > 1 ? o->args[1] : "-";
    out_naming nm;
    if (o->n_args > 1 && s->n_kernels > 1 && s->layer.combine == CNF_COMBINE_NONE &&
        !has_template(out)) {
        msg_usage(out,
                  "a bank of %d kernels with --combine none writes one file per kernel: put "
                  "{kernel} or {index} in OUTPUT, or choose --combine",
                  s->n_kernels);
        return EXIT_USAGE;
    }
    memset(&nm, 0, sizeof nm);
    nm.path = out;
    return run_file(s, o->args[0], &nm, o->jobs);
}

/* The filter command: options, the checks that need no input, the kernels
 * or pipeline loaded once, then one file or a batch. */
static int cmd_filter(int argc, char **argv)
{
    options o;
    run_setup s;
    int rc = parse_options(argc, argv, 1, &o);
    if (rc == 0 && o.help) {
        print_help(stdout);
    } else if (rc == 0 && o.version) {
        printf("cnnfilter %s\n", CNF_VERSION_STRING);
    } else if (rc == 0) {
        msg_set_quiet(o.quiet);
        rc = validate_options(&o);
        if (rc == 0) {
            rc = run_setup_load(&s, &o);
            if (rc == 0)
                rc = o.output_dir ? run_batch(&s) : run_single(&s);
            run_setup_free(&s);
        }
    }
    free(o.args);
    return rc;
}

/* A standard descriptor that is closed would be reused by the first file
 * opened, and messages meant for stderr would land inside an output: give
 * each closed one /dev/null first. */
static void guard_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (n >= 0 && n != fd) {
                /* a lower descriptor was free too; it is filled on its turn */
                dup2(n, fd);
                close(n);
            }
        }
}

/* Memory a file's run frees is kept for the next file rather than given
 * back to the system: a page given back and taken again costs a page fault,
 * microseconds each in a virtual machine, and a batch of 200 photos took
 * 129,000 of them (2.5 MB of buffers a file), most of its run time at -j 1.
 * So blocks under 32 MiB (glibc's largest such bound) come from the heap,
 * and the heap gives back only what it holds free beyond 64 MiB.  The peak
 * is still that of the file that needs most at once. */
static void keep_freed_memory(void)
{
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

/* `cnnfilter help [COMMAND]`: the help of the filter command, or COMMAND's;
 * -1 when argv is not that (a file named `help` is an input as before). */
static int cmd_help(int argc, char **argv)
{
    char *args[3] = {argv[0], NULL, (char *)"--help"};
    struct stat st;
    if (argc < 2 || strcmp(argv[1], "help") != 0 || argc > 3 || stat("help", &st) == 0)
        return -1;
    for (size_t i = 0; argc == 3 && i < N_COMMANDS; i++)
        if (strcmp(argv[2], COMMANDS[i].name) == 0) {
            args[1] = (char *)COMMANDS[i].name;
            return COMMANDS[i].run(3, args);
        }
    if (argc == 3) {
        const char *names[N_COMMANDS];
        char near[200];
        for (size_t i = 0; i < N_COMMANDS; i++)
            names[i] = COMMANDS[i].name;
        if (cnf_suggest(argv[2], names, N_COMMANDS, near, sizeof near))
            msg_usage(argv[2], "unknown command (did you mean %s?)", near);
        else
            msg_usage(argv[2], "unknown command: 'cnnfilter help' takes one of the commands of "
                               "'cnnfilter --help'");
        return EXIT_USAGE;
    }
    print_help(stdout);
    return EXIT_OK;
}

/* A first argument that is a near miss of a command name (`show-kernels`)
 * and no file: a usage error with the suggestion, rather than being read as
 * the filter's INPUT. */
static int near_command(const char *a)
{
    const char *names[N_COMMANDS];
    char near[200];
    struct stat st;
    if (a[0] == '-' || strchr(a, '.') || strchr(a, '/') || stat(a, &st) == 0)
        return 0;
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = COMMANDS[i].name;
    if (!cnf_suggest(a, names, N_COMMANDS, near, sizeof near))
        return 0;
    msg_usage(a, "unknown command (did you mean %s?)", near);
    return 1;
}

int main(int argc, char **argv)
{
    int rc = -1;
    guard_std_fds();
    keep_freed_memory();
    cleanup_start();
    mapfile_start();
    for (size_t i = 0; argc >= 2 && i < N_COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            rc = COMMANDS[i].run(argc, argv);
    if (rc < 0 && argc >= 2 && near_command(argv[1]))
        rc = EXIT_USAGE;
    if (rc < 0)
        rc = cmd_filter(argc, argv);
    out_sync_folders();
    /* A full disk must not look like success (stdout may be a file). */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            msg_error("-", "write error on standard output: %s", strerror(errno));
        return rc ? rc : EXIT_FAILURE_RUN;
    }
    return rc;
}
