#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The include rule of docs/architecture.md: a layer includes only itself and
the layers below it.

    lib < probes < runtime < analysis/sources < analysis/model
        < analysis/render | analysis/replay < tools
    (bench/, the benchmarks `gilscope bench` runs, sits over runtime and
    under tools, beside analysis)

Reads every .c/.h under the layered folders, resolves each #include the way
the build does (next to the including file first, then by name among the
project's files, since the build puts every folder's own directory on the
include path) and prints one line per include that reaches up:

    FILE:LINE: includes PATH (LAYER): LAYER may include only ...

Includes that name no file of the tree (system headers, generated headers
such as vmlinux.h or *.skel.h) are not the rule's business. A source file in
a layered folder but in none of its layers (say analysis/x.c beside the
stage folders) is reported too: the folders are the layers.

Usage: check-include-layers.py [SOURCE_DIR]   (default: this script's ../)
Exit status: 0 when the rule holds, 1 when it does not, 2 on bad usage.
"""
import os
import re
import sys

# Layer -> the layers it may include besides itself. render/ and replay/ are
# two ends of the same stage: both read the model, neither reads the other.
BELOW = {
    "lib": [],
    "probes": ["lib"],
    "runtime": ["lib", "probes"],
    "analysis/sources": ["lib", "probes", "runtime"],
    "analysis/model": ["lib", "probes", "runtime", "analysis/sources"],
    "analysis/render": ["lib", "probes", "runtime", "analysis/sources",
                        "analysis/model"],
    "analysis/replay": ["lib", "probes", "runtime", "analysis/sources",
                        "analysis/model"],
    # The benchmarks `gilscope bench` runs: beside analysis, over libgil.
    "bench": ["lib", "probes", "runtime"],
    "tools": ["lib", "probes", "runtime", "analysis/sources",
              "analysis/model", "analysis/render", "analysis/replay", "bench"],
}
# Folders whose files nothing layered may include (they sit on top).
TOP = ["tests"]
LAYER_ROOTS = ["lib", "probes", "runtime", "analysis", "bench", "tools"]
SOURCE_EXT = (".c", ".h")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(rel):
    """The layer of a path relative to the source dir, or None."""
    best = None
    for layer in list(BELOW) + TOP:
        if rel == layer or rel.startswith(layer + "/"):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def source_files(root, tops):
    for top in tops:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(("build", "."))
                                 and d != "node_modules")
            for name in sorted(filenames):
                if name.endswith(SOURCE_EXT):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1] if len(argv) == 2 else
                           os.path.join(os.path.dirname(__file__), ".."))
    if not os.path.isdir(os.path.join(root, "lib")):
        print(f"check-include-layers: {root} is not a gilscope source tree "
              "(no lib/)", file=sys.stderr)
        return 2

    every = list(source_files(root, LAYER_ROOTS + TOP))
    by_suffix = {}
    for rel in every:
        parts = rel.split("/")
        for i in range(len(parts)):
            by_suffix.setdefault("/".join(parts[i:]), []).append(rel)

    problems = []
    files = includes = 0
    for rel in every:
        if rel.split("/")[0] not in LAYER_ROOTS:
            continue
        layer = layer_of(rel)
        files += 1
        if layer is None:
            problems.append(f"{rel}:1: in no layer: put it in one of "
                            f"{', '.join(l for l in BELOW if l.startswith(rel.split('/')[0]))}")
            continue
        allowed = set(BELOW[layer]) | {layer}
        with open(os.path.join(root, rel), encoding="utf-8",
                  errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                target = None
                if kind == '"':
                    near = os.path.normpath(
                        os.path.join(os.path.dirname(rel), name))
                    if os.path.isfile(os.path.join(root, near)):
                        target = near
                if target is None:
                    found = by_suffix.get(os.path.normpath(name).lstrip("./"), [])
                    if not found:
                        continue          # system or generated header
                    # Several files of that name: the rule holds if one the
                    # layer may include is among them (the build's include
                    # path decides which; none of them may be above).
                    ok = [t for t in found if layer_of(t) in allowed]
                    target = ok[0] if ok else found[0]
                includes += 1
                to = layer_of(target)
                if to not in allowed:
                    may = ", ".join(BELOW[layer]) or "nothing of the project"
                    problems.append(
                        f"{rel}:{lineno}: includes {target} ({to}): "
                        f"{layer} may include only itself and {may}")

    for p in problems:
        print(p)
    print(f"include layers: {files} files, {includes} project includes, "
          f"{len(problems)} against the rule (docs/architecture.md)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
