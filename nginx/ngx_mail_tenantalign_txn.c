
/*
 * NAME
 *	ngx_mail_tenantalign_txn 3
 * SUMMARY
 *	the transaction: the decision on the message, then relay or refusal
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	void ngx_mail_tenantalign_reset(ngx_mail_ta_ctx_t *ctx);
 *	ngx_int_t ngx_mail_tenantalign_start(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_header(ngx_mail_ta_ctx_t *ctx, size_t hlen);
 *	void ngx_mail_tenantalign_message(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_uint_t too_big);
 *	void ngx_mail_tenantalign_replayed(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_str_t *text, ngx_uint_t code);
 *	ngx_int_t ngx_mail_tenantalign_start_sending(ngx_mail_ta_ctx_t *ctx);
 * DESCRIPTION
 *	ngx_mail_tenantalign_reset() ends the transaction (RSET, EHLO, the
 *	message's final reply). ngx_mail_tenantalign_start() opens the core's
 *	transaction when the client may send the message (354);
 *	ngx_mail_tenantalign_header() has it decide on the header section
 *	once that is complete. ngx_mail_tenantalign_message(), at the final
 *	dot, has the core finish - in tenantalign_thread_pool (if configured)
 *	when an RSA key signs - and applies the effects it returns, nothing
 *	more: the log line; for a refusal the reply and a hidden RSET
 *	upstream; for an acceptance the header fields above the message and
 *	the envelope sender.
 *
 *	A new envelope sender (rewrite_return_path) is applied by replaying
 *	the transaction upstream: RSET, the core's MAIL command with the new
 *	sender and the client's parameters, and every RCPT the upstream
 *	accepted, pipelined where the upstream offers PIPELINING, else one
 *	at a time. Only when all of them are accepted does the message go up;
 *	otherwise the client gets the core's tempfail (nothing is lost). A
 *	message whose sender is kept costs no extra round trip.
 *
 *	The message goes up with DATA (after the upstream's 354) or as one
 *	"BDAT size LAST"; ngx_mail_tenantalign_start_sending() queues the
 *	header fields and starts the message's relay.
 * STANDARDS
 *	RFC 5321; RFC 2920 (pipelining); RFC 3030 (BDAT LAST to the upstream).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


static void ngx_mail_tenantalign_decided(ngx_mail_ta_ctx_t *ctx,
    const ta_effects_t *fx);
static void ngx_mail_tenantalign_refused(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_send(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_bdat(ngx_mail_ta_ctx_t *ctx);


void
ngx_mail_tenantalign_reset(ngx_mail_ta_ctx_t *ctx)
{
    ctx->mail_ok = 0;
    ctx->mail_sent = 0;
    ctx->rcpts = 0;
    ctx->rcpt_lines.len = 0;
    ngx_mail_tenantalign_msg_free(ctx);
}


/* the client may send the message: the core's transaction begins */

ngx_int_t
ngx_mail_tenantalign_start(ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_session_t  *s;

    s = ctx->session;

    ctx->txn = ta_txn_new(ctx->conf->engine,
                          ta_str((char *) s->login.data, s->login.len),
                          ta_str((char *) ctx->mail_arg.data,
                                 ctx->mail_arg.len),
                          TA_MAIL_ARG);

    /* out of memory: the header is never found, the finish tempfails */

    return NGX_OK;
}


/* the header section is complete: the core decides on it */

void
ngx_mail_tenantalign_header(ngx_mail_ta_ctx_t *ctx, size_t hlen)
{
    ctx->header_done = 1;

    if (ta_txn_header(ctx->txn, ctx->msg ? (char *) ctx->msg : "", hlen)
        != TA_ACCEPT)
    {
        /* final: the rest of the message is read and dropped */
        ctx->decided = 1;
        ngx_mail_tenantalign_msg_release(ctx);
        return;
    }

    ctx->fed = hlen;        /* the body so far goes to the core with the rest */
}


/*
 * Signing in tenantalign_thread_pool: an RSA signature takes long enough
 * to stall every other session of the worker's event loop. The
 * transaction belongs to the thread until the completion event; a session
 * closed meanwhile is finalized by that event, not before.
 */

typedef struct {
    ta_txn_t                   *txn;
    const ta_effects_t         *fx;
} ngx_mail_ta_sign_t;


static void
ngx_mail_tenantalign_sign_thread(void *data, ngx_log_t *log)
{
    ngx_mail_ta_sign_t  *st = data;

    st->fx = ta_txn_finish(st->txn);
}


static void
ngx_mail_tenantalign_signed(ngx_event_t *ev)
{
    ngx_mail_ta_ctx_t   *ctx = ev->data;
    ngx_mail_ta_sign_t  *st = ctx->task->ctx;

    ctx->signing = 0;

    if (!ctx->closing) {
        ngx_mail_tenantalign_decided(ctx, st->fx);
        ngx_mail_tenantalign_process(ctx);
    }

    if (ctx->closing) {
        ngx_mail_tenantalign_finalize(ctx);     /* frees ctx: nothing after */
    }
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
    st->fx = NULL;

    if (ngx_thread_task_post(ctx->conf->thread_pool, ctx->task) != NGX_OK) {
        return NGX_ERROR;       /* the queue is full: sign here */
    }

    ctx->signing = 1;

    return NGX_OK;
}


/* the final dot: the decision, then forward or refuse */

void
ngx_mail_tenantalign_message(ngx_mail_ta_ctx_t *ctx, ngx_uint_t too_big)
{
    ngx_uint_t  fault;

    ctx->in_message = 0;

    if (too_big) {
        (void) ngx_mail_tenantalign_local_str(ctx,
                  "552 5.3.4 Message size exceeds fixed limit" CRLF);
        ngx_mail_tenantalign_refused(ctx);
        return;
    }

    if (!ctx->header_done && !ctx->fault) {
        /* no empty line: the whole message is its header section */
        ngx_mail_tenantalign_header(ctx, ctx->msg_len);
    }

    fault = ctx->fault;

    if (!ctx->decided && !fault) {
        ngx_mail_tenantalign_feed(ctx);
        fault = ngx_mail_tenantalign_spill_flush(ctx) != NGX_OK;
    }

    if (fault) {
        ngx_mail_tenantalign_decided(ctx, ta_txn_fail(ctx->txn,
                                       "cannot write the temporary file"));
        return;
    }

    /* an Ed25519 signature costs less than a hand-off to a thread */

    if (!ctx->decided && ctx->conf->thread_pool
        && ta_txn_signs_rsa(ctx->txn)
        && ngx_mail_tenantalign_sign_async(ctx) == NGX_OK)
    {
        return;             /* ngx_mail_tenantalign_signed() goes on */
    }

    ngx_mail_tenantalign_decided(ctx, ta_txn_finish(ctx->txn));
}


/* the verdict is final: apply its effects */

/*
 * the decision's log line, and, once per bad store file, the core's alarm
 * at error level: every message gets 451 until a good store is in place
 */
void
ngx_mail_tenantalign_log_effects(ngx_log_t *log, const ta_effects_t *fx)
{
    if (fx->alarm.len) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "tenantalign: %*s",
                      fx->alarm.len, fx->alarm.data);
    }

    if (fx->warning.len) {
        ngx_log_error(NGX_LOG_WARN, log, 0, "tenantalign: %*s",
                      fx->warning.len, fx->warning.data);
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0, "tenantalign: %*s",
                  fx->log.len, fx->log.data);
}


/*
 * an accepted message's line waits for the upstream's reply to it, which
 * names its queue id; a message the upstream never answered for is
 * logged when freed, without one
 */

void
ngx_mail_tenantalign_log_accepted(ngx_mail_ta_ctx_t *ctx, ngx_str_t *reply)
{
    ta_txn_t  *t;
    ta_str_t   qid;

    t = ctx->sent_txn ? ctx->sent_txn : ctx->txn;

    if (ctx->log_due && t) {
        if (reply) {
            qid = ta_smtp_queue_id((char *) reply->data, reply->len);
            ta_txn_queue_id(t, qid);
        }

        /* finished already: its effects again, the log line with the id */

        ngx_mail_tenantalign_log_effects(ctx->session->connection->log,
                                         ta_txn_finish(t));
    }

    ctx->log_due = 0;

    if (ctx->sent_txn) {
        ta_txn_free(ctx->sent_txn);     /* counted here (ta_engine.h) */
        ctx->sent_txn = NULL;
    }
}


static void
ngx_mail_tenantalign_decided(ngx_mail_ta_ctx_t *ctx, const ta_effects_t *fx)
{
    ngx_mail_session_t  *s;

    s = ctx->session;

    ctx->fx = fx;
    ctx->log_due = (fx->action == TA_ACCEPT);

    if (!ctx->log_due) {
        ngx_mail_tenantalign_log_effects(s->connection->log, fx);
    }

    if (fx->action != TA_ACCEPT) {
        if (ngx_mail_tenantalign_local(ctx, fx->reply.data, fx->reply.len)
            != NGX_OK)
        {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        ngx_mail_tenantalign_refused(ctx);
        return;
    }

    if (fx->sender_changed) {
        ngx_mail_tenantalign_replay(ctx);
        return;
    }

    ngx_mail_tenantalign_send(ctx);
}


/*
 * the envelope is replayed with the new sender: RSET, MAIL, the accepted
 * RCPTs; all at once to an upstream that pipelines, else one per reply
 */

static ngx_int_t
ngx_mail_tenantalign_replay_next(ngx_mail_ta_ctx_t *ctx)
{
    u_char  *p, *end, *nl;

    p = ctx->replay.data + ctx->replay.pos;
    end = ctx->replay.data + ctx->replay.len;

    if (p == end) {
        return NGX_DONE;
    }

    nl = ngx_strlchr(p, end, LF);
    nl = nl ? nl + 1 : end;

    if (ngx_mail_tenantalign_slot(ctx, slot_replay, cmd_other) == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, p, nl - p) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->replay.pos += nl - p;
    ctx->replaying++;

    return NGX_OK;
}


void
ngx_mail_tenantalign_replay(ngx_mail_ta_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->replay.len = 0;
    ctx->replay.pos = 0;
    ctx->replay_failed = 0;

    if (ngx_mail_tenantalign_append(&ctx->replay.data, &ctx->replay.len,
                                    &ctx->replay.cap,
                                    (u_char *) "RSET" CRLF, 6)
           != NGX_OK
        || ngx_mail_tenantalign_append(&ctx->replay.data, &ctx->replay.len,
               &ctx->replay.cap, (u_char *) ctx->fx->mail_command.data,
               ctx->fx->mail_command.len)
           != NGX_OK
        || ngx_mail_tenantalign_append(&ctx->replay.data, &ctx->replay.len,
               &ctx->replay.cap, ctx->rcpt_lines.data, ctx->rcpt_lines.len)
           != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    do {
        rc = ngx_mail_tenantalign_replay_next(ctx);
    } while (rc == NGX_OK && ctx->up_pipelining);

    if (rc == NGX_ERROR) {
        ngx_mail_tenantalign_close(ctx);
    }
}


/* one reply to the replay: the next command, or the message goes up */

void
ngx_mail_tenantalign_replayed(ngx_mail_ta_ctx_t *ctx, ngx_str_t *text,
    ngx_uint_t code)
{
    ngx_int_t  rc;

    ctx->replaying--;

    if (code / 100 != 2 && !ctx->replay_failed) {
        ctx->replay_failed = 1;
        ctx->replay.pos = ctx->replay.len;      /* send no more */

        ngx_log_error(NGX_LOG_ERR, ctx->session->connection->log, 0,
                      "tenantalign: the upstream refused the rewritten "
                      "envelope: \"%V\"", text);
    }

    if (!ctx->up_pipelining && !ctx->replay_failed) {
        rc = ngx_mail_tenantalign_replay_next(ctx);

        if (rc == NGX_ERROR) {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        if (rc == NGX_OK) {
            return;
        }
    }

    if (ctx->replaying > 0) {
        return;
    }

    if (ctx->replay_failed) {
        ngx_mail_tenantalign_decided(ctx, ta_txn_fail(ctx->txn,
                                   "the upstream refused the rewritten "
                                   "envelope sender or a recipient"));
        return;
    }

    ngx_mail_tenantalign_send(ctx);
}


/* the accepted message goes up: BDAT LAST, or DATA and wait for 354 */

static void
ngx_mail_tenantalign_send(ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_ta_slot_t  *slot;

    if (ctx->conf->upstream_bdat == NGX_MAIL_TA_BDAT_ON
        || (ctx->conf->upstream_bdat == NGX_MAIL_TA_BDAT_AUTO
            && ctx->up_chunking))
    {
        ngx_mail_tenantalign_bdat(ctx);
        return;
    }

    slot = ngx_mail_tenantalign_slot(ctx, slot_up_data, cmd_other);
    if (slot == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) "DATA" CRLF, 6)
           != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
    }

    /* the message stays until it has gone up */
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

    size = (off_t) ctx->fx->prepend.len + (off_t) ctx->msg_len
           + ctx->spill_len;

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


/* the header fields go up, then the message, refilled as the socket drains */

ngx_int_t
ngx_mail_tenantalign_start_sending(ngx_mail_ta_ctx_t *ctx)
{
    if (ngx_mail_tenantalign_to_upstream(ctx,
                                         (u_char *) ctx->fx->prepend.data,
                                         ctx->fx->prepend.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->sending = 1;
    ctx->send_pos = 0;
    ctx->send_bol = 1;

    return NGX_OK;
}
