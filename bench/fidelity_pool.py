#!/usr/bin/env python3
"""Pools the runs of several `gilscope bench --only fidelity --json` results
(item 9: the cpython policy against real CPython 3.11) into one comparison,
so that more repetitions per side than one call of a few minutes allows
decide the 20 % goal.

Usage: bench/fidelity_pool.py RESULT.json [RESULT.json ...]

For untraced req/s and loss per I/O call (the goals) and the other paired
figures it prints the means of both sides over all repetitions, the ratio
of the means (libgil / CPython) and its 95 % percentile bootstrap interval,
the repetitions resampled as pairs (the two sides of one repetition ran a
few seconds apart and share the machine's state then), as the item does for
one call. It also splits the repetitions by regime, from the traced runs'
slow re-acquires per request (< 0.6: fast), and gives the ratios of the
repetitions whose two sides ran in the same regime, like with like.
"""
import json
import random
import sys

FAST = 0.6          # slow re-acquires per request below which a run is fast
RESAMPLES = 4000
FIGS = (("untraced req/s", True), ("loss/IO call", True), ("req/s", False),
        ("slow re-acquires/req", False), ("cpu-0 wait p50", False),
        ("server hold/req", False))


def item9(path):
    with open(path) as f:
        d = json.load(f)
    for it in d["items"]:
        if it["item"] == 9:
            rows = {r["subject"]: r for r in it["rows"]}
            return d["machine"], rows
    sys.exit("%s: no item 9 (fidelity) in this result" % path)


def side_rows(rows, fig):
    py = [s for s in rows if s.startswith("cpython-3.11") and
          s.split(" ", 1)[1] == fig]
    if len(py) != 1 or "cpython-policy " + fig not in rows:
        return None  # a figure the item did not have then
    return rows[py[0]]["runs"], rows["cpython-policy " + fig]["runs"]


def ratio_ci(pairs, rng):
    """mean(lib) / mean(py) over pairs (py, lib), and its bootstrap 95 %."""
    if not pairs:
        return None, None, None
    r = sum(b for _, b in pairs) / sum(a for a, _ in pairs)
    boot = []
    for _ in range(RESAMPLES):
        s = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        den = sum(a for a, _ in s)
        if den > 0:
            boot.append(sum(b for _, b in s) / den)
    boot.sort()
    return r, boot[int(0.025 * (len(boot) - 1))], boot[int(0.975 * (len(boot) - 1))]


def fmt(r, lo, hi):
    return "-" if r is None else "%.2fx (%.2f..%.2f)" % (r, lo, hi)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip())
    rng = random.Random(9)  # a fixed seed: the same files, the same intervals
    runs = {fig: [] for fig, _ in FIGS}
    print("| result | started (UTC) | load | repetitions | server units |")
    print("|---|---|---|---:|---:|")
    for path in sys.argv[1:]:
        m, rows = item9(path)
        n = len(side_rows(rows, FIGS[0][0])[0])
        for fig, _ in FIGS:
            py, lib = side_rows(rows, fig) or ([None] * n, [None] * n)
            runs[fig].extend(zip(py, lib))
        print("| %s | %s | %.1f -> %.1f | %d | %.0f |" % (
            path, m["started_utc"], m["loadavg_start"], m["loadavg_end"], n,
            rows["calib server units"]["median"]))
    slow = runs["slow re-acquires/req"]
    regime = ["-" if a is None or b is None else
              ("fast" if a < FAST else "slow") + "/" +
              ("fast" if b < FAST else "slow") for a, b in slow]
    print()
    print("repetitions by regime (CPython/libgil, traced): " + ", ".join(
        "%s %d" % (k, regime.count(k)) for k in sorted(set(regime))))
    print()
    print("| figure | CPython 3.11 mean | libgil mean | ratio, all (95 % CI) "
          "| same regime, both slow | both fast | goal |")
    print("|---|---:|---:|---|---|---|---|")
    for fig, goal in FIGS:
        pairs = [(a, b) for a, b in runs[fig] if a is not None and b is not None]
        r, lo, hi = ratio_ci(pairs, rng)
        per = []
        for want in ("slow/slow", "fast/fast"):
            sel = [(a, b) for (a, b), g in zip(runs[fig], regime)
                   if g == want and a is not None and b is not None]
            rr, l2, h2 = ratio_ci(sel, rng)
            per.append("%s, %d" % (fmt(rr, l2, h2), len(sel)) if sel else "-")
        verdict = ""
        if goal and r is not None:
            verdict = ("met" if lo >= 0.8 and hi <= 1.2 else
                       "missed" if hi < 0.8 or lo > 1.2 else "not resolved")
        mean = lambda i: ("%.4g" % (sum(p[i] for p in pairs) / len(pairs))
                          if pairs else "-")
        print("| %s | %s | %s | %s, %d pairs | %s | %s | %s |" % (
            fig, mean(0), mean(1), fmt(r, lo, hi), len(pairs), per[0],
            per[1], ("0.8x..1.2x: " + verdict) if goal else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
