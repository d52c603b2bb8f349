/* threads_dump: the thread dumps of /debug/pprof/goroutine (and threads): text with
 * debug=1 (threads grouped by stack and labels) and debug=2 (every thread, Go's
 * goroutine dump layout), and a profile.proto with debug=0. See threads.h.
 *
 * A dump copies the records under the mutex, releases it and then asks every thread
 * for its stack at once (stacks_capture_threads, DUMP_ANSWER_MS per batch of threads,
 * then DUMP_RETRY_MS for those that missed it):
 * one that does not answer (signal blocked, stopped, gone meanwhile) is shown with
 * "(no answer)" instead of a stack, so the debug port never hangs on a thread.
 *
 * Apart from the registry because a dump never touches the registry's table or lock:
 * it works on a copy (threads_registry_copy). */
#include "threads_internal.h"

#include "pprof.h"
#include "stacks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DUMP_ANSWER_MS 100
/* Threads that missed the first call are asked once more, with longer: on a loaded
 * machine a few of thousands may simply not have been scheduled in time. */
#define DUMP_RETRY_MS 1000
#define INLINE_FRAMES 4

struct dump {
    struct thread_view *views;
    struct thread_view **order;          /* views, sorted for output */
    int n;
    uintptr_t *pcs;
};

static void dump_free(struct dump *d)
{
    free(d->views);
    free(d->order);
    free(d->pcs);
    memset(d, 0, sizeof *d);
}

/* Asks the threads with no answer (depth -1) once more and fills in those that answer. */
static void retry_unanswered(const pid_t *tids, int n, uintptr_t *pcs, int *depths)
{
    int missing = 0;
    pid_t *again = calloc((size_t)n, sizeof *again);
    int *where = calloc((size_t)n, sizeof *where), *again_depths = calloc((size_t)n, sizeof *again_depths);
    uintptr_t *again_pcs = NULL;

    if (!again || !where || !again_depths)
        goto done;
    for (int i = 0; i < n; i++) {
        if (depths[i] < 0) {
            where[missing] = i;
            again[missing++] = tids[i];
        }
    }
    if (!(again_pcs = calloc((size_t)missing * STACKS_MAX_DEPTH, sizeof *again_pcs)))
        goto done;
    stacks_capture_threads(again, missing, again_pcs, STACKS_MAX_DEPTH, again_depths, DUMP_RETRY_MS);
    for (int j = 0; j < missing; j++) {
        if (again_depths[j] < 0)
            continue;
        depths[where[j]] = again_depths[j];
        memcpy(pcs + (size_t)where[j] * STACKS_MAX_DEPTH, again_pcs + (size_t)j * STACKS_MAX_DEPTH,
               (size_t)again_depths[j] * sizeof *pcs);
    }
done:
    free(again);
    free(where);
    free(again_depths);
    free(again_pcs);
}

/* Copies every live record and captures its stack. Returns 0 or -1 (allocation). */
static int dump_collect(struct dump *d)
{
    pid_t *tids = NULL;
    int *depths = NULL;
    int nothers = 0, rc = -1;
    pid_t me = gettid();

    memset(d, 0, sizeof *d);
    if (!(d->views = threads_registry_copy(&d->n)))
        goto done;
    for (int i = 0; i < d->n; i++)
        if (d->views[i].state == THREADS_STATE_RUNNING)
            threads_kernel_state(d->views[i].tid, &d->views[i].state, &d->views[i].wait_reason);

    d->order = calloc((size_t)d->n + 1, sizeof *d->order);
    d->pcs = calloc(((size_t)d->n + 1) * STACKS_MAX_DEPTH, sizeof *d->pcs);
    tids = calloc((size_t)d->n + 1, sizeof *tids);
    depths = calloc((size_t)d->n + 1, sizeof *depths);
    if (!d->order || !d->pcs || !tids || !depths)
        goto done;

    /* The others first, into the front of pcs; each view then takes its slice. */
    for (int i = 0; i < d->n; i++)
        if (d->views[i].tid != me)
            tids[nothers++] = d->views[i].tid;
    if (stacks_capture_threads(tids, nothers, d->pcs, STACKS_MAX_DEPTH, depths, DUMP_ANSWER_MS) < nothers)
        retry_unanswered(tids, nothers, d->pcs, depths);
    for (int i = 0, k = 0; i < d->n; i++) {
        struct thread_view *v = &d->views[i];
        d->order[i] = v;
        if (v->tid == me) {
            v->pcs = d->pcs + (size_t)d->n * STACKS_MAX_DEPTH;
            v->depth = stacks_capture_self(v->pcs, STACKS_MAX_DEPTH, 0);
        } else {
            v->pcs = d->pcs + (size_t)k * STACKS_MAX_DEPTH;
            v->depth = depths[k++];
        }
    }
    rc = 0;
done:
    free(tids);
    free(depths);
    if (rc != 0)
        dump_free(d);
    return rc;
}

static int compare_stacks(const struct thread_view *a, const struct thread_view *b)
{
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1;
    for (int i = 0; i < a->depth; i++)
        if (a->pcs[i] != b->pcs[i])
            return a->pcs[i] < b->pcs[i] ? -1 : 1;
    return 0;
}

static int compare_stack_order(const void *pa, const void *pb)
{
    const struct thread_view *a = *(const struct thread_view *const *)pa;
    const struct thread_view *b = *(const struct thread_view *const *)pb;
    int c = compare_stacks(a, b);
    return c != 0 ? c : (a->id > b->id) - (a->id < b->id);
}

static int same_labels(const struct thread_view *a, const struct thread_view *b)
{
    return a->role == b->role && a->state == b->state;
}

static int compare_group_order(const void *pa, const void *pb)
{
    const struct thread_view *a = *(const struct thread_view *const *)pa;
    const struct thread_view *b = *(const struct thread_view *const *)pb;
    int c = compare_stacks(a, b);
    if (c != 0)
        return c;
    if (a->role != b->role)
        return a->role < b->role ? -1 : 1;
    if (a->state != b->state)
        return a->state < b->state ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int compare_id_order(const void *pa, const void *pb)
{
    const struct thread_view *a = *(const struct thread_view *const *)pa;
    const struct thread_view *b = *(const struct thread_view *const *)pb;
    return (a->id > b->id) - (a->id < b->id);
}

struct group {
    int first;                           /* index into dump.order */
    int count;
    uint64_t min_id;
};

static int compare_groups(const void *pa, const void *pb)
{
    const struct group *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->min_id > b->min_id) - (a->min_id < b->min_id);
}

/* Sorts d->order with `compare` and splits it into runs that `same` joins
 * (NULL: the stack alone). Returns a malloc'd array of *ngroups groups, largest
 * first, or NULL on allocation failure. */
static struct group *dump_group(struct dump *d, int (*compare)(const void *, const void *),
                                int (*same)(const struct thread_view *, const struct thread_view *),
                                int *ngroups)
{
    struct group *groups = calloc((size_t)d->n + 1, sizeof *groups);
    int n = 0;

    if (!groups)
        return NULL;
    qsort(d->order, (size_t)d->n, sizeof *d->order, compare);
    for (int i = 0; i < d->n; i++) {
        const struct thread_view *v = d->order[i];
        struct group *g = n > 0 ? &groups[n - 1] : NULL;
        if (g && compare_stacks(d->order[g->first], v) == 0 &&
            (!same || same(d->order[g->first], v))) {
            g->count++;
            if (v->id < g->min_id)
                g->min_id = v->id;
            continue;
        }
        groups[n].first = i;
        groups[n].count = 1;
        groups[n].min_id = v->id;
        n++;
    }
    qsort(groups, (size_t)n, sizeof *groups, compare_groups);
    *ngroups = n;
    return groups;
}

static const char *file_or_unknown(const char *file)
{
    return file[0] ? file : "?";
}

static void text_debug1_frames(struct pprof_text *t, const struct thread_view *v)
{
    struct stacks_frame frames[INLINE_FRAMES];

    if (v->depth < 0) {
        pprof_text_printf(t, "#\t(no answer)\n");
        return;
    }
    for (int i = 0; i < v->depth; i++) {
        uintptr_t at = v->pcs[i] - 1;
        int n = stacks_symbolize_inline(at, frames, INLINE_FRAMES);
        if (n < 0)
            pprof_text_printf(t, "#\t0x%" PRIxPTR "\n", at);
        for (int k = 0; k < n; k++)
            pprof_text_printf(t, "#\t0x%" PRIxPTR "\t%s+0x%" PRIxPTR "\t%s:%d\n", at,
                              frames[k].function, frames[k].offset,
                              file_or_unknown(frames[k].file), frames[k].line);
    }
}

static void text_debug1(struct pprof_text *t, struct dump *d)
{
    struct group *groups;
    int ngroups = 0;

    groups = dump_group(d, compare_group_order, same_labels, &ngroups);
    if (!groups) {
        t->failed = 1;
        return;
    }
    pprof_text_printf(t, "threads profile: total %d\n", d->n);
    for (int g = 0; g < ngroups; g++) {
        const struct thread_view *v = d->order[groups[g].first];
        pprof_text_printf(t, "%d @", groups[g].count);
        for (int i = 0; i < v->depth; i++)
            pprof_text_printf(t, " 0x%" PRIxPTR, v->pcs[i]);
        pprof_text_printf(t, "\n# labels: {\"role\":\"%s\", \"state\":\"%s\"}\n",
                          threads_role_name(v->role), threads_state_name(v->state));
        text_debug1_frames(t, v);
        pprof_text_printf(t, "\n");
    }
    free(groups);
}

static void text_debug2_frame(struct pprof_text *t, uintptr_t pc, const char *prefix,
                              const char *suffix, int innermost_only)
{
    struct stacks_frame frames[INLINE_FRAMES];
    uintptr_t at = pc - 1;
    int n = stacks_symbolize_inline(at, frames, INLINE_FRAMES);

    if (n < 0) {
        pprof_text_printf(t, "%s?%s\n\t?:0 pc=0x%" PRIxPTR "\n", prefix, suffix, at);
        return;
    }
    if (innermost_only)
        n = 1;
    for (int k = 0; k < n; k++)
        pprof_text_printf(t, "%s%s%s\n\t%s:%d +0x%" PRIxPTR "\n", prefix, frames[k].function,
                          suffix, file_or_unknown(frames[k].file), frames[k].line,
                          frames[k].offset);
}

static void text_debug2(struct pprof_text *t, struct dump *d)
{
    int64_t now = threads_coarse_now_ns();

    qsort(d->order, (size_t)d->n, sizeof *d->order, compare_id_order);
    for (int i = 0; i < d->n; i++) {
        const struct thread_view *v = d->order[i];
        int64_t waited = now - v->since_ns, age = now - v->created_ns;
        char creator[40] = "";

        pprof_text_printf(t, "thread %" PRIu64 " [%s%s%s, %.1fs]: name=%s role=%s tid=%d age=%.1fs\n",
                          v->id, threads_state_name(v->state), v->wait_reason ? ": " : "",
                          v->wait_reason ? v->wait_reason : "",
                          (double)(waited > 0 ? waited : 0) / 1e9, v->name,
                          threads_role_name(v->role), (int)v->tid,
                          (double)(age > 0 ? age : 0) / 1e9);
        if (v->depth < 0)
            pprof_text_printf(t, "(no answer)\n");
        for (int k = 0; k < v->depth; k++)
            text_debug2_frame(t, v->pcs[k], "", "(...)", 0);
        if (v->ncreation > 0) {
            if (v->creator_id)
                snprintf(creator, sizeof creator, " in thread %" PRIu64, v->creator_id);
            /* The innermost function at the call: the one that asked for the thread. */
            text_debug2_frame(t, v->creation[0], "created by ", creator, 1);
        }
        pprof_text_printf(t, "\n");
    }
}

char *threads_dump_text(int debug, size_t *len)
{
    struct pprof_text t = {0};
    struct dump d;
    char *out = NULL;
    size_t out_len = 0;

    if (dump_collect(&d) != 0)
        return NULL;
    if (debug >= 2)
        text_debug2(&t, &d);
    else
        text_debug1(&t, &d);
    dump_free(&d);
    if (pprof_text_finish(&t, &out, &out_len) != 0)
        return NULL;
    if (len)
        *len = out_len;
    return out;
}

int threads_dump_proto(unsigned char **out, size_t *len)
{
    static const struct pprof_value_type threads_count_type = {"threads", "count"};
    struct dump d;
    struct group *groups = NULL;
    pprof_profile *profile = NULL;
    struct timespec now;
    int ngroups = 0, rc = -1;

    if (!out || !len || dump_collect(&d) != 0)
        return -1;
    groups = dump_group(&d, compare_stack_order, NULL, &ngroups);
    profile = pprof_new(&threads_count_type, 1, threads_count_type, 1);
    if (!groups || !profile)
        goto done;
    clock_gettime(CLOCK_REALTIME, &now);
    pprof_set_time(profile, (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, 0);
    for (int g = 0; g < ngroups; g++) {
        const struct thread_view *v = d.order[groups[g].first];
        int64_t count = groups[g].count;
        /* A thread that did not answer is counted, with no stack. */
        if (pprof_add_sample(profile, v->pcs, v->depth > 0 ? v->depth : 0, &count) != 0)
            goto done;
    }
    rc = pprof_encode(profile, pprof_symbolize_with_stacks, NULL, 1, out, len);
done:
    pprof_free(profile);
    free(groups);
    dump_free(&d);
    return rc;
}

