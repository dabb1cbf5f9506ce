/* SPDX-License-Identifier: MIT */
#include "pystack_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gilscope_bpf.h"
#include "gilscope.skel.h"
#include "pylines.h"
#include "pyoffsets.h"
#include "target.h"
#include "trace_stacks.h"
#include "trace_writer.h"

int gs_pystack_setup(struct gilscope_bpf *skel, const struct gs_target *t,
		     char *msg, size_t msglen)
{
	struct gsb_py_offsets o;
	if (t->runtime != GSB_RT_CPYTHON3 && t->runtime != GSB_RT_CPYTHON2) {
		snprintf(msg, msglen, "Python stacks need CPython 2.7 or 3.6-3.13 "
			 "(this target is %s)", t->policy_name);
		return -1;
	}
	if (t->runtime == GSB_RT_CPYTHON2 && !t->sym[GS_SYM_INTERP_HEAD].found) {
		/* the thread states are found through this static only */
		snprintf(msg, msglen, "CPython 2.7 without interp_head in its "
			 "symbol table (stripped?): its Python stacks cannot be "
			 "found (--native works)");
		return -1;
	}
	if (gs_py_offsets(t->py_major, t->py_minor, t->path, &o, msg, msglen))
		return -1;
	if (o.code_name != o.code_filename + 8) {
		snprintf(msg, msglen, "CPython %d.%d: co_name does not follow "
			 "co_filename (the walker reads both at once)", t->py_major,
			 t->py_minor);
		return -1;
	}
	/* the walker copies each frame up to its last field in one read */
	__u32 end = o.frame_back + 8;
	if (o.frame_code + 8 > end)
		end = o.frame_code + 8;
	if (o.frame_lasti + 8 > end)
		end = o.frame_lasti + 8;
	if (o.frame_owner + 1 > end)
		end = o.frame_owner + 1;
	if (end > 128) {
		snprintf(msg, msglen, "CPython %d.%d: frame fields past 128 bytes",
			 t->py_major, t->py_minor);
		return -1;
	}
	skel->rodata->pyframe_bytes = (end + 7) & ~7u;
	memcpy((void *)&skel->rodata->pyoff, &o, sizeof(o));
	skel->rodata->want_pystacks = 1;
	/* probes without a thread-state argument (symbol-free placement)
	 * find it through _PyRuntime, located at PyEval_SaveThread */
	if (t->runtime == GSB_RT_CPYTHON2) {
		/* pyrt_vaddr: interp_head; its load bias from the 2.7 probes */
		skel->rodata->pyrt_vaddr = t->sym[GS_SYM_INTERP_HEAD].vaddr[0];
		return 0;
	}
	uint64_t rt = gs_py_runtime_vaddr(t->path);
	if (rt && t->sym[GS_SYM_SAVE_THREAD].found) {
		skel->rodata->pyrt_vaddr = rt;
		skel->rodata->pysave_vaddr = t->sym[GS_SYM_SAVE_THREAD].vaddr[0];
	}
	return 0;
}

/* Code object strings are str objects' bytes: kind 1 is Latin-1 (ASCII
 * included), turned into UTF-8 here; kinds 2 and 4 are not decoded. */
static void to_utf8(const char *in, size_t inlen, unsigned kind, char *out,
		    size_t outlen)
{
	size_t o = 0;
	if (kind != 1) {
		snprintf(out, outlen, "<non-Latin-1 name>");
		return;
	}
	for (size_t i = 0; i < inlen && in[i] && o + 3 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x80) {
			out[o++] = (char)c;
		} else {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = 0;
}

int gs_pystack_write(struct gilscope_bpf *skel, struct gs_writer *w,
		     struct gs_pystack_totals *out)
{
	int sfd = bpf_map__fd(skel->maps.pystacks);
	int cfd = bpf_map__fd(skel->maps.pycodes);
	int kind = (int)skel->rodata->pyoff.lasti_kind;
	struct gsb_py_stack st;
	struct gsb_py_code *code = malloc(sizeof(*code));
	struct gs_frame *frames = calloc(GSB_PY_MAX_DEPTH, sizeof(*frames));
	char (*names)[GSB_PY_NAME_LEN * 2] = calloc(GSB_PY_MAX_DEPTH, sizeof(*names));
	char (*files)[GSB_PY_FILE_LEN * 2] = calloc(GSB_PY_MAX_DEPTH, sizeof(*files));
	__u32 key, next, *prev = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!code || !frames || !names || !files) {
		rc = -ENOMEM;
		goto done;
	}
	while (!rc && !bpf_map_get_next_key(sfd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(sfd, &key, &st))
			continue;
		size_t n = st.depth < GSB_PY_MAX_DEPTH ? st.depth : GSB_PY_MAX_DEPTH;
		for (size_t i = 0; i < n; i++) {
			struct gs_frame *f = &frames[i];
			memset(f, 0, sizeof(*f));
			snprintf(names[i], sizeof(names[i]), "?");
			snprintf(files[i], sizeof(files[i]), "?");
			f->func = names[i];
			f->file = files[i];
			struct gsb_py_code_key ck = { st.code[i], st.ident[i] };
			if (bpf_map_lookup_elem(cfd, &ck, code))
				continue; /* the code map was full */
			to_utf8(code->name, sizeof(code->name), code->name_kind,
				names[i], sizeof(names[i]));
			to_utf8(code->file, sizeof(code->file), code->file_kind,
				files[i], sizeof(files[i]));
			f->first_line = code->firstlineno;
			uint32_t line;
			if (gs_py_addr2line(kind, code->linetable, code->linetable_len,
					    code->linetable_truncated,
					    code->firstlineno, st.offset[i], &line)) {
				f->line = line;
				f->flags = GS_FRAME_F_LINE;
				out->lines++;
			}
		}
		unsigned char *buf;
		size_t len;
		rc = gs_stack_encode(key, GS_STACK_PYTHON,
				     st.truncated ? GS_STACK_F_TRUNCATED : 0, frames, n,
				     &buf, &len);
		if (rc)
			break;
		rc = gs_writer_block(w, GS_BLOCK_STACK, buf, len);
		free(buf);
		out->stacks++;
		out->frames += n;
	}
	prev = NULL;
	struct gsb_py_code_key ck, cn, *cp = NULL;
	while (!bpf_map_get_next_key(cfd, cp, &cn)) {
		ck = cn;
		cp = &ck;
		out->codes++;
	}
done:
	free(code);
	free(frames);
	free(names);
	free(files);
	return rc;
}

void gs_pystack_innermost(struct gilscope_bpf *skel, uint32_t id, char *out,
			  size_t len)
{
	struct gsb_py_stack st;
	struct gsb_py_code *code = malloc(sizeof(*code));
	snprintf(out, len, "-");
	if (!code)
		return;
	if (id && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.pystacks), &id, &st) &&
	    st.depth) {
		struct gsb_py_code_key ck = { st.code[0], st.ident[0] };
		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.pycodes), &ck, code)) {
			char name[GSB_PY_NAME_LEN * 2], file[GSB_PY_FILE_LEN * 2];
			uint32_t line = code->firstlineno;
			to_utf8(code->name, sizeof(code->name), code->name_kind, name,
				sizeof(name));
			to_utf8(code->file, sizeof(code->file), code->file_kind, file,
				sizeof(file));
			gs_py_addr2line((int)skel->rodata->pyoff.lasti_kind, code->linetable,
					code->linetable_len, code->linetable_truncated,
					code->firstlineno, st.offset[0], &line);
			const char *base = strrchr(file, '/');
			snprintf(out, len, "%s (%s:%u)", name, base ? base + 1 : file, line);
		}
	}
	free(code);
}
