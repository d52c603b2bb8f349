/* orderd: a reference HTTP service that sells products and takes orders, carries
 * Go-style observability on an internal port, and can be made sick on purpose.
 * This file reads the command line, wires the modules together, and shuts down
 * without losing an accepted order. Only main prints and exits. */
#include "api.h"
#include "buildinfo.h"
#include "catalog.h"
#include "cpuprof.h"
#include "debug.h"
#include "fault.h"
#include "httpserver.h"
#include "heapsample.h"
#include "instrument.h"
#include "leak.h"
#include "log.h"
#include "mallochook.h"
#include "orders.h"
#include "queue.h"
#include "stacks.h"
#include "threads.h"
#include "units.h"
#include "workers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/thread.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_FAULT_FLAGS 32
#define DEBUG_DEFAULT_MAX_CONNECTIONS 64
#define DEBUG_DEFAULT_TIMEOUT_MS 30000
/* Descriptors kept for everything but connections: listeners, the log, event
 * loops, profile and /proc reads, leaked threads' pipes. */
#define RESERVED_DESCRIPTORS 64

struct options {
    char listen_host[64], debug_host[64];
    int listen_port, debug_port;
    const char *token_file;
    uint64_t workers, queue_capacity, io_threads, products, store_capacity, max_body;
    int64_t payment_latency_ns;
    int instrument_level;
    uint64_t mutex_fraction, block_rate_ns, cpu_profile_hz, mem_profile_rate;
    uint64_t leak_cap_threads, leak_cap_bytes;
    uint64_t max_connections, debug_max_connections;   /* 0: from the descriptor limit */
    int64_t header_timeout_ns, idle_timeout_ns, debug_timeout_ns;
    const char *faults[MAX_FAULT_FLAGS];
    int nfaults;
    enum log_format log_format;
    enum log_level log_level;
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: orderd [options]\n"
        "\n"
        "  --listen ADDR:PORT            public API (default 127.0.0.1:8080; port 0 picks one)\n"
        "  --debug-listen ADDR:PORT      internal port (default 127.0.0.1:6060; port 0 picks one)\n"
        "  --debug-token-file PATH       bearer token required on the internal port; needed\n"
        "                                for a non-loopback --debug-listen\n"
        "  --workers N                   order workers (default 4)\n"
        "  --queue-capacity N            bounded work queue size (default 256)\n"
        "  --payment-latency DURATION    simulated payment call (default 2ms)\n"
        "  --io-threads N                public I/O threads (default: the CPUs this process\n"
        "                                may run on, as sched_getaffinity reports; at most 64)\n"
        "  --products N                  products in the catalog (default 1000)\n"
        "  --order-store-capacity N      orders remembered for GET (default 65536)\n"
        "  --max-body SIZE               largest request body (default 64KB; 413 beyond)\n"
        "  --max-connections N           open public connections (default 10000, lowered to fit\n"
        "                                the descriptor limit; 503 and close beyond)\n"
        "  --header-timeout DURATION     deadline for a request head, and again for its body\n"
        "                                (default 10s; 408 and close beyond)\n"
        "  --idle-timeout DURATION       idle keep-alive public connections closed (default 60s)\n"
        "  --debug-max-connections N     open debug-port connections (default 64; more wait)\n"
        "  --debug-timeout DURATION      debug connection with no request under way closed\n"
        "                                after this (default 30s)\n"
        "  --instrument off|metrics|profile   (default metrics)\n"
        "  --mutex-profile-fraction N    sample 1 in N lock contentions (default 10; 0 off)\n"
        "  --block-profile-rate NS       block sampling rate in ns (default 10000; 0 off)\n"
        "  --mem-profile-rate BYTES      heap profile: one sample per BYTES allocated on average\n"
        "                                (default 524288, as Go's MemProfileRate; 1 every\n"
        "                                allocation, 0 none); sampled at --instrument profile\n"
        "  --cpu-profile-rate HZ         CPU profile samples per CPU second (default 100, as Go;\n"
        "                                1..1000); profiles need --instrument profile\n"
        "  --fault NAME=TERM             set a fault; repeatable (also ORDERD_FAULTS=\"a=T;b=T\")\n"
        "                                faults: leak.threads leak.memory lock.cache queue.stall\n"
        "                                queue.block slow; TERM: [P%%][N*]on[(ARG)] or off\n"
        "  --leak-cap-threads N          most threads leak.threads may hold (default 2000)\n"
        "  --leak-cap-bytes SIZE         most bytes leak.memory may hold (default 256MB)\n"
        "  --log-format json|text        (default json)\n"
        "  --log-level debug|info|warn|error  (default info)\n"
        "  --help, --version\n"
        "\n"
        "When ready it prints one line: listening public=ADDR:PORT debug=ADDR:PORT\n");
}

static int fail_flag(const char *flag, const char *msg)
{
    fprintf(stderr, "orderd: %s: %s\n", flag, msg);
    return -1;
}

static int number_flag(const char *flag, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
    char err[160];
    if (units_parse_uint(value, max, out, err, sizeof err) < 0)
        return fail_flag(flag, err);
    if (*out < min) {
        snprintf(err, sizeof err, "must be at least %llu", (unsigned long long)min);
        return fail_flag(flag, err);
    }
    return 0;
}

/* A timeout flag: 1ms to 1h. */
static int timeout_flag(const char *flag, const char *value, int64_t *out)
{
    char err[160];
    if (units_parse_duration(value, out, err, sizeof err) < 0)
        return fail_flag(flag, err);
    if (*out < 1000000 || *out > 3600LL * 1000000000)
        return fail_flag(flag, "must be between 1ms and 1h");
    return 0;
}

/* The CPUs this process may run on (taskset, cgroup cpusets), as Go's GOMAXPROCS
 * defaults to: more I/O threads than CPUs only take turns on them. */
static uint64_t affinity_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 2;
    int n = CPU_COUNT(&set);
    return n < 1 ? 1 : n > 64 ? 64 : (uint64_t)n;
}

/* Fits the connection caps below the descriptor limit. The soft limit is raised to
 * the hard one first, as Go does at start. An explicit cap above what fits is kept
 * with a warning (nginx does the same); accept then backs off when descriptors run
 * out. */
static void fit_connection_caps(struct options *o, bool public_given, bool debug_given)
{
    struct rlimit rl;
    uint64_t room;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        return;
    room = rl.rlim_cur > RESERVED_DESCRIPTORS ? rl.rlim_cur - RESERVED_DESCRIPTORS : 1;
    if (!debug_given && o->debug_max_connections > room / 4)
        o->debug_max_connections = room / 4 ? room / 4 : 1;
    uint64_t public_room = room > o->debug_max_connections ? room - o->debug_max_connections : 1;
    if (!public_given && o->max_connections > public_room)
        o->max_connections = public_room;
    if (o->max_connections + o->debug_max_connections > room)
        log_warn("connection caps exceed the descriptor limit; accept will back off when it is reached",
                 LOG_F_UINT("max_connections", o->max_connections),
                 LOG_F_UINT("debug_max_connections", o->debug_max_connections),
                 LOG_F_UINT("descriptor_limit", (uint64_t)rl.rlim_cur));
}

static bool is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

enum option_id {
    O_LISTEN = 256, O_DEBUG_LISTEN, O_TOKEN, O_WORKERS, O_QUEUE, O_PAYMENT, O_IO, O_PRODUCTS,
    O_STORE, O_MAX_BODY, O_INSTRUMENT, O_FRACTION, O_RATE, O_FAULT, O_CAP_THREADS, O_CAP_BYTES,
    O_CPU_RATE, O_MEM_RATE, O_LOG_FORMAT, O_LOG_LEVEL, O_MAX_CONN, O_HEADER_TIMEOUT, O_IDLE_TIMEOUT,
    O_DEBUG_MAX_CONN, O_DEBUG_TIMEOUT, O_HELP, O_VERSION
};

/* Checks and stores a numeric flag's value. Returns 0, -1 on a bad value (printed),
 * 1 when c is not a numeric flag. */
static int set_number_option(int c, const char *arg, struct options *o)
{
    switch (c) {
    case O_WORKERS: return number_flag("--workers", arg, 1, 1024, &o->workers);
    case O_QUEUE: return number_flag("--queue-capacity", arg, 1, 1000000, &o->queue_capacity);
    case O_IO: return number_flag("--io-threads", arg, 1, 64, &o->io_threads);
    case O_PRODUCTS: return number_flag("--products", arg, 1, 1000000, &o->products);
    case O_STORE: return number_flag("--order-store-capacity", arg, 1024, 100000000, &o->store_capacity);
    case O_FRACTION: return number_flag("--mutex-profile-fraction", arg, 0, 1000000000, &o->mutex_fraction);
    case O_RATE: return number_flag("--block-profile-rate", arg, 0, 1000000000000ULL, &o->block_rate_ns);
    case O_MAX_CONN: return number_flag("--max-connections", arg, 1, 1000000, &o->max_connections);
    case O_DEBUG_MAX_CONN: return number_flag("--debug-max-connections", arg, 1, 10000, &o->debug_max_connections);
    case O_CPU_RATE: return number_flag("--cpu-profile-rate", arg, 1, CPUPROF_MAX_HZ, &o->cpu_profile_hz);
    case O_MEM_RATE: return number_flag("--mem-profile-rate", arg, 0, HEAPSAMPLE_MAX_RATE, &o->mem_profile_rate);
    case O_CAP_THREADS: return number_flag("--leak-cap-threads", arg, 0, 100000, &o->leak_cap_threads);
    case O_HEADER_TIMEOUT: return timeout_flag("--header-timeout", arg, &o->header_timeout_ns);
    case O_IDLE_TIMEOUT: return timeout_flag("--idle-timeout", arg, &o->idle_timeout_ns);
    case O_DEBUG_TIMEOUT: return timeout_flag("--debug-timeout", arg, &o->debug_timeout_ns);
    default: return 1;
    }
}

/* Checks and stores the value of flag c (one taking a value). Returns 0, -1 on a
 * bad value (printed). */
static int set_option(int c, const char *arg, struct options *o)
{
    char err[256];
    uint64_t size;
    int rc = set_number_option(c, arg, o);

    if (rc <= 0)
        return rc;
    switch (c) {
    case O_LISTEN:
        if (httpserver_parse_address(arg, o->listen_host, sizeof o->listen_host, &o->listen_port, err, sizeof err) < 0)
            return fail_flag("--listen", err);
        return 0;
    case O_DEBUG_LISTEN:
        if (httpserver_parse_address(arg, o->debug_host, sizeof o->debug_host, &o->debug_port, err, sizeof err) < 0)
            return fail_flag("--debug-listen", err);
        return 0;
    case O_TOKEN: o->token_file = arg; return 0;
    case O_PAYMENT:
        if (units_parse_duration(arg, &o->payment_latency_ns, err, sizeof err) < 0)
            return fail_flag("--payment-latency", err);
        if (o->payment_latency_ns == UNITS_DURATION_INF)
            return fail_flag("--payment-latency", "must be finite");
        return 0;
    case O_MAX_BODY:
        if (units_parse_size(arg, &size, err, sizeof err) < 0)
            return fail_flag("--max-body", err);
        if (size < 256 || size > (64u << 20))
            return fail_flag("--max-body", "must be between 256B and 64MB");
        o->max_body = size;
        return 0;
    case O_CAP_BYTES:
        if (units_parse_size(arg, &o->leak_cap_bytes, err, sizeof err) < 0)
            return fail_flag("--leak-cap-bytes", err);
        return 0;
    case O_INSTRUMENT:
        if ((o->instrument_level = instrument_level_parse(arg)) < 0)
            return fail_flag("--instrument", "must be off, metrics or profile");
        return 0;
    case O_FAULT:
        if (o->nfaults == MAX_FAULT_FLAGS)
            return fail_flag("--fault", "too many --fault flags");
        o->faults[o->nfaults++] = arg;
        return 0;
    case O_LOG_FORMAT:
        if (strcmp(arg, "json") == 0)
            o->log_format = LOG_FORMAT_JSON;
        else if (strcmp(arg, "text") == 0)
            o->log_format = LOG_FORMAT_TEXT;
        else
            return fail_flag("--log-format", "must be json or text");
        return 0;
    case O_LOG_LEVEL: {
        int level = log_level_parse(arg);
        if (level < 0)
            return fail_flag("--log-level", "must be debug, info, warn or error");
        o->log_level = level;
        return 0;
    }
    default:
        return fail_flag("orderd", "flag without a handler");
    }
}

/* Parses argv into o. Returns 0, 1 when --help/--version was answered, -1 on a bad flag. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"debug-listen", required_argument, NULL, O_DEBUG_LISTEN},
        {"debug-token-file", required_argument, NULL, O_TOKEN},
        {"workers", required_argument, NULL, O_WORKERS},
        {"queue-capacity", required_argument, NULL, O_QUEUE},
        {"payment-latency", required_argument, NULL, O_PAYMENT},
        {"io-threads", required_argument, NULL, O_IO},
        {"products", required_argument, NULL, O_PRODUCTS},
        {"order-store-capacity", required_argument, NULL, O_STORE},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"instrument", required_argument, NULL, O_INSTRUMENT},
        {"mutex-profile-fraction", required_argument, NULL, O_FRACTION},
        {"block-profile-rate", required_argument, NULL, O_RATE},
        {"cpu-profile-rate", required_argument, NULL, O_CPU_RATE},
        {"mem-profile-rate", required_argument, NULL, O_MEM_RATE},
        {"fault", required_argument, NULL, O_FAULT},
        {"leak-cap-threads", required_argument, NULL, O_CAP_THREADS},
        {"leak-cap-bytes", required_argument, NULL, O_CAP_BYTES},
        {"log-format", required_argument, NULL, O_LOG_FORMAT},
        {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"max-connections", required_argument, NULL, O_MAX_CONN},
        {"header-timeout", required_argument, NULL, O_HEADER_TIMEOUT},
        {"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
        {"debug-max-connections", required_argument, NULL, O_DEBUG_MAX_CONN},
        {"debug-timeout", required_argument, NULL, O_DEBUG_TIMEOUT},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c, idx;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        switch (c) {
        case O_HELP: usage(stdout); return 1;
        case O_VERSION: printf("orderd %s (revision %s)\n", buildinfo_version(), buildinfo_revision()); return 1;
        case ':':
            return fail_flag(argv[optind - 1], "needs a value");
        default:
            if (c < O_LISTEN || c > O_VERSION)
                return fail_flag(argv[optind - 1], "unknown flag (see --help)");
            if (set_option(c, optarg, o) < 0)
                return -1;
        }
    }
    if (optind < argc)
        return fail_flag(argv[optind], "unexpected argument (see --help)");
    return 0;
}

/* Reads the first line of the token file. Returns a malloc'd token or NULL (printed). */
static char *read_token(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "orderd: --debug-token-file: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (strlen(line) < 16) {
        fprintf(stderr, "orderd: --debug-token-file: %s: the token must be at least 16 characters\n", path);
        return NULL;
    }
    return strdup(line);
}

static void format_address(char *buf, size_t len, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(buf, len, "[%s]:%d", host, port);
    else
        snprintf(buf, len, "%s:%d", host, port);
}
/* Checks what the flags alone cannot (a non-loopback debug port needs a token),
 * reads the token into *token and sets the faults of ORDERD_FAULTS and --fault.
 * Returns 0, or -1 (printed; *token is freed and NULL). */
static int check_and_set_faults(const struct options *o, char **token)
{
    char err[512];

    *token = NULL;
    if (!is_loopback(o->debug_host) && !o->token_file) {
        fprintf(stderr, "orderd: --debug-listen: %s is not a loopback address; the debug port exposes stacks "
                        "and profiles, so a non-loopback address needs --debug-token-file\n", o->debug_host);
        return -1;
    }
    if (o->token_file && !(*token = read_token(o->token_file)))
        return -1;
    const char *env_faults = getenv("ORDERD_FAULTS");
    if (env_faults && *env_faults && fault_set_from_spec(env_faults, err, sizeof err) < 0) {
        fprintf(stderr, "orderd: ORDERD_FAULTS: %s\n", err);
        goto fail;
    }
    for (int i = 0; i < o->nfaults; i++) {
        if (fault_set_from_spec(o->faults[i], err, sizeof err) < 0) {
            fprintf(stderr, "orderd: --fault %s: %s\n", o->faults[i], err);
            goto fail;
        }
    }
    return 0;
fail:
    free(*token);
    *token = NULL;
    return -1;
}

/* Applies the instrumentation and log settings and fills in the defaults that
 * depend on the machine: I/O threads from the CPUs, connection caps from the
 * descriptor limit. */
static void apply_settings(struct options *o)
{
    atomic_store(&instrument.level, o->instrument_level);
    atomic_store(&instrument.mutex_fraction, (int64_t)o->mutex_fraction);
    atomic_store(&instrument.block_rate_ns, (int64_t)o->block_rate_ns);
    log_configure(STDERR_FILENO, o->log_format, o->log_level);
    if (o->io_threads == 0)
        o->io_threads = affinity_cpus();
    bool public_cap_given = o->max_connections != 0, debug_cap_given = o->debug_max_connections != 0;
    if (!public_cap_given)
        o->max_connections = HTTPSERVER_DEFAULT_MAX_CONNECTIONS;
    if (!debug_cap_given)
        o->debug_max_connections = DEBUG_DEFAULT_MAX_CONNECTIONS;
    fit_connection_caps(o, public_cap_given, debug_cap_given);
}

/* Blocks the stop signals (taken by sigwait in this thread only: every thread
 * spawned later inherits the blocked mask) into *stop_signals, and sets up what
 * the process needs before any thread starts: libevent's locking, stack capture,
 * CPU profiling, the thread registry, the leak caps. */
static void init_process(const struct options *o, sigset_t *stop_signals)
{
    char err[512];

    sigemptyset(stop_signals);
    sigaddset(stop_signals, SIGTERM);
    sigaddset(stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    if (stacks_init(err, sizeof err) < 0)
        log_warn("stack capture unavailable", LOG_F_STR("error", err));
    else if (cpuprof_init(err, sizeof err) < 0)
        log_warn("cpu profiling unavailable", LOG_F_STR("error", err));
    /* After stacks_init, so the sampler's unwinder is warmed up. */
    if (mallochook_start((int64_t)o->mem_profile_rate) < 0)
        log_info("heap sampling is compiled out of this build (a sanitizer owns malloc, or "
                 "ORDERD_NO_MALLOCHOOK): the heap profile records only orders and leak.memory, every block",
                 LOG_F_STR("heap_profile", "recorded"));
    threads_register_self("main", THREADS_ROLE_MAIN);
    leak_init(o->leak_cap_threads, o->leak_cap_bytes);
}

/* The running service's parts; api is here because the public server holds it. */
struct service {
    struct catalog *catalog;
    struct order_store *orders;
    struct queue *queue;
    struct workers *workers;
    struct httpserver *http;
    struct debug_server *debug;
    struct api api;
};

/* Builds the stores and servers and starts the workers, the debug port and the
 * public port. Returns 0, or -1 (printed; what was built is left in s for
 * service_free). */
static int service_start(struct service *s, const struct options *o, const char *token, int argc, char **argv)
{
    char err[512];

    s->catalog = catalog_new(o->products, 64);
    s->orders = order_store_new(o->store_capacity);
    s->queue = queue_new(o->queue_capacity);
    if (!s->catalog || !s->orders || !s->queue) {
        fprintf(stderr, "orderd: out of memory\n");
        return -1;
    }
    s->api = (struct api){.catalog = s->catalog, .orders = s->orders, .queue = s->queue};
    struct httpserver_config hc = {
        .host = o->listen_host, .port = o->listen_port, .io_threads = (int)o->io_threads,
        .max_body = o->max_body, .max_connections = o->max_connections,
        .header_timeout_ms = o->header_timeout_ns / 1000000, .idle_timeout_ms = o->idle_timeout_ns / 1000000,
        .handler = api_handle, .user = &s->api,
    };
    struct debug_config dc = {
        .host = o->debug_host, .port = o->debug_port, .token = token,
        .max_connections = o->debug_max_connections, .timeout_ms = o->debug_timeout_ns / 1000000,
        .sources = {.queue = s->queue, .orders = s->orders}, .argc = argc, .argv = argv, .version = BUILDINFO_VERSION,
        .cpu_profile_hz = (int)o->cpu_profile_hz,
    };
    if (!(s->http = httpserver_new(&hc, err, sizeof err))) {
        fprintf(stderr, "orderd: --listen: %s\n", err);
        return -1;
    }
    if (!(s->debug = debug_server_new(&dc, err, sizeof err))) {
        fprintf(stderr, "orderd: --debug-listen: %s\n", err);
        return -1;
    }
    struct workers_config wc = {
        .count = (int)o->workers, .payment_latency_ns = o->payment_latency_ns,
        .queue = s->queue, .orders = s->orders, .catalog = s->catalog,
    };
    if (!(s->workers = workers_start(&wc, err, sizeof err)) || debug_server_start(s->debug, err, sizeof err) < 0 ||
        httpserver_start(s->http, err, sizeof err) < 0) {
        fprintf(stderr, "orderd: %s\n", err);
        return -1;
    }
    return 0;
}

/* Marks the service ready and prints the line whoever started it waits for. */
static void announce_ready(const struct service *s, const struct options *o)
{
    char pub[96], dbg[96];

    /* Ready before the line is printed: whoever waits for the line may probe at once. */
    debug_server_set_ready(s->debug, true);
    format_address(pub, sizeof pub, o->listen_host, httpserver_port(s->http));
    format_address(dbg, sizeof dbg, o->debug_host, debug_server_port(s->debug));
    printf("listening public=%s debug=%s\n", pub, dbg);
    fflush(stdout);
    log_info("orderd started", LOG_F_STR("public", pub), LOG_F_STR("debug", dbg),
             LOG_F_UINT("workers", o->workers), LOG_F_UINT("io_threads", o->io_threads),
             LOG_F_UINT("queue_capacity", o->queue_capacity), LOG_F_UINT("max_connections", o->max_connections),
             LOG_F_UINT("debug_max_connections", o->debug_max_connections),
             LOG_F_STR("instrument", instrument_level_name(o->instrument_level)));
}

/* Waits for SIGTERM or SIGINT and returns which: a failed wait is retried, never
 * taken for a stop. */
static int wait_for_stop(const sigset_t *stop_signals)
{
    int sig = 0;
    for (;;) {
        int wrc = sigwait(stop_signals, &sig);
        if (wrc == 0 && (sig == SIGTERM || sig == SIGINT))
            return sig;
        if (wrc != 0)
            usleep(1000);
    }
}

/* Shutdown: stop taking work, heal every fault so stalled workers and blocked
 * producers can move, finish every accepted order, then report. */
static void service_drain(struct service *s, int sig)
{
    debug_server_set_ready(s->debug, false);
    log_info("shutting down", LOG_F_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    for (int f = 0; f < FAULT_COUNT; f++)
        fault_clear(f);
    httpserver_stop(s->http);
    queue_close(s->queue);
    workers_join(s->workers);
    s->workers = NULL;
    uint64_t in_store[ORDER_STATE_COUNT], done_total, failed_total, accepted_total;
    order_store_counts(s->orders, in_store, &done_total, &failed_total, &accepted_total);
    log_info("orderd stopped", LOG_F_UINT("accepted", accepted_total), LOG_F_UINT("done", done_total),
             LOG_F_UINT("failed", failed_total),
             LOG_F_UINT("rejected", queue_rejected_total(s->queue) + order_store_full_total(s->orders)),
             LOG_F_UINT("rejected_queue_full", queue_rejected_total(s->queue)),
             LOG_F_UINT("rejected_store_full", order_store_full_total(s->orders)),
             LOG_F_UINT("unfinished", in_store[ORDER_QUEUED] + in_store[ORDER_PROCESSING]));
}

/* Joins the workers if still running, then frees what service_start built. */
static void service_free(struct service *s)
{
    if (s->workers) {
        queue_close(s->queue);
        workers_join(s->workers);
    }
    httpserver_free(s->http);
    debug_server_free(s->debug);
    queue_free(s->queue);
    order_store_free(s->orders);
    catalog_free(s->catalog);
}

int main(int argc, char **argv)
{
    struct options o = {
        .listen_host = "127.0.0.1", .listen_port = 8080, .debug_host = "127.0.0.1", .debug_port = 6060,
        .workers = 4, .queue_capacity = 256, .io_threads = 0, .products = 1000, .store_capacity = 65536,
        .max_body = 64 * 1024, .payment_latency_ns = 2000000, .instrument_level = INSTRUMENT_METRICS,
        .mutex_fraction = 10, .block_rate_ns = 10000, .cpu_profile_hz = CPUPROF_DEFAULT_HZ, .mem_profile_rate = HEAPSAMPLE_DEFAULT_RATE, .leak_cap_threads = 2000, .leak_cap_bytes = 256ull << 20,
        .log_format = LOG_FORMAT_JSON, .log_level = LOG_INFO,
        .header_timeout_ns = HTTPSERVER_DEFAULT_HEADER_TIMEOUT_MS * 1000000LL,
        .idle_timeout_ns = HTTPSERVER_DEFAULT_IDLE_TIMEOUT_MS * 1000000LL,
        .debug_timeout_ns = DEBUG_DEFAULT_TIMEOUT_MS * 1000000LL,
    };
    struct service s = {0};
    char *token = NULL;
    sigset_t stop_signals;
    int rc = 1;

    /* The main thread's stack bounds for the heap sampler's frame-pointer walk, before
     * sampling starts (the recording reads /proc/self/maps and may allocate). */
    (void)stacks_fp_thread_bounds(__builtin_frame_address(0));
    int parsed = parse_options(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    if (check_and_set_faults(&o, &token) < 0)
        return 2;
    apply_settings(&o);
    init_process(&o, &stop_signals);
    if (service_start(&s, &o, token, argc, argv) == 0) {
        announce_ready(&s, &o);
        service_drain(&s, wait_for_stop(&stop_signals));
        rc = 0;
    }
    service_free(&s);
    free(token);
    return rc;
}
