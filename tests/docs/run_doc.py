#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the commands of one Markdown document as written, and fails on the
first one that fails, so README.md and the tutorials cannot drift from the
tool (docs/README.md, "Docs that run").

What is a command:
  ```sh / ```bash / ```shell   every line (comments and blank lines aside)
  ```console and plain ```     lines after a prompt: '$ ' (user) or, in
  and 4-space indented blocks  ```console and indented blocks only, '# ' (root); the lines that
                               follow are output, except '\\' continuations
                               and here-document bodies
Markers (HTML comments, invisible on GitHub):
  <!-- doc-test: requires root pyenv=3.11 cmd=bpftrace ... -->
      prerequisites of the whole document: missing ones skip it (exit 77),
      or fail it when CI=true (tests/integration/lib.sh's rule)
  <!-- doc-test: skip REASON -->
      the next block is illustrative and is not run; REASON is printed
  <!-- doc-test: exit N REASON -->
      every command of the next block must exit with status N: for errors
      a document shows on purpose (a command that stops failing is drift)
  <!-- doc-test: exit-ok N REASON -->
      in the next block, exit status N is not a failure (printed with
      REASON); for an outcome that depends on the machine, not the docs,
      e.g. a replay whose self-check missed on a loaded machine (exit 3)
  <!-- doc-test: setup COMMAND -->
      a command run before the document's first block (e.g. a stand-in for
      something the reader is told to start elsewhere); shown in the log

The document runs in one bash process (so variables and `cd` carry from one
block to the next) with `set -e` and job control (`set -m`, as at a prompt), in a scratch directory laid out like the
source tree: the top-level folders are symbolic links to the sources, docs/,
tests/ and tools/ are copies (tutorials write next to their examples; the tracer
helpers find the build as tools/X/../../build), `build` is
the build directory, the build's gilscope is first on PATH, and TMPDIR is
the scratch directory (what a document makes with mktemp -d goes with it).

Usage: run_doc.py --src SRC --build BUILD [--print] DOC.md
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

MARK = re.compile(r"<!--\s*doc-test:\s*([\w-]+)\s*(.*?)\s*-->")
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)\s*$")
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


class Block:
    def __init__(self, lang, start, lines):
        self.lang = lang  # 'sh', 'console', 'plain' or 'indented'
        self.start = start  # 1-based line of the first content line
        self.lines = lines
        self.skip = None
        self.exit_ok = None  # (status, reason)
        self.exit_must = None  # (status, reason)


def parse(text):
    """Returns (blocks, requires, setups)."""
    blocks, requires, setups = [], [], []
    pending_skip = pending_exit_ok = pending_exit_must = None
    lines = text.split("\n")
    i = 0
    prev_blank = True
    while i < len(lines):
        line = lines[i]
        m = MARK.search(line)
        if m:
            kind, arg = m.group(1), m.group(2)
            if kind == "requires":
                requires += arg.split()
            elif kind == "skip":
                pending_skip = arg or "illustrative"
            elif kind == "exit":
                code, _, why = arg.partition(" ")
                if not code.isdigit():
                    raise SystemExit(f"line {i + 1}: exit wants a status, not '{code}'")
                pending_exit_must = (int(code), why or "expected")
            elif kind == "exit-ok":
                code, _, why = arg.partition(" ")
                if not code.isdigit():
                    raise SystemExit(f"line {i + 1}: exit-ok wants a status, not '{code}'")
                pending_exit_ok = (int(code), why or "allowed")
            elif kind == "setup":
                setups.append((i + 1, arg))
            else:
                raise SystemExit(f"line {i + 1}: unknown doc-test marker '{kind}'")
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            fence, lang = f.group(2), f.group(3).lower()
            body, j = [], i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                body.append(lines[j])
                j += 1
            kind = {"sh": "sh", "bash": "sh", "shell": "sh",
                    "console": "console", "": "plain"}.get(lang)
            if kind:
                b = Block(kind, i + 2, body)
                b.skip, pending_skip = pending_skip, None
                b.exit_ok, pending_exit_ok = pending_exit_ok, None
                b.exit_must, pending_exit_must = pending_exit_must, None
                blocks.append(b)
            i = j + 1
            prev_blank = False
            continue
        if prev_blank and line.startswith("    ") and line.strip():
            body, j = [], i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                body.append(lines[j][4:])
                j += 1
            b = Block("indented", i + 1, body)
            b.skip, pending_skip = pending_skip, None
            b.exit_ok, pending_exit_ok = pending_exit_ok, None
            b.exit_must, pending_exit_must = pending_exit_must, None
            blocks.append(b)
            i = j
            prev_blank = True
            continue
        prev_blank = not line.strip()
        i += 1
    return blocks, requires, setups


def commands(block):
    """Yields (line number, command text) of a block."""
    prompts = ("$ ", "# ") if block.lang in ("console", "indented") else ("$ ",)
    i, n = 0, len(block.lines)
    while i < n:
        raw = block.lines[i]
        lineno = block.start + i
        i += 1
        if block.lang == "sh":
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            cmd = raw
        else:
            s = raw.lstrip()
            p = next((p for p in prompts if s.startswith(p)), None)
            if not p:
                continue  # output
            cmd = s[len(p):]
        parts = [cmd]
        while parts[-1].rstrip().endswith("\\") and i < n:
            nxt = block.lines[i]
            i += 1
            if block.lang != "sh":
                nxt = nxt.lstrip()
                for p in ("> ",):
                    if nxt.startswith(p):
                        nxt = nxt[len(p):]
            parts.append(nxt)
        h = HEREDOC.search(" ".join(parts))
        if h:
            while i < n:
                nxt = block.lines[i]
                i += 1
                if block.lang == "console" and nxt.startswith("> "):
                    nxt = nxt[2:]
                parts.append(nxt)
                if nxt.strip() == h.group(1):
                    break
        yield lineno, "\n".join(parts)


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def missing_prerequisites(requires):
    missing = []
    for r in requires:
        if r == "root":
            if os.geteuid() != 0:
                missing.append("root")
        elif r.startswith("cmd="):
            if not shutil.which(r[4:]):
                missing.append(f"the command {r[4:]} (scripts/install-deps.sh)")
        elif r.startswith("pyenv="):
            want = r[6:]
            try:
                root = subprocess.run(["pyenv", "root"], capture_output=True,
                                      text=True).stdout.strip()
            except OSError:  # as tests/integration/lib.sh: the default root
                root = os.environ.get("PYENV_ROOT",
                                      os.path.expanduser("~/.pyenv"))
            vdir = os.path.join(root, "versions") if root else ""
            ok = vdir and any(v == want or v.startswith(want + ".")
                              for v in (os.listdir(vdir) if os.path.isdir(vdir) else []))
            if not ok:
                missing.append(f"CPython {want} from pyenv")
        elif r.startswith("path="):
            if not os.path.exists(r[5:]):
                missing.append(r[5:])
        else:
            raise SystemExit(f"unknown prerequisite '{r}' in doc-test: requires")
    return missing


def build_script(doc, blocks, setups):
    # Job control, as at a prompt: a job started with & gets the SIGINT a
    # later `kill -INT` sends (without it, bash starts background jobs with
    # SIGINT ignored). A block may leave a job in the background (a tracer
    # it attached): its process group is stopped when the document ends,
    # pass or fail, and killed if it does not stop.
    out = ["set -m", "set -e", "exec 2>&1",
           "trap 'rc=$?; set +e; for p in $(jobs -p); do kill -- -$p; done 2>/dev/null; "
           "sleep 0.5; for p in $(jobs -p); do kill -KILL -- -$p; done 2>/dev/null; "
           "wait; exit $rc' EXIT"]
    for lineno, cmd in setups:
        out.append(f"echo {shell_quote(f'# {doc}:{lineno} (setup): {cmd}')}")
        out.append(cmd)
    for b in blocks:
        if b.skip:
            print(f"{doc}:{b.start}: not run: {b.skip}")
            continue
        for lineno, cmd in commands(b):
            out.append(f"echo {shell_quote(f'$ {doc}:{lineno}: {cmd}')}")
            if b.exit_must:
                code, why = b.exit_must
                note = f"# {doc}:{lineno}: exit {code} as the document says: {why}"
                bad0 = shell_quote(f"FAIL: {doc}:{lineno}: exited ")
                bad1 = shell_quote(f", the document says {code}")
                out.append(f"rc=0; {{ {cmd}\n}} || rc=$?; if [ $rc -eq {code} ]; then "
                           f"echo {shell_quote(note)}; else echo {bad0}\"$rc\"{bad1} >&2; "
                           f"exit 1; fi")
            elif b.exit_ok:
                code, why = b.exit_ok
                note = f"# {doc}:{lineno}: exit {code} is allowed here: {why}"
                out.append(f"{{ {cmd}\n}} || {{ rc=$?; [ $rc -eq {code} ] || exit $rc; "
                           f"echo {shell_quote(note)}; }}")
            else:
                out.append(cmd)
    out.append(f"echo {shell_quote(f'# {doc}: every command ran')}")
    return "\n".join(out) + "\n"


def lay_out(scratch, src, build):
    for name in os.listdir(src):
        if name in (".git", "build") or name.startswith("build"):
            continue
        path = os.path.join(src, name)
        # tools/ too: its helpers find the build as tools/X/../../build, which
        # through a symlinked tools/ would be the source tree's own build/
        if name in ("docs", "tests", "tools"):
            shutil.copytree(path, os.path.join(scratch, name), symlinks=True)
        else:
            os.symlink(path, os.path.join(scratch, name))
    os.symlink(build, os.path.join(scratch, "build"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--print", action="store_true",
                    help="print the script instead of running it")
    ap.add_argument("doc")
    a = ap.parse_args()
    src, build = os.path.abspath(a.src), os.path.abspath(a.build)
    doc = os.path.relpath(os.path.join(src, a.doc), src)
    with open(os.path.join(src, doc)) as f:
        blocks, requires, setups = parse(f.read())
    script = build_script(doc, blocks, setups)
    if a.print:
        sys.stdout.write(script)
        return 0
    missing = missing_prerequisites(requires)
    if missing:
        why = f"{doc} needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            print(f"FAIL (CI=true, so this may not skip): {why}", file=sys.stderr)
            return 1
        print(f"SKIP: {why}", file=sys.stderr)
        return 77
    scratch = tempfile.mkdtemp(prefix="gilscope-doc.")
    try:
        lay_out(scratch, src, build)
        env = dict(os.environ)
        env["PATH"] = os.path.join(build, "tools", "gilscope") + os.pathsep + env["PATH"]
        # The documents make their own directories with mktemp -d (two runs
        # on one machine must not share a path): inside the scratch
        # directory here, so they go with it.
        env["TMPDIR"] = scratch
        sys.stdout.flush()
        rc = subprocess.run(["bash", "-c", script], cwd=scratch, env=env,
                            stdin=subprocess.DEVNULL).returncode
        if rc:
            print(f"FAIL: {doc}: the last command above exited {rc}", file=sys.stderr)
            return 1
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
