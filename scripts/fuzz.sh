#!/usr/bin/env bash
# fuzz.sh DURATION [PACKAGE...]: run every fuzz target of the packages (all
# of the module by default) for DURATION each (e.g. 5s), one at a time.
set -euo pipefail
duration=${1:?usage: fuzz.sh DURATION [PACKAGE...]}
shift
pkgs=("$@")
[[ ${#pkgs[@]} -gt 0 ]] || mapfile -t pkgs < <(go list ./...)
n=0
for p in "${pkgs[@]}"; do
	for f in $(go test -list '^Fuzz' "$p" | grep '^Fuzz' || true); do
		echo "fuzz: $p $f ($duration)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$duration" "$p" >/tmp/fuzz.$$.log 2>&1 || { cat /tmp/fuzz.$$.log; rm -f /tmp/fuzz.$$.log; exit 1; }
		n=$((n + 1))
	done
done
rm -f /tmp/fuzz.$$.log
echo "fuzz: $n targets, $duration each, no failure"
