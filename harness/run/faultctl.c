/* faultctl: faults over the debug API, and their phase rows. See faultctl.h. */
#include "run/faultctl.h"

#include <stdio.h>
#include <string.h>

#define MAX_ANSWER 65536

int faultctl_call(struct httpclient *http, const char *debug_base, const char *method, const char *fault,
                  const char *term, char *err, size_t errlen)
{
    char url[2048];
    struct httpclient_response resp;

    snprintf(url, sizeof url, "%s/debug/faults/%s", debug_base, fault);
    if (httpclient_request(http, method, url, term, 2000, MAX_ANSWER, &resp, err, errlen) < 0)
        return -1;
    if (resp.status != 200 && resp.status != 204) {
        snprintf(err, errlen, "%s %.300s%s%s answered %ld: %.200s", method, url, term ? " " : "",
                 term ? term : "", resp.status, resp.body);
        return -1;
    }
    return 0;
}

static size_t find_active(const struct faultctl *fc, const char *fault)
{
    size_t i;
    for (i = 0; i < fc->nactive; i++)
        if (strcmp(fc->active[i].name, fault) == 0)
            break;
    return i;
}

/* Closes the phase row of active fault i and forgets it. */
static int close_active(struct faultctl *fc, size_t i, double t, char *err, size_t errlen)
{
    int rc = resultdb_phase_off(fc->db, fc->active[i].phase_id, t, err, errlen);
    fc->active[i] = fc->active[--fc->nactive];
    return rc;
}

int faultctl_set(struct faultctl *fc, const char *phase, const struct scenario_fault *f, double t, char *err,
                 size_t errlen)
{
    size_t a = find_active(fc, f->name);

    if (strcmp(f->term, "off") == 0)
        return faultctl_clear(fc, f->name, t, err, errlen);
    if (faultctl_call(fc->http, fc->debug_base, "PUT", f->name, f->term, err, errlen) < 0)
        return -1;
    if (a < fc->nactive && close_active(fc, a, t, err, errlen) < 0)
        return -1;
    a = fc->nactive++;
    snprintf(fc->active[a].name, sizeof fc->active[a].name, "%s", f->name);
    return resultdb_phase_on(fc->db, fc->run_id, phase, f->name, f->term, t, &fc->active[a].phase_id, err,
                             errlen);
}

int faultctl_clear(struct faultctl *fc, const char *fault, double t, char *err, size_t errlen)
{
    size_t a = find_active(fc, fault);
    if (faultctl_call(fc->http, fc->debug_base, "DELETE", fault, NULL, err, errlen) < 0)
        return -1;
    return a < fc->nactive ? close_active(fc, a, t, err, errlen) : 0;
}

int faultctl_clear_last(struct faultctl *fc, double t, char *err, size_t errlen)
{
    size_t last;
    char why[800];

    if (fc->nactive == 0)
        return 0;
    last = fc->nactive - 1;
    if (faultctl_call(fc->http, fc->debug_base, "DELETE", fc->active[last].name, NULL, why, sizeof why) < 0) {
        snprintf(err, errlen, "could not clear fault %s: %s", fc->active[last].name, why);
        fc->nactive--;
        return -1;
    }
    return close_active(fc, last, t, err, errlen);
}
