/* xorshift: Marsaglia's xorshift64* generator (Vigna's multiplier), the one fast
 * pseudo-random sequence every module of the project draws from (fault
 * percentages, request ids, mutex and heap sampling, the load generator's arrivals
 * and request mix). Not for anything secret. Header-only so that the hot paths that
 * use it (the allocator hook, a mutex's contended path) keep it inline. */
#ifndef LOADLAB_XORSHIFT_H
#define LOADLAB_XORSHIFT_H

#include <stdint.h>

/* The next number of the sequence whose state is *state, which it advances. A state
 * of 0 stays 0 for ever: seed with anything else. */
static inline uint64_t xorshift64star_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

#endif
