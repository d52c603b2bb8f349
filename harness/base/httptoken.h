/* httptoken: whether a string is an HTTP token (RFC 9110 section 5.6.2: a method, a
 * header field name), for the load generators that build requests from a scenario's
 * text and must refuse what would break the request line or a header. */
#ifndef LOADLAB_HTTPTOKEN_H
#define LOADLAB_HTTPTOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* True when s is 1..max characters, each a token character (tchar). */
bool httptoken_valid(const char *s, size_t max);

#endif
