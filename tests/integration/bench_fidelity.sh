#!/bin/bash
# gilscope bench item 9 (fidelity): the machinery that compares libgil's
# cpython policy with real CPython 3.11 on one echo convoy, not its verdict
# (a timing ratio on a shared machine is bench material: docs/scenarios.md).
# One quick repetition must give both sides' req/s, solo req/s and the
# server's loss per I/O call, found by thread name in both traces (the Python
# server names itself echo-server), and each ratio must be exactly libgil /
# CPython of that repetition, with the goal verdict that ratio implies (the
# solo rows check the workload's shape and carry no goal).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
find_python 3.11 > /dev/null

"$GILSCOPE" bench --quick --only fidelity --json > "$WORK/b.json"
python3 - "$WORK/b.json" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
assert d["command"] == "gilscope bench --quick --only fidelity --json", d["command"]
assert d["skipped"] == [], d["skipped"]
(item,) = d["items"]
assert item["item"] == 9 and item["name"] == "fidelity", item
rows = {r["subject"]: r for r in item["rows"]}
py = [s for s in rows if s.startswith("cpython-3.11")]
assert sorted(py) == sorted(["%s %s" % (py[0].split()[0], f)
                             for f in ("req/s", "loss/IO call", "solo req/s")]), sorted(rows)
for fig, unit in (("req/s", "req/s"), ("loss/IO call", "us"), ("solo req/s", "req/s")):
    p = rows["%s %s" % (py[0].split()[0], fig)]
    lib = rows["cpython-policy " + fig]
    for r in (p, lib):
        assert r["unit"] == unit and r["reps"] == 1, r
        assert r["min"] == r["median"] == r["max"] and r["median"] >= 0, r
    assert p["ratio"] is None, p
    # loss per call: the accept is a blocking call, so both servers have one
    assert fig != "loss/IO call" or (p["median"] > 0 and lib["median"] > 0), (p, lib)
    if p["median"] > 0:
        assert math.isclose(lib["ratio"], lib["median"] / p["median"],
                            rel_tol=1e-6), (lib, p)
        assert lib["vs"] == p["subject"], lib
        if fig == "solo req/s":
            assert "goal" not in lib and "goal_met" not in lib, lib
        else:
            assert lib["goal"].startswith("0.8x..1.2x"), lib
            assert lib["goal_met"] == (0.8 <= lib["ratio"] <= 1.2), lib
    else:
        assert lib.get("ratio") is None, lib
PY
echo "ok"
