/* stacks_symbolize: naming program counters, half of the stacks module (see stacks.h;
 * capture is in stacks.c). Kept apart from capture because it runs only in ordinary
 * threads, under its own mutex, with libdwfl and a cache, none of which capture's
 * signal handler may touch.
 *
 * Program counters follow the return-address convention of Go and pprof: every pc
 * stored is the address after the instruction the frame was executing (for the
 * interrupted innermost frame, its pc + 1). Symbolization names the exact pc it is
 * given, so callers pass pc - 1 to name the call.
 *
 * Symbolization: libdwfl on the running process (modules from /proc/self/maps),
 * function names from DWARF, including functions inlined at the pc (a small static
 * helper that the compiler folded into its caller is still named), falling back to
 * the ELF symbol table, then to dladdr if libdwfl cannot be set up. Separate debug
 * files are looked up by build id on local disk only: never through debuginfod, which
 * would make a thread dump wait on the network. Results are cached in a bounded
 * direct-mapped table; libdwfl is not thread-safe, so one mutex covers both. */
#include "stacks.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SYMBOL_CACHE_BITS 10
#define SYMBOL_CACHE_SLOTS (1 << SYMBOL_CACHE_BITS)
#define INLINE_MAX 4
#define REPORT_INTERVAL_NS 1000000000LL  /* re-read /proc/self/maps at most once a second */

struct symbol_entry {
    uintptr_t pc;                        /* 0: empty */
    int nframes;
    struct stacks_frame frames[INLINE_MAX];
};

static pthread_mutex_t symbol_lock = PTHREAD_MUTEX_INITIALIZER;
static struct symbol_entry *symbol_cache;   /* SYMBOL_CACHE_SLOTS entries, lazily */
static Dwfl *dwfl;
static int dwfl_unavailable;
/* Set while this thread is inside the symbolizer, for the heap sampler. */
static _Thread_local bool symbolizing;

bool stacks_symbolizing(void)
{
    return symbolizing;
}
static int64_t dwfl_reported_ns;

/* Local build-id lookup only: dwfl_standard_find_debuginfo would ask debuginfod
 * servers when DEBUGINFOD_URLS is set. */
static int find_debuginfo_locally(Dwfl_Module *mod, void **userdata, const char *modname,
                                  Dwarf_Addr base, const char *file_name,
                                  const char *debuglink_file, GElf_Word debuglink_crc,
                                  char **debuginfo_file_name)
{
    return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
                                        debuglink_file, debuglink_crc, debuginfo_file_name);
}

static char *debuginfo_path;
static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_debuginfo_locally,
    .debuginfo_path = &debuginfo_path,
};

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int dwfl_report_process(void)
{
    dwfl_reported_ns = monotonic_ns();
    dwfl_report_begin(dwfl);
    if (dwfl_linux_proc_report(dwfl, getpid()) != 0) {
        dwfl_report_end(dwfl, NULL, NULL);
        return -1;
    }
    return dwfl_report_end(dwfl, NULL, NULL) == 0 ? 0 : -1;
}

/* Under symbol_lock. Returns 0 when dwfl is usable. */
static int dwfl_ready(void)
{
    if (dwfl)
        return 0;
    if (dwfl_unavailable)
        return -1;
    dwfl = dwfl_begin(&dwfl_callbacks);
    if (!dwfl || dwfl_report_process() != 0) {
        dwfl_end(dwfl);
        dwfl = NULL;
        dwfl_unavailable = 1;
        return -1;
    }
    return 0;
}

/* Copies a function name without the suffixes gcc gives clones (foo.constprop.0,
 * foo.isra.0, foo.part.0, foo.cold): C names have no dots. */
static void copy_function_name(char *dst, size_t dstlen, const char *name)
{
    size_t len = strcspn(name, ".");
    if (len == 0)
        len = strlen(name);
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, name, len);
    dst[len] = '\0';
}

static void copy_text(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

static void frame_unknown(struct stacks_frame *f, uintptr_t pc)
{
    memset(f, 0, sizeof *f);
    f->pc = pc;
    copy_text(f->function, sizeof f->function, "?");
}

static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* Index of the first function scope (subprogram or inlined instance) from `from`. */
static int first_function_scope(Dwarf_Die *scopes, int nscopes, int from)
{
    for (int i = from; i < nscopes; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
            return i;
    }
    return -1;
}

/* Names frames[0] after the innermost function scope at addr and adds a frame for
 * each function it is inlined into: frame k is the caller of frame k-1, at the call
 * site recorded on frame k-1's inlined instance. Returns the number of frames. */
static int expand_inlined(Dwfl_Module *mod, Dwarf_Addr addr, struct stacks_frame *frames, int max)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, &bias);
    Dwarf_Die *scopes = NULL, current;
    Dwarf_Files *files = NULL;
    int nscopes, index, n = 1;

    if (!cudie)
        return 1;
    nscopes = dwarf_getscopes(cudie, addr - bias, &scopes);
    index = nscopes > 0 ? first_function_scope(scopes, nscopes, 0) : -1;
    if (index < 0)
        goto done;
    current = scopes[index];
    if (die_name(&current))
        copy_function_name(frames[0].function, sizeof frames[0].function, die_name(&current));
    if (dwarf_getsrcfiles(cudie, &files, NULL) != 0)
        files = NULL;

    /* dwarf_getscopes follows an inlined instance to its abstract definition, so the
     * caller is found among the scopes that contain the instance itself. */
    while (n < max && dwarf_tag(&current) == DW_TAG_inlined_subroutine) {
        Dwarf_Attribute attr;
        Dwarf_Word value;
        struct stacks_frame *f = &frames[n];

        free(scopes);
        scopes = NULL;
        nscopes = dwarf_getscopes_die(&current, &scopes);
        index = nscopes > 1 ? first_function_scope(scopes, nscopes, 1) : -1;
        if (index < 0)
            break;
        *f = frames[0];
        copy_function_name(f->function, sizeof f->function,
                           die_name(&scopes[index]) ? die_name(&scopes[index]) : "?");
        f->file[0] = '\0';
        f->line = 0;
        if (files && dwarf_formudata(dwarf_attr(&current, DW_AT_call_file, &attr), &value) == 0)
            copy_text(f->file, sizeof f->file, dwarf_filesrc(files, value, NULL, NULL));
        if (dwarf_formudata(dwarf_attr(&current, DW_AT_call_line, &attr), &value) == 0)
            f->line = (int)value;
        current = scopes[index];
        n++;
    }
done:
    free(scopes);
    return n;
}

/* Under symbol_lock. Returns the number of frames (>= 1), or 0 when unknown. */
static int symbolize_dwfl(uintptr_t pc, struct stacks_frame *frames, int max)
{
    Dwarf_Addr addr = pc;
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
    GElf_Off offset = 0;
    GElf_Sym sym;
    const char *name;
    Dwfl_Line *line;

    if (!mod && monotonic_ns() - dwfl_reported_ns >= REPORT_INTERVAL_NS) {
        /* A library loaded since the last report (dlopen). */
        if (dwfl_report_process() == 0)
            mod = dwfl_addrmodule(dwfl, addr);
    }
    if (!mod)
        return 0;
    name = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
    if (!name)
        return 0;
    frame_unknown(&frames[0], pc);
    copy_function_name(frames[0].function, sizeof frames[0].function, name);
    frames[0].offset = (uintptr_t)offset;
    line = dwfl_module_getsrc(mod, addr);
    if (line) {
        int lineno = 0;
        const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
        copy_text(frames[0].file, sizeof frames[0].file, file);
        frames[0].line = lineno;
    }
    return expand_inlined(mod, addr, frames, max);
}

/* Without libdwfl: exported symbols only, and only when pc lies inside one. */
static int symbolize_dladdr(uintptr_t pc, struct stacks_frame *frames)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    uintptr_t start;

    if (!dladdr1((void *)pc, &info, (void **)&sym, RTLD_DL_SYMENT) || !info.dli_sname || !sym)
        return 0;
    start = (uintptr_t)info.dli_saddr;
    if (pc < start || pc >= start + sym->st_size)
        return 0;
    frame_unknown(&frames[0], pc);
    copy_function_name(frames[0].function, sizeof frames[0].function, info.dli_sname);
    frames[0].offset = pc - start;
    return 1;
}

int stacks_symbolize_inline(uintptr_t pc, struct stacks_frame *frames, int max)
{
    struct symbol_entry *entry = NULL;
    int n = 0;

    if (!frames || max <= 0)
        return -1;
    frame_unknown(&frames[0], pc);
    if (pc == 0)
        return -1;

    pthread_mutex_lock(&symbol_lock);
    symbolizing = true;
    if (!symbol_cache)
        symbol_cache = calloc(SYMBOL_CACHE_SLOTS, sizeof *symbol_cache);
    if (symbol_cache) {
        /* Fibonacci hashing spreads the low, aligned bits of code addresses. */
        size_t slot = (size_t)((pc * 11400714819323198485ULL) >> (64 - SYMBOL_CACHE_BITS));
        entry = &symbol_cache[slot];
        if (entry->pc == pc) {
            n = entry->nframes < max ? entry->nframes : max;
            memcpy(frames, entry->frames, (size_t)n * sizeof *frames);
            goto done;
        }
    }
    {
        struct stacks_frame found[INLINE_MAX];
        int nfound = 0;
        if (dwfl_ready() == 0)
            nfound = symbolize_dwfl(pc, found, INLINE_MAX);
        else
            nfound = symbolize_dladdr(pc, found);
        if (nfound == 0)
            goto done;   /* unknown pcs are not cached: a library may appear later */
        if (entry) {
            entry->pc = pc;
            entry->nframes = nfound;
            memcpy(entry->frames, found, (size_t)nfound * sizeof *found);
        }
        n = nfound < max ? nfound : max;
        memcpy(frames, found, (size_t)n * sizeof *frames);
    }
done:
    symbolizing = false;
    pthread_mutex_unlock(&symbol_lock);
    return n > 0 ? n : -1;
}

int stacks_symbolize(uintptr_t pc, struct stacks_frame *out)
{
    return stacks_symbolize_inline(pc, out, 1) > 0 ? 0 : -1;
}
