/* SPDX-License-Identifier: MIT */
/*
 * `-- CMD` when CMD is not the interpreter itself: a pyenv shim (bash that
 * execs the real python), `env python3`, a shell script wrapper. The
 * command's process tree is followed with ptrace (PTRACE_SEIZE with exec and
 * fork events, nothing else) until one of its processes execs a program
 * whose GIL we can find; that process is left in its exec stop, before its
 * first instruction, for the probes to go in, and every other process is let
 * go. A ptrace stop needs no help from us to end: if the recorder dies (even
 * by SIGKILL) the kernel detaches and the command runs on, untraced.
 */
#ifndef GILSCOPE_BPF_EXECFOLLOW_H
#define GILSCOPE_BPF_EXECFOLLOW_H

#include <stddef.h>
#include <sys/types.h>

#include "target.h"

struct gs_exec_follow {
	pid_t child;            /* the command's first process (ours) */
	pid_t target;           /* the process that exec'd the GIL program */
	int child_exited;       /* the child ended while we followed */
	int child_status;
	char seen[1024];        /* programs exec'd on the way, for messages */
};

/* Attaches to child (forked by us and waiting on gate_fd before its exec),
 * opens the gate, and follows until a GIL program is exec'd: 0 with t and
 * f->target set, target stopped; -1 with msg set (the tree is let go).
 * ptrace refused (a seccomp profile, Yama) returns -2 with nothing changed,
 * so the caller can fall back to resolving CMD before it runs. */
int gs_exec_follow(struct gs_exec_follow *f, pid_t child, int gate_fd,
		   struct gs_target *t, int verbose, const char *prog,
		   char *msg, size_t msglen);

/* Lets the target run (detaches from it). */
void gs_exec_follow_release(struct gs_exec_follow *f);

#endif
