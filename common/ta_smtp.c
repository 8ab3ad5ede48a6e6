/*
 * NAME
 *	ta_smtp 3
 * SUMMARY
 *	SMTP command and reply syntax: verbs, MAIL FROM, reply framing, EHLO
 * SYNOPSIS
 *	#include "ta_smtp.h"
 * DESCRIPTION
 *	See ta_smtp.h. Each parser is one left-to-right pass that refuses at
 *	the first octet it cannot place, so it never has to undo a guess; the
 *	reply scan in particular decides from the octets seen so far only,
 *	which is what makes its answer on a partial reply consistent with its
 *	answer on the whole. The builders check what they are given with the
 *	same character classes the parsers use, so that a caller's mistake
 *	cannot turn one command or reply line into two.
 * STANDARDS
 *	RFC 5321 4.1.1.1, 4.1.2, 4.2, 4.5.3.1; RFC 1869; RFC 3030; RFC 6531.
 *	See ta_smtp.h for where this departs from them.
 */
#include <string.h>
#include <strings.h>

#include "ta_smtp.h"

/* is_alnum - ALPHA / DIGIT */
static int
is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* is_ctl - a control octet (RFC 5234 CTL) */
static int
is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* is_value - an esmtp-value octet: printable ASCII but "=" */
static int
is_value(unsigned char c)
{
    return c >= 33 && c <= 126 && c != '=';
}

/* keyword_ok - esmtp-keyword and ehlo-keyword: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static int
keyword_ok(ta_str_t k)
{
    size_t i;

    if (k.len == 0 || !is_alnum((unsigned char) k.data[0]))
        return 0;
    for (i = 1; i < k.len; i++)
        if (!is_alnum((unsigned char) k.data[i]) && k.data[i] != '-')
            return 0;
    return 1;
}

/* value_ok - esmtp-value: 1*(%d33-60 / %d62-126) */
static int
value_ok(ta_str_t v)
{
    size_t i;

    if (v.len == 0)
        return 0;
    for (i = 0; i < v.len; i++)
        if (!is_value((unsigned char) v.data[i]))
            return 0;
    return 1;
}

/* ta_smtp_verb - classify one command line */
ta_smtp_verb_t
ta_smtp_verb(const char *line, size_t len, ta_str_t *arg)
{
    static const struct {
        ta_str_t       name;
        ta_smtp_verb_t verb;
    } verbs[] = {
        { TA_STR_LIT("HELO"), TA_SMTP_VERB_HELO },
        { TA_STR_LIT("EHLO"), TA_SMTP_VERB_EHLO },
        { TA_STR_LIT("MAIL"), TA_SMTP_VERB_MAIL },
        { TA_STR_LIT("RCPT"), TA_SMTP_VERB_RCPT },
        { TA_STR_LIT("DATA"), TA_SMTP_VERB_DATA },
        { TA_STR_LIT("BDAT"), TA_SMTP_VERB_BDAT },
        { TA_STR_LIT("RSET"), TA_SMTP_VERB_RSET },
        { TA_STR_LIT("NOOP"), TA_SMTP_VERB_NOOP },
        { TA_STR_LIT("QUIT"), TA_SMTP_VERB_QUIT },
        { TA_STR_LIT("STARTTLS"), TA_SMTP_VERB_STARTTLS },
        { TA_STR_LIT("AUTH"), TA_SMTP_VERB_AUTH },
        { TA_STR_LIT("XCLIENT"), TA_SMTP_VERB_XCLIENT },
        { TA_STR_LIT("XFORWARD"), TA_SMTP_VERB_XFORWARD },
        { TA_STR_LIT("VRFY"), TA_SMTP_VERB_VRFY },
        { TA_STR_LIT("EXPN"), TA_SMTP_VERB_EXPN },
        { TA_STR_LIT("HELP"), TA_SMTP_VERB_HELP },
    };
    const char *sp = len ? memchr(line, ' ', len) : NULL;
    size_t      n = sp ? (size_t) (sp - line) : len, i;

    if (arg)
        *arg = ta_str(line, 0);
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (!ta_str_caseeq(ta_str(line, n), verbs[i].name))
            continue;
        if (arg && sp)
            *arg = ta_str(sp + 1, len - n - 1);
        return verbs[i].verb;
    }
    return TA_SMTP_VERB_OTHER;
}

/* ta_smtp_after_auth - the local reply to a verb refused once the gate took over */
const char *
ta_smtp_after_auth(ta_smtp_verb_t verb)
{
    switch (verb) {
    case TA_SMTP_VERB_STARTTLS:
    case TA_SMTP_VERB_AUTH:
    case TA_SMTP_VERB_XCLIENT:
    case TA_SMTP_VERB_XFORWARD:
        /* the session's identity is settled: no second TLS, login or
         * client attributes that the policy decision did not see */
        return "503 5.5.1 Not allowed after authentication\r\n";
    case TA_SMTP_VERB_BDAT:
        /* the gate reads messages through DATA only, and never offers
         * CHUNKING: a client sending BDAT anyway gets told so */
        return "502 5.5.1 BDAT is not available here: use DATA\r\n";
    default:
        return NULL;
    }
}

/* mail_path - the angle-bracketed reverse-path at arg[*i]; TA_OK with *i after '>' */
static int
mail_path(const char *arg, size_t len, size_t *i, ta_str_t *path, const char **why)
{
    size_t start = *i, j = start + 1;
    int    quoted = 0;

    if (start >= len || arg[start] != '<') {
        *why = "MAIL FROM: reverse-path is not in angle brackets";
        return TA_EINPUT;
    }
    for (;;) {
        unsigned char c;

        if (j >= len) {
            *why = quoted ? "MAIL FROM: reverse-path has an unbalanced quote"
                          : "MAIL FROM: reverse-path has no closing '>'";
            return TA_EINPUT;
        }
        /* j - start + 1 octets so far, this one included */
        if (j - start + 1 > TA_SMTP_PATH_MAX) {
            *why = "MAIL FROM: reverse-path is longer than 256 octets";
            return TA_EINPUT;
        }
        c = (unsigned char) arg[j];
        if (is_ctl(c)) {
            *why = "MAIL FROM: reverse-path contains a control character";
            return TA_EINPUT;
        }
        if (quoted) {
            if (c == '"') {
                quoted = 0;
            } else if (c == '\\') {
                /* quoted-pairSMTP: the next octet is taken as it is, a
                 * '"' or '>' included; it is checked like any other */
                if (j + 1 < len && !is_ctl((unsigned char) arg[j + 1]))
                    j++;
            }
        } else if (c == '"') {
            quoted = 1;
        } else if (c == '<') {
            /* never part of a path: "<a<b>" is two attempts at one */
            *why = "MAIL FROM: reverse-path contains '<'";
            return TA_EINPUT;
        } else if (c == '>') {
            break;
        }
        j++;
    }
    *path = ta_str(arg + start, j + 1 - start);
    *i = j + 1;
    return TA_OK;
}

/* mail_param - one esmtp-param at arg[*i]: keyword ["=" value] */
static int
mail_param(const char *arg, size_t len, size_t *i, ta_str_t *kw, ta_str_t *val,
    const char **why)
{
    size_t j = *i, k;

    while (j < len && (is_alnum((unsigned char) arg[j]) || arg[j] == '-'))
        j++;
    *kw = ta_str(arg + *i, j - *i);
    if (!keyword_ok(*kw) || (j < len && arg[j] != ' ' && arg[j] != '=')) {
        *why = "MAIL FROM: malformed ESMTP parameter";
        return TA_EINPUT;
    }
    *val = ta_str(NULL, 0);
    if (j < len && arg[j] == '=') {
        k = ++j;
        while (j < len && is_value((unsigned char) arg[j]))
            j++;
        if (j == k) {
            *why = "MAIL FROM: ESMTP parameter has an empty value";
            return TA_EINPUT;
        }
        if (j < len && arg[j] != ' ') {
            *why = "MAIL FROM: ESMTP parameter value has an invalid character";
            return TA_EINPUT;
        }
        *val = ta_str(arg + k, j - k);
    }
    *i = j;
    return TA_OK;
}

/* mail_parse - ta_smtp_mail_parse, with why never NULL */
static int
mail_parse(const char *arg, size_t len, ta_smtp_mail_t *m, const char **why)
{
    size_t   i, k;
    ta_str_t kw, val;

    if (len < 5 || !ta_str_caseeq(ta_str(arg, 5), (ta_str_t) TA_STR_LIT("FROM:"))) {
        *why = "MAIL needs FROM:<reverse-path>";
        return TA_EINPUT;
    }
    /* the one tolerance: "MAIL FROM: <a@b>" (see STANDARDS) */
    for (i = 5; i < len && arg[i] == ' '; i++)
        continue;
    if (mail_path(arg, len, &i, &m->path, why) != TA_OK)
        return TA_EINPUT;
    if (i < len && arg[i] != ' ') {
        *why = "MAIL FROM: text after the reverse-path";
        return TA_EINPUT;
    }
    while (i < len) {
        while (i < len && arg[i] == ' ')
            i++;
        if (i == len) {
            *why = "MAIL FROM: trailing space";
            return TA_EINPUT;
        }
        if (mail_param(arg, len, &i, &kw, &val, why) != TA_OK)
            return TA_EINPUT;
        if (m->nparams == TA_SMTP_MAX_PARAMS) {
            *why = "MAIL FROM: more than 16 ESMTP parameters";
            return TA_EINPUT;
        }
        for (k = 0; k < m->nparams; k++) {
            if (ta_str_caseeq(m->keyword[k], kw)) {
                *why = "MAIL FROM: ESMTP parameter given twice";
                return TA_EINPUT;
            }
        }
        m->keyword[m->nparams] = kw;
        m->value[m->nparams] = val;
        m->nparams++;
    }
    return TA_OK;
}

/* ta_smtp_mail_parse - the argument of MAIL, strictly */
int
ta_smtp_mail_parse(const char *arg, size_t len, ta_smtp_mail_t *m, const char **why)
{
    const char *dummy;

    memset(m, 0, sizeof(*m));
    if (mail_parse(arg, len, m, why ? why : &dummy) != TA_OK) {
        memset(m, 0, sizeof(*m));
        return TA_EINPUT;
    }
    return TA_OK;
}

/* put - append s to buf[*n..size), keeping room for the NUL; 0 when it does not fit */
static int
put(char *buf, size_t size, size_t *n, ta_str_t s)
{
    if (s.len >= size - *n)
        return 0;
    if (s.len)
        memcpy(buf + *n, s.data, s.len);
    *n += s.len;
    return 1;
}

/* path_ok - p is one reverse-path as ta_smtp_mail_parse() delimits it, so
 * that the line built with it is one line and parses back to the same path */
static int
path_ok(ta_str_t p)
{
    const char *why;
    ta_str_t    got;
    size_t      i = 0;

    return p.len > 0 && mail_path(p.data, p.len, &i, &got, &why) == TA_OK && i == p.len;
}

/* ta_smtp_mail_build - "MAIL FROM:<path> params" CRLF */
size_t
ta_smtp_mail_build(const ta_smtp_mail_t *m, ta_str_t path, char *buf, size_t size)
{
    static const ta_str_t verb = TA_STR_LIT("MAIL FROM:"), sp = TA_STR_LIT(" "),
                          eq = TA_STR_LIT("="), crlf = TA_STR_LIT("\r\n");
    size_t n = 0, i;

    if (size == 0 || !path_ok(path) || m->nparams > TA_SMTP_MAX_PARAMS)
        return 0;
    if (!put(buf, size, &n, verb) || !put(buf, size, &n, path))
        return 0;
    for (i = 0; i < m->nparams; i++) {
        if (!keyword_ok(m->keyword[i])
            || (m->value[i].data != NULL && !value_ok(m->value[i])))
            return 0;
        if (!put(buf, size, &n, sp) || !put(buf, size, &n, m->keyword[i]))
            return 0;
        if (m->value[i].data != NULL
            && (!put(buf, size, &n, eq) || !put(buf, size, &n, m->value[i])))
            return 0;
    }
    if (!put(buf, size, &n, crlf))
        return 0;
    buf[n] = '\0';
    return n;
}

/* is_code_digit - whether c may be digit pos (0-2) of a reply code:
 * RFC 5321 4.2, Reply-code = %x32-35 %x30-35 %x30-39 */
static int
is_code_digit(unsigned char c, size_t pos)
{
    static const char high[3] = { '5', '5', '9' }, low[3] = { '2', '0', '0' };

    return c >= low[pos] && c <= high[pos];
}

/* is_text - an octet of reply text: no control but HT (8-bit passes: greetings carry it) */
static int
is_text(unsigned char c)
{
    return c == '\t' || !is_ctl(c);
}

/* reply_scan - ta_smtp_reply_scan, with why never NULL */
static int
reply_scan(const char *buf, size_t len, size_t *reply_len, unsigned *code, const char **why)
{
    size_t i, col = 0;      /* col: octets of the current line before its LF */
    int    last = 0, cr = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) buf[i];

        if (i >= TA_SMTP_REPLY_MAX) {
            *why = "reply too long";
            return -1;
        }
        if (cr && c != '\n') {
            *why = "reply line has a bare CR";
            return -1;
        }
        if (c == '\n') {
            if (col < 3) {
                *why = "reply line is shorter than a reply code";
                return -1;
            }
            if (col == 3 || last) {
                *reply_len = i + 1;
                *code = (unsigned) (buf[0] - '0') * 100 + (unsigned) (buf[1] - '0') * 10
                        + (unsigned) (buf[2] - '0');
                return 1;
            }
            col = 0;
            cr = 0;
            continue;
        }
        if (col < 3) {
            if (!is_code_digit(c, col)) {
                *why = "reply line does not start with a reply code";
                return -1;
            }
            /* i - col is where this line starts: the first line's code */
            if (i != col && c != (unsigned char) buf[col]) {
                *why = "reply lines carry different codes";
                return -1;
            }
            col++;
            continue;
        }
        if (col >= TA_SMTP_REPLY_LINE_MAX) {
            *why = "reply too long";
            return -1;
        }
        if (c == '\r') {
            if (col == 3)
                last = 1;       /* "250" CRLF */
            cr = 1;
        } else if (col == 3) {
            if (c != '-' && c != ' ') {
                *why = "reply code is followed by neither '-' nor a space";
                return -1;
            }
            last = c == ' ';
        } else if (!is_text(c)) {
            *why = "reply text contains a control character";
            return -1;
        }
        col++;
    }
    return 0;
}

/* ta_smtp_reply_scan - frame the reply at the start of buf */
int
ta_smtp_reply_scan(const char *buf, size_t len, size_t *reply_len, unsigned *code,
    const char **why)
{
    const char *dummy;

    return reply_scan(buf, len, reply_len, code, why ? why : &dummy);
}

/* ehlo_line - the next line at it->p, without its line ending; advances past it */
static ta_str_t
ehlo_line(ta_smtp_ehlo_iter_t *it)
{
    const char *p = it->p, *nl = memchr(p, '\n', (size_t) (it->end - p));
    const char *e = nl ? nl : it->end;

    it->p = nl ? nl + 1 : it->end;
    if (e > p && e[-1] == '\r')
        e--;
    return ta_str(p, (size_t) (e - p));
}

/* is_250 - whether a line starts "250-" or "250 " */
static int
is_250(ta_str_t l)
{
    return l.len >= 4 && memcmp(l.data, "250", 3) == 0 && (l.data[3] == '-' || l.data[3] == ' ');
}

/* ta_smtp_ehlo_iter - start walking the capability lines of reply */
void
ta_smtp_ehlo_iter(ta_smtp_ehlo_iter_t *it, const char *reply, size_t len)
{
    it->p = reply;
    it->end = len ? reply + len : reply;
    it->started = 0;
}

/* ta_smtp_ehlo_next - the next capability line */
int
ta_smtp_ehlo_next(ta_smtp_ehlo_iter_t *it, ta_str_t *keyword, ta_str_t *line)
{
    ta_str_t l;
    size_t   k;

    if (!it->started) {
        it->started = 1;
        if (it->p == it->end)
            return 0;
        l = ehlo_line(it);
        if (!is_250(l) || l.data[3] == ' ')
            it->p = it->end;        /* not a greeting with capabilities after it */
    }
    while (it->p < it->end) {
        l = ehlo_line(it);
        if (!is_250(l))
            continue;
        if (l.data[3] == ' ')
            it->p = it->end;        /* the last line: what follows is another reply */
        *line = ta_str(l.data + 4, l.len - 4);
        for (k = 0; k < line->len; k++)
            if (line->data[k] == ' ' || line->data[k] == '=' || line->data[k] == '\r')
                break;
        *keyword = ta_str(line->data, k);
        return 1;
    }
    return 0;
}

/* ta_smtp_ehlo_offers - whether the EHLO reply offers keyword */
int
ta_smtp_ehlo_offers(const char *reply, size_t len, const char *keyword)
{
    ta_smtp_ehlo_iter_t it;
    ta_str_t            kw, line, want = ta_str_cstr(keyword);

    ta_smtp_ehlo_iter(&it, reply, len);
    while (ta_smtp_ehlo_next(&it, &kw, &line))
        if (ta_str_caseeq(kw, want))
            return 1;
    return 0;
}

/* ehlo_line_ok - ehlo-line = ehlo-keyword *(SP ehlo-param), params printable ASCII */
static int
ehlo_line_ok(ta_str_t kw, ta_str_t line)
{
    size_t i;

    if (!keyword_ok(kw))
        return 0;
    for (i = kw.len; i < line.len; i++) {
        unsigned char c = (unsigned char) line.data[i];

        if (c < 32 || c > 126)
            return 0;
    }
    return 1;
}

/* ta_smtp_ehlo_after_auth - the EHLO reply a tenant sees once the gate took over */
size_t
ta_smtp_ehlo_after_auth(const char *reply, size_t len, size_t max_size, char *out, size_t size)
{
    static const ta_str_t drop[] = {
        TA_STR_LIT("CHUNKING"), TA_STR_LIT("BINARYMIME"), TA_STR_LIT("STARTTLS"),
        TA_STR_LIT("AUTH"), TA_STR_LIT("XCLIENT"), TA_STR_LIT("XFORWARD"),
        TA_STR_LIT("SIZE"), TA_STR_LIT("PIPECONNECT"),
    };
    static const ta_str_t cont = TA_STR_LIT("250-"), crlf = TA_STR_LIT("\r\n"),
                          last = TA_STR_LIT("250 SIZE ");
    ta_smtp_ehlo_iter_t it;
    ta_str_t            greeting, kw, line;
    char                dec[20], *d;
    size_t              n = 0, i, k;

    if (size == 0 || len == 0)
        return 0;
    ta_smtp_ehlo_iter(&it, reply, len);
    greeting = ehlo_line(&it);
    if (!is_250(greeting))
        return 0;
    for (i = 4; i < greeting.len; i++)
        if (!is_text((unsigned char) greeting.data[i]))
            return 0;
    if (!put(out, size, &n, cont)
        || !put(out, size, &n, ta_str(greeting.data + 4, greeting.len - 4))
        || !put(out, size, &n, crlf))
        return 0;

    ta_smtp_ehlo_iter(&it, reply, len);
    while (ta_smtp_ehlo_next(&it, &kw, &line)) {
        if (!ehlo_line_ok(kw, line))
            continue;
        for (k = 0; k < sizeof(drop) / sizeof(drop[0]); k++)
            if (ta_str_caseeq(kw, drop[k]))
                break;
        if (k < sizeof(drop) / sizeof(drop[0]))
            continue;
        if (!put(out, size, &n, cont) || !put(out, size, &n, line) || !put(out, size, &n, crlf))
            return 0;
    }

    /* our own SIZE, the limit the gate enforces, ends the reply */
    d = ta_str_dec(dec + sizeof(dec), max_size);
    if (!put(out, size, &n, last)
        || !put(out, size, &n, ta_str(d, (size_t) (dec + sizeof(dec) - d)))
        || !put(out, size, &n, crlf))
        return 0;
    out[n] = '\0';
    return n;
}

/* id_word - the queue id word at p (letters, digits, '.', '_', '-'), at most 63 */
static ta_str_t
id_word(const char *p, const char *end)
{
    const char *s = p;

    while (p < end && p - s < 63 && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                                     || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
        p++;
    return ta_str(s, (size_t) (p - s));
}

/* ta_smtp_queue_id - the queue id an MTA's reply names, or empty */
ta_str_t
ta_smtp_queue_id(const char *reply, size_t len)
{
    static const struct {
        const char *mark;
        size_t      len;
    } marks[] = { { "id=", 3 }, { "queued as ", 10 } };
    size_t   i, m;
    ta_str_t w;

    for (i = 0; i < len; i++)
        for (m = 0; m < sizeof(marks) / sizeof(marks[0]); m++)
            if (len - i > marks[m].len && strncasecmp(reply + i, marks[m].mark, marks[m].len) == 0
                && (w = id_word(reply + i + marks[m].len, reply + len)).len > 0)
                return w;
    return ta_str("", 0);
}
