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
	export AUTHCLI_TEST_SECRET_SERVICE=1
	"$@"
' with-secret-service "$@"
