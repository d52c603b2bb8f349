/* loadwrk: wrk's command, start and figures. See loadwrk.h. */
#include "run/loadwrk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"

/* snprintf that says whether the text fit. */
static bool fits(int n, size_t size)
{
    return n >= 0 && (size_t)n < size;
}

int loadwrk_write_wrapper(const char *log_dir, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    FILE *f;

    snprintf(path, sizeof path, "%s/wrk.lua", log_dir);
    f = fopen(path, "w");
    if (!f || fputs(wrkres_lua_wrapper, f) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}

/* loadwrk_build with its own connections and threads (a part of a group). */
static int build_part(struct loadwrk_command *cmd, const struct scenario *sc, const char *wrk_path,
                      const char *public_base, const char *log_dir, const char *stage, int64_t load_ns,
                      unsigned connections, unsigned threads, char *err, size_t errlen)
{
    size_t nenv = 0, k = 0;

    memset(cmd, 0, sizeof *cmd);
    snprintf(cmd->threads, sizeof cmd->threads, "%u", threads);
    snprintf(cmd->conns, sizeof cmd->conns, "%u", connections);
    snprintf(cmd->secs, sizeof cmd->secs, "%llds", (long long)(load_ns / 1000000000));
    snprintf(cmd->timeout, sizeof cmd->timeout, "%llds", (long long)(sc->timeout_ns / 1000000000));
    if (!fits(snprintf(cmd->url, sizeof cmd->url, "%s%s", public_base, sc->path), sizeof cmd->url) ||
        !fits(snprintf(cmd->lua, sizeof cmd->lua, "%s/wrk.lua", log_dir), sizeof cmd->lua) ||
        !fits(snprintf(cmd->env_summary, sizeof cmd->env_summary, WRKRES_ENV_SUMMARY "=%s/wrk-%s.json", log_dir,
                       stage), sizeof cmd->env_summary)) {
        snprintf(err, errlen, "wrk's command line is too long");
        return -1;
    }
    cmd->env[nenv++] = cmd->env_summary;
    if (sc->script[0]) {
        snprintf(cmd->env_script, sizeof cmd->env_script, WRKRES_ENV_SCRIPT "=%s", sc->script);
        cmd->env[nenv++] = cmd->env_script;
    }
    snprintf(cmd->env_method, sizeof cmd->env_method, WRKRES_ENV_METHOD "=%s", sc->method);
    cmd->env[nenv++] = cmd->env_method;
    if (sc->body[0]) {
        snprintf(cmd->env_body, sizeof cmd->env_body, WRKRES_ENV_BODY "=%s", sc->body);
        snprintf(cmd->env_type, sizeof cmd->env_type, WRKRES_ENV_CONTENT_TYPE "=%s", sc->content_type);
        cmd->env[nenv++] = cmd->env_body;
        cmd->env[nenv++] = cmd->env_type;
    }
    cmd->argv[k++] = (char *)wrk_path;
    cmd->argv[k++] = "-t";
    cmd->argv[k++] = cmd->threads;
    cmd->argv[k++] = "-c";
    cmd->argv[k++] = cmd->conns;
    cmd->argv[k++] = "-d";
    cmd->argv[k++] = cmd->secs;
    cmd->argv[k++] = "--timeout";
    cmd->argv[k++] = cmd->timeout;
    cmd->argv[k++] = "-s";
    cmd->argv[k++] = cmd->lua;
    cmd->argv[k++] = cmd->url;
    return 0;
}

int loadwrk_build(struct loadwrk_command *cmd, const struct scenario *sc, const char *wrk_path,
                  const char *public_base, const char *log_dir, const char *stage, int64_t load_ns, char *err,
                  size_t errlen)
{
    return build_part(cmd, sc, wrk_path, public_base, log_dir, stage, load_ns, sc->connections, sc->threads, err,
                      errlen);
}

static int spawn_part(const struct scenario *sc, const char *wrk_path, const char *public_base, const char *log_dir,
                      const char *stage, int64_t load_ns, unsigned connections, unsigned threads, pid_t *pid,
                      char *err, size_t errlen)
{
    struct loadwrk_command *cmd = malloc(sizeof *cmd);
    struct childproc_spec spec = {0};
    char path[PATH_MAX + 32];
    int log = -1, rc = -1;

    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (build_part(cmd, sc, wrk_path, public_base, log_dir, stage, load_ns, connections, threads, err, errlen) < 0)
        goto done;
    snprintf(path, sizeof path, "%s/wrk-%s.log", log_dir, stage);
    if ((log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    spec.argv = cmd->argv;
    spec.env_add = cmd->env;
    spec.stdout_fd = log;
    spec.stderr_fd = log;
    spec.cpus = sc->load_cpu_list[0] ? &sc->load_cpus : NULL;
    rc = childproc_spawn(&spec, pid, NULL, err, errlen);
done:
    if (log >= 0)
        close(log);
    free(cmd);
    return rc;
}

int loadwrk_spawn(const struct scenario *sc, const char *wrk_path, const char *public_base, const char *log_dir,
                  const char *stage, int64_t load_ns, pid_t *pid, char *err, size_t errlen)
{
    return spawn_part(sc, wrk_path, public_base, log_dir, stage, load_ns, sc->connections, sc->threads, pid, err,
                      errlen);
}

/* The stage name of part k (from 0) of a group of n: "measure", or "measure-2". */
static void part_stage(const char *stage, size_t k, size_t n, char *out, size_t outlen)
{
    if (n == 1)
        snprintf(out, outlen, "%s", stage);
    else
        snprintf(out, outlen, "%s-%zu", stage, k + 1);
}

int loadwrk_group_spawn(const struct scenario *sc, const char *wrk_path, const char *public_base, const char *log_dir,
                        const char *stage, int64_t load_ns, struct loadwrk_group *g, char *err, size_t errlen)
{
    size_t n = sc->ntargets ? sc->ntargets : 1;
    char name[64];

    memset(g, 0, sizeof *g);
    for (size_t k = 0; k < n; k++) {
        unsigned conns = sc->connections / (unsigned)n + (k < sc->connections % n);
        unsigned threads = sc->threads / (unsigned)n + (k < sc->threads % n);
        if (threads < 1)
            threads = 1;
        if (threads > conns)
            threads = conns;
        part_stage(stage, k, n, name, sizeof name);
        if (spawn_part(sc, wrk_path, sc->ntargets ? sc->targets[k] : public_base, log_dir, name, load_ns, conns,
                       threads, &g->pid[k], err, errlen) < 0) {
            loadwrk_group_stop(g, 0);
            return -1;
        }
        g->n = g->running = k + 1;
    }
    return 0;
}

int loadwrk_group_poll(struct loadwrk_group *g)
{
    for (size_t k = 0; k < g->n; k++)
        if (g->pid[k] && childproc_poll(g->pid[k], &g->status[k]) == 1) {
            g->pid[k] = 0;
            g->running--;
        }
    return g->running == 0;
}

void loadwrk_group_signal(const struct loadwrk_group *g, int sig)
{
    for (size_t k = 0; k < g->n; k++)
        if (g->pid[k])
            kill(g->pid[k], sig);
}

void loadwrk_group_stop(struct loadwrk_group *g, int grace_ms)
{
    for (size_t k = 0; k < g->n; k++)
        if (g->pid[k]) {
            childproc_stop(g->pid[k], grace_ms, &g->status[k]);
            g->pid[k] = 0;
        }
    g->running = 0;
}

int loadwrk_group_collect(const struct loadwrk_group *g, const char *log_dir, const char *stage, struct wrkres *res,
                          char *err, size_t errlen)
{
    char name[64];

    memset(res, 0, sizeof *res);
    for (size_t k = 0; k < g->n; k++) {
        struct wrkres part;
        part_stage(stage, k, g->n, name, sizeof name);
        if (loadwrk_collect(log_dir, name, g->status[k], &part, err, errlen) < 0)
            return -1;
        wrkres_merge(res, &part);
    }
    return 0;
}

int loadwrk_collect(const char *log_dir, const char *stage, int status, struct wrkres *res, char *err,
                    size_t errlen)
{
    char how[128], path[PATH_MAX + 32], tail[300];

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(path, sizeof path, "%s/wrk-%s.log", log_dir, stage);
        childproc_log_last_line(path, tail, sizeof tail);
        snprintf(err, errlen, "wrk %s during %s (log %s%s%s)", childproc_describe_status(status, how, sizeof how),
                 stage, path, tail[0] ? ": " : "", tail);
        return -1;
    }
    snprintf(path, sizeof path, "%s/wrk-%s.json", log_dir, stage);
    return wrkres_load(path, res, err, errlen);
}
