/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "pyoffsets.h"

#include <fcntl.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Include/cpython/pystate.h, Include/frameobject.h (3.6-3.10),
 * Include/internal/pycore_frame.h (3.11+), Include/code.h,
 * Include/cpython/unicodeobject.h, Python/ceval_gil.h: take_gil/drop_gil
 * argument lists, Include/internal/pycore_runtime.h: where
 * _PyRuntime.gilstate.tstate_current sits (3.7-3.11) and the main
 * interpreter's thread-state list. x86-64 LP64. */
static const struct gsb_py_offsets tables[] = {
	/* 2.7.18 (Include/pystate.h, frameobject.h, code.h, stringobject.h):
	 * no thread-state argument at PyThread_acquire_lock/release_lock;
	 * found in interp_head's thread list (pystack_search) */
	{ .version = 0x0207, .layout = GSB_PY_FRAMEOBJECT, .lasti_kind = GSB_LASTI_BYTES27,
	  .tstate_frame = 16, .frame_back = 24, .frame_code = 32, .frame_lasti = 120,
	  .code_name = 88, .code_filename = 80, .code_firstlineno = 96,
	  .code_linetable = 104, .runtime_interp_head = 0, .interp_tstate_head = 8,
	  .tstate_next = 0, .tstate_thread_id = 144, .str_bytes_data = 36 },
	{ .version = 0x0306, .layout = GSB_PY_FRAMEOBJECT, .lasti_kind = GSB_LASTI_BYTES,
	  .tstate_frame = 24, .frame_back = 24, .frame_code = 32, .frame_lasti = 120,
	  .code_name = 104, .code_filename = 96, .code_firstlineno = 36,
	  .code_linetable = 112, .take_tstate_arg = 1, .drop_tstate_arg = 1 },
	{ .version = 0x0307, .layout = GSB_PY_FRAMEOBJECT, .lasti_kind = GSB_LASTI_BYTES,
	  .tstate_frame = 24, .frame_back = 24, .frame_code = 32, .frame_lasti = 104,
	  .code_name = 104, .code_filename = 96, .code_firstlineno = 36,
	  .code_linetable = 112, .take_tstate_arg = 1, .drop_tstate_arg = 1,
	  .runtime_tstate_current = 1480,
	  .runtime_interp_head = 24, .interp_tstate_head = 8, .tstate_next = 8, .tstate_thread_id = 176 },
	/* 3.8: take_gil(ceval, tstate), drop_gil(ceval, tstate); co_posonlyargcount */
	{ .version = 0x0308, .layout = GSB_PY_FRAMEOBJECT, .lasti_kind = GSB_LASTI_BYTES,
	  .tstate_frame = 24, .frame_back = 24, .frame_code = 32, .frame_lasti = 104,
	  .code_name = 112, .code_filename = 104, .code_firstlineno = 40,
	  .code_linetable = 120, .take_tstate_arg = 2, .drop_tstate_arg = 2,
	  .runtime_tstate_current = 1368,
	  .runtime_interp_head = 32, .interp_tstate_head = 8, .tstate_next = 8, .tstate_thread_id = 176 },
	/* 3.9: take_gil(tstate), drop_gil(ceval, ceval2, tstate) */
	{ .version = 0x0309, .layout = GSB_PY_FRAMEOBJECT, .lasti_kind = GSB_LASTI_BYTES,
	  .tstate_frame = 24, .frame_back = 24, .frame_code = 32, .frame_lasti = 104,
	  .code_name = 112, .code_filename = 104, .code_firstlineno = 40,
	  .code_linetable = 120, .take_tstate_arg = 1, .drop_tstate_arg = 3,
	  .runtime_tstate_current = 568,
	  .runtime_interp_head = 32, .interp_tstate_head = 8, .tstate_next = 8, .tstate_thread_id = 176 },
	/* 3.10: f_lasti counts code units; co_linetable replaces co_lnotab */
	{ .version = 0x030a, .layout = GSB_PY_FRAMEOBJECT, .lasti_kind = GSB_LASTI_UNITS,
	  .tstate_frame = 24, .frame_back = 24, .frame_code = 32, .frame_lasti = 96,
	  .code_name = 112, .code_filename = 104, .code_firstlineno = 40,
	  .code_linetable = 120, .take_tstate_arg = 1, .drop_tstate_arg = 3,
	  .runtime_tstate_current = 568,
	  .runtime_interp_head = 32, .interp_tstate_head = 8, .tstate_next = 8, .tstate_thread_id = 176 },
	/* 3.11: _PyInterpreterFrame behind tstate->cframe->current_frame */
	{ .version = 0x030b, .layout = GSB_PY_CFRAME, .lasti_kind = GSB_LASTI_POINTER,
	  .tstate_frame = 56, .cframe_current = 8, .frame_back = 48, .frame_code = 32,
	  .frame_lasti = 56, .code_name = 120, .code_filename = 112,
	  .code_firstlineno = 72, .code_linetable = 136, .code_adaptive = 184,
	  .take_tstate_arg = 1, .drop_tstate_arg = 3, .runtime_tstate_current = 576,
	  .runtime_interp_head = 40, .interp_tstate_head = 16, .tstate_next = 8, .tstate_thread_id = 152 },
	/* 3.12: C-stack shim frames (owner 3); PyASCIIObject lost wstr */
	{ .version = 0x030c, .layout = GSB_PY_CFRAME, .lasti_kind = GSB_LASTI_POINTER,
	  .tstate_frame = 56, .cframe_current = 0, .frame_back = 8, .frame_code = 0,
	  .frame_lasti = 56, .frame_owner = 70, .code_name = 120, .code_filename = 112,
	  .code_firstlineno = 68, .code_linetable = 136, .code_adaptive = 192,
	  .take_tstate_arg = 1, .drop_tstate_arg = 2,
	  .runtime_interp_head = 40, .interp_tstate_head = 72, .tstate_next = 8, .tstate_thread_id = 136 },
};

static void common(struct gsb_py_offsets *o)
{
	o->bytes_size = 16;  /* PyVarObject.ob_size */
	o->bytes_data = o->version == 0x0207 ? 36 : 32; /* ob_sval (2.7: after
							   ob_shash, ob_sstate) */
	o->str_state = 32;   /* PyASCIIObject.state */
	o->str_ascii_data = o->version >= 0x030c ? 40 : 48;
	o->str_compact_data = o->version >= 0x030c ? 56 : 72;
}

/* _Py_DebugOffsets as 3.13 lays it out (Include/internal/pycore_runtime.h):
 * byte offsets of the uint64_t fields the walker needs. */
enum {
	DO_COOKIE = 0, DO_VERSION = 8,
	DO_RUNTIME_INTERP_HEAD = 40, DO_INTERP_THREADS_HEAD = 72,
	DO_TSTATE_NEXT = 168, DO_TSTATE_CURRENT_FRAME = 184, DO_TSTATE_THREAD_ID = 192,
	DO_FRAME_PREVIOUS = 232, DO_FRAME_EXECUTABLE = 240, DO_FRAME_INSTR_PTR = 248,
	DO_FRAME_OWNER = 264,
	DO_CODE_FILENAME = 280, DO_CODE_NAME = 288, DO_CODE_LINETABLE = 304,
	DO_CODE_FIRSTLINENO = 312, DO_CODE_ADAPTIVE = 344,
	DO_BYTES_OB_SIZE = 520, DO_BYTES_OB_SVAL = 528,
	DO_UNICODE_STATE = 544, DO_UNICODE_ASCII_SIZE = 560,
	DO_SIZE_313 = 584,
};

/* The initialised bytes of _PyRuntime in the file (it lives in .PyRuntime
 * or .data: PROGBITS). */
static int read_runtime(const char *path, unsigned char *out, size_t len,
			char *msg, size_t msglen, uint64_t *vaddr_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "%s: cannot open to read _Py_DebugOffsets", path);
		return -1;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	uint64_t vaddr = 0;
	int rc = -1;
	Elf_Scn *scn = NULL;
	while (e && !vaddr && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (name && !strcmp(name, "_PyRuntime") && sym.st_value) {
				vaddr = sym.st_value;
				break;
			}
		}
	}
	scn = NULL;
	while (e && vaddr && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    vaddr < sh.sh_addr || vaddr + len > sh.sh_addr + sh.sh_size)
			continue;
		if (pread(fd, out, len, (off_t)(sh.sh_offset + vaddr - sh.sh_addr)) ==
		    (ssize_t)len)
			rc = 0;
		break;
	}
	if (vaddr_out)
		*vaddr_out = vaddr;
	if (rc && out)
		snprintf(msg, msglen, "%s: %s", path,
			 vaddr ? "_PyRuntime is not in an initialised section"
			       : "no _PyRuntime symbol (expected in .dynsym)");
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

static uint32_t u64_at(const unsigned char *p, size_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

static int from_debug_offsets(const char *path, struct gsb_py_offsets *o,
			      char *msg, size_t msglen)
{
	unsigned char d[DO_SIZE_313];
	if (read_runtime(path, d, sizeof(d), msg, msglen, NULL))
		return -1;
	uint64_t version;
	memcpy(&version, d + DO_VERSION, sizeof(version));
	if (memcmp(d + DO_COOKIE, "xdebugpy", 8) || (version >> 16) != 0x030d) {
		snprintf(msg, msglen, "%s: _PyRuntime does not start with 3.13's "
			 "_Py_DebugOffsets (cookie/version 0x%llx)", path,
			 (unsigned long long)version);
		return -1;
	}
	memset(o, 0, sizeof(*o));
	o->version = 0x030d;
	o->layout = GSB_PY_DIRECT;
	o->lasti_kind = GSB_LASTI_POINTER;
	o->tstate_frame = u64_at(d, DO_TSTATE_CURRENT_FRAME);
	o->runtime_interp_head = u64_at(d, DO_RUNTIME_INTERP_HEAD);
	o->interp_tstate_head = u64_at(d, DO_INTERP_THREADS_HEAD);
	o->tstate_next = u64_at(d, DO_TSTATE_NEXT);
	o->tstate_thread_id = u64_at(d, DO_TSTATE_THREAD_ID);
	o->frame_back = u64_at(d, DO_FRAME_PREVIOUS);
	o->frame_code = u64_at(d, DO_FRAME_EXECUTABLE);
	o->frame_lasti = u64_at(d, DO_FRAME_INSTR_PTR);
	o->frame_owner = u64_at(d, DO_FRAME_OWNER);
	o->code_name = u64_at(d, DO_CODE_NAME);
	o->code_filename = u64_at(d, DO_CODE_FILENAME);
	o->code_firstlineno = u64_at(d, DO_CODE_FIRSTLINENO);
	o->code_linetable = u64_at(d, DO_CODE_LINETABLE);
	o->code_adaptive = u64_at(d, DO_CODE_ADAPTIVE);
	o->bytes_size = u64_at(d, DO_BYTES_OB_SIZE);
	o->bytes_data = u64_at(d, DO_BYTES_OB_SVAL);
	o->str_state = u64_at(d, DO_UNICODE_STATE);
	o->str_ascii_data = u64_at(d, DO_UNICODE_ASCII_SIZE);
	o->str_compact_data = o->str_ascii_data + 16; /* + utf8_length, utf8 */
	/* take_gil(tstate), drop_gil(interp, tstate, final_release) */
	o->take_tstate_arg = 1;
	o->drop_tstate_arg = 2;
	return 0;
}

int gs_py_gil_key(int minor, const char *path, struct gs_py_gil_key *k)
{
	/* _Py_DebugOffsets (3.13): interpreter_state.ceval_gil,
	 * thread_state.interp */
	enum { DO_INTERP_CEVAL_GIL = 112, DO_TSTATE_INTERP = 176 };
	memset(k, 0, sizeof(*k));
	if (minor == 12) {
		/* take_gil(tstate); drop_gil(struct _ceval_state *ceval, tstate):
		 * ceval->gil at 16, interp->ceval.gil at 384 */
		*k = (struct gs_py_gil_key){ .take_arg = 1, .tstate_interp = 16,
					     .interp_gil = 384, .drop_gil = 16 };
		return 0;
	}
	if (minor != 13)
		return -1;
	unsigned char d[DO_SIZE_313];
	char msg[256];
	if (read_runtime(path, d, sizeof(d), msg, sizeof(msg), NULL) ||
	    memcmp(d + DO_COOKIE, "xdebugpy", 8))
		return -1;
	/* take_gil(tstate); drop_gil(interp, tstate, final_release) */
	k->take_arg = 1;
	k->tstate_interp = u64_at(d, DO_TSTATE_INTERP);
	k->interp_gil = u64_at(d, DO_INTERP_CEVAL_GIL);
	k->drop_gil = k->interp_gil;
	return k->tstate_interp && k->interp_gil ? 0 : -1;
}

uint64_t gs_py_runtime_vaddr(const char *path)
{
	unsigned char b[8];
	char msg[8];
	uint64_t v = 0;
	read_runtime(path, b, sizeof(b), msg, sizeof(msg), &v);
	return v;
}

int gs_py_offsets(int major, int minor, const char *path,
		  struct gsb_py_offsets *o, char *msg, size_t msglen)
{
	unsigned v = (unsigned)(major << 8 | minor);
	if (major == 3 && minor == 13)
		return from_debug_offsets(path, o, msg, msglen);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].version == v) {
			*o = tables[i];
			common(o);
			return 0;
		}
	snprintf(msg, msglen, "Python stacks are supported on CPython 2.7 and "
		 "3.6-3.13, not %d.%d", major, minor);
	return -1;
}
