/* SPDX-License-Identifier: MIT */
/*
 * io: N threads mixing interpreter work with real I/O, beside K CPU-bound
 * threads. Each I/O thread loops:
 *
 *   CPU work (--io-cpu-units, with eval-breaker checks)
 *   pwrite one block to its own file in a temp dir     (blocking region)
 *   fsync every --fsync-every writes                    (blocking region)
 *   pread the block back                                (blocking region)
 *   write one message into a pipe to the next I/O thread (blocking region)
 *   read one message from the previous thread's pipe     (blocking region)
 *
 * The pipes form a ring, so every thread both feeds and waits for another:
 * the waits are real blocking reads, as in a producer/consumer program.
 * Files are rewritten in place past 16 MiB, and removed at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "scenario_internal.h"

#define IO_FILE_WRAP (16u << 20)

struct io_ctx {
	struct gs_phase ph;
	const struct gs_scenario_opts *o;
	char dir[PATH_MAX];
	unsigned n;
	int (*pipes)[2];
	_Atomic uint64_t cpu_units_total;
	_Atomic int error;
	char errmsg[256];
	pthread_mutex_t errlock;
};

struct io_worker {
	struct io_ctx *c;
	unsigned idx;
};

static void io_fail(struct io_ctx *c, const char *what, int e)
{
	pthread_mutex_lock(&c->errlock);
	if (!atomic_load(&c->error)) {
		snprintf(c->errmsg, sizeof(c->errmsg), "io: %s: %s", what,
			 strerror(e));
		atomic_store(&c->error, e);
	}
	pthread_mutex_unlock(&c->errlock);
	atomic_store(&c->ph.stop, 1);
}

/* Moves len bytes through a non-blocking pipe end, polling so a stop is
 * seen within 50 ms. 1 done, 0 stopped, -1 error. */
static int pipe_xfer(struct io_ctx *c, int fd, char *buf, size_t len,
		     int is_write)
{
	size_t off = 0;
	while (off < len) {
		if (gs_phase_stopping(&c->ph))
			return 0;
		ssize_t r = is_write ? write(fd, buf + off, len - off)
				     : read(fd, buf + off, len - off);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		struct pollfd p = { .fd = fd, .events = is_write ? POLLOUT : POLLIN };
		poll(&p, 1, 50);
	}
	return 1;
}

static void *io_main(void *arg)
{
	struct io_worker *w = arg;
	struct io_ctx *c = w->c;
	const struct gs_scenario_opts *o = c->o;
	char path[PATH_MAX + 32], name[32];
	snprintf(path, sizeof(path), "%s/io-%u.dat", c->dir, w->idx);
	snprintf(name, sizeof(name), "io-%u", w->idx);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		io_fail(c, path, errno);
		return NULL;
	}
	char *buf = malloc(o->io_size);
	if (!buf) {
		close(fd);
		io_fail(c, "malloc", ENOMEM);
		return NULL;
	}
	memset(buf, 'g' + (int)w->idx, o->io_size);
	size_t pmsg = o->io_size < PIPE_BUF ? o->io_size : PIPE_BUF;
	int out = c->pipes[w->idx][1];
	int in = c->pipes[(w->idx + c->n - 1) % c->n][0];

	gil_thread *t = gil_attach(c->ph.rt, name, GIL_ROLE_IO, 0);
	if (!t) {
		free(buf);
		close(fd);
		io_fail(c, "gil_attach", errno ? errno : ENOMEM);
		return NULL;
	}
	struct gs_thread_result tr = { .role = GIL_ROLE_IO };
	uint64_t t0 = gs_now_ns(), s = w->idx + 13;
	off_t off = 0;
	unsigned writes = 0;
	while (!gs_phase_stopping(&c->ph)) {
		s = gs_work(t, o->io_cpu_units, s);
		tr.work_units += o->io_cpu_units;

		gil_blocking_begin(t, GIL_BLOCK_WRITE);
		ssize_t r = pwrite(fd, buf, o->io_size, off);
		int e = errno;
		gil_blocking_end(t, r > 0 ? (size_t)r : 0);
		if (r != (ssize_t)o->io_size) {
			io_fail(c, "pwrite", r < 0 ? e : EIO);
			break;
		}
		tr.ops++;
		tr.bytes_written += (uint64_t)r;

		if (o->fsync_every && ++writes % o->fsync_every == 0) {
			gil_blocking_begin(t, GIL_BLOCK_FSYNC);
			int fr = fsync(fd);
			e = errno;
			gil_blocking_end(t, 0);
			if (fr) {
				io_fail(c, "fsync", e);
				break;
			}
			tr.ops++;
		}

		gil_blocking_begin(t, GIL_BLOCK_READ);
		r = pread(fd, buf, o->io_size, off);
		e = errno;
		gil_blocking_end(t, r > 0 ? (size_t)r : 0);
		if (r != (ssize_t)o->io_size) {
			io_fail(c, "pread", r < 0 ? e : EIO);
			break;
		}
		tr.ops++;
		tr.bytes_read += (uint64_t)r;
		off += o->io_size;
		if (off + (off_t)o->io_size > (off_t)IO_FILE_WRAP)
			off = 0;

		gil_blocking_begin(t, GIL_BLOCK_WRITE);
		int pr = pipe_xfer(c, out, buf, pmsg, 1);
		e = errno;
		gil_blocking_end(t, pr > 0 ? pmsg : 0);
		if (pr <= 0) {
			if (pr < 0)
				io_fail(c, "pipe write", e);
			break;
		}
		tr.ops++;
		tr.bytes_written += pmsg;

		gil_blocking_begin(t, GIL_BLOCK_READ);
		pr = pipe_xfer(c, in, buf, pmsg, 0);
		e = errno;
		gil_blocking_end(t, pr > 0 ? pmsg : 0);
		if (pr <= 0) {
			if (pr < 0)
				io_fail(c, "pipe read", e);
			break;
		}
		tr.ops++;
		tr.bytes_read += pmsg;
	}
	tr.active_s = (double)(gs_now_ns() - t0) / 1e9;
	gs_phase_thread_done(&c->ph, t, &tr);
	gil_detach(t);
	free(buf);
	close(fd);
	unlink(path);
	return NULL;
}

static void *cpu_main(void *arg)
{
	struct io_worker *w = arg;
	struct io_ctx *c = w->c;
	char name[32];
	snprintf(name, sizeof(name), "cpu-%u", w->idx);
	gil_thread *t = gil_attach(c->ph.rt, name, GIL_ROLE_CPU, 0);
	if (!t)
		return NULL;
	gs_cpu_work_loop(&c->ph, t, w->idx + 17, NULL, &c->cpu_units_total);
	gil_detach(t);
	return NULL;
}

int gs_io_run(const struct gs_scenario_opts *o, struct gs_scenario_result *r,
	      char *err, size_t errlen)
{
	if (o->threads < 1 || o->io_size < 1 || o->io_size > (1u << 20)) {
		gs_errf(err, errlen, "io needs --threads >= 1 and --io-size "
				     "1..1048576");
		errno = EINVAL;
		return -1;
	}
	struct io_ctx c;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.n = o->threads;
	pthread_mutex_init(&c.errlock, NULL);
	const char *base = o->dir ? o->dir : getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(c.dir, sizeof(c.dir), "%s/gilscope-io.XXXXXX", base);
	if (!mkdtemp(c.dir)) {
		int e = errno;
		gs_errf(err, errlen, "cannot make a temp dir in %s: %s (use "
				     "--dir DIR)", base, strerror(e));
		pthread_mutex_destroy(&c.errlock);
		errno = e;
		return -1;
	}
	c.pipes = calloc(c.n, sizeof(*c.pipes));
	unsigned npipes = 0;
	int rc = 0;
	if (!c.pipes) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	for (; !rc && npipes < c.n; npipes++) {
		if (pipe2(c.pipes[npipes], O_CLOEXEC | O_NONBLOCK)) {
			int e = errno;
			gs_errf(err, errlen, "pipe2: %s", strerror(e));
			errno = e;
			rc = -1;
			break;
		}
	}
	r->io.threads = c.n;
	r->io.cpu_threads = o->cpu_threads;
	r->io.io_size = o->io_size;

	int began = 0;
	if (!rc) {
		rc = gs_phase_begin(&c.ph, o, 1, err, errlen);
		began = !rc;
	}
	unsigned total = c.n + o->cpu_threads;
	pthread_t *th = calloc(total ? total : 1, sizeof(*th));
	struct io_worker *w = calloc(total ? total : 1, sizeof(*w));
	unsigned nth = 0;
	uint64_t t0 = gs_now_ns();
	if (!rc && (!th || !w)) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	for (unsigned i = 0; !rc && i < total; i++) {
		w[i].c = &c;
		w[i].idx = i < c.n ? i : i - c.n;
		int e = gs_spawn(&th[nth], i < c.n ? io_main : cpu_main, &w[i]);
		if (e) {
			rc = gs_spawn_failed(err, errlen, e);
			break;
		}
		nth++;
	}
	if (!rc)
		gs_phase_wait(&c.ph, o->duration_s);
	atomic_store(&c.ph.stop, 1);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	double elapsed = (double)(gs_now_ns() - t0) / 1e9;
	if (!rc && atomic_load(&c.error)) {
		gs_errf(err, errlen, "%s", c.errmsg);
		errno = atomic_load(&c.error);
		rc = -1;
	}
	if (began && gs_phase_end(&c.ph, r, rc ? NULL : err, rc ? 0 : errlen))
		rc = -1;
	for (unsigned i = 0; i < npipes; i++) {
		close(c.pipes[i][0]);
		close(c.pipes[i][1]);
	}
	free(c.pipes);
	free(th);
	free(w);
	rmdir(c.dir);
	pthread_mutex_destroy(&c.errlock);
	if (rc)
		return -1;
	r->io.duration_s = elapsed;
	for (unsigned i = 0; i < r->nthreads; i++) {
		const struct gs_thread_result *t = &r->threads[i];
		if (t->role != GIL_ROLE_IO)
			continue;
		r->io.ops += t->ops;
		r->io.bytes_read += t->bytes_read;
		r->io.bytes_written += t->bytes_written;
	}
	r->io.cpu_work_per_s = elapsed > 0
		? (double)atomic_load(&c.cpu_units_total) / elapsed : 0;
	return 0;
}
