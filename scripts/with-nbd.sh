#!/usr/bin/env bash
# with-nbd.sh RELAY COMMAND...: runs COMMAND with qemu-nbd serving a
# temporary 64 MiB image as export "tamach" on a free loopback port, and
# TAMACH_QEMU_EXTRA set so that every guest qemu-run boots reaches it at
# 10.0.2.100:10809 through QEMU's user network and RELAY (cmd/netrelay).
# The server and its image are removed afterwards.
set -euo pipefail
relay=$(realpath "$1")
shift
dir=$(mktemp -d)
pid=""
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT
truncate -s 64M "$dir/store.img"
for port in $(shuf -i 20000-60000 -n 20); do
	if qemu-nbd --fork --pid-file "$dir/pid" --persistent --shared 8 --format raw --cache writeback \
		--export-name tamach --bind 127.0.0.1 --port "$port" "$dir/store.img" 2>/dev/null; then
		pid=$(cat "$dir/pid")
		break
	fi
done
if [[ -z "$pid" ]]; then
	echo "with-nbd.sh: qemu-nbd would not start" >&2
	exit 1
fi
export TAMACH_QEMU_EXTRA="-netdev 'user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:10809-cmd:$relay 127.0.0.1:$port' -net nic,netdev=n0"
"$@"
