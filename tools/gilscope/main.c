/* SPDX-License-Identifier: MIT */
/* gilscope: see what a global interpreter lock does. Dispatches to the
 * subcommands in cmd_*.c; `gilscope help CMD` is `gilscope CMD --help`. */
#include <stdio.h>
#include <string.h>

#include "cli_suggest.h"
#include "output_check.h"
#include "commands.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *enable;
};

static const struct command commands[] = {
#define GS_X_ENTRY(name, fn, summary, enable) { #name, fn, summary, enable },
	GILSCOPE_COMMANDS(GS_X_ENTRY)
#undef GS_X_ENTRY
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gilscope COMMAND [OPTIONS]\n"
		"       gilscope help COMMAND\n\n"
		"See exactly what a global interpreter lock does: who held it, who\n"
		"waited, which handoffs failed, what the I/O convoy and priority\n"
		"inversion cost.\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s%s\n", commands[i].name, commands[i].summary,
			commands[i].fn ? "" : " (not in this build)");
	fprintf(out, "\nRun 'gilscope COMMAND --help' for a command's options; every\n"
		     "option, the letters shared by all commands and the exit\n"
		     "statuses: docs/cli.md.\n"
		     "Documentation: docs/ (start with docs/README.md).\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("gilscope %s\n", GILSCOPE_VERSION);
		return 0;
	}
	char *help_argv[3];
	if (!strcmp(name, "help")) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		help_argv[0] = argv[2];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		name = argv[2];
		argv = help_argv;
		argc = 2;
	} else {
		argv++;
		argc--;
	}
	const struct command *c = find(name);
	if (!c) {
		const char *names[NCOMMANDS + 1];
		for (size_t i = 0; i < NCOMMANDS; i++)
			names[i] = commands[i].name;
		names[NCOMMANDS] = "help";
		const char *near = cli_suggest(name, names, NCOMMANDS + 1);
		if (near) {
			fprintf(stderr, "gilscope: unknown command '%s'; did you mean "
				"'%s'?\nTry 'gilscope %s --help'.\n", name, near,
				near);
			return 2;
		}
		fprintf(stderr, "gilscope: unknown command '%s'\n\n", name);
		usage(stderr);
		return 2;
	}
	if (!c->fn) {
		fprintf(stderr,
			"gilscope: '%s' is not in this build%s%s\n", c->name,
			*c->enable ? "; reconfigure with " : "", c->enable);
		return 2;
	}
	int rc = c->fn(argc, argv);
	/* A report that did not reach its reader is a failure (stdout on a
	 * full disk, /dev/full): every command's standard output ends here. */
	char prog[64];
	snprintf(prog, sizeof(prog), "gilscope %s", c->name);
	if (gs_output_close(stdout, prog, "standard output") != 0 && rc == 0)
		rc = 1;
	return rc;
}
