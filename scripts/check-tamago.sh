#!/usr/bin/env bash
# check-tamago.sh: fail, saying what to do, when the TamaGo compiler that the
# module's tamago command runs is not installed. The tamago command
# (go tool tamago) looks for it in the user cache directory, under the
# version of the github.com/usbarmory/tamago module.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/usbarmory/tamago)
cache=${XDG_CACHE_HOME:-$HOME/.cache}
root="$cache/tamago-go/tamago-go${version#v}"
if [[ -x "$root/bin/go" ]]; then
	exit 0
fi
cat >&2 <<MSG
The TamaGo compiler is not installed: $root/bin/go is missing.
On a machine with network access, let the tamago command install it:
    GOTOOLCHAIN=local go tool tamago version
(it clones https://github.com/usbarmory/tamago-go at tag tamago-go${version#v}
and runs src/make.bash). Or build that tag yourself, as its README says,
into $root.
MSG
exit 1
