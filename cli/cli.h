/* cli.h - the commands of the tenantalign program; each gets argv from its own name on */
#ifndef TA_CLI_H
#define TA_CLI_H

#include <stddef.h>

#define TA_VERSION "0.1.0"

enum {
    TA_EXIT_OK = 0,         /* accept, success */
    TA_EXIT_REJECT = 1,     /* reject, bad input */
    TA_EXIT_TEMPFAIL = 2,   /* tempfail, system error */
    TA_EXIT_USAGE = 64      /* EX_USAGE */
};

/* ta_cli_read - a whole message from PATH ("-": standard input), at most
 * 64 MB; NULL with errno set on failure */
char *ta_cli_read(const char *path, size_t *len);

int ta_cmd_compile(int argc, char **argv);
int ta_cmd_check(int argc, char **argv);
int ta_cmd_sign(int argc, char **argv);
int ta_cmd_keygen(int argc, char **argv);
int ta_cmd_dns(int argc, char **argv);

#endif
