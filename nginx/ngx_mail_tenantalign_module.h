
/*
 * NAME
 *	ngx_mail_tenantalign_module 3h
 * SUMMARY
 *	the types and cross-file functions of ngx_mail_tenantalign_module
 * SYNOPSIS
 *	#include "ngx_mail_tenantalign_module.h"
 *
 *	ngx_mail_tenantalign_srv_conf_t  the server's configuration
 *	ngx_mail_ta_ctx_t                the session's context
 *	ngx_mail_ta_slot_t               a reply slot (type, command, text)
 *	ngx_mail_ta_out_t                an output queue
 *	ngx_mail_tenantalign_local_str(ctx, "literal reply" CRLF)
 *
 *	extern ngx_module_t  ngx_mail_tenantalign_module;
 * DESCRIPTION
 *	The one header of the module's files: nginx's and the core's includes,
 *	the constants, the configuration and session types, and the
 *	prototypes of every function one file calls in another, grouped by
 *	the file that defines it:
 *
 *	ngx_mail_tenantalign_module.c   directives, configuration, workers
 *	ngx_mail_tenantalign_session.c  the session: hooks, handlers, close
 *	ngx_mail_tenantalign_smtp.c     client commands, upstream replies
 *	ngx_mail_tenantalign_txn.c      the transaction and its decision
 *	ngx_mail_tenantalign_buffer.c   the message held and sent up
 *	ngx_mail_tenantalign_output.c   reply slots and output queues
 *
 *	Each file's SYNOPSIS lists what it exports.
 */


#ifndef _NGX_MAIL_TENANTALIGN_MODULE_H_INCLUDED_
#define _NGX_MAIL_TENANTALIGN_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>
#include <ngx_thread_pool.h>

#if !(NGX_THREADS)
#error "ngx_mail_tenantalign_module needs nginx built --with-threads (Debian's is)"
#endif

#include "ta_engine.h"


#define NGX_MAIL_TA_OFF      0
#define NGX_MAIL_TA_MONITOR  1
#define NGX_MAIL_TA_ENFORCE  2

#define NGX_MAIL_TA_BDAT_OFF   0
#define NGX_MAIL_TA_BDAT_ON    1
#define NGX_MAIL_TA_BDAT_AUTO  2

#define NGX_MAIL_TA_LOG_KV     0
#define NGX_MAIL_TA_LOG_JSON   1

#define NGX_MAIL_TA_SLOTS    64
#define NGX_MAIL_TA_IOBUF    16384


typedef struct {
    ngx_uint_t                  mode;
    ngx_str_t                   store;
    ngx_str_t                   counters;        /* "": not counting */
    ngx_uint_t                  log_format;
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
    slot_final,             /* the upstream's reply to the message */
    slot_replay             /* the envelope replayed with a new sender */
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
    ngx_str_t                   line;           /* an RCPT command, kept for a replay */
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
    unsigned                    mail_sent:1;    /* a MAIL went up: RCPT may follow */
    unsigned                    closing:1;
    unsigned                    up_chunking:1;  /* the upstream offers CHUNKING */
    unsigned                    up_pipelining:1;

    ngx_uint_t                  rcpts;
    ngx_str_t                   mail_arg;       /* the accepted MAIL's argument */
    ngx_mail_ta_out_t           rcpt_lines;     /* the accepted RCPT commands */
    ngx_msec_t                  upstream_active;  /* last command sent up */

    ta_smtp_stream_t           *stream;
    ngx_buf_t                  *in;             /* from the client */
    ngx_buf_t                  *up_in;          /* from the upstream */

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

    ta_txn_t                   *txn;            /* from the 354 on */
    ta_txn_t                   *sent_txn;       /* gone up, its line waiting
                                                   for the upstream's reply */
    const ta_effects_t         *fx;             /* its effects, once accepted */
    ngx_thread_task_t          *task;           /* signing, reused */
    unsigned                    signing:1;      /* txn is the thread's */
    unsigned                    header_done:1;  /* the core has the header */
    unsigned                    fault:1;        /* the temp file failed */
    unsigned                    decided:1;      /* refused at the header */
    unsigned                    log_due:1;      /* accepted: logged at the
                                                   upstream's reply (its
                                                   queue id) or when freed */

    ngx_mail_ta_out_t           replay;         /* RSET, MAIL, RCPTs */
    ngx_uint_t                  replaying;      /* replies still due */
    unsigned                    replay_failed:1;

    off_t                       send_pos;       /* message octets sent up */
    unsigned                    sending:1;
    unsigned                    send_bol:1;     /* send_pos starts a line */
    unsigned                    bdat:1;         /* going up raw, as BDAT */

    ngx_mail_ta_slot_t          slots[NGX_MAIL_TA_SLOTS];
    ngx_uint_t                  head, count;
} ngx_mail_ta_ctx_t;


#define ngx_mail_tenantalign_local_str(ctx, text)                            \
    ngx_mail_tenantalign_local(ctx, text, sizeof(text) - 1)


extern ngx_module_t  ngx_mail_tenantalign_module;


/* ngx_mail_tenantalign_module.c */
ngx_int_t ngx_mail_tenantalign_engine(ngx_mail_tenantalign_srv_conf_t *tcf,
    ngx_log_t *log);

/* ngx_mail_tenantalign_session.c */
void ngx_mail_tenantalign_init_session(ngx_mail_session_t *s,
    ngx_connection_t *c);
void ngx_mail_tenantalign_init_protocol(ngx_event_t *rev);
void ngx_mail_tenantalign_close(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_finalize(ngx_mail_ta_ctx_t *ctx);

/* ngx_mail_tenantalign_smtp.c */
ngx_int_t ngx_mail_tenantalign_probe(ngx_mail_session_t *s,
    ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_process(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_upstream_reply(ngx_mail_ta_ctx_t *ctx,
    ngx_str_t *text, ngx_uint_t code);

/* ngx_mail_tenantalign_txn.c */
void ngx_mail_tenantalign_reset(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_log_effects(ngx_log_t *log, const ta_effects_t *fx);
void ngx_mail_tenantalign_log_accepted(ngx_mail_ta_ctx_t *ctx,
    ngx_str_t *reply);
ngx_int_t ngx_mail_tenantalign_start(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_header(ngx_mail_ta_ctx_t *ctx, size_t hlen);
void ngx_mail_tenantalign_replay(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_replayed(ngx_mail_ta_ctx_t *ctx, ngx_str_t *text,
    ngx_uint_t code);
ngx_int_t ngx_mail_tenantalign_start_sending(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_message(ngx_mail_ta_ctx_t *ctx, ngx_uint_t too_big);

/* ngx_mail_tenantalign_buffer.c */
void ngx_mail_tenantalign_msg_free(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_msg_release(ngx_mail_ta_ctx_t *ctx);
void ngx_mail_tenantalign_exit_process(ngx_cycle_t *cycle);
void ngx_mail_tenantalign_feed(ngx_mail_ta_ctx_t *ctx);
ngx_int_t ngx_mail_tenantalign_spill_flush(ngx_mail_ta_ctx_t *ctx);
ngx_int_t ngx_mail_tenantalign_content(ngx_mail_ta_ctx_t *ctx, u_char *p,
    size_t n);
ngx_int_t ngx_mail_tenantalign_refill(ngx_mail_ta_ctx_t *ctx);

/* ngx_mail_tenantalign_output.c */
ngx_int_t ngx_mail_tenantalign_append(u_char **p, size_t *len, size_t *cap,
    const u_char *data, size_t n);
ngx_int_t ngx_mail_tenantalign_to_client(ngx_mail_ta_ctx_t *ctx, u_char *p,
    size_t n);
ngx_int_t ngx_mail_tenantalign_to_upstream(ngx_mail_ta_ctx_t *ctx,
    u_char *p, size_t n);
ngx_mail_ta_slot_t *ngx_mail_tenantalign_slot(ngx_mail_ta_ctx_t *ctx,
    ngx_uint_t type, ngx_uint_t cmd);
ngx_int_t ngx_mail_tenantalign_slot_text(ngx_mail_ta_ctx_t *ctx,
    ngx_mail_ta_slot_t *slot, u_char *text, size_t len);
ngx_int_t ngx_mail_tenantalign_slot_line(ngx_mail_ta_ctx_t *ctx,
    ngx_mail_ta_slot_t *slot, ngx_str_t *line);
ngx_int_t ngx_mail_tenantalign_local(ngx_mail_ta_ctx_t *ctx, const char *text,
    size_t len);
ngx_int_t ngx_mail_tenantalign_write(ngx_connection_t *c, ngx_send_pt send,
    ngx_mail_ta_out_t *out);
void ngx_mail_tenantalign_flush(ngx_mail_ta_ctx_t *ctx);


#endif /* _NGX_MAIL_TENANTALIGN_MODULE_H_INCLUDED_ */
