/* files: whole files in and out for tests that check what a program wrote (an
 * output log, a JUnit file, a page of a report). */
#ifndef TESTS_FILES_H
#define TESTS_FILES_H

#include <stddef.h>

#define FILES_MAX_READ (64u << 20)

/* The whole file, NUL-terminated (caller frees). Returns NULL when it cannot be read
 * or is larger than FILES_MAX_READ. */
char *files_read(const char *path);

/* files_read that fails the test when the file cannot be read. */
char *files_read_must(const char *path);

/* Replaces the file's contents with text. Returns 0, or -1 when it cannot be written. */
int files_write(const char *path, const char *text);

/* How many times needle occurs in text, without overlaps. */
size_t files_count(const char *text, const char *needle);

#endif
