/* debug_control: the routes that change the running service: /debug/faults (list,
 * read, set and clear the injected faults) and /debug/config (instrumentation level,
 * profile rates, log level). Apart from the read-outs because each validates a body
 * before it changes anything, and logs what it changed. */
#include "debug_internal.h"

#include "fault.h"
#include "instrument.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *fault_json(enum fault_id id)
{
    struct fault_status st;
    fault_status(id, &st);
    return json_pack("{s:s,s:b,s:s,s:I,s:I,s:I,s:b,s:s}", "name", st.name, "on", st.on, "term", st.term,
                     "fired", (json_int_t)st.fired, "held_threads", (json_int_t)st.held_threads,
                     "held_bytes", (json_int_t)st.held_bytes, "capped", st.capped, "culprit", st.culprit);
}

void debug_route_faults(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    (void)d;

    if (rest[0] == '\0') {
        if (method != EVHTTP_REQ_GET) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
            debug_reply_error(req, 405, "method not allowed: use GET, or PUT/DELETE /debug/faults/NAME", NULL, NULL);
            return;
        }
        json_t *list = json_array();
        for (int f = 0; f < FAULT_COUNT; f++)
            json_array_append_new(list, fault_json(f));
        json_t *root = json_pack("{s:o}", "faults", list);
        debug_reply_json(req, 200, root);
        json_decref(root);
        return;
    }
    int id = fault_lookup(rest);
    if (id < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown fault '%.64s' (known: leak.threads, leak.memory, lock.cache, "
                 "queue.stall, queue.block, slow)", rest);
        debug_reply_error(req, 404, msg, "fault", rest);
        return;
    }
    if (method == EVHTTP_REQ_GET) {
        json_t *o = fault_json(id);
        debug_reply_json(req, 200, o);
        json_decref(o);
        return;
    }
    if (method == EVHTTP_REQ_DELETE) {
        fault_clear(id);
        log_info("fault cleared", LOG_F_STR("fault", fault_name(id)));
        json_t *o = fault_json(id);
        debug_reply_json(req, 200, o);
        json_decref(o);
        return;
    }
    if (method != EVHTTP_REQ_PUT) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, PUT, DELETE");
        debug_reply_error(req, 405, "method not allowed", NULL, NULL);
        return;
    }
    size_t len;
    char *body = debug_read_body(req, &len), err[256];
    struct fault_term term;
    if (!body) {
        debug_reply_error(req, 413, "term too long", "fault", fault_name(id));
        return;
    }
    /* The term may arrive with a trailing newline from curl -d @file or echo. */
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
        body[--len] = '\0';
    if (fault_term_parse(id, body, &term, err, sizeof err) < 0) {
        debug_reply_error(req, 400, err, "term", body);
        free(body);
        return;
    }
    if (term.on)
        fault_set(id, &term);
    else
        fault_clear(id);
    log_info("fault set", LOG_F_STR("fault", fault_name(id)), LOG_F_STR("term", body));
    free(body);
    json_t *o = fault_json(id);
    debug_reply_json(req, 200, o);
    json_decref(o);
}

static json_t *config_json(void)
{
    return json_pack("{s:s,s:I,s:I,s:s}", "instrument", instrument_level_name(atomic_load(&instrument.level)),
                     "mutex_profile_fraction", (json_int_t)atomic_load(&instrument.mutex_fraction),
                     "block_profile_rate", (json_int_t)atomic_load(&instrument.block_rate_ns),
                     "log_level", log_level_name(log_get_level()));
}

/* Validates every field before applying any, so a bad PUT changes nothing. */
static void config_put(struct evhttp_request *req)
{
    size_t len;
    char *body = debug_read_body(req, &len);
    json_error_t jerr;
    json_t *in = NULL, *v;
    const char *key;
    int level = -1, log_level = -1;
    json_int_t fraction = -1, rate = -1;
    char msg[256];

    if (!body) {
        debug_reply_error(req, 413, "body too large", NULL, NULL);
        return;
    }
    in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!in || !json_is_object(in)) {
        snprintf(msg, sizeof msg, "body must be a JSON object%s%s", in ? "" : ": ", in ? "" : jerr.text);
        debug_reply_error(req, 400, msg, NULL, NULL);
        goto done;
    }
    json_object_foreach(in, key, v) {
        if (strcmp(key, "instrument") == 0) {
            if (!json_is_string(v) || (level = instrument_level_parse(json_string_value(v))) < 0) {
                debug_reply_error(req, 400, "instrument must be \"off\", \"metrics\" or \"profile\"", "field", key);
                goto done;
            }
        } else if (strcmp(key, "log_level") == 0) {
            if (!json_is_string(v) || (log_level = log_level_parse(json_string_value(v))) < 0) {
                debug_reply_error(req, 400, "log_level must be debug, info, warn or error", "field", key);
                goto done;
            }
        } else if (strcmp(key, "mutex_profile_fraction") == 0) {
            if (!json_is_integer(v) || (fraction = json_integer_value(v)) < 0) {
                debug_reply_error(req, 400, "mutex_profile_fraction must be a whole number >= 0", "field", key);
                goto done;
            }
        } else if (strcmp(key, "block_profile_rate") == 0) {
            if (!json_is_integer(v) || (rate = json_integer_value(v)) < 0) {
                debug_reply_error(req, 400, "block_profile_rate must be a whole number of nanoseconds >= 0", "field", key);
                goto done;
            }
        } else {
            snprintf(msg, sizeof msg, "unknown field '%.64s' (known: instrument, mutex_profile_fraction, "
                     "block_profile_rate, log_level)", key);
            debug_reply_error(req, 400, msg, "field", key);
            goto done;
        }
    }
    if (level >= 0)
        atomic_store(&instrument.level, level);
    if (fraction >= 0)
        atomic_store(&instrument.mutex_fraction, (int64_t)fraction);
    if (rate >= 0)
        atomic_store(&instrument.block_rate_ns, (int64_t)rate);
    if (log_level >= 0)
        log_set_level(log_level);
    json_t *out = config_json();
    log_info("config changed", LOG_F_STR("instrument", instrument_level_name(atomic_load(&instrument.level))));
    debug_reply_json(req, 200, out);
    json_decref(out);
done:
    json_decref(in);
}

void debug_route_config(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    (void)d; (void)rest;

    if (method == EVHTTP_REQ_GET) {
        json_t *o = config_json();
        debug_reply_json(req, 200, o);
        json_decref(o);
    } else if (method == EVHTTP_REQ_PUT) {
        config_put(req);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, PUT");
        debug_reply_error(req, 405, "method not allowed", NULL, NULL);
    }
}
