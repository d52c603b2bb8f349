/* loadwrk: the load generator's side of a run — wrk's command line and environment
 * for a stage ("warmup" or "measure"), its start, and what it measured.
 *
 * wrk runs the wrapper script LOG_DIR/wrk.lua (wrkres.h), which loads the scenario's
 * own script if any and writes wrk's figures as JSON to LOG_DIR/wrk-STAGE.json; its
 * output goes to LOG_DIR/wrk-STAGE.log. The command is built apart from the spawn, so
 * that it can be checked without running wrk. */
#ifndef LOADLAB_LOADWRK_H
#define LOADLAB_LOADWRK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/wrkres.h"
#include "run/scenario.h"

/* wrk's argv and the variables added to its environment, with their storage. */
struct loadwrk_command {
    char *argv[14];
    char *env[6];
    char threads[16], conns[16], secs[32], timeout[32];
    char url[2 * SCENARIO_MAX_TEXT + 16], lua[PATH_MAX + 16];
    char env_summary[PATH_MAX + 64], env_script[SCENARIO_MAX_TEXT + 32], env_method[64];
    char env_body[SCENARIO_MAX_TEXT + 32], env_type[200];
};

/* Writes the wrapper script into log_dir. Returns 0, or -1 with err filled. */
int loadwrk_write_wrapper(const char *log_dir, char *err, size_t errlen);

/* Builds the command for one stage of load_ns (whole seconds) against public_base.
 * Returns 0, or -1 with err filled when a part does not fit. */
int loadwrk_build(struct loadwrk_command *cmd, const struct scenario *sc, const char *wrk_path,
                  const char *public_base, const char *log_dir, const char *stage, int64_t load_ns, char *err,
                  size_t errlen);

/* Builds and starts wrk for the stage (pinned to [load] cpu if given). Returns 0 with
 * *pid set, or -1 with err filled. */
int loadwrk_spawn(const struct scenario *sc, const char *wrk_path, const char *public_base, const char *log_dir,
                  const char *stage, int64_t load_ns, pid_t *pid, char *err, size_t errlen);

/* The wrk processes of one stage: one for a single url, one per target for a list
 * (`[service] url = A, B, C`), the connections and threads split evenly among them,
 * each writing LOG_DIR/wrk-STAGE-K.{json,log} (K from 1; plain wrk-STAGE for one). */
struct loadwrk_group {
    pid_t pid[SCENARIO_MAX_TARGETS];
    int status[SCENARIO_MAX_TARGETS];
    size_t n, running;
};

/* Starts the stage's wrk processes against public_base, or against every target of
 * sc. Returns 0 with g filled, or -1 with err filled (those already started are
 * stopped). */
int loadwrk_group_spawn(const struct scenario *sc, const char *wrk_path, const char *public_base, const char *log_dir,
                        const char *stage, int64_t load_ns, struct loadwrk_group *g, char *err, size_t errlen);

/* Reaps those that ended. Returns 1 when none runs any more, else 0. */
int loadwrk_group_poll(struct loadwrk_group *g);

/* Sends sig to every one still running. */
void loadwrk_group_signal(const struct loadwrk_group *g, int sig);

/* Stops every one still running (childproc_stop with grace_ms). */
void loadwrk_group_stop(struct loadwrk_group *g, int grace_ms);

/* What the ended group measured, merged (wrkres_merge) into res. Returns 0, or -1
 * with err filled as loadwrk_collect, naming the part that failed. */
int loadwrk_group_collect(const struct loadwrk_group *g, const char *log_dir, const char *stage, struct wrkres *res,
                          char *err, size_t errlen);

/* Reads what wrk measured in the stage once it exited with status. Returns 0, or -1
 * with err filled (wrk failed: its status and the last line of its log; or its JSON
 * could not be read). */
int loadwrk_collect(const char *log_dir, const char *stage, int status, struct wrkres *res, char *err,
                    size_t errlen);

#endif
