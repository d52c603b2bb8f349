/* fuzz_httpserver: orderd's public HTTP server, fed a request stream in chunks through
 * its real connection code and the real API handler.
 *
 * The server's connection path is private to service/httpserver*.c, so this target
 * builds service/httpserver.c (the accept callback, on_accept) into itself, sees the
 * I/O thread's struct through httpserver_internal.h, takes the connection and parser
 * code from liborderd, and drives one I/O thread's event loop on this thread:
 * each input is one connection, a socketpair whose server end is handed to the
 * accept callback. The first byte seeds the chunk sizes (1..128 bytes), the rest is
 * what the client sends; after each chunk the loop runs until the server has read
 * it, so a request split anywhere is parsed across reads. The client then closes its
 * side and reads until the server closes, checking every answer is HTTP/1.1. Nothing
 * listens beyond 127.0.0.1, and no thread is started. */
#include "../../service/httpserver.c"

#include "api.h"
#include "catalog.h"
#include "heapprof.h"
#include "log.h"
#include "orders.h"
#include "queue.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY 4096
#define MAX_ROUNDS 10000

static struct httpserver *server;
static struct io_thread *io;
static struct api api;
static char answer[65536];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

    (void)argc; (void)argv;
    signal(SIGPIPE, SIG_IGN);
    log_configure(devnull >= 0 ? devnull : STDERR_FILENO, LOG_FORMAT_JSON, LOG_DEBUG);
    api.catalog = catalog_new(100, 8);
    api.orders = order_store_new(1024);
    api.queue = queue_new(64);
    struct httpserver_config cfg = {
        .host = "127.0.0.1", .port = 0, .io_threads = 1, .max_body = MAX_BODY,
        .handler = api_handle, .user = &api,
    };
    if (!api.catalog || !api.orders || !api.queue || !(server = httpserver_new(&cfg, err, sizeof err))) {
        fprintf(stderr, "fuzz_httpserver: cannot set up: %s\n", server ? "" : err);
        abort();
    }
    io = &server->threads[0];
    return 0;
}

/* Reads what the server sent so far. Returns 1 once the server closed its end. */
static int drain_answers(int fd, size_t *total)
{
    for (;;) {
        ssize_t n = read(fd, answer, sizeof answer);
        if (n > 0) {
            if (*total == 0 && (n < 9 || memcmp(answer, "HTTP/1.1 ", 9) != 0)) {
                fprintf(stderr, "answer does not start with a status line: %.*s\n", (int)(n < 64 ? n : 64), answer);
                abort();
            }
            *total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
}

/* Workers are not running: take the orders the handler queued, as a worker would. */
static void drain_queue(void)
{
    while (queue_depth(api.queue) > 0) {
        struct order_job *job = queue_pop(api.queue, NULL);
        if (!job)
            break;
        order_store_update(api.orders, job->order_id, ORDER_DONE, 0, NULL);
        heapprof_free(job);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2];
    uint32_t seed;
    size_t pos = 1, total = 0;
    int closed = 0;

    if (size < 1)
        return 0;
    seed = data[0] * 2654435761u + 1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
        abort();
    on_accept(io->listener, fds[0], NULL, 0, io);
    if (!io->conns)
        abort();
    while (pos < size && !closed) {
        size_t chunk;
        seed = seed * 1103515245u + 12345u;
        chunk = 1 + (seed >> 16) % 128;
        if (chunk > size - pos)
            chunk = size - pos;
        ssize_t n = write(fds[1], data + pos, chunk);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            n = 0;   /* the server stopped reading (back-pressure): let it write */
        else if (n < 0)
            break;   /* it closed the connection */
        pos += (size_t)n;
        event_base_loop(io->base, EVLOOP_NONBLOCK);
        closed = drain_answers(fds[1], &total);
    }
    shutdown(fds[1], SHUT_WR);
    for (int round = 0; io->conns && round < MAX_ROUNDS; round++) {
        event_base_loop(io->base, EVLOOP_NONBLOCK);
        drain_answers(fds[1], &total);
    }
    if (io->conns) {
        fprintf(stderr, "the server kept the connection after the client closed it\n");
        abort();
    }
    drain_answers(fds[1], &total);
    close(fds[1]);
    drain_queue();
    return 0;
}
