/* xpath: files read back through xmllint. See xpath.h. */
#include "xpath.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"

#define XPATH_MAX_ANSWER (1u << 20)

/* Runs xmllint with args; its stdout (caller frees) and exit status. stderr is kept
 * in *complaint when complaint is non-NULL, else dropped. */
static char *xmllint(const char *const *args, int *status, char **complaint)
{
    char *argv[8], err[256], *answer = calloc(1, XPATH_MAX_ANSWER);
    FILE *out = tmpfile(), *errs = complaint ? tmpfile() : NULL;
    struct childproc_spec spec = {.argv = argv, .stderr_fd = CHILDPROC_NULL};
    size_t n = 0;
    pid_t pid;

    if (!answer || !out || (complaint && !errs))
        fail_msg("xpath: out of memory or no temporary file");
    argv[n++] = "xmllint";
    for (size_t i = 0; args[i] && n < 7; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    spec.stdout_fd = fileno(out);
    if (errs)
        spec.stderr_fd = fileno(errs);
    if (childproc_spawn(&spec, &pid, NULL, err, sizeof err) < 0)
        fail_msg("xpath: %s", err);
    if (waitpid(pid, status, 0) != pid)
        fail_msg("xpath: xmllint was not reaped");
    rewind(out);
    n = fread(answer, 1, XPATH_MAX_ANSWER - 1, out);
    answer[n] = '\0';
    fclose(out);
    if (errs) {
        *complaint = calloc(1, 4096);
        rewind(errs);
        if (*complaint)
            (*complaint)[fread(*complaint, 1, 4095, errs)] = '\0';
        fclose(errs);
    }
    return answer;
}

char *xpath_eval(const char *path, bool html, const char *expr)
{
    const char *args[] = {"--xpath", expr, path, NULL, NULL};
    char *answer;
    size_t len;
    int status;

    if (html) {
        args[0] = "--html";
        args[1] = "--xpath";
        args[2] = expr;
        args[3] = path;
    }
    answer = xmllint(args, &status, NULL);
    /* xmllint exits 10 when a node set is empty: a valid answer, "". */
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 10))
        fail_msg("xmllint --xpath '%s' %s failed (status %d)", expr, path, status);
    len = strlen(answer);
    if (len && answer[len - 1] == '\n')
        answer[len - 1] = '\0';
    return answer;
}

long xpath_number(const char *path, bool html, const char *expr)
{
    char *answer = xpath_eval(path, html, expr), *end;
    long n = strtol(answer, &end, 10);
    if (end == answer || *end)
        fail_msg("xpath %s: '%s' is not a number", expr, answer);
    free(answer);
    return n;
}

void xpath_assert_well_formed(const char *path)
{
    const char *args[] = {"--noout", path, NULL};
    char *complaint = NULL, *answer;
    int status;

    answer = xmllint(args, &status, &complaint);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s is not well-formed XML: %s", path, complaint ? complaint : "");
    free(answer);
    free(complaint);
}

void xpath_assert_string(const char *path, bool html, const char *expr, const char *expected)
{
    char *answer = xpath_eval(path, html, expr);
    if (strcmp(answer, expected) != 0)
        fail_msg("%s in %s:\n  got      '%s'\n  expected '%s'", expr, path, answer, expected);
    free(answer);
}
