#!/usr/bin/env bash
# Release check for CI: what `goreleaser release` would build, without
# publishing anything.
#
#  1. generate the completions and man pages the archives ship (scripts/gendocs);
#  2. cross-compile every release target with the flags of .goreleaser.yaml
#     (CGO_ENABLED=0, -trimpath, version/commit/date stamped by -ldflags) and
#     check the stamp on the host binary;
#  3. `go vet ./...` (tests included) for each target in $VET_TARGETS, with
#     the build's own CGO_ENABLED and -trimpath: the packages the build
#     compiled are then reused from the build cache instead of being
#     compiled a second time;
#  4. `goreleaser check` with the pinned goreleaser below.
#
# Step 4 needs goreleaser. Neither Debian nor npm has a usable build (npm's
# @goreleaser/goreleaser downloads the binary from GitHub when installed),
# so it is built from source: by default only when the pinned version is
# already installed (a CI tool cache). RELEASE_CHECK_GORELEASER=install
# builds it with `go install` first, unoptimised (-N -l: it only parses and
# checks one file, and the build takes a quarter less); =skip never runs it. RELEASE_CHECK_GORELEASER=prebuild
# does only that build, at the lowest CPU priority, and exits: .ci/run
# starts it in the background before the tests, which leave the CPU idle
# while they wait on browsers, providers and timers, so the release check
# finds goreleaser installed.
# RELEASE_CHECK_SNAPSHOT=1 also runs `goreleaser release --snapshot
# --clean` (archives, packages, checksums into dist/; a snapshot never
# publishes) with an optimised goreleaser build of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

# v2.18.x needs Go 1.27; v2.17.0 pulls go.digitalxero.dev/go-msix, which the
# module proxy did not serve when this was pinned. v2.16.0 builds with Go 1.26.
GORELEASER_VERSION=v2.16.0
# RELEASE_TARGETS narrows the cross-compiles; CI builds one architecture
# per OS (.ci/run says why).
read -r -a targets <<<"${RELEASE_TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"
# The host's own vet runs in CI's gofmt-and-vet step; these are the others.
read -r -a vet_targets <<<"${VET_TARGETS:-darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"

gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
goreleaser="$gobin/goreleaser"
have_pinned() {
	[ -x "$goreleaser" ] && "$goreleaser" --version 2>/dev/null | grep -Eq "^GitVersion: +${GORELEASER_VERSION}\$"
}

# install_goreleaser [COMMAND PREFIX…] builds the pinned goreleaser into
# $gobin (the prefix: exec nice, for the background build).
install_goreleaser() {
	# A snapshot release builds archives and packages: worth an optimised
	# goreleaser. `check` parses one file.
	local gcflags="all=-N -l"
	[ "${RELEASE_CHECK_SNAPSHOT:-0}" = 1 ] && gcflags=""
	"$@" go install -gcflags="$gcflags" -ldflags="-s -w" "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
}

mode=${RELEASE_CHECK_GORELEASER:-auto}
case "$mode" in
auto | install | skip) ;;
prebuild)
	if have_pinned; then
		echo "goreleaser $GORELEASER_VERSION is already installed in $gobin"
		exit 0
	fi
	echo "building goreleaser $GORELEASER_VERSION into $gobin"
	# exec: the caller's PID is the build's, so it can stop the build.
	install_goreleaser exec nice -n 19
	;;
*)
	echo "RELEASE_CHECK_GORELEASER must be auto, install, prebuild or skip, not $mode" >&2
	exit 2
	;;
esac

start=$SECONDS
step() { printf -- '--- %s (%ds)\n' "$*" "$((SECONDS - start))"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=0.0.0-releasecheck
commit=$(git rev-parse HEAD 2>/dev/null || echo none)
date=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)

step "completions and man pages"
go run ./scripts/gendocs -out "$work/docs" -version "$version" -date "$epoch"
for f in completions/authcli.bash completions/_authcli completions/authcli.fish completions/authcli.ps1 man/authcli.1; do
	if [ ! -s "$work/docs/$f" ]; then
		echo "gendocs did not write $f" >&2
		exit 1
	fi
done
echo "wrote $(find "$work/docs" -type f | wc -l) files"

step "cross-compile ${#targets[@]} release targets, vet ${#vet_targets[@]} of them"
ldflags="-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date"
for t in "${targets[@]}"; do
	goos=${t%/*}
	goarch=${t#*/}
	ext=""
	[ "$goos" = windows ] && ext=.exe
	s=$SECONDS
	# The two programs of .goreleaser.yaml: the lean authcli and authcli-ui.
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -tags authcli_lean -ldflags "$ldflags" \
		-o "$work/bin/${goos}_$goarch/authcli$ext" ./cmd/authcli
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" \
		-o "$work/bin/${goos}_$goarch/authcli-ui$ext" ./cmd/authcli
	echo "built $t ($((SECONDS - s))s)"
	for v in "${vet_targets[@]}"; do
		if [ "$v" = "$t" ]; then
			s=$SECONDS
			CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go vet -trimpath ./...
			echo "vetted $t ($((SECONDS - s))s)"
		fi
	done
done

step "version stamp"
hostdir="$work/bin/$(go env GOHOSTOS)_$(go env GOHOSTARCH)"
if [ -x "$hostdir/authcli" ]; then
	for prog in authcli authcli-ui; do
		got=$("$hostdir/$prog" version)
		echo "$prog: $got"
		case "$got" in
		"authcli $version (commit $commit, built $date,"*) ;;
		*)
			echo "the ldflags stamp did not reach \`$prog version\`" >&2
			exit 1
			;;
		esac
	done
else
	echo "host $(go env GOHOSTOS)/$(go env GOHOSTARCH) is not a release target; stamp not checked"
fi

case "$mode" in
skip)
	step "goreleaser check skipped (RELEASE_CHECK_GORELEASER=skip)"
	exit 0
	;;
install)
	if ! have_pinned; then
		step "go install goreleaser $GORELEASER_VERSION"
		install_goreleaser
	fi
	;;
auto)
	if ! have_pinned; then
		step "goreleaser check skipped: $GORELEASER_VERSION is not installed (RELEASE_CHECK_GORELEASER=install builds it, ~7 min)"
		exit 0
	fi
	;;
esac

step "goreleaser check ($GORELEASER_VERSION)"
"$goreleaser" check

if [ "${RELEASE_CHECK_SNAPSHOT:-0}" = 1 ]; then
	step "goreleaser release --snapshot --clean"
	"$goreleaser" release --snapshot --clean
fi
step "done"
