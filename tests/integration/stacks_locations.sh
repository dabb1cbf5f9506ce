#!/usr/bin/env bash
# Code locations a libgil program publishes (gil_set_code_location,
# docs/api.md): `gilscope run convoy -o` records them on every request and
# release, and the report charges GIL time to them. Checked against the
# scenario's source: every location the report names is a line of
# convoy.c / common.c where GIL_SET_CODE_LOCATION() stands, the CPU
# thread's holds are all charged to its loop's location, and the folded
# sums equal the report's per-thread totals (conservation, not luck).
source "$(dirname "$0")/lib.sh"

T="$WORK/cv.gst"
"$GILSCOPE" run convoy -d 1 -o "$T" >"$WORK/run.out" || fail "gilscope run convoy"

SCEN="$GILSCOPE_SRC/runtime/scenarios"
cpu_line=$(grep -n 'GIL_SET_CODE_LOCATION()' "$SCEN/common.c" | cut -d: -f1)
srv_lines=$(grep -n 'GIL_SET_CODE_LOCATION()' "$SCEN/convoy.c" | cut -d: -f1 | tr '\n' ' ')
[ "$(echo "$cpu_line" | wc -w)" -eq 1 ] || fail "expected one location in common.c"
[ "$(echo "$srv_lines" | wc -w)" -eq 3 ] || fail "expected three locations in convoy.c"

for kind in hold wait blame; do
	"$GILSCOPE" report --folded "$kind" "$T" >"$WORK/$kind.folded" ||
		fail "report --folded $kind"
done

# Every frame names a published location: function (file:line) with the
# line of a GIL_SET_CODE_LOCATION() in that function's file.
cat "$WORK"/*.folded | sed 's/ [0-9]*$//' | tr ';' '\n' | grep ' (' | sort -u >"$WORK/frames"
[ -s "$WORK/frames" ] || fail "no code location in the folded output"
while IFS= read -r f; do
	case "$f" in
	"gs_cpu_work_loop ($SCEN/common.c:$cpu_line)") ;;
	"server_main ($SCEN/convoy.c:"*)
		l=${f##*:}; l=${l%)}
		case " $srv_lines" in *" $l "*) ;; *) fail "server location at line $l is no GIL_SET_CODE_LOCATION ($srv_lines)";; esac ;;
	*) fail "unexpected frame '$f'" ;;
	esac
done <"$WORK/frames"

# The CPU thread publishes its location before its loop: it holds the GIL
# there (1 s of work), and no hold of its is charged elsewhere except the
# first one (from attach, before the loop, no location).
grep -q "^cpu-0;gs_cpu_work_loop ($SCEN/common.c:$cpu_line) [1-9]" "$WORK/hold.folded" ||
	fail "cpu-0's holds are not charged to gs_cpu_work_loop"
# The server's waits (after its recvs) are charged to its locations.
grep -q "^echo-server;server_main ($SCEN/convoy.c:[0-9]*) [1-9]" "$WORK/wait.folded" ||
	fail "echo-server's waits are not charged to server_main"

# Conservation: the folded hold and wait of each thread add up to the
# report's per-thread hold and wait (JSON, ns).
"$GILSCOPE" report --json "$T" >"$WORK/r.json"
python3 "$GILSCOPE_SRC/tests/integration/python/folded_totals.py" "$WORK/r.json" \
	"$WORK/hold.folded" "$WORK/wait.folded" || fail "folded sums differ from the report's totals"
echo "PASS: code locations in $(wc -l <"$WORK/frames") frames, sums conserved"
