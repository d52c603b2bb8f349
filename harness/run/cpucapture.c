/* cpucapture: a CPU profile taken on a thread of its own. See cpucapture.h.
 *
 * The thread owns its client and its result until it ends; the caller reads the
 * result only after `done` is set under the lock, so nothing is shared while both run. */
#include "run/cpucapture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/httpclient.h"
#include "base/pprofproto.h"
#include "store/evidence.h"

#define URL_MAX 1200
#define ANSWER_GRACE_MS 5000   /* past the profile's seconds, for the answer to come */

struct cpucapture {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct httpclient *http;
    char url[URL_MAX];
    long timeout_ms;
    bool done, collected;
    char *text;
    size_t len;
    char err[300];
};

static void *take_profile(void *arg)
{
    struct cpucapture *cc = arg;
    struct httpclient_response resp;
    char err[600], *text = NULL;
    size_t len = 0;

    err[0] = '\0';
    if (httpclient_request(cc->http, "GET", cc->url, NULL, cc->timeout_ms, EVIDENCE_MAX_ITEM, &resp, err,
                           sizeof err) == 0) {
        if (resp.status != 200)
            snprintf(err, sizeof err, "GET /debug/pprof/profile answered %ld", resp.status);
        else if (pprofproto_cpu_text(resp.body, resp.len, &text, &len, err, sizeof err) < 0)
            text = NULL;
    }
    pthread_mutex_lock(&cc->lock);
    cc->text = text;
    cc->len = len;
    snprintf(cc->err, sizeof cc->err, "%s", text ? "" : err);
    cc->done = true;
    pthread_cond_broadcast(&cc->changed);
    pthread_mutex_unlock(&cc->lock);
    return NULL;
}

struct cpucapture *cpucapture_start(const char *debug_base, const char *token_file, int seconds, char *err,
                                    size_t errlen)
{
    struct cpucapture *cc = NULL;
    char token[HTTPCLIENT_MAX_TOKEN + 1];
    bool with_token = token_file && token_file[0];

    if (seconds < 1 || seconds > CPUCAPTURE_MAX_SECONDS) {
        snprintf(err, errlen, "a CPU profile of %d s: outside 1..%d", seconds, CPUCAPTURE_MAX_SECONDS);
        return NULL;
    }
    if (with_token && httpclient_read_token(token_file, token, sizeof token, err, errlen) < 0)
        return NULL;
    if (!(cc = calloc(1, sizeof *cc))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(cc->http = httpclient_new(with_token ? token : NULL, err, errlen))) {
        free(cc);
        return NULL;
    }
    snprintf(cc->url, sizeof cc->url, "%s/debug/pprof/profile?seconds=%d", debug_base, seconds);
    cc->timeout_ms = seconds * 1000L + ANSWER_GRACE_MS;
    pthread_mutex_init(&cc->lock, NULL);
    pthread_cond_init(&cc->changed, NULL);
    if (pthread_create(&cc->thread, NULL, take_profile, cc) != 0) {
        snprintf(err, errlen, "cannot start a thread for the CPU profile");
        pthread_mutex_destroy(&cc->lock);
        pthread_cond_destroy(&cc->changed);
        httpclient_free(cc->http);
        free(cc);
        return NULL;
    }
    return cc;
}

bool cpucapture_done(struct cpucapture *cc, bool wait, char **text, size_t *len, char *err, size_t errlen)
{
    bool done;
    pthread_mutex_lock(&cc->lock);
    while (wait && !cc->done)
        pthread_cond_wait(&cc->changed, &cc->lock);
    done = cc->done && !cc->collected;
    if (done) {
        *text = cc->text;
        *len = cc->len;
        snprintf(err, errlen, "%s", cc->err);
        cc->text = NULL;
        cc->collected = true;
    }
    pthread_mutex_unlock(&cc->lock);
    return done;
}

void cpucapture_free(struct cpucapture *cc)
{
    if (!cc)
        return;
    pthread_join(cc->thread, NULL);
    pthread_mutex_destroy(&cc->lock);
    pthread_cond_destroy(&cc->changed);
    httpclient_free(cc->http);
    free(cc->text);
    free(cc);
}
