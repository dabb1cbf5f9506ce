#!/usr/bin/env bash
# One vocabulary for the CLI (issue 14, item 11; docs/cli.md): every option
# of every command's --help is documented in docs/cli.md, each short letter
# has one long name across all commands (the table's), a letter that changed
# meaning is refused with the new spelling, times take units everywhere, and
# a stop by signal exits 0.
. "$(dirname "$0")/lib.sh"
G=$GILSCOPE

python3 - "$G" "$GILSCOPE_SRC/docs/cli.md" <<'PY'
import re, subprocess, sys
g, doc_path = sys.argv[1], sys.argv[2]
doc = open(doc_path).read()
table = {}
for m in re.finditer(r"^\| `-(\w)` \| `--([\w-]+)` \|", doc, re.M):
    table[m.group(1)] = m.group(2)
top = subprocess.run([g, "--help"], capture_output=True, text=True).stdout
cmds = [m.group(1) for m in re.finditer(r"^  (\w+) +(.*)$", top, re.M)
        if "not in this build" not in m.group(2)]
assert len(cmds) >= 8, cmds
bad, seen = [], {}
for c in cmds + ["top -a", "record -a"]:
    h = subprocess.run([g] + c.split() + ["--help"], capture_output=True, text=True)
    assert h.returncode == 0, (c, h.stderr)
    for m in re.finditer(r"^ +(?:-(\w), )?--([a-z][\w-]*)", h.stdout, re.M):
        short, long = m.group(1), m.group(2)
        if f"--{long}" not in doc:
            bad.append(f"{c} --{long} is not in docs/cli.md: add it to the table of {c}")
        if short:
            if table.get(short) != long:
                bad.append(f"{c}: -{short} is --{long}, docs/cli.md's table says "
                           f"--{table.get(short)}")
            if seen.setdefault(short, long) != long:
                bad.append(f"-{short} is --{seen[short]} in one command and --{long} in {c}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"{len(cmds)} commands, {len(seen)} letters, each with one meaning")
PY


# Letters that changed meaning: refused with the new spelling.
$G run countdown --units 200000 -o "$WORK/cd.gst" > /dev/null
expect_exit 2 "write -T N or --threads N" $G run countdown -t 2
expect_exit 2 "write --per-thread" $G report -P "$WORK/cd.gst"
expect_exit 2 "with its unit now (5000us, or --interval-us 5000)" $G report -i 5000 "$WORK/cd.gst"
expect_exit 2 "the SVG width is --width 1200" $G export -f svg -w 1200 "$WORK/cd.gst"
expect_exit 2 "write --only ITEMS" $G bench -o 1
expect_exit 2 "write --quick" $G bench -q
expect_exit 2 "write --nice N" $G bench -n 5
expect_exit 2 "write -i TIME" $G replay -I 1000 "$WORK/cd.gst"
expect_exit 2 "did you mean --summary" $G report --sumary "$WORK/cd.gst"
expect_exit 2 "-d needs a value" $G run convoy -d
expect_exit 2 "--duration wants a time" $G run convoy -d 10x

# Times with units, wherever a time is asked.
$G run countdown -T 2 -i 1ms --units 200000 --json > "$WORK/i.json"
[ "$(json_get "$WORK/i.json" 'd["params"]["interval_us"]')" = 1000 ] || fail "run -i 1ms"
$G run countdown --interval-us 500us --units 200000 --json > "$WORK/i.json"
[ "$(json_get "$WORK/i.json" 'd["params"]["interval_us"]')" = 500 ] || fail "run --interval-us 500us"
$G run priority -k 1 -d 0.1 --period-us 2ms --json > "$WORK/p.json"
[ "$(json_get "$WORK/p.json" 'd["period_us"]')" = 2000 ] || fail "run --period-us 2ms"
$G run io -T 1 -k 1 -d 150ms --json > "$WORK/d.json"
# The requested length, not the measured one: a loaded machine stretches a
# run past any bound, but a phase never ends before its duration.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d["params"]["duration_s"]; assert p == 0.15 and d["duration_s"] >= p, (p, d["duration_s"])' "$WORK/d.json" ||
  fail "run -d 150ms did not set a 0.15 s run"
$G report -s -i 5ms "$WORK/cd.gst" > "$WORK/r1.txt"
grep -q 'convoy reference       5.00 ms (option)' "$WORK/r1.txt" || fail "report -i 5ms"
$G report -s --interval-us 2ms "$WORK/cd.gst" > "$WORK/r2.txt"
grep -q 'convoy reference       2.00 ms (option)' "$WORK/r2.txt" || fail "report --interval-us 2ms"
$G report --json --from 0.000001s "$WORK/cd.gst" > /dev/null || fail "report --from 0.000001s"
$G export -q -f svg -w 1ms: "$WORK/cd.gst" -o "$WORK/w.svg" || fail "export -w 1ms:"

# A run ended by a signal exits 0 and says so.
$G run priority -k 1 -d 60 > "$WORK/term.txt" &
pid=$!
sleep 1
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" -eq 0 ] || fail "run stopped by SIGINT exited $rc, not 0"
grep -q interrupted "$WORK/term.txt" || fail "an interrupted run does not say so"
echo "cli vocabulary: ok"
