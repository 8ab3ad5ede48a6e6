/*
 * NAME
 *	ta_engine 3h
 * SUMMARY
 *	the one door into the core: what an adapter calls, and all it applies
 * SYNOPSIS
 *	void   ta_engine_preload(void);
 *	int    ta_engine_open(const ta_engine_conf_t *conf, ta_engine_t **out,
 *	                      char *err, size_t errlen);
 *	void   ta_engine_close(ta_engine_t *e);
 *	void   ta_engine_exit(void);
 *	size_t ta_engine_warm_keys(ta_engine_t *e, char *problem, size_t size);
 *	void   ta_engine_check_access(ta_engine_t *e, const char *user, char *problem, size_t size);
 *
 *	void   ta_engine_mail(ta_engine_t *e, ta_str_t login, ta_str_t arg,
 *	                      ta_mail_form_t form, ta_mail_t *m);
 *
 *	ta_txn_t *ta_txn_new(ta_engine_t *e, ta_str_t login, ta_str_t arg,
 *	                     ta_mail_form_t form);
 *	size_t ta_txn_header_end(ta_txn_t *t, const char *p, size_t n);
 *	ta_action_t ta_txn_header(ta_txn_t *t, const char *hdr, size_t len);
 *	int    ta_txn_body(ta_txn_t *t, const char *chunk, size_t len);
 *	int    ta_txn_signs_rsa(const ta_txn_t *t);
 *	const ta_effects_t *ta_txn_finish(ta_txn_t *t);
 *	const ta_effects_t *ta_txn_fail(ta_txn_t *t, const char *why);
 *	void   ta_txn_free(ta_txn_t *t);
 *
 *	void   ta_txn_queue_id(ta_txn_t *t, ta_str_t id);
 *	ta_str_t ta_txn_tenant(const ta_txn_t *t);
 *	const ta_verdict_t *ta_txn_verdict(const ta_txn_t *t);
 * DESCRIPTION
 *	Adapters (the Exim plugin, the nginx module) include this header and
 *	no other of common/; it brings the SMTP protocol helpers the nginx
 *	module drives (ta_smtp.h, ta_smtp_stream.h). Everything a verdict
 *	means - the header fields to add, the envelope sender, the reply and
 *	the log line - is computed here, once, so the adapters apply exactly
 *	the same thing.
 *
 *	ta_engine_preload() does, once per process, what the first message
 *	would otherwise pay for: the Public Suffix List, OpenSSL's key
 *	decoders and digests, one throwaway signature per algorithm. For a
 *	daemon that forks per connection (Exim) or a worker at start (nginx).
 *
 *	ta_engine_open() opens the store named in conf. A store that cannot
 *	be opened is not fatal: the engine opens, every verdict is a tempfail
 *	naming the problem, and each call retries (at most once a second).
 *	Returns TA_ESYSTEM only on out-of-memory; err holds a warning
 *	otherwise (empty when all is well). conf->fault is a problem the
 *	adapter found in its own configuration: the engine still opens, and
 *	every verdict is a tempfail that names it. ta_engine_exit() releases the
 *	process's key cache, after the last engine is closed.
 *
 *	ta_engine_warm_keys() parses the active signing keys named in the
 *	store into the process's key cache, as many as it holds; returns how
 *	many. Keys this process cannot use (a key file its user may not read,
 *	say) are named in problem, for the adapter to log at start, at error
 *	level; each message they would sign still gets its 451.
 *	ta_engine_check_access() asks the same of another user (by the files'
 *	owners, groups and modes): for a process that prepares the keys as
 *	root for children that run as the MTA's user (Exim's daemon).
 *
 *	ta_engine_mail() is the MAIL FROM-time check, on the envelope alone.
 *	form says what arg is: TA_MAIL_ARG, the argument of the client's MAIL
 *	command ("FROM:<a@b> SIZE=10"), parsed strictly (RFC 5321 4.1.2;
 *	anything else is a 501 and must not be forwarded); or TA_MAIL_PATH,
 *	a reverse-path an MTA already parsed ("a@b", "<a@b>", "" or "<>").
 *	m receives the action, the reply and the log line and, for an
 *	accepted TA_MAIL_ARG, the MAIL command to send upstream, rebuilt
 *	from the parsed path and parameters (never the client's raw line).
 *
 *	A transaction: ta_txn_new() with the same login and MAIL argument,
 *	then the header section: ta_txn_header_end() finds where it ends in
 *	the message as it arrives (any chunking; returns the offset in this
 *	chunk just past the empty line, or TA_EOH_NONE), and ta_txn_header()
 *	decides on it (up to and including the empty line, or the whole
 *	message when it has none), with line endings as conf->eol. Unless that
 *	is TA_ACCEPT the decision is final; else feed the body with
 *	ta_txn_body() (any chunking, exactly the bytes that will be
 *	delivered). ta_txn_finish() ends the transaction and returns its
 *	effects; it may run in another thread. ta_txn_signs_rsa() says whether
 *	finishing will make an RSA signature (worth a thread hand-off).
 *
 *	ta_txn_fail() is for a failure after the decision that keeps the
 *	adapter from applying it (a header it cannot add, a temporary file it
 *	cannot write): the effects become a tempfail (451 4.3.0 WHY), reply and
 *	log line together, so the two never disagree.
 *
 *	ta_txn_queue_id() gives the MTA's queue id for the log line (Exim's
 *	message id, or the id an upstream named in its reply to the message);
 *	after the effects are out, it renders their log line again with it.
 *
 *	Counting (conf->counters_path): each decision is counted once, by
 *	tenant, stream, verdict and reason class, when it is final: a MAIL
 *	refusal at ta_engine_mail(), a transaction's last effects at
 *	ta_txn_free() - so a transaction refused after its acceptance (the
 *	upstream refused the rewritten envelope) counts once, as refused.
 *	Adapters log exactly one line per counted decision: the counts and
 *	the log lines agree. For a tenant with an hourly cap, an acceptance
 *	is also added to its hourly window when its header section is decided.
 *
 *	ta_txn_tenant() and ta_txn_verdict() are for the command line tool
 *	and tests, which show the verdict itself; adapters apply effects.
 *
 *	Every function tolerates t == NULL (out of memory at ta_txn_new): the
 *	effects are then a tempfail. A transaction uses its engine until
 *	ta_txn_free(): close the engine after its last transaction.
 */
#ifndef TA_ENGINE_H
#define TA_ENGINE_H

#include "ta_eoh.h"
#include "ta_log.h"
#include "ta_policy.h"
#include "ta_smtp.h"
#include "ta_smtp_stream.h"

typedef struct ta_engine ta_engine_t;
typedef struct ta_txn ta_txn_t;

typedef enum {
    TA_ENFORCE = 0,     /* refuse what fails */
    TA_MONITOR = 1,     /* accept everything, report what would fail */
    TA_OFF = 2          /* pass everything through untouched */
} ta_enforce_t;

typedef enum {
    TA_MAIL_ARG = 0,    /* the MAIL command's argument, as the client sent it */
    TA_MAIL_PATH = 1    /* a reverse-path the MTA parsed itself */
} ta_mail_form_t;

typedef struct {
    const char   *store_path;
    ta_eol_t      eol;        /* line ending of the message bytes the adapter passes */
    const char   *reply_eol;  /* line ending of replies; NULL: CRLF, as on the wire */
    ta_enforce_t  mode;       /* adapter-wide override; per-identity monitor still applies */
    const char   *fault;      /* the adapter's configuration is broken: every verdict tempfails naming it */
    const char   *counters_path;  /* the counter table (ta_counters); NULL or "": no counting, no caps */
    ta_log_style_t log_style;     /* key=value or JSON lines */
} ta_engine_conf_t;

#define TA_REPLY_MAX 2048
#define TA_LOG_MAX   1024

/*
 * The effects of a decision, all an adapter applies. Strings point into
 * the transaction (or the ta_mail_t) and live until it is freed.
 */
typedef struct {
    ta_action_t  action;        /* TA_ACCEPT, TA_REJECT, TA_TEMPFAIL */
    unsigned     monitor:1;     /* accepted only because of monitor mode */

    /* header fields to put at the very top of the message, in this order;
     * each line ends in conf->eol; field[] are the same fields one by one */
    ta_str_t     prepend;
    size_t       nfields;
    ta_str_t     field[TA_MAX_SIGN + 1];

    /* the envelope sender to deliver with: the address without angle
     * brackets ("" for the null sender); changed when it differs from the
     * client's. mail_command: for a TA_MAIL_ARG transaction whose sender
     * changed, the MAIL command (CRLF) with the new sender and the
     * client's parameters */
    unsigned     sender_changed:1;
    ta_str_t     sender;
    ta_str_t     mail_command;

    /* the SMTP reply: every line "CODE-ENH text" or, last, "CODE ENH
     * text", ending in reply_eol; reply_last is the offset of the last
     * line. reply_text is the form Exim's local_scan takes: the same lines
     * without the 3-digit code, joined by "\n", no final line ending */
    ta_str_t     reply;
    size_t       reply_last;
    ta_str_t     reply_text;

    ta_str_t     log;           /* the one log line, no line ending */

    /* when set, once per process for each bad store file (or its
     * disappearance): log it at error level - every message gets 451
     * until a good store is in place */
    ta_str_t     alarm;

    /* when set, once per process for each problem with the counter table
     * (it cannot be created, say): log it at warning level - mail is not
     * affected, but nothing is counted and no hourly cap applies */
    ta_str_t     warning;
} ta_effects_t;

/* The MAIL FROM-time check's result; buffers are inline (no allocation). */
typedef struct {
    ta_effects_t fx;            /* no header fields; sender not changed */
    ta_str_t     command;       /* TA_MAIL_ARG accepted: the MAIL command to forward (CRLF) */
    char         buf[2 * TA_REPLY_MAX + TA_LOG_MAX + TA_SMTP_MAX_LINE + 8];
} ta_mail_t;

void   ta_engine_preload(void);
int    ta_engine_open(const ta_engine_conf_t *conf, ta_engine_t **out,
    char *err, size_t errlen);
void   ta_engine_close(ta_engine_t *e);
void   ta_engine_exit(void);
size_t ta_engine_warm_keys(ta_engine_t *e, char *problem, size_t size);
void   ta_engine_check_access(ta_engine_t *e, const char *user, char *problem, size_t size);
void   ta_engine_mail(ta_engine_t *e, ta_str_t login, ta_str_t arg,
    ta_mail_form_t form, ta_mail_t *m);

ta_txn_t *ta_txn_new(ta_engine_t *e, ta_str_t login, ta_str_t arg,
    ta_mail_form_t form);
size_t ta_txn_header_end(ta_txn_t *t, const char *p, size_t n);
ta_action_t ta_txn_header(ta_txn_t *t, const char *hdr, size_t len);
int    ta_txn_body(ta_txn_t *t, const char *chunk, size_t len);
int    ta_txn_signs_rsa(const ta_txn_t *t);
const ta_effects_t *ta_txn_finish(ta_txn_t *t);
const ta_effects_t *ta_txn_fail(ta_txn_t *t, const char *why);
void   ta_txn_free(ta_txn_t *t);
void   ta_txn_queue_id(ta_txn_t *t, ta_str_t id);
ta_str_t ta_txn_tenant(const ta_txn_t *t);
const ta_verdict_t *ta_txn_verdict(const ta_txn_t *t);

#endif
