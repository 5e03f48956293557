#!/usr/bin/env bash
# Whole-process timings of `authcli token`, measured side by side on this
# machine (see README "Performance"):
#
#   1. cached token, file vault:      authcli token  vs  a Go hello-world
#   2. cached token, Secret Service:  authcli token  vs  a bare go-keyring Get
#                                     vs  secret-tool lookup
#   3. peak RSS of 1 and 2
#   4. N concurrent `authcli token` on an expired token against the embedded
#      provider (rotating refresh tokens): how many refreshes it saw
#   5. cached token through the agent (authcli agent start, file vault, no
#      vault key in the callers' environment) vs the file vault directly,
#      and N concurrent callers of an expired token through the agent
#
# Usage: bench/token.sh            (needs hyperfine, GNU time; for 2 also
#                                   gnome-keyring, libsecret-tools, dbus-x11;
#                                   as root it installs them with apt-get)
# Env:   RUNS (default 300), CONCURRENCY (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
CONCURRENCY=${CONCURRENCY:-20}
out=bench/out
mkdir -p "$out"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
command -v secret-tool >/dev/null || need+=(gnome-keyring libsecret-tools dbus-x11)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	else
		echo "bench/token.sh needs: ${need[*]} (apt-get install them)" >&2
		exit 2
	fi
fi

echo "building like a release (static, trimpath, stripped)"
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/authcli" ./cmd/authcli
go build -trimpath -ldflags "-s -w" -o "$out/hello" ./bench/hello
go build -trimpath -ldflags "-s -w" -o "$out/keyringget" ./bench/keyringget
go build -o "$out/browserbot" ./e2e/browserbot
A=$PWD/$out/authcli

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export AUTHCLI_STATE_DIR=$work/state AUTHCLI_CONFIG=$work/config.toml
export BROWSER=$PWD/$out/browserbot BROWSERBOT_FIELDS=user=ada
unset DISPLAY WAYLAND_DISPLAY

# start_demo TTL: runs the embedded provider, writes its config table.
start_demo() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$A" demo --serve --addr "127.0.0.1:$port" --access-token-ttl "$1" >"$AUTHCLI_CONFIG" 2>"$work/demo.log" &
	demo_pid=$!
	for _ in $(seq 100); do grep -q issuer "$AUTHCLI_CONFIG" 2>/dev/null && return; sleep 0.05; done
	echo "demo provider did not start" >&2; exit 1
}
stop_demo() { kill -INT "$demo_pid"; wait "$demo_pid" || true; }

rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }

echo
echo "== 1. cached token, file vault"
export AUTHCLI_VAULT=file AUTHCLI_VAULT_KEY
AUTHCLI_VAULT_KEY=$(head -c 32 /dev/urandom | base64)
start_demo 1h
"$A" login demo >/dev/null 2>&1
hyperfine -N --warmup 20 --runs "$RUNS" --style basic \
	--export-json "$out/file.json" "$PWD/$out/hello" "$A token demo"
echo "peak RSS KiB: hello $(rss "$out/hello"), authcli token $(rss "$A" token demo)"
stop_demo

echo
echo "== 2. cached token, Secret Service"
rm -rf "$AUTHCLI_STATE_DIR"
start_demo 1h
scripts/with-secret-service.sh bash -c '
	set -euo pipefail
	export AUTHCLI_VAULT=keyring
	"$0" login demo >/dev/null 2>&1
	hyperfine -N --warmup 20 --runs "$1" --style basic --export-json "$2/keyring.json" \
		"$2/keyringget authcli demo/ada" "secret-tool lookup service authcli username demo/ada" "$0 token demo"
	echo "peak RSS KiB: keyringget $(/usr/bin/time -f %M "$2/keyringget" authcli demo/ada 2>&1 >/dev/null | tail -1), authcli token $(/usr/bin/time -f %M "$0" token demo 2>&1 >/dev/null | tail -1)"
' "$A" "$RUNS" "$PWD/$out"
stop_demo

echo
echo "== 3. $CONCURRENCY concurrent authcli token on an expired token (rotating refresh tokens)"
rm -rf "$AUTHCLI_STATE_DIR"
export AUTHCLI_VAULT=file
start_demo 3s
"$A" login demo >/dev/null 2>&1
sleep 3.5 # let the 3 s access token expire
pids=()
for i in $(seq "$CONCURRENCY"); do
	"$A" token demo >"$work/tok.$i" 2>"$work/err.$i" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
distinct=$(cat "$work"/tok.* | sort -u | wc -l)
stop_demo
echo "exit failures: $fails, distinct tokens printed: $distinct"
grep Stopped "$work/demo.log"

echo
echo "== 5. cached token through the agent (file vault held by the agent)"
rm -rf "$AUTHCLI_STATE_DIR"
export AUTHCLI_VAULT=file
start_demo 1h
"$A" login demo >/dev/null 2>&1
export XDG_RUNTIME_DIR=$work/run
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
eval "$("$A" agent start)" >/dev/null
trap '"$A" agent stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# Both through env(1), so both pay for it; the callers of the agent have
# no vault key, only its socket.
hyperfine -N --warmup 20 --runs "$RUNS" --style basic --export-json "$out/agent.json" \
	"env -u AUTHCLI_AGENT_SOCK $A token demo" \
	"env -u AUTHCLI_VAULT_KEY -u AUTHCLI_VAULT AUTHCLI_AGENT_SOCK=$AUTHCLI_AGENT_SOCK $A token demo"
echo "peak RSS KiB: authcli token through the agent $(env -u AUTHCLI_VAULT_KEY AUTHCLI_AGENT_SOCK="$AUTHCLI_AGENT_SOCK" /usr/bin/time -f %M "$A" token demo 2>&1 >/dev/null | tail -1)"
stop_demo

echo
echo "== 6. $CONCURRENCY concurrent callers of an expired token through the agent"
"$A" agent stop >/dev/null
rm -rf "$AUTHCLI_STATE_DIR"
start_demo 3s
eval "$("$A" agent start)" >/dev/null
env -u AUTHCLI_VAULT_KEY "$A" login demo >/dev/null 2>&1 # signed in through the agent
sleep 3.5
pids=()
for i in $(seq "$CONCURRENCY"); do
	env -u AUTHCLI_VAULT_KEY AUTHCLI_AGENT_SOCK="$AUTHCLI_AGENT_SOCK" "$A" token demo >"$work/atok.$i" 2>"$work/aerr.$i" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
distinct=$(cat "$work"/atok.* | sort -u | wc -l)
"$A" agent stop >/dev/null
unset AUTHCLI_AGENT_SOCK
stop_demo
echo "exit failures: $fails, distinct tokens printed: $distinct"
grep Stopped "$work/demo.log"
