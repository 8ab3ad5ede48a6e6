/*
 * ref_header_canon.h - RFC 6376 3.4.2 relaxed header canonicalisation the
 * slow, obvious way, for tests/unit/test_dkim.c and fuzz_header_canon to
 * compare ta_header_canon() with: the name lower-cased and trimmed, every
 * CR and LF of the value dropped (unfolding), each whitespace run one space,
 * the value trimmed at both ends, CRLF added. out holds len + 2 bytes.
 * Returns the length, or 0 when the field has no colon.
 */
#ifndef REF_HEADER_CANON_H
#define REF_HEADER_CANON_H

#include <string.h>

static size_t
ref_relaxed_header(const char *s, size_t len, char *out)
{
    const char *colon = memchr(s, ':', len);
    size_t      name_end, i, n = 0, v;

    if (colon == NULL)
        return 0;
    name_end = (size_t) (colon - s);
    while (name_end > 0 && (s[name_end - 1] == ' ' || s[name_end - 1] == '\t'))
        name_end--;
    for (i = 0; i < name_end; i++)
        out[n++] = (char) ((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    out[n++] = ':';
    v = n;
    for (i = (size_t) (colon - s) + 1; i < len; i++) {
        char c = s[i] == '\t' ? ' ' : s[i];
        if (c == '\r' || c == '\n' || (c == ' ' && n > v && out[n - 1] == ' '))
            continue;
        out[n++] = c;
    }
    if (n > v && out[v] == ' ') {
        memmove(out + v, out + v + 1, n - v - 1);
        n--;
    }
    if (n > v && out[n - 1] == ' ')
        n--;
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

#endif
