#!/usr/bin/env bash
# Whole-process timings of `authcli token`, measured side by side on this
# machine (see README "Performance"). Commands are timed by bench/pair in
# alternating rounds (paired medians, peak RSS from the kernel):
#
#   1. cached token, file vault, 1 and 1,000 identities  vs  a Go hello-world
#      (and hello-world with net/http linked, and the single binary,
#      authcli-ui, at 1 identity)
#   2. cached token, Secret Service                      vs  a bare go-keyring Get
#                                                        and secret-tool lookup
#   3. 100 concurrent `authcli token` on an expired token against the
#      embedded provider (rotating refresh tokens): refresh grants seen,
#      distinct tokens printed, failures, total wall time
#   4. cached token through the agent (authcli agent start holding the
#      file vault; the callers have no vault key)  vs  the file vault read
#      directly, 1 and 1,000 identities
#   5. the same 100 concurrent callers as 3, through the agent
#
# The identities of 1 and 2 are written by bench/mkstate through the real
# store and vault packages; 3 signs in for real (browserbot).
#
# Usage: bench/token.sh   (2 needs gnome-keyring, libsecret-tools, dbus-x11;
#                          as root it installs them with apt-get)
# Env:   RUNS (default 300), CONCURRENCY (default 100), BENCH_TMPDIR
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
CONCURRENCY=${CONCURRENCY:-100}
out=bench/out
mkdir -p "$out"
. bench/lib.sh

if ! command -v secret-tool >/dev/null; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		apt-get update -qq && apt-get install -y -qq --no-install-recommends gnome-keyring libsecret-tools dbus-x11 >/dev/null
	else
		echo "bench/token.sh needs gnome-keyring, libsecret-tools and dbus-x11 (apt-get install them)" >&2
		exit 2
	fi
fi

echo "building like a release (static, trimpath, stripped)"
export CGO_ENABLED=0
for cmd in bench/hello bench/hellohttp bench/keyringget; do
	go build -trimpath -ldflags "-s -w" -o "$out/$(basename "$cmd")" "./$cmd"
done
# The release's two programs (.goreleaser.yaml): the lean authcli, and
# authcli-ui, which is also the single binary go install builds.
go build -trimpath -tags authcli_lean -ldflags "-s -w" -o "$out/authcli" ./cmd/authcli
go build -trimpath -ldflags "-s -w" -o "$out/authcli-ui" ./cmd/authcli
go build -o "$out/mkstate" ./bench/mkstate
go build -o "$out/pair" ./bench/pair
go build -o "$out/browserbot" ./e2e/browserbot
installed "$out/hello" "$out/hellohttp" "$out/keyringget" "$out/authcli" "$out/authcli-ui"
O=$PWD/$out
A=$O/authcli
ls -l "$A" "$O/authcli-ui" "$O/hello" | awk '{print $5, $NF}'

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
unset DISPLAY WAYLAND_DISPLAY

echo
echo "== 1. cached token, file vault, 1 and 1,000 identities (ratio: to hello-world)"
export AUTHCLI_VAULT=file AUTHCLI_VAULT_KEY
AUTHCLI_VAULT_KEY=$(head -c 32 /dev/urandom | base64)
"$O/mkstate" -dir "$work/one" -n 1
"$O/mkstate" -dir "$work/many" -n 1000
du -sh "$work/many/accounts.json" "$work/many/vault.d" | awk '{print "  1,000 identities:", $2, $1}'
"$O/pair" -runs "$RUNS" -json "$out/file.json" "$O/hello" \
	-- "$O/hellohttp" \
	-- AUTHCLI_STATE_DIR="$work/one" "$A" token demo \
	-- AUTHCLI_STATE_DIR="$work/many" "$A" token demo \
	-- AUTHCLI_STATE_DIR="$work/one" "$O/authcli-ui" token demo

echo
echo "== 2. cached token, Secret Service (ratio: to a bare go-keyring Get)"
scripts/with-secret-service.sh bash -c '
	set -euo pipefail
	export AUTHCLI_VAULT=keyring AUTHCLI_STATE_DIR="$1/keyring"
	"$0/mkstate" -dir "$AUTHCLI_STATE_DIR" -n 1
	"$0/pair" -runs "$2" -json "$3/keyring.json" "$0/keyringget" authcli demo/ada \
		-- "$0/authcli" token demo \
		-- secret-tool lookup service authcli username demo/ada
' "$O" "$work" "$RUNS" "$PWD/$out" 2>"$work/keyring.log" || {
	tail -3 "$work/keyring.log" >&2
	echo "(the Secret Service row failed; the others go on)"
}

echo
echo "== 3. $CONCURRENCY concurrent authcli token on an expired token (rotating refresh tokens)"
export AUTHCLI_STATE_DIR=$work/demo AUTHCLI_CONFIG=$work/config.toml
export BROWSER=$O/browserbot BROWSERBOT_FIELDS=user=ada
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# 65 s tokens: after 5.5 s one is inside token's --min-ttl (60 s), and the
# refreshed one is not. (Tokens living shorter than --min-ttl would have
# every late arrival refresh again.)
"$A" demo --serve --addr "127.0.0.1:$port" --access-token-ttl 65s >"$AUTHCLI_CONFIG" 2>"$work/demo.log" &
demo_pid=$!
for _ in $(seq 100); do grep -q issuer "$AUTHCLI_CONFIG" 2>/dev/null && break; sleep 0.05; done
"$A" login demo >/dev/null 2>&1
sleep 5.5
pids=()
start=$(date +%s%N)
for i in $(seq "$CONCURRENCY"); do
	"$A" token demo >"$work/tok.$i" 2>"$work/err.$i" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
end=$(date +%s%N)
distinct=$(cat "$work"/tok.* | sort -u | wc -l)
kill -INT "$demo_pid"
wait "$demo_pid" || true
echo "exit failures: $fails, distinct tokens printed: $distinct, total wall time: $(((end - start) / 1000000)) ms"
grep Stopped "$work/demo.log"

echo
echo "== 4. cached token through the agent (ratio: to the file vault read directly)"
export XDG_RUNTIME_DIR=$work/run
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
agents=()
for n in one many; do
	AUTHCLI_STATE_DIR="$work/$n" "$A" agent start --socket "$XDG_RUNTIME_DIR/$n.sock" >"$work/agent-$n.env"
	agents+=("$XDG_RUNTIME_DIR/$n.sock")
done
stop_agents() { for s in "${agents[@]}"; do AUTHCLI_AGENT_SOCK=$s "$A" agent stop >/dev/null 2>&1 || true; done; }
trap 'stop_agents; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# AUTHCLI_VAULT_KEY= : the callers of the agent hold no vault key.
"$O/pair" -runs "$RUNS" -json "$out/agent.json" AUTHCLI_STATE_DIR="$work/one" "$A" token demo \
	-- AUTHCLI_VAULT_KEY= AUTHCLI_AGENT_SOCK="$XDG_RUNTIME_DIR/one.sock" "$A" token demo \
	-- AUTHCLI_STATE_DIR="$work/many" "$A" token demo \
	-- AUTHCLI_VAULT_KEY= AUTHCLI_AGENT_SOCK="$XDG_RUNTIME_DIR/many.sock" "$A" token demo
stop_agents

echo
echo "== 5. $CONCURRENCY concurrent authcli token through the agent, expired token"
export AUTHCLI_STATE_DIR=$work/demo-agent
"$A" demo --serve --addr "127.0.0.1:$port" --access-token-ttl 65s >"$AUTHCLI_CONFIG" 2>"$work/demo.log" &
demo_pid=$!
for _ in $(seq 100); do grep -q issuer "$AUTHCLI_CONFIG" 2>/dev/null && break; sleep 0.05; done
eval "$("$A" agent start --socket "$XDG_RUNTIME_DIR/demo.sock")" >/dev/null
agents=("$AUTHCLI_AGENT_SOCK")
AUTHCLI_VAULT_KEY= "$A" login demo >/dev/null 2>&1 # through the agent
sleep 5.5
pids=()
start=$(date +%s%N)
for i in $(seq "$CONCURRENCY"); do
	AUTHCLI_VAULT_KEY= "$A" token demo >"$work/atok.$i" 2>"$work/aerr.$i" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
end=$(date +%s%N)
distinct=$(cat "$work"/atok.* | sort -u | wc -l)
stop_agents
unset AUTHCLI_AGENT_SOCK
kill -INT "$demo_pid"
wait "$demo_pid" || true
echo "exit failures: $fails, distinct tokens printed: $distinct, total wall time: $(((end - start) / 1000000)) ms"
grep Stopped "$work/demo.log"
