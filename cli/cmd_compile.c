/*
 * NAME
 *	cmd_compile 1
 * SUMMARY
 *	tenantalign compile: tenant source to indexed store
 * SYNOPSIS
 *	tenantalign compile [--progress] [--quiet] [--state FILE [--now T]]
 *	                    SOURCE STORE
 * DESCRIPTION
 *	Validates SOURCE (every error reported as file:line: what) and writes
 *	STORE atomically (temporary file, fsync, rename), with every key in
 *	its effective state (ta_lifecycle): the source's, what verify saw
 *	(--state) and the keys rotate made. A key active in the source that
 *	verify has not seen published is stored as unverified - it does not
 *	sign - unless its identity says dns_check off; each is named in a
 *	warning. Exit 0 written, 1 errors in the source, 2 system error (the
 *	state file included), 64 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ta_state.h"
#include "ta_store.h"

static const char compile_usage[] =
    "usage: tenantalign compile [--progress] [--quiet] [--state FILE [--now T]] SOURCE STORE\n"
    "\n"
    "Validates the tenant source file SOURCE and writes the indexed store STORE\n"
    "(a tinycdb file that Exim and nginx open read-only; replaced atomically, and\n"
    "picked up by running adapters within a second).\n"
    "  --progress  report progress on large sources (default when stderr is a tty)\n"
    "  --quiet     print nothing on success\n"
    "  --state FILE  what tenantalign verify saw in DNS and the keys rotate made: a key\n"
    "              signs only once verify has seen it published (unless dns_check off);\n"
    "              without it, no key has been seen\n"
    "  --now T     compute the keys' states for time T (seconds since 1970, UTC)\n"
    "exit status: 0 written, 1 errors in SOURCE, 2 system error, 64 usage error\n";

/* print_warning - compile warnings to standard error */
static void
print_warning(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
}

/* ta_cmd_compile - tenantalign compile */
int
ta_cmd_compile(int argc, char **argv)
{
    static const struct option opts[] = {
        { "progress", no_argument, NULL, 'p' },
        { "quiet", no_argument, NULL, 'q' },
        { "state", required_argument, NULL, 'S' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    ta_compile_opts_t copts;
    char              err[8192];
    int               c, quiet = 0, rc;
    ta_store_t       *st;
    ta_state_t       *state = NULL;
    const char       *state_path = NULL, *now_arg = NULL;

    memset(&copts, 0, sizeof(copts));
    copts.progress = isatty(2);
    copts.warn = print_warning;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': copts.progress = 1; break;
        case 'q': quiet = 1; break;
        case 'S': state_path = optarg; break;
        case 'n': now_arg = optarg; break;
        case 'h': fputs(compile_usage, stdout); return TA_EXIT_OK;
        default: fputs(compile_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fputs(compile_usage, stderr);
        return TA_EXIT_USAGE;
    }
    if ((rc = ta_cli_now(now_arg, &copts.now, "tenantalign compile")) != TA_EXIT_OK
        || (state_path && (rc = ta_cli_state_load(state_path, 1, &state, "tenantalign compile")) != TA_EXIT_OK))
        return rc;
    copts.state = state;
    rc = ta_store_compile(argv[optind], argv[optind + 1], &copts, err, sizeof(err));
    ta_state_free(state);
    if (rc == TA_EINPUT) {
        fprintf(stderr, "%s\ntenantalign compile: %s has errors; %s not written\n", err,
                argv[optind], argv[optind + 1]);
        return TA_EXIT_REJECT;
    }
    if (rc != TA_OK) {
        fprintf(stderr, "tenantalign compile: %s\n", err);
        return TA_EXIT_TEMPFAIL;
    }
    if (!quiet) {
        /* read back what was written: the store opens and says how big it is */
        if (ta_store_open(argv[optind + 1], &st, err, sizeof(err)) != TA_OK) {
            fprintf(stderr, "tenantalign compile: written but unreadable: %s\n", err);
            return TA_EXIT_TEMPFAIL;
        }
        printf("%s: %zu tenants written to %s; keys: %zu active, %zu pending, %zu retiring, %zu revoked, "
               "%zu unverified (not signing)\n", argv[optind], ta_store_count(st), argv[optind + 1],
               copts.by_state[TA_KEY_ACTIVE], copts.by_state[TA_KEY_PENDING], copts.by_state[TA_KEY_RETIRING],
               copts.by_state[TA_KEY_REVOKED], copts.by_state[TA_KEY_UNVERIFIED]);
        ta_store_close(st);
    }
    return TA_EXIT_OK;
}
