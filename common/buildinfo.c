/* buildinfo: version and revision. See buildinfo.h. */
#include "buildinfo.h"

#ifndef LOADLAB_REVISION
#define LOADLAB_REVISION "unknown"
#endif

const char *buildinfo_version(void)
{
    return BUILDINFO_VERSION;
}

const char *buildinfo_revision(void)
{
    return LOADLAB_REVISION[0] ? LOADLAB_REVISION : "unknown";
}
