
/*
 * NAME
 *	ngx_mail_tenantalign_smtp 3
 * SUMMARY
 *	SMTP after AUTH: the client's commands and the upstream's replies
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	ngx_int_t ngx_mail_tenantalign_probe(ngx_mail_session_t *s,
 *	    ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_process(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_upstream_reply(ngx_mail_ta_ctx_t *ctx,
 *	    ngx_str_t *text, ngx_uint_t code);
 * DESCRIPTION
 *	ngx_mail_tenantalign_probe() sends the hidden EHLO that asks whether
 *	the upstream offers CHUNKING and PIPELINING (tenantalign_upstream_bdat
 *	auto).
 *
 *	ngx_mail_tenantalign_process() runs the client's bytes through the
 *	core's SMTP stream; each command line is classified by the core
 *	(ta_smtp_verb): what a tenant may not use after AUTH gets the core's
 *	refusal, DATA is answered locally, MAIL goes to the core's check
 *	(ta_engine_mail), which gives the refusal or the rebuilt command to
 *	forward; RCPT and the rest are relayed with a reply slot (an RCPT's
 *	line kept for a replay); content goes to the message buffer, the final
 *	dot to the transaction.
 *
 *	ngx_mail_tenantalign_upstream_reply() gives one complete upstream
 *	reply (framed by the core, ta_smtp_reply_scan) to the first slot
 *	waiting for one: swallowed for the module's own commands, counted for
 *	a replay, the 354 to its DATA starts the message, an EHLO reply is
 *	filtered by the core to the capabilities a tenant may use after AUTH.
 * STANDARDS
 *	RFC 5321; RFC 2920 (the hidden EHLO ends a pipelined group); RFC 3030
 *	(CHUNKING is not offered to the client).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


/*
 * tenantalign_upstream_bdat auto: nginx read the upstream's EHLO reply
 * itself and kept nothing of it, so a hidden EHLO asks again whether the
 * upstream offers CHUNKING. It names the server_name, as nginx's own EHLO
 * does (with xclient on, nginx's second EHLO named the client's HELO
 * instead: the upstream then records ours). EHLO before the first MAIL
 * changes no transaction state. EHLO must end a pipelined group (RFC 2920;
 * Exim drops a client that sends more before the reply): the client's
 * commands wait, unread, until the reply is in.
 */

ngx_int_t
ngx_mail_tenantalign_probe(ngx_mail_session_t *s, ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_core_srv_conf_t  *cscf;

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    if (ngx_mail_tenantalign_slot(ctx, slot_hidden, cmd_ehlo) == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) "EHLO ", 5)
           != NGX_OK
        || ngx_mail_tenantalign_to_upstream(ctx, cscf->server_name.data,
                                            cscf->server_name.len)
           != NGX_OK
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) CRLF, 2)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->paused = 1;

    return NGX_OK;
}


/* the upstream's capabilities, from an EHLO reply */

static void
ngx_mail_tenantalign_capabilities(ngx_mail_ta_ctx_t *ctx, ngx_str_t *text)
{
    ctx->up_chunking = ta_smtp_ehlo_offers((char *) text->data, text->len,
                                           "CHUNKING");
    ctx->up_pipelining = ta_smtp_ehlo_offers((char *) text->data, text->len,
                                             "PIPELINING");
}


/* MAIL: the core checks the sender and rebuilds the command that goes up */

static void
ngx_mail_tenantalign_mail(ngx_mail_ta_ctx_t *ctx, ta_str_t arg)
{
    ta_mail_t            m;
    ngx_mail_session_t  *s;
    ngx_mail_ta_slot_t  *slot;

    s = ctx->session;

    ta_engine_mail(ctx->conf->engine,
                   ta_str((char *) s->login.data, s->login.len), arg,
                   TA_MAIL_ARG, &m);

    if (m.fx.action != TA_ACCEPT) {
        ctx->mail_sent = 0;
        ngx_mail_tenantalign_log_effects(s->connection->log, &m.fx);

        if (ngx_mail_tenantalign_local(ctx, m.fx.reply.data, m.fx.reply.len)
            != NGX_OK)
        {
            ngx_mail_tenantalign_close(ctx);
        }

        return;
    }

    ngx_free(ctx->mail_arg.data);
    ctx->mail_arg.data = ngx_alloc(arg.len + 1, s->connection->log);
    slot = ngx_mail_tenantalign_slot(ctx, slot_relay, cmd_mail);

    if (ctx->mail_arg.data == NULL
        || slot == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) m.command.data,
                                            m.command.len)
           != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    ngx_memcpy(ctx->mail_arg.data, arg.data, arg.len);
    ctx->mail_arg.len = arg.len;
    ctx->mail_sent = 1;
}


static void
ngx_mail_tenantalign_command(ngx_mail_ta_ctx_t *ctx, ngx_str_t *line)
{
    ta_str_t             arg;
    const char          *refusal;
    ngx_uint_t           cmd;
    ta_smtp_verb_t       verb;
    ngx_mail_ta_slot_t  *slot;

    verb = ta_smtp_verb((char *) line->data, line->len, &arg);

    refusal = ta_smtp_after_auth(verb);
    if (refusal) {
        (void) ngx_mail_tenantalign_local(ctx, refusal, ngx_strlen(refusal));
        return;
    }

    switch (verb) {

    case TA_SMTP_VERB_DATA:
        slot = ngx_mail_tenantalign_slot(ctx, slot_data_gate, cmd_other);
        if (slot == NULL) {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        ctx->paused = 1;
        return;

    case TA_SMTP_VERB_MAIL:
        ngx_mail_tenantalign_mail(ctx, arg);
        return;

    case TA_SMTP_VERB_RCPT:
        if (!ctx->mail_sent) {
            /*
             * no MAIL went up (refused here, or none given): answered
             * here too, as a pipelining client sends its RCPTs after a
             * MAIL it has no reply to yet; the upstream would count
             * each as a protocol error and drop the session
             */
            (void) ngx_mail_tenantalign_local_str(ctx,
                         "503 5.5.1 no sender: MAIL FROM was not accepted"
                         CRLF);
            return;
        }

        cmd = cmd_rcpt;
        break;

    case TA_SMTP_VERB_RSET:
        cmd = cmd_rset;
        ngx_mail_tenantalign_reset(ctx);
        break;

    case TA_SMTP_VERB_EHLO:
    case TA_SMTP_VERB_HELO:
        cmd = cmd_ehlo;
        ngx_mail_tenantalign_reset(ctx);
        break;

    case TA_SMTP_VERB_QUIT:
        cmd = cmd_quit;
        break;

    default:
        cmd = cmd_other;
    }

    slot = ngx_mail_tenantalign_slot(ctx, slot_relay, cmd);

    if (slot == NULL
        || ngx_mail_tenantalign_to_upstream(ctx, line->data, line->len)
           != NGX_OK
        || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) CRLF, 2) != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    /* an accepted RCPT is replayed if the envelope sender is rewritten */

    if (cmd == cmd_rcpt
        && ngx_mail_tenantalign_slot_line(ctx, slot, line) != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    if (cmd == cmd_quit) {
        ctx->quit = 1;
        ctx->paused = 1;
    }
}


/* run the client's bytes through the SMTP stream */

void
ngx_mail_tenantalign_process(ngx_mail_ta_ctx_t *ctx)
{
    size_t            used;
    ngx_str_t         line;
    ta_smtp_event_t   ev;

    while (!ctx->paused && !ctx->closing && ctx->in->pos < ctx->in->last) {

        used = ta_smtp_feed(ctx->stream, (char *) ctx->in->pos,
                            ctx->in->last - ctx->in->pos, &ev);
        ctx->in->pos += used;

        switch (ev.type) {

        case TA_SMTP_COMMAND:
            if (ev.too_long) {
                (void) ngx_mail_tenantalign_local_str(ctx,
                  "500 5.5.2 Line too long" CRLF);
                break;
            }

            line.data = (u_char *) ev.line;
            line.len = ev.len;
            ngx_mail_tenantalign_command(ctx, &line);
            break;

        case TA_SMTP_CONTENT:
            if (ngx_mail_tenantalign_content(ctx, (u_char *) ev.line, ev.len)
                != NGX_OK)
            {
                ngx_mail_tenantalign_close(ctx);
                return;
            }

            break;

        case TA_SMTP_END:
            ctx->paused = 1;
            ngx_mail_tenantalign_message(ctx, ev.too_big);
            break;

        default:
            break;
        }

        if (ctx->count >= NGX_MAIL_TA_SLOTS - 2) {
            /* too many replies outstanding: wait for the upstream */
            break;
        }
    }

    if (ctx->in->pos == ctx->in->last) {
        ctx->in->pos = ctx->in->start;
        ctx->in->last = ctx->in->start;
    }

    ngx_mail_tenantalign_flush(ctx);
}


/* the EHLO reply, reduced to what a tenant may use after AUTH */

static ngx_int_t
ngx_mail_tenantalign_filter_ehlo(ngx_mail_ta_ctx_t *ctx,
    ngx_mail_ta_slot_t *slot, ngx_str_t *text)
{
    u_char  *out;
    size_t   len, size;

    size = TA_SMTP_EHLO_AFTER_AUTH_ROOM(text->len);

    out = ngx_alloc(size, ctx->session->connection->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    len = ta_smtp_ehlo_after_auth((char *) text->data, text->len,
                                  ctx->conf->max_message_size,
                                  (char *) out, size);
    if (len == 0) {
        ngx_free(out);
        return NGX_ERROR;
    }

    ngx_free(slot->mem);
    slot->mem = out;
    slot->text.data = out;
    slot->text.len = len;

    return NGX_OK;
}


/* one complete reply from the upstream: to the first slot waiting for one */

void
ngx_mail_tenantalign_upstream_reply(ngx_mail_ta_ctx_t *ctx, ngx_str_t *text,
    ngx_uint_t code)
{
    ngx_int_t            rc;
    ngx_uint_t           i;
    ngx_mail_ta_slot_t  *slot;

    for (i = 0; i < ctx->count; i++) {
        slot = &ctx->slots[(ctx->head + i) % NGX_MAIL_TA_SLOTS];

        if (slot->done || slot->type == slot_local
            || slot->type == slot_data_gate)
        {
            continue;
        }

        switch (slot->type) {

        case slot_hidden:
            if (slot->cmd == cmd_ehlo && code == 250) {
                ngx_mail_tenantalign_capabilities(ctx, text);
            }

            if (slot->cmd == cmd_ehlo || slot->cmd == cmd_noop) {
                ctx->paused = 0;        /* what waited for it may go up */
            }

            slot->done = 1;
            return;

        case slot_replay:
            slot->done = 1;
            ngx_mail_tenantalign_replayed(ctx, text, code);
            return;

        case slot_up_data:
            if (code == 354) {
                if (ngx_mail_tenantalign_start_sending(ctx) != NGX_OK) {
                    ngx_mail_tenantalign_close(ctx);
                    return;
                }

                slot->type = slot_final;
                return;
            }

            /* the upstream refused DATA: that is the message's reply */

            ngx_mail_tenantalign_log_accepted(ctx, NULL);
            ngx_mail_tenantalign_msg_free(ctx);
            break;

        default:
            break;
        }

        if (slot->cmd == cmd_ehlo && code == 250) {
            ngx_mail_tenantalign_capabilities(ctx, text);
            rc = ngx_mail_tenantalign_filter_ehlo(ctx, slot, text);

        } else {
            rc = ngx_mail_tenantalign_slot_text(ctx, slot, text->data,
                                                text->len);
        }

        if (rc != NGX_OK) {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        slot->done = 1;

        if (slot->cmd == cmd_mail) {
            ctx->mail_ok = (code / 100 == 2);
        }

        if (slot->cmd == cmd_rcpt && code / 100 == 2) {
            ctx->rcpts++;

            if (ngx_mail_tenantalign_append(&ctx->rcpt_lines.data,
                                            &ctx->rcpt_lines.len,
                                            &ctx->rcpt_lines.cap,
                                            slot->line.data, slot->line.len)
                != NGX_OK)
            {
                ngx_mail_tenantalign_close(ctx);
                return;
            }
        }

        ngx_free(slot->line.data);
        ngx_str_null(&slot->line);

        if (slot->type == slot_final || slot->type == slot_up_data) {
            ngx_mail_tenantalign_log_accepted(ctx, code / 100 == 2 ? text : NULL);
            ngx_mail_tenantalign_reset(ctx);
            ctx->paused = 0;
        }

        return;
    }

    ngx_log_error(NGX_LOG_INFO, ctx->session->connection->log, 0,
                  "tenantalign: unexpected reply from upstream: \"%V\"", text);
}
