#!/usr/bin/env bash
# Installs the browser the real-browser end-to-end tests drive
# (e2e/chromium_test.go): Debian's chromium and chromium-driver. Idempotent
# and quiet: it does nothing when both are installed. Tests never download a
# browser; this script is the only place one comes from.
set -euo pipefail

# fonts-liberation is only a recommendation of chromium, but without it the
# screenshots the tests save render in whatever fallback font is left.
packages=(chromium chromium-driver fonts-liberation)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ci-chromium-deps: apt-get not found; install ${missing[*]} with this system's package manager" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "chromium: installed ${missing[*]} ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
