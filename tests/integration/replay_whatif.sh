#!/usr/bin/env bash
# gilscope replay and diff end to end: a convoy recorded under cpython is
# replayed (self-check, then prio), every replay trace is readable, the
# replay performs exactly the recorded blocking regions, and diff compares
# the runs. Whether the self-check passes depends on the machine's load, so
# it is reported, not asserted (docs/replay.md; benchmarks measure it).
source "$(dirname "$0")/lib.sh"

"$GILSCOPE" run convoy --cpu-threads 1 --duration 0.5 --policy cpython \
  -o "$WORK/orig.gst" >/dev/null || fail "gilscope run convoy"

rc=0
"$GILSCOPE" replay "$WORK/orig.gst" --policy prio -o "$WORK/prio.gst" --json \
  >"$WORK/replay.json" 2>"$WORK/replay.err" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { cat "$WORK/replay.err" >&2; fail "replay exit $rc"; }
[ -s "$WORK/prio.gst" ] || fail "no what-if trace"
[ -s "$WORK/prio.selfcheck.gst" ] || fail "no self-check trace"

python3 - "$WORK/replay.json" "$rc" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
assert d["recorded"]["policy"] == "cpython", d["recorded"]
assert d["recorded"]["interval_us"] == 5000
names = sorted(t["name"] for t in d["threads"])
assert names == ["cpu-0", "echo-server"], names
sc, wi = d["self_check"], d["what_if"]
assert sc["params"]["policy"] == "cpython" and wi["params"]["policy"] == "prio"
assert sc["checked"] == 5, sc["checked"]          # hold, wait p50/p90 + convoy
assert sc["passed"] == (rc == 0), (sc["passed"], rc)
assert sc["lost"] == 0 and wi["lost"] == 0
figs = {(r["scope"], r["figure"]) for r in wi["vs_original"]}
assert ("overall", "convoy_loss_per_io_call_us") in figs, figs
print("self-check %s (%d of %d figures missed)" %
      ("passed" if sc["passed"] else "missed", sc["missed"], sc["checked"]))
PY

# The replay performs each recorded blocking region once: as many blocking
# releases per thread as the program has BLOCK phases.
for t in prio.gst prio.selfcheck.gst; do
  "$GILSCOPE" report "$WORK/$t" --json >"$WORK/$t.json" || fail "report $t"
  python3 - "$WORK/replay.json" "$WORK/$t.json" <<'PY' || fail "blocking regions of $t"
import json, sys
prog = {t["name"]: t for t in json.load(open(sys.argv[1]))["threads"]}
rep = {t["name"]: t for t in json.load(open(sys.argv[2]))["threads"]}
for name, t in prog.items():
    got = rep[name]["releases"]["blocking"]
    assert got == t["block_phases"], (name, got, t["block_phases"])
PY
done

"$GILSCOPE" diff "$WORK/orig.gst" "$WORK/prio.gst" --json >"$WORK/diff.json" || fail "diff"
python3 - "$WORK/diff.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(r["scope"], r["figure"]): r for r in d["rows"]}
for key in [("overall", "hold_p50_us"), ("echo-server", "io_calls_per_s"),
            ("cpu-0", "gil_load")]:
    assert key in rows, key
r = rows[("echo-server", "io_calls_per_s")]
assert r["a"] > 0 and r["b"] > 0 and abs(r["ratio"] - r["b"] / r["a"]) < 1e-6, r
PY
"$GILSCOPE" diff "$WORK/orig.gst" "$WORK/prio.gst" >"$WORK/diff.txt" || fail "diff text"
grep -q "^SCOPE" "$WORK/diff.txt" || fail "diff table header"

# Bad input: a clear error naming the file, non-zero exit.
if "$GILSCOPE" replay "$WORK/missing.gst" 2>"$WORK/err"; then fail "replay of a missing file succeeded"; fi
grep -q "missing.gst" "$WORK/err" || fail "error does not name the file: $(cat "$WORK/err")"
printf 'not a trace' >"$WORK/junk.gst"
if "$GILSCOPE" diff "$WORK/junk.gst" "$WORK/orig.gst" 2>"$WORK/err"; then fail "diff of junk succeeded"; fi
grep -q "junk.gst" "$WORK/err" || fail "error does not name the file: $(cat "$WORK/err")"
set +e; "$GILSCOPE" diff "$WORK/orig.gst" >/dev/null 2>&1; [ $? -eq 2 ] || fail "diff with one trace: want exit 2"
echo "replay/diff: ok"
