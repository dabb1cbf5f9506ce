/* SPDX-License-Identifier: MIT */
/*
 * Small /proc readers shared by the tracers: a thread's name and the list of
 * a process's threads, read while the target runs (its threads may be gone
 * by the time a trace is written or a line printed).
 */
#ifndef GILSCOPE_PROCFS_H
#define GILSCOPE_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* /proc/PID/task/TID/comm without its newline (TID 0: /proc/PID/comm).
 * Returns 0, or -1 with out empty when it cannot be read or is empty. */
int gs_proc_comm(uint32_t pid, uint32_t tid, char *out, size_t len);

/* gs_proc_comm(), or "tid-TID" when the thread's name cannot be read. */
void gs_proc_thread_name(uint32_t pid, uint32_t tid, char *out, size_t len);

/* Calls fn(tid, arg) for every thread of PID now (/proc/PID/task).
 * Returns 0, or -1 when the process cannot be listed (gone, no access). */
int gs_proc_each_task(uint32_t pid, void (*fn)(uint32_t tid, void *arg),
		      void *arg);

/* The CPU time (user + system) PID has used so far, all its threads, live
 * and exited (/proc/PID/stat utime + stime; clock-tick resolution, 10 ms
 * at USER_HZ 100; readable while the process is a zombie too). Returns 0,
 * or -1 when it cannot be read. */
int gs_proc_cpu_ns(uint32_t pid, uint64_t *ns);
/* The same, split: user time (utime) and system time (stime). The kernel
 * samples which of the two a tick lands in and scales both so that they
 * add up to the precise total (CONFIG_TICK_CPU_ACCOUNTING). */
int gs_proc_cpu_split_ns(uint32_t pid, uint64_t *user_ns, uint64_t *sys_ns);
/* The CPU PID's main thread last ran on (field 39, processor), -1 when
 * unknown. */
int gs_proc_last_cpu(uint32_t pid);

#endif
