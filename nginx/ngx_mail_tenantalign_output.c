
/*
 * NAME
 *	ngx_mail_tenantalign_output 3
 * SUMMARY
 *	reply slots and the output queues to the client and the upstream
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	ngx_mail_ta_slot_t *ngx_mail_tenantalign_slot(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_uint_t type, ngx_uint_t cmd);
 *	ngx_int_t ngx_mail_tenantalign_slot_text(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_mail_ta_slot_t *slot, u_char *text, size_t len);
 *	ngx_int_t ngx_mail_tenantalign_slot_line(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_mail_ta_slot_t *slot, ngx_str_t *line);
 *	ngx_int_t ngx_mail_tenantalign_local(ngx_mail_ta_ctx_t *ctx,
 *	    const char *text, size_t len);
 *	ngx_int_t ngx_mail_tenantalign_to_client(ngx_mail_ta_ctx_t *ctx,
 *	    u_char *p, size_t n);
 *	ngx_int_t ngx_mail_tenantalign_to_upstream(ngx_mail_ta_ctx_t *ctx,
 *	    u_char *p, size_t n);
 *	ngx_int_t ngx_mail_tenantalign_append(u_char **p, size_t *len,
 *	    size_t *cap, const u_char *data, size_t n);
 *	ngx_int_t ngx_mail_tenantalign_write(ngx_connection_t *c,
 *	    ngx_send_pt send, ngx_mail_ta_out_t *out);
 *	void ngx_mail_tenantalign_flush(ngx_mail_ta_ctx_t *ctx);
 * DESCRIPTION
 *	Every command the client sends gets a reply slot, in order:
 *	ngx_mail_tenantalign_slot() queues one (NULL when
 *	NGX_MAIL_TA_SLOTS are outstanding), ngx_mail_tenantalign_slot_text()
 *	gives it its text, ngx_mail_tenantalign_slot_line() keeps the command
 *	it answers (with CRLF), ngx_mail_tenantalign_local() queues a reply the
 *	module makes itself. ngx_mail_tenantalign_to_client() and
 *	ngx_mail_tenantalign_to_upstream() append to the output queues,
 *	ngx_mail_tenantalign_append() to any growing buffer;
 *	ngx_mail_tenantalign_write() sends a queue as far as the socket takes
 *	it. ngx_mail_tenantalign_flush() moves the replies that are complete,
 *	in order, to the client (answering DATA with 354 or 554 once the
 *	earlier replies are in), refills the upstream queue from the message
 *	and writes both, and asks to close once QUIT is answered or the
 *	client has gone with nothing left to do.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


ngx_int_t
ngx_mail_tenantalign_append(u_char **p, size_t *len, size_t *cap,
    const u_char *data, size_t n)
{
    u_char  *np;
    size_t   c;

    if (*len + n > *cap) {
        c = *cap ? *cap : 4096;

        while (c < *len + n) {
            c *= 2;
        }

        np = realloc(*p, c);
        if (np == NULL) {
            return NGX_ERROR;
        }

        *p = np;
        *cap = c;
    }

    ngx_memcpy(*p + *len, data, n);
    *len += n;

    return NGX_OK;
}


ngx_int_t
ngx_mail_tenantalign_to_client(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    return ngx_mail_tenantalign_append(&ctx->cl_out.data, &ctx->cl_out.len,
                                       &ctx->cl_out.cap, p, n);
}


ngx_int_t
ngx_mail_tenantalign_to_upstream(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    ctx->upstream_active = ngx_current_msec;

    return ngx_mail_tenantalign_append(&ctx->up_out.data, &ctx->up_out.len,
                                       &ctx->up_out.cap, p, n);
}


ngx_mail_ta_slot_t *
ngx_mail_tenantalign_slot(ngx_mail_ta_ctx_t *ctx, ngx_uint_t type,
    ngx_uint_t cmd)
{
    ngx_mail_ta_slot_t  *slot;

    if (ctx->count == NGX_MAIL_TA_SLOTS) {
        return NULL;
    }

    slot = &ctx->slots[(ctx->head + ctx->count) % NGX_MAIL_TA_SLOTS];
    ngx_memzero(slot, sizeof(ngx_mail_ta_slot_t));
    slot->type = type;
    slot->cmd = cmd;
    ctx->count++;

    return slot;
}


/*
 * reply texts are allocated per slot and freed once sent, so a session of
 * many transactions does not grow its connection's pool
 */

ngx_int_t
ngx_mail_tenantalign_slot_text(ngx_mail_ta_ctx_t *ctx,
    ngx_mail_ta_slot_t *slot, u_char *text, size_t len)
{
    u_char  *p;

    p = ngx_alloc(len + 1, ctx->session->connection->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_free(slot->mem);
    slot->mem = p;
    slot->text.data = p;
    slot->text.len = len;
    ngx_memcpy(p, text, len);

    return NGX_OK;
}


/* the command a slot answers, kept until its reply (an RCPT, for a replay) */

ngx_int_t
ngx_mail_tenantalign_slot_line(ngx_mail_ta_ctx_t *ctx,
    ngx_mail_ta_slot_t *slot, ngx_str_t *line)
{
    u_char  *p;

    p = ngx_alloc(line->len + 2, ctx->session->connection->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, line->data, line->len);
    p[line->len] = CR;
    p[line->len + 1] = LF;

    ngx_free(slot->line.data);
    slot->line.data = p;
    slot->line.len = line->len + 2;

    return NGX_OK;
}


ngx_int_t
ngx_mail_tenantalign_local(ngx_mail_ta_ctx_t *ctx, const char *text,
    size_t len)
{
    ngx_mail_ta_slot_t  *slot;

    slot = ngx_mail_tenantalign_slot(ctx, slot_local, cmd_other);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    slot->done = 1;

    return ngx_mail_tenantalign_slot_text(ctx, slot, (u_char *) text, len);
}


/* send what is queued on one connection; the rest when it is writable */

ngx_int_t
ngx_mail_tenantalign_write(ngx_connection_t *c, ngx_send_pt send,
    ngx_mail_ta_out_t *out)
{
    ssize_t  n;

    while (out->pos < out->len) {
        n = send(c, out->data + out->pos, out->len - out->pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN || n == 0) {
            return ngx_handle_write_event(c->write, 0);
        }

        out->pos += n;
    }

    out->pos = 0;
    out->len = 0;

    return NGX_OK;
}


/* replies in order to the client; bytes out on both sides */

void
ngx_mail_tenantalign_flush(ngx_mail_ta_ctx_t *ctx)
{
    ngx_connection_t    *c, *u;
    ngx_mail_ta_slot_t  *slot;

    c = ctx->session->connection;
    u = ctx->session->proxy->upstream.connection;

    while (ctx->count > 0 && !ctx->closing) {
        slot = &ctx->slots[ctx->head];

        if (slot->type == slot_data_gate && !slot->done) {
            if (ctx->mail_ok && ctx->rcpts > 0) {
                ngx_str_set(&slot->text,
                            "354 End data with <CR><LF>.<CR><LF>" CRLF);
                ta_smtp_start_data(ctx->stream);
                ctx->in_message = 1;
                ngx_mail_tenantalign_msg_free(ctx);
                (void) ngx_mail_tenantalign_start(ctx);

            } else {
                ngx_str_set(&slot->text,
                            "554 5.5.1 Error: no valid recipients" CRLF);
            }

            slot->done = 1;
            ctx->paused = 0;
        }

        if (!slot->done) {
            break;
        }

        if (slot->text.len
            && ngx_mail_tenantalign_to_client(ctx, slot->text.data,
                                              slot->text.len) != NGX_OK)
        {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        ngx_free(slot->mem);
        slot->mem = NULL;

        ctx->head = (ctx->head + 1) % NGX_MAIL_TA_SLOTS;
        ctx->count--;
    }

    if (ngx_mail_tenantalign_write(c, ctx->client_send, &ctx->cl_out)
        != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    /* the upstream: the queue, refilled from the message as it drains */

    while (u) {
        if (ngx_mail_tenantalign_refill(ctx) != NGX_OK
            || ngx_mail_tenantalign_write(u, ctx->upstream_send, &ctx->up_out)
               != NGX_OK)
        {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        if (ctx->up_out.len > 0 || !ctx->sending) {
            break;      /* the socket is full, or nothing more to send */
        }
    }

    /* QUIT answered, or the client gone with nothing left to do: close */

    if ((ctx->quit && ctx->count == 0 && ctx->cl_out.len == 0)
        || (ctx->client_eof && ctx->count == 0 && ctx->up_out.len == 0
            && ctx->in->pos == ctx->in->last))
    {
        ngx_mail_tenantalign_close(ctx);
    }
}
