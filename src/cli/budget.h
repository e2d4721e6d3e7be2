/* budget.h - --max-memory shared by the files a batch processes at once. */
#ifndef CNF_CLI_BUDGET_H
#define CNF_CLI_BUDGET_H

#include <stdint.h>

/* budget_init - share `total` bytes between the batch workers from now on
 * (0: no sharing, every call below returns at once).  Not thread-safe: call
 * before the workers start. */
void budget_init(uint64_t total);

/* budget_grow - the caller holds `held` bytes of the budget and needs `more`:
 * returns once held + more are its own (what it returns).  When they are
 * not free, it gives back what it holds and waits for the whole amount, so a
 * worker never waits while holding a share (no deadlock).  An amount over
 * the total is granted when nothing else is held: one file that fits the
 * limit alone (the per-file checks say so) still runs, alone. */
uint64_t budget_grow(uint64_t held, uint64_t more);

/* budget_release - give back `held` bytes. */
void budget_release(uint64_t held);

#endif
