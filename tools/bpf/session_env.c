/* SPDX-License-Identifier: MIT */
/* Can this process trace at all: privileges and the kernel's BTF. */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* CapEff bit test: root without the capability (containers) counts as not. */
static int have_cap(int cap)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long eff = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> cap) & 1;
}

int gs_session_check_environment(const struct gs_session_opts *o)
{
	const int CAP_SYS_ADMIN_ = 21, CAP_PERFMON_ = 38, CAP_BPF_ = 39;
	if (!have_cap(CAP_SYS_ADMIN_) &&
	    !(have_cap(CAP_BPF_) && have_cap(CAP_PERFMON_))) {
		fprintf(stderr,
			"%s: needs root, or CAP_BPF and CAP_PERFMON (to load BPF "
			"programs and attach uprobes); run it with sudo\n",
			o->prog);
		return 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr,
			"%s: /sys/kernel/btf/vmlinux: %s: this kernel has no BTF, which "
			"the CO-RE programs need (a kernel built with "
			"CONFIG_DEBUG_INFO_BTF=y)\n",
			o->prog, strerror(errno));
		return 1;
	}
	return 0;
}
