#!/usr/bin/env bash
# tests/docs/run_doc.py, the runner of the docs' commands (docs/README.md,
# "Docs that run"): it must fail on a failing command, run here-documents and
# continuations as one command, honour skip/exit-ok/requires, and keep
# variables and the working directory from one block to the next.
. "$(dirname "$0")/lib.sh"
RUN=(python3 "$GILSCOPE_SRC/tests/docs/run_doc.py" --src "$WORK" --build "$GILSCOPE_BUILD")

cat > "$WORK/good.md" <<'DOC'
# A document
```sh
X=41
mkdir sub && cd sub
```
Some prose.

```console
$ cat > f.txt <<'EOF'
> line one
> EOF
$ echo $((X + 1)) \
    "$(cat f.txt)" > out.txt
this line is output
# test "$(cat out.txt)" = "42 line one"
```
<!-- doc-test: skip illustrative -->
```sh
false
```
<!-- doc-test: exit-ok 3 on purpose -->
```sh
sh -c 'exit 3'
```

    $ gilscope --version | grep -q '^gilscope '
    gilscope 1.0

```console
# sleep 60 &
# kill -INT $!; sleep 0.3
# if kill -0 $! 2>/dev/null; then echo "a background job ignored SIGINT"; exit 1; fi
# sleep 60 &
```
DOC
# (the job left in the background must not keep the runner waiting)
timeout 60 "${RUN[@]}" good.md > "$WORK/good.log" 2>&1 || { cat "$WORK/good.log"; fail "a good document failed"; }
grep -q 'not run: illustrative' "$WORK/good.log" || fail "skip marker not reported"
grep -q 'exit 3 is allowed here: on purpose' "$WORK/good.log" || fail "exit-ok not reported"

printf '```sh\ntrue\nfalse\necho unreachable\n```\n' > "$WORK/bad.md"
if "${RUN[@]}" bad.md > "$WORK/bad.log" 2>&1; then
  fail "a document with a failing command passed"
fi
grep -q 'unreachable' "$WORK/bad.log" && fail "the runner went on after a failing command"
grep -q 'exited 1' "$WORK/bad.log" || fail "no exit status in: $(cat "$WORK/bad.log")"

printf '<!-- doc-test: exit-ok 3 x -->\n```sh\nsh -c "exit 4"\n```\n' > "$WORK/code.md"
"${RUN[@]}" code.md > /dev/null 2>&1 && fail "exit-ok 3 let exit 4 through"

printf '<!-- doc-test: exit 2 on purpose -->\n```sh\nsh -c "exit 2"\n```\n' > "$WORK/must.md"
"${RUN[@]}" must.md > /dev/null 2>&1 || fail "exit 2 marker refused a command exiting 2"
printf '<!-- doc-test: exit 2 on purpose -->\n```sh\ntrue\n```\n' > "$WORK/drift.md"
"${RUN[@]}" drift.md > "$WORK/drift.log" 2>&1 && fail "a command that stopped failing passed an exit 2 marker"
grep -q 'exited 0, the document says 2' "$WORK/drift.log" || fail "no drift message: $(cat "$WORK/drift.log")"

printf '<!-- doc-test: requires path=/nonexistent/thing -->\n```sh\ntrue\n```\n' > "$WORK/req.md"
rc=0; CI= "${RUN[@]}" req.md > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 77 ] || fail "a missing prerequisite gave exit $rc, not 77 (skip)"
rc=0; CI=true "${RUN[@]}" req.md > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a missing prerequisite under CI=true gave exit $rc, not 1"
echo "docs runner: ok"
