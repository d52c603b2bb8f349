/* metric_names: the names of the metrics orderd exposes and loadlab reads.
 *
 * orderd writes them (service/metrics.c) and loadlab's gates, charts, capture and
 * diagnosis read them; one header both include, so a renamed metric breaks the build
 * instead of silently emptying a chart or a rule. The process_* names are Prometheus'
 * standard process metrics, which loadlab reads from any service that has them. */
#ifndef LOADLAB_METRIC_NAMES_H
#define LOADLAB_METRIC_NAMES_H

#define METRIC_ORDERD_THREADS "orderd_threads"
#define METRIC_ORDERD_QUEUE_DEPTH "orderd_queue_depth"
#define METRIC_ORDERD_QUEUE_CAPACITY "orderd_queue_capacity"
#define METRIC_ORDERD_QUEUE_ENQUEUED "orderd_queue_enqueued_total"
#define METRIC_ORDERD_QUEUE_REJECTED "orderd_queue_rejected_total"
#define METRIC_ORDERD_QUEUE_WAIT "orderd_queue_wait_seconds"
#define METRIC_ORDERD_MUTEX_WAIT "orderd_mutex_wait_seconds_total"
/* The lock label of orderd's job queue: waits there are its handoff of jobs. */
#define ORDERD_QUEUE_LOCK "queue"
#define METRIC_ORDERD_MUTEX_CONTENTIONS "orderd_mutex_contentions_total"
#define METRIC_ORDERD_BLOCK_SECONDS "orderd_block_seconds_total"
#define METRIC_ORDERD_BLOCK_EVENTS "orderd_block_events_total"
#define METRIC_ORDERD_HTTP_REQUESTS "orderd_http_requests_total"
#define METRIC_ORDERD_HTTP_DURATION "orderd_http_request_duration_seconds"
#define METRIC_ORDERD_HTTP_DURATION_BUCKET "orderd_http_request_duration_seconds_bucket"
#define METRIC_ORDERD_LEAKED_BYTES "orderd_leaked_bytes"
#define METRIC_ORDERD_LEAKED_THREADS "orderd_leaked_threads"

#define METRIC_PROCESS_THREADS "process_threads"
#define METRIC_PROCESS_RSS "process_resident_memory_bytes"
#define METRIC_PROCESS_CPU "process_cpu_seconds_total"
#define METRIC_PROCESS_OPEN_FDS "process_open_fds"
#define METRIC_PROCESS_START_TIME "process_start_time_seconds"

/* Go's runtime metrics (client_golang's Go collector): a Go service has no
 * process_threads, and its leaks are goroutines. */
#define METRIC_GO_GOROUTINES "go_goroutines"
#define METRIC_GO_THREADS "go_threads"

#endif
