/* SPDX-License-Identifier: MIT */
/*
 * The one option parser and validator of every gilscope subcommand
 * (docs/cli.md has the table of options). Every value error reads
 *   gilscope CMD: --OPT wants WHAT, not 'ARG'
 * where WHAT says what is accepted in the user's terms ("1..10000000", "a
 * time like 500us, 10ms or 1.5s"). Each parser returns 0, or -1 after the
 * message (the caller exits 2).
 *
 * Times: a number with a unit, ns, us (or µs), ms, s or m; a bare number
 * is in the option's default unit (seconds for -i/-d/--interval/
 * --duration; the documented one for older options).
 */
#ifndef GILSCOPE_CLI_PARSE_H
#define GILSCOPE_CLI_PARSE_H

#include <getopt.h>
#include <stdint.h>
#include <sys/types.h>

#define CLI_NS 1ull
#define CLI_US 1000ull
#define CLI_MS 1000000ull
#define CLI_S 1000000000ull

/* The getopt_long entries of the options whose letter means the same in
 * every subcommand (docs/cli.md, "The vocabulary"). */
#define CLI_OPT_DURATION { "duration", required_argument, NULL, 'd' }
#define CLI_OPT_HELP { "help", no_argument, NULL, 'h' }
#define CLI_OPT_INTERVAL { "interval", required_argument, NULL, 'i' }
#define CLI_OPT_JSON { "json", no_argument, NULL, 'j' }
#define CLI_OPT_OUTPUT { "output", required_argument, NULL, 'o' }
#define CLI_OPT_PID { "pid", required_argument, NULL, 'p' }
#define CLI_OPT_QUIET { "quiet", no_argument, NULL, 'q' }
#define CLI_OPT_VERBOSE { "verbose", no_argument, NULL, 'v' }

/* A whole decimal integer in [lo, hi]. */
int cli_parse_long(const char *cmd, const char *opt, const char *arg, long lo,
		   long hi, const char *what, long *out);

/* The same for unsigned 64-bit values in [lo, hi]; WHAT may be NULL
 * ("an integer LO..HI"). */
int cli_parse_u64(const char *cmd, const char *opt, const char *arg,
		  uint64_t lo, uint64_t hi, const char *what, uint64_t *out);

/* A number strictly between lo and hi (NaN never is). */
int cli_parse_double(const char *cmd, const char *opt, const char *arg,
		     double lo, double hi, const char *what, double *out);

/* Silent form of the time syntax: 0, or -1 when S is not a time. A bare
 * number is in units of BARE_NS (CLI_S, CLI_US, ...; 0 refuses bare
 * numbers). */
int cli_time_ns(const char *s, uint64_t bare_ns, uint64_t *ns);

/* A time in [lo_ns, hi_ns]. */
int cli_parse_time(const char *cmd, const char *opt, const char *arg,
		   uint64_t bare_ns, uint64_t lo_ns, uint64_t hi_ns,
		   uint64_t *ns);

/* The switch interval of a GIL policy (run, replay), 1 us..10 s, in
 * microseconds: -i/--interval reads bare numbers as seconds like every -i,
 * --interval-us (US_FORM) as microseconds, as it always did; units work in
 * both. */
int cli_parse_gil_interval(const char *cmd, int us_form, const char *arg,
			   uint64_t *us);

/* A time in seconds (bare numbers are seconds) in (0, hi_s]; ZERO_OK also
 * accepts 0. */
int cli_parse_seconds(const char *cmd, const char *opt, const char *arg,
		      int zero_ok, double hi_s, double *secs);

/* A process id that exists or not (1..INT_MAX). */
int cli_parse_pid(const char *cmd, const char *opt, const char *arg,
		  pid_t *pid);

/* FROM:TO, either side may be empty; times with a unit (BARE_NS for bare
 * numbers). Sets has_from and has_to for the sides given. */
int cli_parse_window(const char *cmd, const char *opt, const char *arg,
		     uint64_t bare_ns, uint64_t *from, uint64_t *to,
		     int *has_from, int *has_to);

/* A short option that used to mean something else in this subcommand. */
struct cli_renamed {
	int old_short;    /* the letter */
	const char *was;  /* what it meant: "--only" */
	const char *now;  /* what to write now: "--only ITEMS" */
};

/*
 * Call in getopt_long's '?' / default case, with opterr = 0: prints what
 * was wrong (unknown option with the nearest long option, missing value,
 * or a renamed short option with its new spelling) and "Try 'gilscope CMD
 * --help'.". RENAMED may be NULL, else ends with { 0 }. Returns 2, the exit
 * status of a usage error.
 */
int cli_bad_option(const char *cmd, char **argv, const struct option *longopts,
		   const struct cli_renamed *renamed);

/* For a renamed letter that still parses (getopt returned it): prints the
 * renamed error and returns 2. */
int cli_renamed_option(const char *cmd, const struct cli_renamed *r);

#endif
