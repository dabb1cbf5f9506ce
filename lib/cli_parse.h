/* SPDX-License-Identifier: MIT */
/*
 * Numeric option values for the subcommands, with one error message for all:
 *   gilscope CMD: --OPT wants WHAT, not 'ARG'
 * WHAT says the accepted range in the user's terms ("1..10000000",
 * "a positive number", "a percentage").
 */
#ifndef GILSCOPE_CLI_PARSE_H
#define GILSCOPE_CLI_PARSE_H

/* A whole decimal integer in [lo, hi]. Returns 0, or -1 after the message. */
int cli_parse_long(const char *cmd, const char *opt, const char *arg, long lo,
		   long hi, const char *what, long *out);

/* A number strictly between lo and hi (NaN never is). Returns 0, or -1 after
 * the message. */
int cli_parse_double(const char *cmd, const char *opt, const char *arg,
		     double lo, double hi, const char *what, double *out);

#endif
