/* debug_pprof: Go's /debug/pprof/ routes answered at once: the index page, cmdline,
 * symbol, goroutine/threads dumps, heap, allocs, threadcreate, and the parsing of
 * mutex and block requests (whose answer debug_timed.c sends, now or after a delta).
 * Kept together because they follow one convention (debug=0 a gzipped profile.proto
 * that go tool pprof reads, debug=1 text) and one reference, Go's net/http/pprof. */
#include "debug_internal.h"

#include "heapprof.h"
#include "pprof.h"
#include "stacks.h"
#include "threads.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The profiles of the index, sorted by name as Go's index is; count is what Go counts
 * (records of the profile, threads for goroutine), 0 for cmdline and profile. */
struct profile_entry {
    const char *name, *href, *description;
    long count;
};

void debug_route_pprof_index(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    const struct profile_entry entries[] = {
        {"allocs", "allocs?debug=1", "A sampling of all past memory allocations (one per "
         "--mem-profile-rate bytes; a sanitizer build records only orders and leak.memory)",
         heapprof_site_count()},
        {"block", "block?debug=1", "Stack traces that led to blocking on synchronization primitives "
         "(condition variables and queue operations, sampled by block_profile_rate)",
         lockprof_stack_count(LOCKPROF_BLOCK)},
        {"cmdline", "cmdline", "The command line invocation of the current program", 0},
        {"goroutine", "goroutine?debug=1", "Stack traces of all current threads (orderd's goroutines). Use "
         "debug=2 as a query parameter for every thread with its state, wait reason and creator",
         (long)threads_total()},
        {"heap", "heap?debug=1", "A sampling of memory allocations of live objects. The gc GET parameter "
         "is accepted (there is no collector to run first)", heapprof_site_count()},
        {"mutex", "mutex?debug=1", "Stack traces of holders of contended mutexes: the delay is charged to "
         "the stack that unlocked (1 in mutex_profile_fraction events); view=waiter shows the waiting "
         "stacks instead", lockprof_stack_count(LOCKPROF_MUTEX)},
        {"profile", "profile", "CPU profile. You can specify the duration in the seconds GET parameter. "
         "After you get the profile file, use the go tool pprof command to investigate the profile", 0},
        {"threadcreate", "threadcreate?debug=1", "Stack traces that led to the creation of new OS threads",
         (long)threads_created_total()},
        {"threads", "threads?debug=1", "The same as goroutine, under orderd's own name",
         (long)threads_total()},
    };
    struct pprof_text t = {0};
    char *page = NULL;
    size_t len = 0;
    (void)d; (void)rest;

    pprof_text_printf(&t, "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n.profile-name{\n"
                      "\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n</head>\n<body>\n"
                      "/debug/pprof/<br>\n<br>\nTypes of profiles available:\n<table>\n"
                      "<thead><td>Count</td><td>Profile</td></thead>\n");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        pprof_text_printf(&t, "<tr><td>%ld</td><td><a href='%s'>%s</a></td></tr>\n", entries[i].count,
                          entries[i].href, entries[i].name);
    pprof_text_printf(&t, "</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n<br>\n"
                      "<p>\nProfile Descriptions:\n<ul>\n");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        pprof_text_printf(&t, "<li><div class=profile-name>%s: </div> %s</li>\n", entries[i].name,
                          entries[i].description);
    pprof_text_printf(&t, "</ul>\n</p>\n<p>debug=0 (the default) answers a gzipped profile.proto: "
                      "<code>go tool pprof -top http://HOST/debug/pprof/mutex</code>; mutex and block take "
                      "<code>seconds=N</code> for a delta profile. Also: <a href=\"/metrics\">/metrics</a>, "
                      "<a href=\"/debug/vars\">/debug/vars</a>, <a href=\"/debug/faults\">/debug/faults</a>, "
                      "<a href=\"/debug/config\">/debug/config</a></p>\n</body>\n</html>\n");
    if (pprof_text_finish(&t, &page, &len) < 0) {
        debug_reply(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    debug_reply(req, 200, "text/html; charset=utf-8", page, len);
    free(page);
}

/* Go's /debug/pprof/cmdline: the arguments joined by NUL bytes. */
void debug_route_cmdline(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    struct evbuffer *buf = evbuffer_new();
    (void)rest;

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
    for (int i = 0; buf && i < d->cfg.argc; i++) {
        if (i > 0)
            evbuffer_add(buf, "", 1);
        evbuffer_add(buf, d->cfg.argv[i], strlen(d->cfg.argv[i]));
    }
    evhttp_send_reply(req, 200, NULL, buf);
    if (buf)
        evbuffer_free(buf);
}

/* Go's /debug/pprof/symbol: "num_symbols: 1" (symbols are available), then for each
 * address of the POST body, or of the query of a GET, separated by '+', that names a
 * function: "0x<addr> <function>". Unknown addresses are left out. */
void debug_route_symbol(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct pprof_text t = {0};
    char *words = NULL, *text = NULL, *cursor;
    size_t len = 0;
    (void)d; (void)rest;

    if (method == EVHTTP_REQ_POST) {
        words = debug_read_body_max(req, SYMBOL_BODY_MAX, &len);
        if (!words) {
            debug_reply(req, 413, "text/plain; charset=utf-8", "request too large\n", 18);
            return;
        }
    } else {
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
        words = strdup(q ? q : "");
        if (!words) {
            debug_reply(req, 500, "text/plain", "out of memory\n", 14);
            return;
        }
    }
    pprof_text_printf(&t, "num_symbols: 1\n");
    cursor = words;
    while (cursor) {
        char *plus = strchr(cursor, '+'), *end;
        if (plus)
            *plus = '\0';
        unsigned long long pc = strtoull(cursor, &end, 0);
        struct stacks_frame frame;
        if (end != cursor && *end == '\0' && pc != 0 && stacks_symbolize((uintptr_t)pc, &frame) == 0)
            pprof_text_printf(&t, "%#llx %s\n", pc, frame.function);
        cursor = plus ? plus + 1 : NULL;
    }
    free(words);
    if (pprof_text_finish(&t, &text, &len) < 0) {
        debug_reply(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    debug_reply(req, 200, "text/plain; charset=utf-8", text, len);
    free(text);
}

void debug_route_threads(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    long debug = debug_query_long(req, "debug", 0);
    (void)d; (void)rest;

    if (debug < 0 || debug > 2) {
        debug_reply_error(req, 400, "debug must be 0, 1 or 2", "parameter", "debug");
        return;
    }
    if (debug == 0) {
        unsigned char *out = NULL;
        size_t len = 0;
        if (threads_dump_proto(&out, &len) < 0) {
            debug_reply_error(req, 500, "cannot build the thread profile", NULL, NULL);
            return;
        }
        debug_reply_profile(req, 0, (char *)out, len, "threads.pb.gz");
        free(out);
        return;
    }
    size_t len = 0;
    char *text = threads_dump_text((int)debug, &len);
    if (!text) {
        debug_reply_error(req, 500, "cannot dump threads", NULL, NULL);
        return;
    }
    debug_reply_profile(req, (int)debug, text, len, "threads.txt");
    free(text);
}

/* ?view=holder (the default: Go's profile, delay charged to the unlocker) or
 * ?view=waiter (the waiting stacks and their own delay). */
void debug_route_mutex(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    struct evkeyvalq params;
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    enum lockprof_kind kind = LOCKPROF_MUTEX;
    bool bad = false;
    (void)rest;

    if (q && evhttp_parse_query_str(q, &params) == 0) {
        const char *view = evhttp_find_header(&params, "view");
        if (view && strcmp(view, "waiter") == 0)
            kind = LOCKPROF_MUTEX_WAITER;
        else if (view && strcmp(view, "holder") != 0)
            bad = true;
        evhttp_clear_headers(&params);
    }
    if (bad) {
        debug_reply_error(req, 400, "view must be holder or waiter", "parameter", "view");
        return;
    }
    debug_lock_profile(d, req, kind);
}

void debug_route_block(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    debug_lock_profile(d, req, LOCKPROF_BLOCK);
}

/* The profiles that answer debug=0 (proto) or debug=1 (text) from one builder. */
typedef int (*profile_builder)(int debug, char **out, size_t *out_len);

static void route_built_profile(struct evhttp_request *req, profile_builder build, const char *name)
{
    long debug = debug_query_long(req, "debug", 0);
    char *out = NULL, file[64], msg[96];
    size_t len = 0;

    if (debug < 0 || debug > 1) {
        debug_reply_error(req, 400, "debug must be 0 or 1", "parameter", "debug");
        return;
    }
    if (build((int)debug, &out, &len) < 0) {
        snprintf(msg, sizeof msg, "cannot build the %s profile", name);
        debug_reply_error(req, 500, msg, NULL, NULL);
        return;
    }
    snprintf(file, sizeof file, "%s.pb.gz", name);
    debug_reply_profile(req, (int)debug, out, len, file);
    free(out);
}

static int build_allocs(int debug, char **out, size_t *out_len)
{
    return heapprof_profile_as(debug, "alloc_space", out, out_len);
}

void debug_route_heap(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    route_built_profile(req, heapprof_profile, "heap");
}

void debug_route_allocs(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    route_built_profile(req, build_allocs, "allocs");
}

void debug_route_threadcreate(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    route_built_profile(req, threads_create_profile, "threadcreate");
}
