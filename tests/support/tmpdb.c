/* tmpdb: scratch folders for test databases. See tmpdb.h. */
#include "tmpdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tmpdb_make(struct tmpdb *t, const char *name)
{
    memset(t, 0, sizeof *t);
    if (strlen(name) > 40)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(t->dir)) {
        t->dir[0] = '\0';
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/results.db", t->dir);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int tmpdb_remove(struct tmpdb *t)
{
    int rc;
    if (!t->dir[0])
        return 0;
    /* Depth first, not following links: a link in the folder is removed, not its target. */
    rc = nftw(t->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    t->dir[0] = t->path[0] = '\0';
    return rc == 0 ? 0 : -1;
}

const char *tmpdb_file(const struct tmpdb *t, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", t->dir, name);
    if (n < 0 || (size_t)n >= len)
        fail_msg("tmpdb: %s/%s does not fit in %zu bytes", t->dir, name, len);
    return buf;
}
