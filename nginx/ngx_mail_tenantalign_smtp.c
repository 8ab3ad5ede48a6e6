
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
 *	    ngx_str_t *text);
 * DESCRIPTION
 *	ngx_mail_tenantalign_probe() sends the hidden EHLO that asks whether
 *	the upstream offers CHUNKING (tenantalign_upstream_bdat auto).
 *
 *	ngx_mail_tenantalign_process() runs the client's bytes through the
 *	core's SMTP stream: commands are refused (STARTTLS, AUTH, XCLIENT,
 *	XFORWARD, BDAT), answered locally (DATA, a refused MAIL FROM) or
 *	relayed with a reply slot; content goes to the message buffer; the
 *	final dot to the transaction.
 *
 *	ngx_mail_tenantalign_upstream_reply() gives one complete upstream
 *	reply to the first slot waiting for one: swallowed for the module's
 *	own commands, the 354 to its DATA starts the message, an EHLO reply
 *	is filtered to the capabilities a tenant may use after AUTH.
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


/* whether an EHLO reply lists CHUNKING */

static ngx_uint_t
ngx_mail_tenantalign_offers_chunking(ngx_str_t *text)
{
    u_char  *p, *end, *nl;

    p = text->data;
    end = text->data + text->len;

    for ( /* void */ ; p < end; p = nl) {
        nl = ngx_strlchr(p, end, LF);
        nl = nl ? nl + 1 : end;

        if (nl - p >= 4 + 8
            && ngx_strncasecmp(p + 4, (u_char *) "CHUNKING", 8) == 0
            && (nl - p == 4 + 8 || p[12] == CR || p[12] == LF
                || p[12] == ' '))
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_mail_tenantalign_verb(ngx_str_t *line, const char *verb)
{
    size_t  n = ngx_strlen(verb);

    return line->len >= n
           && ngx_strncasecmp(line->data, (u_char *) verb, n) == 0
           && (line->len == n || line->data[n] == ' '
               || line->data[n] == ':');
}


/* the reverse-path of "MAIL FROM:<a@b> PARAMS", as the client wrote it */

static ngx_str_t
ngx_mail_tenantalign_reverse_path(ngx_str_t *line)
{
    u_char     *p, *end, *q;
    ngx_str_t   path = ngx_null_string;

    p = line->data + 4;
    end = line->data + line->len;

    while (p < end && *p == ' ') {
        p++;
    }

    if (end - p < 5 || ngx_strncasecmp(p, (u_char *) "FROM:", 5) != 0) {
        return path;
    }

    p += 5;

    while (p < end && *p == ' ') {
        p++;
    }

    if (p < end && *p == '<') {
        q = ngx_strlchr(p, end, '>');
        end = q ? q + 1 : end;

    } else {
        q = ngx_strlchr(p, end, ' ');
        end = q ? q : end;
    }

    path.data = p;
    path.len = end - p;

    return path;
}


static void
ngx_mail_tenantalign_command(ngx_mail_ta_ctx_t *ctx, ngx_str_t *line)
{
    char                 reply[1024];
    size_t               n;
    ngx_str_t            path, login;
    ta_verdict_t         v;
    ngx_mail_session_t  *s;
    ngx_mail_ta_slot_t  *slot;
    ngx_uint_t           cmd;

    s = ctx->session;

    if (ngx_mail_tenantalign_verb(line, "STARTTLS")
        || ngx_mail_tenantalign_verb(line, "AUTH")
        || ngx_mail_tenantalign_verb(line, "XCLIENT")
        || ngx_mail_tenantalign_verb(line, "XFORWARD"))
    {
        (void) ngx_mail_tenantalign_local_str(ctx,
                  "503 5.5.1 Not allowed after authentication" CRLF);
        return;
    }

    if (ngx_mail_tenantalign_verb(line, "BDAT")) {
        (void) ngx_mail_tenantalign_local_str(ctx,
                  "502 5.5.1 BDAT is not available here: use DATA" CRLF);
        return;
    }

    if (ngx_mail_tenantalign_verb(line, "DATA")) {
        slot = ngx_mail_tenantalign_slot(ctx, slot_data_gate, cmd_other);
        if (slot == NULL) {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        ctx->paused = 1;
        return;
    }

    cmd = cmd_other;

    if (ngx_mail_tenantalign_verb(line, "MAIL")) {
        cmd = cmd_mail;
        path = ngx_mail_tenantalign_reverse_path(line);
        login.data = s->login.data;
        login.len = s->login.len;

        ta_engine_mail(ctx->conf->engine, ta_str((char *) login.data,
                       login.len), ta_str((char *) path.data, path.len), &v);

        if (v.action != TA_ACCEPT) {
            n = ta_reply_format(&v, "\r\n", reply, sizeof(reply));
            ta_log_format(&v, ta_str("", 0),
                          ta_str((char *) login.data, login.len),
                          reply + n + 1, sizeof(reply) - n - 1);
            ngx_log_error(NGX_LOG_NOTICE, s->connection->log, 0,
                          "tenantalign: at MAIL FROM: %s", reply + n + 1);
            (void) ngx_mail_tenantalign_local(ctx, reply, n);
            return;
        }

        ngx_free(ctx->mail_from.data);
        ctx->mail_from.data = ngx_alloc(path.len + 1, s->connection->log);
        if (ctx->mail_from.data == NULL) {
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        ngx_memcpy(ctx->mail_from.data, path.data, path.len);
        ctx->mail_from.len = path.len;

    } else if (ngx_mail_tenantalign_verb(line, "RCPT")) {
        cmd = cmd_rcpt;

    } else if (ngx_mail_tenantalign_verb(line, "RSET")) {
        cmd = cmd_rset;
        ngx_mail_tenantalign_reset(ctx);

    } else if (ngx_mail_tenantalign_verb(line, "EHLO")
               || ngx_mail_tenantalign_verb(line, "HELO"))
    {
        cmd = cmd_ehlo;
        ngx_mail_tenantalign_reset(ctx);

    } else if (ngx_mail_tenantalign_verb(line, "QUIT")) {
        cmd = cmd_quit;
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


/* keep only the EHLO capabilities a tenant may use after AUTH */

static ngx_int_t
ngx_mail_tenantalign_filter_ehlo(ngx_mail_ta_ctx_t *ctx,
    ngx_mail_ta_slot_t *slot, ngx_str_t *text)
{
    u_char      *p, *end, *nl, *out, *last_line;
    size_t       len;
    ngx_uint_t   i;
    static const char *const drop[] = {
        "CHUNKING", "BINARYMIME", "STARTTLS", "AUTH", "XCLIENT", "XFORWARD",
        "SIZE", NULL
    };

    out = ngx_alloc(text->len + 64, ctx->session->connection->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    p = text->data;
    end = text->data + text->len;
    len = 0;

    for (i = 0; p < end; i++, p = nl) {
        nl = ngx_strlchr(p, end, LF);
        nl = nl ? nl + 1 : end;

        if (i > 0) {
            ngx_uint_t  k, skip = 0;

            for (k = 0; drop[k]; k++) {
                size_t  n = ngx_strlen(drop[k]);

                if ((size_t) (nl - p) >= 4 + n
                    && ngx_strncasecmp(p + 4, (u_char *) drop[k], n) == 0)
                {
                    skip = 1;
                }
            }

            if (skip) {
                continue;
            }
        }

        last_line = out + len;
        len = ngx_cpymem(out + len, p, nl - p) - out;
        last_line[3] = '-';
    }

    /* our own SIZE, the limit the module enforces, ends the reply */

    len = ngx_sprintf(out + len, "250 SIZE %uz" CRLF,
                      ctx->conf->max_message_size) - out;

    ngx_free(slot->mem);
    slot->mem = out;
    slot->text.data = out;
    slot->text.len = len;

    return NGX_OK;
}


/* one complete reply from the upstream: to the first slot waiting for one */

void
ngx_mail_tenantalign_upstream_reply(ngx_mail_ta_ctx_t *ctx, ngx_str_t *text)
{
    ngx_int_t            rc;
    ngx_uint_t           i, code;
    ngx_mail_ta_slot_t  *slot;

    code = (text->data[0] - '0') * 100 + (text->data[1] - '0') * 10
           + (text->data[2] - '0');

    for (i = 0; i < ctx->count; i++) {
        slot = &ctx->slots[(ctx->head + i) % NGX_MAIL_TA_SLOTS];

        if (slot->done || slot->type == slot_local
            || slot->type == slot_data_gate)
        {
            continue;
        }

        switch (slot->type) {

        case slot_hidden:
            if (slot->cmd == cmd_ehlo) {
                ctx->up_chunking = code == 250
                                   && ngx_mail_tenantalign_offers_chunking(text);
            }

            if (slot->cmd == cmd_ehlo || slot->cmd == cmd_noop) {
                ctx->paused = 0;        /* what waited for it may go up */
            }

            slot->done = 1;
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

            ngx_mail_tenantalign_msg_free(ctx);
            break;

        default:
            break;
        }

        if (slot->cmd == cmd_ehlo && code == 250) {
            ctx->up_chunking = ngx_mail_tenantalign_offers_chunking(text);
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
        }

        if (slot->type == slot_final || slot->type == slot_up_data) {
            ngx_mail_tenantalign_reset(ctx);
            ctx->paused = 0;
        }

        return;
    }

    ngx_log_error(NGX_LOG_INFO, ctx->session->connection->log, 0,
                  "tenantalign: unexpected reply from upstream: \"%V\"", text);
}
