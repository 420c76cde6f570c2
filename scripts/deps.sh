#!/usr/bin/env bash
# deps.sh COMMAND... : make sure the named host commands exist. A missing one
# is installed from Debian's packages when run as root on Debian; otherwise
# the exact install command is printed and the script fails.
set -euo pipefail
declare -A pkg=([qemu-system-arm]=qemu-system-arm [mkimage]=u-boot-tools [imx_usb]=imx-usb-loader [qemu-nbd]=qemu-utils [nbd-server]=nbd-server)
missing=()
for c in "$@"; do
	[[ -n "${pkg[$c]:-}" ]] || { echo "deps.sh: unknown command $c" >&2; exit 2; }
	command -v "$c" >/dev/null 2>&1 || missing+=("${pkg[$c]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: installing ${missing[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "deps.sh: $c still missing after installing ${missing[*]}" >&2; exit 1; }
	done
	exit 0
fi
echo "deps.sh: missing ${missing[*]}; install with:" >&2
echo "    sudo apt-get install ${missing[*]}" >&2
exit 1
