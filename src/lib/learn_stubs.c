/* learn_stubs.c - TEMPORARY stand-ins for the learning API while it is being written in other branches; removed when they land. */
#include "internal.h"

#include <string.h>





void cnf_train_options_init(cnf_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 1;
    o->batch = 32;
    o->lr = 0.01;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->shuffle = 1;
    o->threads = 1;
}

cnf_status cnf_train_memory(const cnf_pipeline *p, int width, int height, int channels,
                            const cnf_train_options *o, uint64_t *bytes, cnf_error *err)
{
    (void)p;
    (void)width;
    (void)height;
    (void)channels;
    (void)o;
    (void)err;
    *bytes = 0;
    return CNF_OK;
}

cnf_status cnf_train(cnf_pipeline *p, const cnf_dataset *data, const cnf_train_options *o,
                     cnf_epoch_stats *last, cnf_error *err)
{
    (void)p;
    (void)data;
    (void)o;
    (void)last;
    return cnf__fail(err, CNF_E_USAGE, NULL, "not built yet");
}

cnf_status cnf_net_create(const cnf_pipeline *p, int width, int height, int channels,
                          uint64_t max_memory, cnf_net **net_ret, cnf_error *err)
{
    (void)p;
    (void)width;
    (void)height;
    (void)channels;
    (void)max_memory;
    *net_ret = NULL;
    return cnf__fail(err, CNF_E_USAGE, NULL, "not built yet");
}

int cnf_net_shape(const cnf_net *n, int *channels, int *height, int *width)
{
    (void)n;
    *channels = *height = *width = 0;
    return 0;
}

uint64_t cnf_net_memory(const cnf_net *n)
{
    (void)n;
    return 0;
}

cnf_status cnf_net_forward(const cnf_net *n, const cnf_dataset *data, int first, int count,
                           int threads, float *out, cnf_error *err)
{
    (void)n;
    (void)data;
    (void)first;
    (void)count;
    (void)threads;
    (void)out;
    return cnf__fail(err, CNF_E_USAGE, NULL, "not built yet");
}

void cnf_net_free(cnf_net *n) { (void)n; }
