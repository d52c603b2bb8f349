/* buildinfo: the project's version and the git revision the binaries were built from.
 *
 * Both programs say what they are (`orderd --version`, `loadlab --version`, orderd's
 * orderd_build_info gauge) so that a result or a scrape can be tied to the source it
 * came from. The revision is baked in by the Makefile (-DLOADLAB_REVISION, from
 * `git rev-parse --short HEAD`) into buildinfo.c alone, so a new commit recompiles one
 * file; outside a git checkout it is "unknown". */
#ifndef LOADLAB_BUILDINFO_H
#define LOADLAB_BUILDINFO_H

#define BUILDINFO_VERSION "0.1.0"

/* The version ("0.1.0"); static, never NULL. */
const char *buildinfo_version(void);

/* The short git revision ("d3e0284"), or "unknown"; static, never NULL. */
const char *buildinfo_revision(void);

#endif
