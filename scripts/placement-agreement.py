#!/usr/bin/env python3
"""Records one deterministic workload (a single thread making N blocking
os.stat calls: every call releases and re-takes the GIL) on every pyenv
CPython, placed four ways, and prints a Markdown table of the event counts
(docs/probe-placement.md):

  symtab     the pyenv build as installed (its own .symtab)
  debugfile  a copy stripped with strip --strip-all whose symbols are in a
             detached debug file named by .gnu_debuglink
  stripped   the same without any debug file (the symbol-free method)
  namespace  that copy run from a private mount namespace, at a path that
             does not exist in ours (record -- unshare ... exec python)
  shim       the pyenv shim (bash, execs the real python; PYENV_VERSION)

Each placement runs the script twice, with N calls and with none; in the
main thread the difference must be exactly N acquisitions and N releases
(each call is one release and one re-acquisition; on 2.7 the check
interval adds a release and re-acquisition every 100 ticks, so there the
difference is N + those), whatever the interpreter does at start-up (which
differs with its path: site.py looks around its prefix). The blocking
column is the N-call run's main-thread releases classed blocking. Needs root, patchelf, binutils. Usage:
  sudo scripts/placement-agreement.py [-g build/tools/gilscope/gilscope]
                                      [-n CALLS] [VERSION...]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GSTRACE = os.path.join(HERE, "..", "tests", "integration", "python", "gstrace.py")


def pyenv_root():
    try:
        return subprocess.check_output(["pyenv", "root"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))


def stripped_copy(prefix, ver, dest, debug=True):
    """bin/pythonX.Y and lib/libpythonX.Y*.so.1.0, stripped; with debug,
    their symbols in debug files named by .gnu_debuglink."""
    exe = os.path.realpath(os.path.join(prefix, "bin", "python" + ver))
    lib = [f for f in os.listdir(os.path.join(prefix, "lib"))
           if f.startswith("libpython" + ver) and f.endswith(".so.1.0")][0]
    os.makedirs(os.path.join(dest, "bin"))
    os.makedirs(os.path.join(dest, "lib"))
    out = [shutil.copy(exe, os.path.join(dest, "bin")),
           shutil.copy(os.path.join(prefix, "lib", lib), os.path.join(dest, "lib"))]
    os.symlink(os.path.join(prefix, "lib", "python" + ver),
               os.path.join(dest, "lib", "python" + ver))
    subprocess.check_call(["patchelf", "--set-rpath", "$ORIGIN/../lib", out[0]])
    for f in out:
        if debug:
            subprocess.check_call(["objcopy", "--only-keep-debug", f, f + ".debug"])
        subprocess.check_call(["strip", "--strip-all", f])
        if debug:
            subprocess.check_call(["objcopy", "--add-gnu-debuglink=" + f + ".debug", f])
    return os.path.join(dest, "bin", os.path.basename(exe))


def record(g, trace, cmd, env=None):
    r = subprocess.run([g, "record", "--no-sched", "-o", trace, "--"] + cmd,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode:
        return None, r.stderr.strip().splitlines()[-1:]
    d = json.loads(subprocess.check_output([sys.executable, GSTRACE, trace]))
    main = d["per_thread"].get(str(d["header"]["pid"]),
                               dict(acquisitions=0, releases=0, blocking_releases=0))
    methods = sorted(set(p["method"] for p in d["header"]["probes"]
                         if p["what"].split("@")[0].split("(")[0] in (
                             "take_gil", "drop_gil", "PyThread_acquire_lock",
                             "pthread_cond_signal", "pthread_cond_timedwait")))
    return dict(acq=main["acquisitions"], rel=main["releases"],
                blocking=main["blocking_releases"],
                lost=d["end"]["total_lost"], methods=methods), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-g", default=os.path.join(HERE, "..", "build", "tools",
                                               "gilscope", "gilscope"))
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("versions", nargs="*")
    a = ap.parse_args()
    root = pyenv_root()
    versions = a.versions or sorted(os.listdir(os.path.join(root, "versions")),
                                    key=lambda v: [int(x) for x in v.split(".")])
    work = tempfile.mkdtemp(prefix="gs-placement-")
    script = os.path.join(work, "stat.py")
    with open(script, "w") as f:
        # a thread first: 2.7 and 3.6 create the GIL with the first thread
        # before 3.7 the GIL exists once a thread has started (whose
        # join adds a varying number of waits: only where it is needed)
        f.write("import os, sys\nif sys.version_info < (3, 7):\n"
                "    import threading\n"
                "    t = threading.Thread(target=len, args=('',))\n"
                "    t.start()\n    t.join()\n"
                "for i in range(int(sys.argv[1])):\n    os.stat('/')\n")
    print("| CPython | placement | methods | main-thread acquisitions (N calls − none) | "
          "releases (N − none) | blocking releases | exact |")
    print("|---|---|---|---:|---:|---:|---|")
    try:
        for v in versions:
            prefix = os.path.join(root, "versions", v)
            ver = ".".join(v.split(".")[:2])
            copy = stripped_copy(prefix, ver, os.path.join(work, v))
            bare = stripped_copy(prefix, ver, os.path.join(work, v + "-bare"), False)
            inner = os.path.join(work, "ns-" + v, "py")   # only in the namespace
            os.makedirs(os.path.dirname(inner))
            ns = ("mount -t tmpfs none %s && mkdir %s && mount --bind %s %s && "
                  "exec %s/bin/%s %s \"$0\"" % (os.path.dirname(inner), inner,
                                               os.path.join(work, v), inner, inner,
                                               os.path.basename(copy), script))
            env = dict(os.environ, PYENV_VERSION=v)
            runs = [
                ("symtab", [os.path.join(prefix, "bin", "python" + ver), script], None),
                ("debugfile", [copy, script], None),
                ("stripped", [bare, script], None),
                ("namespace", ["unshare", "-m", "--propagation", "private",
                               "sh", "-c", ns], None),
                ("shim", [os.path.join(root, "shims", "python" + ver), script], env),
            ]
            for name, cmd, e in runs:
                res = {}
                for n in (a.n, 0):
                    res[n], err = record(a.g, os.path.join(work, "%s%s%d.gst" % (v, name, n)),
                                         cmd + [str(n)], e)
                    if not res[n]:
                        break
                if not res[a.n] or not res[0]:
                    print("| %s | %s | failed: %s | | | | |" % (v, name, " ".join(err)))
                    continue
                acq = res[a.n]["acq"] - res[0]["acq"]
                rel = res[a.n]["rel"] - res[0]["rel"]
                print("| %s | %s | %s | %d | %d | %d | %s |" % (
                    v, name, ", ".join(res[a.n]["methods"]), acq, rel,
                    res[a.n]["blocking"],
                    "yes" if acq == rel and (acq == a.n or ver == "2.7") else "no"))
                sys.stdout.flush()
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
