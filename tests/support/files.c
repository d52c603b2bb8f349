/* files: whole-file helpers for tests. See files.h. */
#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *files_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || (unsigned long)len > FILES_MAX_READ ||
        fseek(f, 0, SEEK_SET) != 0)
        goto done;
    buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
done:
    fclose(f);
    return buf;
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
