/* conv_u8.h - the inside of the 8-bit lane (conv_u8.c), for its streamed driver and tests. */
#ifndef CNF_CONV_U8_H
#define CNF_CONV_U8_H

#include "internal.h"

/* How a cnf_u8_conv computes its sums (cnf__u8_conv_kind). */
enum {
    CNF__U8_INT16_AVX2 = 1, /* 16-bit sums, 32 values a step (AVX2) */
    CNF__U8_INT16 = 2,      /* sums within 16 bits, by the portable C loop */
    CNF__U8_INT32 = 3       /* the kernel's bound exceeds 16 bits: int32 sums, portable C */
};
int cnf__u8_conv_kind(const cnf_u8_conv *c);

/* The kernel's rows above and below an output row (the SAME padding of a
 * stride-1 layer): output row y reads input rows y - top .. y - top + kh - 1
 * (each through the border rule). */
int cnf__u8_conv_kh(const cnf_u8_conv *c);
int cnf__u8_conv_top(const cnf_u8_conv *c);
cnf_border cnf__u8_conv_border(const cnf_u8_conv *c);

/* A padded row: (left + width + right) x channels bytes; the input row
 * sits at offset cnf__u8_conv_row_at, the border columns around it. */
size_t cnf__u8_conv_padded(const cnf_u8_conv *c);
size_t cnf__u8_conv_row_at(const cnf_u8_conv *c);
/* Fill the border columns of a padded row whose input row is in place. */
void cnf__u8_conv_pad(const cnf_u8_conv *c, unsigned char *padded);
/* A padded row of zeros (the rows a zero border reads past the edges). */
const unsigned char *cnf__u8_conv_zero_row(const cnf_u8_conv *c);
/* One output row (width x channels bytes) from the kh padded rows it reads,
 * in kernel order. */
void cnf__u8_conv_row(const cnf_u8_conv *c, const unsigned char *const *rows,
                      unsigned char *out);
/* The 8-bit value of an integer sum: sum / divisor (the kernel's, after
 * its sign is moved to the weights) rounded half to even, then the map
 * (clamp: 0..255; abs: |value| up to 255), by exact integer arithmetic. */
unsigned char cnf__u8_conv_finish(const cnf_u8_conv *c, int32_t sum);
/* The same step as the AVX2 loop does it, on 16 sums as that loop holds
 * them (int16, or unsigned 16 bits for a kernel without negative weights;
 * the portable form without AVX2).  Only for a cnf_u8_conv of kind
 * CNF__U8_INT16_AVX2. */
void cnf__u8_conv_finish16(const cnf_u8_conv *c, const uint16_t *sums, unsigned char *out);

#endif
