/* abrun_load: how a slice of an interleaved comparison is loaded. See abrun_internal.h. */
#include "run/abrun_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/childproc.h"
#include "run/loadwrk.h"
#include "units.h"

#define WRK_STOP_GRACE_MS 2000

/* abrun_load with one wrk process a side. */
static int wrk_sides(struct ab *ab, const int *ks, size_t n, const char *stage, int64_t load_ns,
                       struct wrkres *res)
{
    char err[PATH_MAX + 600];
    int status[2] = {0, 0};
    pid_t pid[2] = {0, 0};
    size_t running = 0;
    int rc = -1;

    for (size_t i = 0; i < n; i++) {
        const struct side *s = &ab->side[ks[i]];
        if (loadwrk_spawn(ab->sc, ab->opt->wrk_path, s->svc.public_base, s->log_dir, stage, load_ns, &pid[i], err,
                          sizeof err) < 0) {
            abrun_fail(ab, RUNNER_ABORTED, "%s", err);
            goto done;
        }
        running++;
    }
    while (running > 0) {
        if (abrun_wait_step(ab, ABRUN_POLL_MS) < 0)
            goto done;
        for (size_t i = 0; i < n; i++)
            if (pid[i] && childproc_poll(pid[i], &status[i]) != 0) {
                pid[i] = 0;
                running--;
            }
    }
    for (size_t i = 0; i < n; i++)
        if (loadwrk_collect(ab->side[ks[i]].log_dir, stage, status[i], &res[i], err, sizeof err) < 0) {
            abrun_fail(ab, RUNNER_ABORTED, "%s build: %s", ks[i] == BASE ? "baseline" : "candidate", err);
            goto done;
        }
    rc = 0;
done:
    for (size_t i = 0; i < n; i++)
        if (pid[i])
            childproc_stop(pid[i], WRK_STOP_GRACE_MS, &status[i]);
    return rc;
}

bool abrun_uses_wrk(const struct scenario *sc, const struct abrun_options *opt)
{
    return opt->wrk_slices || sc->script[0];
}

int abrun_load_check(const struct scenario *sc, const struct abrun_options *opt, char *err, size_t errlen)
{
    if (abrun_uses_wrk(sc, opt))
        return 0;
    if (sc->threads > DUETLOAD_MAX_THREADS || sc->connections > DUETLOAD_MAX_CONNECTIONS) {
        snprintf(err, errlen, "%s: [load] %s = %u: --interleave's kept-open connections take at most %d threads and "
                 "%d connections a side; lower it, or give --wrk-slices (one wrk per slice, whole seconds)",
                 sc->file, sc->threads > DUETLOAD_MAX_THREADS ? "threads" : "connections",
                 sc->threads > DUETLOAD_MAX_THREADS ? sc->threads : sc->connections, DUETLOAD_MAX_THREADS,
                 DUETLOAD_MAX_CONNECTIONS);
        return -1;
    }
    return 0;
}

/* "host:port" of a side's "http://host:port". */
static const char *target_of(const struct side *s)
{
    const char *b = s->svc.public_base;
    return strncmp(b, "http://", 7) == 0 ? b + 7 : b;
}

int abrun_load_open(struct ab *ab)
{
    const struct scenario *sc = ab->sc;
    char err[600];

    if (abrun_uses_wrk(sc, ab->opt))
        return 0;
    /* one epoll thread per load CPU at most: more only switch among themselves (two
     * threads on one CPU cost the generator about a fifth more a request) */
    unsigned threads = sc->threads ? sc->threads : 1;
    if (sc->load_cpu_list[0] && (unsigned)CPU_COUNT(&sc->load_cpus) < threads)
        threads = (unsigned)CPU_COUNT(&sc->load_cpus);
    if (threads > sc->connections)
        threads = sc->connections;
    struct duetload_config cfg = {
        .target = {target_of(&ab->side[0]), target_of(&ab->side[1])},
        .method = sc->method[0] ? sc->method : NULL, .path = sc->path[0] ? sc->path : "/",
        .body = sc->body[0] ? sc->body : NULL, .body_len = strlen(sc->body),
        .content_type = sc->content_type[0] ? sc->content_type : NULL,
        .connections = sc->connections, .threads = threads,
        .cpus = sc->load_cpu_list[0] ? &sc->load_cpus : NULL,
        .timeout_ns = sc->timeout_ns < DUETLOAD_MAX_TIMEOUT_NS ? sc->timeout_ns : DUETLOAD_MAX_TIMEOUT_NS,
    };
    if (!(ab->dl = duetload_start(&cfg, err, sizeof err))) {
        abrun_fail(ab, RUNNER_ABORTED, "%s: the slices' load: %s", sc->file, err);
        return -1;
    }
    return 0;
}

void abrun_load_close(struct ab *ab)
{
    duetload_free(ab->dl);
    ab->dl = NULL;
}

/* abrun_load with duetload, in pieces of at most DUETLOAD_MAX_SLICE_NS (a warmup may be
 * longer than a slice); the figures are the last piece's. */
static int duet_sides(struct ab *ab, const int *ks, size_t n, int64_t load_ns, struct wrkres *res)
{
    struct wrkres got[DUETLOAD_SIDES];
    unsigned mask = 0;
    char err[600];

    for (size_t i = 0; i < n; i++)
        mask |= 1u << ks[i];
    while (load_ns > 0) {
        int64_t piece = load_ns > DUETLOAD_MAX_SLICE_NS ? DUETLOAD_MAX_SLICE_NS : load_ns;
        if (piece < DUETLOAD_MIN_SLICE_NS)
            piece = DUETLOAD_MIN_SLICE_NS;
        if (duetload_slice(ab->dl, mask, piece, got, err, sizeof err) < 0) {
            abrun_fail(ab, RUNNER_ABORTED, "the slices' load: %s", err);
            return -1;
        }
        if (abrun_wait_step(ab, 0) < 0)
            return -1;
        load_ns -= piece;
    }
    for (size_t i = 0; i < n; i++)
        res[i] = got[ks[i]];
    return 0;
}

int abrun_load(struct ab *ab, const int *ks, size_t n, const char *stage, int64_t load_ns, struct wrkres *res)
{
    return ab->dl ? duet_sides(ab, ks, n, load_ns, res) : wrk_sides(ab, ks, n, stage, load_ns, res);
}

