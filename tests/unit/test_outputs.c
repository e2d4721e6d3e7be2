/* test_outputs.c - the CLI's output layer: output names, atomic files (outfile.c) and the completeness check. */
#include "test_util.h"

#include "../../src/cli/cleanup.h"
#include "../../src/cli/outfile.h"
#include "../../src/cli/outputs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static void put_file(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
        close(fd);
    }
    chmod(p, mode);
}

static size_t read_file(const char *p, char *buf, size_t size)
{
    int fd = open(p, O_RDONLY);
    ssize_t n;
    if (fd < 0)
        return (size_t)-1;
    n = read(fd, buf, size - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return n < 0 ? 0 : (size_t)n;
}

/* Files in g_dir whose name starts with the temporary prefix. */
static int temp_files(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, CLEANUP_TEMP_PREFIX, strlen(CLEANUP_TEMP_PREFIX)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void single_mode_names_expand_templates_and_refuse_duplicates(void)
{
    out_layout l;
    out_naming nm;
    char **p = NULL;
    memset(&l, 0, sizeof l);
    memset(&nm, 0, sizeof nm);
    l.groups = 3;
    strcpy(l.names[0], "sobel_v");
    strcpy(l.names[1], "box-5");
    strcpy(l.names[2], "k2");
    nm.path = "out/{kernel}_{index}.png";
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 0);
    if (p) {
        CHECK(strcmp(p[0], "out/sobel_v_0.png") == 0);
        CHECK(strcmp(p[1], "out/box-5_1.png") == 0);
        CHECK(strcmp(p[2], "out/k2_2.png") == 0);
        free_paths(p, 3);
    }
    l.groups = 1;
    nm.path = "o-{kernel}.png"; /* one output: OUTPUT as given */
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 0);
    if (p) {
        CHECK(strcmp(p[0], "o-{kernel}.png") == 0);
        free_paths(p, 1);
    }
    l.groups = 2;
    strcpy(l.names[1], "sobel_v");
    nm.path = "o-{kernel}.png";
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 2); /* two outputs named o-sobel_v.png */
    CHECK(p == NULL);
    nm.path = "o-{index}.png";
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 0);
    free_paths(p, 2);
}

static void batch_names_append_the_kernel_and_never_read_the_input_name(void)
{
    out_layout l;
    out_naming nm;
    char **p = NULL;
    char longp[5000];
    memset(&l, 0, sizeof l);
    memset(&nm, 0, sizeof nm);
    nm.batch = 1;
    nm.ext = "png";
    nm.path = "out/sub/x-{kernel}";
    l.groups = 1;
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 0);
    if (p) {
        CHECK(strcmp(p[0], "out/sub/x-{kernel}.png") == 0);
        free_paths(p, 1);
    }
    l.groups = 2;
    strcpy(l.names[0], "map0");
    strcpy(l.names[1], "map1");
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 0);
    if (p) {
        CHECK(strcmp(p[0], "out/sub/x-{kernel}-map0.png") == 0);
        CHECK(strcmp(p[1], "out/sub/x-{kernel}-map1.png") == 0);
        free_paths(p, 2);
    }
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    nm.path = longp;
    CHECK_EQ_INT(out_paths(&nm, &l, &p), 2); /* too long */
}

static void find_duplicate_finds_any_pair(void)
{
    char *v[] = {"a", "b", "c", "b"};
    int i = -1, j = -1;
    CHECK_EQ_INT(find_duplicate(v, 4, &i, &j), 1);
    CHECK_EQ_INT(i, 1);
    CHECK_EQ_INT(j, 3);
    CHECK_EQ_INT(find_duplicate(v, 3, &i, &j), 0);
}

static void a_new_output_appears_only_when_committed(void)
{
    out_file f;
    cnf_error e;
    const char *p = in_dir("new.txt");
    char buf[64];
    mode_t um = umask(022);
    umask(um);
    CHECK_EQ_INT(out_open(&f, p, 0, &e), CNF_OK);
    CHECK_EQ_INT(out_write(&f, "hello", 5, &e), CNF_OK);
    CHECK(access(p, F_OK) != 0); /* still the temporary file */
    CHECK_EQ_INT(temp_files(), 1);
    CHECK_EQ_INT(out_commit(&f, &e), CNF_OK);
    CHECK_EQ_INT(read_file(p, buf, sizeof buf), 5);
    CHECK(strcmp(buf, "hello") == 0);
    {
        struct stat st;
        stat(p, &st);
        CHECK_EQ_INT(st.st_mode & 0777, 0666 & ~um);
    }
    CHECK_EQ_INT(temp_files(), 0);
}

static void replacing_keeps_the_mode_and_refuses_read_only_files(void)
{
    out_file f;
    cnf_error e;
    struct stat st;
    char buf[64];
    const char *p = in_dir("m600.txt"), *ro = in_dir("ro.txt");
    put_file(p, "old", 0600);
    CHECK_EQ_INT(out_open(&f, p, 0, &e), CNF_OK);
    CHECK_EQ_INT(out_write(&f, "new", 3, &e), CNF_OK);
    CHECK_EQ_INT(out_commit(&f, &e), CNF_OK);
    stat(p, &st);
    CHECK_EQ_INT(st.st_mode & 07777, 0600);
    read_file(p, buf, sizeof buf);
    CHECK(strcmp(buf, "new") == 0);
    put_file(ro, "keep", 0444);
    CHECK_EQ_INT(out_open(&f, ro, 0, &e), CNF_E_IO);
    CHECK(strcmp(e.where, ro) == 0);
    CHECK_STR_CONTAINS(e.msg, "is read-only");
    read_file(ro, buf, sizeof buf);
    CHECK(strcmp(buf, "keep") == 0);
    CHECK_EQ_INT(out_open(&f, g_dir, 0, &e), CNF_E_IO); /* a folder */
    CHECK_STR_CONTAINS(e.msg, "is a directory");
    CHECK_EQ_INT(temp_files(), 0);
}

static void *fifo_reader(void *arg)
{
    static char got[64];
    read_file(arg, got, sizeof got);
    return got;
}

static void fifos_devices_and_links_are_written_through(void)
{
    out_file f;
    cnf_error e;
    pthread_t t;
    void *got = NULL;
    struct stat st;
    char buf[64];
    const char *fifo = in_dir("fifo"), *real = in_dir("real.txt"), *link = in_dir("link.txt");
    CHECK_EQ_INT(mkfifo(fifo, 0644), 0);
    pthread_create(&t, NULL, fifo_reader, (void *)fifo);
    CHECK_EQ_INT(out_open(&f, fifo, 0, &e), CNF_OK);
    CHECK_EQ_INT(f.direct, 1);
    CHECK_EQ_INT(out_write(&f, "through", 7, &e), CNF_OK);
    CHECK_EQ_INT(out_commit(&f, &e), CNF_OK);
    pthread_join(t, &got);
    CHECK(strcmp(got, "through") == 0);
    lstat(fifo, &st);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_EQ_INT(out_open(&f, "/dev/null", 1, &e), CNF_OK);
    CHECK_EQ_INT(f.direct, 1);
    CHECK_EQ_INT(out_commit(&f, &e), CNF_OK);
    put_file(real, "old", 0640);
    CHECK_EQ_INT(symlink(real, link), 0);
    CHECK_EQ_INT(out_open(&f, link, 0, &e), CNF_OK);
    CHECK_EQ_INT(out_write(&f, "via link", 8, &e), CNF_OK);
    CHECK_EQ_INT(out_commit(&f, &e), CNF_OK);
    lstat(link, &st);
    CHECK(S_ISLNK(st.st_mode));
    read_file(real, buf, sizeof buf);
    CHECK(strcmp(buf, "via link") == 0);
    stat(real, &st);
    CHECK_EQ_INT(st.st_mode & 0777, 0640);
    unlink(real);
    CHECK_EQ_INT(out_open(&f, link, 0, &e), CNF_E_IO); /* dangling */
    CHECK_STR_CONTAINS(e.msg, "missing file");
    CHECK_EQ_INT(temp_files(), 0);
}

static void a_group_is_committed_whole_or_not_at_all(void)
{
    out_file fs[3];
    cnf_error e;
    const char *p[3] = {in_dir("g0"), in_dir("g1"), in_dir("g2")};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(out_open(&fs[i], p[i], 0, &e), CNF_OK);
        CHECK_EQ_INT(out_write(&fs[i], "x", 1, &e), CNF_OK);
    }
    fs[1].failed = 1; /* as if a write had failed */
    CHECK(out_commit_all(fs, 3, &e) != CNF_OK);
    for (int i = 0; i < 3; i++)
        CHECK(access(p[i], F_OK) != 0);
    CHECK_EQ_INT(temp_files(), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(out_open(&fs[i], p[i], 0, &e), CNF_OK);
        CHECK_EQ_INT(out_write(&fs[i], "y", 1, &e), CNF_OK);
    }
    CHECK_EQ_INT(out_commit_all(fs, 3, &e), CNF_OK);
    for (int i = 0; i < 3; i++)
        CHECK(access(p[i], F_OK) == 0);
    CHECK_EQ_INT(temp_files(), 0);
}

static void completeness_checks_the_end_of_each_format(void)
{
    cnf_image img;
    cnf_error e;
    unsigned char *png = NULL;
    size_t len = 0;
    const char *p = in_dir("c.png"), *j = in_dir("c.jpg"), *t = in_dir("c.txt");
    CHECK_EQ_INT(cnf_image_alloc(&img, 4, 3, 1, 0, &e), CNF_OK);
    for (int i = 0; i < 12; i++)
        img.data[i] = (float)(i * 20);
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_PNG, NULL, &png, &len, NULL, &e), CNF_OK);
    CHECK_EQ_INT(write_output(p, png, len, 1, &e), CNF_OK);
    CHECK_EQ_INT(output_is_complete(p, CNF_OUT_PNG), 1);
    CHECK_EQ_INT(write_output(p, png, len - 1, 1, &e), CNF_OK);
    CHECK_EQ_INT(output_is_complete(p, CNF_OUT_PNG), 0);
    CHECK_EQ_INT(write_output(p, png, 0, 1, &e), CNF_OK);
    CHECK_EQ_INT(output_is_complete(p, CNF_OUT_PNG), 0);
    CHECK_EQ_INT(output_is_complete(in_dir("missing.png"), CNF_OUT_PNG), 0);
    free(png);
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_JPG, NULL, &png, &len, NULL, &e), CNF_OK);
    CHECK_EQ_INT(write_output(j, png, len, 1, &e), CNF_OK);
    CHECK_EQ_INT(output_is_complete(j, CNF_OUT_JPG), 1);
    CHECK_EQ_INT(write_output(j, png, len - 2, 1, &e), CNF_OK);
    CHECK_EQ_INT(output_is_complete(j, CNF_OUT_JPG), 0);
    free(png);
    put_file(t, "1 2 3 4\n5 6 7 8\n", 0644);
    CHECK_EQ_INT(output_is_complete(t, CNF_OUT_TXT), 1);
    put_file(t, "", 0644);
    CHECK_EQ_INT(output_is_complete(t, CNF_OUT_TXT), 0);
    cnf_image_free(&img);
}

int main(void)
{
    char tmpl[] = "/tmp/cnnfilter-test-outputs-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(g_dir, sizeof g_dir, "%s", tmpl);
    RUN(single_mode_names_expand_templates_and_refuse_duplicates);
    RUN(batch_names_append_the_kernel_and_never_read_the_input_name);
    RUN(find_duplicate_finds_any_pair);
    RUN(a_new_output_appears_only_when_committed);
    RUN(replacing_keeps_the_mode_and_refuses_read_only_files);
    RUN(fifos_devices_and_links_are_written_through);
    RUN(a_group_is_committed_whole_or_not_at_all);
    RUN(completeness_checks_the_end_of_each_format);
    t_remove_tree(g_dir);
    return t_finish("test_outputs");
}
