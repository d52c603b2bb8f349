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

/* Reads what wrk measured in the stage once it exited with status. Returns 0, or -1
 * with err filled (wrk failed: its status and the last line of its log; or its JSON
 * could not be read). */
int loadwrk_collect(const char *log_dir, const char *stage, int status, struct wrkres *res, char *err,
                    size_t errlen);

#endif
