
/*
 * NAME
 *	ngx_mail_tenantalign_module 3
 * SUMMARY
 *	tenant alignment and DKIM signing in nginx's SMTP proxy, for Debian's
 *	stock nginx (no patch): directives, configuration, worker start
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	ngx_module_t  ngx_mail_tenantalign_module;
 *
 *	ngx_int_t ngx_mail_tenantalign_engine(
 *	    ngx_mail_tenantalign_srv_conf_t *tcf, ngx_log_t *log);
 * DESCRIPTION
 *	After authentication nginx only pumps bytes; there is no filter API.
 *	The module wraps the per-server copy of the SMTP protocol's
 *	init_session and init_protocol (re-run after STARTTLS) to put a
 *	wrapper on the client's c->send. When nginx sends its "235" the proxy
 *	phase has begun: the module then takes the session over - its own
 *	read and write handlers on both connections, nginx's recv functions
 *	blocked - and speaks SMTP itself between client and upstream: MAIL
 *	FROM checked at once (and rebuilt by the core: the client's raw line
 *	never goes up), DATA answered locally, the message received
 *	(strictly: only CRLF.CRLF ends it), decided and signed by the
 *	tenantalign core, then relayed - with the envelope replayed when the
 *	core changed the sender - or refused with a hidden RSET upstream.
 *	Replies keep their order through a queue of reply slots, so
 *	pipelining works.
 *
 *	The module only drives I/O and nginx state. It enters the core
 *	through ta_engine.h alone, and applies the effects the core returns
 *	(header fields, sender, reply, log line) without computing any of
 *	its own; SMTP framing and parsing are the core's ta_smtp functions.
 *
 *	This file holds the directives, the server configuration (its merge
 *	puts the wrappers on the per-server copy of the SMTP protocol), the
 *	tenantalign_thread_pool directive and the worker's start, which opens
 *	the engines. ngx_mail_tenantalign_engine() opens a server's engine
 *	(the core's ta_engine) in the worker on first use; the worker's cycle
 *	pool closes it when the worker exits. The worker's exit handler,
 *	ngx_mail_tenantalign_exit_process(), frees the spare message buffers
 *	and lives with them in ngx_mail_tenantalign_buffer.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_mail_tenantalign_module.h"


static void *ngx_mail_tenantalign_create_srv_conf(ngx_conf_t *cf);
static char *ngx_mail_tenantalign_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void ngx_mail_tenantalign_engine_close(void *data);
static ngx_int_t ngx_mail_tenantalign_init_process(ngx_cycle_t *cycle);
static char *ngx_mail_tenantalign_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


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


static ngx_conf_enum_t  ngx_mail_tenantalign_log_formats[] = {
    { ngx_string("kv"), NGX_MAIL_TA_LOG_KV },
    { ngx_string("json"), NGX_MAIL_TA_LOG_JSON },
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

    { ngx_string("tenantalign_counters"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, counters),
      NULL },

    { ngx_string("tenantalign_log_format"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_tenantalign_srv_conf_t, log_format),
      &ngx_mail_tenantalign_log_formats },

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
    conf->log_format = NGX_CONF_UNSET_UINT;
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
    ngx_conf_merge_str_value(conf->counters, prev->counters, "");
    ngx_conf_merge_uint_value(conf->log_format, prev->log_format,
                              NGX_MAIL_TA_LOG_KV);

    if (conf->counters.len == 3
        && ngx_strncmp(conf->counters.data, "off", 3) == 0)
    {
        ngx_str_null(&conf->counters);
    }

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
 * a new worker does the core's one-time set-up, opens its engines and
 * parses the stores' active keys (as many as the key cache holds) before
 * its first session, which would otherwise pay for OpenSSL's first use
 * and the key parsing; keys the worker's user cannot read are said here,
 * at start, not first by a tenant's 451, in the mail server's error_log,
 * where its decisions go (the main one may keep only errors, as Debian's)
 */

static ngx_int_t
ngx_mail_tenantalign_init_process(ngx_cycle_t *cycle)
{
    u_char                            problem[512];
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

        ta_engine_preload();        /* once per process */

        if (ngx_mail_tenantalign_engine(tcf, cscfp[i]->error_log)
            != NGX_OK)
        {
            continue;       /* sessions retry, and tempfail meanwhile */
        }

        (void) ta_engine_warm_keys(tcf->engine, (char *) problem,
                                   sizeof(problem));

        if (problem[0] != '\0') {
            ngx_log_error(NGX_LOG_WARN, cscfp[i]->error_log, 0,
                          "tenantalign: %s", problem);
        }
    }

    return NGX_OK;
}


/* the core's engine, opened in the worker on first use */

ngx_int_t
ngx_mail_tenantalign_engine(ngx_mail_tenantalign_srv_conf_t *tcf,
    ngx_log_t *log)
{
    char                *err, *path, *counters;
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

    path = ngx_alloc(tcf->store.len + 1 + tcf->counters.len + 1, log);
    if (path == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(path, tcf->store.data, tcf->store.len);
    path[tcf->store.len] = '\0';

    counters = path + tcf->store.len + 1;
    ngx_memcpy(counters, tcf->counters.data, tcf->counters.len);
    counters[tcf->counters.len] = '\0';

    ngx_memzero(&ec, sizeof(ta_engine_conf_t));
    ec.store_path = path;
    ec.eol = TA_EOL_CRLF;
    ec.mode = tcf->mode == NGX_MAIL_TA_MONITOR ? TA_MONITOR : TA_ENFORCE;
    ec.counters_path = counters;
    ec.log_style = tcf->log_format == NGX_MAIL_TA_LOG_JSON ? TA_LOG_JSON
                                                           : TA_LOG_KV;

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

    ta_engine_exit();       /* the key cache is the process's, in our .so */
}
