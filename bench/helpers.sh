#!/usr/bin/env bash
# Whole-process timings of the credential helpers' cached path, side by
# side with `authcli token` (see README "Performance"): git's
# `authcli git-credential get`, docker's `docker-credential-authcli get`
# and kubectl's `authcli token --format exec-credential`, file vault.
#
# Usage: bench/helpers.sh   (needs hyperfine)
# Env:   RUNS (default 300), BENCH_TMPDIR
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
out=bench/out
mkdir -p "$out"
. bench/lib.sh
command -v hyperfine >/dev/null || { echo "bench/helpers.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }

export CGO_ENABLED=0
# As released (.goreleaser.yaml): the lean authcli, with authcli-ui beside
# it for the demo provider that signs in below.
go build -trimpath -tags authcli_lean -ldflags "-s -w" -o "$out/authcli" ./cmd/authcli
go build -trimpath -ldflags "-s -w" -o "$out/authcli-ui" ./cmd/authcli
go build -o "$out/browserbot" ./e2e/browserbot
installed "$out/authcli" "$out/authcli-ui"
A=$PWD/$out/authcli
ln -sfn authcli "$out/docker-credential-authcli"
D=$PWD/$out/docker-credential-authcli

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export AUTHCLI_STATE_DIR=$work/state AUTHCLI_CONFIG=$work/config.toml HOME=$work
export BROWSER=$PWD/$out/browserbot BROWSERBOT_FIELDS=user=ada
export AUTHCLI_VAULT=file AUTHCLI_VAULT_KEY
AUTHCLI_VAULT_KEY=$(head -c 32 /dev/urandom | base64)
unset DISPLAY WAYLAND_DISPLAY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$A" demo --serve --addr "127.0.0.1:$port" >"$AUTHCLI_CONFIG" 2>"$work/demo.log" &
for _ in $(seq 100); do grep -q issuer "$AUTHCLI_CONFIG" 2>/dev/null && break; sleep 0.05; done
"$A" login demo >/dev/null 2>&1
printf '\n[git."git.example"]\nprovider = "demo"\n\n[docker."registry.example"]\nprovider = "demo"\n' >>"$AUTHCLI_CONFIG"
printf 'protocol=https\nhost=git.example\n\n' >"$work/git.in"
printf 'registry.example' >"$work/docker.in"

# Through the shell (older hyperfine has no --input), for all four alike;
# hyperfine subtracts the shell's own start-up.
hyperfine --warmup 20 --runs "$RUNS" --style basic --export-json "$out/helpers.json" \
	"$A token demo </dev/null" \
	"$A git-credential get <$work/git.in" \
	"$D get <$work/docker.in" \
	"$A token demo --format exec-credential </dev/null"
