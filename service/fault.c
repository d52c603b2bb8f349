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

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard limits on text from outside (flags, environment, the debug API). */
#define FAULT_TERM_MAX 128
#define FAULT_SPEC_MAX 4096
#define FAULT_COUNT_MAX UINT64_C(1000000000000)
/* Enough to write 0.0001%; more digits would not survive formatting unchanged. */
#define FAULT_PERCENT_DECIMALS 4

/* Budget word: generation in the top 24 bits, remaining count in the low 40. The
 * count limit above keeps real counts below BUDGET_UNLIMITED. */
#define BUDGET_BITS 40
#define BUDGET_MASK ((UINT64_C(1) << BUDGET_BITS) - 1)
#define BUDGET_UNLIMITED BUDGET_MASK
#define BUDGET_GENERATION_STEP (UINT64_C(1) << BUDGET_BITS)

/* fault_fires fires when 32 random bits fall below the threshold; 2^32 is always. */
#define THRESHOLD_ALWAYS (UINT64_C(1) << 32)

struct fault_info {
    const char *name;
    enum fault_arg_kind kind;
    int64_t default_arg;
    bool allows_inf;
    const char *culprit;
};

static const struct fault_info fault_table[FAULT_COUNT] = {
    [FAULT_LEAK_THREADS] = {"leak.threads", FAULT_ARG_NONE, 0, false, "leak_notifier_wait"},
    [FAULT_LEAK_MEMORY] = {"leak.memory", FAULT_ARG_SIZE, 4096, false, "leak_memory_retain"},
    [FAULT_LOCK_CACHE] = {"lock.cache", FAULT_ARG_DURATION, 200000, false, "cache_get_global"},
    [FAULT_QUEUE_STALL] = {"queue.stall", FAULT_ARG_DURATION, 50000000, true,
                           "worker_process_stalled"},
    [FAULT_QUEUE_BLOCK] = {"queue.block", FAULT_ARG_NONE, 0, false, "queue_push_blocking"},
    [FAULT_SLOW] = {"slow", FAULT_ARG_DURATION, 100000, false, "request_burn_cpu"},
};

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

static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
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
    uint64_t x = prng_state;

    if (x == 0) {
        /* Time alone could repeat across threads started together; the counter not. */
        uint64_t n = atomic_fetch_add_explicit(&prng_threads_seeded, 1, memory_order_relaxed);
        fault_seed_thread((uint64_t)units_now_ns() ^ splitmix64(n));
        x = prng_state;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    prng_state = x;
    return (uint32_t)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 32);
}

const char *fault_name(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].name : NULL;
}

enum fault_arg_kind fault_arg_kind(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].kind : FAULT_ARG_NONE;
}

int64_t fault_default_arg(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].default_arg : 0;
}

const char *fault_culprit(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].culprit : NULL;
}

int fault_lookup(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < FAULT_COUNT; i++)
        if (strcmp(name, fault_table[i].name) == 0)
            return i;
    return -1;
}

static void term_error(char *err, size_t errlen, const char *term, size_t index, const char *what)
{
    set_error(err, errlen, "bad term '%s': %s at character %zu", term, what, index + 1);
}

/* Checks "P" in term[0..n): digits, optionally '.' and 1 to 4 digits, 0 < P <= 100.
 * Returns 0, or -1 with err filled. */
static int parse_percent(const char *term, size_t n, double *out, char *err, size_t errlen)
{
    char number[FAULT_TERM_MAX + 1];
    size_t i = 0, decimals = 0;

    while (i < n && isdigit((unsigned char)term[i]))
        i++;
    if (i == 0) {
        term_error(err, errlen, term, 0, "expected a percentage before '%'");
        return -1;
    }
    if (i < n && term[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)term[i]); i++)
            if (++decimals > FAULT_PERCENT_DECIMALS) {
                term_error(err, errlen, term, i, "at most 4 decimal places in a percentage");
                return -1;
            }
        if (decimals == 0) {
            term_error(err, errlen, term, i, "expected a digit after '.' in the percentage");
            return -1;
        }
    }
    if (i < n) {
        term_error(err, errlen, term, i, "expected a percentage before '%'");
        return -1;
    }
    memcpy(number, term, n);
    number[n] = '\0';
    *out = strtod(number, NULL);
    if (!(*out > 0 && *out <= 100)) {
        term_error(err, errlen, term, 0, "the percentage must be above 0 and at most 100");
        return -1;
    }
    return 0;
}

/* Checks "N" in term[start..end): a whole number from 1 to FAULT_COUNT_MAX.
 * Returns 0, or -1 with err filled. */
static int parse_count(const char *term, size_t start, size_t end, int64_t *out, char *err,
                       size_t errlen)
{
    char number[FAULT_TERM_MAX + 1];
    uint64_t count;

    for (size_t i = start; i < end; i++)
        if (!isdigit((unsigned char)term[i])) {
            term_error(err, errlen, term, i, "expected a count before '*'");
            return -1;
        }
    if (start == end) {
        term_error(err, errlen, term, end, "expected a count before '*'");
        return -1;
    }
    memcpy(number, term + start, end - start);
    number[end - start] = '\0';
    if (units_parse_uint(number, FAULT_COUNT_MAX, &count, NULL, 0) < 0) {
        term_error(err, errlen, term, start, "the count is at most 1000000000000");
        return -1;
    }
    if (count == 0) {
        term_error(err, errlen, term, start, "the count must be at least 1");
        return -1;
    }
    *out = (int64_t)count;
    return 0;
}

/* Checks ARG (the text between the parentheses; '(' at index paren of term) against
 * the fault's kind. Returns 0, or -1 with err filled. */
static int parse_argument(enum fault_id id, const char *term, size_t paren, const char *arg,
                          int64_t *out, char *err, size_t errlen)
{
    const struct fault_info *info = &fault_table[id];
    const char *kind = info->kind == FAULT_ARG_SIZE ? "size" : "duration";
    char why[FAULT_TERM_MAX + 160];
    uint64_t bytes;

    if (info->kind == FAULT_ARG_NONE) {
        set_error(err, errlen, "%s takes no argument, found '(%s)' at character %zu of '%s'",
                  info->name, arg, paren + 1, term);
        return -1;
    }
    if (*arg == '\0') {
        set_error(err, errlen, "%s takes a %s argument: empty '()' at character %zu of '%s'",
                  info->name, kind, paren + 1, term);
        return -1;
    }
    if (info->kind == FAULT_ARG_DURATION) {
        if (units_parse_duration(arg, out, why, sizeof why) < 0)
            goto bad;
        if (*out == UNITS_DURATION_INF && !info->allows_inf) {
            set_error(err, errlen, "%s takes a finite duration, only queue.stall may be 'inf'"
                      " (at character %zu of '%s')", info->name, paren + 2, term);
            return -1;
        }
        return 0;
    }
    if (units_parse_size(arg, &bytes, why, sizeof why) < 0)
        goto bad;
    if (bytes > INT64_MAX) {
        snprintf(why, sizeof why, "bad size '%s': too large", arg);
        goto bad;
    }
    *out = (int64_t)bytes;
    return 0;
bad:
    set_error(err, errlen, "%s takes a %s argument: %s (at character %zu of '%s')", info->name,
              kind, why, paren + 2, term);
    return -1;
}

int fault_term_parse(enum fault_id id, const char *text, struct fault_term *out, char *err,
                     size_t errlen)
{
    char term[FAULT_TERM_MAX + 1];
    struct fault_term t = {.on = true, .percent = 100, .max_count = -1};
    size_t len, prefix_len, pos = 0;
    const char *start, *end, *mark;
    int rc = -1;

    if (!id_valid(id)) {
        set_error(err, errlen, "unknown fault id %d", (int)id);
        goto done;
    }
    if (!text || strnlen(text, FAULT_TERM_MAX + 1) > FAULT_TERM_MAX) {
        set_error(err, errlen, text ? "term too long (at most %d bytes)" : "no term given",
                  FAULT_TERM_MAX);
        goto done;
    }
    for (start = text; isspace((unsigned char)*start); start++)
        ;
    for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
        ;
    len = (size_t)(end - start);
    memcpy(term, start, len);
    term[len] = '\0';
    if (len == 0) {
        set_error(err, errlen, "empty term: expected 'off' or [P%%][N*]on[(ARG)], e.g. '5%%100*on'");
        goto done;
    }
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)term[i])) {
            term_error(err, errlen, term, i, "no spaces allowed inside a term");
            goto done;
        }
    if (strcmp(term, "off") == 0) {
        t = (struct fault_term){.on = false, .percent = 100, .max_count = -1};
        rc = 0;
        goto done;
    }

    /* '%' and '*' count only before the argument, where "(...)" may hold anything. */
    mark = memchr(term, '(', len);
    prefix_len = mark ? (size_t)(mark - term) : len;
    mark = memchr(term, '%', prefix_len);
    if (mark) {
        if (parse_percent(term, (size_t)(mark - term), &t.percent, err, errlen) < 0)
            goto done;
        pos = (size_t)(mark - term) + 1;
    }
    mark = memchr(term + pos, '*', prefix_len - pos);
    if (mark) {
        if (parse_count(term, pos, (size_t)(mark - term), &t.max_count, err, errlen) < 0)
            goto done;
        pos = (size_t)(mark - term) + 1;
    }

    if (strncmp(term + pos, "on", 2) != 0) {
        size_t digits = pos;
        while (isdigit((unsigned char)term[digits]))
            digits++;
        if (digits > pos)
            term_error(err, errlen, term, digits, "expected '%' or '*' after a number");
        else if (strcmp(term + pos, "off") == 0)
            term_error(err, errlen, term, pos, "'off' takes no percentage or count");
        else
            term_error(err, errlen, term, pos, "expected 'on'");
        goto done;
    }
    pos += 2;

    t.arg = fault_table[id].default_arg;
    if (term[pos] != '\0') {
        char arg[FAULT_TERM_MAX + 1];
        const char *close;
        size_t arg_len;
        if (term[pos] != '(') {
            term_error(err, errlen, term, pos, "expected '(' or the end of the term after 'on'");
            goto done;
        }
        close = strchr(term + pos, ')');
        if (!close) {
            term_error(err, errlen, term, len, "missing ')'");
            goto done;
        }
        if (close[1] != '\0') {
            term_error(err, errlen, term, (size_t)(close - term) + 1, "unexpected text after ')'");
            goto done;
        }
        arg_len = (size_t)(close - term) - pos - 1;
        memcpy(arg, term + pos + 1, arg_len);
        arg[arg_len] = '\0';
        if (parse_argument(id, term, pos, arg, &t.arg, err, errlen) < 0)
            goto done;
        t.has_arg = true;
    }
    rc = 0;
done:
    if (rc == 0)
        *out = t;
    return rc;
}

/* "4096" -> "4KiB": the largest binary unit that divides exactly. */
static void format_size(uint64_t bytes, char *buf, size_t buflen)
{
    static const struct { uint64_t mult; const char *name; } units[] = {
        {UINT64_C(1) << 30, "GiB"}, {UINT64_C(1) << 20, "MiB"}, {UINT64_C(1) << 10, "KiB"},
    };

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (bytes != 0 && bytes % units[i].mult == 0) {
            snprintf(buf, buflen, "%" PRIu64 "%s", bytes / units[i].mult, units[i].name);
            return;
        }
    snprintf(buf, buflen, "%" PRIu64, bytes);
}

char *fault_term_format(enum fault_id id, const struct fault_term *t, char *buf, size_t buflen)
{
    char percent[32] = "", count[32] = "", arg[48] = "";

    if (!buf || buflen == 0)
        return buf;
    if (!t || !t->on) {
        snprintf(buf, buflen, "off");
        return buf;
    }
    if (t->percent < 100) {
        int n = snprintf(percent, sizeof percent, "%.*f", FAULT_PERCENT_DECIMALS, t->percent);
        while (n > 0 && percent[n - 1] == '0')
            percent[--n] = '\0';
        if (n > 0 && percent[n - 1] == '.')
            percent[--n] = '\0';
        snprintf(percent + n, sizeof percent - (size_t)n, "%%");
    }
    if (t->max_count >= 0)
        snprintf(count, sizeof count, "%" PRId64 "*", t->max_count);
    if (t->has_arg) {
        char value[40];
        if (fault_arg_kind(id) == FAULT_ARG_SIZE)
            format_size((uint64_t)t->arg, value, sizeof value);
        else
            units_format_duration(t->arg, value, sizeof value);
        snprintf(arg, sizeof arg, "(%s)", value);
    }
    snprintf(buf, buflen, "%s%son%s", percent, count, arg);
    return buf;
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
    atomic_store_explicit(&slot->arg, t->has_arg ? t->arg : fault_table[id].default_arg,
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

    out->name = fault_table[id].name;
    out->culprit = fault_table[id].culprit;
    out->on = fault_is_on(id);
    fault_term_format(id, &term, out->term, sizeof out->term);
    out->capped = atomic_load_explicit(&slots[id].capped, memory_order_relaxed);
    /* Outside the lock, like the heal hook. */
    if (holding)
        holding(&out->held_threads, &out->held_bytes);
}

static void unknown_fault_error(const char *name, char *err, size_t errlen)
{
    char known[128];
    size_t used = 0;

    known[0] = '\0';
    for (int i = 0; i < FAULT_COUNT; i++) {
        int n = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                         fault_table[i].name);
        if (n < 0 || (size_t)n >= sizeof known - used)
            break;
        used += (size_t)n;
    }
    set_error(err, errlen, "unknown fault '%s' (known: %s)", name, known);
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
        set_error(err, errlen, spec ? "fault spec too long (at most %d bytes)" : "no fault spec given",
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
            set_error(err, errlen, "expected NAME=TERM, got '%s'", piece);
            goto done;
        }
        *equals = '\0';
        name = trim(piece);
        id = fault_lookup(name);
        if (id < 0) {
            unknown_fault_error(name, err, errlen);
            goto done;
        }
        if (fault_term_parse((enum fault_id)id, equals + 1, &terms[id], why, sizeof why) < 0) {
            set_error(err, errlen, "%s: %s", name, why);
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
