/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "execfollow.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRACEES 256

struct tracee {
	pid_t pid;
	int stopped;            /* in a ptrace stop we have not resumed */
	int pending_sig;        /* signal to deliver when it goes on */
};

struct follow {
	struct tracee t[MAX_TRACEES];
	int n;
};

static struct tracee *find(struct follow *fl, pid_t pid, int add)
{
	for (int i = 0; i < fl->n; i++)
		if (fl->t[i].pid == pid)
			return &fl->t[i];
	if (!add || fl->n >= MAX_TRACEES)
		return NULL;
	struct tracee *t = &fl->t[fl->n++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	return t;
}

static void drop(struct follow *fl, pid_t pid)
{
	for (int i = 0; i < fl->n; i++)
		if (fl->t[i].pid == pid) {
			fl->t[i] = fl->t[--fl->n];
			return;
		}
}

/* Lets every tracee but keep go: stopped ones at once, running ones after
 * PTRACE_INTERRUPT brings them to a stop. */
static void let_go(struct follow *fl, pid_t keep)
{
	for (int i = 0; i < fl->n; i++) {
		struct tracee *t = &fl->t[i];
		if (t->pid == keep)
			continue;
		if (!t->stopped && ptrace(PTRACE_INTERRUPT, t->pid, 0, 0) == 0) {
			int st;
			for (;;) {
				pid_t r = waitpid(t->pid, &st, __WALL);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st))
					goto next;
				if (WIFSTOPPED(st)) {
					int event = (unsigned)st >> 16;
					int sig = WSTOPSIG(st);
					/* a signal caught on the way is delivered */
					t->pending_sig = event == 0 && sig != SIGTRAP ? sig : 0;
					break;
				}
			}
		}
		ptrace(PTRACE_DETACH, t->pid, 0, (void *)(long)t->pending_sig);
next:;
	}
	fl->n = 0;
}

static void note_seen(struct gs_exec_follow *f, const char *exe)
{
	size_t used = strlen(f->seen);
	if (strstr(f->seen, exe))
		return;
	if (used + strlen(exe) + 3 < sizeof(f->seen))
		snprintf(f->seen + used, sizeof(f->seen) - used, "%s%s",
			 used ? ", " : "", exe);
}

/* The exec'd image of pid: a GIL program (1), not one (0), or a CPython
 * whose GIL cannot be found (-1, msg says why). */
static int check_exec(struct gs_exec_follow *f, pid_t pid, struct gs_target *t,
		      int verbose, const char *prog, char *msg, size_t msglen)
{
	char why[2048];
	char link[64], exe[PATH_MAX], path[PATH_MAX + 64];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	note_seen(f, exe);
	/* the program as it was exec'd: by its own name when that is the same
	 * file here, else through its root (another mount namespace) */
	struct stat here, there;
	if (stat(link, &there))
		return 0;
	if (!stat(exe, &here) && here.st_ino == there.st_ino &&
	    here.st_dev == there.st_dev)
		snprintf(path, sizeof(path), "%s", exe);
	else
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, exe);
	int r = gs_target_from_exe(path, t, why, sizeof(why));
	if (r == -EPROTO)
		snprintf(msg, msglen, "%s", why);
	if (verbose)
		fprintf(stderr, "%s: PID %d exec'd %s: %s\n", prog, (int)pid, exe,
			!r ? "a GIL program, tracing it"
			: r == -EPROTO ? "a CPython whose GIL is not found"
				       : "no GIL, following");
	if (!r)
		return 1;
	return r == -EPROTO ? -1 : 0;
}

int gs_exec_follow(struct gs_exec_follow *f, pid_t child, int gate_fd,
		   struct gs_target *t, int verbose, const char *prog,
		   char *msg, size_t msglen)
{
	struct follow *fl = calloc(1, sizeof(*fl));
	if (!fl) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->child = child;
	if (msglen)
		msg[0] = 0;
	const long opts = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	if (ptrace(PTRACE_SEIZE, child, 0, (void *)opts)) {
		free(fl);
		return -2;
	}
	find(fl, child, 1);
	char c = 'g';
	if (write(gate_fd, &c, 1) != 1) {
		snprintf(msg, msglen, "could not start the command: %s", strerror(errno));
		let_go(fl, 0);
		free(fl);
		return -1;
	}
	int rc = -1;
	while (fl->n) {
		int st;
		pid_t pid = waitpid(-1, &st, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			drop(fl, pid);
			if (pid == child) {
				f->child_exited = 1;
				f->child_status = st;
				break;
			}
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		struct tracee *tr = find(fl, pid, 1);
		int event = (unsigned)st >> 16, sig = WSTOPSIG(st);
		if (tr)
			tr->stopped = 1;
		if (event == PTRACE_EVENT_EXEC) {
			int found = check_exec(f, pid, t, verbose, prog, msg, msglen);
			if (found) {
				f->target = pid;
				let_go(fl, pid);
				if (found > 0)
					rc = 0;
				else
					ptrace(PTRACE_DETACH, pid, 0, 0);
				break;
			}
			sig = 0;
		} else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
			unsigned long kid;
			if (!ptrace(PTRACE_GETEVENTMSG, pid, 0, &kid))
				find(fl, (pid_t)kid, 1);
			sig = 0;
		} else if (event == PTRACE_EVENT_STOP) {
			/* a group stop (SIGSTOP...) stays a stop; the first
			 * stop of an auto-attached child just goes on */
			if (sig != SIGTRAP) {
				ptrace(PTRACE_LISTEN, pid, 0, 0);
				if (tr)
					tr->stopped = 0;
				continue;
			}
			sig = 0;
		}
		/* a signal-delivery stop passes its signal on */
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
		if (tr)
			tr->stopped = 0;
	}
	if (rc && !msg[0])
		snprintf(msg, msglen, "no GIL found: the command %s without "
			 "exec'ing a CPython or libgil program (programs it ran: %s)",
			 f->child_exited ? "exited" : "went on",
			 f->seen[0] ? f->seen : "none");
	if (rc)
		let_go(fl, 0);
	free(fl);
	return rc;
}

void gs_exec_follow_release(struct gs_exec_follow *f)
{
	if (f->target > 0) {
		ptrace(PTRACE_DETACH, f->target, 0, 0);
		f->target = 0;
	}
}
