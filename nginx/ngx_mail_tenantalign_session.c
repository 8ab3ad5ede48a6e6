
/*
 * NAME
 *	ngx_mail_tenantalign_session 3
 * SUMMARY
 *	the session: nginx's hooks, the take-over after AUTH, the event
 *	handlers, close
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	void ngx_mail_tenantalign_init_session(ngx_mail_session_t *s,
 *	    ngx_connection_t *c);
 *	void ngx_mail_tenantalign_init_protocol(ngx_event_t *rev);
 *	void ngx_mail_tenantalign_close(ngx_mail_ta_ctx_t *ctx);
 *	void ngx_mail_tenantalign_finalize(ngx_mail_ta_ctx_t *ctx);
 * DESCRIPTION
 *	ngx_mail_tenantalign_init_session() and
 *	ngx_mail_tenantalign_init_protocol() wrap the SMTP protocol's own
 *	(merge_srv_conf installs them): they create the session's context and
 *	put a wrapper on the client's c->send, again after each STARTTLS
 *	handshake replaced it. The wrapper sees nginx switch both connections
 *	to its byte pump, and takes the session over: nginx's recv functions
 *	blocked, the module's read and write handlers on both connections,
 *	the bytes the client pipelined after AUTH taken out of nginx's buffer.
 *
 *	Every event handler runs its body through one wrapper, which
 *	finalizes the session when the body asked for it:
 *	ngx_mail_tenantalign_close() only asks, since closing frees the
 *	context; ngx_mail_tenantalign_finalize() closes both connections.
 *	The bodies read the client (and keep an idle upstream alive with
 *	hidden NOOPs), read the upstream's replies, and flush on write events.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


static ssize_t ngx_mail_tenantalign_send(ngx_connection_t *c, u_char *buf,
    size_t size);
static ssize_t ngx_mail_tenantalign_recv_blocked(ngx_connection_t *c,
    u_char *buf, size_t size);
static void ngx_mail_tenantalign_take_over(ngx_mail_session_t *s,
    ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_client_read(ngx_event_t *ev);
/* an event handler's body: run() looks its context up for it */
typedef void (*ngx_mail_ta_body_pt)(ngx_event_t *ev, ngx_mail_ta_ctx_t *ctx);

static void ngx_mail_tenantalign_client_read_body(ngx_event_t *ev,
    ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_client_write(ngx_event_t *ev);
static void ngx_mail_tenantalign_write_body(ngx_event_t *ev,
    ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_upstream_read(ngx_event_t *ev);
static void ngx_mail_tenantalign_upstream_read_body(ngx_event_t *ev,
    ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_upstream_write(ngx_event_t *ev);
static void ngx_mail_tenantalign_run(ngx_event_t *ev,
    ngx_mail_ta_body_pt body);
static void ngx_mail_tenantalign_cleanup(void *data);


static ngx_mail_ta_ctx_t *
ngx_mail_tenantalign_get_ctx(ngx_mail_session_t *s)
{
    ngx_mail_ta_ctx_t                *ctx;
    ngx_pool_cleanup_t               *cln;
    ngx_mail_tenantalign_srv_conf_t  *tcf;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);
    if (ctx) {
        return ctx;
    }

    tcf = ngx_mail_get_module_srv_conf(s, ngx_mail_tenantalign_module);

    ctx = ngx_pcalloc(s->connection->pool, sizeof(ngx_mail_ta_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(s->connection->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_mail_tenantalign_cleanup;
    cln->data = ctx;

    ctx->session = s;
    ctx->conf = tcf;

    ngx_mail_set_ctx(s, ctx, ngx_mail_tenantalign_module);

    return ctx;
}


void
ngx_mail_tenantalign_init_session(ngx_mail_session_t *s, ngx_connection_t *c)
{
    ngx_mail_ta_ctx_t                *ctx;
    ngx_mail_tenantalign_srv_conf_t  *tcf;

    tcf = ngx_mail_get_module_srv_conf(s, ngx_mail_tenantalign_module);

    tcf->init_session(s, c);

    if (c->destroyed) {
        return;
    }

    ctx = ngx_mail_tenantalign_get_ctx(s);
    if (ctx == NULL) {
        return;
    }

    ctx->client_send = c->send;
    c->send = ngx_mail_tenantalign_send;
}


void
ngx_mail_tenantalign_init_protocol(ngx_event_t *rev)
{
    ngx_connection_t                 *c;
    ngx_mail_session_t               *s;
    ngx_mail_ta_ctx_t                *ctx;
    ngx_mail_tenantalign_srv_conf_t  *tcf;

    c = rev->data;
    s = c->data;
    tcf = ngx_mail_get_module_srv_conf(s, ngx_mail_tenantalign_module);

    /* a TLS handshake replaced c->send: wrap the new one */

    ctx = ngx_mail_tenantalign_get_ctx(s);
    if (ctx && c->send != ngx_mail_tenantalign_send) {
        ctx->client_send = c->send;
        c->send = ngx_mail_tenantalign_send;
    }

    tcf->init_protocol(rev);
}


static ssize_t
ngx_mail_tenantalign_send(ngx_connection_t *c, u_char *buf, size_t size)
{
    ssize_t              n;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    s = c->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

    n = ctx->client_send(c, buf, size);

    /* nginx switched both connections to its byte pump: proxying began */

    if (!ctx->taken
        && s->proxy
        && s->proxy->upstream.connection
        && c->read->handler == s->proxy->upstream.connection->read->handler)
    {
        ngx_mail_tenantalign_take_over(s, ctx);
    }

    return n;
}


static ssize_t
ngx_mail_tenantalign_recv_blocked(ngx_connection_t *c, u_char *buf,
    size_t size)
{
    /* nginx's pump must not read any more: the module does */
    return NGX_AGAIN;
}


static void
ngx_mail_tenantalign_take_over(ngx_mail_session_t *s, ngx_mail_ta_ctx_t *ctx)
{
    ngx_connection_t  *c, *u;

    c = s->connection;
    u = s->proxy->upstream.connection;

    ctx->taken = 1;
    ctx->client_recv = c->recv;
    ctx->upstream_recv = u->recv;
    ctx->upstream_send = u->send;

    c->recv = ngx_mail_tenantalign_recv_blocked;
    u->recv = ngx_mail_tenantalign_recv_blocked;

    /* our handlers before anything can fail: a failure is then finalized
     * by them, never left to nginx's unchecked byte pump */

    c->read->handler = ngx_mail_tenantalign_client_read;
    c->write->handler = ngx_mail_tenantalign_client_write;
    u->read->handler = ngx_mail_tenantalign_upstream_read;
    u->write->handler = ngx_mail_tenantalign_upstream_write;
    ngx_post_event(c->read, &ngx_posted_events);

    ctx->upstream_active = ngx_current_msec;
    ctx->stream = ngx_palloc(c->pool, sizeof(ta_smtp_stream_t));
    ctx->in = ngx_create_temp_buf(c->pool, NGX_MAIL_TA_IOBUF);
    ctx->up_in = ngx_create_temp_buf(c->pool, NGX_MAIL_TA_IOBUF);

    if (ctx->stream == NULL || ctx->in == NULL || ctx->up_in == NULL) {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    ta_smtp_init(ctx->stream, ctx->conf->max_message_size);

    if (ngx_mail_tenantalign_engine(ctx->conf, c->log) != NGX_OK) {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    if (ctx->conf->upstream_bdat == NGX_MAIL_TA_BDAT_AUTO
        && ngx_mail_tenantalign_probe(s, ctx) != NGX_OK)
    {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    /* bytes the client pipelined after AUTH: ours, not nginx's to flush */

    if (s->buffer->pos < s->buffer->last) {
        ctx->in->last = ngx_cpymem(ctx->in->last, s->buffer->pos,
                                   ngx_min((size_t) (s->buffer->last
                                                     - s->buffer->pos),
                                           NGX_MAIL_TA_IOBUF));
        s->buffer->pos = s->buffer->last;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_MAIL, c->log, 0,
                   "tenantalign: session taken over after AUTH");
}


static void
ngx_mail_tenantalign_cleanup(void *data)
{
    ngx_mail_ta_ctx_t  *ctx = data;

    ngx_uint_t  i;

    ngx_mail_tenantalign_msg_free(ctx);

    for (i = 0; i < ctx->count; i++) {
        ngx_free(ctx->slots[(ctx->head + i) % NGX_MAIL_TA_SLOTS].mem);
        ngx_free(ctx->slots[(ctx->head + i) % NGX_MAIL_TA_SLOTS].line.data);
    }

    ctx->count = 0;

    free(ctx->cl_out.data);
    free(ctx->up_out.data);
    free(ctx->rcpt_lines.data);
    free(ctx->replay.data);
    ngx_free(ctx->mail_arg.data);

    ctx->cl_out.data = NULL;
    ctx->up_out.data = NULL;
    ctx->rcpt_lines.data = NULL;
    ctx->replay.data = NULL;
    ctx->mail_arg.data = NULL;
}


/*
 * Closing frees the connection's pool, and the context with it: code below
 * only asks for it; each event handler, as its very last action, does it.
 */

void
ngx_mail_tenantalign_close(ngx_mail_ta_ctx_t *ctx)
{
    ctx->closing = 1;
}


void
ngx_mail_tenantalign_finalize(ngx_mail_ta_ctx_t *ctx)
{
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;

    s = ctx->session;
    c = s->connection;

    if (s->proxy && s->proxy->upstream.connection) {
        ngx_close_connection(s->proxy->upstream.connection);
        s->proxy->upstream.connection = NULL;
    }

    ngx_mail_close_connection(c);
}


static void
ngx_mail_tenantalign_client_read_body(ngx_event_t *ev, ngx_mail_ta_ctx_t *ctx)
{
    ssize_t              n;
    ngx_connection_t    *c;

    c = ev->data;

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "tenantalign: client timed out");
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    if (ctx->conf->engine == NULL) {
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    /*
     * Read until the socket is drained (events are edge-triggered),
     * processing as we go so that a message larger than the buffer
     * streams through it.
     */

    while (!ctx->client_eof) {

        if (ctx->in->last == ctx->in->end && ctx->in->pos > ctx->in->start) {
            n = ctx->in->last - ctx->in->pos;
            ngx_memmove(ctx->in->start, ctx->in->pos, n);
            ctx->in->pos = ctx->in->start;
            ctx->in->last = ctx->in->start + n;
        }

        if (ctx->in->last == ctx->in->end) {
            break;      /* paused with a full buffer: resumed by the upstream */
        }

        n = ctx->client_recv(c, ctx->in->last, ctx->in->end - ctx->in->last);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            /* half-close: finish what was sent, then close */
            ctx->client_eof = 1;
            break;
        }

        ctx->in->last += n;

        /*
         * A long upload leaves the upstream idle (DATA goes up only after
         * the decision): keep it from timing out with hidden NOOPs. NOOP
         * ends a pipelined group (RFC 2920), so the upload waits for its
         * reply: DATA or BDAT must not follow it unanswered.
         */

        if (ctx->in_message
            && ngx_current_msec - ctx->upstream_active
               > ctx->conf->upstream_keepalive)
        {
            if (ngx_mail_tenantalign_slot(ctx, slot_hidden, cmd_noop) == NULL
                || ngx_mail_tenantalign_to_upstream(ctx, (u_char *) "NOOP" CRLF,
                                                    sizeof("NOOP" CRLF) - 1)
                   != NGX_OK)
            {
                ngx_mail_tenantalign_close(ctx);
                return;
            }

            ctx->paused = 1;
        }

        ngx_mail_tenantalign_process(ctx);

        if (ctx->closing) {
            return;
        }
    }

    ngx_mail_tenantalign_process(ctx);

    if (ctx->closing) {
        return;
    }

    if (!ctx->client_eof) {
        ngx_add_timer(c->read, ctx->conf->timeout);

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_mail_tenantalign_close(ctx);
        }
    }
}


/* either connection writable: what is queued goes out (the data of both
 * connections is the session) */

static void
ngx_mail_tenantalign_write_body(ngx_event_t *ev, ngx_mail_ta_ctx_t *ctx)
{
    ngx_mail_tenantalign_flush(ctx);
}


static void
ngx_mail_tenantalign_upstream_read_body(ngx_event_t *ev, ngx_mail_ta_ctx_t *ctx)
{
    int                  rc;
    size_t               len;
    ssize_t              n;
    u_char              *start;
    unsigned             code;
    ngx_str_t            text;
    const char          *why;
    ngx_connection_t    *u;
    ngx_mail_session_t  *s;

    u = ev->data;
    s = u->data;

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_INFO, u->log, NGX_ETIMEDOUT,
                      "tenantalign: upstream timed out");
        ngx_mail_tenantalign_close(ctx);
        return;
    }

    for ( ;; ) {
        if (ctx->up_in->last == ctx->up_in->end) {
            ngx_log_error(NGX_LOG_ERR, u->log, 0,
                          "tenantalign: upstream reply line too long");
            ngx_mail_tenantalign_close(ctx);
            return;
        }

        n = ctx->upstream_recv(u, ctx->up_in->last,
                               ctx->up_in->end - ctx->up_in->last);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            /* replies already in (the 221 to QUIT) still reach the client */

            ngx_mail_tenantalign_flush(ctx);

            if (!ctx->quit && !ctx->closing) {
                ngx_log_error(NGX_LOG_INFO, u->log, 0,
                              "tenantalign: upstream closed the connection");

                /* tell the client why, rather than drop it: nothing is lost,
                 * the transaction was not accepted */

                if (ngx_mail_tenantalign_to_client(ctx, (u_char *)
                        "421 4.4.2 Upstream connection lost, try again later"
                        CRLF, sizeof("421 4.4.2 Upstream connection lost, "
                                     "try again later" CRLF) - 1)
                    == NGX_OK)
                {
                    (void) ngx_mail_tenantalign_write(s->connection,
                                                      ctx->client_send,
                                                      &ctx->cl_out);
                }
            }

            ngx_mail_tenantalign_close(ctx);
            return;
        }

        ctx->up_in->last += n;

        /* complete replies, framed by the core */

        start = ctx->up_in->pos;

        for ( ;; ) {
            rc = ta_smtp_reply_scan((char *) start, ctx->up_in->last - start,
                                    &len, &code, &why);
            if (rc == 0) {
                break;
            }

            if (rc < 0) {
                ngx_log_error(NGX_LOG_ERR, u->log, 0,
                              "tenantalign: malformed upstream reply: %s",
                              why);
                ngx_mail_tenantalign_close(ctx);
                return;
            }

            text.data = start;
            text.len = len;
            ngx_mail_tenantalign_upstream_reply(ctx, &text, code);

            if (ctx->closing) {
                return;
            }

            start += len;
        }

        n = ctx->up_in->last - start;
        ngx_memmove(ctx->up_in->start, start, n);
        ctx->up_in->pos = ctx->up_in->start;
        ctx->up_in->last = ctx->up_in->start + n;
    }

    /* a reply may unblock DATA or the next transaction */

    ngx_mail_tenantalign_process(ctx);

    if (ctx->closing) {
        return;
    }

    if (!ctx->paused && !ctx->client_eof) {
        /* reading may have stopped on a full buffer: look again */
        ngx_post_event(s->connection->read, &ngx_posted_events);
    }

    if (ngx_handle_read_event(u->read, 0) != NGX_OK) {
        ngx_mail_tenantalign_close(ctx);
    }
}


/* run a handler body, then close if it asked to: the body may not free ctx */

static void
ngx_mail_tenantalign_run(ngx_event_t *ev, ngx_mail_ta_body_pt body)
{
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

    if (!ctx->closing) {
        body(ev, ctx);
    }

    if (ctx->closing && !ctx->signing) {
        ngx_mail_tenantalign_finalize(ctx);     /* frees ctx: nothing after */
    }
}


static void
ngx_mail_tenantalign_client_read(ngx_event_t *ev)
{
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_client_read_body);
}


static void
ngx_mail_tenantalign_client_write(ngx_event_t *ev)
{
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_write_body);
}


static void
ngx_mail_tenantalign_upstream_read(ngx_event_t *ev)
{
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_upstream_read_body);
}


static void
ngx_mail_tenantalign_upstream_write(ngx_event_t *ev)
{
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_write_body);
}
