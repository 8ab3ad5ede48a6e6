
/*
 * NAME
 *	ngx_mail_tenantalign_txn 3
 * SUMMARY
 *	the transaction: the decision on the message, then relay or refusal
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	void ngx_mail_tenantalign_reset(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_header(ngx_mail_ta_ctx_t *ctx, size_t hlen);
 *	void ngx_mail_tenantalign_message(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_uint_t too_big);
 *	ngx_int_t ngx_mail_tenantalign_start_sending(ngx_mail_ta_ctx_t *ctx);
 * DESCRIPTION
 *	ngx_mail_tenantalign_reset() ends the transaction (RSET, EHLO, the
 *	message's final reply). ngx_mail_tenantalign_header() opens the
 *	core's transaction once the header section is complete and takes its
 *	decision on the header. ngx_mail_tenantalign_message(), at the final
 *	dot, has the core finish: verdict and signatures, computed in
 *	tenantalign_thread_pool (if configured) when an RSA key signs. An
 *	accepted message goes up after its signature fields, with DATA (the
 *	message after the upstream's 354) or as "BDAT size LAST"; a refused
 *	one gets its reply and a hidden RSET upstream.
 *	ngx_mail_tenantalign_start_sending() queues the signature fields and
 *	starts the message's relay.
 * STANDARDS
 *	RFC 5321; RFC 3030 (BDAT LAST to the upstream).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


static void ngx_mail_tenantalign_decided(ngx_mail_ta_ctx_t *ctx,
    const ta_verdict_t *v, ta_str_t tsigs);
static void ngx_mail_tenantalign_refused(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_bdat(ngx_mail_ta_ctx_t *ctx);


void
ngx_mail_tenantalign_reset(ngx_mail_ta_ctx_t *ctx)
{
    ctx->mail_ok = 0;
    ctx->rcpts = 0;
    ngx_mail_tenantalign_msg_free(ctx);
}


/* the header section is complete: the core decides on it */

void
ngx_mail_tenantalign_header(ngx_mail_ta_ctx_t *ctx, size_t hlen)
{
    ngx_mail_session_t  *s;
    const ta_verdict_t  *v;

    s = ctx->session;

    ctx->txn = ta_txn_new(ctx->conf->engine,
                          ta_str((char *) s->login.data, s->login.len),
                          ta_str((char *) ctx->mail_from.data,
                                 ctx->mail_from.len));

    v = ta_txn_header(ctx->txn, ctx->msg ? (char *) ctx->msg : "", hlen);

    if (v->action != TA_ACCEPT) {
        /* final: the rest of the message is read and dropped */
        ctx->decided = 1;
        ngx_mail_tenantalign_msg_release(ctx);
        return;
    }

    ctx->fed = hlen;        /* the body so far goes to the core with the rest */
}


/* the signature fields (and monitor header) that go up before the message */

static ngx_int_t
ngx_mail_tenantalign_prefix(ngx_mail_ta_ctx_t *ctx, ngx_str_t *sigs,
    ngx_str_t *extra)
{
    size_t  cap = 0;

    free(ctx->prefix);
    ctx->prefix = NULL;
    ctx->prefix_len = 0;

    if (ngx_mail_tenantalign_append(&ctx->prefix, &ctx->prefix_len, &cap,
                                    sigs->data, sigs->len) != NGX_OK
        || ngx_mail_tenantalign_append(&ctx->prefix, &ctx->prefix_len, &cap,
                                       extra->data, extra->len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Signing in tenantalign_thread_pool: an RSA signature costs about a
 * millisecond of CPU that the event loop would otherwise wait for. The
 * transaction belongs to the thread until the completion event; a session
 * closed meanwhile is finalized by that event, not before.
 */

typedef struct {
    ta_txn_t                   *txn;
    const ta_verdict_t         *verdict;
    ta_str_t                    sigs;
} ngx_mail_ta_sign_t;


static void
ngx_mail_tenantalign_sign_thread(void *data, ngx_log_t *log)
{
    ngx_mail_ta_sign_t  *st = data;

    st->verdict = ta_txn_finish(st->txn, &st->sigs);
}


static void
ngx_mail_tenantalign_signed(ngx_event_t *ev)
{
    ngx_mail_ta_ctx_t   *ctx = ev->data;
    ngx_mail_ta_sign_t  *st = ctx->task->ctx;

    ctx->signing = 0;

    if (!ctx->closing) {
        ngx_mail_tenantalign_decided(ctx, st->verdict, st->sigs);
        ngx_mail_tenantalign_process(ctx);
    }

    if (ctx->closing) {
        ngx_mail_tenantalign_finalize(ctx);     /* frees ctx: nothing after */
    }
}


/* an Ed25519 signature (tens of microseconds) costs less than a hand-off */

static ngx_uint_t
ngx_mail_tenantalign_has_rsa(const ta_verdict_t *v)
{
    size_t  i;

    for (i = 0; i < v->nsign; i++) {
        if (v->sign[i]->alg == TA_ALG_RSA_SHA256) {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_mail_tenantalign_sign_async(ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_ta_sign_t  *st;

    if (ctx->task == NULL) {
        ctx->task = ngx_thread_task_alloc(ctx->session->connection->pool,
                                          sizeof(ngx_mail_ta_sign_t));
        if (ctx->task == NULL) {
            return NGX_ERROR;
        }

        ctx->task->handler = ngx_mail_tenantalign_sign_thread;
        ctx->task->event.handler = ngx_mail_tenantalign_signed;
        ctx->task->event.data = ctx;
    }

    st = ctx->task->ctx;
    st->txn = ctx->txn;
    st->verdict = NULL;
    st->sigs = ta_str("", 0);

    if (ngx_thread_task_post(ctx->conf->thread_pool, ctx->task) != NGX_OK) {
        return NGX_ERROR;       /* the queue is full: sign here */
    }

    ctx->signing = 1;

    return NGX_OK;
}


/*
 * RFC 3030 upstream: "BDAT size LAST" and the message as it stands - no
 * wait for a 354, no dot-stuffing, one reply
 */

static void
ngx_mail_tenantalign_bdat(ngx_mail_ta_ctx_t *ctx)
{
    off_t                size;
    u_char               line[64];
    ngx_mail_ta_slot_t  *slot;

    size = (off_t) ctx->prefix_len + (off_t) ctx->msg_len + ctx->spill_len;

    if ((off_t) ctx->msg_len + ctx->spill_len > 0 && ctx->last != LF) {
        size += 2;              /* the CRLF the last line lacks */
    }

    slot = ngx_mail_tenantalign_slot(ctx, slot_final, cmd_other);
    if (slot == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, line,
               ngx_sprintf(line, "BDAT %O LAST" CRLF, size) - line)
           != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    ctx->bdat = 1;

    if (ngx_mail_tenantalign_start_sending(ctx) != NGX_OK) {
        ngx_mail_tenantalign_close(ctx);
    }
}


/* the signatures go up, then the message, refilled as the socket drains */

ngx_int_t
ngx_mail_tenantalign_start_sending(ngx_mail_ta_ctx_t *ctx)
{
    if (ngx_mail_tenantalign_to_upstream(ctx, ctx->prefix, ctx->prefix_len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    free(ctx->prefix);
    ctx->prefix = NULL;
    ctx->sending = 1;
    ctx->send_pos = 0;
    ctx->send_bol = 1;

    return NGX_OK;
}


/* the final dot: the decision, then forward or refuse */

void
ngx_mail_tenantalign_message(ngx_mail_ta_ctx_t *ctx, ngx_uint_t too_big)
{
    ta_str_t             tsigs;
    ngx_mail_session_t  *s;
    const ta_verdict_t  *v;

    s = ctx->session;
    ctx->in_message = 0;

    if (too_big) {
        (void) ngx_mail_tenantalign_local_str(ctx,
                  "552 5.3.4 Message size exceeds fixed limit" CRLF);
        goto refused;
    }

    if (ctx->txn == NULL && !ctx->decided && !ctx->fault) {
        /* no empty line: the whole message is its header section */
        ngx_mail_tenantalign_header(ctx, ctx->msg_len);
    }

    if (!ctx->decided && !ctx->fault) {
        ngx_mail_tenantalign_feed(ctx);

        if (ngx_mail_tenantalign_spill_flush(ctx) != NGX_OK) {
            ctx->fault = NGX_MAIL_TA_TEMP_FAULT;
        }
    }

    if (ctx->fault) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "tenantalign: %s", ctx->fault);
        (void) ngx_mail_tenantalign_local(ctx, ctx->fault,
                                          ngx_strlen(ctx->fault));
        goto refused;
    }

    if (!ctx->decided && ctx->conf->thread_pool
        && ngx_mail_tenantalign_has_rsa(ta_txn_verdict(ctx->txn))
        && ngx_mail_tenantalign_sign_async(ctx) == NGX_OK)
    {
        return;             /* ngx_mail_tenantalign_signed() goes on */
    }

    tsigs = ta_str("", 0);

    v = ctx->decided ? ta_txn_verdict(ctx->txn)
                     : ta_txn_finish(ctx->txn, &tsigs);

    ngx_mail_tenantalign_decided(ctx, v, tsigs);
    return;

refused:

    ngx_mail_tenantalign_refused(ctx);
}


/* the verdict is final: tell the client, or send the message up */

static void
ngx_mail_tenantalign_decided(ngx_mail_ta_ctx_t *ctx, const ta_verdict_t *v,
    ta_str_t tsigs)
{
    char                 reply[1024], line[1024];
    size_t               n;
    ngx_str_t            sigs, extra;
    ngx_mail_session_t  *s;
    ngx_mail_ta_slot_t  *slot;

    s = ctx->session;

    ta_txn_log(ctx->txn, line, sizeof(line));
    ngx_log_error(NGX_LOG_NOTICE, s->connection->log, 0, "tenantalign: %s",
                  line);

    if (v->action != TA_ACCEPT) {
        n = ta_reply_format(v, "\r\n", reply, sizeof(reply));
        (void) ngx_mail_tenantalign_local(ctx, reply, n);
        goto refused;
    }

    sigs.data = (u_char *) tsigs.data;
    sigs.len = tsigs.len;
    extra.len = 0;
    extra.data = (u_char *) reply;

    if (v->monitor) {
        extra.len = ngx_snprintf((u_char *) reply, sizeof(reply),
                                 "X-Tenantalign: monitor; would refuse: %s"
                                 CRLF, v->reason) - (u_char *) reply;
    }

    if (ngx_mail_tenantalign_prefix(ctx, &sigs, &extra) != NGX_OK) {
        (void) ngx_mail_tenantalign_local_str(ctx,
                  "451 4.3.0 tenantalign: out of memory" CRLF);
        goto refused;
    }

    ta_txn_free(ctx->txn);
    ctx->txn = NULL;

    if (ctx->conf->upstream_bdat == NGX_MAIL_TA_BDAT_ON
        || (ctx->conf->upstream_bdat == NGX_MAIL_TA_BDAT_AUTO
            && ctx->up_chunking))
    {
        ngx_mail_tenantalign_bdat(ctx);
        return;
    }

    /* DATA upstream now; the message only after its 354 */

    slot = ngx_mail_tenantalign_slot(ctx, slot_up_data, cmd_other);
    if (slot == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) "DATA" CRLF, 6)
           != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    return;         /* the message stays until it has gone up */

refused:

    ngx_mail_tenantalign_refused(ctx);
}


/* the upstream still holds MAIL and RCPT: a hidden RSET */

static void
ngx_mail_tenantalign_refused(ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_ta_slot_t  *slot;

    ctx->paused = 0;
    ngx_mail_tenantalign_reset(ctx);

    slot = ngx_mail_tenantalign_slot(ctx, slot_hidden, cmd_rset);
    if (slot == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) "RSET" CRLF,
                                            sizeof("RSET" CRLF) - 1)
           != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
    }
}
