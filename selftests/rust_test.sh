#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rust_test.sh: the Rust binding (bindings/rust, crate kchan). The test
# binaries `make` built on the host (cargo test --no-run --offline,
# listed in bindings/rust/target/kchan-tests.list) run here, one TAP line
# each (their output follows a line that fails); README.md's Rust example
# is examples/readme.rs, whose binary runs and prints what the README
# says; the crate's version is kchan's; and `make install DESTDIR=...
# PREFIX=/usr` puts the crate's source in
# /usr/share/cargo/registry/kchan-VERSION with a .cargo-checksum.json that
# matches its files, as Debian's librust-*-dev packages do; `make
# uninstall` takes it away.
#
# Run by `make check` in the VM (TEST_PROGS), or by hand after `make`.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
crate=$top/bindings/rust
list=$crate/target/kchan-tests.list
prefix=/usr

unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
py=/usr/bin/python3
[ -x "$py" ] || py=python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kchan-rust.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

if [ ! -s "$list" ]; then
	echo "Bail out! $list is missing: run make first (it needs cargo)"
	exit 1
fi

NTESTS=$(($(grep -c -v '^example ' "$list") + 5))
. "$here/tap.sh"
tap_plan

fail() {
	echo "$*"
	exit 1
}

version=$(cat "$top/VERSION")
crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$crate/Cargo.toml")
cratedir=$prefix/share/cargo/registry/kchan-$version

# A test binary, its tests one at a time in this process's view (the
# multi-process tests re-exec the binary themselves).
t_binary() {
	"$1" --test-threads=2
}

t_readme() {
	local ex=$crate/examples/readme.rs bin out
	diff <(readme_block rust) <(sed '1,/^$/d' "$ex") ||
		fail "README.md's Rust example differs from examples/readme.rs"
	bin=$(sed -n 's/^example readme //p' "$list")
	[ -x "$bin" ] || fail "no readme example binary in $list"
	out=$("$bin") || { echo "$out"; return 1; }
	[ "$out" = "$(printf 'got 1\ngot 2\ngot 3')" ] || fail "readme printed: $out"
}

t_version() {
	[ -n "$version" ] && [ "$crate_version" = "$version" ] ||
		fail "Cargo.toml says $crate_version, VERSION $version"
}

t_install() {
	make -C "$top/bindings" install DESTDIR="$root" PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; return 1; }
	local f
	for f in Cargo.toml build.rs src/lib.rs uapi/linux/chan.h .cargo-checksum.json; do
		[ -f "$root$cratedir/$f" ] || fail "missing $cratedir/$f"
	done
	cmp "$top/uapi/linux/chan.h" "$root$cratedir/uapi/linux/chan.h" || return 1
	# What cargo checks of a directory source: every listed file's sha256.
	"$py" - "$root$cratedir" <<-'EOF'
	import hashlib, json, os, sys
	d = sys.argv[1]
	sums = json.load(open(os.path.join(d, ".cargo-checksum.json")))
	files = sorted(os.path.relpath(os.path.join(p, f), d)
	               for p, _, fs in os.walk(d) for f in fs)
	files.remove(".cargo-checksum.json")
	assert sorted(sums["files"]) == files, (sorted(sums["files"]), files)
	for f, h in sums["files"].items():
	    assert hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest() == h, f
	assert "package" in sums
	EOF
}

t_uninstall() {
	make -C "$top/bindings" uninstall DESTDIR="$root" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1 ||
		{ cat "$tmp/uninstall.log"; return 1; }
	local left
	left=$(cd "$root" && find . -path "*cargo*" \( -type f -o -type l -o -name "kchan*" \) -printf '%P\n')
	[ -z "$left" ] || fail "left after uninstall: $left"
}

while read -r kind name bin; do
	[ "$kind" = example ] && continue
	if [ -c /dev/chan ]; then
		check "cargo test: $kind $name" t_binary "$bin"
	else
		skip "cargo test: $kind $name" "no /dev/chan (run in the VM)"
	fi
done <"$list"
if [ -c /dev/chan ]; then
	check "README.md's Rust example runs" t_readme
else
	skip "README.md's Rust example runs" "no /dev/chan (run in the VM)"
fi
check "Cargo.toml's version is kchan's ($version)" t_version
check "make install DESTDIR=... PREFIX=$prefix: $cratedir" t_install
check "make uninstall removes it" t_uninstall
check "a second make uninstall succeeds" \
	make -C "$top/bindings" uninstall DESTDIR="$root" PREFIX="$prefix"

tap_done
