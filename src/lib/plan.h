/* plan.h - the inside of a plan, shared by the planner (plan.c) and the executor (exec.c).
 *
 * A plan is the input shape and a chain of stages, fixed before any pixel is
 * touched.  plan.c builds it (the stages of each layer, shapes, the memory
 * check) and describes it (--explain, cnf_stage_info); exec.c runs it.
 */
#ifndef CNF_PLAN_H
#define CNF_PLAN_H

#include "stage.h"

/* Stages a plan can hold.  A pipeline layer makes two stages at most (luma
 * and conv), a single layer five (luma, conv, combine, activation, pool);
 * the margin is for layers that gain a stage.  Appending past it fails
 * (cnf__plan_add_stage) rather than writing past the array. */
#define CNF__MAX_STAGES (2 * CNF_MAX_LAYERS + 8)

struct cnf_plan {
    cnf_shape in;
    int n_stages;
    cnf_stage stages[CNF__MAX_STAGES];
    int n_groups;         /* see cnf_plan_n_groups */
    int drop_input_alpha; /* the stages see the input without its alpha plane */
    uint64_t memory;      /* see cnf_plan_memory; 0 until planning ends */
    uint64_t streamed;    /* the part of memory cnf__stream_memory gave */
    int threads;          /* the threads memory counts (cnf_plan_limits.threads, 0 as 2) */
    uint64_t work;        /* see cnf_plan_work */
    int band_rows;        /* rows per band of every stage (cnf__band_rows); 0 until planning
                           * ends; a test may set another before a run */
    /* A dry plan (cnf_plan_create_dry): its stages are dry (stage.h), it describes and never
     * runs; over_memory and over_work say which of its limits (kept in max_memory and
     * max_work) its estimates are over, which a dry plan reports rather than refuses. */
    int dry;
    int over_memory, over_work;
    uint64_t max_memory, max_work;
    /* The 8-bit lane for --map clamp and abs (cnf_plan_u8_conv); NULL where it cannot run. */
    cnf_u8_conv *u8[2];
};

/* cnf__plan_new - an empty plan for input `in`: one group, no stage, no
 * memory estimate yet (planning makes it at the end).  Fails with
 * CNF_E_USAGE for an input with no pixel or no colour plane, CNF_E_NOMEM. */
cnf_status cnf__plan_new(const cnf_shape *in, cnf_plan **plan_ret, cnf_error *err);

/* cnf__plan_add_stage - move the constructed stage *s to the end of p's
 * chain (the plan owns it from then on) and make its path text
 * (ops->path).  Fails with CNF_E_LIMIT (CNF_LIMIT_KERNEL) when p already
 * holds CNF__MAX_STAGES stages, CNF_E_NOMEM for the path text; then the
 * stage is destroyed and p is unchanged. */
cnf_status cnf__plan_add_stage(cnf_plan *p, cnf_stage *s, cnf_error *err);

/* cnf__band_rows - the rows per band for a run of p: at least 32 and
 * enough that a band holds some 256 Ki values of the plan's widest row
 * (the input or any stage's output, width x planes), at most the tallest
 * of those heights (exec.c). */
int cnf__band_rows(const cnf_plan *p);

/* cnf__stream_memory - the bytes a streamed run of p on `threads` threads
 * needs beyond its input and output images (exec.c, which sizes the rings
 * and band_workers.c, which gives each thread its scratch): see
 * cnf_plan_memory. */
uint64_t cnf__stream_memory(const cnf_plan *p, int threads);

#endif
