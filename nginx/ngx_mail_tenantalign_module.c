
/*
 * ngx_mail_tenantalign_module - tenant alignment and DKIM signing in nginx's
 * SMTP proxy, for Debian's stock nginx (no patch).
 *
 * After authentication nginx only pumps bytes; there is no filter API. The
 * module wraps the per-server copy of the SMTP protocol's init_session and
 * init_protocol (re-run after STARTTLS) to put a wrapper on the client's
 * c->send. When nginx sends its "235" the proxy phase has begun: the module
 * then takes the session over - its own read and write handlers on both
 * connections, nginx's recv functions blocked - and speaks SMTP itself
 * between client and upstream: MAIL FROM checked at once, DATA answered
 * locally, the message received (strictly: only CRLF.CRLF ends it),
 * decided and signed by the tenantalign core, then relayed with DATA, or
 * refused with a hidden RSET upstream. Replies keep their order through a
 * queue of reply slots, so pipelining works.
 *
 * All policy is in common/ (ta_engine, ta_smtp_stream).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>
#include <ngx_thread_pool.h>

#if !(NGX_THREADS)
#error "ngx_mail_tenantalign_module needs nginx built --with-threads (Debian's is)"
#endif

#include "ta_engine.h"
#include "ta_keys.h"
#include "ta_reply.h"
#include "ta_smtp_stream.h"


#define NGX_MAIL_TA_OFF      0
#define NGX_MAIL_TA_MONITOR  1
#define NGX_MAIL_TA_ENFORCE  2

#define NGX_MAIL_TA_BDAT_OFF   0
#define NGX_MAIL_TA_BDAT_ON    1
#define NGX_MAIL_TA_BDAT_AUTO  2

#define NGX_MAIL_TA_SLOTS    64
#define NGX_MAIL_TA_IOBUF    16384


typedef struct {
    ngx_uint_t                  mode;
    ngx_str_t                   store;
    size_t                      max_message_size;
    size_t                      buffer_size;
    ngx_path_t                 *temp_path;
    ngx_thread_pool_t          *thread_pool;     /* signing off the loop */
    ngx_uint_t                  upstream_bdat;   /* BDAT LAST, not DATA */
    ngx_msec_t                  timeout;
    ngx_msec_t                  upstream_keepalive;

    ngx_mail_protocol_t        *protocol;        /* our copy */
    ngx_mail_init_session_pt    init_session;    /* the originals */
    ngx_mail_init_protocol_pt   init_protocol;

    ta_engine_t                *engine;          /* per worker, opened lazily */
} ngx_mail_tenantalign_srv_conf_t;


typedef enum {
    slot_local = 0,         /* our own reply, text ready */
    slot_relay,             /* the upstream's reply to a forwarded command */
    slot_hidden,            /* the reply to our own command: swallowed */
    slot_data_gate,         /* 354 or 554, once earlier replies are in */
    slot_up_data,           /* our DATA upstream: 354 sends the message */
    slot_final              /* the upstream's reply to the message */
} ngx_mail_ta_slot_type_e;


typedef enum {
    cmd_other = 0,
    cmd_mail,
    cmd_rcpt,
    cmd_rset,
    cmd_ehlo,
    cmd_noop,
    cmd_quit
} ngx_mail_ta_cmd_e;


typedef struct {
    ngx_uint_t                  type;
    ngx_uint_t                  cmd;
    ngx_uint_t                  done;
    ngx_str_t                   text;
    u_char                     *mem;            /* text's allocation */
} ngx_mail_ta_slot_t;


typedef struct {
    u_char                     *data;
    size_t                      len, cap, pos;   /* pos: sent so far */
} ngx_mail_ta_out_t;


typedef struct {
    ngx_mail_session_t         *session;
    ngx_mail_tenantalign_srv_conf_t *conf;

    ngx_send_pt                 client_send;
    ngx_recv_pt                 client_recv;
    ngx_send_pt                 upstream_send;
    ngx_recv_pt                 upstream_recv;

    unsigned                    taken:1;
    unsigned                    paused:1;
    unsigned                    in_message:1;
    unsigned                    client_eof:1;
    unsigned                    quit:1;
    unsigned                    mail_ok:1;
    unsigned                    closing:1;
    unsigned                    up_chunking:1;  /* the upstream offers CHUNKING */

    ngx_uint_t                  rcpts;
    ngx_str_t                   mail_from;
    ngx_msec_t                  upstream_active;  /* last command sent up */

    ta_smtp_stream_t           *stream;
    ngx_buf_t                  *in;             /* from the client */
    ngx_buf_t                  *up_in;          /* from the upstream */
    ngx_str_t                   reply;          /* upstream reply being read */
    size_t                      reply_cap;

    ngx_mail_ta_out_t           cl_out;         /* to the client */
    ngx_mail_ta_out_t           up_out;         /* to the upstream */

    /*
     * The message: its first buffer_size octets (and always the whole
     * header section) in memory, the rest in an unlinked temp file. The
     * core sees it as it arrives: the header section once complete, then
     * the body in pieces, so the decision and the body hash are ready at
     * the final dot.
     */

    u_char                     *msg;
    size_t                      msg_len, msg_cap;
    ngx_pool_t                 *spill_pool;     /* owns the temp file */
    ngx_file_t                 *spill;
    off_t                       spill_len;
    u_char                     *win;            /* temp file written, read */
    off_t                       win_off;
    size_t                      win_len;
    size_t                      fed;            /* memory part hashed */
    unsigned                    spilling:1;
    u_char                      last;           /* the last octet */

    ta_txn_t                   *txn;
    ngx_thread_task_t          *task;           /* signing, reused */
    unsigned                    signing:1;      /* txn is the thread's */
    ngx_uint_t                  eoh;            /* CRLF CRLF matched so far */
    const char                 *fault;          /* ours: 451 at the end */
    unsigned                    decided:1;      /* refused at the header */

    u_char                     *prefix;         /* signatures, awaiting 354 */
    size_t                      prefix_len;
    off_t                       send_pos;       /* message octets sent up */
    unsigned                    sending:1;
    unsigned                    send_bol:1;     /* send_pos starts a line */
    unsigned                    bdat:1;         /* going up raw, as BDAT */

    ngx_mail_ta_slot_t          slots[NGX_MAIL_TA_SLOTS];
    ngx_uint_t                  head, count;
} ngx_mail_ta_ctx_t;


static void *ngx_mail_tenantalign_create_srv_conf(ngx_conf_t *cf);
static char *ngx_mail_tenantalign_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void ngx_mail_tenantalign_init_session(ngx_mail_session_t *s,
    ngx_connection_t *c);
static void ngx_mail_tenantalign_init_protocol(ngx_event_t *rev);
static ssize_t ngx_mail_tenantalign_send(ngx_connection_t *c, u_char *buf,
    size_t size);
static ssize_t ngx_mail_tenantalign_recv_blocked(ngx_connection_t *c,
    u_char *buf, size_t size);
static void ngx_mail_tenantalign_take_over(ngx_mail_session_t *s,
    ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_client_read(ngx_event_t *ev);
static void ngx_mail_tenantalign_client_read_body(ngx_event_t *ev);
static void ngx_mail_tenantalign_client_write(ngx_event_t *ev);
static void ngx_mail_tenantalign_client_write_body(ngx_event_t *ev);
static void ngx_mail_tenantalign_upstream_read(ngx_event_t *ev);
static void ngx_mail_tenantalign_upstream_read_body(ngx_event_t *ev);
static void ngx_mail_tenantalign_upstream_write(ngx_event_t *ev);
static void ngx_mail_tenantalign_upstream_write_body(ngx_event_t *ev);
static void ngx_mail_tenantalign_process(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_decided(ngx_mail_ta_ctx_t *ctx,
    const ta_verdict_t *v, ta_str_t tsigs);
static void ngx_mail_tenantalign_refused(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_bdat(ngx_mail_ta_ctx_t *ctx);
static ngx_int_t ngx_mail_tenantalign_start_sending(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_flush(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_close(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_finalize(ngx_mail_ta_ctx_t *ctx);
static void ngx_mail_tenantalign_run(ngx_event_t *ev,
    ngx_event_handler_pt body);
static void ngx_mail_tenantalign_cleanup(void *data);
static void ngx_mail_tenantalign_engine_close(void *data);
static void ngx_mail_tenantalign_msg_free(ngx_mail_ta_ctx_t *ctx);
static ngx_int_t ngx_mail_tenantalign_init_process(ngx_cycle_t *cycle);
static void ngx_mail_tenantalign_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_mail_tenantalign_engine(
    ngx_mail_tenantalign_srv_conf_t *tcf, ngx_log_t *log);
static void ngx_mail_tenantalign_msg_release(ngx_mail_ta_ctx_t *ctx);
static char *ngx_mail_tenantalign_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_mail_ta_slot_t *ngx_mail_tenantalign_slot(ngx_mail_ta_ctx_t *ctx,
    ngx_uint_t type, ngx_uint_t cmd);
static ngx_int_t ngx_mail_tenantalign_to_upstream(ngx_mail_ta_ctx_t *ctx,
    u_char *p, size_t n);


static ngx_conf_enum_t  ngx_mail_tenantalign_modes[] = {
    { ngx_string("off"), NGX_MAIL_TA_OFF },
    { ngx_string("monitor"), NGX_MAIL_TA_MONITOR },
    { ngx_string("enforce"), NGX_MAIL_TA_ENFORCE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_mail_tenantalign_bdat_modes[] = {
    { ngx_string("off"), NGX_MAIL_TA_BDAT_OFF },
    { ngx_string("on"), NGX_MAIL_TA_BDAT_ON },
    { ngx_string("auto"), NGX_MAIL_TA_BDAT_AUTO },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_mail_tenantalign_commands[] = {

    { ngx_string("tenantalign"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, mode),
      &ngx_mail_tenantalign_modes },

    { ngx_string("tenantalign_store"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, store),
      NULL },

    { ngx_string("tenantalign_max_message_size"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, max_message_size),
      NULL },

    { ngx_string("tenantalign_buffer_size"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, buffer_size),
      NULL },

    { ngx_string("tenantalign_temp_path"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1234,
      ngx_conf_set_path_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, temp_path),
      NULL },

    { ngx_string("tenantalign_thread_pool"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_mail_tenantalign_thread_pool,
      NGX_MAIL_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tenantalign_upstream_bdat"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, upstream_bdat),
      &ngx_mail_tenantalign_bdat_modes },

    { ngx_string("tenantalign_upstream_keepalive"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, upstream_keepalive),
      NULL },

    { ngx_string("tenantalign_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, timeout),
      NULL },

      ngx_null_command
};


static ngx_path_init_t  ngx_mail_tenantalign_temp_path = {
    ngx_string("/var/lib/nginx/tenantalign"), { 0, 0, 0 }
};


static ngx_mail_module_t  ngx_mail_tenantalign_module_ctx = {
    NULL,                                  /* protocol */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_mail_tenantalign_create_srv_conf,  /* create server configuration */
    ngx_mail_tenantalign_merge_srv_conf    /* merge server configuration */
};


ngx_module_t  ngx_mail_tenantalign_module = {
    NGX_MODULE_V1,
    &ngx_mail_tenantalign_module_ctx,      /* module context */
    ngx_mail_tenantalign_commands,         /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_mail_tenantalign_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_mail_tenantalign_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_mail_tenantalign_create_srv_conf(ngx_conf_t *cf)
{
    ngx_mail_tenantalign_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_tenantalign_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->max_message_size = NGX_CONF_UNSET_SIZE;
    conf->thread_pool = NGX_CONF_UNSET_PTR;
    conf->upstream_bdat = NGX_CONF_UNSET_UINT;
    conf->buffer_size = NGX_CONF_UNSET_SIZE;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream_keepalive = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_mail_tenantalign_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_mail_tenantalign_srv_conf_t *prev = parent;
    ngx_mail_tenantalign_srv_conf_t *conf = child;

    ngx_mail_core_srv_conf_t  *cscf;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_MAIL_TA_OFF);
    ngx_conf_merge_str_value(conf->store, prev->store,
                             "/var/lib/tenantalign/tenants.cdb");
    ngx_conf_merge_size_value(conf->max_message_size, prev->max_message_size,
                              50 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->buffer_size, prev->buffer_size,
                              1024 * 1024);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 300000);
    ngx_conf_merge_ptr_value(conf->thread_pool, prev->thread_pool, NULL);
    ngx_conf_merge_uint_value(conf->upstream_bdat, prev->upstream_bdat,
                              NGX_MAIL_TA_BDAT_AUTO);

    if (ngx_conf_merge_path_value(cf, &conf->temp_path, prev->temp_path,
                                  &ngx_mail_tenantalign_temp_path)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_msec_value(conf->upstream_keepalive,
                              prev->upstream_keepalive, 60000);

    if (conf->mode == NGX_MAIL_TA_OFF) {
        return NGX_CONF_OK;
    }

    /*
     * Wrap a per-server copy of the SMTP protocol: patching the static
     * original would survive a reload without the module, pointing into
     * unmapped code. cf->ctx is this server's context here.
     */

    cscf = ngx_mail_conf_get_module_srv_conf(cf, ngx_mail_core_module);

    if (cscf->protocol == NULL
        || cscf->protocol->type != NGX_MAIL_SMTP_PROTOCOL)
    {
        return NGX_CONF_OK;
    }

    if (cscf->protocol->init_session == ngx_mail_tenantalign_init_session) {
        return NGX_CONF_OK;
    }

    conf->protocol = ngx_palloc(cf->pool, sizeof(ngx_mail_protocol_t));
    if (conf->protocol == NULL) {
        return NGX_CONF_ERROR;
    }

    *conf->protocol = *cscf->protocol;
    conf->init_session = cscf->protocol->init_session;
    conf->init_protocol = cscf->protocol->init_protocol;
    conf->protocol->init_session = ngx_mail_tenantalign_init_session;
    conf->protocol->init_protocol = ngx_mail_tenantalign_init_protocol;
    cscf->protocol = conf->protocol;

    return NGX_CONF_OK;
}


/* tenantalign_thread_pool name | off: a pool declared with thread_pool */

static char *
ngx_mail_tenantalign_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_mail_tenantalign_srv_conf_t *tcf = conf;

    ngx_str_t  *value;

    if (tcf->thread_pool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        tcf->thread_pool = NULL;
        return NGX_CONF_OK;
    }

    tcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (tcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


extern ngx_module_t  ngx_mail_module;      /* not in ngx_mail.h */


/*
 * a new worker opens its engines and parses the stores' active keys (as
 * many as the key cache holds) before its first session, which would
 * otherwise pay for OpenSSL's first use and the key parsing
 */

static ngx_int_t
ngx_mail_tenantalign_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i;
    ngx_mail_conf_ctx_t              *mctx;
    ngx_mail_core_srv_conf_t        **cscfp;
    ngx_mail_core_main_conf_t        *cmcf;
    ngx_mail_tenantalign_srv_conf_t  *tcf;

    mctx = (ngx_mail_conf_ctx_t *) ngx_get_conf(cycle->conf_ctx,
                                                ngx_mail_module);
    if (mctx == NULL) {
        return NGX_OK;
    }

    cmcf = mctx->main_conf[ngx_mail_core_module.ctx_index];
    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        tcf = cscfp[i]->ctx->srv_conf[ngx_mail_tenantalign_module.ctx_index];

        if (tcf->mode == NGX_MAIL_TA_OFF || tcf->engine) {
            continue;
        }

        if (ngx_mail_tenantalign_engine(tcf, cycle->log) != NGX_OK) {
            continue;       /* sessions retry, and tempfail meanwhile */
        }

        (void) ta_engine_warm_keys(tcf->engine);
    }

    return NGX_OK;
}


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


static void
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


static void
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


static ngx_int_t
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


/* the core's engine, opened in the worker on first use */

static ngx_int_t
ngx_mail_tenantalign_engine(ngx_mail_tenantalign_srv_conf_t *tcf,
    ngx_log_t *log)
{
    char                *err, *path;
    ta_engine_conf_t     ec;
    ngx_pool_cleanup_t  *cln;

    if (tcf->engine) {
        return NGX_OK;
    }

    /* the worker's cycle pool closes the engine when the worker exits */

    cln = ngx_pool_cleanup_add(ngx_cycle->pool, 512);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    err = cln->data;
    err[0] = '\0';

    path = ngx_alloc(tcf->store.len + 1, log);
    if (path == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(path, tcf->store.data, tcf->store.len);
    path[tcf->store.len] = '\0';

    ngx_memzero(&ec, sizeof(ta_engine_conf_t));
    ec.store_path = path;
    ec.eol = TA_EOL_CRLF;
    ec.mode = tcf->mode == NGX_MAIL_TA_MONITOR ? TA_MONITOR : TA_ENFORCE;

    if (ta_engine_open(&ec, &tcf->engine, err, 512) != TA_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "tenantalign: %s", err);
        ngx_free(path);
        return NGX_ERROR;
    }

    if (err[0]) {
        /* not fatal: every verdict tempfails until the store can be read */
        ngx_log_error(NGX_LOG_ERR, log, 0, "tenantalign: %s", err);
    }

    ngx_free(path);

    cln->handler = ngx_mail_tenantalign_engine_close;
    cln->data = tcf;

    return NGX_OK;
}


static void
ngx_mail_tenantalign_engine_close(void *data)
{
    ngx_mail_tenantalign_srv_conf_t  *tcf = data;

    ta_engine_close(tcf->engine);
    tcf->engine = NULL;

    ta_keys_flush();        /* the cache is the process's, in our .so */
}


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

static ngx_int_t
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
    }

    ctx->count = 0;

    free(ctx->cl_out.data);
    free(ctx->up_out.data);
    free(ctx->reply.data);
    ngx_free(ctx->mail_from.data);

    ctx->cl_out.data = NULL;
    ctx->up_out.data = NULL;
    ctx->reply.data = NULL;
    ctx->mail_from.data = NULL;
}


/*
 * Closing frees the connection's pool, and the context with it: code below
 * only asks for it; each event handler, as its very last action, does it.
 */

static void
ngx_mail_tenantalign_close(ngx_mail_ta_ctx_t *ctx)
{
    ctx->closing = 1;
}


static void
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


static ngx_int_t
ngx_mail_tenantalign_to_client(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    return ngx_mail_tenantalign_append(&ctx->cl_out.data, &ctx->cl_out.len,
                                       &ctx->cl_out.cap, p, n);
}


static ngx_int_t
ngx_mail_tenantalign_to_upstream(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    ctx->upstream_active = ngx_current_msec;

    return ngx_mail_tenantalign_append(&ctx->up_out.data, &ctx->up_out.len,
                                       &ctx->up_out.cap, p, n);
}


static ngx_mail_ta_slot_t *
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

static ngx_int_t
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


#define ngx_mail_tenantalign_local_str(ctx, text)                            \
    ngx_mail_tenantalign_local(ctx, text, sizeof(text) - 1)


static ngx_int_t
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


static void
ngx_mail_tenantalign_reset(ngx_mail_ta_ctx_t *ctx)
{
    ctx->mail_ok = 0;
    ctx->rcpts = 0;
    ngx_mail_tenantalign_msg_free(ctx);
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


/* the message, its temp file and its decision: gone at transaction end */

static void
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

    ta_txn_free(ctx->txn);
    ctx->txn = NULL;
    ctx->eoh = 2;           /* the message starts as if after a CRLF */
    ctx->fault = NULL;
    ctx->decided = 0;

    free(ctx->prefix);
    ctx->prefix = NULL;
    ctx->prefix_len = 0;
    ctx->sending = 0;
    ctx->bdat = 0;
}


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
 * page faults to get it again (measured at concurrency 8 with 2 KB
 * messages: 2-5 faults and about 40 us of system time per message).
 * Only the event loop allocates and frees them.
 */

#define NGX_MAIL_TA_SPARE   32

static u_char      *ngx_mail_tenantalign_spare[NGX_MAIL_TA_SPARE];
static ngx_uint_t   ngx_mail_tenantalign_nspare;

#define NGX_MAIL_TA_TEMP_FAULT                                               \
    "451 4.3.0 tenantalign: cannot write the temporary file" CRLF

static void
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


static void
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

static void
ngx_mail_tenantalign_feed(ngx_mail_ta_ctx_t *ctx)
{
    if (ctx->fed < ctx->msg_len) {
        ta_txn_body(ctx->txn, (char *) ctx->msg + ctx->fed,
                    ctx->msg_len - ctx->fed);
        ctx->fed = ctx->msg_len;
    }
}


/* the spill buffer to the core, then to the temp file (made on first use) */

static ngx_int_t
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


/* the header section is complete: the core decides on it */

static void
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


/* one piece of content as it arrives */

static ngx_int_t
ngx_mail_tenantalign_content(ngx_mail_ta_ctx_t *ctx, u_char *p, size_t n)
{
    size_t         i, from;
    static u_char  eoh[] = CRLF CRLF;

    if (ctx->decided || ctx->fault || n == 0) {
        return NGX_OK;
    }

    ctx->last = p[n - 1];

    if (ctx->txn == NULL) {

        /* the header section stays in memory, whatever its size */

        from = ctx->msg_len;

        if (ngx_mail_tenantalign_msg_append(ctx, p, n) != NGX_OK) {
            return NGX_ERROR;
        }

        for (i = from; i < ctx->msg_len; i++) {
            if (ctx->msg[i] == eoh[ctx->eoh]) {
                if (++ctx->eoh == 4) {
                    ngx_mail_tenantalign_header(ctx, i + 1);
                    break;
                }

            } else {
                ctx->eoh = (ctx->msg[i] == CR);
            }
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
        ctx->fault = NGX_MAIL_TA_TEMP_FAULT;
    }

    return NGX_OK;
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
 * The message goes up dot-stuffed, at most 64 KB queued at a time, from
 * memory and then from the temp file read back in 64 KB windows: a message
 * in flight costs its memory part and a window or two, never a copy.
 */

static ngx_int_t
ngx_mail_tenantalign_refill(ngx_mail_ta_ctx_t *ctx)
{
    off_t    off, left;
    u_char  *p, *q, *end, *nl;
    ssize_t  n;

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

            ngx_mail_tenantalign_msg_free(ctx);
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

static ngx_int_t
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

static void
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


/* run the client's bytes through the SMTP stream */

static void
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

static void
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


/* send what is queued on one connection; the rest when it is writable */

static ngx_int_t
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

static void
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


static void
ngx_mail_tenantalign_client_read_body(ngx_event_t *ev)
{
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

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


static void
ngx_mail_tenantalign_client_write_body(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

    ngx_mail_tenantalign_flush(ctx);
}


static void
ngx_mail_tenantalign_upstream_read_body(ngx_event_t *ev)
{
    ssize_t              n;
    u_char              *p, *nl, *start;
    ngx_str_t            text;
    ngx_connection_t    *u;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    u = ev->data;
    s = u->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

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

        /* complete replies: lines up to one with a space after the code */

        p = ctx->up_in->pos;
        start = p;

        while ((nl = ngx_strlchr(p, ctx->up_in->last, LF)) != NULL) {
            if (nl - p < 4) {
                ngx_log_error(NGX_LOG_ERR, u->log, 0,
                              "tenantalign: malformed upstream reply");
                ngx_mail_tenantalign_close(ctx);
                return;
            }

            if (p[3] != '-') {
                text.data = start;
                text.len = nl + 1 - start;
                ngx_mail_tenantalign_upstream_reply(ctx, &text);

                if (ctx->closing) {
                    return;
                }

                start = nl + 1;
            }

            p = nl + 1;
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


static void
ngx_mail_tenantalign_upstream_write_body(ngx_event_t *ev)
{
    ngx_connection_t    *u;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    u = ev->data;
    s = u->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

    ngx_mail_tenantalign_flush(ctx);
}


/* run a handler body, then close if it asked to: the body may not free ctx */

static void
ngx_mail_tenantalign_run(ngx_event_t *ev, ngx_event_handler_pt body)
{
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;
    ngx_mail_ta_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_tenantalign_module);

    if (!ctx->closing) {
        body(ev);
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
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_client_write_body);
}


static void
ngx_mail_tenantalign_upstream_read(ngx_event_t *ev)
{
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_upstream_read_body);
}


static void
ngx_mail_tenantalign_upstream_write(ngx_event_t *ev)
{
    ngx_mail_tenantalign_run(ev, ngx_mail_tenantalign_upstream_write_body);
}
