
/*
 * NAME
 *	ngx_mail_tenantalign_buffer 3
 * SUMMARY
 *	the message: held in memory and a temp file, fed to the core, sent up
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	ngx_int_t ngx_mail_tenantalign_content(ngx_mail_ta_ctx_t *ctx,
 *	    u_char *p, size_t n);
 *	void ngx_mail_tenantalign_feed(ngx_mail_ta_ctx_t *ctx);
 *	ngx_int_t ngx_mail_tenantalign_spill_flush(ngx_mail_ta_ctx_t *ctx);
 *	ngx_int_t ngx_mail_tenantalign_refill(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_msg_release(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_msg_free(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_exit_process(ngx_cycle_t *cycle);
 * DESCRIPTION
 *	ngx_mail_tenantalign_content() takes the message's content as it
 *	arrives: the header section always in memory (then decided on), the
 *	body in memory up to tenantalign_buffer_size and beyond that in an
 *	unlinked temp file, hashed by the core in pieces on the way.
 *	ngx_mail_tenantalign_feed() and ngx_mail_tenantalign_spill_flush()
 *	give the core what it has not seen yet, at the final dot.
 *	ngx_mail_tenantalign_refill() queues the message for the upstream,
 *	dot-stuffed for DATA or raw for BDAT, at most 64 KB queued at a time.
 *	ngx_mail_tenantalign_msg_release() gives back the memory part,
 *	ngx_mail_tenantalign_msg_free() all of the message and its
 *	transaction state. The worker keeps spare 64 KB buffers, static to
 *	this file; ngx_mail_tenantalign_exit_process() (the module's exit
 *	process handler) frees them.
 * STANDARDS
 *	RFC 5321 4.5.2 (transparency: dot-stuffing).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


/*
 * The memory part grows in 64 KB steps: the first 64 KB from malloc, beyond
 * that an anonymous mapping grown with mremap, which moves pages and never
 * copies - so a message held in memory costs its size and at most 64 KB
 * more, with no transient second copy while it grows.
 */

#define NGX_MAIL_TA_WINDOW  65536

/*
 * A worker keeps the 64 KB buffers of finished transactions for the next
 * ones, up to NGX_MAIL_TA_SPARE of them (2 MB): freed, they let malloc
 * hand the top of the heap back to the kernel, and the next messages took
 * page faults to get it again (bench/RESULTS.md has the figures).
 * Only the event loop allocates and frees them.
 */

#define NGX_MAIL_TA_SPARE   32

static u_char      *ngx_mail_tenantalign_spare[NGX_MAIL_TA_SPARE];
static ngx_uint_t   ngx_mail_tenantalign_nspare;


/* the message, its temp file and its decision: gone at transaction end */

void
ngx_mail_tenantalign_msg_free(ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_tenantalign_msg_release(ctx);

    if (ctx->spill_pool) {
        ngx_destroy_pool(ctx->spill_pool);      /* closes the file */
        ctx->spill_pool = NULL;
        ctx->spill = NULL;
    }

    ctx->spill_len = 0;

    if (ctx->win) {
        ngx_free(ctx->win);
        ctx->win = NULL;
    }

    ctx->win_off = 0;
    ctx->win_len = 0;
    ctx->last = 0;
    ctx->fed = 0;
    ctx->spilling = 0;

    ngx_mail_tenantalign_log_accepted(ctx, NULL);

    ta_txn_free(ctx->txn);
    ctx->txn = NULL;
    ctx->fx = NULL;
    ctx->header_done = 0;
    ctx->fault = 0;
    ctx->decided = 0;
    ctx->sending = 0;
    ctx->bdat = 0;
}


void
ngx_mail_tenantalign_msg_release(ngx_mail_ta_ctx_t *ctx)
{
    if (ctx->msg_cap > NGX_MAIL_TA_WINDOW) {
        (void) munmap(ctx->msg, ctx->msg_cap);

    } else if (ctx->msg
               && ngx_mail_tenantalign_nspare < NGX_MAIL_TA_SPARE)
    {
        ngx_mail_tenantalign_spare[ngx_mail_tenantalign_nspare++] = ctx->msg;

    } else {
        free(ctx->msg);
    }

    ctx->msg = NULL;
    ctx->msg_len = 0;
    ctx->msg_cap = 0;
}


void
ngx_mail_tenantalign_exit_process(ngx_cycle_t *cycle)
{
    while (ngx_mail_tenantalign_nspare) {
        free(ngx_mail_tenantalign_spare[--ngx_mail_tenantalign_nspare]);
    }
}


static ngx_int_t
ngx_mail_tenantalign_msg_append(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    u_char  *np;
    size_t   cap;

    if (ctx->msg_len + n > ctx->msg_cap) {
        cap = (ctx->msg_len + n + NGX_MAIL_TA_WINDOW - 1)
              & ~((size_t) NGX_MAIL_TA_WINDOW - 1);

        if (cap <= NGX_MAIL_TA_WINDOW) {
            /* the first piece: cap is the window, ctx->msg is NULL */
            np = ngx_mail_tenantalign_nspare
                 ? ngx_mail_tenantalign_spare[--ngx_mail_tenantalign_nspare]
                 : malloc(cap);
            if (np == NULL) {
                return NGX_ERROR;
            }

        } else if (ctx->msg_cap <= NGX_MAIL_TA_WINDOW) {
            np = mmap(NULL, cap, PROT_READ|PROT_WRITE,
                      MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
            if (np == MAP_FAILED) {
                return NGX_ERROR;
            }

            if (ctx->msg_len) {
                ngx_memcpy(np, ctx->msg, ctx->msg_len);
            }

            free(ctx->msg);

        } else {
            np = mremap(ctx->msg, ctx->msg_cap, cap, MREMAP_MAYMOVE);
            if (np == MAP_FAILED) {
                return NGX_ERROR;
            }
        }

        ctx->msg = np;
        ctx->msg_cap = cap;
    }

    ngx_memcpy(ctx->msg + ctx->msg_len, p, n);
    ctx->msg_len += n;

    return NGX_OK;
}


/* the memory part not yet hashed goes to the core, in one piece */

void
ngx_mail_tenantalign_feed(ngx_mail_ta_ctx_t *ctx)
{
    if (ctx->fed < ctx->msg_len) {
        ta_txn_body(ctx->txn, (char *) ctx->msg + ctx->fed,
                    ctx->msg_len - ctx->fed);
        ctx->fed = ctx->msg_len;
    }
}


/* the spill buffer to the core, then to the temp file (made on first use) */

ngx_int_t
ngx_mail_tenantalign_spill_flush(ngx_mail_ta_ctx_t *ctx)
{
    ngx_log_t   *log;
    ngx_pool_t  *pool;
    ngx_file_t  *file;

    if (ctx->win_len == 0) {
        return NGX_OK;
    }

    ta_txn_body(ctx->txn, (char *) ctx->win, ctx->win_len);

    if (ctx->spill == NULL) {
        log = ctx->session->connection->log;

        /* a pool per file: destroying it closes the file, session or not */

        pool = ngx_create_pool(512, log);
        if (pool == NULL) {
            return NGX_ERROR;
        }

        file = ngx_pcalloc(pool, sizeof(ngx_file_t));
        if (file == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        file->fd = NGX_INVALID_FILE;
        file->log = log;

        if (ngx_create_temp_file(file, ctx->conf->temp_path, pool, 0, 0,
                                 0600)
            != NGX_OK)
        {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        ctx->spill_pool = pool;
        ctx->spill = file;
    }

    if (ngx_write_file(ctx->spill, ctx->win, ctx->win_len, ctx->spill_len)
        != (ssize_t) ctx->win_len)
    {
        return NGX_ERROR;
    }

    ctx->spill_len += ctx->win_len;
    ctx->win_len = 0;

    return NGX_OK;
}


/*
 * content beyond tenantalign_buffer_size: gathered 64 KB at a time (the
 * buffer that later reads the file back), then hashed and written to an
 * unlinked temp file - one write per 64 KB, not one per line
 */

static ngx_int_t
ngx_mail_tenantalign_spill(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    size_t  k;

    if (ctx->win == NULL) {
        ctx->win = ngx_alloc(NGX_MAIL_TA_WINDOW,
                             ctx->session->connection->log);
        if (ctx->win == NULL) {
            return NGX_ERROR;
        }
    }

    while (n > 0) {
        k = ngx_min(n, NGX_MAIL_TA_WINDOW - ctx->win_len);
        ngx_memcpy(ctx->win + ctx->win_len, p, k);
        ctx->win_len += k;
        p += k;
        n -= k;

        if (ctx->win_len == NGX_MAIL_TA_WINDOW
            && ngx_mail_tenantalign_spill_flush(ctx) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* one piece of content as it arrives */

ngx_int_t
ngx_mail_tenantalign_content(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    size_t  from, at;

    if (ctx->decided || ctx->fault || n == 0) {
        return NGX_OK;
    }

    ctx->last = p[n - 1];

    if (!ctx->header_done) {

        /* the header section stays in memory, whatever its size; the
         * core says where it ends */

        from = ctx->msg_len;

        if (ngx_mail_tenantalign_msg_append(ctx, p, n) != NGX_OK) {
            return NGX_ERROR;
        }

        at = ta_txn_header_end(ctx->txn, (char *) p, n);

        if (at != TA_EOH_NONE) {
            ngx_mail_tenantalign_header(ctx, from + at);
        }

        return NGX_OK;
    }

    /* the body: hashed in pieces of 16 KB or more, not line by line */

    if (!ctx->spilling && ctx->msg_len + n <= ctx->conf->buffer_size) {
        if (ngx_mail_tenantalign_msg_append(ctx, p, n) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->msg_len - ctx->fed >= 16384) {
            ngx_mail_tenantalign_feed(ctx);
        }

        return NGX_OK;
    }

    if (!ctx->spilling) {
        ngx_mail_tenantalign_feed(ctx);     /* memory first, in order */
        ctx->spilling = 1;
    }

    if (ngx_mail_tenantalign_spill(ctx, p, n) != NGX_OK) {
        ctx->fault = 1;
    }

    return NGX_OK;
}


/*
 * The message goes up dot-stuffed, at most 64 KB queued at a time, from
 * memory and then from the temp file read back in 64 KB windows: a message
 * in flight costs its memory part and a window or two, never a copy.
 */

ngx_int_t
ngx_mail_tenantalign_refill(ngx_mail_ta_ctx_t *ctx)
{
    off_t       off, left;
    u_char     *p, *q, *end, *nl;
    ssize_t     n;
    ta_txn_t   *txn;
    ngx_uint_t  log_due;

    while (ctx->sending && ctx->up_out.len < NGX_MAIL_TA_WINDOW) {

        if (ctx->send_pos == (off_t) ctx->msg_len + ctx->spill_len) {
            if ((ctx->send_pos > 0 && ctx->last != LF
                 && ngx_mail_tenantalign_to_upstream(ctx, (u_char *) CRLF, 2)
                    != NGX_OK)
                || (!ctx->bdat
                    && ngx_mail_tenantalign_to_upstream(ctx,
                           (u_char *) "." CRLF, 3) != NGX_OK))
            {
                return NGX_ERROR;
            }

            /* the message is gone; its transaction waits for the reply */

            txn = ctx->txn;
            log_due = ctx->log_due;
            ctx->txn = NULL;
            ctx->log_due = 0;

            ngx_mail_tenantalign_msg_free(ctx);

            ctx->sent_txn = txn;
            ctx->log_due = log_due;
            break;
        }

        if (ctx->send_pos < (off_t) ctx->msg_len) {
            p = ctx->msg + ctx->send_pos;
            end = ctx->msg + ctx->msg_len;

        } else {
            off = ctx->send_pos - (off_t) ctx->msg_len;

            /* win is the buffer the file was written through */

            if (off < ctx->win_off
                || off >= ctx->win_off + (off_t) ctx->win_len)
            {
                left = ngx_min(ctx->spill_len - off,
                               (off_t) NGX_MAIL_TA_WINDOW);

                n = ngx_read_file(ctx->spill, ctx->win, (size_t) left, off);
                if (n != (ssize_t) left) {
                    return NGX_ERROR;
                }

                ctx->win_off = off;
                ctx->win_len = n;
            }

            p = ctx->win + (off - ctx->win_off);
            end = ctx->win + ctx->win_len;
        }

        if (!ctx->bdat && ctx->send_bol && *p == '.'
            && ngx_mail_tenantalign_to_upstream(ctx, (u_char *) ".", 1)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (end - p > NGX_MAIL_TA_WINDOW) {
            end = p + NGX_MAIL_TA_WINDOW;
        }

        /* for DATA: up to a line that starts with a dot (stuffed next) */

        nl = end;                   /* raw, for BDAT */

        for (q = p; !ctx->bdat; q = nl) {
            nl = memchr(q, LF, end - q);

            if (nl == NULL) {
                nl = end;
                break;
            }

            if (++nl == end || *nl == '.') {
                break;
            }
        }

        if (ngx_mail_tenantalign_to_upstream(ctx, p, nl - p) != NGX_OK) {
            return NGX_ERROR;
        }

        ctx->send_bol = (nl[-1] == LF);
        ctx->send_pos += nl - p;
    }

    return NGX_OK;
}
