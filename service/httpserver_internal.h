/* httpserver_internal: the private structs of the HTTP server and the calls its files
 * make to each other. Only service/httpserver*.c (and the fuzz target that drives one
 * I/O thread by hand) include this; everyone else sees httpserver.h.
 *
 * The server is four files by responsibility: httpserver.c (the listeners, the I/O
 * threads, accepting, start and stop), httpserver_conn.c (one connection's reads,
 * writes, timeouts, back-pressure and lingering close), httpserver_request.c
 * (http_parser's callbacks: the request's limits, the headers kept, the handler call)
 * and httpserver_response.c (the response API handlers use, and its serialization).
 * They share the connection and thread structs, hence this header. */
#ifndef ORDERD_HTTPSERVER_INTERNAL_H
#define ORDERD_HTTPSERVER_INTERNAL_H

#include "httpserver.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#define READ_CHUNK 16384
#define OUT_HIGH_WATER (256 * 1024)   /* stop reading and parsing while this much is unsent */
#define EXTRA_HEADERS_MAX 256
#define ID_MAX 128

struct buf {
    char *data;
    size_t len, cap;
};

enum wanted_header { HDR_NONE, HDR_REQUEST_ID, HDR_TRACEPARENT };

struct httpserver_response {
    int status;
    const char *content_type;
    char extra[EXTRA_HEADERS_MAX];
    size_t extra_len;
    struct buf body;
    bool failed;
};

struct io_thread;

struct conn {
    int fd;
    struct io_thread *thread;
    struct event *read_ev, *write_ev;
    http_parser parser;
    /* The request being parsed. */
    char url[HTTPSERVER_HEADER_MAX];
    size_t url_len, header_bytes;
    char field[32];
    size_t field_len;
    bool field_too_long, in_value;
    enum wanted_header current;
    char request_id[ID_MAX], traceparent[ID_MAX];
    size_t request_id_len, traceparent_len;
    bool has_request_id, has_traceparent, request_id_too_long;
    struct buf body;
    int early_status;            /* 413/431 found while parsing: answer, then close */
    bool close_after_write;
    bool linger;                 /* after the last write, half-close and drain the input */
    bool lingering;              /* half-closed; reading only to discard */
    bool in_request;             /* bytes of a request have come, its end has not */
    bool paused;                 /* parser paused: output above the high-water mark */
    enum { ARMED_NONE, ARMED_IDLE, ARMED_DEADLINE } armed;
    int64_t deadline_ns;         /* for the request head (or body) in progress; linger end */
    struct buf pending;          /* input read but not parsed while paused */
    struct httpserver_response resp;
    struct buf out;
    struct conn *prev, *next;
};

struct io_thread {
    struct httpserver *server;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *stop_ev;
    pthread_t thread;
    bool started;
    int listen_fd;
    struct connlimit_listener_guard *guard;
    const struct timeval *idle_tv;   /* the idle timeout as a common timeout of base */
    size_t nconns;
    struct conn *conns;
    char read_buf[READ_CHUNK];
};

struct httpserver {
    struct httpserver_config cfg;
    char host[64];
    int port;
    struct io_thread *threads;
    bool stopped;
    _Atomic size_t open;   /* connections on every I/O thread */
};

static inline struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

/* httpserver_response.c: a growable buffer, and the reply's serialization. */

/* Makes room for more bytes. Returns 0, or -1 out of memory (b unchanged). */
int httpserver_buf_reserve(struct buf *b, size_t more);
/* Appends len bytes. Returns 0, or -1 out of memory (b unchanged). */
int httpserver_buf_append(struct buf *b, const char *data, size_t len);
/* Drops the first n bytes (sent). */
void httpserver_buf_consume(struct buf *b, size_t n);
/* Empties a response for the next request; its body's memory is kept. */
void httpserver_response_reset(struct httpserver_response *r);
/* Serializes c->resp into c->out (a 500 if the handler set no status or ran out of
 * memory); without keep_alive, or out of memory, the connection closes after it. */
void httpserver_response_emit(struct conn *c, bool keep_alive, bool head_only);

/* httpserver_request.c: parsing requests off a connection. */

/* Sets up the parser callbacks; called once, before any connection. */
void httpserver_request_init(void);
/* Parses len bytes. Returns how many were taken: fewer when the parser paused (the
 * caller keeps the rest) or failed (an error reply is then queued). */
size_t httpserver_request_parse(struct conn *c, const char *data, size_t len);
/* Queues an error reply (400, 408, 413, 431 or 500) after which the connection is
 * half-closed and drained, and counts it against the connection limits. */
void httpserver_request_reject(struct conn *c, int status);

/* httpserver_conn.c: one connection's life on its I/O thread. */

/* Takes an accepted socket onto thread t and starts reading. Returns 0, or -1 out of
 * memory, with fd left open and the caller's connection count unchanged. */
int httpserver_conn_open(struct io_thread *t, int fd);
/* Closes the socket, frees the connection and drops it from its thread's counts. */
void httpserver_conn_close(struct conn *c);

#endif
