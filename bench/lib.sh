# Sourced by the bench/ scripts.

# State directories go where a user's do, on the home directory's disk,
# not in /tmp: /tmp is often tmpfs, whose fsync costs nothing, and on the
# VM these figures come from, creating a file in /tmp took 1 ms against
# 20 us in $HOME. BENCH_TMPDIR chooses another place.
export TMPDIR="${BENCH_TMPDIR:-$HOME/.cache/authcli-bench}"
mkdir -p -m 0700 "$TMPDIR"

# installed FILE...: each file rewritten as a package manager or `install`
# writes it. The Go linker writes its output through a memory map, and a
# binary run from those page-cache pages takes more page faults than the
# same binary installed: a cached `authcli token` measured 2.2x a
# hello-world fresh from `go build` and 1.87x after a copy (or after the
# page cache was dropped and the file read again), while hello-world, a
# seventh of the size, hardly changed. Every program timed goes through
# this, the peers included.
installed() {
	local f
	for f in "$@"; do
		cp "$f" "$f.installed"
		mv "$f.installed" "$f"
	done
}
