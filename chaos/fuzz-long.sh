#!/bin/sh
# fuzz-long: run every fuzz target of the module for FUZZTIME each and
# collect, per target, the executions, the new interesting inputs and the
# corpus size into a results file (a Markdown table).
#
#   FUZZTIME=10m chaos/fuzz-long.sh [results-file]
#   FUZZPKGS=./codec/... FUZZTIME=1m chaos/fuzz-long.sh   # some packages only
#   FUZZSKIP='^FuzzScan$' chaos/fuzz-long.sh              # leave targets out
#   FUZZPARALLEL=1 chaos/fuzz-long.sh                     # fuzzing workers
#
# Several runs with disjoint FUZZPKGS and FUZZPARALLEL=1 fuzz several
# targets at once, each with one worker.
#
# Go saves a crashing input under the package's testdata/fuzz/<Target>/,
# where it becomes a regression test of `go test`; the table names it.
# A run that fails with "context deadline exceeded" and writes no input is
# Go's fuzzing coordinator racing its own -fuzztime deadline under load
# (go.dev/issue/75804, fixed in Go 1.27): it is reported as "flake", not
# as a failure. FUZZTIMEOUT (default 2h) is go test's -timeout, which must
# exceed FUZZTIME (its default, 10m, would end a 10-minute run).
# Run from the module root (make fuzz-long does).
set -u
FUZZTIME=${FUZZTIME:-10m}
GO=${GO:-go}
FUZZTIMEOUT=${FUZZTIMEOUT:-2h}
FUZZSKIP=${FUZZSKIP:-}
FUZZPARALLEL=${FUZZPARALLEL:-$(nproc)}
out=${1:-fuzz-results.md}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

{
	echo "# Fuzzing: every target for $FUZZTIME"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $($GO version | cut -d' ' -f3-), $(nproc) CPUs, $FUZZPARALLEL fuzzing worker(s) a target"
	echo
	echo "| package | target | result | executions | new interesting | corpus | crasher |"
	echo "|---|---|---|---:|---:|---:|---|"
} > "$out"

failed=0
mod=$($GO list -m)
for pkg in $($GO list ${FUZZPKGS:-./...}); do
	for target in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
		if [ -n "$FUZZSKIP" ] && echo "$target" | grep -Eq "$FUZZSKIP"; then
			continue
		fi
		log="$logs/$(echo "$pkg.$target" | tr '/' '_').log"
		echo "== $pkg $target ($FUZZTIME)"
		if $GO test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL" -timeout "$FUZZTIMEOUT" "$pkg" > "$log" 2>&1; then
			result=ok
		elif grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
			result=flake
		else
			result=FAIL
			failed=$((failed + 1))
		fi
		# The last progress line: "fuzz: elapsed: 10m0s, execs: 123 (205/sec), new interesting: 5 (total: 42)"
		last=$(grep 'fuzz: elapsed:.*execs:' "$log" | tail -n 1)
		execs=$(echo "$last" | sed -n 's/.*execs: \([0-9]*\).*/\1/p')
		newi=$(echo "$last" | sed -n 's/.*new interesting: \([0-9]*\).*/\1/p')
		total=$(echo "$last" | sed -n 's/.*(total: \([0-9]*\)).*/\1/p')
		crasher=$(sed -n 's/.*Failing input written to \(.*\)$/\1/p' "$log" | head -n 1)
		rel=${pkg#"$mod"}
		rel=${rel#/}
		echo "| ${rel:-.} | $target | $result | ${execs:-?} | ${newi:-?} | ${total:-?} | ${crasher:--} |" >> "$out"
		if [ "$result" != ok ]; then
			echo "   FAILED:"; tail -n 30 "$log" | sed 's/^/   /'
		else
			echo "   $last"
		fi
	done
done
echo "results in $out"
[ "$failed" -eq 0 ]
