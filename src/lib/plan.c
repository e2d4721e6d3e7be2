/* plan.c - planning a layer into stages, the memory estimate, --explain, and the band executor. */
#include "stage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Two stages per pipeline layer at most (luma + conv). */
#define MAX_STAGES (2 * CNF_MAX_LAYERS + 8)
/* Output rows per band: small enough to balance two threads on small
 * images and keep a band's padded rows in cache, large enough that the
 * per-band set-up (padding rows) stays a small share. */
#define BAND_ROWS 16

struct cnf_plan {
    cnf_shape in;
    int n_stages;
    cnf_stage stages[MAX_STAGES];
    int n_groups;
    int drop_input_alpha;
    uint64_t memory;
};

void cnf_layer_init(cnf_layer *l)
{
    memset(l, 0, sizeof *l);
    l->padding = CNF_PAD_SAME;
    l->border = CNF_BORDER_ZERO;
    l->stride_y = l->stride_x = 1;
    l->dilation = 1;
    l->channels = CNF_CH_AUTO;
    l->keep_alpha = 1;
    l->scale = 1;
    l->bias = 0;
    l->combine = CNF_COMBINE_NONE;
    l->activation = CNF_ACT_NONE;
    l->activation_param = 0.01;
    l->pool = CNF_POOL_NONE;
    l->pool_size = 2;
    l->pool_stride = 0;
    l->pool_padding = 0;
}

void cnf_plan_free(cnf_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_stages; i++)
        if (p->stages[i].ops && p->stages[i].ops->destroy)
            p->stages[i].ops->destroy(&p->stages[i]);
    free(p);
}

static uint64_t shape_bytes(const cnf_shape *s)
{
    return (uint64_t)s->w * (uint64_t)s->h * (uint64_t)s->c * sizeof(float);
}

/* Planning state while stages are appended. */
typedef struct builder {
    cnf_plan *p;
    cnf_shape cur;
    int alpha_pending; /* input alpha still to be dropped by the next stage */
    int last_groups;   /* kernels of the last conv layer, for a combine layer */
} builder;

static cnf_status push(builder *b, cnf_status st)
{
    if (st)
        return st;
    b->cur = b->p->stages[b->p->n_stages].out;
    b->p->memory += shape_bytes(&b->cur);
    b->p->n_stages++;
    return CNF_OK;
}

static cnf_stage *next_stage(builder *b) { return &b->p->stages[b->p->n_stages]; }

/* The stages of one layer: [luma] [conv [combine]] [activation] [pool]. */
static cnf_status build_layer(builder *b, const cnf_layer *L, cnf_error *err)
{
    int colour = b->cur.c - b->cur.alpha;
    int any3d = 0, per_channel = 1;
    cnf_status st;
    if (L->stride_y < 1 || L->stride_x < 1 || L->dilation < 1 || L->pad_h < 0 || L->pad_w < 0)
        return cnf__fail(err, CNF_E_USAGE, NULL, "stride and dilation must be >= 1");
    for (int i = 0; i < L->n_kernels; i++)
        if (L->kernels[i]->is3d)
            any3d = 1;
    if (any3d && (L->channels == CNF_CH_GRAY || L->channels == CNF_CH_RGB))
        return cnf__fail(err, CNF_E_USAGE, "--channels",
                         "a 3-D kernel reads all channels at once and implies 'sum', not '%s'",
                         L->channels == CNF_CH_GRAY ? "gray" : "rgb");
    if (any3d || L->channels == CNF_CH_SUM)
        per_channel = 0;
    if (L->n_kernels > 0 && L->channels == CNF_CH_GRAY && colour == 3) {
        st = push(b, cnf__luma_stage(next_stage(b), &b->cur, !b->alpha_pending, err));
        if (st)
            return st;
        b->alpha_pending = 0;
    } else if (L->n_kernels > 0 && L->channels == CNF_CH_GRAY && colour != 1) {
        return cnf__fail(err, CNF_E_USAGE, "--channels",
                         "'gray' needs a gray or RGB input, this one has %d channels", colour);
    }
    if (L->n_kernels > 0) {
        st = push(b, cnf__conv_stage(next_stage(b), &b->cur, L, L->kernels, L->n_kernels,
                                     per_channel, !b->alpha_pending, err));
        if (st)
            return st;
        b->alpha_pending = 0;
        b->last_groups = L->n_kernels;
        if (L->combine != CNF_COMBINE_NONE && L->n_kernels > 1) {
            st = push(b, cnf__combine_stage(next_stage(b), &b->cur, L->n_kernels, L->combine,
                                            err));
            if (st)
                return st;
        }
    }
    if (L->activation != CNF_ACT_NONE) {
        st = push(b, cnf__activation_stage(next_stage(b), &b->cur, L->activation,
                                           L->activation_param, err));
        if (st)
            return st;
    }
    if (L->pool != CNF_POOL_NONE) {
        if (L->pool_size < 1)
            return cnf__fail(err, CNF_E_USAGE, "--pool-size", "must be at least 1");
        st = push(b, cnf__pool_stage(next_stage(b), &b->cur, L->pool, L->pool_size,
                                     L->pool_stride > 0 ? L->pool_stride : L->pool_size,
                                     L->pool_padding, L->pool_ceil, !b->alpha_pending, err));
        if (st)
            return st;
        b->alpha_pending = 0;
    }
    return CNF_OK;
}

static cnf_status begin(builder *b, int width, int height, int channels, int has_alpha,
                        cnf_error *err)
{
    memset(b, 0, sizeof *b);
    if (width < 1 || height < 1 || channels - (has_alpha ? 1 : 0) < 1)
        return cnf__fail(err, CNF_E_USAGE, NULL, "input has no pixels");
    b->p = calloc(1, sizeof *b->p);
    if (!b->p)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    b->cur.w = width;
    b->cur.h = height;
    b->cur.c = channels;
    b->cur.alpha = has_alpha ? 1 : 0;
    b->p->in = b->cur;
    b->p->n_groups = 1;
    b->p->memory = shape_bytes(&b->cur);
    return CNF_OK;
}

static cnf_status finish(builder *b, const cnf_plan_limits *limits, cnf_plan **plan_ret,
                         cnf_error *err)
{
    cnf_plan *p = b->p;
    /* Per-thread scratch (two threads is the usual; the executor allocates
     * per thread actually used), the 8-bit copy and the encoder's buffer. */
    uint64_t scratch = 0;
    for (int i = 0; i < p->n_stages; i++) {
        uint64_t sc = p->stages[i].ops->scratch(&p->stages[i], BAND_ROWS);
        if (sc > scratch)
            scratch = sc;
    }
    p->memory += 2 * scratch;
    p->memory += 2 * (uint64_t)b->cur.w * b->cur.h * b->cur.c;
    if (limits && limits->max_memory && p->memory > limits->max_memory) {
        cnf_status st = cnf__fail(
            err, CNF_E_TOO_BIG, NULL,
            "the plan needs about %llu MiB, over the memory limit of %llu MiB (raise it with "
            "--max-memory)",
            (unsigned long long)(p->memory >> 20), (unsigned long long)(limits->max_memory >> 20));
        cnf_plan_free(p);
        return st;
    }
    *plan_ret = p;
    return CNF_OK;
}

cnf_status cnf_plan_create(const cnf_layer *L, int width, int height, int channels,
                           int has_alpha, const cnf_plan_limits *limits, cnf_plan **plan_ret,
                           cnf_error *err)
{
    builder b;
    cnf_status st;
    *plan_ret = NULL;
    if (L->n_kernels == 0 && L->pool == CNF_POOL_NONE)
        return cnf__fail(err, CNF_E_USAGE, "--kernel", "a kernel (or --pool) is required");
    st = begin(&b, width, height, channels, has_alpha, err);
    if (st)
        return st;
    b.alpha_pending = b.cur.alpha && !L->keep_alpha;
    st = build_layer(&b, L, err);
    if (st) {
        cnf_plan_free(b.p);
        return st;
    }
    if (L->n_kernels > 1 && L->combine == CNF_COMBINE_NONE)
        b.p->n_groups = L->n_kernels;
    return finish(&b, limits, plan_ret, err);
}

cnf_status cnf_plan_create_pipeline(const cnf_pipeline *pl, int width, int height, int channels,
                                    int has_alpha, const cnf_plan_limits *limits,
                                    cnf_plan **plan_ret, cnf_error *err)
{
    builder b;
    cnf_status st;
    *plan_ret = NULL;
    st = begin(&b, width, height, channels, has_alpha, err);
    if (st)
        return st;
    /* Pipelines drop input alpha (SPEC §9.15): alpha is the last plane, so
     * the stages simply see one plane fewer. */
    b.p->drop_input_alpha = b.cur.alpha;
    if (b.cur.alpha) {
        b.cur.c--;
        b.cur.alpha = 0;
    }
    b.last_groups = 0;
    for (int i = 0; i < pl->n && st == CNF_OK; i++) {
        const cnf_pl_layer *pll = &pl->layers[i];
        switch (pll->kind) {
        case CNF_LAYER_CONV:
        case CNF_LAYER_ACT:
        case CNF_LAYER_POOL:
            st = build_layer(&b, &pll->layer, err);
            break;
        case CNF_LAYER_COMBINE: {
            int maps = b.cur.c - b.cur.alpha;
            int groups = b.last_groups > 0 && maps % b.last_groups == 0 ? b.last_groups : maps;
            st = push(&b, cnf__combine_stage(next_stage(&b), &b.cur, groups, pll->layer.combine,
                                             err));
            break;
        }
        }
        if (st && err) {
            char msg[sizeof err->msg + 64];
            snprintf(msg, sizeof msg, "layer %d (%s): %s", i + 1, pll->type, err->msg);
            memcpy(err->msg, msg, sizeof err->msg - 1);
            err->msg[sizeof err->msg - 1] = 0;
            snprintf(err->where, sizeof err->where, "%s", pl->name);
            err->line = pll->line;
            err->col = pll->col;
        }
    }
    if (st) {
        cnf_plan_free(b.p);
        return st;
    }
    return finish(&b, limits, plan_ret, err);
}

void cnf_plan_output_shape(const cnf_plan *p, int *width, int *height, int *channels,
                           int *has_alpha)
{
    const cnf_shape *s = p->n_stages ? &p->stages[p->n_stages - 1].out : &p->in;
    *width = s->w;
    *height = s->h;
    *channels = s->c;
    *has_alpha = s->alpha;
}

int cnf_plan_n_groups(const cnf_plan *p) { return p->n_groups; }
uint64_t cnf_plan_memory(const cnf_plan *p) { return p->memory; }

static void print_shape(FILE *f, const cnf_shape *s)
{
    fprintf(f, "%d x %d x %d%s", s->c, s->h, s->w, s->alpha ? " (last channel alpha)" : "");
}

/* Shapes are channels x height x width, like the .npy outputs and PyTorch. */
void cnf_plan_explain(const cnf_plan *p, FILE *f)
{
    uint64_t weights = 0, biases = 0;
    fprintf(f, "input: %d x %d x %d (channels x height x width%s)\n", p->in.c, p->in.h, p->in.w,
            p->drop_input_alpha ? "; its alpha is dropped" : p->in.alpha ? "; last is alpha" : "");
    for (int i = 0; i < p->n_stages; i++) {
        const cnf_stage *s = &p->stages[i];
        fprintf(f, "%d. ", i + 1);
        s->ops->explain(s, f);
        fprintf(f, "    shape: ");
        print_shape(f, &s->in);
        fprintf(f, " -> ");
        print_shape(f, &s->out);
        if (s->weights || s->biases)
            fprintf(f, ", parameters: %llu (%llu weights + %llu biases)",
                    (unsigned long long)(s->weights + s->biases), (unsigned long long)s->weights,
                    (unsigned long long)s->biases);
        fputc('\n', f);
        weights += s->weights;
        biases += s->biases;
    }
    if (p->n_groups > 1)
        fprintf(f, "outputs: %d images, one per kernel\n", p->n_groups);
    fprintf(f, "parameters: %llu (%llu weights + %llu biases)\n",
            (unsigned long long)(weights + biases), (unsigned long long)weights,
            (unsigned long long)biases);
    fprintf(f, "memory estimate: %.1f MiB\n", (double)p->memory / 1048576.0);
}

/* ------------------------------------------------------------ executor */

typedef struct job {
    const cnf_stage *s;
    cnf_band in, out;
    atomic_int next;
    size_t scratch_bytes;
} job;

typedef struct worker {
    job *j;
    void *scratch;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    job *j = w->j;
    for (;;) {
        int y0 = atomic_fetch_add(&j->next, BAND_ROWS), y1;
        if (y0 >= j->s->out.h)
            break;
        y1 = y0 + BAND_ROWS < j->s->out.h ? y0 + BAND_ROWS : j->s->out.h;
        j->s->ops->run(j->s, &j->in, &j->out, y0, y1, w->scratch);
    }
    return NULL;
}

static cnf_band whole(const cnf_image *img)
{
    cnf_band b;
    b.data = img->data;
    b.w = img->width;
    b.y0 = 0;
    b.y1 = img->height;
    b.plane_stride = (size_t)img->width * (size_t)img->height;
    return b;
}

static cnf_status run_stage(const cnf_stage *s, const cnf_image *in, cnf_image *out, int threads,
                            cnf_error *err)
{
    job j;
    worker w[64];
    pthread_t tid[64];
    int nt = threads, started = 0;
    cnf_status st = CNF_OK;
    int bands = (s->out.h + BAND_ROWS - 1) / BAND_ROWS;
    if (nt > 64)
        nt = 64;
    if (nt > bands)
        nt = bands;
    if (nt < 1)
        nt = 1;
    j.s = s;
    j.in = whole(in);
    j.out = whole(out);
    atomic_init(&j.next, 0);
    j.scratch_bytes = s->ops->scratch(s, BAND_ROWS);
    for (int i = 0; i < nt; i++) {
        w[i].j = &j;
        w[i].scratch = j.scratch_bytes ? malloc(j.scratch_bytes) : NULL;
        if (j.scratch_bytes && !w[i].scratch) {
            for (int k = 0; k < i; k++)
                free(w[k].scratch);
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory for %zu bytes of scratch",
                             j.scratch_bytes);
        }
    }
    for (int i = 1; i < nt; i++) {
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0)
            break; /* fewer threads; the pixels are the same */
        started = i;
    }
    work(&w[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    for (int i = 0; i < nt; i++)
        free(w[i].scratch);
    return st;
}

cnf_status cnf_plan_run(const cnf_plan *p, const cnf_image *in, int threads, cnf_image *out,
                        cnf_error *err)
{
    cnf_image cur = *in, next;
    int owned = 0;
    memset(out, 0, sizeof *out);
    if (in->width != p->in.w || in->height != p->in.h || in->channels != p->in.c ||
        in->has_alpha != p->in.alpha)
        return cnf__fail(err, CNF_E_USAGE, NULL, "image shape differs from the planned one");
    if (p->drop_input_alpha) {
        /* A view without the last (alpha) plane. */
        cur.channels--;
        cur.has_alpha = 0;
    }
    for (int i = 0; i < p->n_stages; i++) {
        const cnf_stage *s = &p->stages[i];
        cnf_status st = cnf_image_alloc(&next, s->out.w, s->out.h, s->out.c, s->out.alpha, err);
        if (st == CNF_OK)
            st = run_stage(s, &cur, &next, threads, err);
        if (owned)
            cnf_image_free(&cur);
        if (st) {
            cnf_image_free(&next);
            return st;
        }
        cur = next;
        owned = 1;
    }
    if (!owned) {
        /* No stage: a copy, so the caller always owns *out. */
        cnf_status st = cnf_image_alloc(out, in->width, in->height, in->channels, in->has_alpha,
                                        err);
        if (st)
            return st;
        memcpy(out->data, in->data,
               (size_t)in->width * in->height * in->channels * sizeof(float));
        /* (No stage happens only for an empty pipeline, which parsing refuses.) */
        return CNF_OK;
    }
    *out = cur;
    return CNF_OK;
}
