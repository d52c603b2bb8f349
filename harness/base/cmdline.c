/* cmdline: shell-like splitting of a scenario's command line. See cmdline.h.
 * Deliberately small: no globbing, pipes, redirections or command substitution, so
 * what a scenario says is exactly what runs. */
#include "base/cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cmdline {
    char *argv[CMDLINE_MAX_ARGS + 1];
    size_t argc;
};

struct word {
    char text[CMDLINE_MAX_LEN];
    size_t len;
    bool started;  /* "" is a word; nothing at all is not */
};

static int word_put(struct word *w, char c)
{
    if (w->len + 1 >= sizeof w->text)
        return -1;
    w->text[w->len++] = c;
    w->started = true;
    return 0;
}

static int word_put_str(struct word *w, const char *s)
{
    w->started = true;
    for (; *s; s++)
        if (word_put(w, *s) < 0)
            return -1;
    return 0;
}

static int push_word(struct cmdline *cl, struct word *w, char *err, size_t errlen)
{
    w->text[w->len] = '\0';
    if (cmdline_append(cl, w->text, err, errlen) < 0)
        return -1;
    w->len = 0;
    w->started = false;
    return 0;
}

/* Expands "${NAME}" or "${NAME:-default}" starting at *p (pointing at '$').
 * Advances *p past the closing brace. Returns 0 or -1 with err filled. */
static int expand_variable(const char **p, struct word *w, char *err, size_t errlen)
{
    const char *start = *p + 2, *close = strchr(start, '}');
    char name[128];
    const char *colon, *value;
    size_t namelen;

    if (!close) {
        snprintf(err, errlen, "unterminated ${ in command");
        return -1;
    }
    colon = memchr(start, ':', (size_t)(close - start));
    namelen = (size_t)((colon ? colon : close) - start);
    if (namelen == 0 || namelen >= sizeof name) {
        snprintf(err, errlen, "bad variable name in ${...} in command");
        return -1;
    }
    memcpy(name, start, namelen);
    name[namelen] = '\0';
    for (size_t i = 0; i < namelen; i++) {
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_') || isdigit((unsigned char)name[0])) {
            snprintf(err, errlen, "bad variable name '%s' in command", name);
            return -1;
        }
    }
    if (colon && colon[1] != '-') {
        snprintf(err, errlen, "only ${NAME} and ${NAME:-default} are supported in command");
        return -1;
    }
    value = getenv(name);
    if (colon && (!value || !*value)) {
        size_t dlen = (size_t)(close - (colon + 2));
        for (size_t i = 0; i < dlen; i++)
            if (word_put(w, colon[2 + i]) < 0)
                goto too_long;
        w->started = true;
    } else if (value && *value && word_put_str(w, value) < 0) {
        goto too_long;
    }
    /* as in the shell, an unset or empty ${NAME} alone is no word at all ("${NAME}"
     * is one: the quote started it) */
    *p = close + 1;
    return 0;
too_long:
    snprintf(err, errlen, "command word longer than %d bytes", CMDLINE_MAX_LEN - 1);
    return -1;
}

struct cmdline *cmdline_parse(const char *text, char *err, size_t errlen)
{
    struct cmdline *cl = calloc(1, sizeof *cl);
    struct word *w = calloc(1, sizeof *w);
    const char *p = text;
    char quote = 0;

    if (!cl || !w) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (strlen(text) >= CMDLINE_MAX_LEN) {
        snprintf(err, errlen, "command longer than %d bytes", CMDLINE_MAX_LEN - 1);
        goto fail;
    }
    while (*p) {
        char c = *p;
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else if (word_put(w, c) < 0)
                goto too_long;
            p++;
        } else if (c == '$' && p[1] == '{') {
            if (expand_variable(&p, w, err, errlen) < 0)
                goto fail;
        } else if (quote == '"') {
            if (c == '"') {
                quote = 0;
            } else if (c == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
                p++;
                if (word_put(w, *p) < 0)
                    goto too_long;
            } else if (word_put(w, c) < 0) {
                goto too_long;
            }
            p++;
        } else if (c == '\'' || c == '"') {
            quote = c;
            w->started = true;
            p++;
        } else if (c == '\\') {
            if (!p[1]) {
                snprintf(err, errlen, "command ends with a lone backslash");
                goto fail;
            }
            if (word_put(w, p[1]) < 0)
                goto too_long;
            p += 2;
        } else if (isspace((unsigned char)c)) {
            if (w->started && push_word(cl, w, err, errlen) < 0)
                goto fail;
            p++;
        } else {
            if (word_put(w, c) < 0)
                goto too_long;
            p++;
        }
    }
    if (quote) {
        snprintf(err, errlen, "unbalanced %c quote in command", quote);
        goto fail;
    }
    if (w->started && push_word(cl, w, err, errlen) < 0)
        goto fail;
    if (cl->argc == 0) {
        snprintf(err, errlen, "command is empty");
        goto fail;
    }
    free(w);
    return cl;
too_long:
    snprintf(err, errlen, "command word longer than %d bytes", CMDLINE_MAX_LEN - 1);
fail:
    free(w);
    cmdline_free(cl);
    return NULL;
}

void cmdline_free(struct cmdline *cl)
{
    if (!cl)
        return;
    for (size_t i = 0; i < cl->argc; i++)
        free(cl->argv[i]);
    free(cl);
}

char *const *cmdline_argv(const struct cmdline *cl)
{
    return cl->argv;
}

int cmdline_append(struct cmdline *cl, const char *word, char *err, size_t errlen)
{
    char *copy;
    if (cl->argc >= CMDLINE_MAX_ARGS) {
        snprintf(err, errlen, "command has more than %d words", CMDLINE_MAX_ARGS);
        return -1;
    }
    copy = strdup(word);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cl->argv[cl->argc++] = copy;
    cl->argv[cl->argc] = NULL;
    return 0;
}

bool cmdline_has_placeholder(const struct cmdline *cl, const char *placeholder)
{
    for (size_t i = 0; i < cl->argc; i++)
        if (strstr(cl->argv[i], placeholder))
            return true;
    return false;
}

int cmdline_substitute_text(const char *text, const char *placeholder, const char *value,
                            char *out, size_t outlen)
{
    size_t plen = strlen(placeholder), vlen = strlen(value), used = 0;
    const char *p = text, *hit;

    while ((hit = strstr(p, placeholder)) != NULL) {
        size_t chunk = (size_t)(hit - p);
        if (used + chunk + vlen >= outlen)
            return -1;
        memcpy(out + used, p, chunk);
        memcpy(out + used + chunk, value, vlen);
        used += chunk + vlen;
        p = hit + plen;
    }
    if (used + strlen(p) >= outlen)
        return -1;
    memcpy(out + used, p, strlen(p) + 1);
    return 0;
}

int cmdline_substitute(struct cmdline *cl, const char *placeholder, const char *value,
                       char *err, size_t errlen)
{
    char *buf = malloc(CMDLINE_MAX_LEN);
    int rc = -1;

    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cl->argc; i++) {
        char *copy;
        if (!strstr(cl->argv[i], placeholder))
            continue;
        if (cmdline_substitute_text(cl->argv[i], placeholder, value, buf, CMDLINE_MAX_LEN) < 0) {
            snprintf(err, errlen, "command word longer than %d bytes", CMDLINE_MAX_LEN - 1);
            goto done;
        }
        copy = strdup(buf);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        free(cl->argv[i]);
        cl->argv[i] = copy;
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int cmdline_find_executable(const char *word, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *path = getenv("PATH"), *p;

    if (strchr(word, '/')) {
        if (!is_executable_file(word)) {
            snprintf(err, errlen, "%s: %s", word,
                     access(word, F_OK) == 0 ? "not an executable file" : "no such file (is it built?)");
            return -1;
        }
        if ((size_t)snprintf(out, outlen, "%s", word) >= outlen) {
            snprintf(err, errlen, "%s: path too long", word);
            return -1;
        }
        return 0;
    }
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t dirlen = colon ? (size_t)(colon - p) : strlen(p);
        int n = snprintf(out, outlen, "%.*s/%s", (int)dirlen, dirlen ? p : ".", word);
        if (n > 0 && (size_t)n < outlen && is_executable_file(out))
            return 0;
        p += dirlen;
        if (*p == ':')
            p++;
    }
    snprintf(err, errlen, "%s: not found in PATH (is it installed?)", word);
    return -1;
}
