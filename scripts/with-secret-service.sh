#!/usr/bin/env bash
# with-secret-service.sh runs a command inside a private D-Bus session with a
# throwaway, unlocked gnome-keyring (the Secret Service), so the real-keyring
# tests never touch the user's own keyring. It exports
# AUTHCLI_TEST_SECRET_SERVICE=1 for the command.
#
# Needs: dbus-run-session, gnome-keyring-daemon, secret-tool. On Debian/Ubuntu:
#   apt-get update && apt-get install -y gnome-keyring libsecret-tools dbus-x11
#
# Usage (from the repository root):
#   scripts/with-secret-service.sh go test -race ./...
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$0: $tool not found; install gnome-keyring, libsecret-tools and dbus-x11" >&2
		exit 2
	fi
done

# The throwaway HOME below would hide Go's caches; pin them first.
if command -v go >/dev/null 2>&1; then
	GOPATH="$(go env GOPATH)"
	GOCACHE="$(go env GOCACHE)"
	GOMODCACHE="$(go env GOMODCACHE)"
	export GOPATH GOCACHE GOMODCACHE
fi

exec dbus-run-session -- bash -c '
	set -euo pipefail
	HOME="$(mktemp -d)"
	export HOME
	export XDG_DATA_HOME="$HOME/.local/share" XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache"
	trap "rm -rf \"\$HOME\"" EXIT
	eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"
	# Wait (bounded) until the unlocked daemon answers on the bus; a client
	# that came first would have D-Bus activate a second, locked daemon.
	ready=""
	for _ in $(seq 50); do
		if printf probe | timeout 2 secret-tool store --label=authcli-probe authcli-probe ready 2>/dev/null &&
			[ "$(timeout 2 secret-tool lookup authcli-probe ready 2>/dev/null)" = probe ]; then
			timeout 2 secret-tool clear authcli-probe ready || true
			ready=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$ready" ]; then
		echo "with-secret-service: the Secret Service did not become ready" >&2
		exit 1
	fi
	export AUTHCLI_TEST_SECRET_SERVICE=1
	"$@"
' with-secret-service "$@"
