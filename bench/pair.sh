#!/bin/sh
# pair.sh — compare two builds of one Go benchmark on a busy two-core machine.
#
# Runs test binaries A and B at the same time, each pinned to one CPU
# (taskset), and swaps the CPUs every round, so that both meet the same
# moments of the host's load; prints each round's ns/op and the geometric
# mean of A's ÷ B's (above 1: B is faster). BENCH must match one benchmark.
#
#   git stash && go test -c -o /tmp/a.test ./codec/metlogjson && git stash pop
#   go test -c -o /tmp/b.test ./codec/metlogjson
#   bench/pair.sh 10 'DecodeRouting/stream$' /tmp/a.test /tmp/b.test
#
# Build both with -pgo=cmd/metlog/default.pgo to measure code as the
# binary compiles it, and run this from the package's directory if its
# benchmarks read testdata. Needs taskset (util-linux) and two CPUs.
set -eu
if [ $# -ne 4 ]; then
	echo "usage: $0 ROUNDS BENCH A.test B.test" >&2
	exit 2
fi
rounds=$1 bench=$2 a=$3 b=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=1
while [ "$i" -le "$rounds" ]; do
	ca=$((i % 2)) cb=$(((i + 1) % 2))
	taskset -c "$ca" "$a" -test.run '^$' -test.bench "$bench" -test.benchtime 1s -test.cpu 1 >"$tmp/a" &
	pa=$!
	taskset -c "$cb" "$b" -test.run '^$' -test.bench "$bench" -test.benchtime 1s -test.cpu 1 >"$tmp/b" &
	pb=$!
	for p in "$pa" "$pb"; do
		if ! wait "$p"; then
			echo "$0: a benchmark binary failed:" >&2
			tail -n 5 "$tmp/a" "$tmp/b" >&2
			exit 1
		fi
	done
	na=$(awk '{ for (f = 1; f < NF; f++) if ($(f + 1) == "ns/op") print $f }' "$tmp/a")
	nb=$(awk '{ for (f = 1; f < NF; f++) if ($(f + 1) == "ns/op") print $f }' "$tmp/b")
	case "$na$nb" in
	*"
"*) na= ;; # more than one benchmark matched
	esac
	if [ -z "$na" ] || [ -z "$nb" ]; then
		echo "$0: '$bench' must match exactly one benchmark in both binaries" >&2
		exit 1
	fi
	echo "round $i: A $na ns/op, B $nb ns/op" | tee -a "$tmp/rounds"
	i=$((i + 1))
done
awk '{ s += log($4 / $7); n++ } END { printf "A ÷ B: %.3f (geometric mean of %d rounds)\n", exp(s / n), n }' "$tmp/rounds"
