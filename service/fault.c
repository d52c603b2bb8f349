/* fault: the fault table, the fail(9) term parser and the registry. See fault.h.
 *
 * Concurrency. fault_fires runs on every eligible event from any thread while the
 * debug API may replace or clear the term at the same moment. Each slot keeps the
 * fields the hot path reads as atomics, published like a seqlock: the generation lives
 * in the top bits of the same 64-bit word as the remaining count ("budget"), odd while
 * a writer is mid-update. A reader takes the generation, the fields and the generation
 * again; if they differ the event overlapped a change and does not fire. The count is
 * taken by a CAS on the budget word that also checks the generation, so "100*on" fires
 * exactly 100 times however many threads race, and a count taken under an old term can
 * never drain the new one (the generation has 24 bits: a reader would have to sleep
 * through 8 million changes to be fooled). When off, the hot path is the single relaxed
 * load of `on`. This was chosen over swapping a pointer to an immutable term
 * because that needs either reader reference counts (a shared write on every event) or
 * retired terms kept forever; here nothing is allocated and nothing is retired.
 * Writers are serialized by the registry mutex, which also guards the hooks and the
 * readable copy of the term that fault_status prints. */
#include "fault.h"

#include "units.h"
#include "xorshift.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard limit on text from outside (flags, environment); a term's is in faultterm.h. */
#define FAULT_SPEC_MAX 4096

/* Budget word: generation in the top 24 bits, remaining count in the low 40. The
 * count limit above keeps real counts below BUDGET_UNLIMITED. */
#define BUDGET_BITS 40
#define BUDGET_MASK ((UINT64_C(1) << BUDGET_BITS) - 1)
#define BUDGET_UNLIMITED BUDGET_MASK
#define BUDGET_GENERATION_STEP (UINT64_C(1) << BUDGET_BITS)

/* fault_fires fires when 32 random bits fall below the threshold; 2^32 is always. */
#define THRESHOLD_ALWAYS (UINT64_C(1) << 32)

struct fault_slot {
    /* Read on every eligible event; false means "off" without looking further. */
    _Alignas(64) _Atomic bool on;
    _Atomic uint64_t budget;
    _Atomic uint64_t threshold;
    _Atomic int64_t arg;
    /* Firings of an unlimited term. One that overlaps a change of term may land in
     * the new term's count: a statistic, not a limit, so that is left alone. */
    _Atomic uint64_t fired;
    _Atomic bool capped;
    /* Guarded by registry_lock. */
    struct fault_term term;
    fault_heal_fn heal;
    fault_holding_fn holding;
};

static struct fault_slot slots[FAULT_COUNT];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* Per-thread xorshift64*: no shared state on the hot path. Zero means "not seeded". */
static _Thread_local uint64_t prng_state;
static _Atomic uint64_t prng_threads_seeded;

static bool id_valid(enum fault_id id)
{
    return (unsigned)id < FAULT_COUNT;
}

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

void fault_seed_thread(uint64_t seed)
{
    prng_state = splitmix64(seed);
    if (prng_state == 0)
        prng_state = 1;
}

static uint32_t prng_next32(void)
{
    if (prng_state == 0) {
        /* Time alone could repeat across threads started together; the counter not. */
        uint64_t n = atomic_fetch_add_explicit(&prng_threads_seeded, 1, memory_order_relaxed);
        fault_seed_thread((uint64_t)units_now_ns() ^ splitmix64(n));
    }
    return (uint32_t)(xorshift64star_next(&prng_state) >> 32);
}

static uint64_t threshold_for(double percent)
{
    uint64_t threshold;

    if (percent >= 100)
        return THRESHOLD_ALWAYS;
    threshold = (uint64_t)llround(percent / 100.0 * (double)THRESHOLD_ALWAYS);
    return threshold ? threshold : 1;
}

/* Publishes term into the slot's atomics. Called with registry_lock held. */
static void slot_publish(enum fault_id id, const struct fault_term *term)
{
    static const struct fault_term off = {.on = false, .percent = 100, .max_count = -1};
    struct fault_slot *slot = &slots[id];
    const struct fault_term *t = term ? term : &off;
    uint64_t old, remaining;

    /* Odd generation: readers from here on see "changing" and do not fire. The release
     * stores below keep this increment ordered before the new fields. */
    old = atomic_fetch_add_explicit(&slot->budget, BUDGET_GENERATION_STEP, memory_order_relaxed);
    atomic_store_explicit(&slot->threshold, t->on ? threshold_for(t->percent) : 0,
                          memory_order_release);
    atomic_store_explicit(&slot->arg, t->has_arg ? t->arg : fault_default_arg(id),
                          memory_order_release);
    atomic_store_explicit(&slot->fired, 0, memory_order_relaxed);
    remaining = !t->on ? 0 : t->max_count < 0 ? BUDGET_UNLIMITED : (uint64_t)t->max_count;
    atomic_store_explicit(&slot->budget,
                          (old & ~BUDGET_MASK) + 2 * BUDGET_GENERATION_STEP + remaining,
                          memory_order_release);
    atomic_store_explicit(&slot->on, t->on, memory_order_release);
    slot->term = *t;
}

void fault_set(enum fault_id id, const struct fault_term *term)
{
    if (!id_valid(id))
        return;
    pthread_mutex_lock(&registry_lock);
    slot_publish(id, term);
    pthread_mutex_unlock(&registry_lock);
}

void fault_clear(enum fault_id id)
{
    fault_heal_fn heal;

    if (!id_valid(id))
        return;
    pthread_mutex_lock(&registry_lock);
    slot_publish(id, NULL);
    heal = slots[id].heal;
    pthread_mutex_unlock(&registry_lock);
    /* Outside the lock: the hook takes its own locks and may call back in here. */
    if (heal)
        heal();
    atomic_store_explicit(&slots[id].capped, false, memory_order_relaxed);
}

/* Takes one from the remaining count of generation `generation`. False when the count is
 * used up or the term changed since it was read. */
static bool budget_take(struct fault_slot *slot, uint64_t seen, uint64_t generation)
{
    uint64_t current = seen;

    for (;;) {
        if ((current >> BUDGET_BITS) != generation || (current & BUDGET_MASK) == 0)
            return false;
        if (atomic_compare_exchange_weak_explicit(&slot->budget, &current, current - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
}

bool fault_fires(enum fault_id id, int64_t *arg)
{
    struct fault_slot *slot;
    uint64_t before, after, threshold, generation;
    int64_t value;

    if (!id_valid(id))
        return false;
    slot = &slots[id];
    if (!atomic_load_explicit(&slot->on, memory_order_relaxed))
        return false;

    before = atomic_load_explicit(&slot->budget, memory_order_acquire);
    generation = before >> BUDGET_BITS;
    if (generation & 1)
        return false;
    /* Acquire loads keep the second budget load after them (the seqlock check). */
    threshold = atomic_load_explicit(&slot->threshold, memory_order_acquire);
    value = atomic_load_explicit(&slot->arg, memory_order_acquire);
    after = atomic_load_explicit(&slot->budget, memory_order_relaxed);
    if ((after >> BUDGET_BITS) != generation)
        return false;

    if (threshold < THRESHOLD_ALWAYS && prng_next32() >= threshold)
        return false;
    /* A counted term's firings are its count minus what remains (see fault_status). */
    if ((before & BUDGET_MASK) == BUDGET_UNLIMITED)
        atomic_fetch_add_explicit(&slot->fired, 1, memory_order_relaxed);
    else if (!budget_take(slot, after, generation))
        return false;
    if (arg)
        *arg = value;
    return true;
}

bool fault_is_on(enum fault_id id)
{
    if (!id_valid(id) || !atomic_load_explicit(&slots[id].on, memory_order_relaxed))
        return false;
    return (atomic_load_explicit(&slots[id].budget, memory_order_relaxed) & BUDGET_MASK) != 0;
}

void fault_register_hooks(enum fault_id id, fault_heal_fn heal, fault_holding_fn holding)
{
    if (!id_valid(id))
        return;
    pthread_mutex_lock(&registry_lock);
    slots[id].heal = heal;
    slots[id].holding = holding;
    pthread_mutex_unlock(&registry_lock);
}

void fault_note_capped(enum fault_id id, bool capped)
{
    if (id_valid(id))
        atomic_store_explicit(&slots[id].capped, capped, memory_order_relaxed);
}

void fault_status(enum fault_id id, struct fault_status *out)
{
    struct fault_term term;
    fault_holding_fn holding;

    memset(out, 0, sizeof *out);
    if (!id_valid(id))
        return;
    pthread_mutex_lock(&registry_lock);
    term = slots[id].term;
    holding = slots[id].holding;
    /* With the lock held the budget belongs to this term: no writer can be mid-update. */
    if (term.on && term.max_count >= 0)
        out->fired = (uint64_t)term.max_count -
                     (atomic_load_explicit(&slots[id].budget, memory_order_relaxed) & BUDGET_MASK);
    else
        out->fired = atomic_load_explicit(&slots[id].fired, memory_order_relaxed);
    pthread_mutex_unlock(&registry_lock);

    out->name = fault_name(id);
    out->culprit = fault_culprit(id);
    out->on = fault_is_on(id);
    fault_term_format(id, &term, out->term, sizeof out->term);
    out->capped = atomic_load_explicit(&slots[id].capped, memory_order_relaxed);
    /* Outside the lock, like the heal hook. */
    if (holding)
        holding(&out->held_threads, &out->held_bytes);
}

/* Trims whitespace around s in place. Returns the trimmed start. */
static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

int fault_set_from_spec(const char *spec, char *err, size_t errlen)
{
    char buf[FAULT_SPEC_MAX + 1];
    char why[FAULT_TERM_MAX + 512];
    struct fault_term terms[FAULT_COUNT];
    bool given[FAULT_COUNT] = {false};
    char *piece, *next;
    size_t len = spec ? strnlen(spec, FAULT_SPEC_MAX + 1) : 0;
    int rc = -1;

    if (!spec || len > FAULT_SPEC_MAX) {
        snprintf(err, err ? errlen : 0, spec ? "fault spec too long (at most %d bytes)" : "no fault spec given",
                  FAULT_SPEC_MAX);
        goto done;
    }
    memcpy(buf, spec, len);
    buf[len] = '\0';

    /* Everything is checked before anything is set, so a bad spec changes nothing. */
    for (piece = buf; piece; piece = next) {
        char *semicolon = strchr(piece, ';'), *equals, *name;
        int id;

        next = NULL;
        if (semicolon) {
            *semicolon = '\0';
            next = semicolon + 1;
        }
        piece = trim(piece);
        if (*piece == '\0')
            continue;
        equals = strchr(piece, '=');
        if (!equals || equals == piece) {
            snprintf(err, err ? errlen : 0, "expected NAME=TERM, got '%s'", piece);
            goto done;
        }
        *equals = '\0';
        name = trim(piece);
        id = fault_lookup(name);
        if (id < 0) {
            fault_unknown_error(name, err, errlen);
            goto done;
        }
        if (fault_term_parse((enum fault_id)id, equals + 1, &terms[id], why, sizeof why) < 0) {
            snprintf(err, err ? errlen : 0, "%s: %s", name, why);
            goto done;
        }
        given[id] = true;
    }
    for (int i = 0; i < FAULT_COUNT; i++)
        if (given[i])
            fault_set((enum fault_id)i, &terms[i]);
    rc = 0;
done:
    return rc;
}
