/* band_workers.h - persistent threads that split one band of one stage (band_workers.c). */
#ifndef CNF_BAND_WORKERS_H
#define CNF_BAND_WORKERS_H

#include "stage.h"

/* At most this many threads share a band: past it the parts get too thin
 * to pay for the hand-off (a band is 32 rows or more, 64 Ki values or more:
 * exec.c). */
#define CNF__MAX_BAND_WORKERS 64

typedef struct cnf_band_workers cnf_band_workers;

/* cnf__band_workers_new - `threads` parts per band (clamped to 1 ..
 * CNF__MAX_BAND_WORKERS): the caller of cnf__band_workers_run does part 0
 * and threads - 1 workers the others.  Each part gets scratch for the
 * largest of stages[0 .. n_stages)'s scratch() for its share of a band of
 * `band_rows` rows.  A worker that cannot be started is not an error: the
 * caller does its part.  Fails with CNF_E_NOMEM. */
cnf_status cnf__band_workers_new(const cnf_stage *stages, int n_stages, int band_rows,
                                 int threads, cnf_band_workers **ret, cnf_error *err);

/* cnf__band_workers_run - compute output rows [y0, y1) of stage s (at most
 * band_rows) from `in` into `out`, and return when every part is done.
 * Part i gets rows [y0 + i * per, y0 + (i + 1) * per) with per =
 * ceil((y1 - y0) / threads), clipped to y1 (trailing parts may be empty);
 * a band of one row is done by the caller alone.  Which thread computes a
 * row never changes its value (stage.h).  One caller at a time. */
void cnf__band_workers_run(cnf_band_workers *w, const cnf_stage *s, const cnf_band *in,
                           const cnf_band *out, int y0, int y1);

/* cnf__band_workers_count - the parts per band (threads after clamping). */
int cnf__band_workers_count(const cnf_band_workers *w);

/* cnf__band_workers_free - stop and join the workers, free the scratch.
 * NULL is a no-op. */
void cnf__band_workers_free(cnf_band_workers *w);

#endif
