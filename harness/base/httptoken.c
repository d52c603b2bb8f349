/* httptoken: HTTP token syntax. See httptoken.h. */
#include "base/httptoken.h"

#include <string.h>

bool httptoken_valid(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || !strchr("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", s[n]))
            return false;
    return n > 0;
}
