/*
 * NAME
 *	ta_smtp 3h
 * SUMMARY
 *	SMTP command and reply syntax: verbs, MAIL FROM, reply framing, EHLO
 * SYNOPSIS
 *	ta_smtp_verb_t ta_smtp_verb(const char *line, size_t len, ta_str_t *arg);
 *	const char *ta_smtp_after_auth(ta_smtp_verb_t verb);
 *
 *	int    ta_smtp_mail_parse(const char *arg, size_t len,
 *	                          ta_smtp_mail_t *m, const char **why);
 *	size_t ta_smtp_mail_build(const ta_smtp_mail_t *m, ta_str_t path,
 *	                          char *buf, size_t size);
 *
 *	int    ta_smtp_reply_scan(const char *buf, size_t len,
 *	                          size_t *reply_len, unsigned *code,
 *	                          const char **why);
 *
 *	void   ta_smtp_ehlo_iter(ta_smtp_ehlo_iter_t *it, const char *reply,
 *	                         size_t len);
 *	int    ta_smtp_ehlo_next(ta_smtp_ehlo_iter_t *it, ta_str_t *keyword,
 *	                         ta_str_t *line);
 *	int    ta_smtp_ehlo_offers(const char *reply, size_t len,
 *	                           const char *keyword);
 *	size_t ta_smtp_ehlo_after_auth(const char *reply, size_t len,
 *	                               size_t max_size, char *out, size_t size);
 *
 *	ta_str_t ta_smtp_queue_id(const char *reply, size_t len);
 * DESCRIPTION
 *	The protocol syntax the nginx module needs once the gate has taken a
 *	session over, kept free of nginx so that it can be fuzzed. Nothing
 *	here allocates, nothing reads past a length, and every function does
 *	work linear in its input (the reply and path scans stop at fixed
 *	limits besides).
 *
 *	ta_smtp_verb() classifies one command line (without its line ending).
 *	The verb is matched case-insensitively and must be followed by the
 *	end of the line or by SP: "MAILX", "MAIL:", "MAIL<TAB>" and a leading
 *	SP are TA_SMTP_VERB_OTHER. *arg (when arg is not NULL) is what follows
 *	the verb and one SP, empty when nothing does and for
 *	TA_SMTP_VERB_OTHER. Arguments are not checked here, except by
 *	ta_smtp_mail_parse() for MAIL.
 *
 *	ta_smtp_after_auth() is the policy for verbs once a tenant has
 *	authenticated and the gate took the session over: the reply (one
 *	CRLF-terminated line, static text) to give locally, or NULL when the
 *	command may go on. STARTTLS, AUTH, XCLIENT and XFORWARD get
 *	"503 5.5.1 Not allowed after authentication"; BDAT gets
 *	"502 5.5.1 BDAT is not available here: use DATA" (the gate signs and
 *	checks whole messages, which it gets only through DATA).
 *
 *	ta_smtp_mail_parse() reads the argument of MAIL (what follows "MAIL "):
 *	"FROM:" in any case, the reverse-path in angle brackets, then optional
 *	Mail-parameters, each separated by one or more SP. m->path is the
 *	reverse-path with its angle brackets, pointing into arg; it ends at
 *	the first '>' outside a quoted string (a '>' inside "..." or after a
 *	backslash within the quotes does not end it) and holds no control
 *	octet, no unquoted '<', and at most TA_SMTP_PATH_MAX octets. The
 *	address inside is only delimited here: ta_path_parse() (ta_address.h)
 *	checks its syntax. Each parameter is keyword[=value], recorded in
 *	m->keyword[] and m->value[] (value.data NULL when there is no "=");
 *	more than TA_SMTP_MAX_PARAMS parameters, a keyword given twice (in any
 *	case), an empty value, a trailing SP and anything else not in the
 *	grammar are refused. On failure *m is cleared and *why (when why is
 *	not NULL) is a short static English reason, fit for a 501 reply.
 *
 *	ta_smtp_mail_build() writes "MAIL FROM:<path> KW=V KW2" CRLF from a
 *	parsed command, with path in place of m->path (pass m->path to keep
 *	the sender, another one to rewrite it), and a NUL after it. It returns
 *	the length before the NUL, or 0 when it does not fit in size, or when
 *	path is not one reverse-path as ta_smtp_mail_parse() delimits it
 *	(angle brackets, no control octet, at most TA_SMTP_PATH_MAX octets)
 *	or a parameter is not in the grammar: whatever the caller passes, the
 *	result is one command line that parses back. Building what
 *	ta_smtp_mail_parse() accepted reproduces it, except that the verb is
 *	written "MAIL FROM:", without SP after the colon, with one SP between
 *	parameters.
 *
 *	ta_smtp_reply_scan() frames upstream replies: it looks at the start of
 *	buf, which may hold several replies or part of one. It returns 1 when
 *	buf starts with a complete reply (*reply_len its length including the
 *	final line's line ending, *code its code as a number), 0 when more
 *	bytes are needed, -1 when the bytes cannot be a reply (*why says why,
 *	when why is not NULL). A line is a code - a digit 2 to 5, a digit 0
 *	to 5, a digit - then '-' (more lines follow), SP, or the line ending
 *	at once (a last line), then text without control octets other than
 *	HT; lines end in CRLF or a bare LF. All lines of a reply carry the
 *	same code. A line of more than TA_SMTP_REPLY_LINE_MAX octets before
 *	its LF, or a reply longer than TA_SMTP_REPLY_MAX octets, is -1
 *	("reply too long"). Every check looks only at bytes already seen, so
 *	a prefix of a complete reply gives 0, and a prefix gives -1 only when
 *	the whole gives -1.
 *
 *	ta_smtp_ehlo_iter() and ta_smtp_ehlo_next() walk the capability lines
 *	of a 250 EHLO reply: the lines after the greeting line, up to and
 *	including the first "250 " line. ta_smtp_ehlo_next() returns 1 with
 *	*line the text after "250-" or "250 " (without the line ending) and
 *	*keyword its ehlo-keyword (up to SP, '=', CR, LF or the end: "AUTH"
 *	for the legacy "AUTH=LOGIN"), or 0 at the end. Lines that do not start
 *	with "250-" or "250 " are skipped; when the greeting line is not a
 *	"250-" line there are no capabilities.
 *
 *	ta_smtp_ehlo_offers() tells whether the reply offers keyword (a whole
 *	keyword, in any case).
 *
 *	ta_smtp_ehlo_after_auth() writes the EHLO reply a tenant sees after
 *	the gate took over: the greeting line, every capability except
 *	CHUNKING, BINARYMIME, STARTTLS, AUTH, XCLIENT, XFORWARD, SIZE and
 *	PIPECONNECT, then "250 SIZE max_size" - the limit the gate enforces -
 *	as the last line; every other line "250-", every line ending CRLF, a
 *	NUL after the last. A capability line that is not ehlo-keyword
 *	*(SP ehlo-param) in printable ASCII is dropped too. It returns the
 *	length before the NUL, or 0 when that does not fit in size or when
 *	reply does not start with a clean "250-" or "250 " greeting line.
 *	TA_SMTP_EHLO_AFTER_AUTH_ROOM(len) is always enough room.
 * STANDARDS
 *	RFC 5321 4.1.1.1 (EHLO reply), 4.1.2 (command argument syntax), 4.2
 *	(reply syntax), 4.5.3.1 (size limits); RFC 1869; RFC 2920; RFC 3030;
 *	RFC 6531 (SMTPUTF8: octets above 127 are allowed in a path).
 *	Departures: zero or more SP are allowed between "FROM:" and '<' (RFC
 *	5321 allows none; Postfix and Exim accept "MAIL FROM: <a@b>", and
 *	clients send it); nothing else is. An esmtp-value must be printable
 *	ASCII (RFC 5321), so the UTF-8 values RFC 6531 lets an SMTPUTF8
 *	client send are refused. Reply lines may be up to 4096 octets (RFC
 *	5321 says 512), may end in a bare LF, and a last line may be "250 "
 *	with nothing after the SP; a line "250" alone is a valid last line.
  *
 *	ta_smtp_queue_id() finds the queue id an MTA names in its reply to a
 *	message, for the log line: the word after "id=" (Exim: "250 OK
 *	id=1tXyZ-000abc-AB") or after "queued as " (Postfix: "250 2.0.0 Ok:
 *	queued as 4XyZ"), either in any case; a word is letters, digits,
 *	'.', '_' and '-', at most 63 of them. Empty when there is none.
 */
#ifndef TA_SMTP_H
#define TA_SMTP_H

#include "ta_str.h"

typedef enum {
    TA_SMTP_VERB_OTHER = 0, TA_SMTP_VERB_HELO, TA_SMTP_VERB_EHLO, TA_SMTP_VERB_MAIL,
    TA_SMTP_VERB_RCPT, TA_SMTP_VERB_DATA, TA_SMTP_VERB_BDAT, TA_SMTP_VERB_RSET,
    TA_SMTP_VERB_NOOP, TA_SMTP_VERB_QUIT, TA_SMTP_VERB_STARTTLS, TA_SMTP_VERB_AUTH,
    TA_SMTP_VERB_XCLIENT, TA_SMTP_VERB_XFORWARD, TA_SMTP_VERB_VRFY, TA_SMTP_VERB_EXPN,
    TA_SMTP_VERB_HELP
} ta_smtp_verb_t;

ta_smtp_verb_t ta_smtp_verb(const char *line, size_t len, ta_str_t *arg);
const char    *ta_smtp_after_auth(ta_smtp_verb_t verb);

#define TA_SMTP_MAX_PARAMS 16
#define TA_SMTP_PATH_MAX   256      /* octets, with the angle brackets (RFC 5321 4.5.3.1.3) */

typedef struct {
    ta_str_t  path;                          /* the reverse-path WITH its angle brackets */
    size_t    nparams;
    ta_str_t  keyword[TA_SMTP_MAX_PARAMS];   /* esmtp-keyword */
    ta_str_t  value[TA_SMTP_MAX_PARAMS];     /* esmtp-value; data == NULL when no "=" */
} ta_smtp_mail_t;

int    ta_smtp_mail_parse(const char *arg, size_t len, ta_smtp_mail_t *m, const char **why);
size_t ta_smtp_mail_build(const ta_smtp_mail_t *m, ta_str_t path, char *buf, size_t size);

#define TA_SMTP_REPLY_MAX      65536    /* octets in one reply, line endings included */
#define TA_SMTP_REPLY_LINE_MAX 4096     /* octets in one reply line before its LF */

int ta_smtp_reply_scan(const char *buf, size_t len, size_t *reply_len, unsigned *code,
    const char **why);

typedef struct {
    const char *p, *end;
    int         started;
} ta_smtp_ehlo_iter_t;

/* every input line grows by at most 2 octets; then "250 SIZE <20 digits>" CRLF NUL */
#define TA_SMTP_EHLO_AFTER_AUTH_ROOM(len) (2 * (size_t) (len) + 2 + 32)

void   ta_smtp_ehlo_iter(ta_smtp_ehlo_iter_t *it, const char *reply, size_t len);
int    ta_smtp_ehlo_next(ta_smtp_ehlo_iter_t *it, ta_str_t *keyword, ta_str_t *line);
int    ta_smtp_ehlo_offers(const char *reply, size_t len, const char *keyword);
ta_str_t ta_smtp_queue_id(const char *reply, size_t len);
size_t ta_smtp_ehlo_after_auth(const char *reply, size_t len, size_t max_size, char *out,
    size_t size);

#endif
