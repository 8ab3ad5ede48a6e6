/*
 * NAME
 *	cmd_check 1
 * SUMMARY
 *	tenantalign check: the verdict an adapter would give one message
 * SYNOPSIS
 *	tenantalign check --store STORE --login LOGIN --mail-from ADDR
 *	                  [--json] [--monitor] [--eol auto|crlf|lf] [--at-mail] [FILE|-]
 * DESCRIPTION
 *	Runs the message through exactly the code the adapters run (ta_engine:
 *	store lookup, decision, key loading, signing) and prints the SMTP reply
 *	first; on accept, what would be signed. --json prints the verdict as
 *	one JSON object instead. Exit 0 accept, 1 reject, 2 tempfail, 64 usage.
 *	With --eol auto (the default) a message whose first line ends in CRLF
 *	is read as wire format, otherwise as LF text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ta_engine.h"

static const char check_usage[] =
    "usage: tenantalign check --store STORE --login LOGIN --mail-from ADDR\n"
    "                         [--json] [--monitor] [--eol auto|crlf|lf] [--at-mail] [FILE|-]\n"
    "\n"
    "Prints the SMTP reply tenantalign would give for the message in FILE (or\n"
    "standard input) relayed by LOGIN with envelope sender ADDR (the MAIL FROM\n"
    "argument, e.g. '<bounces@bounces.acme.example>' or '<>').\n"
    "  --json      the verdict as a JSON object\n"
    "  --monitor   decide as in monitor mode (accept, report the would-be reason)\n"
    "  --at-mail   only the check the adapters make at MAIL FROM (no message read)\n"
    "  --eol       line endings of the input (default: auto)\n"
    "exit status: 0 accept, 1 reject, 2 tempfail, 64 usage error\n";

/* print_json - the verdict as one JSON object */
static void
print_json(const ta_verdict_t *v, ta_str_t tenant, const char *login, ta_str_t reply)
{
    static const char *const actions[] = { "accept", "reject", "tempfail" };
    size_t i;

    printf("{\"action\":\"%s\",\"code\":%s,\"enhanced\":\"%s\",\"monitor\":%s,",
           actions[v->action], v->code, v->enhanced, v->monitor ? "true" : "false");
    printf("\"tenant\":");
    if (tenant.len)
        ta_cli_json(stdout, tenant.data, tenant.len);
    else
        printf("null");
    printf(",\"login\":");
    ta_cli_json(stdout, login, strlen(login));
    printf(",\"from_domain\":");
    ta_cli_json(stdout, v->from_domain, strlen(v->from_domain));
    printf(",\"envelope_domain\":");
    ta_cli_json(stdout, v->envelope_domain, strlen(v->envelope_domain));
    printf(",\"reason\":");
    ta_cli_json(stdout, v->reason, strlen(v->reason));
    if (v->rewrite_sender) {
        printf(",\"new_sender\":");
        ta_cli_json(stdout, v->new_sender, strlen(v->new_sender));
    }
    printf(",\"sign\":[");
    for (i = 0; i < v->nsign; i++) {
        const ta_key_t *k = v->sign[i];
        ta_str_t d = ta_key_d(k, v->identity);

        printf("%s{\"d\":", i ? "," : "");
        ta_cli_json(stdout, d.data, d.len);
        printf(",\"s\":");
        ta_cli_json(stdout, k->selector.data, k->selector.len);
        printf(",\"a\":\"%s\"}", ta_alg_name(k->alg));
    }
    printf("],\"reply\":");
    ta_cli_json(stdout, reply.data, reply.len);
    printf("}\n");
}

/* check_at_mail - the MAIL FROM-time check alone, as the adapters make it */
static int
check_at_mail(const char *store, const char *login, const char *mail_from, int monitor, int json)
{
    static ta_mail_t m;
    ta_engine_conf_t conf;
    ta_engine_t     *e;
    char             err[512];

    memset(&conf, 0, sizeof(conf));
    conf.store_path = store;
    conf.mode = monitor ? TA_MONITOR : TA_ENFORCE;
    conf.reply_eol = "\n";
    if (ta_engine_open(&conf, &e, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "tenantalign check: %s\n", err);
        return TA_EXIT_TEMPFAIL;
    }
    ta_engine_mail(e, ta_str_cstr(login), ta_str_cstr(mail_from), TA_MAIL_PATH, &m);
    if (m.fx.action == TA_ACCEPT)     /* the MTA says its own 250 */
        m.fx.reply = ta_str("250 2.1.0 sender accepted\n", 26);
    if (json) {
        printf("{\"stage\":\"mail\",\"action\":\"%s\",\"reply\":",
               m.fx.action == TA_ACCEPT ? "accept" : m.fx.action == TA_REJECT ? "reject" : "tempfail");
        ta_cli_json(stdout, m.fx.reply.data, m.fx.reply.len);
        printf("}\n");
    } else {
        fwrite(m.fx.reply.data, 1, m.fx.reply.len, stdout);
    }
    fprintf(stderr, "tenantalign: %.*s\n", (int) m.fx.log.len, m.fx.log.data);
    ta_engine_close(e);
    return m.fx.action == TA_ACCEPT ? TA_EXIT_OK : m.fx.action == TA_REJECT ? TA_EXIT_REJECT : TA_EXIT_TEMPFAIL;
}

/* ta_cmd_check - tenantalign check */
int
ta_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, 's' },
        { "login", required_argument, NULL, 'l' },
        { "mail-from", required_argument, NULL, 'm' },
        { "json", no_argument, NULL, 'j' },
        { "monitor", no_argument, NULL, 'M' },
        { "at-mail", no_argument, NULL, 'A' },
        { "eol", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char         *store = NULL, *login = NULL, *mail_from = NULL, *eol_arg = "auto";
    const char         *path = "-";
    int                 json = 0, monitor = 0, at_mail = 0, c, rc;
    char               *msg, err[512];
    size_t              len = 0, hlen;
    ta_engine_conf_t    conf;
    ta_engine_t        *e;
    ta_txn_t           *t;
    const ta_effects_t *fx;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': store = optarg; break;
        case 'l': login = optarg; break;
        case 'm': mail_from = optarg; break;
        case 'j': json = 1; break;
        case 'M': monitor = 1; break;
        case 'A': at_mail = 1; break;
        case 'e': eol_arg = optarg; break;
        case 'h': fputs(check_usage, stdout); return TA_EXIT_OK;
        default: fputs(check_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if (store == NULL || login == NULL || mail_from == NULL || argc - optind > 1
        || (strcmp(eol_arg, "auto") && strcmp(eol_arg, "crlf") && strcmp(eol_arg, "lf"))) {
        fputs(check_usage, stderr);
        return TA_EXIT_USAGE;
    }
    if (optind < argc)
        path = argv[optind];
    if (at_mail)
        return check_at_mail(store, login, mail_from, monitor, json);
    msg = ta_cli_read(path, &len);
    if (msg == NULL) {
        fprintf(stderr, "tenantalign check: %s: %s\n", path, strerror(errno));
        return TA_EXIT_TEMPFAIL;
    }

    memset(&conf, 0, sizeof(conf));
    conf.store_path = store;
    conf.mode = monitor ? TA_MONITOR : TA_ENFORCE;
    conf.reply_eol = "\n";
    if (strcmp(eol_arg, "auto") == 0) {
        const char *nl = memchr(msg, '\n', len);
        conf.eol = (nl != NULL && nl > msg && nl[-1] == '\r') ? TA_EOL_CRLF : TA_EOL_LF;
    } else {
        conf.eol = strcmp(eol_arg, "crlf") == 0 ? TA_EOL_CRLF : TA_EOL_LF;
    }
    if (ta_engine_open(&conf, &e, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "tenantalign check: %s\n", err);
        free(msg);
        return TA_EXIT_TEMPFAIL;
    }
    if (err[0])
        fprintf(stderr, "tenantalign check: %s\n", err);

    t = ta_txn_new(e, ta_str_cstr(login), ta_str_cstr(mail_from), TA_MAIL_PATH);
    hlen = ta_txn_header_end(t, msg, len);
    if (hlen == TA_EOH_NONE)
        hlen = len;         /* no empty line: the whole message is its header section */
    if (ta_txn_header(t, msg, hlen) == TA_ACCEPT)
        ta_txn_body(t, msg + hlen, len - hlen);
    fx = ta_txn_finish(t);
    if (json)
        print_json(ta_txn_verdict(t), ta_txn_tenant(t), login, fx->reply);
    else
        fwrite(fx->reply.data, 1, fx->reply.len, stdout);
    fprintf(stderr, "tenantalign: %.*s\n", (int) fx->log.len, fx->log.data);
    rc = fx->action == TA_ACCEPT ? TA_EXIT_OK : fx->action == TA_REJECT ? TA_EXIT_REJECT : TA_EXIT_TEMPFAIL;
    ta_txn_free(t);
    ta_engine_close(e);
    free(msg);
    return rc;
}
