#!/usr/bin/env bash
# Refresh and sign-in of authcli timed side by side with kubelogin's on the
# same embedded provider on 127.0.0.1 (bench/flows): a forced refresh in
# paired rounds (also through authcli's agent, which does the grant in its
# own process), and a browser sign-in from the provider's answer to the
# process exiting with its tokens stored, authcli at 1 and 1,000 identities.
# Also the HTTP requests each client makes, and (with strace) its fsyncs,
# renames and flocks.
#
# Usage: KUBELOGIN=/path/to/kubelogin bench/flows.sh
#        (a kubelogin binary built outside this repository, static and
#        stripped like ours; without KUBELOGIN its rows are skipped)
# Env:   RUNS (default 50), WARMUP (default 5), BENCH_TMPDIR
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
out=bench/out
mkdir -p "$out"
. bench/lib.sh

if ! command -v strace >/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	apt-get update -qq && apt-get install -y -qq --no-install-recommends strace >/dev/null || true
fi

echo "building like a release (static, trimpath, stripped)"
export CGO_ENABLED=0
# The lean authcli is what runs; authcli-ui sits beside it as released.
go build -trimpath -tags authcli_lean -ldflags "-s -w" -o "$out/authcli" ./cmd/authcli
go build -trimpath -ldflags "-s -w" -o "$out/authcli-ui" ./cmd/authcli
go build -o "$out/mkstate" ./bench/mkstate
go build -o "$out/flows" ./bench/flows
installed "$out/authcli" "$out/authcli-ui"
kubelogin=""
if [ -n "${KUBELOGIN:-}" ]; then
	# A copy beside ours, in the same state (lib.sh: installed).
	cp "$KUBELOGIN" "$out/kubelogin"
	kubelogin=$PWD/$out/kubelogin
fi
O=$PWD/$out
unset DISPLAY WAYLAND_DISPLAY BROWSER
"$O/flows" -authcli "$O/authcli" -mkstate "$O/mkstate" -kubelogin "$kubelogin" -runs "$RUNS" -warmup "$WARMUP"
