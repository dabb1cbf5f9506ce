/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "stale_probes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const tracefs_dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };

static int owner_dead(unsigned long pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%lu", pid);
	return stat(p, &st) != 0 && errno == ENOENT;
}

int gs_reap_stale_probes(const char *prog)
{
	for (size_t d = 0; d < sizeof(tracefs_dirs) / sizeof(tracefs_dirs[0]); d++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/uprobe_events", tracefs_dirs[d]);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		/* "p:uprobes/libbpf_1234_..._0x1a2b /lib/x.so:0x1a2b" */
		char line[4096], *stale[256];
		size_t n = 0;
		while (n < 256 && fgets(line, sizeof(line), f)) {
			char *ev = strchr(line, ':');
			if (!ev || (line[0] != 'p' && line[0] != 'r'))
				continue;
			ev++;
			ev[strcspn(ev, " \n")] = 0;
			const char *name = strchr(ev, '/');
			char *end;
			if (!name || strncmp(name + 1, "libbpf_", 7) != 0)
				continue;
			unsigned long pid = strtoul(name + 8, &end, 10);
			if (end == name + 8 || *end != '_' || !owner_dead(pid))
				continue;
			stale[n++] = strdup(ev);
		}
		fclose(f);
		int removed = 0;
		for (size_t i = 0; i < n; i++) {
			if (!stale[i])
				continue;
			/* one write() per command: tracefs parses each write */
			char cmd[4200];
			int len = snprintf(cmd, sizeof(cmd), "-:%s\n", stale[i]);
			int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (fd >= 0 && write(fd, cmd, (size_t)len) == len)
				removed++;
			else if (errno != ENOENT) /* ENOENT: another run removed it */
				fprintf(stderr, "%s: could not remove the stale uprobe "
					"event %s: %s\n", prog, stale[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			free(stale[i]);
		}
		if (removed)
			fprintf(stderr, "%s: removed %d uprobe event(s) libbpf left "
				"in %s for tools killed before their clean-up\n",
				prog, removed, path);
		return removed;
	}
	return 0;
}
