/* runevidence: a run's evidence written out for its page. See runevidence.h. */
#include "report/runevidence.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const inline_kinds[RUNEVIDENCE_INLINE_KINDS] = {
    [RUNEVIDENCE_THREADS] = EVIDENCE_THREADS, [RUNEVIDENCE_MUTEX] = EVIDENCE_MUTEX,
    [RUNEVIDENCE_BLOCK] = EVIDENCE_BLOCK, [RUNEVIDENCE_HEAP] = EVIDENCE_HEAP,
};

/* The pass over a run's items: the folder their files go to (made with the first),
 * and the latest periodic dump, shown when the run has no snapshot at all. */
struct pass {
    struct runevidence *ev;
    const char *dir;
    char folder[PATH_MAX];
    bool folder_made;
    struct runevidence_excerpt periodic;
};

void runevidence_free(struct runevidence *ev)
{
    if (!ev)
        return;
    for (size_t k = 0; k < RUNEVIDENCE_INLINE_KINDS; k++)
        free(ev->excerpts[k].text);
    free(ev->items);
    free(ev);
}

static int inline_index(const char *kind)
{
    for (int k = 0; k < RUNEVIDENCE_INLINE_KINDS; k++)
        if (strcmp(kind, inline_kinds[k]) == 0)
            return k;
    return -1;
}

/* Replaces *ex with the first lines of text: at most RUNEVIDENCE_EXCERPT_LINES, cut
 * at a line's end within RUNEVIDENCE_EXCERPT_BYTES (mid-line only for a first line
 * longer than that). Returns 0, or -1 with err filled when out of memory. */
static int take_excerpt(struct runevidence_excerpt *ex, size_t item, const char *text, size_t len, char *err,
                        size_t errlen)
{
    size_t cut = 0, lines = 0, total = 0;

    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        total++;
        if (lines < RUNEVIDENCE_EXCERPT_LINES && i < RUNEVIDENCE_EXCERPT_BYTES) {
            cut = i + 1;
            lines++;
        }
    }
    if (len && text[len - 1] != '\n') {
        total++;
        if (lines < RUNEVIDENCE_EXCERPT_LINES && len <= RUNEVIDENCE_EXCERPT_BYTES) {
            cut = len;
            lines++;
        }
    }
    if (cut == 0 && len) {
        cut = len < RUNEVIDENCE_EXCERPT_BYTES ? len : RUNEVIDENCE_EXCERPT_BYTES;
        lines = 1;
    }
    free(ex->text);
    memset(ex, 0, sizeof *ex);
    if (!(ex->text = malloc(cut + 1))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(ex->text, text, cut);
    ex->text[cut] = '\0';
    ex->item = item;
    ex->len = cut;
    ex->lines = lines;
    ex->total_lines = total;
    return 0;
}

/* Writes one item's text to its file. Returns 0, or -1 with err filled. */
static int write_file(struct pass *p, struct runevidence_item *item, const char *text, size_t len, char *err,
                      size_t errlen)
{
    char path[PATH_MAX + 64];
    FILE *f;

    if (!p->folder_made) {
        if ((size_t)snprintf(p->folder, sizeof p->folder, "%s/%s", p->dir, RUNEVIDENCE_DIR) >= sizeof p->folder) {
            snprintf(err, errlen, "output folder path too long");
            return -1;
        }
        if (mkdir(p->folder, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", p->folder, strerror(errno));
            return -1;
        }
        p->folder_made = true;
    }
    /* The kind names the file only when it is one of the known words: the table's
     * CHECK says it is, but a file name is no place to trust a database. */
    snprintf(item->file, sizeof item->file, "%s/%lld-%s.txt", RUNEVIDENCE_DIR, (long long)item->id,
             evidence_kind_valid(item->kind) ? item->kind : "item");
    snprintf(path, sizeof path, "%s/%s", p->dir, item->file);
    if (!(f = fopen(path, "w"))) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if ((len && fwrite(text, 1, len, f) != len) | ferror(f) | fclose(f)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Keeps what the page shows inline of an item just read (text NULL: it could not be
 * read): a snapshot later than the one collected so far starts over. Returns 0, or -1
 * with err filled when out of memory. */
static int note_inline(struct pass *p, size_t index, const char *text, size_t len, char *err, size_t errlen)
{
    struct runevidence *ev = p->ev;
    const struct runevidence_item *item = &ev->items[index];
    int k = inline_index(item->kind);

    if (k < 0)
        return 0;
    if (strncmp(item->reason, EVIDENCE_PERIODIC, strlen(EVIDENCE_PERIODIC)) == 0)  /* "periodic on a:1" too */
        return k == RUNEVIDENCE_THREADS && text ? take_excerpt(&p->periodic, index, text, len, err, errlen) : 0;
    if (!ev->have_inline || item->t != ev->inline_t || strcmp(item->reason, ev->inline_reason) != 0) {
        for (size_t i = 0; i < RUNEVIDENCE_INLINE_KINDS; i++) {
            free(ev->excerpts[i].text);
            memset(&ev->excerpts[i], 0, sizeof ev->excerpts[i]);
        }
        ev->have_inline = true;
        ev->inline_t = item->t;
        snprintf(ev->inline_reason, sizeof ev->inline_reason, "%s", item->reason);
    }
    return text ? take_excerpt(&ev->excerpts[k], index, text, len, err, errlen) : 0;
}

/* Reads, writes out and notes one stored item. Returns 0, or -1 with err filled. */
static int take_item(void *user, const struct evidence_stored *stored, char *err, size_t errlen)
{
    struct pass *p = user;
    struct runevidence *ev = p->ev;
    struct runevidence_item *item, *grown;
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    if (!(grown = realloc(ev->items, (ev->n + 1) * sizeof *grown))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ev->items = grown;
    item = &ev->items[ev->n++];
    memset(item, 0, sizeof *item);
    item->id = stored->id;
    item->t = stored->t;
    snprintf(item->kind, sizeof item->kind, "%s", stored->kind);
    /* on a fleet the instance it came from is part of what the page says of it */
    snprintf(item->reason, sizeof item->reason, "%s%s%.96s", stored->reason, stored->instance[0] ? " on " : "",
             stored->instance);
    item->bytes = stored->bytes;
    ev->periodic += strcmp(stored->reason, EVIDENCE_PERIODIC) == 0;
    /* A bad item is the service's (or the file's) problem, not the report's: it is
     * listed with the reason and the report goes on. */
    if (evidence_gunzip(stored->gz, stored->gzlen, RUNEVIDENCE_MAX_FILE, &text, &len, item->problem,
                        sizeof item->problem) < 0) {
        rc = note_inline(p, ev->n - 1, NULL, 0, err, errlen);
        goto done;
    }
    if (write_file(p, item, text, len, err, errlen) < 0 || note_inline(p, ev->n - 1, text, len, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    free(text);
    return rc;
}

struct runevidence *runevidence_write(struct resultdb *db, int64_t run_id, const char *dir, char *err,
                                      size_t errlen)
{
    struct runevidence *ev = calloc(1, sizeof *ev);
    struct pass p = {.ev = ev, .dir = dir};
    int exists;
    bool ok = false;

    if (!ev) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((exists = resultdb_table_exists(db, "evidence", err, errlen)) < 0)
        goto done;
    ev->have_table = exists == 1;
    if (!ev->have_table) {
        ok = true;
        goto done;
    }
    if (evidence_foreach_stored(db, run_id, NULL, take_item, &p, err, errlen) < 0)
        goto done;
    /* A run with dumps but no snapshot (one cut short) still shows its last dump. */
    if (!ev->have_inline && p.periodic.text) {
        ev->have_inline = true;
        ev->inline_t = ev->items[p.periodic.item].t;
        snprintf(ev->inline_reason, sizeof ev->inline_reason, "%s", EVIDENCE_PERIODIC);
        ev->excerpts[RUNEVIDENCE_THREADS] = p.periodic;
        p.periodic.text = NULL;
    }
    ok = true;
done:
    free(p.periodic.text);
    if (!ok) {
        runevidence_free(ev);
        return NULL;
    }
    return ev;
}
