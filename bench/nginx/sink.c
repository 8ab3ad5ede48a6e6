/*
 * sink - an SMTP sink for benchmarks that, unlike postfix's smtp-sink,
 * offers CHUNKING: EHLO, MAIL, RCPT, RSET, NOOP answered 250; DATA read to
 * CRLF.CRLF; BDAT n [LAST] read for n octets; QUIT 221. One thread, epoll,
 * non-blocking sockets; every reply to a pipelined group goes out in one
 * write. Not a mail server: nothing is stored.
 *
 *   sink PORT
 */
#define _GNU_SOURCE             /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

typedef struct {
    int     fd;
    size_t  len;                /* bytes in in[] */
    int     data;               /* in DATA: matching CRLF.CRLF */
    int     eod;                /* how much of "\r\n.\r\n" is matched */
    size_t  chunk;              /* BDAT octets still to read */
    int     chunk_last;
    char    in[BUF];
    char    out[4096];
    size_t  olen;
} conn_t;

static void
reply(conn_t *c, const char *s)
{
    size_t n = strlen(s);

    if (c->olen + n <= sizeof(c->out)) {
        memcpy(c->out + c->olen, s, n);
        c->olen += n;
    }
}

/* command - one command line (without CRLF) */
static void
command(conn_t *c, const char *l, size_t n)
{
    if (n >= 4 && strncasecmp(l, "EHLO", 4) == 0)
        reply(c, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n");
    else if (n >= 4 && strncasecmp(l, "DATA", 4) == 0) {
        reply(c, "354 go ahead\r\n");
        c->data = 1;
        c->eod = 2;             /* the message starts as if after a CRLF */
    } else if (n >= 4 && strncasecmp(l, "BDAT", 4) == 0) {
        char *end;

        c->chunk = strtoul(l + 5, &end, 10);
        c->chunk_last = strstr(end, "LAST") != NULL || strstr(end, "last") != NULL;
        if (c->chunk == 0)
            reply(c, "250 2.0.0 chunk\r\n");
    } else if (n >= 4 && strncasecmp(l, "QUIT", 4) == 0)
        reply(c, "221 bye\r\n");
    else
        reply(c, "250 2.0.0 ok\r\n");
}

/* consume - what can be done with the bytes read; returns bytes used */
static size_t
consume(conn_t *c)
{
    static const char eod[] = "\r\n.\r\n";
    size_t            i = 0, k;
    char             *nl;

    while (i < c->len) {
        if (c->chunk > 0) {
            k = c->len - i < c->chunk ? c->len - i : c->chunk;
            c->chunk -= k;
            i += k;
            if (c->chunk == 0)
                reply(c, c->chunk_last ? "250 2.0.0 message taken\r\n" : "250 2.0.0 chunk\r\n");
            continue;
        }
        if (c->data) {
            for (; i < c->len; i++) {
                if (c->in[i] == eod[c->eod]) {
                    if (++c->eod == 5) {
                        i++;
                        c->data = 0;
                        reply(c, "250 2.0.0 message taken\r\n");
                        break;
                    }
                } else {
                    c->eod = c->in[i] == '\r';
                }
            }
            continue;
        }
        nl = memchr(c->in + i, '\n', c->len - i);
        if (nl == NULL)
            break;
        k = (size_t) (nl - (c->in + i));
        command(c, c->in + i, k > 0 && c->in[i + k - 1] == '\r' ? k - 1 : k);
        i += k + 1;
    }
    return i;
}

int
main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct epoll_event ev, evs[64];
    int                ls, ep, one = 1, n, i;

    if (argc != 2) {
        fprintf(stderr, "usage: sink PORT\n");
        return 64;
    }
    ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short) atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(ls, 512) != 0) {
        perror("sink: bind");
        return 1;
    }
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 64, -1);
        for (i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            ssize_t r;
            size_t  used;

            if (c == NULL) {
                int fd;

                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    if (c == NULL) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                    reply(c, "220 sink ESMTP\r\n");
                    (void) write(fd, c->out, c->olen);
                    c->olen = 0;
                }
                continue;
            }
            r = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                close(c->fd);
                free(c);
                continue;
            }
            /* acknowledge at once: a delayed ACK meeting a sender's Nagle
             * stalls the last piece of a message by 40 ms, and that would
             * measure the kernel's timers, not the proxy in front */
            setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
            c->len += (size_t) r;
            used = consume(c);
            memmove(c->in, c->in + used, c->len - used);
            c->len -= used;
            if (c->len == sizeof(c->in)) {      /* a command line longer than the buffer */
                close(c->fd);
                free(c);
                continue;
            }
            if (c->olen) {
                (void) write(c->fd, c->out, c->olen);  /* small: the socket takes it */
                c->olen = 0;
            }
        }
    }
}
