/* debug: orderd's internal port — metrics, expvar-style variables, profiles, thread
 * dumps, faults and runtime configuration — on its own thread and event_base, so
 * diagnosis still works while the public I/O threads are stuck.
 *
 *   /metrics                       Prometheus text 0.0.4
 *   /debug/vars                    JSON in the shape of Go's expvar
 *   /debug/pprof/                  index
 *   /debug/pprof/threads           ?debug=0|1|2 (also as /debug/pprof/goroutine)
 *   /debug/pprof/mutex, block      ?debug=0|1, ?seconds=N for a delta profile; mutex is
 *                                  charged to the unlocker (Go), ?view=waiter to the waiter
 *   /debug/pprof/heap              ?debug=0|1
 *   /debug/pprof/profile           ?seconds=N (default 30): CPU profile, one at a time
 *   /debug/pprof/allocs            the heap profile showing alloc_space; ?debug=0|1
 *   /debug/pprof/threadcreate      threads created, by creating stack; ?debug=0|1
 *   /debug/pprof/cmdline           the arguments, NUL-separated
 *   /debug/pprof/symbol            GET/POST addresses "0x1+0x2" -> "0x1 name" lines
 *   /debug/faults                  GET: every fault as JSON
 *   /debug/faults/NAME             PUT (term as body) / DELETE (clear and heal)
 *   /debug/config                  GET / PUT JSON (instrument, mutex_profile_fraction,
 *                                  block_profile_rate, log_level)
 *   /healthz, /readyz
 *
 * Built on evhttp: this port serves people and scrapers, not load, so the lean server
 * of the public port would buy nothing here. With a token configured every request
 * must carry "Authorization: Bearer TOKEN" (scheme in any case; 401 otherwise).
 * Connections are capped and timed out by connlimit's evhttp guard. */
#ifndef ORDERD_DEBUG_H
#define ORDERD_DEBUG_H

#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>

struct debug_config {
    const char *host;
    int port;                    /* 0: pick a free port */
    const char *token;           /* NULL: no authentication (loopback only) */
    size_t max_connections;      /* open connections; beyond, clients wait in the backlog */
    int64_t timeout_ms;          /* a connection with no request under way is closed after this */
    struct metrics_sources sources;
    int argc;
    char **argv;
    const char *version;
    int cpu_profile_hz;          /* samples per CPU second for /debug/pprof/profile */
};

struct debug_server;

/* Binds the port. Returns the server, or NULL with err filled. */
struct debug_server *debug_server_new(const struct debug_config *cfg, char *err, size_t errlen);
/* Runs the server on its own thread. Returns 0, or -1 with err filled. */
int debug_server_start(struct debug_server *d, char *err, size_t errlen);
int debug_server_port(const struct debug_server *d);
/* /readyz answers 200 only while ready. */
void debug_server_set_ready(struct debug_server *d, bool ready);
/* Stops the thread and frees everything. NULL is a no-op. */
void debug_server_free(struct debug_server *d);

#endif
