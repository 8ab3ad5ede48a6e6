/*
 * NAME
 *	tenantalign 1
 * SUMMARY
 *	command-line front end: compile, check, sign, keygen, dns, verify, rotate
 * SYNOPSIS
 *	tenantalign compile [--progress] [--quiet] [--state FILE [--now T]] SOURCE STORE
 *	tenantalign check --store STORE --login LOGIN --mail-from ADDR
 *	                  [--json] [--monitor] [--eol auto|crlf|lf] [FILE|-]
 *	tenantalign sign --key FILE --domain D --selector S ... [FILE|-]
 *	tenantalign keygen --alg ALG --domain D --selector S --out DIR
 *	tenantalign dns [--tenant T] [--identity D] [--format F] [--state FILE]
 *	                (--store S | SOURCE)
 *	tenantalign verify [--server IP[:PORT]] [--state FILE] ... (--store S | SOURCE)
 *	tenantalign rotate --state FILE [--tenant T] [--identity D] [--alg A] SOURCE
 *	tenantalign pause|resume|suspend|unsuspend --store S --tenant T [--identity D] [--reason R]
 *	tenantalign holds --store S
 *	tenantalign stats [--prometheus|--json] [--top N] [--textfile DIR] [--counters FILE]...
 * DESCRIPTION
 *	Each command has --help. Exit status: 0 accept / success, 1 reject /
 *	bad input, 2 tempfail / system error, 64 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: tenantalign COMMAND [OPTIONS]\n"
    "\n"
    "DMARC alignment gate for email service providers: decides, for a message\n"
    "relayed by an authenticated tenant, whether to sign it or refuse it.\n"
    "\n"
    "commands:\n"
    "  compile  validate a tenant source file and write the indexed store\n"
    "  check    show the verdict (SMTP reply) for one message\n"
    "  sign     DKIM-sign a message (rsa-sha256, ed25519-sha256)\n"
    "  keygen   generate a DKIM key and print its DNS TXT record\n"
    "  dns      the DNS records each identity needs, and who publishes them\n"
    "  verify   what DNS really publishes for each identity, check by check\n"
    "  rotate   start a DKIM key rotation: a new pending key, and what to publish\n"
    "  pause, resume, suspend, unsuspend, holds\n"
    "           stop a tenant's (or an identity's) mail now, or let it go again\n"
    "  stats    the per-tenant counters, for Prometheus (textfile) or as JSON\n"
    "\n"
    "'tenantalign COMMAND --help' describes each command.\n"
    "exit status: 0 accept/success, 1 reject/bad input, 2 tempfail/system error, 64 usage\n";

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        { "compile", ta_cmd_compile },
        { "check", ta_cmd_check },
        { "sign", ta_cmd_sign },
        { "keygen", ta_cmd_keygen },
        { "dns", ta_cmd_dns },
        { "verify", ta_cmd_verify },
        { "rotate", ta_cmd_rotate },
        { "pause", ta_cmd_hold },
        { "resume", ta_cmd_hold },
        { "suspend", ta_cmd_hold },
        { "unsuspend", ta_cmd_hold },
        { "holds", ta_cmd_hold },
        { "stats", ta_cmd_stats },
    };
    size_t i;

    if (argc < 2) {
        fputs(usage, stderr);
        return TA_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("tenantalign " TA_VERSION);
        return 0;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tenantalign: unknown command '%s'\n\n%s", argv[1], usage);
    return TA_EXIT_USAGE;
}
