/* SPDX-License-Identifier: MIT */
/* The gilscope subcommands. Each lives in its own cmd_NAME.c and is declared
 * weak here, so main.c can tell a subcommand configured out of this build. */
#ifndef GILSCOPE_COMMANDS_H
#define GILSCOPE_COMMANDS_H

/* X(name, function, one-line summary, what to enable when missing) */
#define GILSCOPE_COMMANDS(X)                                                   \
	X(run, cmd_run, "run a GIL scenario (countdown, convoy, priority, io)", "") \
	X(report, cmd_report, "analyse a trace: hold, wait, handoffs, convoy, inversion", "") \
	X(record, cmd_record, "record a libgil or CPython process with eBPF", "-DGILSCOPE_WITH_BPF=ON") \
	X(top, cmd_top, "live per-thread GIL view of a process (eBPF)", "-DGILSCOPE_WITH_BPF=ON") \
	X(exporter, cmd_exporter, "serve every process's GIL metrics to Prometheus (eBPF)", "-DGILSCOPE_WITH_BPF=ON") \
	X(export, cmd_export, "convert a trace to Chrome JSON or Perfetto", "") \
	X(bench, cmd_bench, "run the benchmarks of docs/performance.md", "") \
	X(replay, cmd_replay, "replay a recorded workload under another policy", "") \
	X(diff, cmd_diff, "compare two traces or reports side by side", "")

#define GS_X_DECL(name, fn, summary, enable)                                  \
	__attribute__((weak)) int fn(int argc, char **argv);
GILSCOPE_COMMANDS(GS_X_DECL)
#undef GS_X_DECL

#endif
