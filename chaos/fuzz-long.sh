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
# After each run, the coverage column is the share of the package's
# statements that the target's whole corpus (testdata and what fuzzing
# kept in the Go build cache) covers: the cached inputs are copied into
# testdata/fuzz/<Target> for one `go test -cover` and removed again.
# FUZZTIME=0 skips fuzzing and reports coverage only.
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
copied="$logs/copied" # corpus files copied into testdata, to remove
: > "$copied"
cleanup() {
	while read -r f; do rm -f "$f"; done < "$copied"
	: > "$copied"
}
trap 'cleanup; rm -rf "$logs"' EXIT
trap 'exit 1' INT TERM
cache=$($GO env GOCACHE)/fuzz

# coverage prints the statement coverage of package $1 by the corpus of
# target $2: "fail" when the corpus does not pass. Cached inputs of an
# older version of the target (another number of values) are left out.
# The chaos package's targets drive the router's HTTP handlers, whose
# packages are measured instead.
coverage() {
	dir=$($GO list -f '{{.Dir}}' "$1")/testdata/fuzz/$2
	made=
	[ -d "$dir" ] || { mkdir -p "$dir" && made=1; }
	for f in "$cache/$1/$2"/*; do
		[ -f "$f" ] || continue
		[ -e "$dir/${f##*/}" ] && continue
		cp "$f" "$dir/" && echo "$dir/${f##*/}" >> "$copied"
	done
	case $1 in
	*/chaos) pkgs=$mod/router,$mod/web,$mod/input/http ;;
	*) pkgs=$1 ;;
	esac
	covlog="$logs/cover.log"
	for try in 1 2; do
		if $GO test -count=1 -run "^$2\$" -cover -coverpkg="$pkgs" "$1" > "$covlog" 2>&1; then
			sed -n 's/.*coverage: \([0-9.]*%\) of statements.*/\1/p' "$covlog" | tail -n 1
			break
		fi
		stale=$(sed -n 's/.*"testdata\/fuzz\/[^/]*\/\([0-9a-f]*\)": wrong number of values.*/\1/p' "$covlog")
		if [ "$try" = 2 ] || [ -z "$stale" ]; then
			echo fail
			break
		fi
		for f in $stale; do grep -qx "$dir/$f" "$copied" && rm -f "$dir/$f"; done
	done
	cleanup
	[ -n "$made" ] && rmdir "$dir" 2>/dev/null
	[ -n "$made" ] && rmdir "${dir%/*}" 2>/dev/null
	return 0
}

failed=0
mod=$($GO list -m)
for pkg in $($GO list ${FUZZPKGS:-./...}); do
	for target in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
		if [ -n "$FUZZSKIP" ] && echo "$target" | grep -Eq "$FUZZSKIP"; then
			continue
		fi
		log="$logs/$(echo "$pkg.$target" | tr '/' '_').log"
		echo "== $pkg $target ($FUZZTIME)"
		if [ "$FUZZTIME" = 0 ]; then
			: > "$log"
			result=ok
		elif $GO test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL" -timeout "$FUZZTIMEOUT" "$pkg" > "$log" 2>&1; then
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
		cov=$(coverage "$pkg" "$target")
		echo "| ${rel:-.} | $target | $result | ${execs:-?} | ${newi:-?} | ${total:-?} | ${cov:-?} | ${crasher:--} |" >> "$out"
		if [ "$result" != ok ]; then
			echo "   FAILED:"; tail -n 30 "$log" | sed 's/^/   /'
		else
			echo "   $last, coverage ${cov:-?}"
		fi
	done
done
echo "results in $out"
[ "$failed" -eq 0 ]
