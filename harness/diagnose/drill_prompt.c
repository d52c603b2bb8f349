/* drill_prompt: the questions a drill asks the trainee — is something wrong, which
 * class, which function, another? — and the reading of the answers. See drill_prompt.h.
 *
 * Kept apart from drill.c, which runs the drill, so the little state machine of the
 * conversation reads on its own: it never blocks the run (drill_prompt_feed reads
 * only what has arrived), a whole answer may come on one line, and input that ends
 * mid-answer keeps what was said so far. */
#include "diagnose/drill_prompt.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "diagnose/diagnose.h"

void drill_prompt_ask(FILE *out, enum drill_ask state)
{
    switch (state) {
    case DRILL_ASK_WRONG:
        fputs("Is something wrong? [y/n, or a whole answer: class=CLASS culprit=FUNCTION; ...] ", out);
        break;
    case DRILL_ASK_CLASS:
        fputs("Which class (thread-leak memory-leak lock-contention queue-full blocked-producer cpu-slowdown overload)? ", out);
        break;
    case DRILL_ASK_CULPRIT:
        fputs("Which function is the culprit ('?' if you cannot tell)? ", out);
        break;
    case DRILL_ASK_MORE:
        fputs("Another problem? [y/n] ", out);
        break;
    case DRILL_ASK_DONE:
        break;
    }
    fflush(out);
}

static bool yes(const char *s) { return strcasecmp(s, "y") == 0 || strcasecmp(s, "yes") == 0; }
static bool no(const char *s) { return strcasecmp(s, "n") == 0 || strcasecmp(s, "no") == 0; }

static void handle_line(struct drill_prompt *p, char *line, FILE *out)
{
    char err[256];
    struct drillscore_problem *cur = &p->answer.problems[p->answer.n];

    line += strspn(line, " \t");
    for (size_t n = strlen(line); n && isspace((unsigned char)line[n - 1]); n--)
        line[n - 1] = '\0';
    if (p->echo)
        fprintf(out, "%s\n", line);
    switch (p->state) {
    case DRILL_ASK_WRONG:
        if (strstr(line, "class=") || drillscore_healthy_word(line)) {
            if (drillscore_answer_parse(line, &p->answer, err, sizeof err) == 0) {
                p->state = DRILL_ASK_DONE;
                return;
            }
            fprintf(out, "  %s\n", err);
        } else if (no(line)) {
            p->state = DRILL_ASK_DONE;
            return;
        } else if (yes(line)) {
            p->state = DRILL_ASK_CLASS;
        }
        break;
    case DRILL_ASK_CLASS:
        if (diagnose_class_valid(line)) {
            memset(cur, 0, sizeof *cur);
            snprintf(cur->class_name, sizeof cur->class_name, "%s", line);
            p->state = DRILL_ASK_CULPRIT;
        } else if (*line) {
            fprintf(out, "  '%.40s' is not one of the classes\n", line);
        }
        break;
    case DRILL_ASK_CULPRIT:
        if (strcmp(line, "?") == 0 || drillscore_culprit_valid(line)) {
            if (strcmp(line, "?") != 0)
                snprintf(cur->culprit, sizeof cur->culprit, "%s", line);
            p->answer.n++;
            p->state = p->answer.n < DRILLSCORE_MAX_ANSWERS ? DRILL_ASK_MORE : DRILL_ASK_DONE;
        } else if (*line) {
            fprintf(out, "  '%.60s' is not a function name\n", line);
        }
        break;
    case DRILL_ASK_MORE:
        if (yes(line))
            p->state = DRILL_ASK_CLASS;
        else if (no(line))
            p->state = DRILL_ASK_DONE;
        break;
    case DRILL_ASK_DONE:
        return;
    }
    if (p->state == DRILL_ASK_DONE)
        return;
    drill_prompt_ask(out, p->state);
}

bool drill_prompt_feed(struct drill_prompt *p, int fd, int timeout_ms, FILE *out)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char buf[512];
    ssize_t n;

    if (p->state == DRILL_ASK_DONE || p->eof)
        return true;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return false;
    n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return false;
        p->eof = true;
        if (p->len && !p->overlong) {
            p->line[p->len] = '\0';
            handle_line(p, p->line, out);
        }
        /* Input ended mid-answer: what was said so far stands. */
        if (p->state == DRILL_ASK_CULPRIT)
            p->answer.n++;
        if (p->state == DRILL_ASK_CULPRIT || p->state == DRILL_ASK_MORE)
            p->state = DRILL_ASK_DONE;
        return true;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (p->state == DRILL_ASK_DONE) {
            /* What follows the answer (a mitigation's "restart") waits for drill_prompt_line. */
            if (p->len + 1 < sizeof p->line)
                p->line[p->len++] = buf[i];
            continue;
        }
        if (buf[i] != '\n') {
            if (p->len + 1 < sizeof p->line)
                p->line[p->len++] = buf[i];
            else
                p->overlong = true;
            continue;
        }
        p->line[p->len] = '\0';
        if (p->overlong)
            fprintf(out, "  (line too long, ignored)\n");
        else
            handle_line(p, p->line, out);
        p->len = 0;
        p->overlong = false;
    }
    return p->state == DRILL_ASK_DONE;
}

bool drill_prompt_line(struct drill_prompt *p, int fd, char *line, size_t len)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char *nl;
    ssize_t n;

    while (!(nl = memchr(p->line, '\n', p->len))) {
        if (p->eof || poll(&pfd, 1, 0) <= 0)
            return false;
        n = read(fd, p->line + p->len, sizeof p->line - 1 - p->len);
        if (n <= 0) {
            if (n == 0 || (errno != EINTR && errno != EAGAIN))
                p->eof = true;
            return false;
        }
        p->len += (size_t)n;
        if (p->len + 1 >= sizeof p->line && !memchr(p->line, '\n', p->len))
            p->len = 0;  /* an overlong line: dropped */
    }
    snprintf(line, len, "%.*s", (int)(nl - p->line), p->line);
    p->len -= (size_t)(nl + 1 - p->line);
    memmove(p->line, nl + 1, p->len);
    return true;
}
