/*
 * NAME
 *	ta_address 3
 * SUMMARY
 *	RFC 5321 reverse-path and RFC 5322 From: mailbox parsing, strict
 * SYNOPSIS
 *	#include "ta_address.h"
 * DESCRIPTION
 *	See ta_address.h. The From: value is tokenised first (atoms, quoted
 *	strings, comments, specials; each token knows whether whitespace or a
 *	comment came before it), then parsed, as Postfix's tok822 does; unlike
 *	Postfix the parse accepts one shape only - one mailbox - and names
 *	whatever else it sees. The token count is bounded, so a hostile header
 *	cannot make the parser do unbounded work.
 * STANDARDS
 *	RFC 5321 4.1.2 and 4.5.3.1.1; RFC 5322 3.2 and 3.4; RFC 2047 (encoded
 *	words are decoded only to look for hidden address syntax); RFC 6531
 *	and RFC 6532 (UTF-8). Departs from RFC 5322 on purpose: obsolete
 *	syntax (routes, CFWS inside an addr-spec, quoted-pairs outside quotes)
 *	and display names containing '@' are refused.
 */
#include <string.h>

#include "ta_address.h"

#define MAX_TOKENS        256
#define MAX_COMMENT_DEPTH 8

/* utf8_next - decode one well-formed UTF-8 sequence; 0 when malformed */
static size_t
utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], need, min, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1; min = 0x80; *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2; min = 0x800; *cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3; min = 0x10000; *cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need + 1)
        return 0;
    for (i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return need + 1;
}

/* invisible - code points that render as nothing or as space, or reorder text */
static int
invisible(unsigned cp)
{
    return cp == 0x00a0 || cp == 0x00ad || cp == 0x034f || cp == 0x061c
        || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 || cp == 0x17b5
        || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f)
        || (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f)
        || cp == 0x3000 || cp == 0x3164 || cp == 0xfeff || cp == 0xffa0
        || (cp >= 0xfff0 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe0fff);
}

/* check_utf8 - 8-bit text must be well-formed UTF-8 without invisible characters */
static const char *
check_utf8(const char *s, size_t n, int *eightbit)
{
    size_t   i = 0, k;
    unsigned cp;

    while (i < n) {
        if ((unsigned char) s[i] < 0x80) {
            i++;
            continue;
        }
        *eightbit = 1;
        k = utf8_next((const unsigned char *) s + i, n - i, &cp);
        if (k == 0)
            return "malformed UTF-8";
        if (invisible(cp))
            return "invisible or bidirectional control character";
        i += k;
    }
    return NULL;
}

/* is_atext - RFC 5322 atext, plus 8-bit bytes (RFC 6532; checked as UTF-8 later) */
static int
is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* finish_domain - normalise the domain part into out */
static int
finish_domain(const char *d, size_t n, ta_address_t *out, const char **why,
    const char *who)
{
    const char *dwhy;
    int         eightbit = 0;

    if (n == 0) {
        *why = who[0] == 'F' ? "From: address has no domain" : "envelope sender has no domain";
        return TA_EINPUT;
    }
    if (check_utf8(d, n, &eightbit) != NULL) {
        *why = who[0] == 'F' ? "From: domain has invisible or malformed characters"
                             : "envelope sender domain has invisible or malformed characters";
        return TA_EINPUT;
    }
    if (ta_domain_normalize(d, n, out->domain, sizeof(out->domain), &out->domain_len, &dwhy) != TA_OK) {
        *why = who[0] == 'F' ? "From: domain is not a valid host name"
                             : "envelope sender domain is not a valid host name";
        return TA_EINPUT;
    }
    if (eightbit)
        out->utf8 = 1;
    return TA_OK;
}

/* ta_path_parse - the MAIL FROM reverse-path */
int
ta_path_parse(const char *in, size_t len, ta_address_t *out, const char **why)
{
    size_t      i, at, llen;
    int         eightbit = 0;
    const char *p = in;

    memset(out, 0, sizeof(*out));
    if (len >= 2 && p[0] == '<' && p[len - 1] == '>') {
        p++;
        len -= 2;
        if (len == 0) {
            out->null_sender = 1;
            return TA_OK;
        }
    } else if (len > 0 && (p[0] == '<' || p[len - 1] == '>')) {
        *why = "envelope sender has unbalanced angle brackets";
        return TA_EINPUT;
    }
    if (len == 0) {
        *why = "envelope sender is empty (use <> for the null sender)";
        return TA_EINPUT;
    }
    if (p[0] == '@') {
        *why = "envelope sender has a source route";
        return TA_EINPUT;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) p[i];
        if (c == 0 || c < 0x20 || c == 0x7f) {
            *why = "envelope sender contains a control character";
            return TA_EINPUT;
        }
        if (c == '\t') {
            *why = "envelope sender contains whitespace";
            return TA_EINPUT;
        }
        if (c == '<' || c == '>') {
            *why = "envelope sender has unbalanced angle brackets";
            return TA_EINPUT;
        }
    }

    /* local part: quoted-string or dot-string */
    if (p[0] == '"') {
        /* RFC 5321 qtextSMTP and quoted-pairSMTP: printable ASCII and SP */
        for (i = 1; i < len && p[i] != '"'; i++) {
            if (p[i] == '\\' && ++i >= len)
                break;
        }
        if (i >= len) {
            *why = "envelope sender has an unbalanced quote";
            return TA_EINPUT;
        }
        at = i + 1;
        if (at >= len || p[at] != '@') {
            *why = "envelope sender has text after its quoted local part";
            return TA_EINPUT;
        }
    } else {
        for (i = 0; i < len && p[i] != '@'; i++) {
            unsigned char c = (unsigned char) p[i];
            if (c == '.') {
                if (i == 0 || p[i - 1] == '.' || i + 1 >= len || p[i + 1] == '@') {
                    *why = "envelope sender local part has an empty dot-atom";
                    return TA_EINPUT;
                }
            } else if (c == ' ') {
                *why = "envelope sender contains whitespace";
                return TA_EINPUT;
            } else if (c == '(' || c == ')') {
                *why = "envelope sender contains a comment";
                return TA_EINPUT;
            } else if (c == ':' || c == ',') {
                *why = "envelope sender has a source route";
                return TA_EINPUT;
            } else if (!is_atext(c)) {
                *why = "envelope sender local part has an invalid character";
                return TA_EINPUT;
            }
        }
        at = i;
        if (at >= len) {
            *why = "envelope sender has no @domain";
            return TA_EINPUT;
        }
        if (at == 0) {
            *why = "envelope sender has an empty local part";
            return TA_EINPUT;
        }
    }
    llen = at;
    if (llen > TA_LOCAL_MAX + (p[0] == '"' ? 2 : 0)) {
        *why = "envelope sender local part is longer than 64 octets";
        return TA_EINPUT;
    }
    if (memchr(p + at + 1, '@', len - at - 1) != NULL) {
        *why = "envelope sender has two @";
        return TA_EINPUT;
    }
    if (memchr(p + at + 1, ' ', len - at - 1) != NULL) {
        *why = "envelope sender contains whitespace";
        return TA_EINPUT;
    }
    if (memchr(p + at + 1, '(', len - at - 1) != NULL) {
        *why = "envelope sender contains a comment";
        return TA_EINPUT;
    }
    if (check_utf8(p, llen, &eightbit) != NULL) {
        *why = "envelope sender local part has invisible or malformed characters";
        return TA_EINPUT;
    }
    memcpy(out->local, p, llen);
    out->local[llen] = '\0';
    out->local_len = llen;
    out->utf8 = (unsigned) eightbit;
    if (at + 1 < len && p[at + 1] == '[') {
        *why = "envelope sender uses an address literal";
        return TA_EINPUT;
    }
    return finish_domain(p + at + 1, len - at - 1, out, why, "envelope");
}

/* The From: tokenizer. */

typedef enum { T_ATOM, T_QUOTED, T_COMMENT, T_SPECIAL } tok_type_t;

typedef struct {
    tok_type_t  type;
    const char *data;       /* T_QUOTED: with the quotes; T_COMMENT: with parens */
    size_t      len;
    unsigned    ws_before:1;
    unsigned    has_addr:1; /* content holds @ < > or , */
} tok_t;

typedef struct {
    tok_t  t[MAX_TOKENS];
    size_t n;
} toks_t;

/* fws - length of folding whitespace at p (0: none); -1: a bare line break */
static long
fws(const char *p, size_t n)
{
    size_t i = 0;

    for (;;) {
        if (i < n && (p[i] == ' ' || p[i] == '\t')) {
            i++;
        } else if (i + 2 < n && p[i] == '\r' && p[i + 1] == '\n' && (p[i + 2] == ' ' || p[i + 2] == '\t')) {
            i += 3;
        } else if (i + 1 < n && p[i] == '\n' && (p[i + 1] == ' ' || p[i + 1] == '\t')) {
            i += 2;
        } else if (i < n && (p[i] == '\r' || p[i] == '\n')) {
            return -1;
        } else {
            return (long) i;
        }
    }
}

/* addr_char - bytes that make text look like an address */
static int
addr_char(char c)
{
    return c == '@' || c == '<' || c == '>' || c == ',';
}

/* tokenize - split a From: value; NULL or a reason */
static const char *
tokenize(const char *s, size_t n, toks_t *tk)
{
    size_t i = 0, j;
    int    ws = 0, depth;
    long   w;

    tk->n = 0;
    while (i < n) {
        w = fws(s + i, n - i);
        if (w < 0)
            return "From: header has a bare line break";
        if (w > 0) {
            i += (size_t) w;
            ws = 1;
            continue;
        }
        if (tk->n == MAX_TOKENS)
            return "From: header is too complex";
        tok_t *t = &tk->t[tk->n];
        memset(t, 0, sizeof(*t));
        t->ws_before = (unsigned) ws;
        t->data = s + i;
        unsigned char c = (unsigned char) s[i];

        if (c == '(') {
            t->type = T_COMMENT;
            depth = 0;
            for (j = i; j < n; j++) {
                if (s[j] == '\\') {
                    if (++j >= n)
                        break;
                    if (s[j] == '\0' || s[j] == '\r' || s[j] == '\n')
                        return "From: header has a control character";
                    continue;
                }
                if (s[j] == '(' && ++depth > MAX_COMMENT_DEPTH)
                    return "From: comments are nested too deeply";
                if (s[j] == ')' && --depth == 0)
                    break;
                if (addr_char(s[j]))
                    t->has_addr = 1;
                if (s[j] == '\0' || ((s[j] == '\r' || s[j] == '\n') && fws(s + j, n - j) <= 0))
                    return "From: header has a control character or bare line break";
            }
            if (j >= n)
                return "From: header has an unbalanced parenthesis";
            t->len = j + 1 - i;
            ws = 1;         /* a comment separates like whitespace */
            tk->n++;        /* kept: the parser refuses some of them */
            i = j + 1;
            continue;
        }
        if (c == '"') {
            t->type = T_QUOTED;
            for (j = i + 1; j < n && s[j] != '"'; j++) {
                if (s[j] == '\\') {
                    if (++j >= n)
                        break;
                }
                if (s[j] == '\0' || ((unsigned char) s[j] < 0x20 && s[j] != '\t'
                                     && !((s[j] == '\r' || s[j] == '\n') && fws(s + j, n - j) > 0)))
                    return "From: quoted string has a control character";
                if (addr_char(s[j]))
                    t->has_addr = 1;
            }
            if (j >= n)
                return "From: header has an unbalanced quote";
            t->len = j + 1 - i;
        } else if (is_atext(c)) {
            t->type = T_ATOM;
            for (j = i; j < n && is_atext((unsigned char) s[j]); j++)
                ;
            t->len = j - i;
        } else if (strchr(")<>[]:;@\\,.", c) != NULL && c != '\0') {
            t->type = T_SPECIAL;
            t->len = 1;
        } else {
            return "From: header has a control character";
        }
        i += t->len;
        ws = 0;
        tk->n++;
    }
    return NULL;
}

/* is_special - token t is the special character c */
static int
is_special(const tok_t *t, char c)
{
    return t->type == T_SPECIAL && t->data[0] == c;
}

/* b64val - value of a base64 digit, -1 otherwise */
static int
b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* hexval - value of a hex digit, -1 otherwise */
static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/*
 * encoded_word_hides - 1 when an atom is an RFC 2047 encoded-word whose
 * decoded text holds address syntax or control characters; 0 otherwise
 * (including atoms that are not encoded-words).
 */
static int
encoded_word_hides(const char *s, size_t n, int *is_ew)
{
    const char *q1, *q2;
    size_t      i, bits = 0;
    unsigned    acc = 0;
    char        enc;
    int         v, v2;

    *is_ew = 0;
    if (n < 8 || s[0] != '=' || s[1] != '?' || s[n - 2] != '?' || s[n - 1] != '=')
        return 0;
    q1 = memchr(s + 2, '?', n - 4);
    if (q1 == NULL || q1 + 2 >= s + n - 2 || q1[2] != '?')
        return 0;
    *is_ew = 1;
    enc = (char) (q1[1] | 0x20);
    q2 = q1 + 3;
    n = (size_t) (s + n - 2 - q2);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) q2[i], d;

        if (enc == 'b') {
            if (c == '=')
                break;
            if ((v = b64val(c)) < 0)
                return 1;       /* not decodable: treat as hiding something */
            acc = (acc << 6) | (unsigned) v;
            bits += 6;
            if (bits < 8)
                continue;
            bits -= 8;
            d = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        } else if (enc == 'q') {
            if (c == '_') {
                d = ' ';
            } else if (c == '=') {
                if (i + 2 >= n || (v = hexval((unsigned char) q2[i + 1])) < 0
                    || (v2 = hexval((unsigned char) q2[i + 2])) < 0)
                    return 1;
                d = (unsigned char) (v * 16 + v2);
                i += 2;
            } else {
                d = c;
            }
        } else {
            return 1;           /* unknown encoding */
        }
        if (addr_char((char) d) || d == '"' || d == ';' || d == ':' || d < 0x20 || d == 0x7f)
            return 1;
    }
    return 0;
}

/*
 * raw_encoded_words_hide - scan raw text for "=?...?=" sequences, however
 * the tokenizer split them (an encoded word with a '.' in it is not valid
 * RFC 2047, but some mail clients decode it anyway), and say whether any
 * decodes to address syntax.
 */
static int
raw_encoded_words_hide(const char *s, size_t n)
{
    size_t i, j, q;
    int    is_ew;

    for (i = 0; i + 1 < n; i++) {
        if (s[i] != '=' || s[i + 1] != '?')
            continue;
        /* charset ? encoding ? text ?= : find the third '?' then "?=" */
        for (j = i + 2, q = 0; j < n && q < 2; j++)
            if (s[j] == '?')
                q++;
        for (; j + 1 < n; j++)
            if (s[j] == '?' && s[j + 1] == '=')
                break;
        if (j + 1 >= n)
            return 0;
        if (encoded_word_hides(s + i, j + 2 - i, &is_ew))
            return 1;
        i = j + 1;
    }
    return 0;
}

/* parse_addr_spec - tokens [b, e) must be local-part "@" domain, no CFWS inside */
static int
parse_addr_spec(const toks_t *tk, size_t b, size_t e, ta_address_t *out, const char **why)
{
    size_t      i, k, at = e, dlen = 0, llen = 0;
    char        dom[4 * TA_DOMAIN_MAX + 1];
    int         eightbit = 0, is_ew;
    const char *lstart, *uwhy;

    if (b == e) {
        *why = "From: header holds no address";
        return TA_EINPUT;
    }
    if (is_special(&tk->t[b], '@')) {
        *why = "From: address has a source route";
        return TA_EINPUT;
    }
    for (i = b; i < e; i++) {
        const tok_t *t = &tk->t[i];
        if (i > b && t->ws_before) {
            *why = "From: address has whitespace or a comment inside it";
            return TA_EINPUT;
        }
        if (t->type == T_COMMENT) {
            *why = "From: address has a comment inside it";
            return TA_EINPUT;
        }
        if (t->type == T_ATOM) {
            encoded_word_hides(t->data, t->len, &is_ew);
            if (is_ew) {
                *why = "From: address contains an encoded-word";
                return TA_EINPUT;
            }
        }
        if (is_special(t, '@')) {
            if (at != e) {
                *why = "From: address has two @";
                return TA_EINPUT;
            }
            at = i;
        } else if (t->type == T_SPECIAL && !is_special(t, '.')) {
            if (is_special(t, ':') || is_special(t, ','))
                *why = "From: address has a source route";
            else if (is_special(t, '['))
                *why = "From: address uses an address literal";
            else if (is_special(t, '\\'))
                *why = "From: header has a backslash outside quotes";
            else
                *why = "From: header has unbalanced angle brackets";
            return TA_EINPUT;
        }
    }
    if (at == e) {
        *why = "From: header holds no address";
        return TA_EINPUT;
    }
    if (at == b) {
        *why = "From: address has an empty local part";
        return TA_EINPUT;
    }

    /* local part: one quoted string, or atoms separated by single dots */
    lstart = tk->t[b].data;
    if (tk->t[b].type == T_QUOTED) {
        if (at != b + 1) {
            *why = "From: address mixes quoted and unquoted local part";
            return TA_EINPUT;
        }
        if (memchr(tk->t[b].data, '@', tk->t[b].len) != NULL) {
            *why = "From: quoted local part contains @";
            return TA_EINPUT;
        }
    } else {
        for (i = b; i < at; i++) {
            int want_atom = ((i - b) % 2) == 0;
            if (want_atom ? tk->t[i].type != T_ATOM : !is_special(&tk->t[i], '.')) {
                *why = "From: address local part is malformed";
                return TA_EINPUT;
            }
        }
        if (((at - b) % 2) == 0) {
            *why = "From: address local part ends with a dot";
            return TA_EINPUT;
        }
    }
    llen = (size_t) (tk->t[at].data - lstart);
    if (llen > TA_LOCAL_MAX + (tk->t[b].type == T_QUOTED ? 2 : 0) || llen >= sizeof(out->local)) {
        *why = "From: address local part is longer than 64 octets";
        return TA_EINPUT;
    }
    if ((uwhy = check_utf8(lstart, llen, &eightbit)) != NULL) {
        *why = "From: address local part has invisible or malformed characters";
        return TA_EINPUT;
    }
    /* A quoted local part may be folded (RFC 5322 3.2.2): unfolded here.
     * The tokenizer let CR and LF into a quoted string only as part of a
     * fold, so every one of them goes. */
    for (i = 0, k = 0; i < llen; i++)
        if (lstart[i] != '\r' && lstart[i] != '\n')
            out->local[k++] = lstart[i];
    out->local[k] = '\0';
    out->local_len = k;
    out->utf8 = (unsigned) eightbit;

    /* domain: atoms separated by single dots */
    for (i = at + 1; i < e; i++) {
        int want_atom = ((i - at - 1) % 2) == 0;
        if (want_atom ? tk->t[i].type != T_ATOM : !is_special(&tk->t[i], '.')) {
            *why = tk->t[i].type == T_QUOTED ? "From: domain is quoted"
                                             : "From: domain is malformed";
            return TA_EINPUT;
        }
        if (dlen + tk->t[i].len >= sizeof(dom)) {
            *why = "From: domain is too long";
            return TA_EINPUT;
        }
        memcpy(dom + dlen, tk->t[i].data, tk->t[i].len);
        dlen += tk->t[i].len;
    }
    return finish_domain(dom, dlen, out, why, "From");
}

/* ta_from_parse - exactly one mailbox from a From: field value */
int
ta_from_parse(const char *value, size_t len, ta_address_t *out, const char **why)
{
    toks_t  tk;
    toks_t *t = &tk;
    size_t  i, lt = 0, gt = 0, nlt = 0, ngt = 0, commas = 0, first_comma = 0;
    size_t  first, last, b, e;
    int     is_ew, eightbit = 0, group = 0;

    memset(out, 0, sizeof(*out));
    if ((*why = tokenize(value, len, t)) != NULL)
        return TA_EINPUT;

    /* Shape first: lists, groups, angle brackets. */
    for (i = 0; i < t->n; i++) {
        if (is_special(&t->t[i], '\\')) {
            *why = "From: header has a backslash outside quotes";
            return TA_EINPUT;
        }
        if (is_special(&t->t[i], ',') && commas++ == 0)
            first_comma = i;
        if (is_special(&t->t[i], ';') || (is_special(&t->t[i], ':') && nlt == ngt))
            group = 1;
        if (is_special(&t->t[i], '<') && nlt++ == 0)
            lt = i;
        if (is_special(&t->t[i], '>') && ngt++ == 0)
            gt = i;
    }
    if (group) {
        *why = "From: header uses group syntax";
        return TA_EINPUT;
    }
    if (commas) {
        if (nlt == 1 && ngt == 1 && first_comma < lt)
            *why = "From: display name has an unquoted comma (a second mailbox?)";
        else if (nlt == 1 && ngt == 1 && first_comma < gt)
            *why = "From: address has a source route";
        else
            *why = "From: header holds more than one mailbox";
        return TA_EINPUT;
    }
    if (nlt != ngt || nlt > 1 || (nlt == 1 && gt < lt)) {
        *why = nlt > 1 && nlt == ngt ? "From: header holds more than one mailbox"
                                     : "From: header has unbalanced angle brackets";
        return TA_EINPUT;
    }

    /* Encoded words anywhere outside the address must not hide one. */
    if (raw_encoded_words_hide(value, nlt ? (size_t) (t->t[lt].data - value) : len)) {
        *why = "From: encoded-word hides an address";
        return TA_EINPUT;
    }

    /* Comments: allowed around the address, never holding address syntax. */
    for (i = 0; i < t->n; i++) {
        if (t->t[i].type == T_COMMENT && t->t[i].has_addr) {
            *why = "From: comment contains address syntax";
            return TA_EINPUT;
        }
        if (t->t[i].type == T_COMMENT && check_utf8(t->t[i].data, t->t[i].len, &eightbit) != NULL) {
            *why = "From: comment has invisible or malformed characters";
            return TA_EINPUT;
        }
    }

    if (nlt == 0) {
        /* addr-spec alone, comments around it allowed */
        first = 0;
        last = t->n;
        while (first < last && t->t[first].type == T_COMMENT)
            first++;
        while (last > first && t->t[last - 1].type == T_COMMENT)
            last--;
        for (i = first; i < last; i++) {
            if (t->t[i].type == T_ATOM && encoded_word_hides(t->t[i].data, t->t[i].len, &is_ew)) {
                *why = "From: encoded-word hides an address";
                return TA_EINPUT;
            }
            if (t->t[i].type == T_ATOM && (i + 1 < last) && !is_special(&t->t[i + 1], '.')
                && !is_special(&t->t[i + 1], '@') && t->t[i + 1].ws_before) {
                *why = "From: header has text beside the address (display name without angle brackets?)";
                return TA_EINPUT;
            }
        }
        return parse_addr_spec(t, first, last, out, why);
    }

    /* display-name "<" addr-spec ">": nothing but comments after ">" */
    for (i = gt + 1; i < t->n; i++) {
        if (t->t[i].type != T_COMMENT) {
            *why = "From: header has text after the address";
            return TA_EINPUT;
        }
    }
    for (i = 0; i < lt; i++) {
        const tok_t *tok = &t->t[i];

        if (tok->type == T_COMMENT)
            continue;
        if (tok->type == T_SPECIAL) {
            if (is_special(tok, '@')) {
                *why = "From: display name contains an address";
                return TA_EINPUT;
            }
            if (is_special(tok, '\\')) {
                *why = "From: header has a backslash outside quotes";
                return TA_EINPUT;
            }
            if (!is_special(tok, '.')) {
                *why = "From: display name has a special character";
                return TA_EINPUT;
            }
            continue;
        }
        if (tok->type == T_QUOTED && memchr(tok->data, '@', tok->len) != NULL) {
            *why = "From: display name contains an address";
            return TA_EINPUT;
        }
        if (tok->type == T_ATOM && encoded_word_hides(tok->data, tok->len, &is_ew)) {
            *why = "From: encoded-word hides an address";
            return TA_EINPUT;
        }
        if (check_utf8(tok->data, tok->len, &eightbit) != NULL) {
            *why = "From: display name has invisible, bidirectional or malformed characters";
            return TA_EINPUT;
        }
    }
    b = lt + 1;
    e = gt;
    if (b < e && t->t[b].ws_before) {
        *why = "From: address has whitespace inside the angle brackets";
        return TA_EINPUT;
    }
    if (e > b && t->t[e].ws_before) {
        *why = "From: address has whitespace inside the angle brackets";
        return TA_EINPUT;
    }
    if (b == e) {
        *why = "From: address is empty";
        return TA_EINPUT;
    }
    return parse_addr_spec(t, b, e, out, why);
}
