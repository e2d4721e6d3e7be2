/* commands.c - the small subcommands: kernels, show-kernel. */
#include "commands.h"

#include "msg.h"

#include <string.h>

int cmd_kernels(int argc, char **argv)
{
    size_t n;
    const cnf_builtin_info *b = cnf_builtins(&n);
    (void)argv;
    if (argc != 2) {
        msg_usage("kernels", "takes no arguments");
        return EXIT_USAGE;
    }
    /* The name first and alone, so scripts can take the first word. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(b[i].name, b[i].usage) != 0)
            printf("%-11s %s; spec %s\n", b[i].name, b[i].description, b[i].usage);
        else
            printf("%-11s %s\n", b[i].name, b[i].description);
    }
    return EXIT_OK;
}

int cmd_show_kernel(int argc, char **argv)
{
    const char *v, *h;
    cnf_kernel *k = NULL;
    cnf_error err;
    if (argc != 3) {
        msg_usage("show-kernel", "needs exactly one kernel SPEC");
        return EXIT_USAGE;
    }
    if (cnf_kernel_composite(argv[2], &v, &h)) {
        int r = 0;
        printf("%s: magnitude sqrt(%s^2 + %s^2) of the pair:\n\n", argv[2], v, h);
        for (int i = 0; i < 2 && r == 0; i++) {
            char *sub[3] = {argv[0], argv[1], (char *)(i ? h : v)};
            if (i)
                putchar('\n');
            r = cmd_show_kernel(3, sub);
        }
        return r;
    }
    memset(&err, 0, sizeof err);
    if (cnf_kernel_parse(argv[2], "--kernel", &k, &err) != CNF_OK)
        return msg_cnf(&err, "--kernel");
    cnf_kernel_describe(k, stdout);
    cnf_kernel_free(k);
    return EXIT_OK;
}
