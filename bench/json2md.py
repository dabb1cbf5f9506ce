#!/usr/bin/env python3
"""Turns `gilscope bench --json` output into the Markdown tables of
docs/performance.md, so the document shows exactly the numbers of one run.

Usage: bench/json2md.py RESULT.json [ITEM ...] > tables.md
       bench/json2md.py --goals RESULT.json [RESULT.json ...] > goals.md
--goals lists every row that has a goal, from one or more results files.
"""
import json
import math
import sys


def num(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def goals(paths):
    print("| item | subject | measured | goal | verdict | run |")
    print("|---|---|---:|---|---|---|")
    for path in paths:
        with open(path) as f:
            d = json.load(f)
        when = d["machine"]["started_utc"]
        for it in d["items"]:
            for r in it["rows"]:
                if "goal" not in r:
                    continue
                if r.get("ratio") is not None and r.get("vs", "").startswith(
                        "estimate") and not 0.7 <= r["ratio"] <= 1.3:
                    # met or missed by the 1-point rule: a ratio of two
                    # near-zero slowdowns says nothing, the points do
                    measured = (f"{r['ratio'] * r['median']:.1f} vs "
                                f"{r['median']:+.1f} {r['unit']}")
                elif r.get("ratio") is not None:
                    measured = f"{r['ratio']:.2f}x"
                else:
                    measured = f"{num(r['median'])} {r['unit']}"
                verdict = {"met": "met", "missed": "**missed**"}.get(
                    r.get("goal_verdict"), r.get("goal_verdict") or
                    ("met" if r["goal_met"] else "**missed**"))
                if r.get("pairs"):
                    # item 10: one recording's estimate against its own
                    # pair's measurement, not only the medians
                    measured += (f" ({r['pairs_within_goal']} of "
                                 f"{r['pairs']} pairs)")
                print(f"| {it['item']} | {r['subject']} | {measured} | "
                      f"{r['goal']} | {verdict} | {when} |")
    return 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if sys.argv[1] == "--goals":
        return goals(sys.argv[2:])
    with open(sys.argv[1]) as f:
        d = json.load(f)
    want = {int(x) for x in sys.argv[2:]}
    m = d["machine"]
    for it in d["items"]:
        if want and it["item"] not in want:
            continue
        rows = it["rows"]
        if not rows:
            continue
        lat = any("p90" in r for r in rows)
        print(f"Item {it['item']} ({it['name']}): {it['title']}. "
              f"{m['cpus']} CPUs, kernel {m['kernel']}, {m['started_utc']}, "
              f"load average {m['loadavg_start']:.2f} -> {m['loadavg_end']:.2f}; "
              f"`{d['command']}`.\n")
        head = "| subject | unit | median | min-max |"
        sep = "|---|---|---:|---:|"
        if lat:
            head += " p90 | p99 |"
            sep += "---:|---:|"
        head += " reps | ratio | goal |"
        sep += "---:|---:|---|"
        print(head)
        print(sep)
        for r in rows:
            line = (f"| {r['subject']} | {r['unit']} | {num(r['median'])} | "
                    f"{num(r['min'])}-{num(r['max'])} |")
            if lat:
                line += f" {num(r.get('p90'))} | {num(r.get('p99'))} |"
            ratio = r.get("ratio")
            ratio_s = f"{ratio:.2f}x {r['vs']}" if ratio is not None else "-"
            goal = ""
            if "goal" in r:
                verdict = r.get("goal_verdict") or ("met" if r["goal_met"] else "missed")
                goal = (verdict if verdict != "missed" else "**missed**") + f" ({r['goal']})"
            line += f" {r['reps']} | {ratio_s} | {goal} |"
            print(line)
        print()
    if d.get("skipped"):
        print("Skipped in this run: " + "; ".join(d["skipped"]) + ".\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
