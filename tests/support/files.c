/* files: whole-file helpers for tests. See files.h. */
#include "files.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *files_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    /* Read to the end rather than trusting the size: /proc files say 0. */
    do {
        if (cap - len < 4096) {
            char *bigger;
            cap = cap ? cap * 2 : 65536;
            if (cap > FILES_MAX_READ + 1 || !(bigger = realloc(buf, cap))) {
                free(buf);
                buf = NULL;
                goto done;
            }
            buf = bigger;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[len] = '\0';
done:
    fclose(f);
    return buf;
}

char *files_read_must(const char *path)
{
    char *text = files_read(path);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

int files_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int rc = 0;
    if (!f)
        return -1;
    if (fputs(text, f) == EOF)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

size_t files_count(const char *text, const char *needle)
{
    size_t n = 0, step = strlen(needle);
    if (!step)
        return 0;
    for (const char *p = text; (p = strstr(p, needle)); p += step)
        n++;
    return n;
}
