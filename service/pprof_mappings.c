/* pprof_mappings: the Mapping messages of a profile, one per executable segment of
 * every loaded object (dl_iterate_phdr: the program first, as pprof expects, then the
 * libraries and the vdso), with file name, file offset and GNU build ID so pprof can
 * find the very file. Apart from the encoder because it is the ELF- and
 * loader-specific part. */
#include "pprof_internal.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hex of the NT_GNU_BUILD_ID note among the PT_NOTE segments of an object, or "". */
static void object_build_id(const struct dl_phdr_info *info, char *hex, size_t hexlen)
{
    hex[0] = '\0';
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const unsigned char *note, *end;

        if (ph->p_type != PT_NOTE)
            continue;
        note = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        end = note + ph->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)note;
            size_t name_size = (nh->n_namesz + 3) & ~(size_t)3;
            size_t desc_size = (nh->n_descsz + 3) & ~(size_t)3;
            const unsigned char *name = note + sizeof *nh, *desc = name + name_size;
            if (desc + desc_size > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                nh->n_descsz > 0 && nh->n_descsz <= BUILD_ID_MAX && hexlen > 2 * nh->n_descsz) {
                for (size_t k = 0; k < nh->n_descsz; k++)
                    snprintf(hex + 2 * k, 3, "%02x", desc[k]);
                return;
            }
            note = desc + desc_size;
        }
    }
}

struct mapping_list { struct mapping *items; size_t n; int first; };

static int collect_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct mapping_list *list = arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    char file[PPROF_FILE_MAX], build_id[2 * BUILD_ID_MAX + 1];
    int first = list->first;

    (void)size;
    list->first = 0;
    if (first || !info->dlpi_name || info->dlpi_name[0] == '\0') {
        /* The program itself: dl_iterate_phdr gives it no name. */
        ssize_t n = readlink("/proc/self/exe", file, sizeof file - 1);
        file[n > 0 ? n : 0] = '\0';
    } else if (info->dlpi_name[0] != '/') {
        snprintf(file, sizeof file, "[%s]", strncmp(info->dlpi_name, "linux-vdso", 10) == 0 ? "vdso"
                                                                                         : info->dlpi_name);
    } else {
        snprintf(file, sizeof file, "%s", info->dlpi_name);
    }
    object_build_id(info, build_id, sizeof build_id);
    for (int i = 0; i < info->dlpi_phnum && list->n < PPROF_MAX_MAPPINGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        struct mapping *m;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || ph->p_memsz == 0)
            continue;
        m = &list->items[list->n++];
        memset(m, 0, sizeof *m);
        m->start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
        m->limit = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
        m->file_offset = ph->p_offset & ~(page - 1);
        snprintf(m->file, sizeof m->file, "%s", file);
        snprintf(m->build_id, sizeof m->build_id, "%s", build_id);
    }
    return 0;
}

int pprof_mappings_collect(struct mapping **mappings, size_t *n)
{
    struct mapping_list list = {calloc(PPROF_MAX_MAPPINGS, sizeof *list.items), 0, 1};

    if (!list.items)
        return -1;
    dl_iterate_phdr(collect_object, &list);
    *mappings = list.items;
    *n = list.n;
    return 0;
}

uint64_t pprof_mapping_for(const struct mapping *mappings, size_t n, uintptr_t addr)
{
    for (size_t i = 0; i < n; i++)
        if (addr >= mappings[i].start && addr < mappings[i].limit)
            return i + 1;
    return 0;
}

void pprof_mapping_write(struct pbuf *b, const struct mapping *m, uint64_t id)
{
    size_t start = pprof_pb_start(b);
    int all_named = m->locations > 0 && m->named == m->locations;

    pprof_pb_uint64(b, MAPPING_ID, id);
    pprof_pb_uint64_opt(b, MAPPING_MEMORY_START, m->start);
    pprof_pb_uint64_opt(b, MAPPING_MEMORY_LIMIT, m->limit);
    pprof_pb_uint64_opt(b, MAPPING_FILE_OFFSET, m->file_offset);
    pprof_pb_int64_opt(b, MAPPING_FILENAME, m->file_index);
    pprof_pb_int64_opt(b, MAPPING_BUILD_ID, m->build_id_index);
    pprof_pb_uint64_opt(b, MAPPING_HAS_FUNCTIONS, all_named);
    pprof_pb_uint64_opt(b, MAPPING_HAS_FILENAMES, all_named && m->with_files == m->locations);
    pprof_pb_uint64_opt(b, MAPPING_HAS_LINE_NUMBERS, all_named && m->with_lines == m->locations);
    pprof_pb_end(b, PROFILE_MAPPING, start);
}
