/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the Python frame walker (pystack.bpf.h) and its loader
 * (tools/bpf/pystack.c). Fixed-width kernel-style types only, as in
 * gilscope_bpf.h.
 *
 * The walker records, per stack, the code object and the instruction offset
 * of each frame, deduplicated by a hash (the stack id); per code object,
 * once, its name, file, first line and line table. The loader turns
 * (code, offset) into "function (file:line)" with the line table, so the
 * BPF side never decodes a line table.
 */
#ifndef GILSCOPE_PYSTACK_H
#define GILSCOPE_PYSTACK_H

#define GSB_PY_MAX_DEPTH 64 /* a power of two: indices are masked */
#define GSB_PY_NAME_LEN 64
#define GSB_PY_FILE_LEN 160
#define GSB_PY_LINETABLE_LEN 1024

/* How frames are linked (which CPython generation). */
enum gsb_py_layout {
	GSB_PY_NONE = 0,
	GSB_PY_FRAMEOBJECT = 1, /* 3.6-3.10: tstate->frame, PyFrameObject */
	GSB_PY_CFRAME = 2,      /* 3.11-3.12: tstate->cframe->current_frame */
	GSB_PY_DIRECT = 3,      /* 3.13: tstate->current_frame */
};

/* Where the instruction offset comes from and how the loader reads lines. */
enum gsb_py_lasti {
	GSB_LASTI_BYTES = 1,    /* 3.6-3.9: f_lasti in bytes, co_lnotab */
	GSB_LASTI_UNITS = 2,    /* 3.10: f_lasti in code units, co_linetable */
	GSB_LASTI_POINTER = 3,  /* 3.11+: instruction pointer, location table */
	GSB_LASTI_BYTES27 = 4,  /* 2.7: f_lasti in bytes, co_lnotab with
				   unsigned line increments */
};

/* Offsets into the interpreter's structures for one CPython version
 * (tools/bpf/pyoffsets.c; 3.13 from _Py_DebugOffsets). 0 = absent. */
struct gsb_py_offsets {
	__u32 layout;             /* enum gsb_py_layout */
	__u32 lasti_kind;         /* enum gsb_py_lasti */
	__u32 tstate_frame;       /* frame / cframe / current_frame */
	__u32 cframe_current;     /* _PyCFrame.current_frame (3.11-3.12) */
	__u32 frame_back;         /* f_back / previous */
	__u32 frame_code;         /* f_code / f_executable */
	__u32 frame_lasti;        /* f_lasti / prev_instr / instr_ptr */
	__u32 frame_owner;        /* owner (3.12+: skip C-stack shims); 0 = none */
	__u32 code_name;
	__u32 code_filename;
	__u32 code_firstlineno;
	__u32 code_linetable;     /* co_lnotab / co_linetable (bytes object) */
	__u32 code_adaptive;      /* co_code_adaptive (3.11+) */
	__u32 bytes_size;         /* PyVarObject.ob_size */
	__u32 bytes_data;         /* PyBytesObject.ob_sval */
	__u32 str_state;          /* PyASCIIObject.state */
	__u32 str_ascii_data;     /* sizeof(PyASCIIObject) */
	__u32 str_compact_data;   /* sizeof(PyCompactUnicodeObject) */
	__u32 take_tstate_arg;    /* take_gil's PyThreadState * argument, 1-based */
	__u32 drop_tstate_arg;    /* drop_gil's, 1-based; 0: use take_gil's */
	__u32 version;            /* 0x030b (3.11), for messages */
	__u32 runtime_tstate_current; /* _PyRuntime.gilstate.tstate_current
					 (3.7-3.11), for symbol-free probes */
	/* the thread states of the main interpreter, searched for the one
	 * whose thread_id (pthread_self) is the thread's: symbol-free probes
	 * on threads that never called PyEval_SaveThread */
	__u32 runtime_interp_head;  /* _PyRuntime.interpreters.head */
	__u32 interp_tstate_head;   /* tstate_head / threads.head */
	__u32 tstate_next;
	__u32 tstate_thread_id;     /* pthread_t, == the thread's fs base */
	__u32 str_bytes_data;       /* 2.7: names are PyStringObjects, their
				       characters at this offset; 0 on 3.x */
};

/* A stack, innermost frame first. */
struct gsb_py_stack {
	__u32 depth;
	__u32 truncated;          /* deeper than GSB_PY_MAX_DEPTH */
	__u64 code[GSB_PY_MAX_DEPTH];
	__u64 ident[GSB_PY_MAX_DEPTH];  /* the code's name and file pointers */
	__s32 offset[GSB_PY_MAX_DEPTH]; /* instruction byte offset, -1 unknown */
};

/* Code objects are freed and their addresses reused (a module's <module>
 * code after the import, exec'd code): the name and file pointers tell a
 * new code object at an old address from the old one. */
struct gsb_py_code_key {
	__u64 code;
	__u64 ident;
};

/* A code object, read once the first time a stack shows it. */
struct gsb_py_code {
	__u32 firstlineno;
	__u16 linetable_len;      /* bytes copied into linetable */
	__u8 linetable_truncated;
	__u8 name_kind;           /* PyUnicode kind: 1 latin-1/ascii, 2, 4 */
	__u8 file_kind;
	__u8 pad[7];
	char name[GSB_PY_NAME_LEN];
	char file[GSB_PY_FILE_LEN];
	__u8 linetable[GSB_PY_LINETABLE_LEN];
};

#endif
