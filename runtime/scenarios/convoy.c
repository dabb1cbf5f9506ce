/* SPDX-License-Identifier: MIT */
/*
 * convoy: bpo-7946. An echo server attached to the GIL answers small
 * requests over a real TCP connection on 127.0.0.1; every recv and send is
 * a blocking region (Py_BEGIN_ALLOW_THREADS), so each one gives the GIL up
 * and must take it back. A client that does not use the GIL measures
 * round trips per second. K CPU-bound threads share the GIL with the
 * server.
 *
 * Phases, each with a fresh runtime and listening socket:
 *   solo     no CPU threads                         -> solo_rps
 *   policy   K CPU threads attached (traced)        -> rps, cpu_work_per_s
 *   ceiling  the same K threads detached from the GIL -> ceiling_rps
 * The ceiling is what the machine gives when the CPU threads compete for
 * cores only, not for the GIL: no GIL policy can beat it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "clock.h"
#include "scenario_internal.h"

struct cv_phase {
	struct gs_phase ph;
	const struct gs_scenario_opts *o;
	int lfd;
	struct sockaddr_in addr;
	unsigned k;
	int cpu_attached;
	_Atomic int cpu_ready;
	_Atomic uint64_t *cpu_units; /* per CPU thread, published every 256 */

	/* Client results. */
	int client_error;
	char client_err[160];
	uint64_t requests;
	double window_s;
	uint64_t cpu_units_window;

	/* With --client-cmd the server counts, as echo_convoy.py's does:
	 * from its first reply to its last. */
	uint64_t first_reply_ns, last_reply_ns, replies, units_at_first,
		units_at_last;
};

struct cv_cpu {
	struct cv_phase *cp;
	unsigned idx;
};

static uint64_t cpu_units_sum(struct cv_phase *cp)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < cp->k; i++)
		s += atomic_load_explicit(&cp->cpu_units[i], memory_order_relaxed);
	return s;
}

/* The OS thread's name (comm): what perf sched, bpftrace and top show,
 * the same names bench/python/echo_convoy.py gives its threads. */
static void name_os_thread(const char *name)
{
	prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
}

static void *cpu_main(void *arg)
{
	struct cv_cpu *c = arg;
	struct cv_phase *cp = c->cp;
	gil_thread *t = NULL;
	char name[16];
	snprintf(name, sizeof(name), "cpu-%u", c->idx);
	name_os_thread(name);
	if (cp->cpu_attached) {
		t = gil_attach(cp->ph.rt, name, GIL_ROLE_CPU, 0);
		if (!t)
			return NULL;
	}
	atomic_fetch_add(&cp->cpu_ready, 1);
	gs_cpu_work_loop(&cp->ph, t, c->idx + 7, &cp->cpu_units[c->idx], NULL);
	if (t)
		gil_detach(t);
	return NULL;
}

struct cv_io {
	int fd;
	char *buf;
	size_t len;
	int is_send;
};

static ssize_t cv_io_call(void *arg, int nonblocking)
{
	struct cv_io *io = arg;
	int fl = nonblocking ? MSG_DONTWAIT : 0;
	ssize_t r;
	do
		r = io->is_send ? send(io->fd, io->buf, io->len, fl | MSG_NOSIGNAL)
				: recv(io->fd, io->buf, io->len, fl);
	while (r < 0 && errno == EINTR);
	return r;
}

/* One socket call, released around like CPython's sock_call(). */
static ssize_t cv_xfer(gil_thread *t, int nonblocking_first, struct cv_io *io)
{
	enum gil_block_kind kind = io->is_send ? GIL_BLOCK_SEND : GIL_BLOCK_RECV;
	if (nonblocking_first)
		return gil_call_maybe_blocking(t, kind, cv_io_call, io);
	gil_blocking_begin(t, kind);
	ssize_t r = cv_io_call(io, 0);
	int e = errno;
	gil_blocking_end(t, r > 0 ? (size_t)r : 0);
	errno = e;
	return r;
}

/* recv or send exactly len bytes: 1, 0 at EOF, -1 on error. */
static int cv_full(gil_thread *t, int nbfirst, int fd, char *buf, size_t len,
		   int is_send, uint64_t *bytes)
{
	size_t off = 0;
	while (off < len) {
		struct cv_io io = { fd, buf + off, len - off, is_send };
		ssize_t r = cv_xfer(t, nbfirst, &io);
		if (r <= 0)
			return r == 0 ? 0 : -1;
		off += (size_t)r;
		*bytes += (uint64_t)r;
	}
	return 1;
}

static void *server_main(void *arg)
{
	struct cv_phase *cp = arg;
	const struct gs_scenario_opts *o = cp->o;
	name_os_thread("echo-server");
	gil_thread *t = gil_attach(cp->ph.rt, "echo-server", GIL_ROLE_SERVER, 0);
	if (!t)
		return NULL;
	uint64_t t0 = gs_now_ns();
	struct gs_thread_result tr = { .role = GIL_ROLE_SERVER };

	/* Only the phase's own stop ends the accept wait: the client always
	 * connects unless it failed, and then it sets that stop itself. */
	int fd = -1;
	gil_blocking_begin(t, GIL_BLOCK_ACCEPT);
	while (!atomic_load(&cp->ph.stop)) {
		struct pollfd p = { .fd = cp->lfd, .events = POLLIN };
		if (poll(&p, 1, 50) > 0) {
			fd = accept4(cp->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 || (errno != EINTR && errno != EAGAIN))
				break;
		}
	}
	gil_blocking_end(t, 0);

	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		char *buf = malloc(o->msg_size);
		uint64_t s = 3;
		while (buf) {
			/* code locations: where reports say the server waited
			 * (here, after its recv) and what it held the GIL for */
			GIL_SET_CODE_LOCATION();
			if (cv_full(t, o->nonblocking_first, fd, buf, o->msg_size,
				    0, &tr.bytes_read) <= 0)
				break;
			/* Handling the request is interpreter work. */
			GIL_SET_CODE_LOCATION();
			s = gs_work(t, o->server_units, s);
			tr.work_units += o->server_units;
			GIL_SET_CODE_LOCATION();
			if (cv_full(t, o->nonblocking_first, fd, buf, o->msg_size,
				    1, &tr.bytes_written) <= 0)
				break;
			tr.ops++;
			if (o->client_argv) {
				uint64_t now = gs_now_ns();
				if (!cp->replies++) {
					cp->first_reply_ns = now;
					cp->units_at_first = cpu_units_sum(cp);
				}
				cp->last_reply_ns = now;
				cp->units_at_last = cpu_units_sum(cp);
			}
		}
		free(buf);
		close(fd);
		if (o->client_argv && cp->replies > 1) {
			cp->requests = cp->replies - 1;
			cp->window_s = (double)(cp->last_reply_ns -
						cp->first_reply_ns) / 1e9;
			cp->cpu_units_window = cp->units_at_last -
					       cp->units_at_first;
		}
		/* the CPU threads end with the client's connection */
		if (o->client_argv)
			atomic_store(&cp->ph.stop, 1);
	}
	tr.active_s = (double)(gs_now_ns() - t0) / 1e9;
	gs_phase_thread_done(&cp->ph, t, &tr);
	gil_detach(t);
	return NULL;
}

static int raw_full(int fd, char *buf, size_t len, int is_send)
{
	size_t off = 0;
	while (off < len) {
		struct cv_io io = { fd, buf + off, len - off, is_send };
		ssize_t r = cv_io_call(&io, 0);
		if (r <= 0)
			return r == 0 ? 0 : -1;
		off += (size_t)r;
	}
	return 1;
}

static void client_fail(struct cv_phase *cp, const char *what)
{
	cp->client_error = errno ? errno : EIO;
	snprintf(cp->client_err, sizeof(cp->client_err), "convoy client: %s: %s",
		 what, strerror(cp->client_error));
}

static void *client_main(void *arg)
{
	struct cv_phase *cp = arg;
	const struct gs_scenario_opts *o = cp->o;
	name_os_thread("echo-client");
	char *buf = calloc(1, o->msg_size);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!buf || fd < 0) {
		client_fail(cp, "socket");
		goto out;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A safety net, not a measurement: a lost server must not hang us. */
	struct timeval tv = { .tv_sec = 30 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&cp->addr, sizeof(cp->addr)) != 0) {
		client_fail(cp, "connect to 127.0.0.1");
		goto out;
	}
	/* Measure only once every CPU thread competes. */
	while (atomic_load(&cp->cpu_ready) < (int)cp->k &&
	       !gs_scenario_stop_requested()) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	/* One warm-up round trip: the server has accepted after it. */
	if (!gs_scenario_stop_requested() &&
	    (raw_full(fd, buf, o->msg_size, 1) <= 0 ||
	     raw_full(fd, buf, o->msg_size, 0) <= 0)) {
		client_fail(cp, "warm-up round trip");
		goto out;
	}
	uint64_t t0 = gs_now_ns();
	uint64_t end = t0 + (uint64_t)(o->duration_s * 1e9);
	uint64_t u0 = cpu_units_sum(cp), n = 0, now = t0;
	/* The default 50 us timer slack would swamp a short think time. */
	if (o->client_think_us)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	struct timespec think = { (time_t)(o->client_think_us / 1000000),
				  (long)(o->client_think_us % 1000000) * 1000 };
	uint64_t cs = 5;
	while (!gs_scenario_stop_requested() && (now = gs_now_ns()) < end) {
		if (o->client_think_us)
			nanosleep(&think, NULL);
		/* The client's own processing, on a CPU like a real one's. */
		cs = gs_work(NULL, o->client_units, cs);
		memcpy(buf, &n, o->msg_size < sizeof(n) ? o->msg_size : sizeof(n));
		if (raw_full(fd, buf, o->msg_size, 1) <= 0 ||
		    raw_full(fd, buf, o->msg_size, 0) <= 0) {
			client_fail(cp, "round trip");
			break;
		}
		n++;
	}
	now = gs_now_ns();
	cp->cpu_units_window = cpu_units_sum(cp) - u0;
	cp->requests = n;
	cp->window_s = (double)(now - t0) / 1e9;
out:
	if (fd >= 0)
		close(fd); /* the server sees EOF and leaves */
	free(buf);
	atomic_store(&cp->ph.stop, 1);
	return NULL;
}

/* --client-cmd: CMD... PORT SECONDS MSG_SIZE THINK_US in a process of its
 * own (bench/python/echo_client.py's arguments), its stdout on our stderr
 * so that --json stays clean. */
static int spawn_client_cmd(struct cv_phase *cp, pid_t *pid, char *err,
			    size_t errlen)
{
	const struct gs_scenario_opts *o = cp->o;
	char port[8], secs[32], size[16], think[16];
	snprintf(port, sizeof(port), "%u", (unsigned)ntohs(cp->addr.sin_port));
	snprintf(secs, sizeof(secs), "%.9g", o->duration_s);
	snprintf(size, sizeof(size), "%u", o->msg_size);
	snprintf(think, sizeof(think), "%u", o->client_think_us);
	size_t n = 0;
	while (o->client_argv[n])
		n++;
	char **argv = calloc(n + 5, sizeof(*argv));
	if (!argv) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	memcpy(argv, o->client_argv, n * sizeof(*argv));
	argv[n] = port;
	argv[n + 1] = secs;
	argv[n + 2] = size;
	argv[n + 3] = think;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	int e = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	if (e) {
		gs_errf(err, errlen, "--client-cmd: cannot run %s: %s",
			o->client_argv[0], strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* Waits for the client process; a stop request (SIGINT) ends it. */
static int wait_client_cmd(struct cv_phase *cp, pid_t pid, char *err,
			   size_t errlen)
{
	int st = 0;
	pid_t r;
	int killed = 0;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		if (gs_scenario_stop_requested() && !killed++)
			kill(pid, SIGTERM);
	/* a client that never connected leaves the server in accept */
	atomic_store(&cp->ph.stop, 1);
	if (r < 0) {
		gs_errf(err, errlen, "--client-cmd: waitpid: %s", strerror(errno));
		return -1;
	}
	if (killed || gs_scenario_stop_requested())
		return 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		gs_errf(err, errlen, "--client-cmd %s %s %d", cp->o->client_argv[0],
			WIFEXITED(st) ? "exited with status" : "killed by signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		errno = EIO;
		return -1;
	}
	return 0;
}

static int listen_loopback(struct cv_phase *cp, char *err, size_t errlen)
{
	cp->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&cp->addr, 0, sizeof(cp->addr));
	cp->addr.sin_family = AF_INET;
	cp->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(cp->addr);
	if (cp->lfd < 0 ||
	    bind(cp->lfd, (struct sockaddr *)&cp->addr, sizeof(cp->addr)) ||
	    listen(cp->lfd, 4) ||
	    getsockname(cp->lfd, (struct sockaddr *)&cp->addr, &len)) {
		int e = errno;
		gs_errf(err, errlen, "listening socket on 127.0.0.1: %s",
			strerror(e));
		if (cp->lfd >= 0)
			close(cp->lfd);
		errno = e;
		return -1;
	}
	return 0;
}

struct cv_out {
	uint64_t requests;
	double rps, cpu_work_per_s;
};

static int convoy_phase(const struct gs_scenario_opts *o, unsigned k,
			int cpu_attached, int traced,
			struct gs_scenario_result *r, struct cv_out *out,
			char *err, size_t errlen)
{
	struct cv_phase cp;
	memset(&cp, 0, sizeof(cp));
	cp.o = o;
	cp.k = k;
	cp.cpu_attached = cpu_attached;
	if (listen_loopback(&cp, err, errlen))
		return -1;
	if (gs_phase_begin(&cp.ph, o, traced, err, errlen)) {
		close(cp.lfd);
		return -1;
	}
	cp.cpu_units = calloc(k ? k : 1, sizeof(*cp.cpu_units));
	struct cv_cpu *cpus = calloc(k ? k : 1, sizeof(*cpus));
	pthread_t *th = calloc(k + 2, sizeof(*th));
	int rc = 0, nth = 0;
	if (!cp.cpu_units || !cpus || !th) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	pid_t client_pid = -1;
	if (!rc && o->client_argv) {
		/* echo_convoy.py's order: the CPU threads run 0.1 s before the
		 * server starts, then the client process */
		int e = 0;
		for (unsigned i = 0; !e && i < k; i++) {
			cpus[i].cp = &cp;
			cpus[i].idx = i;
			e = gs_spawn_at(th, &nth, cpu_main, &cpus[i]);
		}
		if (!e && k) {
			struct timespec head = { 0, 100000000 };
			while (nanosleep(&head, &head) && errno == EINTR &&
			       !gs_scenario_stop_requested())
				;
		}
		if (!e)
			e = gs_spawn_at(th, &nth, server_main, &cp);
		if (e) {
			rc = gs_spawn_failed(err, errlen, e);
			atomic_store(&cp.ph.stop, 1);
		} else if (spawn_client_cmd(&cp, &client_pid, err, errlen)) {
			rc = -1;
			atomic_store(&cp.ph.stop, 1);
		} else if (wait_client_cmd(&cp, client_pid, err, errlen)) {
			rc = -1;
		}
	} else if (!rc) {
		int e = gs_spawn_at(th, &nth, server_main, &cp);
		for (unsigned i = 0; !e && i < k; i++) {
			cpus[i].cp = &cp;
			cpus[i].idx = i;
			e = gs_spawn_at(th, &nth, cpu_main, &cpus[i]);
		}
		if (!e)
			e = gs_spawn_at(th, &nth, client_main, &cp);
		if (e) {
			rc = gs_spawn_failed(err, errlen, e);
			/* Without a client nobody ends the phase: do it. */
			atomic_store(&cp.ph.stop, 1);
		}
	}
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (!rc && o->client_argv && !gs_scenario_stop_requested() &&
	    cp.replies < 2) {
		gs_errf(err, errlen, "--client-cmd %s: fewer than two round trips "
			"answered", o->client_argv[0]);
		errno = EIO;
		rc = -1;
	}
	close(cp.lfd);
	if (!rc && cp.client_error) {
		gs_errf(err, errlen, "%s", cp.client_err);
		errno = cp.client_error;
		rc = -1;
	}
	if (gs_phase_end(&cp.ph, traced ? r : NULL, rc ? NULL : err,
			 rc ? 0 : errlen))
		rc = -1;
	if (!rc) {
		out->requests = cp.requests;
		out->rps = cp.window_s > 0 ? (double)cp.requests / cp.window_s : 0;
		out->cpu_work_per_s = cp.window_s > 0
			? (double)cp.cpu_units_window / cp.window_s : 0;
	}
	free(cp.cpu_units);
	free(cpus);
	free(th);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of n values (sorts them). */
static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int gs_convoy_run(const struct gs_scenario_opts *o,
		  struct gs_scenario_result *r, char *err, size_t errlen)
{
	if (o->msg_size < 1 || o->msg_size > 65536) {
		gs_errf(err, errlen, "--msg-size must be 1..65536 bytes");
		errno = EINVAL;
		return -1;
	}
	if (o->client_argv && (!o->client_argv[0] || o->client_units)) {
		gs_errf(err, errlen, o->client_units
			? "--client-units is the client thread's work; a "
			  "--client-cmd program does its own"
			: "--client-cmd: no program");
		errno = EINVAL;
		return -1;
	}
	unsigned rounds = o->rounds ? o->rounds : 1;
	if (rounds > 1000) {
		gs_errf(err, errlen, "--rounds must be 1..1000");
		errno = EINVAL;
		return -1;
	}
	r->convoy.cpu_threads = o->cpu_threads;
	r->convoy.msg_size = o->msg_size;
	r->convoy.phase_s = o->duration_s;
	r->convoy.client_think_us = o->client_think_us;
	r->convoy.rounds = rounds;
	r->convoy.server_units = o->server_units;
	r->convoy.client_units = o->client_units;
	double *v = calloc(5 * (size_t)rounds, sizeof(*v));
	if (!v) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	double *solo_v = v, *pol_v = v + rounds, *ceil_v = v + 2 * rounds,
	       *work_v = v + 3 * rounds, *cwork_v = v + 4 * rounds;
	/* Rounds interleave the phases, so a load change on a shared machine
	 * hits all three alike; only the first policy phase is traced. */
	for (unsigned i = 0; i < rounds; i++) {
		struct cv_out solo = { 0 }, pol = { 0 }, ceil = { 0 };
		if (o->verbose)
			fprintf(stderr, "convoy: round %u: solo phase\n", i + 1);
		if (convoy_phase(o, 0, 1, 0, r, &solo, err, errlen))
			goto fail;
		if (o->verbose)
			fprintf(stderr, "convoy: round %u: policy phase, %u CPU "
				"threads%s\n", i + 1, o->cpu_threads,
				i == 0 ? " (traced)" : "");
		if (convoy_phase(o, o->cpu_threads, 1, i == 0, r, &pol, err,
				 errlen))
			goto fail;
		if (o->verbose)
			fprintf(stderr, "convoy: round %u: ceiling phase, CPU "
				"threads off the GIL\n", i + 1);
		if (convoy_phase(o, o->cpu_threads, 0, 0, r, &ceil, err, errlen))
			goto fail;
		solo_v[i] = solo.rps;
		pol_v[i] = pol.rps;
		ceil_v[i] = ceil.rps;
		work_v[i] = pol.cpu_work_per_s;
		cwork_v[i] = ceil.cpu_work_per_s;
		r->convoy.solo_requests += solo.requests;
		r->convoy.ceiling_requests += ceil.requests;
		if (i == 0)
			r->convoy.requests = pol.requests;
	}
	r->convoy.solo_rps = median(solo_v, rounds);
	r->convoy.rps = median(pol_v, rounds);
	r->convoy.ceiling_rps = median(ceil_v, rounds);
	r->convoy.cpu_work_per_s = median(work_v, rounds);
	r->convoy.ceiling_cpu_work_per_s = median(cwork_v, rounds);
	free(v);
	return 0;
fail:
	free(v);
	return -1;
}
