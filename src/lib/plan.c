/* plan.c - planning a layer or a pipeline into stages, the memory check, --explain, stage info. */
#include "layer.h"
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void destroy_stage(cnf_stage *s)
{
    if (s->ops && s->ops->destroy)
        s->ops->destroy(s);
}

void cnf_plan_free(cnf_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_stages; i++) {
        destroy_stage(&p->stages[i]);
        free(p->stages[i].path);
    }
    cnf_u8_conv_free(p->u8[0]);
    cnf_u8_conv_free(p->u8[1]);
    free(p);
}

cnf_status cnf__plan_new(const cnf_shape *in, cnf_plan **plan_ret, cnf_error *err)
{
    cnf_plan *p;
    *plan_ret = NULL;
    if (in->w < 1 || in->h < 1 || in->c - (in->alpha ? 1 : 0) < 1)
        return cnf__fail(err, CNF_E_USAGE, NULL, "input has no pixels");
    p = calloc(1, sizeof *p);
    if (!p)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    p->in = *in;
    p->in.alpha = in->alpha ? 1 : 0;
    p->n_groups = 1;
    *plan_ret = p;
    return CNF_OK;
}

/* The path text is made here, once per stage, so that --explain and
 * cnf_stage_info read the same words.  Too many stages is a limit of the
 * layers (CNF_LIMIT_KERNEL), which the pipeline parser bounds already. */
cnf_status cnf__plan_add_stage(cnf_plan *p, cnf_stage *s, cnf_error *err)
{
    s->path = NULL;
    if (p->n_stages >= CNF__MAX_STAGES) {
        destroy_stage(s);
        return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_KERNEL, NULL,
                               "the plan would need more than %d stages", CNF__MAX_STAGES);
    }
    if (s->ops->path) {
        cnf_buf text = {0};
        s->ops->path(s, &text);
        cnf__buf_put(&text, "", 1);
        if (text.failed) {
            free(text.data);
            destroy_stage(s);
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        }
        s->path = (char *)text.data;
    }
    p->stages[p->n_stages++] = *s;
    return CNF_OK;
}

/* How a plan is made: to run (its stages whole), or dry (stage.h: shapes, estimates and paths
 * only) to check its limits before the plan is made to run, or to be described with its
 * limits reported rather than refused. */
enum { PLAN_RUN, PLAN_CHECK, PLAN_DESCRIBE };

/* Planning state while stages are appended. */
typedef struct builder {
    int mode;          /* PLAN_RUN, PLAN_CHECK or PLAN_DESCRIBE */
    cnf_plan *p;
    cnf_shape cur;     /* the shape the next stage reads */
    int alpha_pending; /* input alpha still to be dropped by the next stage */
    int last_groups;   /* kernels of the last conv layer, for a combine layer */
    int portable;      /* the portable convolution only */
    int max_kernels;   /* per conv layer: CNF_MAX_LAYER_KERNELS, or a pipeline's limit */
    uint64_t max_memory; /* the limit (0: none), checked as stages are built */
    uint64_t tables;     /* the conv stages' tap tables so far (in the estimate) */
} builder;

/* Add the stage a constructor made in *s (st: how that went); the next
 * stage reads its output. */
static cnf_status push(builder *b, cnf_stage *s, cnf_status st, cnf_error *err)
{
    if (st == CNF_OK)
        st = cnf__plan_add_stage(b->p, s, err);
    if (st == CNF_OK)
        b->cur = b->p->stages[b->p->n_stages - 1].out;
    return st;
}

/* The convolution of a layer's kernels, composites spread into their pairs
 * and made one map again by a merge stage. */
static cnf_status build_conv(builder *b, const cnf_layer *L, int per_channel, cnf_error *err)
{
    const cnf_kernel **flat;
    int *count, n_flat = 0;
    cnf_stage s;
    cnf_status st;
    if (L->n_kernels > b->max_kernels)
        return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_KERNEL, NULL,
                               "more than %d kernels in one layer (limit)", b->max_kernels);
    flat = malloc(2 * (size_t)L->n_kernels * sizeof *flat);
    count = malloc((size_t)L->n_kernels * sizeof *count);
    if (!flat || !count) {
        free(flat);
        free(count);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    for (int i = 0; i < L->n_kernels; i++) {
        const cnf_kernel *k = L->kernels[i];
        count[i] = k->pair[0] ? 2 : 1;
        if (k->pair[0]) {
            flat[n_flat++] = k->pair[0];
            flat[n_flat++] = k->pair[1];
        } else {
            flat[n_flat++] = k;
        }
    }
    /* The conv stage keeps a table of taps per map and input plane it reads:
     * a kernel's taps once per colour plane, per channel or summed alike.  A
     * pipeline of 64 kernels of 255x255 over 64 maps would need 4 GiB of
     * them: counted, and refused over the limit before any is built. */
    {
        uint64_t colour = (uint64_t)(b->cur.c - b->cur.alpha), need = 0;
        for (int i = 0; i < n_flat; i++)
            need += (uint64_t)flat[i]->w * (uint64_t)flat[i]->h * colour * CNF__TAP_BYTES;
        b->tables += need;
        if (b->max_memory && b->tables > b->max_memory && b->mode != PLAN_DESCRIBE) {
            free(flat);
            free(count);
            return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_MEMORY, NULL,
                                   "the plan's kernel tables need about %llu MiB (%d kernels "
                                   "over %llu input maps here), over the memory limit of %llu "
                                   "MiB",
                                   (unsigned long long)(b->tables >> 20), n_flat,
                                   (unsigned long long)colour,
                                   (unsigned long long)(b->max_memory >> 20));
        }
    }
    st = push(b, &s,
              cnf__conv_stage(&s, &b->cur, L, flat, n_flat, per_channel, !b->alpha_pending,
                              b->portable, b->mode != PLAN_RUN, err),
              err);
    if (st == CNF_OK && n_flat != L->n_kernels)
        st = push(b, &s, cnf__merge_stage(&s, &b->cur, L->n_kernels, count, err), err);
    free(flat);
    free(count);
    return st;
}

/* The stages of one layer: [luma] [conv [merge] [combine]] [activation] [pool]. */
static cnf_status build_layer(builder *b, const cnf_layer *L, cnf_error *err)
{
    int colour = b->cur.c - b->cur.alpha;
    int per_channel, pool_stride;
    cnf_stage s;
    cnf_status st = cnf__layer_check(L, &per_channel, err);
    if (st)
        return st;
    if (L->n_kernels > 0 && L->channels == CNF_CH_GRAY && colour == 3) {
        st = push(b, &s, cnf__luma_stage(&s, &b->cur, !b->alpha_pending, err), err);
        if (st)
            return st;
        b->alpha_pending = 0;
    } else if (L->n_kernels > 0 && L->channels == CNF_CH_GRAY && colour != 1) {
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                 "'gray' needs a gray or RGB input, this one has %d channels",
                                 colour);
    }
    if (L->n_kernels > 0) {
        st = build_conv(b, L, per_channel, err);
        if (st)
            return st;
        b->alpha_pending = 0;
        b->last_groups = L->n_kernels;
        if (L->combine != CNF_COMBINE_NONE && L->n_kernels > 1) {
            st = push(b, &s, cnf__combine_stage(&s, &b->cur, L->n_kernels, L->combine, err),
                      err);
            if (st)
                return st;
        }
    }
    if (L->activation != CNF_ACT_NONE) {
        st = push(b, &s,
                  cnf__activation_stage(&s, &b->cur, L->activation, L->activation_param, err),
                  err);
        if (st)
            return st;
    }
    if (L->pool != CNF_POOL_NONE) {
        st = cnf__layer_pool_stride(L, &pool_stride, err);
        if (st)
            return st;
        st = push(b, &s,
                  cnf__pool_stage(&s, &b->cur, L->pool, L->pool_size, pool_stride,
                                  L->pool_padding, L->pool_ceil, !b->alpha_pending, err),
                  err);
        if (st)
            return st;
        b->alpha_pending = 0;
    }
    return CNF_OK;
}

/* A builder for an input of the given shape: the plan and its first shape. */
static cnf_status begin(builder *b, int mode, int width, int height, int channels, int has_alpha,
                        const cnf_plan_limits *limits, cnf_error *err)
{
    cnf_shape in;
    cnf_status st;
    memset(b, 0, sizeof *b);
    in.w = width;
    in.h = height;
    in.c = channels;
    in.alpha = has_alpha ? 1 : 0;
    st = cnf__plan_new(&in, &b->p, err);
    if (st)
        return st;
    b->cur = b->p->in;
    b->mode = mode;
    b->p->dry = mode != PLAN_RUN;
    b->portable = limits && limits->portable;
    b->max_memory = limits ? limits->max_memory : 0;
    b->max_kernels = CNF_MAX_LAYER_KERNELS;
    return CNF_OK;
}

/* The memory estimate, checked against the limit; *plan_ret gets the plan
 * or, on failure, the plan is freed. */
static cnf_status finish(builder *b, const cnf_plan_limits *limits, cnf_plan **plan_ret,
                         cnf_error *err)
{
    cnf_plan *p = b->p;
    p->band_rows = cnf__band_rows(p);
    p->threads = limits && limits->threads > 0 ? limits->threads : 2;
    p->streamed = cnf__stream_memory(p, p->threads);
    p->memory = p->streamed;
    for (int i = 0; i < p->n_stages; i++)
        p->memory += p->stages[i].held;
    p->memory += b->tables;
    p->work = 0;
    for (int i = 0; i < p->n_stages; i++) {
        const cnf_stage *s = &p->stages[i];
        p->work += s->work ? s->work
                           : (uint64_t)s->out.w * (uint64_t)s->out.h * (uint64_t)s->out.c;
    }
    if (b->mode == PLAN_DESCRIBE && limits) {
        /* Described, not refused: the plan says what it is over. */
        p->max_memory = limits->max_memory;
        p->max_work = limits->max_work;
        p->over_memory = limits->max_memory && p->memory > limits->max_memory;
        p->over_work = limits->max_work && p->work > limits->max_work;
    } else if (limits && limits->max_work && p->work > limits->max_work) {
        cnf_status st = cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_WORK, NULL,
            "the plan is about %.3g multiply-adds, over the work limit of %.3g",
            (double)p->work, (double)limits->max_work);
        cnf_plan_free(p);
        return st;
    }
    if (b->mode != PLAN_DESCRIBE && limits && limits->max_memory &&
        p->memory > limits->max_memory) {
        cnf_status st = cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_MEMORY, NULL,
            "the plan needs about %llu MiB on %d thread%s, over the memory limit of %llu MiB",
            (unsigned long long)(p->memory >> 20), p->threads, p->threads == 1 ? "" : "s",
            (unsigned long long)(limits->max_memory >> 20));
        cnf_plan_free(p);
        return st;
    }
    *plan_ret = p;
    return CNF_OK;
}

/* Whether a plan to run is made dry first: when it has limits, so that a plan over them is
 * refused before any of its stages' tables is built (a later layer's tables, or the rings and
 * scratch of the whole plan, may be what is over). */
static int check_first(const cnf_plan_limits *limits)
{
    return limits && (limits->max_memory || limits->max_work);
}

/* The 8-bit lane of a one-layer plan: one conv stage of one kernel per
 * channel, the same shape out as in, nothing else (cnf_plan_u8_conv). */
static cnf_status attach_u8(cnf_plan *p, const cnf_layer *L, const cnf_plan_limits *limits,
                            cnf_error *err)
{
    const cnf_stage *s = &p->stages[0];
    if ((limits && limits->portable) || p->n_stages != 1 || strcmp(s->kind, "conv") != 0 ||
        L->n_kernels != 1 || p->in.alpha || p->drop_input_alpha || s->in.alpha ||
        s->out.alpha || s->in.c != s->out.c || s->in.w != s->out.w || s->in.h != s->out.h ||
        s->in.c > 4 || L->padding != CNF_PAD_SAME || L->stride_y != 1 || L->stride_x != 1 ||
        L->dilation != 1 || L->scale != 1 || L->bias != 0 || L->activation != CNF_ACT_NONE ||
        L->pool != CNF_POOL_NONE || L->border == CNF_BORDER_WRAP)
        return CNF_OK;
    for (int m = 0; m < 2; m++) {
        cnf_status st = cnf_u8_conv_create(L->kernels[0], L->flip, L->border,
                                           m ? CNF_MAP_ABS : CNF_MAP_CLAMP, p->in.w, p->in.c, 0,
                                           &p->u8[m], err);
        if (st)
            return st;
    }
    return CNF_OK;
}

const cnf_u8_conv *cnf_plan_u8_conv(const cnf_plan *p, cnf_map_mode map)
{
    return map == CNF_MAP_CLAMP ? p->u8[0] : map == CNF_MAP_ABS ? p->u8[1] : NULL;
}

static cnf_status create_layer(const cnf_layer *L, int mode, int width, int height, int channels,
                               int has_alpha, const cnf_plan_limits *limits,
                               cnf_plan **plan_ret, cnf_error *err)
{
    builder b;
    cnf_status st;
    *plan_ret = NULL;
    if (L->n_kernels == 0 && L->pool == CNF_POOL_NONE)
        return cnf__fail_setting(err, CNF_E_USAGE, "kernel", "a kernel (or pooling) is required");
    st = begin(&b, mode, width, height, channels, has_alpha, limits, err);
    if (st)
        return st;
    b.alpha_pending = b.cur.alpha && !L->keep_alpha;
    st = build_layer(&b, L, err);
    if (st == CNF_OK && mode != PLAN_CHECK)
        st = attach_u8(b.p, L, limits, err);
    if (st) {
        cnf_plan_free(b.p);
        return st;
    }
    if (L->n_kernels > 1 && L->combine == CNF_COMBINE_NONE)
        b.p->n_groups = L->n_kernels;
    return finish(&b, limits, plan_ret, err);
}

cnf_status cnf_plan_create(const cnf_layer *L, int width, int height, int channels,
                           int has_alpha, const cnf_plan_limits *limits, cnf_plan **plan_ret,
                           cnf_error *err)
{
    if (check_first(limits)) {
        cnf_status st = create_layer(L, PLAN_CHECK, width, height, channels, has_alpha, limits,
                                     plan_ret, err);
        cnf_plan_free(*plan_ret);
        *plan_ret = NULL;
        if (st)
            return st;
    }
    return create_layer(L, PLAN_RUN, width, height, channels, has_alpha, limits, plan_ret, err);
}

cnf_status cnf_plan_create_dry(const cnf_layer *L, int width, int height, int channels,
                               int has_alpha, const cnf_plan_limits *limits,
                               cnf_plan **plan_ret, cnf_error *err)
{
    return create_layer(L, PLAN_DESCRIBE, width, height, channels, has_alpha, limits, plan_ret,
                        err);
}

/* The stages of pipeline layer L (not a conv, activation or pool layer, which are planned as
 * a CLI layer is). */
static cnf_status build_learned(builder *b, const cnf_pl_layer *L, cnf_error *err)
{
    cnf_stage s;
    switch (L->kind) {
    case CNF_LAYER_COMBINE: {
        int maps = b->cur.c - b->cur.alpha;
        int groups = b->last_groups > 0 && maps % b->last_groups == 0 ? b->last_groups : maps;
        return push(b, &s, cnf__combine_stage(&s, &b->cur, groups, L->layer.combine, err), err);
    }
    case CNF_LAYER_FLATTEN:
        return push(b, &s, cnf__flatten_stage(&s, &b->cur, err), err);
    case CNF_LAYER_DENSE:
        return push(b, &s,
                    cnf__dense_stage(&s, &b->cur, L->units, L->in, L->w, L->b,
                                     b->mode != PLAN_RUN, err),
                    err);
    case CNF_LAYER_SOFTMAX:
        return push(b, &s, cnf__softmax_stage(&s, &b->cur, err), err);
    case CNF_LAYER_AFFINE:
        return push(b, &s, cnf__affine_stage(&s, &b->cur, L->scale, L->shift, err), err);
    case CNF_LAYER_CONV:
    case CNF_LAYER_ACT:
    case CNF_LAYER_POOL:
        break;
    }
    return cnf__fail(err, CNF_E_USAGE, NULL, "this layer type cannot be planned");
}

/* Layer i of pl failed with err: say which layer, where it stands in the pipeline. */
static void name_layer(const cnf_pipeline *pl, int i, cnf_error *err)
{
    const cnf_pl_layer *L = &pl->layers[i];
    char msg[sizeof err->msg + 64];
    if (!err)
        return;
    snprintf(msg, sizeof msg, "layer %d (%s): %s", i + 1, L->type, err->msg);
    memcpy(err->msg, msg, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = 0;
    snprintf(err->where, sizeof err->where, "%s", pl->name);
    err->subject = CNF_SUBJECT_FILE;
    err->line = L->line;
    err->col = L->col;
}

static cnf_status create_pipeline(const cnf_pipeline *pl, int mode, int width, int height,
                                  int channels, int has_alpha, const cnf_plan_limits *limits,
                                  cnf_plan **plan_ret, cnf_error *err)
{
    builder b;
    cnf_status st;
    *plan_ret = NULL;
    /* Weights still to be learned: only training can use this pipeline. */
    st = cnf_pipeline_check_weights(pl, err);
    if (st)
        return st;
    st = begin(&b, mode, width, height, channels, has_alpha, limits, err);
    if (st)
        return st;
    b.max_kernels = CNF_MAX_PIPELINE_KERNELS;
    /* Pipelines drop input alpha (cnnfilter(1), PIPELINES): alpha is the
     * last plane, so the stages simply see one plane fewer. */
    b.p->drop_input_alpha = b.cur.alpha;
    if (b.cur.alpha) {
        b.cur.c--;
        b.cur.alpha = 0;
    }
    b.last_groups = 0;
    for (int i = 0; i < pl->n && st == CNF_OK; i++) {
        const cnf_pl_layer *pll = &pl->layers[i];
        int first = b.p->n_stages;
        if (pll->kind == CNF_LAYER_CONV || pll->kind == CNF_LAYER_ACT ||
            pll->kind == CNF_LAYER_POOL)
            st = build_layer(&b, &pll->layer, err);
        else
            st = build_learned(&b, pll, err);
        /* A conv layer without a bias term has no bias parameters to count. */
        for (int k = first; st == CNF_OK && pll->no_bias && k < b.p->n_stages; k++)
            if (strcmp(b.p->stages[k].kind, "conv") == 0)
                b.p->stages[k].biases = 0;
        if (st)
            name_layer(pl, i, err);
    }
    if (st) {
        cnf_plan_free(b.p);
        return st;
    }
    return finish(&b, limits, plan_ret, err);
}

cnf_status cnf_plan_create_pipeline(const cnf_pipeline *pl, int width, int height, int channels,
                                    int has_alpha, const cnf_plan_limits *limits,
                                    cnf_plan **plan_ret, cnf_error *err)
{
    if (check_first(limits)) {
        cnf_status st = create_pipeline(pl, PLAN_CHECK, width, height, channels, has_alpha,
                                        limits, plan_ret, err);
        cnf_plan_free(*plan_ret);
        *plan_ret = NULL;
        if (st)
            return st;
    }
    return create_pipeline(pl, PLAN_RUN, width, height, channels, has_alpha, limits, plan_ret,
                           err);
}

cnf_status cnf_plan_create_pipeline_dry(const cnf_pipeline *pl, int width, int height,
                                        int channels, int has_alpha,
                                        const cnf_plan_limits *limits, cnf_plan **plan_ret,
                                        cnf_error *err)
{
    return create_pipeline(pl, PLAN_DESCRIBE, width, height, channels, has_alpha, limits,
                           plan_ret, err);
}

int cnf_plan_is_dry(const cnf_plan *p) { return p->dry; }

cnf_limit cnf_plan_over_limit(const cnf_plan *p)
{
    return p->over_memory ? CNF_LIMIT_MEMORY : p->over_work ? CNF_LIMIT_WORK : CNF_LIMIT_NONE;
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

uint64_t cnf_plan_memory_threads(const cnf_plan *p, int threads)
{
    if (threads == p->threads)
        return p->memory;
    return p->memory - p->streamed + cnf__stream_memory(p, threads);
}

uint64_t cnf_plan_work(const cnf_plan *p) { return p->work; }
int cnf_plan_n_stages(const cnf_plan *p) { return p->n_stages; }

cnf_status cnf_plan_stage_info(const cnf_plan *p, int i, cnf_stage_info *info, cnf_error *err)
{
    const cnf_stage *s;
    if (i < 0 || i >= p->n_stages)
        return cnf__fail(err, CNF_E_USAGE, NULL, "no stage %d: the plan has %d", i,
                         p->n_stages);
    s = &p->stages[i];
    memset(info, 0, sizeof *info);
    info->kind = s->kind;
    info->in_width = s->in.w;
    info->in_height = s->in.h;
    info->in_channels = s->in.c;
    info->in_alpha = s->in.alpha;
    info->out_width = s->out.w;
    info->out_height = s->out.h;
    info->out_channels = s->out.c;
    info->out_alpha = s->out.alpha;
    info->weights = s->weights;
    info->biases = s->biases;
    info->path = s->path ? s->path : "";
    return CNF_OK;
}

static void print_shape(FILE *f, const cnf_shape *s)
{
    fprintf(f, "%d x %d x %d%s", s->c, s->h, s->w, s->alpha ? " (last channel alpha)" : "");
}

/* Shapes are channels x height x width, like the .npy outputs and PyTorch.
 * Each stage: "N. kind: " and its own lines, its path, its shapes. */
void cnf_plan_explain(const cnf_plan *p, FILE *f)
{
    uint64_t weights = 0, biases = 0;
    fprintf(f, "input: %d x %d x %d (channels x height x width%s)\n", p->in.c, p->in.h, p->in.w,
            p->drop_input_alpha ? "; its alpha is dropped" : p->in.alpha ? "; last is alpha" : "");
    for (int i = 0; i < p->n_stages; i++) {
        const cnf_stage *s = &p->stages[i];
        fprintf(f, "%d. %s: ", i + 1, s->kind);
        s->ops->explain(s, f);
        if (s->path && s->path[0])
            fprintf(f, "    path: %s\n", s->path);
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
    fprintf(f, "memory estimate: %.1f MiB (%d thread%s)", (double)p->memory / 1048576.0,
            p->threads, p->threads == 1 ? "" : "s");
    if (p->over_memory)
        fprintf(f, ", over the memory limit of %.1f MiB: a run is refused",
                (double)p->max_memory / 1048576.0);
    fprintf(f, "\nwork estimate: %.3g multiply-adds", (double)p->work);
    if (p->over_work)
        fprintf(f, ", over the work limit of %.3g: a run is refused", (double)p->max_work);
    fputc('\n', f);
}
