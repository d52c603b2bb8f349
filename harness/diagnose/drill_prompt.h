/* drill_prompt: the drill's questions to the trainee and the reading of their
 * answers (diagnose/drill). One question at a time — is something wrong, which class,
 * which function is the culprit, another problem? — or a whole answer on one line
 * ("class=CLASS culprit=FUNCTION; ..."), parsed by drillscore. */
#ifndef LOADLAB_DRILL_PROMPT_H
#define LOADLAB_DRILL_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diagnose/drillscore.h"

enum drill_ask { DRILL_ASK_WRONG, DRILL_ASK_CLASS, DRILL_ASK_CULPRIT, DRILL_ASK_MORE, DRILL_ASK_DONE };

/* The conversation so far. Zeroed, it starts at the first question. */
struct drill_prompt {
    enum drill_ask state;
    struct drillscore_answer answer;
    char line[DRILLSCORE_MAX_ANSWER_TEXT + 2];
    size_t len;
    bool overlong, eof, echo; /* echo: print each line read (input not a terminal) */
};

/* Prints the question of state to out (nothing for DRILL_ASK_DONE). */
void drill_prompt_ask(FILE *out, enum drill_ask state);

/* Reads what has arrived on fd (waiting up to timeout_ms) and handles whole lines,
 * printing the next question or what was wrong with a line to out. Returns true once
 * the answer (p->answer) is complete or the input has ended. */
bool drill_prompt_feed(struct drill_prompt *p, int fd, int timeout_ms, FILE *out);

/* Once the answer is complete: reads what has arrived on fd without waiting and
 * returns true with the next whole line in line (without its newline, cut to len),
 * false while none has come (or the input has ended). */
bool drill_prompt_line(struct drill_prompt *p, int fd, char *line, size_t len);

#endif
