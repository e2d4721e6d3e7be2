/* test_paths.c - the CLI's path helpers (paths.c) and where compare puts its difference images (compare_diff.c). */
#include "test_util.h"

#include "../../src/cli/compare.h"
#include "../../src/cli/paths.h"

#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

static const char *in_dir(const char *name)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", g_dir, name);
    return b;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void make_parent_folders_makes_every_folder_but_the_last_name(void)
{
    CHECK_EQ_INT(make_parent_folders(in_dir("m/a b/c/x.png")), 0);
    CHECK(is_dir(in_dir("m/a b/c")));
    CHECK(access(in_dir("m/a b/c/x.png"), F_OK) != 0);
    /* Folders already there are fine; a file in the way is not. */
    CHECK_EQ_INT(make_parent_folders(in_dir("m/a b/c/y.png")), 0);
    {
        FILE *f = fopen(in_dir("m/file"), "w");
        CHECK(f != NULL);
        if (f)
            fclose(f);
    }
    CHECK_EQ_INT(make_parent_folders(in_dir("m/file/z.png")), -1);
}

static void path_inside_resolves_links_and_paths_not_made_yet(void)
{
    char root[512];
    snprintf(root, sizeof root, "%s", in_dir("r"));
    CHECK_EQ_INT(mkdir(root, 0777), 0);
    CHECK_EQ_INT(mkdir(in_dir("r/sub"), 0777), 0);
    CHECK_EQ_INT(mkdir(in_dir("other"), 0777), 0);
    CHECK_EQ_INT(path_inside(in_dir("r"), root), 1);
    CHECK_EQ_INT(path_inside(in_dir("r/sub"), root), 1);
    CHECK_EQ_INT(path_inside(in_dir("r/sub/not/yet"), root), 1);
    CHECK_EQ_INT(path_inside(in_dir("r/./sub//"), root), 1);
    CHECK_EQ_INT(path_inside(in_dir("other"), root), 0);
    CHECK_EQ_INT(path_inside(in_dir("other/not/yet"), root), 0);
    CHECK_EQ_INT(path_inside(in_dir("rr"), root), 0);
    CHECK_EQ_INT(path_inside(g_dir, root), 0);
    CHECK_EQ_INT(path_inside(root, g_dir), 1);
    /* ".." of a folder that exists is resolved; after one that does not, it cannot be told. */
    CHECK_EQ_INT(path_inside(in_dir("other/../r/sub"), root), 1);
    CHECK_EQ_INT(path_inside(in_dir("new/../r/x"), root), -1);
    /* A link outside that leads inside is inside. */
    CHECK_EQ_INT(symlink(in_dir("r/sub"), in_dir("other/link")), 0);
    CHECK_EQ_INT(path_inside(in_dir("other/link/new"), root), 1);
    CHECK_EQ_INT(path_inside(in_dir("other/link"), in_dir("other")), 0);
}

static void diff_names_mirror_the_path_and_add_the_extension_once(void)
{
    struct {
        const char *dir, *rel;
        cnf_output_format fmt;
        const char *want;
    } cases[] = {
        {"diffs", "sub/x.png", CNF_OUT_PNG, "diffs/sub/x.png"},
        {"diffs/", "x.PNG", CNF_OUT_PNG, "diffs/x.PNG"},
        {"diffs", "x.jpg", CNF_OUT_PNG, "diffs/x.jpg.png"},
        {"diffs", "a.b/x", CNF_OUT_PNG, "diffs/a.b/x.png"},
        {"d", "sub/x.png", CNF_OUT_NPY, "d/sub/x.png.npy"},
        {"/", "x.bmp", CNF_OUT_BMP, "/x.bmp"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = diff_name(cases[i].dir, cases[i].rel, cases[i].fmt);
        CHECK(n != NULL);
        if (n && strcmp(n, cases[i].want) != 0) {
            fprintf(stderr, "diff_name(%s, %s) = %s, expected %s\n", cases[i].dir, cases[i].rel,
                    n, cases[i].want);
            CHECK(0);
        }
        free(n);
    }
    CHECK(strcmp(diff_ext(CNF_OUT_JSON), "json") == 0);
}

int main(void)
{
    char tmpl[] = "/tmp/cnnfilter-test-paths-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(g_dir, sizeof g_dir, "%s", tmpl);
    RUN(make_parent_folders_makes_every_folder_but_the_last_name);
    RUN(path_inside_resolves_links_and_paths_not_made_yet);
    RUN(diff_names_mirror_the_path_and_add_the_extension_once);
    t_remove_tree(g_dir);
    return t_finish("test_paths");
}
