/* SPDX-License-Identifier: MIT */
#include "cli_parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_suggest.h"

static int refuse(const char *cmd, const char *opt, const char *arg,
		  const char *what)
{
	fprintf(stderr, "gilscope %s: %s%s wants %s, not '%s'\n", cmd,
		opt[0] == '-' ? "" : "--", opt, what, arg);
	return -1;
}

int cli_parse_long(const char *cmd, const char *opt, const char *arg, long lo,
		   long hi, const char *what, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end || errno || v < lo || v > hi)
		return refuse(cmd, opt, arg, what);
	*out = v;
	return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *arg,
		  uint64_t lo, uint64_t hi, const char *what, uint64_t *out)
{
	char *end, range[64];
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (end == arg || *end || errno || *arg == '-' || v < lo || v > hi) {
		if (!what) {
			snprintf(range, sizeof(range), "an integer %llu..%llu",
				 (unsigned long long)lo, (unsigned long long)hi);
			what = range;
		}
		return refuse(cmd, opt, arg, what);
	}
	*out = v;
	return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *arg,
		     double lo, double hi, const char *what, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || !(v > lo && v < hi))
		return refuse(cmd, opt, arg, what);
	*out = v;
	return 0;
}

int cli_time_ns(const char *s, uint64_t bare_ns, uint64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || *s == '-')
		return -1;
	double mul;
	if (!*end) {
		if (!bare_ns)
			return -1;
		mul = (double)bare_ns;
	} else if (!strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "us") || !strcmp(end, "\xc2\xb5s"))
		mul = 1e3;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "s"))
		mul = 1e9;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60e9;
	else
		return -1;
	double t = v * mul + 0.5;
	if (t >= 18e18)
		return -1;
	*ns = (uint64_t)t;
	return 0;
}

static const char *unit_name(uint64_t bare_ns)
{
	switch (bare_ns) {
	case CLI_NS: return "nanoseconds";
	case CLI_US: return "microseconds";
	case CLI_MS: return "milliseconds";
	case CLI_S: return "seconds";
	default: return NULL;
	}
}

int cli_parse_time(const char *cmd, const char *opt, const char *arg,
		   uint64_t bare_ns, uint64_t lo_ns, uint64_t hi_ns,
		   uint64_t *ns)
{
	uint64_t v;
	if (cli_time_ns(arg, bare_ns, &v) || v < lo_ns || v > hi_ns) {
		char what[160];
		const char *u = unit_name(bare_ns);
		if (!bare_ns && !cli_time_ns(arg, CLI_S, &v))
			snprintf(what, sizeof(what), "a time with its unit (500us, "
				 "10ms, 1.5s)");
		else
			snprintf(what, sizeof(what), "a time like 500us, 10ms or "
				 "1.5s%s%s%s", u ? " (a bare number: " : "",
				 u ? u : "", u ? ")" : "");
		if (lo_ns || hi_ns != UINT64_MAX) {
			size_t n = strlen(what);
			snprintf(what + n, sizeof(what) - n, ", %s%.9g s..%.9g s",
				 n ? "within " : "", (double)lo_ns / 1e9,
				 (double)hi_ns / 1e9);
		}
		return refuse(cmd, opt, arg, what);
	}
	*ns = v;
	return 0;
}

int cli_parse_gil_interval(const char *cmd, int us_form, const char *arg,
			   uint64_t *us)
{
	uint64_t ns;
	if (cli_parse_time(cmd, us_form ? "--interval-us" : "--interval", arg,
			   us_form ? CLI_US : CLI_S, CLI_US, 10 * CLI_S, &ns))
		return -1;
	*us = ns / 1000;
	return 0;
}

int cli_parse_seconds(const char *cmd, const char *opt, const char *arg,
		      int zero_ok, double hi_s, double *secs)
{
	uint64_t ns;
	if (cli_time_ns(arg, CLI_S, &ns) || (!ns && !zero_ok) ||
	    (double)ns / 1e9 > hi_s) {
		char what[128];
		snprintf(what, sizeof(what), "%s time like 500ms, 1.5s or 2 "
			 "(seconds)%s", zero_ok ? "a" : "a positive",
			 hi_s < 1e12 ? ", at most" : "");
		if (hi_s < 1e12) {
			size_t n = strlen(what);
			snprintf(what + n, sizeof(what) - n, " %g s", hi_s);
		}
		return refuse(cmd, opt, arg, what);
	}
	*secs = (double)ns / 1e9;
	return 0;
}

int cli_parse_pid(const char *cmd, const char *opt, const char *arg,
		  pid_t *pid)
{
	long v;
	if (cli_parse_long(cmd, opt, arg, 1, INT_MAX, "a process id", &v))
		return -1;
	*pid = (pid_t)v;
	return 0;
}

int cli_parse_window(const char *cmd, const char *opt, const char *arg,
		     uint64_t bare_ns, uint64_t *from, uint64_t *to,
		     int *has_from, int *has_to)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", arg);
	char *colon = strchr(buf, ':');
	if (!colon || strlen(arg) >= sizeof(buf))
		return refuse(cmd, opt, arg, "FROM:TO, e.g. 1s:2s or :500ms "
			      "(either side may be empty)");
	*colon = 0;
	uint64_t f = 0, t = 0;
	if ((buf[0] && cli_time_ns(buf, bare_ns, &f)) ||
	    (colon[1] && cli_time_ns(colon + 1, bare_ns, &t)))
		return refuse(cmd, opt, arg, "FROM:TO with times like 500us, "
			      "10ms or 1.5s, e.g. 1s:2s or :500ms");
	if (buf[0]) {
		*from = f;
		*has_from = 1;
	}
	if (colon[1]) {
		*to = t;
		*has_to = 1;
	}
	return 0;
}

int cli_renamed_option(const char *cmd, const struct cli_renamed *r)
{
	fprintf(stderr, "gilscope %s: -%c no longer means %s (one meaning per "
		"letter across gilscope: docs/cli.md); write %s\n", cmd,
		r->old_short, r->was, r->now);
	return 2;
}

int cli_bad_option(const char *cmd, char **argv, const struct option *longopts,
		   const struct cli_renamed *renamed)
{
	const char *arg = argv[optind - 1];
	if (optopt) {
		for (const struct cli_renamed *r = renamed; r && r->old_short; r++)
			if (r->old_short == optopt)
				return cli_renamed_option(cmd, r);
		int takes = 0;
		for (const struct option *o = longopts; o && o->name; o++)
			if (o->val == optopt && o->has_arg == required_argument)
				takes = 1;
		if (takes)
			fprintf(stderr, "gilscope %s: -%c needs a value\n", cmd,
				optopt);
		else
			fprintf(stderr, "gilscope %s: unknown option -%c\n", cmd,
				optopt);
	} else if (arg && !strncmp(arg, "--", 2)) {
		char name[64];
		snprintf(name, sizeof(name), "%s", arg + 2);
		char *eq = strchr(name, '=');
		if (eq)
			*eq = 0;
		const char *names[128];
		size_t n = 0, exact = 0;
		for (const struct option *o = longopts; o && o->name && n < 128; o++) {
			names[n++] = o->name;
			if (!strcmp(o->name, name))
				exact = o->has_arg == required_argument ? 1 : 2;
		}
		if (exact == 1)
			fprintf(stderr, "gilscope %s: --%s needs a value\n", cmd, name);
		else if (exact == 2)
			fprintf(stderr, "gilscope %s: --%s takes no value\n", cmd, name);
		else {
			const char *near = cli_suggest(name, names, n);
			fprintf(stderr, "gilscope %s: unknown option --%s", cmd, name);
			if (near)
				fprintf(stderr, "; did you mean --%s?", near);
			fputc('\n', stderr);
		}
	} else {
		fprintf(stderr, "gilscope %s: bad option '%s'\n", cmd, arg ? arg : "");
	}
	fprintf(stderr, "Try 'gilscope %s --help'.\n", cmd);
	return 2;
}
