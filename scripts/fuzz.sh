#!/usr/bin/env bash
# fuzz.sh DURATION [PACKAGE...]: run every fuzz target of the packages (all
# of the module by default) for DURATION each (e.g. 5s), one at a time.
set -euo pipefail
duration=${1:?usage: fuzz.sh DURATION [PACKAGE...]}
shift
pkgs=("$@")
[[ ${#pkgs[@]} -gt 0 ]] || mapfile -t pkgs < <(go list ./...)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
for p in "${pkgs[@]}"; do
	for f in $(go test -list '^Fuzz' "$p" | grep '^Fuzz' || true); do
		echo "fuzz: $p $f ($duration)"
		# The fuzzing engine can end a short run with "context deadline
		# exceeded" while it is still minimising a new interesting input;
		# that is not a failure (no failing input is written). Such a run is
		# tried once more; a real failure names its failing input and stops.
		for try in 1 2; do
			if go test -run '^$' -fuzz "^$f\$" -fuzztime "$duration" "$p" >"$log" 2>&1; then
				break
			fi
			if [[ $try -eq 2 ]] || grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
				cat "$log"
				exit 1
			fi
			echo "fuzz: $p $f ended while minimising an input, without a failure: once more"
		done
		n=$((n + 1))
	done
done
echo "fuzz: $n targets, $duration each, no failure"
