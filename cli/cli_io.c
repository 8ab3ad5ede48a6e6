/*
 * NAME
 *	cli_io 1
 * SUMMARY
 *	what the CLI commands share: reading a message, writing JSON strings
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_MESSAGE (64u * 1024 * 1024)

/* ta_cli_read - the whole input, bounded */
char *
ta_cli_read(const char *path, size_t *len)
{
    FILE  *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 65536, n = 0, r;
    char  *buf, *nb;
    int    err = 0;

    if (f == NULL)
        return NULL;
    buf = malloc(cap);
    while (buf != NULL && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n < cap)
            continue;
        nb = cap >= MAX_MESSAGE ? NULL : realloc(buf, cap * 2);
        if (nb == NULL) {
            err = cap >= MAX_MESSAGE ? EFBIG : ENOMEM;
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf != NULL && ferror(f)) {
        err = EIO;
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    if (buf == NULL && err)
        errno = err;
    *len = n;
    return buf;
}

/* ta_cli_json - a JSON string literal of n bytes */
void
ta_cli_json(FILE *o, const char *s, size_t n)
{
    size_t i;

    fputc('"', o);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(o, "\\u%04x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}
